"""The benchmark's peers answer the query mix exactly, as the oracle does, on the samples:
FTS5 (trigram MATCH or LIKE) and Tantivy (the positional bigram and unigram fields). A peer
that over- or under-matched would make every ratio of docs/benchmarks.md meaningless."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.query import parse
from app.search import SearchRequest, search
from app.snapshot import Snapshot
from bench.fts5 import Fts5Index
from bench.queries import query_mix, truth
from bench.tantivy_peer import TantivyIndex

EXTRA = ["德育", "的", "“双减”", "课后 服务", "一、", "2024", "学生 -家长", "劳动 -劳动教育", "(心理 OR 健康) -教育"]


@pytest.fixture(scope="module")
def peers(sample_snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> tuple[Fts5Index, TantivyIndex]:
    where = tmp_path_factory.mktemp("peers")
    return Fts5Index(where / "fts5.sqlite3", sample_snapshot), TantivyIndex(where / "tantivy", sample_snapshot)


def _scattered(snapshot: Snapshot) -> str:
    """A 3-character needle whose two bigrams are both in some passage that lacks the needle:
    what an AND of bigrams (Tantivy's own n-grams) would wrongly find there."""
    for text in snapshot.normalized:
        pairs = {text[i:i + 2] for i in range(len(text) - 1) if text[i:i + 2].isalnum()}
        for ab in sorted(pairs):
            for bc in sorted(p for p in pairs if p[0] == ab[1]):
                if ab + bc[1] not in text:
                    return ab + bc[1]
    raise AssertionError("no scattered needle in the samples")


def _queries(snapshot: Snapshot) -> list[str]:
    return [q for queries in query_mix(snapshot).values() for q in queries] + EXTRA + [_scattered(snapshot)]


def test_every_peer_finds_exactly_the_oracles_passages(sample_snapshot: Snapshot, peers: tuple[Fts5Index, TantivyIndex]) -> None:
    fts, tantivy = peers
    nonempty = 0
    for q in _queries(sample_snapshot):
        node = parse(q)
        expected = set(sample_snapshot.passage_ids[np.flatnonzero(truth(sample_snapshot, node))].tolist())
        assert fts.ids(node) == expected, q
        assert tantivy.ids(node) == expected, q
        nonempty += bool(expected)
    assert nonempty >= 20  # the mix finds something on the samples: the comparison is not vacuous


def test_the_peers_answers_have_our_totals_plan_counts_and_page_shape(
    sample_snapshot: Snapshot, peers: tuple[Fts5Index, TantivyIndex]
) -> None:
    fts, tantivy = peers
    for q in _queries(sample_snapshot):
        ours = search(sample_snapshot, SearchRequest(q=q, size=10, per_group=3))
        for answer in (fts.search(q), tantivy.search(q)):
            assert (answer["total"], answer["documents"]) == (ours["total"], ours["documents"]), q
            assert len(answer["groups"]) == len(ours["groups"]), q
            assert all(1 <= len(g["passages"]) <= 3 for g in answer["groups"]), q
        hits = {g["plan"]: g["hits"] for g in tantivy.search(q)["groups"]}
        for group in ours["groups"]:
            plan = sample_snapshot.plan_by_id[group["document_id"]]
            assert hits.get(plan, group["hits"]) == group["hits"], q
