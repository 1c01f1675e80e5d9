"""What a run did to each file: the report `plans index --json` prints and the child returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What happened to one file: added, replaced, unchanged, removed or failed (with why)."""

    source: str
    status: str
    reason: str | None = None
    plan_id: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IndexReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "replaced", "unchanged", "removed", "failed")]
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """{"summary", "outcomes": [{"source", "status", "reason", "plan_id", "warnings"}]}: the JSON report."""
        return {"summary": self.summary(), "outcomes": [asdict(outcome) for outcome in self.outcomes]}
