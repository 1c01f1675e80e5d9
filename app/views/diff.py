"""Two plans side by side: sections aligned by their headings' similarity, passages marked
added / removed / changed / unchanged, character-level edits inside changed passages, and the
commitments (sentences with numbers, frequencies, durations, targets) that changed.

Method: a plan's sections are its runs of passages with one section path. Sections of A and B
are paired greedily by the difflib ratio of their paths with the numbering stripped (at least
SECTION_MATCH), so a renumbered or moved section still pairs. Inside a pair, difflib aligns the
passages' normalised texts; a replaced passage pairs with one of the other side when their
ratio is at least PASSAGE_MATCH (changed), else it is removed and the other added.

Shape (the JSON of /api/documents/{id}/diff?other=):
    {"a": plan summary, "b": plan summary, "same_school", "method",
     "counts": {"added", "removed", "changed", "unchanged"} (passages),
     "sections": [{"status", "a_section", "b_section", "similarity",
                   "passages": [{"status", "a": {"id", "text"} | None, "b": … | None,
                                 "edits": [{"op": "equal"|"insert"|"delete"|"replace", "a", "b"}]}]}],
     "commitments": [{"a_section", "b_section", "before", "after"}]}
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from app.commitments import is_quantified
from app.documents import DocumentNotFound
from app.search import plan_summary
from app.snapshot import Snapshot
from indexer.cleaning import normalize

SECTION_MATCH = 0.6
PASSAGE_MATCH = 0.5
STATUSES = ("added", "removed", "changed", "unchanged")
METHOD = (f"章节按标题（去掉编号）的 difflib 相似度一一配对（不低于 {SECTION_MATCH}），章节内按段落文字对齐；"
          f"相似度不低于 {PASSAGE_MATCH} 的段落视为“修改”，并标出逐字差异；含数字、频次、时长或目标的句子变化列为“承诺变化”。")
_NUMBERING = re.compile(r"^[\s第]*(?:[一二三四五六七八九十百]+|\d+|[（(][^)）]{1,4}[)）])[\s、.．,，:：章部分]*")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")


def _label(section: tuple[str, ...]) -> str:
    return "/".join(normalize(_NUMBERING.sub("", part)) for part in section)


def _sections(snapshot: Snapshot, plan: int) -> list[tuple[tuple[str, ...], list[int]]]:
    out: list[tuple[tuple[str, ...], list[int]]] = []
    for i in snapshot.plan_range(plan):
        path = tuple(snapshot.sections[i])
        if out and out[-1][0] == path:
            out[-1][1].append(i)
        else:
            out.append((path, [i]))
    return out


def _pair_sections(a: list[tuple[str, ...]], b: list[tuple[str, ...]]) -> dict[int, tuple[int, float]]:
    """A's section index -> (B's section index, similarity), one-to-one, best pairs first."""
    labels_a, labels_b = [_label(s) for s in a], [_label(s) for s in b]
    candidates = []
    for i, la in enumerate(labels_a):
        for j, lb in enumerate(labels_b):
            ratio = 1.0 if la == lb else SequenceMatcher(None, la, lb, autojunk=False).ratio()
            if ratio >= SECTION_MATCH:
                candidates.append((-ratio, abs(i - j), i, j))
    candidates.sort()
    pairs: dict[int, tuple[int, float]] = {}
    taken: set[int] = set()
    for negative, _, i, j in candidates:
        if i not in pairs and j not in taken:
            pairs[i] = (j, -negative)
            taken.add(j)
    return pairs


def _passage(snapshot: Snapshot, i: int | None) -> dict[str, Any] | None:
    return None if i is None else {"id": int(snapshot.passage_ids[i]), "text": snapshot.texts[i]}


def _edits(a: str, b: str) -> list[dict[str, str]]:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return [{"op": op, "a": a[i1:i2], "b": b[j1:j2]} for op, i1, i2, j1, j2 in matcher.get_opcodes()]


def _entry(snapshot: Snapshot, status: str, i: int | None, j: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "a": _passage(snapshot, i), "b": _passage(snapshot, j), "edits": []}
    if status == "changed":
        entry["edits"] = _edits(snapshot.texts[i], snapshot.texts[j])  # type: ignore[index]
    return entry


def _align_passages(snapshot: Snapshot, a: list[int], b: list[int]) -> list[dict[str, Any]]:
    texts_a, texts_b = [snapshot.normalized[i] for i in a], [snapshot.normalized[j] for j in b]
    out: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, texts_a, texts_b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(_entry(snapshot, "unchanged", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2)))
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        while left and right:
            i, j = left.pop(0), right.pop(0)
            if SequenceMatcher(None, texts_a[i], texts_b[j], autojunk=False).ratio() >= PASSAGE_MATCH:
                out.append(_entry(snapshot, "changed", a[i], b[j]))
            else:
                out += [_entry(snapshot, "removed", a[i], None), _entry(snapshot, "added", None, b[j])]
        out.extend(_entry(snapshot, "removed", a[i], None) for i in left)
        out.extend(_entry(snapshot, "added", None, b[j]) for j in right)
    return out


def _commitments(a_text: str, b_text: str) -> list[tuple[str | None, str | None]]:
    """(before, after) of the quantified sentences that differ between two versions of a passage."""
    sa = [s.strip() for s in _SENTENCE.findall(a_text) if s.strip()]
    sb = [s.strip() for s in _SENTENCE.findall(b_text) if s.strip()]
    out: list[tuple[str | None, str | None]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        before, after = sa[i1:i2], sb[j1:j2]
        for k in range(max(len(before), len(after))):
            x = before[k] if k < len(before) else None
            y = after[k] if k < len(after) else None
            if any(s is not None and is_quantified(normalize(s)) for s in (x, y)):
                out.append((x, y))
    return out


def diff(snapshot: Snapshot, document_id: int, other_id: int) -> dict[str, Any]:
    """Plan `document_id` (A, the older one usually) against `other_id` (B)."""
    plans = []
    for number in (document_id, other_id):
        plan = snapshot.plan_by_id.get(number)
        if plan is None:
            raise DocumentNotFound(number)
        plans.append(plan)
    secs_a, secs_b = _sections(snapshot, plans[0]), _sections(snapshot, plans[1])
    pairs = _pair_sections([s for s, _ in secs_a], [s for s, _ in secs_b])
    partner_of_b = {j: i for i, (j, _) in pairs.items()}
    sections: list[dict[str, Any]] = []
    next_b = 0

    def emit_b_until(stop: int) -> None:
        nonlocal next_b
        while next_b < stop:
            if next_b not in partner_of_b:
                path, members = secs_b[next_b]
                sections.append({"status": "added", "a_section": None, "b_section": list(path), "similarity": 0.0,
                                 "passages": [_entry(snapshot, "added", None, j) for j in members]})
            next_b += 1

    for i, (path, members) in enumerate(secs_a):
        if i not in pairs:
            sections.append({"status": "removed", "a_section": list(path), "b_section": None, "similarity": 0.0,
                             "passages": [_entry(snapshot, "removed", k, None) for k in members]})
            continue
        j, ratio = pairs[i]
        emit_b_until(j)
        next_b = max(next_b, j + 1)
        passages = _align_passages(snapshot, members, secs_b[j][1])
        status = "unchanged" if all(p["status"] == "unchanged" for p in passages) else "changed"
        sections.append({"status": status, "a_section": list(path), "b_section": list(secs_b[j][0]),
                         "similarity": round(ratio, 3), "passages": passages})
    emit_b_until(len(secs_b))
    counts = dict.fromkeys(STATUSES, 0)
    commitments = []
    for section in sections:
        for p in section["passages"]:
            counts[p["status"]] += 1
            if p["status"] == "changed":
                for before, after in _commitments(p["a"]["text"], p["b"]["text"]):
                    commitments.append({"a_section": section["a_section"], "b_section": section["b_section"],
                                        "before": before, "after": after})
    a, b = (snapshot.plans[p] for p in plans)
    return {
        "a": plan_summary(a),
        "b": plan_summary(b),
        "same_school": bool(a.get("school")) and a.get("school") == b.get("school"),
        "method": METHOD,
        "counts": counts,
        "sections": sections,
        "commitments": commitments,
    }


CSV_HEADER = ["状态", "A章节路径", "B章节路径", "A段落编号", "B段落编号", "A原文", "B原文"]


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for section in result["sections"]:
        for p in section["passages"]:
            rows.append([p["status"], " > ".join(section["a_section"] or []), " > ".join(section["b_section"] or []),
                         p["a"]["id"] if p["a"] else None, p["b"]["id"] if p["b"] else None,
                         p["a"]["text"] if p["a"] else "", p["b"]["text"] if p["b"] else ""])
    return rows
