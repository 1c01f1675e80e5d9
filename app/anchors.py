"""Stable passage anchors: a short hash of the passage's section path and text, so a link to a
passage survives re-indexing and the replacement of its plan's file while the passage itself is
unchanged (passage ids do not). Equal passages within one plan get -2, -3 … in document order.
"""

from __future__ import annotations

import threading
from hashlib import blake2b

from app.derived import PerGeneration
from app.snapshot import Snapshot

_LOCK = threading.Lock()
_BY_PLAN: PerGeneration[dict[int, list[str]]] = PerGeneration("passage anchors by plan", lambda snapshot: {})
PREFIX = "s-"


def anchor(section: tuple[str, ...] | list[str], text: str) -> str:
    """`s-` and 10 hex digits of BLAKE2b over the section path and the text."""
    key = "\x1f".join(section) + "\x1e" + text
    return PREFIX + blake2b(key.encode("utf-8"), digest_size=5).hexdigest()


def plan_anchors(snapshot: Snapshot, plan_index: int) -> list[str]:
    """The anchors of one plan's passages, in document order (computed once per snapshot)."""
    known = _BY_PLAN.of(snapshot)
    with _LOCK:
        if plan_index in known:
            return known[plan_index]
    out: list[str] = []
    seen: dict[str, int] = {}
    for i in snapshot.plan_range(plan_index):
        base = anchor(snapshot.sections[i], snapshot.texts[i])
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    with _LOCK:
        known[plan_index] = out
    return out


def passage_anchor(snapshot: Snapshot, index: int) -> str:
    """The anchor of the passage at `index` in the snapshot."""
    plan = int(snapshot.passage_plan[index])
    return plan_anchors(snapshot, plan)[index - int(snapshot.plan_first[plan])]
