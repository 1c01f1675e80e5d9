"""Distinctive terms: the words and two-word phrases (adjacent jieba words) of a plan's theme
passages that set them apart from the whole corpus, generic planning words held back.

Statistic: the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn
2008), z-scored, of each term's count in the foreground (the plan's passages matching the theme,
or all its passages without one) against the rest of the corpus, the prior proportional to the
term's corpus frequency (PRIOR pseudo-counts in all). Word frequencies in the corpus are read
from Whoosh's `words` field (collection frequency and field length); phrases come from the
serving state's word sequences, since the `words` field keeps no positions. A term needs
MIN_COUNT occurrences in the foreground; a phrase is two content words, or a content word and
a non-stopword of two or more characters (app/views/vocabulary.py).

Shape (the JSON of /api/documents/{id}/terms):
    {"document": plan summary, "theme": name | None, "method", "foreground": {"passages", "words"},
     "terms": [{"term", "kind": "word"|"phrase", "count", "corpus", "z"}]}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.documents import DocumentNotFound
from app.query import Node
from app.search import evaluate, plan_summary
from app.snapshot import Snapshot
from app.views.vocabulary import content_flags, held_back
from indexer import store

PRIOR = 500.0
MIN_COUNT = 2
TOP = 30
CHUNK = 1 << 20  # word pairs counted at a time over the corpus, so memory stays flat
METHOD = ("对数几率比（Monroe 等 2008，信息先验），z 分数：本计划（主题段落）对全语料其余部分；"
          "词频来自 Whoosh 的 words 字段，短语为相邻的两个 jieba 词；停用词和通用计划用语（data/generic_words.txt）不列出。")


def _phrase_flags(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Per word id: can head a phrase as a content word; can be the other part of one."""
    content = content_flags(snapshot)
    held = held_back()
    other = np.fromiter((len(w) > 1 and w not in held for w in snapshot.vocabulary), bool, count=len(snapshot.vocabulary))
    return content, other | content


def _pairs(ids: np.ndarray, owners: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """Adjacent word pairs inside one passage, encoded as first * V + second."""
    same = owners[1:] == owners[:-1]
    return (ids[:-1].astype(np.int64) * vocabulary_size + ids[1:])[same]


def _corpus_pair_counts(snapshot: Snapshot, codes: np.ndarray) -> np.ndarray:
    """How often each pair code occurs in the whole corpus (inside passages)."""
    counts = np.zeros(len(codes), np.int64)
    if not len(codes):
        return counts
    ids, offsets, size = np.asarray(snapshot.word_ids), np.asarray(snapshot.word_offsets), len(snapshot.vocabulary)
    boundaries = np.zeros(len(ids) + 1, bool)
    boundaries[offsets] = True  # a pair may not start at a passage's last word
    for start in range(0, max(len(ids) - 1, 0), CHUNK):
        stop = min(start + CHUNK + 1, len(ids))
        chunk = ids[start:stop].astype(np.int64)
        pairs = (chunk[:-1] * size + chunk[1:])[~boundaries[start + 1:stop]]
        at = np.searchsorted(codes, pairs)
        at[at == len(codes)] = 0
        hit = codes[at] == pairs
        counts += np.bincount(at[hit], minlength=len(codes))
    return counts


def _z(count: np.ndarray, rest: np.ndarray, prior: np.ndarray, n_fore: float, n_rest: float) -> np.ndarray:
    a0 = PRIOR
    fore = np.log((count + prior) / (n_fore + a0 - count - prior))
    back = np.log((rest + prior) / (n_rest + a0 - rest - prior))
    return (fore - back) / np.sqrt(1 / (count + prior) + 1 / (rest + prior))


def distinctive_terms(snapshot: Snapshot, document_id: int, theme: Node | None = None, *,
                      theme_name: str | None = None, top: int = TOP) -> dict[str, Any]:
    """The `top` terms by z, words and phrases together."""
    plan = snapshot.plan_by_id.get(document_id)
    if plan is None:
        raise DocumentNotFound(document_id)
    span = snapshot.plan_range(plan)
    passages = np.arange(span.start, span.stop)
    if theme is not None:
        passages = passages[evaluate(snapshot, theme)[passages]]
    out: dict[str, Any] = {"document": plan_summary(snapshot.plans[plan]), "theme": theme_name, "method": METHOD,
                           "foreground": {"passages": int(len(passages)), "words": 0}, "terms": []}
    if not len(passages):
        return out
    ids, owners = snapshot.word_ids_of(passages)
    ids = np.asarray(ids, np.int64)
    out["foreground"]["words"] = int(len(ids))
    vocabulary, size = snapshot.vocabulary, len(snapshot.vocabulary)
    heads, others = _phrase_flags(snapshot)
    words, word_counts = np.unique(ids[heads[ids]], return_counts=True)
    keep = word_counts >= MIN_COUNT
    words, word_counts = words[keep], word_counts[keep]
    pairs = _pairs(ids, owners, size)
    first, second = pairs // size, pairs % size
    fit = (heads[first] & others[second]) | (others[first] & heads[second])
    codes, pair_counts = np.unique(pairs[fit], return_counts=True)
    keep = pair_counts >= MIN_COUNT
    codes, pair_counts = codes[keep], pair_counts[keep]

    ix = store.open_index(snapshot.directory)
    with ix.searcher() as searcher:  # one searcher per call: Whoosh searchers are not thread-safe
        reader = searcher.reader()
        corpus_words = np.array([reader.frequency("words", vocabulary[w]) for w in words.tolist()], np.float64)
        total_words = float(reader.field_length("words")) or 1.0
    corpus_words = np.maximum(corpus_words, word_counts)  # a Whoosh generation older than the snapshot
    corpus_pairs = np.maximum(_corpus_pair_counts(snapshot, codes), pair_counts).astype(np.float64)
    n_fore = float(len(ids))
    terms = []
    for kind, count, corpus, labels in (
        ("word", word_counts, corpus_words, [vocabulary[w] for w in words.tolist()]),
        ("phrase", pair_counts, corpus_pairs, [vocabulary[c // size] + vocabulary[c % size] for c in codes.tolist()]),
    ):
        if not len(count):
            continue
        prior = np.maximum(PRIOR * corpus / total_words, 1e-3)
        z = _z(count.astype(np.float64), corpus - count, prior, n_fore, max(total_words - n_fore, 1.0))
        terms += [{"term": t, "kind": kind, "count": int(c), "corpus": int(b), "z": round(float(s), 3)}
                  for t, c, b, s in zip(labels, count.tolist(), corpus.tolist(), z.tolist()) if math.isfinite(s)]
    # a word that occurs here only inside one phrase says less than the phrase: left out
    phrases = [(t["term"], t["count"]) for t in terms if t["kind"] == "phrase"]
    terms = [t for t in terms if t["kind"] == "phrase" or not any(t["term"] in p and t["count"] <= c for p, c in phrases)]
    terms.sort(key=lambda t: (-t["z"], t["term"]))
    out["terms"] = terms[:top]
    return out
