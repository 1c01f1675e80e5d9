"""One name per school across plans: the fullest spelling wins, whichever plan came first."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents import list_documents
from app.search import SearchRequest, search
from app.snapshot import Snapshot
from indexer.pipeline import Pipeline
from tests.conftest import build_home

SHORT = "诸暨一中2021学年工作计划\n一、高三备考\n加强课堂教学研究。\n"
FULL = "诸暨市第一中学2022学年工作计划\n一、高三备考\n加强课堂教学研究。\n"


@pytest.mark.parametrize("first", ["short", "full"])
def test_two_spellings_in_two_plans_are_one_school(tmp_path: Path, first: str) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "a.txt").write_text(SHORT if first == "short" else FULL, encoding="utf-8")
    (folder / "b.txt").write_text(FULL if first == "short" else SHORT, encoding="utf-8")
    settings = build_home(tmp_path / "home", folder)
    snapshot = Snapshot(settings.index_dir)
    documents = list_documents(snapshot)["documents"]
    assert [d["school"] for d in documents] == ["诸暨市第一中学", "诸暨市第一中学"]
    assert any("诸暨一中" in d["school_aliases"] for d in documents)
    result = search(snapshot, SearchRequest(q="课堂教学"))
    assert [(b["value"], b["count"]) for b in result["facets"]["school"]] == [("诸暨市第一中学", 2)]
    assert search(snapshot, SearchRequest(q="课堂教学", school="诸暨一中"))["documents"] == 2
    again = Pipeline(settings).index([folder])
    assert sorted(o.status for o in again.outcomes) == ["unchanged", "unchanged"]
