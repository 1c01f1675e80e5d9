"""Faults while indexing: ids never reused, a delete interrupted between the catalog and the
index finished by the next run (plan, passages, index documents and uploaded copy all gone)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer import store
from indexer.catalog import DELETING, Passage, Plan, create_catalog_engine
from indexer.pipeline import Pipeline
from indexer.settings import DATA_DIR, Settings, get_settings
from whoosh.filedb.filestore import FileStorage

SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[1]


def _settings(tmp_path: Path) -> Settings:
    return get_settings(plans_home=tmp_path / "home", plans_workers=1)


def _catalog(settings: Settings) -> list[tuple[int, str, str, list[int]]]:
    """(id, source, index_state, passage ids) of every catalog plan."""
    engine = create_catalog_engine(settings.catalog_url)
    with Session(engine) as session:
        plans = [(p.id, p.source, p.index_state, [x.id for x in p.passages]) for p in session.scalars(select(Plan))]
    engine.dispose()
    return plans


def _variant(folder: Path, name: str, marker: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(SAMPLE.read_text(encoding="utf-8") + f"\n附：{marker}\n", encoding="utf-8")
    return path


def _upload(settings: Settings, marker: str) -> Path:
    """A file laid out as the server saves uploads: uploads/<sha256>/<name>."""
    data = (SAMPLE.read_text(encoding="utf-8") + f"\n附：{marker}\n").encode()
    folder = settings.uploads_dir / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True)
    (folder / "plan.txt").write_bytes(data)
    return folder / "plan.txt"


def test_ids_of_deleted_plans_and_passages_are_never_given_again(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pipeline = Pipeline(settings)
    corpus = tmp_path / "corpus"
    first = pipeline.index([_variant(corpus, "a.txt", "甲"), _variant(corpus, "b.txt", "乙")])
    assert not first.failed
    [(_, _, _, passages_b)] = [p for p in _catalog(settings) if p[1].endswith("b.txt")]
    newest = max(o.plan_id for o in first.outcomes if o.plan_id is not None)
    assert pipeline.remove(newest) is not None
    (corpus / "b.txt").unlink()
    again = pipeline.index([_variant(corpus, "c.txt", "丙")])
    [added] = [o.plan_id for o in again.outcomes if o.status == "added"]
    assert added is not None and added > newest
    [(_, _, _, passages_c)] = [p for p in _catalog(settings) if p[1].endswith("c.txt")]
    assert min(passages_c) > max(passages_b)


def test_ids_stay_unique_in_a_catalog_made_before_the_high_water_mark(tmp_path: Path) -> None:
    """An existing catalog upgrades in place: its id_marks table is created, its ids kept."""
    settings = _settings(tmp_path)
    pipeline = Pipeline(settings)
    corpus = tmp_path / "corpus"
    pipeline.index([_variant(corpus, "a.txt", "甲"), _variant(corpus, "b.txt", "乙")])
    before = {p[0]: p[1] for p in _catalog(settings)}
    engine = create_catalog_engine(settings.catalog_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE id_marks")  # as a catalog written by the previous version
    engine.dispose()
    pipeline.index([_variant(corpus, "c.txt", "丙")])
    after = {p[0]: p[1] for p in _catalog(settings)}
    assert {k: v for k, v in after.items() if k in before} == before and len(after) == 3


def _holding_whoosh_lock(settings: Settings) -> object:
    lock = FileStorage(str(settings.index_dir)).lock(f"{store.INDEX_NAME}_WRITELOCK")
    assert lock.acquire()
    return lock


def test_a_delete_interrupted_between_catalog_and_index_is_finished_by_the_next_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pipeline = Pipeline(settings)
    kept = _variant(tmp_path / "corpus", "kept.txt", "保留")
    uploaded = _upload(settings, "删除")
    report = pipeline.index([kept, uploaded])
    [plan_id] = [o.plan_id for o in report.outcomes if o.source == str(uploaded.resolve())]
    assert plan_id is not None
    env = {**os.environ, "PLANS_HOME": str(settings.plans_home), "PLANS_WORKERS": "1"}
    lock = _holding_whoosh_lock(settings)  # another writer holds the index: the delete stops at the index step
    try:
        stopped = subprocess.run([sys.executable, "-m", "indexer", "remove", str(plan_id)], env=env,
                                 capture_output=True, text=True, timeout=120)
    finally:
        lock.release()  # type: ignore[attr-defined]
    assert stopped.returncode != 0
    assert plan_id in store.indexed_plan_ids(store.open_index(settings.index_dir))  # still served, whole
    assert [p[2] for p in _catalog(settings) if p[0] == plan_id] == [DELETING]  # marked, not gone

    Pipeline(settings).index([kept])  # the next run, about something else, finishes the delete
    assert [p[0] for p in _catalog(settings)] != [] and plan_id not in [p[0] for p in _catalog(settings)]
    assert plan_id not in store.indexed_plan_ids(store.open_index(settings.index_dir))
    assert not uploaded.parent.exists()  # no orphaned upload
    engine = create_catalog_engine(settings.catalog_url)
    with Session(engine) as session:
        assert not session.scalars(select(Passage).where(Passage.plan_id == plan_id)).all()
    engine.dispose()


def test_a_delete_asked_again_after_an_interruption_still_deletes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    uploaded = _upload(settings, "再删")
    report = Pipeline(settings).index([uploaded])
    [plan_id] = [o.plan_id for o in report.outcomes]
    assert plan_id is not None
    lock = _holding_whoosh_lock(settings)
    try:
        subprocess.run([sys.executable, "-m", "indexer", "remove", str(plan_id)], capture_output=True, timeout=120,
                       env={**os.environ, "PLANS_HOME": str(settings.plans_home), "PLANS_WORKERS": "1"})
    finally:
        lock.release()  # type: ignore[attr-defined]
    assert Pipeline(settings).remove(plan_id) == str(uploaded.resolve())  # not "no such plan" (a 404)
    assert plan_id not in store.indexed_plan_ids(store.open_index(settings.index_dir))
    assert not uploaded.parent.exists()
