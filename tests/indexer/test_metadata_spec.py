"""The metadata spec table (metadata_spec.yaml): headers and page shapes through clean() and
extract_metadata(), each row's eight fields as a reader takes them from the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from indexer.cleaning import clean
from indexer.metadata import extract_metadata

SPEC = yaml.safe_load((Path(__file__).parent / "metadata_spec.yaml").read_text(encoding="utf-8"))
FIELDS = ("school", "unit", "kind", "level", "region", "period", "year", "term")


def test_the_table_covers_the_shapes_it_is_meant_to() -> None:
    assert len(SPEC) >= 40
    assert all(set(row["expect"]) == set(FIELDS) for row in SPEC)
    levels = {row["expect"]["level"] for row in SPEC}
    assert {"幼儿园", "小学", "初中", "高中", "中职", "九年一贯制", "教育行政"} <= levels
    assert sum(row["expect"]["unit"] is not None for row in SPEC) >= 5


@pytest.mark.parametrize("row", SPEC, ids=[row["name"] for row in SPEC])
def test_metadata_spec(row: dict[str, Any]) -> None:
    meta = extract_metadata(clean(row["text"])).as_dict()
    got = {name: meta[name] or None for name in FIELDS}
    assert got == row["expect"]
    for name in FIELDS:  # every field found says where it came from
        if got[name] is not None and name != "region":
            assert meta["sources"][name]["source"] in ("title", "notice", "signature", "portal", "text", "alias")
