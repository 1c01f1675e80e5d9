"""A reload after a commit that only added newer plans extends the previous snapshot, reading
the new segments alone; the result is the snapshot a full load gives, array for array. Any other
commit (a delete, a replaced plan, a merge) is loaded whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.mentions import COUNTABLE, countable
from app.search import warm
from app.snapshot import Snapshot
from indexer.index import files
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings
from tests.conftest import SAMPLES

NEEDLES = ["的", "劳动", "课后服务", "星辰课程", "德育", "“双减”", "a b"]
ARRAYS = ("passage_ids", "ordinals", "heading_lengths", "lengths", "passage_plan", "plan_passage_count",
          "plan_first", "plan_chars")


def _same(left: Snapshot, right: Snapshot) -> None:
    assert (left.generation, left.key, left.size, left.plans, left.plan_by_id) == \
        (right.generation, right.key, right.size, right.plans, right.plan_by_id)
    for name in ARRAYS:
        assert np.array_equal(getattr(left, name), getattr(right, name)), name
    assert left.sections == right.sections
    assert left.texts == right.texts and left.normalized == right.normalized
    assert [left.words(i) for i in range(left.size)] == [right.words(i) for i in range(right.size)]
    assert left.average_length == right.average_length
    for needle in NEEDLES:
        a, b = left.find(needle), right.find(needle)
        assert np.array_equal(a.index, b.index) and np.array_equal(a.counts, b.counts) \
            and np.array_equal(a.first, b.first), needle


def _plan(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(f"{name}学校2025年工作计划\n一、总体目标\n{body}\n二、主要措施\n开展德育活动，落实“双减”。\n", encoding="utf-8")
    return path


@pytest.fixture()
def home(tmp_path: Path) -> Settings:
    settings = get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1, plans_batch_plans=2)
    assert not Pipeline(settings).index([SAMPLES]).failed
    return settings


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    load = files.load

    def counting(directory: Path, segment_id: str, **kwargs):  # type: ignore[no-untyped-def]
        read.append(segment_id)
        return load(directory, segment_id, **kwargs)

    monkeypatch.setattr(files, "load", counting)
    return read


def test_added_plans_extend_the_previous_snapshot(home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previous = Snapshot(home.index_dir)
    warm(previous)
    previous.release_caches()  # as the holder does before a reload: the warmed values stay
    new = tmp_path / "new"
    new.mkdir()
    _plan(new, "星辰", "推进独一无二的星辰课程建设。")
    _plan(new, "晨光", "课后服务 a b 与劳动教育并进。")
    assert not Pipeline(home).index([new]).failed
    read = _reads(monkeypatch)
    extended = Snapshot(home.index_dir, previous=previous)
    assert read and len(read) < len(previous._listing) + 1, "only the new segments are read"
    _same(extended, Snapshot(home.index_dir))
    assert extended.find("星辰课程").index.size == 1
    assert COUNTABLE in extended.derived, "combined from the previous generation's, not recomputed"
    assert np.array_equal(countable(extended), countable(Snapshot(home.index_dir)))
    assert not countable(extended).all(), "the samples have heading-only passages: the test sees the order"

    _plan(new, "远山", "又一份计划：星辰课程的第二所学校。")  # extended again, from the extended one
    assert not Pipeline(home).index([new]).failed
    again = Snapshot(home.index_dir, previous=extended)
    _same(again, Snapshot(home.index_dir))
    assert again.find("星辰课程").index.size == 2


def test_a_delete_or_an_unchanged_index_is_loaded_whole(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    previous = Snapshot(home.index_dir)
    read = _reads(monkeypatch)
    same = Snapshot(home.index_dir, previous=previous)  # nothing new: the full load
    assert len(read) == len(previous._listing)
    _same(same, previous)
    victim = int(previous.plans[0]["id"])
    assert Pipeline(home).remove(victim)
    read.clear()
    after = Snapshot(home.index_dir, previous=previous)
    assert victim not in after.plan_by_id and len(read) >= 1
    _same(after, Snapshot(home.index_dir))


def test_a_replaced_plan_is_loaded_whole(home: Settings, tmp_path: Path) -> None:
    previous = Snapshot(home.index_dir)
    source = Path(previous.plans[0]["source"])
    copy = tmp_path / "corpus"
    copy.mkdir()
    changed = copy / source.name
    changed.write_text(source.read_text(encoding="utf-8") + "\n三、补充\n新增星辰课程一项。\n", encoding="utf-8")
    report = Pipeline(home).index([changed])
    assert not report.failed
    after = Snapshot(home.index_dir, previous=previous)
    _same(after, Snapshot(home.index_dir))
    assert after.find("星辰课程").index.size >= 1
