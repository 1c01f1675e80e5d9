"""Trends: for each year, how many plans mention a query or theme, how often, and their share.

Shape (the JSON of /api/trends):
    {"query": {"q", "theme", "description", "terms"}, "by": "year", "split": "none"|"level"|"region",
     "years": [2022, 2023, …] (every year from the first to the last plan's, zeros explicit),
     "series": [{"name", "points": [{"year", "plans", "mentioning", "share", "passages",
                                      "mentions", "chars", "per_10k"}]}]}
`plans` counts the plans of that year (and split value), `mentioning` those with a matching
passage, `share` = mentioning / plans, `mentions` the matches of the positive terms in the
matching passages (overlapping matches of different terms counted once), `per_10k` = mentions
per 10,000 characters of all that year's plans. Plans without a year are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.highlighting import match_spans
from app.query import Node, describe, positive_terms
from app.mentions import countable
from app.priority import in_background, stepped
from app.search import evaluate, plan_field
from app.snapshot import Snapshot

SPLITS = ("none", "level", "region")
ALL_LABEL = "全部"


@in_background
def trends(snapshot: Snapshot, node: Node, *, split: str = "none", label: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per year and split value, the counts above; `label` is what the answer says was asked."""
    needles = [t.needle for t in positive_terms(node)]
    hits = np.flatnonzero(evaluate(snapshot, node) & countable(snapshot))  # hits as everywhere (app.mentions)
    plan_passages = np.bincount(snapshot.passage_plan[hits], minlength=len(snapshot.plans))
    plan_mentions = np.zeros(len(snapshot.plans), np.int64)
    for i in stepped(hits.tolist()):
        plan_mentions[snapshot.passage_plan[i]] += len(match_spans(snapshot.normalized[i], needles))
    years_present = sorted({m["year"] for m in snapshot.plans if m.get("year") is not None})
    years = list(range(years_present[0], years_present[-1] + 1)) if years_present else []
    groups: dict[str, dict[int, list[int]]] = {}
    for p, meta in enumerate(snapshot.plans):
        if meta.get("year") is None:
            continue
        name = ALL_LABEL if split == "none" else (plan_field(meta, split) or "未知")
        groups.setdefault(name, {}).setdefault(meta["year"], []).append(p)
    series = []
    for name in sorted(groups, key=lambda n: (-sum(len(v) for v in groups[n].values()), n)):
        points = []
        for year in years:
            members = groups[name].get(year, [])
            chars = int(sum(snapshot.plans[p].get("chars") or 0 for p in members))
            mentions = int(sum(plan_mentions[p] for p in members))
            mentioning = sum(1 for p in members if plan_passages[p])
            points.append({
                "year": year,
                "plans": len(members),
                "mentioning": mentioning,
                "share": round(mentioning / len(members), 4) if members else 0.0,
                "passages": int(sum(plan_passages[p] for p in members)),
                "mentions": mentions,
                "chars": chars,
                "per_10k": round(mentions / chars * 10_000, 2) if chars else 0.0,
            })
        series.append({"name": name, "points": points})
    return {
        "query": {**(label or {}), "description": describe(node), "terms": [t.text for t in positive_terms(node)]},
        "by": "year",
        "split": split,
        "years": years,
        "series": series,
    }


CSV_HEADER = ["系列", "年份", "计划数", "提及的计划数", "占比", "匹配段落数", "提及次数", "字数", "每万字提及"]


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    return [[s["name"], p["year"], p["plans"], p["mentioning"], p["share"], p["passages"], p["mentions"],
             p["chars"], p["per_10k"]] for s in result["series"] for p in s["points"]]
