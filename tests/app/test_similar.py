"""Similar plans through Whoosh's more-like-this on the real index, and the same school's plans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.snapshot import Snapshot
from app.views import similar
from app.views.vocabulary import held_back, is_content_word
from indexer.settings import Settings
from tests.app.views_corpus import views_home

EDITED, ORIGINAL, BUREAU, ECHO_SCHOOL, OLD_SCHOOL = 6, 2, 8, 9, 11


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return views_home(tmp_path_factory)


@pytest.fixture(scope="module")
def snapshot(home: Settings) -> Snapshot:
    return Snapshot(home.index_dir)


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as test_client:
        yield test_client


@pytest.mark.parametrize("plan, nearest", [(ORIGINAL, {EDITED}), (EDITED, {ORIGINAL}), (BUREAU, {ECHO_SCHOOL, OLD_SCHOOL})])
def test_the_nearest_plans_are_those_sharing_its_words(snapshot: Snapshot, plan: int, nearest: set[int]) -> None:
    """The edited copy of a plan; the two school plans that copy the bureau's first task."""
    result = similar.similar(snapshot, plan)
    ranked = [p["document_id"] for p in result["similar"]]
    assert set(ranked[: len(nearest)]) == nearest
    assert plan not in ranked and len(ranked) == len(set(ranked))
    scores = [p["score"] for p in result["similar"]]
    assert scores == sorted(scores, reverse=True) and scores[len(nearest) - 1] > scores[len(nearest)]


def test_shared_terms_are_key_terms_in_both_plans(snapshot: Snapshot) -> None:
    result = similar.similar(snapshot, BUREAU)
    key = [t["term"] for t in result["key_terms"]]
    assert key and all(is_content_word(t) for t in key)
    assert not set(key) & held_back()
    words = {p: {w for i in snapshot.plan_range(snapshot.plan_by_id[p]) for w in snapshot.words(i)}
             for p in snapshot.plan_by_id}
    for plan in result["similar"]:
        assert plan["shared_terms"] == [t for t in key if t in words[plan["document_id"]]][: similar.SHARED_SHOWN]
    assert {"课后服务", "提质增效"} <= set(result["similar"][0]["shared_terms"])


def test_same_school_lists_the_other_plans_of_that_school(client: TestClient) -> None:
    answer = client.get(f"/api/documents/{ORIGINAL}/similar").json()
    assert [p["document_id"] for p in answer["same_school"]] == [EDITED]
    assert answer["similar"][0]["same_school"] is True
    assert all(not p["same_school"] for p in answer["similar"][1:])
    assert client.get(f"/api/documents/{BUREAU}/similar", params={"top": 2}).json()["same_school"] == []
    assert len(client.get(f"/api/documents/{BUREAU}/similar", params={"top": 2}).json()["similar"]) == 2


@pytest.mark.parametrize("path, status", [("/api/documents/999/similar", 404), ("/api/documents/abc/similar", 400),
                                          ("/api/documents/1/similar?top=0", 400)])
def test_bad_ids_are_4xx(client: TestClient, path: str, status: int) -> None:
    answer = client.get(path)
    assert answer.status_code == status and set(answer.json()) >= {"error", "message"}


def test_document_page_lists_same_school_and_similar_plans(client: TestClient) -> None:
    page = client.get(f"/documents/{ORIGINAL}").text
    assert "本校其他计划" in page and f'href="/documents/{ORIGINAL}/diff?other={EDITED}"' in page
    assert "相似计划" in page and "共同关键词" in page
