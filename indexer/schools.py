"""One name per school across the catalog: spellings the rules join within a plan
(诸暨一中, 诸暨市第一中学: `Grammar.key`) are joined across plans too, the fullest one kept.

A run reads the catalog's school names once; a new plan takes the fuller spelling already
there, or brings a fuller one, which the older plans then take (marked pending, so the same
run writes them to the index again). Edited names are left as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog import PENDING, Plan
from indexer.institutions import grammar


class SchoolNames:
    def __init__(self, session: Session) -> None:
        self._by_key: dict[str, str] = {}
        self._renamed: dict[str, str] = {}  # older spelling -> fuller one
        for (name,) in session.execute(select(Plan.school).distinct()):
            if name:
                self._remember(name)

    def resolve(self, metadata: dict[str, Any]) -> None:
        """Give a prepared plan's metadata the fullest spelling of its school seen so far."""
        name = metadata.get("school")
        if not name or (metadata.get("sources") or {}).get("school", {}).get("source") == "edited":
            return
        known = self._by_key.get(grammar().key(name))
        if known is None or known == name:
            self._remember(name)
        elif len(known) >= len(name):
            metadata["school"] = known
            metadata["school_aliases"] = sorted({*(metadata.get("school_aliases") or []), name} - {known})
        else:
            self._renamed[known] = name
            self._remember(name)

    def rename_older(self, session: Session) -> int:
        """Older plans of a school that now has a fuller name take it; how many were marked pending."""
        if not self._renamed:
            return 0
        count = 0
        for plan in session.scalars(select(Plan).where(Plan.school.in_(list(self._renamed)))):
            if (plan.sources or {}).get("school", {}).get("source") == "edited":
                continue
            old, plan.school = plan.school, self._renamed[plan.school]
            plan.school_aliases = sorted({*(plan.school_aliases or []), old} - {plan.school})
            plan.index_state = PENDING
            count += 1
        self._renamed.clear()
        return count

    def _remember(self, name: str) -> None:
        key = grammar().key(name)
        if len(name) >= len(self._by_key.get(key, "")):
            self._by_key[key] = name
