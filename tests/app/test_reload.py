"""A running server sees `plans index` changes within seconds, without restart, and never a half state.

The app serves with PLANS_RELOAD_INTERVAL=0.2 while an indexer adds, changes and removes
plans (in-process, and as the `python -m indexer` subprocess an operator would run). The
test polls the API during the writes: every plan it is shown is whole (its passage count
equals its passages, and a changed plan is wholly the old or wholly the new version).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.holder import SnapshotHolder
from app.snapshot import Snapshot
from indexer import store
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings

INTERVAL = 0.2
VISIBLE_WITHIN = 10.0  # seconds after the indexer finished


@pytest.fixture()
def served(tmp_path: Path, corpus_copy: Path) -> Iterator[tuple[TestClient, Settings, Path]]:
    settings = get_settings(plans_home=tmp_path / "home", plans_reload_interval=INTERVAL, plans_batch_plans=1)
    assert not Pipeline(settings).index([corpus_copy]).failed
    with TestClient(create_app(settings)) as client:
        yield client, settings, corpus_copy


def _documents(client: TestClient) -> dict[str, dict[str, Any]]:
    """File name -> summary, from /api/documents."""
    response = client.get("/api/documents")
    assert response.status_code == 200
    return {doc["file"]: doc for doc in response.json()["documents"]}


def _passages(client: TestClient, document_id: int) -> tuple[str, ...] | None:
    """The plan's passage texts as one snapshot serves them, checked whole; None when it is not served."""
    response = client.get(f"/api/documents/{document_id}")
    if response.status_code == 404:
        return None
    body = response.json()
    assert body["passage_count"] == len(body["passages"]) > 0
    assert [p["ordinal"] for p in body["passages"]] == list(range(len(body["passages"])))
    return tuple(p["text"] for p in body["passages"])


def _check_search(client: TestClient, q: str) -> set[int]:
    """Plans matching `q`; every group carries all the passages it counts."""
    response = client.get("/api/search", params={"q": q, "per_group": 0, "size": 100})
    assert response.status_code == 200, response.text
    groups = response.json()["groups"]
    assert all(group["hits"] == len(group["passages"]) > 0 for group in groups)
    return {group["document_id"] for group in groups}


