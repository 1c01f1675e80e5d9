"""A bureau's plan against its schools: which of its tasks each school plan takes up.

Tasks are the bureau plan's numbered items: passages whose own heading is numbered and whose
section has no sub-sections. Schools are the school plans of the bureau's region (its district
when it names one, else its city, else its province) whose year is the bureau's or the next.
For each task and school, every passage of the school is compared with the task on the
normalised text: the shared phrases are the maximal runs of the task covered by character
4-grams the passage also holds (runs of at least PHRASE characters), `coverage` the share of the
task's characters they cover; `theme_terms` the dictionary's theme terms found in both. The
score is 0.8 × coverage + 0.2 × (shared theme terms / the task's theme terms); the passage with
the best score stands for the school, and the school takes the task up when it reaches TAKEN.

Shape (the JSON of /api/documents/{id}/echo):
    {"document": plan summary, "method", "region", "years": [y, y+1],
     "tasks": [{"number", "passage_id", "section", "text", "theme_terms"}],
     "schools": [plan summary],
     "matrix": [{"task": number, "cells": [{"document_id", "score", "taken_up", "passage_id",
                 "section", "text", "shared_phrases", "theme_terms"}]}]}  (one cell per school, zeros explicit)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.documents import DocumentNotFound
from app.priority import give_way, in_background
from app.query import QueryError
from app.search import plan_summary
from app.snapshot import Snapshot
from indexer.cleaning import normalize

GRAM = 4
PHRASE = 4
TAKEN = 0.2
BUREAU_KIND, BUREAU_LEVEL = "bureau", "教育行政"
METHOD = (f"任务为局计划中带编号、且没有下级条目的段落；学校为同一区县（无区县时同一城市）、同年或下一年的学校计划。"
          f"逐段比较：任务与学校段落共有的 {GRAM} 字片段连成的共同短语（至少 {PHRASE} 字）覆盖任务文字的比例记为覆盖率，"
          f"得分 = 0.8 × 覆盖率 + 0.2 × 共有主题词占任务主题词的比例；取得分最高的段落，得分不低于 {TAKEN} 记为“已落实”。")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}\s*[、.．]|[（(]\s*[\d一二三四五六七八九十]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．])")


class NotBureau(QueryError):
    """Echo asked of a plan that is not a bureau's (a 400)."""

    def __init__(self, document_id: int) -> None:
        super().__init__("not_bureau", f"编号为 {document_id} 的计划不是教育行政部门的计划，无法对照学校落实情况。")


def _tasks(snapshot: Snapshot, plan: int) -> list[int]:
    span = snapshot.plan_range(plan)
    paths = [tuple(snapshot.sections[i]) for i in span]
    parents = {p[:-1] for p in paths if p}
    return [i for i, path in zip(span, paths) if path and path not in parents and _NUMBERED.match(path[-1])]


def _region_key(meta: dict[str, Any]) -> tuple[str, str | None] | None:
    for field in ("district", "city", "province"):
        if meta.get(field):
            return field, meta[field]
    return None


def _schools(snapshot: Snapshot, plan: int) -> list[int]:
    meta = snapshot.plans[plan]
    key = _region_key(meta)
    year = meta.get("year")
    if key is None or year is None:
        return []
    field, value = key
    wanted = [p for p, m in enumerate(snapshot.plans)
              if m.get("kind") != BUREAU_KIND and m.get(field) == value and m.get("year") in (year, year + 1)
              and (field == "province" or m.get("city") == meta.get("city"))]
    return sorted(wanted, key=lambda p: (snapshot.plans[p].get("year") or 0, snapshot.plans[p]["id"]))


def _grams(text: str) -> set[str]:
    return {text[k:k + GRAM] for k in range(len(text) - GRAM + 1)}


def _positions(task: str) -> dict[str, list[int]]:
    """Each 4-gram of the task -> where it starts."""
    out: dict[str, list[int]] = {}
    for k in range(len(task) - GRAM + 1):
        out.setdefault(task[k:k + GRAM], []).append(k)
    return out


