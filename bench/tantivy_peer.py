"""The same search in Tantivy (PyPI `tantivy`), configured to be exact, over the same passages.

Tantivy's own n-gram tokenizer gives every gram position 0, so phrases over it find nothing
and an AND of bigrams over-matches needles of 3+ characters. The exact configuration:
    bigrams   every overlapping pair of characters of the normalised text, whitespace-separated,
              with positions; a needle of 3+ characters is the phrase of its bigrams, 2 is a term
    unigrams  every character, with frequencies; a needle of 1 character is a term
Whitespace inside the text is mapped to one private-use character first (in text and needles),
so no token contains a separator, and the analyzer has no lowercasing (the text is normalised).
Filters become a term set over the `plan` fast field, computed from the same normalised metadata.

The answer has the shape of /api/search's essentials, as bench/fts5.py's: total, documents,
the grouped top page (10 plans × 3 passages, plans ranked by their best passage's BM25, which
is Lucene's two-pass grouping: the top hits until 10 plans are seen, then each plan's top 3),
marks, and the four facets (counted from the per-plan counts of a terms aggregation).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import tantivy

from app.mentions import countable
from app.query import And, Filter, Node, Not, Or, Term, parse, positive_terms
from app.snapshot import Snapshot
from bench.peers import facet_values, facets, mark
from bench.queries import filter_texts, plan_field_matches

ANALYZER = "exact_whitespace"
SPACE = "\ue000"  # stands for any whitespace character inside a token
HEAP_BYTES = 256_000_000
FIRST_HITS = 256  # top hits read for the grouped page before asking for more


def _spaceless(text: str) -> str:
    return "".join(SPACE if c.isspace() else c for c in text) if any(c.isspace() for c in text) else text


def _bigrams(text: str) -> str:
    return " ".join(text[i:i + 2] for i in range(len(text) - 1))


class TantivyIndex:
    """A Tantivy index of the snapshot's countable passages (rowid = passage id, plan = plan index)."""

    def __init__(self, path: Path, snapshot: Snapshot, *, threads: int = 2) -> None:
        self.path = path
        self.snapshot = snapshot
        self.plans = len(snapshot.plans)
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("bigrams", tokenizer_name=ANALYZER, index_option="position")
        builder.add_text_field("unigrams", tokenizer_name=ANALYZER, index_option="freq")
        builder.add_bytes_field("text", stored=True)  # a text field would index it whole
        builder.add_unsigned_field("rowid", stored=True, fast=True)
        builder.add_unsigned_field("plan", stored=True, indexed=True, fast=True)
        self.schema = builder.build()
        self.build_seconds = self._build(threads)
        self.index = self._open()
        self.searcher = self.index.searcher()
        self.facet_values = facet_values(snapshot.plans)

    def _open(self) -> tantivy.Index:
        index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        index.register_tokenizer(ANALYZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        return index

    def _build(self, threads: int) -> float:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        snap = self.snapshot
        started = time.perf_counter()
        index = self._open()
        writer = index.writer(HEAP_BYTES, threads)
        for i in np.flatnonzero(countable(snap)).tolist():
            text = snap.normalized[i]
            spaced = _spaceless(text)
            doc = tantivy.Document(bigrams=_bigrams(spaced), unigrams=" ".join(spaced), text=text.encode())
            doc.add_unsigned("rowid", int(snap.passage_ids[i]))
            doc.add_unsigned("plan", int(snap.passage_plan[i]))
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.filter_texts = [filter_texts(meta) for meta in snap.plans]  # as FTS5's plan_meta table
        return time.perf_counter() - started

    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    # -- translation --------------------------------------------------------------------

    def query(self, node: Node) -> tantivy.Query:
        if isinstance(node, Term):
            needle = _spaceless(node.needle)
            if len(needle) == 1:
                return tantivy.Query.term_query(self.schema, "unigrams", needle)
            if len(needle) == 2:
                return tantivy.Query.term_query(self.schema, "bigrams", needle)
            return tantivy.Query.phrase_query(self.schema, "bigrams", [needle[i:i + 2] for i in range(len(needle) - 1)])
        if isinstance(node, Filter):
            plans = [i for i, (meta, texts) in enumerate(zip(self.snapshot.plans, self.filter_texts))
                     if plan_field_matches(meta, node, texts)]
            return tantivy.Query.term_set_query(self.schema, "plan", plans)
        if isinstance(node, Not):
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.all_query()),
                                                (tantivy.Occur.MustNot, self.query(node.child))])
        if isinstance(node, And):
            clauses = [(tantivy.Occur.MustNot, self.query(c.child)) if isinstance(c, Not)
                       else (tantivy.Occur.Must, self.query(c)) for c in node.children]
            if all(occur == tantivy.Occur.MustNot for occur, _ in clauses):
                clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
            return tantivy.Query.boolean_query(clauses)
        assert isinstance(node, Or)
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, self.query(c)) for c in node.children])

    def ids(self, node: Node) -> set[int]:
        query = self.query(node)
        count = self.searcher.search(query, limit=1, count=True).count
        if not count:
            return set()
        hits = self.searcher.search(query, limit=count, count=False).hits
        return set(self.searcher.fast_field_values("rowid", [address for _, address in hits]))

    # -- search -------------------------------------------------------------------------

    def search(self, q: str, *, size: int = 10, per_group: int = 3) -> dict[str, Any]:
        node = parse(q)
        query = self.query(node)
        counted = self.searcher.aggregate(query, {"plans": {"terms": {"field": "plan", "size": max(1, self.plans)}}})
        by_plan = {int(b["key"]): int(b["doc_count"]) for b in counted["plans"]["buckets"]}
        total = sum(by_plan.values())
        best = self._best_plans(query, size, total)
        needles = [t.needle for t in positive_terms(node)]
        groups = []
        for plan in best:
            within = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                                  (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "plan", plan))])
            hits = self.searcher.search(within, limit=per_group, count=False).hits
            passages = []
            for _, address in hits:
                doc = self.searcher.doc(address)
                passages.append({"id": doc["rowid"][0], "highlight": mark(bytes(doc["text"][0]).decode(), needles)})
            groups.append({"plan": plan, "hits": by_plan.get(plan, 0), "passages": passages})
        return {"total": total, "documents": len(by_plan), "groups": groups, "facets": facets(self.facet_values, by_plan)}

    def _best_plans(self, query: tantivy.Query, size: int, total: int) -> list[int]:
        """The first `size` plans in the order of their best passage's score."""
        limit = FIRST_HITS
        while True:
            hits = self.searcher.search(query, limit=min(limit, max(total, 1)), count=False).hits
            plans = self.searcher.fast_field_values("plan", [address for _, address in hits])
            seen: dict[int, None] = {}
            for plan in plans:
                seen.setdefault(plan, None)
                if len(seen) == size:
                    return list(seen)
            if len(hits) >= total:
                return list(seen)
            limit *= 4
