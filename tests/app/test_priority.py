"""Searches first: heavy work pauses between its steps while a search runs, and only heavy work
does (a search's own call of shared code never pauses). Pauses are counted, not timed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app import priority
from app.compare import compare
from app.main import create_app
from app.routes import api, pages
from app.themes import load_themes
from indexer.settings import Settings


@pytest.fixture()
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(priority.time, "sleep", slept.append)
    return slept


def test_only_background_work_gives_way_and_only_while_a_search_runs(pauses: list[float]) -> None:
    background = priority.in_background(priority.give_way)
    priority.give_way()
    background()
    assert pauses == []  # no search running
    with priority.searching():
        priority.give_way()
        assert pauses == []  # not heavy work: a search itself never pauses
        background()
        assert pauses == [priority.PAUSE]
    background()
    assert pauses == [priority.PAUSE] and priority.searches_running() == 0


def test_a_stepped_loop_gives_way_every_step_items(pauses: list[float]) -> None:
    loop = priority.in_background(lambda: list(priority.stepped(range(2 * priority.STEP + 2))))
    with priority.searching():
        assert loop() == list(range(2 * priority.STEP + 2))
    assert pauses == [priority.PAUSE] * 3  # before items 0, STEP and 2 × STEP


def test_a_streamed_step_is_background_work_in_whichever_thread_runs_it(pauses: list[float]) -> None:
    def steps() -> Iterator[int]:
        for n in range(3):
            priority.give_way()
            yield n

    stream = priority.background_steps(steps())
    got: list[int] = []
    with priority.searching():
        for _ in range(3):  # each step in a new thread, as Starlette iterates a sync body
            worker = threading.Thread(target=lambda: got.append(next(stream)))
            worker.start()
            worker.join()
        priority.give_way()  # this thread was never marked
    assert got == [0, 1, 2] and pauses == [priority.PAUSE] * 3


def test_a_comparison_gives_way_once_per_column_while_a_search_runs(sample_home: Settings, pauses: list[float]) -> None:
    from app.snapshot import Snapshot

    snapshot = Snapshot(sample_home.index_dir)
    theme = load_themes(sample_home.plans_themes).resolve("劳动教育")
    quiet = compare(snapshot, theme)
    assert pauses == []
    with priority.searching():
        busy = compare(snapshot, theme)
    assert len(pauses) >= busy["documents"] == 5  # one per column, more in the mention counts
    assert orjson.dumps(busy) == orjson.dumps(quiet)  # pausing changes nothing in the answer


def test_search_requests_are_marked_running_and_downloads_are_not(sample_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []

    def watch(module: Any, name: str) -> None:
        real = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, priority.searches_running()))
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, call)

    watch(api, "search")
    watch(api, "search_table")
    watch(pages, "search")
    with TestClient(create_app(sample_home)) as client:
        assert client.get("/api/search", params={"q": "劳动教育"}).status_code == 200
        assert client.get("/api/search", params={"q": "劳动教育", "format": "csv"}).status_code == 200
        assert client.get("/", params={"q": "劳动教育"}).status_code == 200
    assert seen == [("search", 1), ("search_table", 0), ("search", 1)]  # a download is heavy work itself
    assert priority.searches_running() == 0


def test_a_streamed_comparison_is_the_built_one(sample_home: Settings) -> None:
    """The JSON written column by column is the comparison `compare` builds whole."""
    from app.snapshot import Snapshot

    theme = load_themes(sample_home.plans_themes).resolve("劳动教育")
    with TestClient(create_app(sample_home)) as client:
        for params in ({"theme": "劳动教育"}, {"theme": "劳动教育", "per_column": 1}, {"theme": "劳动教育", "documents": "2,1"}):
            response = client.get("/api/compare", params=params)
            assert response.status_code == 200 and response.headers["content-type"] == "application/json"
            documents = [int(d) for d in params.get("documents", "").split(",") if d] or None
            built = compare(Snapshot(sample_home.index_dir), theme, documents, {}, int(params.get("per_column", 0)))
            assert response.json() == orjson.loads(orjson.dumps(built))
