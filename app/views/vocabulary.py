"""Which jieba words can be a term worth showing: not a stopword, not a generic planning word
(data/generic_words.txt: 加强, 推进, 落实 …), not a number, more than one character."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from app.derived import PerGeneration
from app.snapshot import Snapshot
from indexer.settings import DATA_DIR

_NUMERIC = re.compile(r"\d|^[第一二三四五六七八九十百千万亿两零〇几半]+(?:至|是|年级?|次|个|天|周|月|小时|学期|节|项|名)?$")
_HAS_HAN = re.compile(r"[\u4e00-\u9fff]")


def _word_list(name: str) -> frozenset[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def held_back() -> frozenset[str]:
    """Stopwords and generic planning words: never shown as a distinctive or shared term."""
    return _word_list("stopwords.txt") | _word_list("generic_words.txt")


def is_content_word(word: str) -> bool:
    return len(word) > 1 and _HAS_HAN.search(word) is not None and word not in held_back() \
        and _NUMERIC.search(word) is None


_CONTENT_FLAGS = PerGeneration("content-word flags", lambda snapshot: np.fromiter(
    (is_content_word(w) for w in snapshot.vocabulary), bool, count=len(snapshot.vocabulary)))


def content_flags(snapshot: Snapshot) -> np.ndarray:
    """Per vocabulary id, whether the word is a content word; computed once per generation."""
    return _CONTENT_FLAGS.of(snapshot)


def plan_word_counts(snapshot: Snapshot, plan: int) -> dict[int, int]:
    """Content word id -> count over the plan's passages."""
    passages = np.arange(snapshot.plan_range(plan).start, snapshot.plan_range(plan).stop)
    if not len(passages):
        return {}
    ids, _ = snapshot.word_ids_of(passages)
    ids = ids[content_flags(snapshot)[ids]]
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))
