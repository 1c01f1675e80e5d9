"""Plans as the API and the pages show them: the list, and one plan with its outline."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from app.highlighting import highlight
from app.mentions import count_mentions, countable, split_filters
from app.query import parse, positive_terms
from app.search import evaluate
from app.snapshot import Snapshot

PUBLIC_FIELDS = (
    "title", "school", "kind", "province", "city", "district", "region", "level", "period",
    "year", "term", "issuer", "published", "format", "chars", "warnings",
)


class DocumentNotFound(LookupError):
    """No plan with that id in the served index."""


def document_summary(snapshot: Snapshot, plan_index: int) -> dict[str, Any]:
    """Metadata of one plan with its file name (never the server's path) and passage count."""
    meta = snapshot.plans[plan_index]
    out: dict[str, Any] = {"id": meta["id"], "file": PurePath(meta.get("source") or "").name}
    out.update({name: meta.get(name) for name in PUBLIC_FIELDS})
    out["passage_count"] = int(snapshot.plan_passage_count[plan_index])
    return out


def list_documents(snapshot: Snapshot) -> dict[str, Any]:
    """Every plan, by id: {"total", "documents": [summary…]}."""
    documents = [document_summary(snapshot, i) for i in range(len(snapshot.plans))]
    return {"total": len(documents), "documents": documents}


def get_document(snapshot: Snapshot, document_id: int, *, q: str | None = None) -> dict[str, Any]:
    """One plan: summary, outline [{"rank", "title", "passage_id"}], passages in order.

    With `q`, each passage also carries `highlight` for the query's needles and `matches`: its
    mentions when it is a hit of the query's terms (app.mentions; the query's plan filters
    are ignored here: the plan is already chosen), else 0.
    """
    plan_index = snapshot.plan_by_id.get(document_id)
    if plan_index is None:
        raise DocumentNotFound(document_id)
    terms = split_filters(parse(q))[0] if q else None
    needles = [t.needle for t in positive_terms(terms)] if terms is not None else []
    hit = evaluate(snapshot, terms) & countable(snapshot) if terms is not None else None
    passages, outline = [], []
    seen: set[tuple[str, ...]] = set()
    for i in snapshot.plan_range(plan_index):
        section = tuple(snapshot.sections[i])
        for depth in range(1, len(section) + 1):
            if section[:depth] not in seen:
                seen.add(section[:depth])
                outline.append({"depth": depth, "title": section[depth - 1], "passage_id": int(snapshot.passage_ids[i])})
        item: dict[str, Any] = {
            "id": int(snapshot.passage_ids[i]),
            "ordinal": int(snapshot.ordinals[i]),
            "section": list(section),
            "text": snapshot.texts[i],
        }
        if needles:
            item["highlight"] = highlight(snapshot.texts[i], snapshot.normalized[i], needles)
            item["matches"] = count_mentions(snapshot.normalized[i], needles) if hit is not None and hit[i] else 0
        passages.append(item)
    return {**document_summary(snapshot, plan_index), "outline": outline, "passages": passages}
