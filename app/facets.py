"""Facets: a small class per plan field that knows its values, its filter and its toggle.

Counts are plans (with their matching passages beside them). Several values of one facet
are ORed; facets are ANDed with each other and with the query. A facet's buckets are counted
with every selection but its own, so a chosen facet still shows its other values.
Bucket shape: {"value", "count" (plans), "passages", "selected"}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from app.derived import PerGeneration
from app.query import FIELD_LABELS, Filter, Node, Or, literal_filter
from app.snapshot import Snapshot


def plan_field(meta: dict[str, Any], name: str) -> str | None:
    """The value a plan shows in a facet: school (or title), year, city (or province/district), level."""
    if name == "school":
        return meta.get("school") or meta.get("title")
    if name == "year":
        return str(meta["year"]) if meta.get("year") is not None else None
    if name == "region":
        return meta.get("city") or meta.get("province") or meta.get("district")
    return meta.get(name)


def split_values(raw: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Values from repeated parameters and/or comma lists (`,` or `，`), stripped, deduplicated."""
    items = [raw] if isinstance(raw, str) else list(raw or [])
    out: list[str] = []
    for item in items:
        for value in item.replace("，", ",").split(","):
            if value.strip() and value.strip() not in out:
                out.append(value.strip())
    return out


def value_filter(name: str, value: str) -> Filter:
    """A facet value as a filter on exactly that value: data, never re-parsed as query syntax."""
    return literal_filter(name, value)


class FacetCodes(NamedTuple):
    """A facet's values in a generation, sorted, and per plan 1 + its value's index (0: none)."""

    codes: np.ndarray  # int32, one per plan
    values: list[str]


def _codes(name: str) -> PerGeneration[FacetCodes]:
    def build(snapshot: Snapshot) -> FacetCodes:
        plan_values = [plan_field(meta, name) for meta in snapshot.plans]
        values = sorted({v for v in plan_values if v is not None})
        position = {v: i + 1 for i, v in enumerate(values)}
        return FacetCodes(np.array([position.get(v, 0) if v is not None else 0 for v in plan_values], np.int32), values)
    return PerGeneration(f"{name} facet codes", build, warm=True)


@dataclass(frozen=True)
class Facet:
    """One plan field; `by_value`: buckets ordered by value, newest first (years), else by plans."""

    name: str
    by_value: bool = False

    @property
    def label(self) -> str:
        return FIELD_LABELS[self.name]

    def filter(self, values: list[str]) -> Node | None:
        """The node a selection adds to the query: its values ORed (None when nothing is chosen)."""
        nodes = [value_filter(self.name, v) for v in values]
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def toggle(self, selected: list[str], value: str) -> list[str]:
        """The selection after clicking `value`: removed if chosen, else added."""
        return [v for v in selected if v != value] if value in selected else [*selected, value]

    def codes(self, snapshot: Snapshot) -> FacetCodes:
        """Per plan, 1 + the index of its value in `values` (0: no value); computed once per generation."""
        return _CODES[self.name].of(snapshot)

    def buckets(self, snapshot: Snapshot, plans: np.ndarray, passages: np.ndarray,
                selected: list[str]) -> list[dict[str, Any]]:
        """Buckets over matching `plans` (indices) with their matching `passages` counts."""
        codes, values = self.codes(snapshot)
        size = len(values) + 1
        plan_codes = codes[plans] if len(plans) else np.zeros(0, np.int32)
        plan_counts = np.bincount(plan_codes, minlength=size)[1:]
        passage_counts = np.bincount(plan_codes, weights=passages, minlength=size)[1:].astype(np.int64)
        present = np.flatnonzero(plan_counts).tolist()
        if self.by_value:
            present.sort(key=lambda k: values[k], reverse=True)
        else:
            present.sort(key=lambda k: (-plan_counts[k], values[k]))
        return [
            {"value": values[k], "count": int(plan_counts[k]), "passages": int(passage_counts[k]),
             "selected": values[k] in selected}
            for k in present
        ]


_CODES = {name: _codes(name) for name in ("school", "year", "region", "level")}
FACETS: dict[str, Facet] = {
    "school": Facet("school"), "year": Facet("year", by_value=True),
    "region": Facet("region"), "level": Facet("level"),
}