def _phrases(task: str, positions: dict[str, list[int]], shared: set[str]) -> tuple[list[str], int]:
    """Maximal runs of `task` covered by the `shared` grams (at least PHRASE long), and the
    number of task characters they cover."""
    starts = sorted(k for gram in shared for k in positions[gram])
    runs: list[list[int]] = []
    for k in starts:
        if runs and k <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], k + GRAM)
        else:
            runs.append([k, k + GRAM])
    runs = [r for r in runs if r[1] - r[0] >= PHRASE]
    return [task[a:b] for a, b in runs], sum(b - a for a, b in runs)


@in_background
def echo(snapshot: Snapshot, document_id: int, theme_terms: Sequence[str] = ()) -> dict[str, Any]:
    """Each task of the bureau plan against each school plan of its region and period."""
    plan = snapshot.plan_by_id.get(document_id)
    if plan is None:
        raise DocumentNotFound(document_id)
    meta = snapshot.plans[plan]
    if meta.get("kind") != BUREAU_KIND and meta.get("level") != BUREAU_LEVEL:
        raise NotBureau(document_id)
    terms = sorted({normalize(t) for t in theme_terms if t})
    tasks = _tasks(snapshot, plan)
    schools = _schools(snapshot, plan)
    school_passages = {s: [(i, snapshot.normalized[i], _grams(snapshot.normalized[i])) for i in snapshot.plan_range(s)]
                       for s in schools}
    matrix, task_views = [], []
    for number, t in enumerate(tasks, 1):
        task = snapshot.normalized[t]
        positions = _positions(task)
        task_grams = set(positions)
        task_terms = [term for term in terms if term in task]
        task_views.append({"number": number, "passage_id": int(snapshot.passage_ids[t]),
                           "section": list(snapshot.sections[t]), "text": snapshot.texts[t], "theme_terms": task_terms})
        cells = []
        for s in schools:
            give_way()
            best: dict[str, Any] = {"document_id": snapshot.plans[s]["id"], "score": 0.0, "taken_up": False,
                                    "passage_id": None, "section": [], "text": "", "shared_phrases": [], "theme_terms": []}
            for i, text, grams in school_passages[s]:
                shared = task_grams & grams
                shared_terms = [term for term in task_terms if term in text]
                if not shared_terms and len(shared) < 2:
                    continue
                phrases, covered = _phrases(task, positions, shared)
                coverage = covered / max(1, len(task))
                score = 0.8 * coverage + (0.2 * len(shared_terms) / len(task_terms) if task_terms else 0.0)
                if score > best["score"]:
                    best.update(score=round(score, 4), passage_id=int(snapshot.passage_ids[i]),
                                section=list(snapshot.sections[i]), text=snapshot.texts[i],
                                shared_phrases=phrases, theme_terms=shared_terms)
            best["taken_up"] = best["score"] >= TAKEN
            cells.append(best)
        matrix.append({"task": number, "cells": cells})
    return {
        "document": plan_summary(meta),
        "method": METHOD,
        "region": (_region_key(meta) or (None, None))[1],
        "years": [meta["year"], meta["year"] + 1] if meta.get("year") is not None else [],
        "tasks": task_views,
        "schools": [plan_summary(snapshot.plans[s]) for s in schools],
        "matrix": matrix,
    }


CSV_HEADER = ["任务编号", "任务原文", "学校文档编号", "学校", "时期", "得分", "已落实", "匹配段落编号", "章节路径", "共同短语", "共同主题词", "匹配段落原文"]


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    schools = {s["document_id"]: s for s in result["schools"]}
    tasks = {t["number"]: t for t in result["tasks"]}
    rows: list[list[Any]] = []
    for row in result["matrix"]:
        for cell in row["cells"]:
            school = schools[cell["document_id"]]
            rows.append([row["task"], tasks[row["task"]]["text"], cell["document_id"], school["school"], school["period"],
                         cell["score"], "是" if cell["taken_up"] else "否", cell["passage_id"], " > ".join(cell["section"]),
                         "；".join(cell["shared_phrases"]), "、".join(cell["theme_terms"]), cell["text"]])
    return rows
