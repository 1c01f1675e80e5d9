"""Similar plans: Whoosh's more-like-this over the jieba `words` field, aggregated by plan.

The plan's CANDIDATES most frequent content words (app/views/vocabulary.py) go to Whoosh's
Expander (Bo1, against the collection frequencies of the `words` field); each of its KEY_TERMS
best terms scores every other plan by weight × idf × the number of the plan's passages whose
`words` postings hold it, over the square root of the plan's passage count, so a long plan does
not win by length alone. The postings are read with numpy (`store.posting_docnums`): Whoosh's
own matchers, scoring passage by passage in Python, took 2 s per plan at 2,000 plans.

Shape (the JSON of /api/documents/{id}/similar):
    {"document": {"document_id", "school", "period", …}, "method", "key_terms": [{"term", "weight"}],
     "similar": [{"document_id", "school", "region", "level", "period", "year", "title",
                  "score", "same_school", "shared_terms": [str]}]}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from whoosh.classify import Bo1Model, Expander

from app.derived import PerGeneration
from app.documents import DocumentNotFound
from app.search import plan_summary
from app.snapshot import Snapshot
from app.views.vocabulary import plan_word_counts
from indexer import store
from indexer.schema import PLAN

KEY_TERMS = 30
CANDIDATES = 300  # the plan's most frequent content words the Expander weighs
TOP = 10
SHARED_SHOWN = 12
METHOD = ("Whoosh more-like-this：以本计划的 jieba 实词（去掉停用词与通用计划用语）按 Bo1 模型选出 "
          f"{KEY_TERMS} 个关键词；其他计划按含各关键词的段落数 × 关键词权重 × idf 计分，再除以段落数的平方根。")


_DOCNUM_PLANS: PerGeneration[dict[int, np.ndarray]] = PerGeneration("Whoosh docnum -> plan", lambda snapshot: {})


def _docnum_plans(snapshot: Snapshot, reader: Any, generation: int) -> np.ndarray:
    """Whoosh docnum -> the snapshot's plan index (-1: a plan document, or a plan the snapshot
    does not hold) for this Whoosh generation; computed once."""
    known = _DOCNUM_PLANS.of(snapshot)
    if generation not in known:
        owners = np.full(reader.doc_count_all(), -1, np.int64)
        for leaf, base in reader.leaf_readers():  # leaf by leaf: each holds a few plans' terms
            for term in leaf.lexicon("plan"):
                plan = snapshot.plan_by_id.get(int(term.decode()))
                if plan is not None:
                    ids = np.fromiter(leaf.postings("plan", term).all_ids(), np.int64) + base
                    owners[ids[ids < len(owners)]] = plan
        owners[store.posting_docnums(reader, "kind", PLAN)] = -1
        known[generation] = owners
    return known[generation]


def similar(snapshot: Snapshot, document_id: int, *, top: int = TOP) -> dict[str, Any]:
    """The `top` plans most alike, best first, each with the key terms it shares."""
    plan = snapshot.plan_by_id.get(document_id)
    if plan is None:
        raise DocumentNotFound(document_id)
    counts = plan_word_counts(snapshot, plan)
    frequent = sorted(counts.items(), key=lambda item: -item[1])[:CANDIDATES]
    vocabulary = snapshot.vocabulary
    scores = np.zeros(len(snapshot.plans), np.float64)
    ix = store.open_index(snapshot.directory)
    with ix.searcher() as searcher:  # one searcher per call: Whoosh searchers are not thread-safe
        reader = searcher.reader()
        expander = Expander(reader, "words", model=Bo1Model)
        expander.add((vocabulary[w], c) for w, c in frequent)
        key_terms = expander.expanded_terms(KEY_TERMS, normalize=True) if frequent else []
        owners = _docnum_plans(snapshot, reader, ix.latest_generation())
        passages = max(1, reader.doc_count())
        for term, weight in key_terms:
            docnums = store.posting_docnums(reader, "words", term)
            docnums = docnums[docnums < len(owners)]
            live = docnums[[not reader.is_deleted(d) for d in docnums.tolist()]] if reader.has_deletions() else docnums
            plans = owners[live]
            idf = math.log(1 + passages / (1 + len(live)))
            scores += weight * idf * np.bincount(plans[plans >= 0], minlength=len(snapshot.plans))
    scores /= np.sqrt(np.maximum(1, snapshot.plan_passage_count))
    scores[plan] = 0
    ids = np.array([m["id"] for m in snapshot.plans], np.int64)
    ranked = [(float(scores[p]), int(p)) for p in np.lexsort((ids, -scores)) if scores[p] > 0]
    own_school = snapshot.plans[plan].get("school")
    out = []
    for score, other in ranked[:top]:
        words = {vocabulary[w] for w in plan_word_counts(snapshot, other)}
        out.append({
            **plan_summary(snapshot.plans[other]),
            "score": round(score, 4),
            "same_school": bool(own_school) and snapshot.plans[other].get("school") == own_school,
            "shared_terms": [t for t, _ in key_terms if t in words][:SHARED_SHOWN],
        })
    return {
        "document": plan_summary(snapshot.plans[plan]),
        "method": METHOD,
        "key_terms": [{"term": t, "weight": round(w, 4)} for t, w in key_terms],
        "similar": out,
    }


def same_school(snapshot: Snapshot, document_id: int) -> list[dict[str, Any]]:
    """The other plans of the same school (canonical name = Plan.school), newest first."""
    plan = snapshot.plan_by_id.get(document_id)
    if plan is None:
        raise DocumentNotFound(document_id)
    school = snapshot.plans[plan].get("school")
    if not school:
        return []
    others = [p for p, meta in enumerate(snapshot.plans) if p != plan and meta.get("school") == school]
    others.sort(key=lambda p: (-(snapshot.plans[p].get("year") or 0), snapshot.plans[p]["id"]))
    return [plan_summary(snapshot.plans[p]) for p in others]