def _run_while_polling(work: Callable[[], None], poll: Callable[[], bool]) -> tuple[int, float]:
    """Run `work` in a thread and `poll` until it returns True after the work ended: (polls, seconds after)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    polls, finished = 0, None
    while True:
        done = poll()
        polls += 1
        if finished is None and not thread.is_alive():
            finished = time.monotonic()
        if done and finished is not None:
            break
        assert finished is None or time.monotonic() - finished < VISIBLE_WITHIN, "the change never became visible"
        time.sleep(0.02)
    thread.join()
    assert not errors, errors
    return polls, time.monotonic() - finished


def _indexer_process(settings: Settings, *args: str) -> Callable[[], None]:
    def run() -> None:
        env = {**os.environ, "PLANS_HOME": str(settings.plans_home), "PLANS_BATCH_PLANS": "1"}
        result = subprocess.run([sys.executable, "-m", "indexer", *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr

    return run


def test_added_changed_and_removed_plans_appear_whole_without_restart(served: tuple[TestClient, Settings, Path]) -> None:
    client, settings, corpus = served
    documents = _documents(client)
    assert len(documents) == 5

    # a new plan, indexed in-process
    source = next(corpus.glob("002_*.txt")).read_text(encoding="utf-8")
    (corpus / "new_plan.txt").write_text(source.replace("淄博高新区第一小学", "淄博高新区第九小学") + "\n附：新增计划标记。\n", encoding="utf-8")
    seen_new: set[tuple[str, ...] | None] = set()

    def new_plan_visible() -> bool:
        found = bool(_check_search(client, "新增计划标记"))  # first: the requests below see it too
        served_now = _documents(client)
        assert set(served_now) >= set(documents)  # nothing already indexed disappears meanwhile
        if "new_plan.txt" in served_now:
            seen_new.add(_passages(client, served_now["new_plan.txt"]["id"]))
        return found

    polls, latency = _run_while_polling(lambda: Pipeline(settings).index([corpus]), new_plan_visible)
    assert len(seen_new) == 1 and None not in seen_new, "the new plan was served in more than one state"
    print(f"\nadded: visible {latency:.2f} s after the indexer finished ({polls} polls)")

    # a changed plan, indexed by the `python -m indexer` subprocess: wholly old or wholly new
    target = next(corpus.glob("004_*.txt"))
    plan_id = documents[target.name]["id"]
    old = _passages(client, plan_id)
    target.write_text(target.read_text(encoding="utf-8").replace("聚增内涵", "聚焦内涵") + "\n六、修改后的章节\n修改后的标记。\n", encoding="utf-8")
    seen: set[tuple[str, ...] | None] = set()

    def change_visible() -> bool:
        found = bool(_check_search(client, "修改后的标记"))
        served_now = _documents(client)
        seen.add(_passages(client, served_now[target.name]["id"]))
        return found

    polls, latency = _run_while_polling(_indexer_process(settings, "index", str(corpus)), change_visible)
    new = _passages(client, _documents(client)[target.name]["id"])
    assert new is not None and new != old and any("修改后的标记" in text for text in new)
    assert seen <= {old, new}, "a half-replaced plan was served"
    assert _check_search(client, "聚增内涵") == set()
    print(f"changed: visible {latency:.2f} s after the indexer finished ({polls} polls)")

    # a removed file, pruned by the subprocess
    gone = next(corpus.glob("003_*.txt"))
    gone.unlink()

    def removal_visible() -> bool:
        served_now = _documents(client)
        if gone.name in served_now:
            _passages(client, served_now[gone.name]["id"])
        return gone.name not in served_now and not _check_search(client, "小教科")

    polls, latency = _run_while_polling(_indexer_process(settings, "index", str(corpus), "--prune"), removal_visible)
    assert sorted(_documents(client)) == sorted(p.name for p in corpus.glob("*.txt"))
    print(f"removed: visible {latency:.2f} s after the indexer finished ({polls} polls)")


def test_reindex_swaps_in_a_new_folder_the_server_follows(served: tuple[TestClient, Settings, Path]) -> None:
    client, settings, _ = served
    before = client.get("/api/search", params={"q": "劳动教育", "per_group": 0, "size": 100}).json()
    loaded = client.get("/healthz").json()["loaded_at"]

    def reloaded() -> bool:
        response = client.get("/api/search", params={"q": "劳动教育", "per_group": 0, "size": 100})
        assert response.status_code == 200
        assert response.json()["total"] == before["total"]  # the old folder or the new one, never nothing
        return client.get("/healthz").json()["loaded_at"] > loaded

    _run_while_polling(lambda: Pipeline(settings).reindex(), reloaded)
    assert client.get("/api/search", params={"q": "劳动教育", "per_group": 0, "size": 100}).json() == before


def test_an_explicit_reload_is_never_undone_by_an_older_background_one(tmp_path: Path, corpus_copy: Path) -> None:
    """A background load begun before a commit must not land after reload_now() and put the older generation back."""
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([corpus_copy]).failed
    loads: list[int] = []
    release = threading.Event()

    def slow_second_load(directory: Path) -> Snapshot:
        snapshot = Snapshot(directory)
        loads.append(snapshot.key[1])
        if len(loads) == 2:  # the first background reload: finishes late
            release.wait(10)
        return snapshot

    holder = SnapshotHolder(settings.index_dir, reload_interval=0, load=slow_second_load)
    (corpus_copy / "a.txt").write_text("测试小学2024年工作计划\n一、目标\n第一项补充内容。\n", encoding="utf-8")
    Pipeline(settings).index([corpus_copy])
    holder.current()  # stale: a background load of this generation starts, and stalls
    while len(loads) < 2:
        time.sleep(0.01)
    (corpus_copy / "b.txt").write_text("测试小学2024年工作计划\n一、目标\n第二项补充内容。\n", encoding="utf-8")
    Pipeline(settings).index([corpus_copy])
    newest = store.open_index(settings.index_dir).latest_generation()
    explicit = threading.Thread(target=holder.reload_now)  # what an upload does after its indexer child
    explicit.start()
    time.sleep(0.3)
    release.set()
    explicit.join(10)
    time.sleep(0.1)
    assert holder.current().key[1] == newest


def test_a_replaced_snapshot_is_freed_at_once_not_by_a_later_garbage_collection(sample_home: Settings) -> None:
    """After a reload the old generation must go when its last request ends: a reference cycle
    (a cache holding a closure over the snapshot) kept whole generations alive until Python's
    cycle collector ran, so memory grew with every reload."""
    import gc
    import weakref

    from app.compare import compare, matrix
    from app.search import SearchRequest, search
    from app.themes import load_themes

    themes = load_themes(sample_home.plans_themes)
    snapshot = Snapshot(sample_home.index_dir)
    search(snapshot, SearchRequest(q="劳动教育 school:海王路 year:2024-2025 level:小学 region:青岛"))
    compare(snapshot, themes.resolve("劳动教育"))
    matrix(snapshot, list(themes))
    assert snapshot.derived, "the calls above should have filled the per-snapshot caches"
    gone = weakref.ref(snapshot)
    gc.disable()
    try:
        del snapshot
        assert gone() is None
    finally:
        gc.enable()


def test_memory_is_handed_back_before_a_reload_and_after_large_comparisons(
    sample_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """glibc keeps freed heap; the server asks it back (malloc_trim) where large frees happen."""
    from fastapi.testclient import TestClient

    import app.routes.compare as compare_routes
    import app.holder as holder_module
    from app.main import create_app
    from app.memory import trim

    assert isinstance(trim(), bool)  # callable here (glibc), a no-op elsewhere
    calls: list[str] = []
    monkeypatch.setattr(holder_module, "trim", lambda: calls.append("reload"))
    monkeypatch.setattr(compare_routes, "trim", lambda: calls.append("answer"))
    SnapshotHolder(sample_home.index_dir, reload_interval=-1).reload_now()
    assert calls == ["reload"] * 3  # after the first load, before the reload, after it
    with TestClient(create_app(sample_home)) as client:
        calls.clear()
        monkeypatch.setattr(compare_routes, "LARGE", 1_000)  # five plans: a small answer
        assert client.get("/api/compare", params={"theme": "劳动教育"}).status_code == 200
        assert calls == []
        monkeypatch.setattr(compare_routes, "LARGE", 2)
        assert client.get("/api/compare", params={"theme": "劳动教育"}).status_code == 200
        assert client.get("/api/matrix").status_code == 200
        assert calls == ["answer", "answer"]


def test_the_old_generation_lets_go_of_its_caches_before_the_next_one_loads(sample_home: Settings) -> None:
    """During a reload both generations are held: the old one's needle cache and derived values
    (up to tens of MB after comparisons) are dropped first, so they do not add to that peak; only
    the warmers' small values stay, for a snapshot that extends this one."""
    from app.compare import compare
    from app.search import SearchRequest, search
    from app.themes import load_themes

    seen: list[tuple[int, int]] = []

    def load(directory: Path) -> Snapshot:
        if seen or holder_ready:
            old = holder.current()
            seen.append((len(old._cache), len([key for key in old.derived if not key.warm])))
        return Snapshot(directory)

    holder_ready = False
    holder = SnapshotHolder(sample_home.index_dir, reload_interval=-1, load=load)
    holder_ready = True
    old = holder.current()
    search(old, SearchRequest(q="劳动教育 school:海王路"))
    compare(old, load_themes(sample_home.plans_themes).resolve("劳动教育"))
    assert old._cache and old.derived
    holder.reload_now()
    assert seen == [(0, 0)]
    assert holder.current() is not old
    assert search(old, SearchRequest(q="劳动教育"))["total"] == search(holder.current(), SearchRequest(q="劳动教育"))["total"] > 0


def test_every_generation_is_warmed_before_it_serves(sample_home: Settings) -> None:
    """What the first search of a generation needs is computed when it loads (app.search.warm),
    at start-up and at every reload, so no request pays for it."""
    from app.derived import WARMERS
    from app.facets import FacetCodes
    from app.mentions import COUNTABLE

    names = {key.name for key in WARMERS}
    assert COUNTABLE in WARMERS and {"school facet codes", "year facet codes", "school: filter texts",
                                     "region: filter texts"} <= names
    app = create_app(get_settings(plans_home=sample_home.plans_home, plans_reload_interval=-1))
    with TestClient(app):
        for load in (app.state.holder.current, app.state.holder.reload_now):
            snapshot = load()  # a reload releases the previous generation's values
            assert set(WARMERS) <= set(snapshot.derived)
            codes = next(k for k in WARMERS if k.name == "school facet codes").of(snapshot)
            assert isinstance(codes, FacetCodes) and len(codes.codes) == len(snapshot.plans)
