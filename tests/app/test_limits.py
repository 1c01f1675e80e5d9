"""Heavy requests bounded: a slot per comparison, matrix or export (503 + Retry-After past
PLANS_HEAVY_REQUESTS) while searches keep answering; answers too large refused before they
are built, with a message that says how to narrow them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.settings import Settings, get_settings

HEAVY = [
    ("/api/compare", {"theme": "劳动教育"}),
    ("/api/compare", {"theme": "劳动教育", "format": "csv"}),
    ("/api/compare", {"theme": "劳动教育", "format": "xlsx"}),
    ("/api/matrix", {}),
    ("/api/matrix", {"format": "xlsx"}),
    ("/compare", {"theme": "劳动教育"}),
    ("/api/search", {"q": "劳动教育", "format": "csv"}),
    ("/api/search", {"q": "劳动教育", "format": "xlsx"}),
    ("/api/kwic", {"q": "劳动教育"}),
    ("/kwic", {"q": "劳动教育"}),
    ("/api/trends", {"q": "劳动教育"}),
    ("/trends", {"q": "劳动教育"}),
]


def _client(sample_home: Settings, **overrides: Any) -> TestClient:
    return TestClient(create_app(get_settings(plans_home=sample_home.plans_home, plans_reload_interval=-1, **overrides)))


@pytest.fixture()
def one_slot(sample_home: Settings) -> Iterator[TestClient]:
    with _client(sample_home, plans_heavy_requests=1) as client:
        yield client


@pytest.mark.parametrize("url, params", HEAVY)
def test_heavy_requests_past_the_limit_get_503_with_retry_after_while_search_answers(
    one_slot: TestClient, url: str, params: dict[str, str]
) -> None:
    heavy = one_slot.app.state.heavy  # type: ignore[attr-defined]
    assert one_slot.get(url, params=params).status_code == 200  # the slot is free again after each answer
    with heavy.slot():  # another heavy request is running
        busy = one_slot.get(url, params=params)
        search = one_slot.get("/api/search", params={"q": "劳动教育"})
    assert busy.status_code == 503
    assert busy.json()["error"] == "unavailable" and "PLANS_HEAVY_REQUESTS" in busy.json()["message"]
    assert int(busy.headers["retry-after"]) >= 1
    assert search.status_code == 200 and search.json()["total"] > 0
    assert one_slot.get(url, params=params).status_code == 200


def test_concurrent_heavy_requests_never_exceed_the_slots(sample_home: Settings) -> None:
    """Many clients at once: each answer is 200 or 503 + Retry-After, never more running than the slots."""
    with _client(sample_home, plans_heavy_requests=2) as client:
        heavy = client.app.state.heavy  # type: ignore[attr-defined]
        guard = threading.Lock()
        results: list[int] = []

        def fire() -> None:
            response = client.get("/api/compare", params={"theme": "的 OR 在 OR 和", "format": "xlsx"})
            with guard:
                results.append(response.status_code)
                if response.status_code == 503:
                    assert response.headers["retry-after"]

        threads = [threading.Thread(target=fire) for _ in range(12)]
        for thread in threads:
            thread.start()
        searches = [client.get("/api/search", params={"q": "教育"}).status_code for _ in range(5)]
        for thread in threads:
            thread.join()
        assert set(results) <= {200, 503} and 200 in results
        assert searches == [200] * 5
        with heavy.slot(), heavy.slot():  # both slots free again once every answer is sent
            pass


def test_an_oversized_comparison_is_a_400_that_says_how_to_narrow_it(sample_home: Settings) -> None:
    with _client(sample_home, plans_max_answer_passages=5) as client:
        response = client.get("/api/compare", params={"theme": "的 OR 在 OR 和"})
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "answer_too_large"
        assert all(word in body["message"] for word in ("per_column", "documents", "PLANS_MAX_ANSWER_PASSAGES"))
        narrowed = client.get("/api/compare", params={"theme": "的 OR 在 OR 和", "per_column": 1})
        assert narrowed.status_code == 200, narrowed.text
        assert sum(len(c["passages"]) for c in narrowed.json()["columns"]) <= 5
        export = client.get("/api/compare", params={"theme": "的 OR 在 OR 和", "per_column": 1, "format": "csv"})
        assert export.status_code == 400 and "documents" in export.json()["message"]  # exports hold every passage


def test_an_oversized_matrix_is_a_400(sample_home: Settings) -> None:
    with _client(sample_home, plans_max_answer_passages=3) as client:
        response = client.get("/api/matrix")
        assert response.status_code == 400 and response.json()["error"] == "answer_too_large"
        assert client.get("/api/matrix", params={"themes": "劳动教育", "documents": "1,2"}).status_code == 200
