"""A theme over many plans at once: one row of figures per selected plan, sortable and paged.

The summary is the compare page's first table and /api/compare/summary: the coverage of
app.compare (same hits, same mentions) without the passages, terms and commitments, so it
stays light at thousands of plans. Shape:
    {"theme", "filters", "documents", "mentioning", "chars", "matched_chars", "share",
     "mentions", "sort", "order", "page", "size", "pages", "order_ids" (every row's plan id, sorted),
     "rows": [{"document": plan_summary, "status", "passages", "share", "mentions",
               "per_10k", "in_heading", "heading_depth"}]}
`share` at the top is the theme's share of all the selected plans' characters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.compare import MENTIONED, NOT_MENTIONED, coverages, plan_selection, plan_slices, prominence, theme_counts
from app.memory import gc_paused
from app.priority import in_background, stepped
from app.search import plan_summary
from app.selection import clean_filters
from app.snapshot import Snapshot
from app.themes import Theme

SORTS = ("school", "period", "passages", "mentions", "per_10k", "prominence")
ORDERS = ("asc", "desc")


def _sort_key(sort: str) -> Any:
    if sort == "school":
        return lambda r: (r["document"]["school"] or r["document"]["title"] or "", r["document"]["document_id"])
    if sort == "period":
        return lambda r: (r["document"]["year"] or 0, r["document"]["period"] or "", r["document"]["document_id"])
    if sort == "prominence":  # the plan title first, then chapter headings, …, then no heading
        return lambda r: (-(r["heading_depth"] if r["in_heading"] else 99), r["mentions"], -r["document"]["document_id"])
    return lambda r: (r[sort], -r["document"]["document_id"])


@in_background
@gc_paused()
def summary(snapshot: Snapshot, theme: Theme, document_ids: Sequence[int] | None = None,
            filters: Mapping[str, str | None] | None = None, *, sort: str = "mentions", order: str = "desc",
            page: int = 1, size: int = 50) -> dict[str, Any]:
    """The theme's figures for every selected plan; `rows` is page `page` of `size` (0: all)."""
    if sort not in SORTS:
        sort = "mentions"
    if order not in ORDERS:
        order = "desc"
    filters = clean_filters(filters or {})
    plans = plan_selection(snapshot, theme, document_ids, filters)
    counts = theme_counts(snapshot, theme)
    hits, counted = counts.within(snapshot, plans)
    heading_slices, heading_list = plan_slices(snapshot, counts.headings, plans), counts.headings.tolist()
    needles = theme.needles
    rows = []
    for p, cover in stepped(zip(plans, coverages(snapshot, hits, counted, plans))):
        named = heading_list[heading_slices[p]]
        seen = prominence(snapshot, p, [], needles, named) if named else {"in_heading": False, "heading_depth": None}
        rows.append({"document": plan_summary(snapshot.plans[p]), "status": MENTIONED if cover["passages"] else NOT_MENTIONED,
                     **cover, "in_heading": seen["in_heading"], "heading_depth": seen["heading_depth"]})
    rows.sort(key=_sort_key(sort), reverse=order == "desc")
    chars = int(snapshot.plan_chars[plans].sum()) if plans else 0
    matched = int(snapshot.lengths[hits].sum())
    pages = max(1, math.ceil(len(rows) / size)) if size else 1
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * size : page * size] if size else rows
    return {
        "theme": theme.describe(),
        "filters": filters,
        "documents": len(rows),
        "mentioning": sum(1 for r in rows if r["passages"]),
        "chars": chars,
        "matched_chars": matched,
        "share": round(matched / chars, 4) if chars else 0.0,
        "mentions": int(counted.sum()),
        "sort": sort, "order": order, "page": page, "size": size, "pages": pages,
        "rows": shown,
        "order_ids": [r["document"]["document_id"] for r in rows],
    }
