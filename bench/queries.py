"""The fixed query mix, by class, and a brute-force oracle over a snapshot's passages.

The oracle is the matching rule itself: a needle matches a passage iff it is a substring of
the passage's normalised text; filters follow /api/search (school matches school or title,
region the region, level the level or kind, year a range); and only countable passages are
hits (app/mentions.py: a heading alone, with its section going on after it, is not), which is
why the peers index the countable passages only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.mentions import countable
from app.query import And, Filter, Node, Not, Or, Term
from app.snapshot import Snapshot
from indexer.cleaning import normalize

# {city} and {school} come from the corpus (a city that exists, one school's own name).
QUERY_MIX: dict[str, list[str]] = {
    "phrase": ['"立德树人根本任务"', '"课后服务"', '"心理健康教育"', '"1+X+T"', '"家校社协同"'],
    "term": ["劳动教育", "双减", "课堂教学", "诗e", "作业"],
    "and": ["劳动教育 课后服务", "双减 作业 评价", "教师 培训 课堂"],
    "or": ["劳动教育 OR 劳动实践", "心理 OR 心育", "(足球 OR 篮球) 课程"],
    "not": ["劳动 -家务", "课堂 NOT 教学", "作业 -双减"],
    "filter": ["劳动教育 year:2024", "作业 level:小学", "课后服务 region:{city}", "教研 year:2022-2024 level:初中"],
    "single_char": ["德", "美", "劳 体"],
    "rare": ['"{school}"', "零点体育", "量子计算"],
}


def query_mix(snapshot: Snapshot) -> dict[str, list[str]]:
    """The mix with its placeholders filled from the snapshot's first plan."""
    meta = snapshot.plans[0]
    city = meta.get("city") or meta.get("region") or "市"
    school = (meta.get("school") or "学校").replace(meta.get("city") or "", "").replace(meta.get("district") or "", "")
    return {
        name: [q.replace("{city}", city).replace("{school}", school) for q in queries]
        for name, queries in QUERY_MIX.items()
    }


FILTER_KEYS = {"school": ("school", "title"), "region": ("region",), "level": ("level", "kind")}


def filter_texts(meta: dict[str, Any]) -> dict[str, str]:
    """A plan's normalised metadata, each key a filter looks in."""
    return {k: normalize(str(meta.get(k) or "")) for keys in FILTER_KEYS.values() for k in keys}


def plan_field_matches(meta: dict[str, Any], node: Filter, texts: dict[str, str] | None = None) -> bool:
    """Whether a plan passes a filter; `texts` is its `filter_texts` when computed already."""
    if node.years is not None:
        return meta.get("year") is not None and node.years[0] <= meta["year"] <= node.years[1]
    texts = texts if texts is not None else filter_texts(meta)
    return any(node.value in texts[k] for k in FILTER_KEYS[node.field])


def truth(snapshot: Snapshot, node: Node) -> np.ndarray:
    """A boolean mask over the snapshot's passages: the hits of a query, by scanning every text."""
    return _true_of(snapshot, node) & countable(snapshot)


def _true_of(snapshot: Snapshot, node: Node) -> np.ndarray:
    if isinstance(node, Term):
        return np.fromiter((node.needle in text for text in snapshot.normalized), bool, snapshot.size)
    if isinstance(node, Filter):
        plans = np.array([plan_field_matches(m, node) for m in snapshot.plans], bool)
        return plans[snapshot.passage_plan]
    if isinstance(node, Not):
        return ~_true_of(snapshot, node.child)
    if isinstance(node, And):
        mask = np.ones(snapshot.size, bool)
        for child in node.children:
            mask &= _true_of(snapshot, child)
        return mask
    assert isinstance(node, Or)
    mask = np.zeros(snapshot.size, bool)
    for child in node.children:
        mask |= _true_of(snapshot, child)
    return mask
