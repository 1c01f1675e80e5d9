"""Similar plans: Whoosh's more-like-this over the jieba `words` field, aggregated by plan.

The plan's content words (app/views/vocabulary.py) and their counts go to Whoosh's Expander
(Bo1, against the collection frequencies of the `words` field); its KEY_TERMS best terms form an
OR query, each term boosted by its weight, run over the passages of every other plan with
BM25F. A plan's score is the sum of its passages' scores divided by the square root of its
passage count, so a long plan does not win by length alone.

Shape (the JSON of /api/documents/{id}/similar):
    {"document": {"document_id", "school", "period", …}, "method", "key_terms": [{"term", "weight"}],
     "similar": [{"document_id", "school", "region", "level", "period", "year", "title",
                  "score", "same_school", "shared_terms": [str]}]}
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from whoosh.classify import Bo1Model, Expander
from whoosh.query import Or, Term

from app.documents import DocumentNotFound
from app.search import plan_summary
from app.snapshot import Snapshot
from app.views.vocabulary import plan_word_counts
from indexer import store

KEY_TERMS = 30
TOP = 10
SHARED_SHOWN = 12
METHOD = ("Whoosh more-like-this：以本计划的 jieba 实词（去掉停用词与通用计划用语）按 Bo1 模型选出 "
          f"{KEY_TERMS} 个关键词，加权检索其他计划的段落（BM25F），按计划汇总得分并除以段落数的平方根。")


def _docnum_plans(snapshot: Snapshot, reader: Any, generation: int) -> np.ndarray:
    """Whoosh docnum -> plan id (0: no plan) for this Whoosh generation; computed once."""
    key = f"views:docnum-plans:{generation}"
    if key not in snapshot.derived:
        owners = np.zeros(reader.doc_count_all(), np.int64)
        for term in reader.lexicon("plan"):
            docnums = store.posting_docnums(reader, "plan", term.decode())
            owners[docnums[docnums < len(owners)]] = int(term.decode())
        snapshot.derived[key] = owners
    return snapshot.derived[key]  # type: ignore[no-any-return]


def similar(snapshot: Snapshot, document_id: int, *, top: int = TOP) -> dict[str, Any]:
    """The `top` plans most alike, best first, each with the key terms it shares."""
    plan = snapshot.plan_by_id.get(document_id)
    if plan is None:
        raise DocumentNotFound(document_id)
    counts = plan_word_counts(snapshot, plan)
    vocabulary = snapshot.vocabulary
    ix = store.open_index(snapshot.directory)
    with ix.searcher() as searcher:  # one searcher per call: Whoosh searchers are not thread-safe
        expander = Expander(searcher.reader(), "words", model=Bo1Model)
        expander.add((vocabulary[w], c) for w, c in counts.items())
        key_terms = expander.expanded_terms(KEY_TERMS, normalize=True) if counts else []
        scores: dict[int, float] = defaultdict(float)
        if key_terms:
            owners = _docnum_plans(snapshot, searcher.reader(), ix.latest_generation())
            query = Or([Term("words", term, boost=weight) for term, weight in key_terms])
            matcher = query.matcher(searcher, searcher.context())  # every match, no collector sorting
            while matcher.is_active():
                scores[int(owners[matcher.id()])] += matcher.score()
                matcher.next()
    scores.pop(document_id, None)
    scores.pop(0, None)
    ranked = []
    for other_id, total in scores.items():
        other = snapshot.plan_by_id.get(other_id)
        if other is not None:  # Whoosh may hold a plan a newer commit added: the snapshot decides
            ranked.append((total / math.sqrt(max(1, int(snapshot.plan_passage_count[other]))), other))
    ranked.sort(key=lambda item: (-item[0], snapshot.plans[item[1]]["id"]))
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
