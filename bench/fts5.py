"""The same search in SQLite FTS5 (tokenize='trigram'), over the same normalised passages.

FTS5 gets `normalize(text)`, so case and full-width folding agree with ours. A trigram index
cannot answer needles under 3 characters through MATCH: those become `text LIKE '%x%'`, a
scan of every row. How each query ran is reported as its `mode`:
    match       the whole query is one MATCH expression, ranked by bm25(), snippet() for marks
    match+sql   a MATCH for the long terms ANDed with LIKE / plan filters in SQL, still ranked
    scan        no MATCH possible: LIKE and filters over every row, unranked, marks by replace()
The result has the shape of /api/search's essentials: total, documents, page of groups
(10 plans × 3 passages with marks) and the four facets.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.mentions import countable
from app.query import And, Filter, Node, Not, Or, Term, parse, positive_terms
from app.snapshot import Snapshot
from bench.peers import facet_values, facets, mark
from indexer.cleaning import normalize

TABLE = "passages_fts"
SNIPPET_TOKENS = 64  # FTS5's maximum


class Fts5Index:
    """An FTS5 trigram table of the snapshot's countable passages (rowid = passage id) and plan metadata."""

    def __init__(self, path: Path, snapshot: Snapshot) -> None:
        self.path = path
        self.snapshot = snapshot
        self.build_seconds = self._build()
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.facet_values = facet_values(snapshot.plans)

    def _build(self) -> float:
        self.path.unlink(missing_ok=True)
        snap = self.snapshot
        started = time.perf_counter()
        conn = sqlite3.connect(self.path)
        conn.execute(f"CREATE VIRTUAL TABLE {TABLE} USING fts5(text, plan UNINDEXED, tokenize='trigram')")
        conn.execute(
            "CREATE TABLE plan_meta (idx INTEGER PRIMARY KEY, school TEXT, title TEXT, region TEXT,"
            " level TEXT, kind TEXT, year INTEGER)"
        )
        conn.executemany(
            f"INSERT INTO {TABLE} (rowid, text, plan) VALUES (?, ?, ?)",
            ((int(snap.passage_ids[i]), snap.normalized[i], int(snap.passage_plan[i]))
             for i in np.flatnonzero(countable(snap)).tolist()),
        )
        conn.executemany(
            "INSERT INTO plan_meta VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (i, *(normalize(str(m.get(k) or "")) for k in ("school", "title", "region", "level", "kind")), m.get("year"))
                for i, m in enumerate(snap.plans)
            ),
        )
        conn.commit()
        conn.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")
        conn.commit()
        conn.close()
        return time.perf_counter() - started

    # -- translation --------------------------------------------------------------------

    def plan(self, node: Node) -> tuple[str, list[Any], str | None, str]:
        """(WHERE clause, parameters, the MATCH expression or None, mode)."""
        expression = _match_expression(node)
        if expression is not None:
            return f"{TABLE} MATCH ?", [expression], expression, "match"
        if isinstance(node, And):
            matchable = [c for c in node.children if _match_expression(c if not isinstance(c, Not) else c.child)]
            positive = [c for c in matchable if not isinstance(c, Not)]
            if positive:
                expression = _match_expression(And(tuple(matchable))) if len(matchable) > 1 else _match_expression(matchable[0])
                rest = [c for c in node.children if c not in matchable]
                clauses, params = zip(*(_sql(c) for c in rest)) if rest else ((), ())
                where = " AND ".join([f"{TABLE} MATCH ?", *clauses])
                return where, [expression, *(p for ps in params for p in ps)], expression, "match+sql"
        where, params = _sql(node)
        return where, params, None, "scan"

    def ids(self, node: Node) -> set[int]:
        where, params, _, _ = self.plan(node)
        return {row[0] for row in self.conn.execute(f"SELECT rowid FROM {TABLE} WHERE {where}", params)}

    # -- search -------------------------------------------------------------------------

    def search(self, q: str, *, size: int = 10, per_group: int = 3) -> dict[str, Any]:
        node = parse(q)
        where, params, expression, mode = self.plan(node)
        score = f"bm25({TABLE})" if expression is not None else "0.0"
        rows = self.conn.execute(f"SELECT rowid, plan, {score} FROM {TABLE} WHERE {where}", params).fetchall()
        by_plan: dict[int, list[tuple[float, int]]] = {}
        for rowid, plan, rank in rows:
            by_plan.setdefault(plan, []).append((rank, rowid))
        best = sorted(by_plan, key=lambda p: (min(by_plan[p])[0], p))[:size]
        page = {p: sorted(by_plan[p])[:per_group] for p in best}
        wanted = [rowid for members in page.values() for _, rowid in members]
        marks = self._marks(wanted, expression, [t.needle for t in positive_terms(node)])
        groups = [
            {"plan": p, "hits": len(by_plan[p]), "passages": [{"id": r, "highlight": marks.get(r)} for _, r in page[p]]}
            for p in best
        ]
        return {"total": len(rows), "documents": len(by_plan), "groups": groups,
                "facets": facets(self.facet_values, {p: len(members) for p, members in by_plan.items()}), "mode": mode}

    def _marks(self, rowids: list[int], expression: str | None, needles: list[str]) -> dict[int, str]:
        if not rowids:
            return {}
        holes = ",".join("?" * len(rowids))
        if expression is not None:
            sql = (f"SELECT rowid, snippet({TABLE}, 0, '<mark>', '</mark>', '…', {SNIPPET_TOKENS}) "
                   f"FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid IN ({holes})")
            return dict(self.conn.execute(sql, [expression, *rowids]))
        sql = f"SELECT rowid, text FROM {TABLE} WHERE rowid IN ({holes})"
        return {rowid: mark(text, needles) for rowid, text in self.conn.execute(sql, rowids)}


def _quote(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


def _match_expression(node: Node) -> str | None:
    """The FTS5 query for a tree of terms of 3+ characters, or None when it has anything else."""
    if isinstance(node, Term):
        return _quote(node.needle) if len(node.needle) >= 3 else None
    if isinstance(node, Or):
        parts = [_match_expression(c) for c in node.children]
        return None if None in parts else "(" + " OR ".join(parts) + ")"  # type: ignore[arg-type]
    if isinstance(node, And):
        positive = [_match_expression(c) for c in node.children if not isinstance(c, Not)]
        negative = [_match_expression(c.child) for c in node.children if isinstance(c, Not)]
        if not positive or None in positive or None in negative:
            return None
        return "(" + " AND ".join(positive) + ")" + "".join(f" NOT {n}" for n in negative)  # type: ignore[arg-type]
    return None


def _like(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sql(node: Node) -> tuple[str, list[Any]]:
    """A WHERE clause for any query: long terms through the index, short ones by LIKE."""
    if isinstance(node, Term):
        if len(node.needle) >= 3:
            return f"rowid IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ?)", [_quote(node.needle)]
        return "text LIKE ? ESCAPE '\\'", [_like(node.needle)]
    if isinstance(node, Filter):
        if node.years is not None:
            return "plan IN (SELECT idx FROM plan_meta WHERE year BETWEEN ? AND ?)", list(node.years)
        columns = {"school": ("school", "title"), "region": ("region",), "level": ("level", "kind")}[node.field]
        test = " OR ".join(f"instr({c}, ?) > 0" for c in columns)
        return f"plan IN (SELECT idx FROM plan_meta WHERE {test})", [node.value] * len(columns)
    if isinstance(node, Not):
        clause, params = _sql(node.child)
        return f"NOT ({clause})", params
    assert isinstance(node, (And, Or))
    parts = [_sql(c) for c in node.children]
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
