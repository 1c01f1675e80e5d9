"""Plans as the API and the pages show them: the list, and one plan with its outline."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from app.highlighting import highlight
from app.query import parse, positive_terms
from app.snapshot import Snapshot

PUBLIC_FIELDS = (
    "title", "school", "unit", "kind", "province", "city", "district", "region", "level", "period",
    "year", "year_end", "term", "issuer", "published", "format", "chars", "warnings", "school_aliases", "sources",
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

    With `q`, each passage also carries `highlight` for the query's needles and `matches`
    (how many of them it contains), so a page can mark what the user searched for.
    """
    plan_index = snapshot.plan_by_id.get(document_id)
    if plan_index is None:
        raise DocumentNotFound(document_id)
    needles = [t.needle for t in positive_terms(parse(q))] if q else []
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
            item["matches"] = sum(snapshot.normalized[i].count(n) for n in needles)
        passages.append(item)
    return {**document_summary(snapshot, plan_index), "outline": outline, "passages": passages}
