"""Segments and their sidecars: any sequence of commits (adds, replacements, deletes, merges)
serves what a rebuild from scratch serves, and no reader sees a half-written segment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from whoosh.index import TOC

from app.snapshot import Snapshot
from indexer import store
from indexer.index import writer
from indexer.index import files, reader
from indexer.index.segment import from_documents
from tests.indexer.test_generation import _assert_same_state, _documents

_PLAN = st.lists(st.text(alphabet="ab 好德Ａ", min_size=1, max_size=10), min_size=1, max_size=3)
# one commit: plans to delete, plans to add (or replace), and whether the documents go
# through a staged segment (what the workers write) or the commit's own segment
_COMMIT = st.tuples(st.sets(st.integers(1, 8), max_size=3), st.dictionaries(st.integers(1, 8), _PLAN, max_size=3),
                    st.booleans())


def _brute_force(snapshot: Snapshot, needle: str) -> list[tuple[int, int, int]]:
    texts = snapshot.normalized
    return [(i, t.count(needle), t.find(needle)) for i, t in enumerate(texts) if needle in t]


@hypothesis_settings(max_examples=20, deadline=None)
@given(commits=st.lists(_COMMIT, min_size=1, max_size=6))
def test_any_commits_serve_what_a_rebuild_from_scratch_serves(tmp_path_factory: pytest.TempPathFactory,
                                                              commits: list[tuple[set[int], dict[int, list[str]], bool]]) -> None:
    directory = tmp_path_factory.mktemp("index")
    ix = store.create_index(directory)
    tiny, writer.MAX_TINY = writer.MAX_TINY, 2  # merges after every few commits
    try:
        plans: dict[int, list[str]] = {}
        for delete, add, staged in commits:
            documents = _documents(sorted(add.items()))
            gone = sorted(delete | set(add))
            if staged and documents:
                writer.write(ix, delete=gone, staged=[writer.stage(directory, documents)])
            else:
                writer.write(ix, delete=gone, add=documents)
            plans = {k: v for k, v in plans.items() if k not in delete} | add
            rebuilt = from_documents(_documents(sorted(plans.items())))
            _assert_same_state(reader.combined(directory), rebuilt)
            snapshot = Snapshot(directory)
            assert snapshot.texts == rebuilt.texts() and snapshot.passage_ids.tolist() == rebuilt.passage_ids.tolist()
            for needle in ("好", "德", "好好", "ab", "a 好", "好德Ａ"):
                hits = snapshot.find(needle)
                assert list(zip(hits.index.tolist(), hits.counts.tolist(), hits.first.tolist())) == _brute_force(snapshot, needle)
    finally:
        writer.MAX_TINY = tiny
    # only sidecars of segments a kept TOC names remain
    storage = store.FileStorage(str(directory))
    named = {s.segid for n in reader.generations(directory) for s in reader.read_toc(storage, n).segments}
    assert {p.name[len(files.PREFIX):] for p in directory.glob(f"{files.PREFIX}*")} == named


def test_merges_happen_and_drop_deleted_plans(tmp_path: Path) -> None:
    ix = store.create_index(tmp_path)
    for k in range(1, writer.MAX_TINY + 2):
        writer.write(ix, delete=[k - 1] if k % 3 == 0 else [], add=_documents([(k, [f"第{k}段 好"])]))
    segments = store.open_index(tmp_path)._segments()
    assert len(segments) < writer.MAX_TINY  # the tiny segments were merged into one
    expected = [k for k in range(1, writer.MAX_TINY + 2) if not (k + 1) % 3 == 0]
    assert sorted(reader.combined(tmp_path).plan_ids.tolist()) == expected
    assert store.indexed_plan_ids(store.open_index(tmp_path)) == set(expected)


class _Killed(BaseException):
    """Stands for a SIGKILL at one moment of a commit."""


def test_a_commit_killed_before_its_toc_is_never_seen_and_is_cleaned_next_time(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ix = store.create_index(tmp_path)
    writer.write(ix, add=_documents([(1, ["甲乙丙"])]))
    before = Snapshot(tmp_path)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise _Killed

    staged = writer.stage(tmp_path, _documents([(3, ["己庚"])]))
    with monkeypatch.context() as patch:  # the new segment and its sidecar written, the TOC not
        patch.setattr(TOC, "write", killed)
        with pytest.raises(_Killed):
            writer.write(ix, delete=[1], add=_documents([(2, ["丁戊"])]), staged=[staged])
    orphans = [p.name for p in tmp_path.glob(f"{files.PREFIX}*")]
    assert len(orphans) > 1  # written ahead of a commit that never came
    after = Snapshot(tmp_path)
    assert after.key == before.key and after.texts == before.texts == ["甲乙丙"] and after.problems == []
    writer.write(store.open_or_create_index(tmp_path), add=_documents([(4, ["辛"])]))
    assert sorted(reader.combined(tmp_path).plan_ids.tolist()) == [1, 4]
    storage = store.FileStorage(str(tmp_path))
    named = {s.segid for n in reader.generations(tmp_path) for s in reader.read_toc(storage, n).segments}
    assert {p.name[len(files.PREFIX):] for p in tmp_path.glob(f"{files.PREFIX}*")} == named
    assert np.array_equal(Snapshot(tmp_path).passage_ids, reader.combined(tmp_path).passage_ids)
