"""What the benchmark's peers (bench/fts5.py, bench/tantivy_peer.py) share to shape their answers
like /api/search's essentials: marks in a passage's text, facets from per-plan hit counts."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from typing import Any

from app.search import FACETS, plan_field


def facet_values(plans: list[dict[str, Any]]) -> list[list[str | None]]:
    """Per plan, its value of each facet (None: none)."""
    return [[plan_field(meta, name) for name in FACETS] for meta in plans]


def facets(values: list[list[str | None]], hits_by_plan: Mapping[int, int]) -> dict[str, list[tuple[str, int]]]:
    """Each facet's values with the hits of the plans holding them, most first."""
    counts: list[Counter[str]] = [Counter() for _ in FACETS]
    for plan, hits in hits_by_plan.items():
        for counter, value in zip(counts, values[plan]):
            if value is not None:
                counter[value] += hits
    return {name: counter.most_common() for name, counter in zip(FACETS, counts)}


def mark(text: str, needles: list[str]) -> str:
    """The text, escaped, with each needle's occurrences in <mark>."""
    text = html.escape(text)
    for needle in needles:
        text = text.replace(html.escape(needle), f"<mark>{html.escape(needle)}</mark>")
    return text
