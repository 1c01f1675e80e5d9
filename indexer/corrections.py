"""Corrections of a plan's metadata where the text cannot decide, kept in the catalog.

An edit is stored per source path and field (`plan_edits`), applied to the plan row at once
and again whenever the file at that path is read (re-indexing, a replaced file), so it wins
over whatever is read; its source is `edited`. PATCH /api/documents/{id} and `plans edit`
both end in `Pipeline.edit`, the one writer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog import Plan, PlanEdit
from indexer.errors import PlansError
from indexer.metadata import BUREAU_LEVEL, EDITABLE, PlanMetadata, apply_edits, metadata_warnings

LEVELS = ("幼儿园", "小学", "初中", "高中", "中学", "完全中学", "九年一贯制", "十二年一贯制", "中职", "特殊教育", BUREAU_LEVEL)
_LIMITS = {"school": 256, "unit": 64, "period": 64, "region": 192}


class EditRejected(PlansError):
    """An edit names a field that cannot be edited or a value that field cannot hold."""


def validate_edits(fields: Any) -> dict[str, Any]:
    """The edits checked and normalised ({"year": 2024, "school": "…"}); EditRejected says what is wrong."""
    if not isinstance(fields, dict) or not fields:
        raise EditRejected(f"give one or more of {', '.join(EDITABLE)} with their new values")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise EditRejected(f"{name!r} cannot be edited; editable: {', '.join(EDITABLE)}")
        if name == "year":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2100:
                raise EditRejected(f"year must be a year between 1900 and 2100, not {value!r}")
            out[name] = value
            continue
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise EditRejected(f"{name} must be a non-empty line of text, not {value!r}")
        value = value.strip()
        if name == "level" and value not in LEVELS:
            raise EditRejected(f"level must be one of {', '.join(LEVELS)}, not {value!r}")
        if len(value) > _LIMITS.get(name, 64):
            raise EditRejected(f"{name} is longer than {_LIMITS.get(name, 64)} characters")
        out[name] = value
    return out


def edits_by_source(session: Session) -> dict[str, dict[str, Any]]:
    """Every stored edit: {source: {field: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for edit in session.scalars(select(PlanEdit)):
        out.setdefault(edit.source, {})[edit.field] = edit.value
    return out


def store_edits(session: Session, plan: Plan, edits: dict[str, Any]) -> None:
    """Record the edits for the plan's source and apply them to its row (fields, sources, warnings)."""
    existing = {e.field: e for e in session.scalars(select(PlanEdit).where(PlanEdit.source == plan.source))}
    for name, value in edits.items():
        if name in existing:
            existing[name].value = value
        else:
            session.add(PlanEdit(source=plan.source, field=name, value=value))
    meta = PlanMetadata(**{name: getattr(plan, name) for name in PlanMetadata.__dataclass_fields__
                           if name not in ("warnings", "sources", "school_aliases")})
    meta.sources = dict(plan.sources or {})
    meta.school_aliases = list(plan.school_aliases or [])
    apply_edits(meta, edits)
    for name, value in meta.as_dict().items():
        if name in Plan.METADATA_FIELDS:
            setattr(plan, name, value)
    plan.warnings = metadata_warnings(meta)
