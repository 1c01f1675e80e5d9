"""The snapshot's words of each passage are the segments' own, whichever way they are gathered:
segments read whole in order (nothing to gather) and segments with a deleted plan."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.snapshot import Snapshot
from indexer.index import reader
from indexer.pipeline import Pipeline
from indexer.settings import get_settings
from tests.conftest import SAMPLES


def _segment_words(directory: Path) -> dict[int, list[str]]:
    """Passage id -> its words, read from each live segment's sidecar (deleted plans left out)."""
    out: dict[int, list[str]] = {}
    for segment in reader.open_commit(directory, None).segments:
        state = segment.state
        for i in range(state.size):
            if int(state.plan_ids[int(state.passage_plan[i])]) not in segment.deleted:
                out[int(state.passage_ids[i])] = state.words(i)
    return out


def _served_words(directory: Path) -> dict[int, list[str]]:
    snapshot = Snapshot(directory)
    return {int(snapshot.passage_ids[i]): snapshot.words(i) for i in range(snapshot.size)}


def test_words_survive_segments_read_whole_and_with_deletes(tmp_path: Path) -> None:
    settings = get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1, plans_batch_plans=1)
    files = sorted(SAMPLES.glob("*.txt"))
    for path in reversed(files):  # one segment per plan, the later plans written first
        assert not Pipeline(settings).index([path]).failed
    directory = settings.index_dir
    assert len(reader.open_commit(directory, None).segments) > 1
    expected = _segment_words(directory)
    assert _served_words(directory) == expected and all(expected.values())

    snapshot = Snapshot(directory)
    victim = int(snapshot.plans[len(snapshot.plans) // 2]["id"])
    assert Pipeline(settings).remove(victim)
    expected = _segment_words(directory)
    served = _served_words(directory)
    assert served == expected
    gone = {int(i) for i in np.asarray(snapshot.passage_ids)[np.asarray(snapshot.passage_plan) == snapshot.plan_by_id[victim]]}
    assert gone and not gone & set(served)
