"""Tokenizers for the Whoosh fields: jieba words for ranking, character bigrams for matching.

This module's import path is part of every index: Whoosh pickles the schema, analyzers
included. Keep the class names and paths stable; change SCHEMA_VERSION when output changes.
Both tokenizers work on `normalize(text)`, the fold that queries use too.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from whoosh.analysis import Token, Tokenizer

from indexer.cleaning import normalize
from indexer.settings import DATA_DIR

USER_DICT = DATA_DIR / "userdict.txt"
_lock = threading.Lock()
_segmenter: Any = None
_HAN = re.compile("[\u4E00-\u9FD5]")
_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")  # jieba's finalseg: how it splits unknown non-Chinese runs


def _jieba() -> Any:
    """jieba's segmenter with the domain dictionary, loaded on first use (about 0.1 s).

    rjieba, the binding of jieba-rs: jieba's algorithm and dictionary in Rust, about 12x
    faster than the Python package (which stays the reference: tests/indexer/test_analysis.py
    checks that `segment` gives exactly what `jieba.Tokenizer().tokenize(..., HMM=True)` gives).
    """
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import rjieba

                segmenter = rjieba.Jieba()
                for word, freq, tag in user_words():
                    segmenter.add_word(word, freq, tag)
                _segmenter = segmenter
    return _segmenter


def user_words() -> list[tuple[str, int | None, str | None]]:
    """The domain dictionary (`data/userdict.txt`, jieba's format: word [freq] [tag] a line)."""
    found: list[tuple[str, int | None, str | None]] = []
    if not Path(USER_DICT).exists():
        return found
    for line in Path(USER_DICT).read_text(encoding="utf-8-sig").splitlines():
        parts = line.split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        found.append((parts[0], freq, tag))
    return found


def dictionary_size() -> int:
    """How many domain words the loaded segmenter was given (loads it)."""
    _jieba()
    return len(user_words())


def _is_word(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def segment(text: str) -> list[tuple[str, int, int]]:
    """jieba words of `normalize(text)` as (word, start, end); punctuation and spaces dropped.

    jieba-rs keeps an unknown run like `2020-2022` or `d.d` whole where jieba splits it into
    its alphanumeric parts (`2020`, `-`, `2022`): such runs are split the way jieba does.
    """
    return segment_normalized(normalize(text))


def segment_normalized(normalized: str) -> list[tuple[str, int, int]]:
    """`segment` of a text already normalised."""
    segmenter = _jieba()
    found: list[tuple[str, int, int]] = []
    keep, han = found.append, _HAN.match
    for token in segmenter.tokenize(normalized, "default", True):
        word, start, end = token
        if word.isalnum() and (word.isascii() or han(word)):  # most words: kept as they are
            keep(token)
        elif end - start > 1 and not _SKIP.fullmatch(word) and not _HAN.search(word) and not segmenter.has_word(word):
            at = start
            for piece in _SKIP.split(word):
                if piece and _is_word(piece):
                    keep((piece, at, at + len(piece)))
                at += len(piece)
        elif _is_word(word):
            keep(token)
    return found


MAX_PLAN_WORDS = 20_000  # distinct words one plan gives the `words` field (a 6,000-character plan has ~1,000)


def cap_plan_words(plan_ids: Sequence[int], found: list[list[tuple[str, int, int]]]) -> list[list[tuple[str, int, int]]]:
    """`found` (each passage's words; a plan's passages consecutive in `plan_ids`) with at most
    MAX_PLAN_WORDS distinct words per plan: past that, only the plan's most frequent ones (ties:
    the first seen). Exact search reads characters, never words, so it is unaffected; what
    the cap bounds is the index's work and memory for a plan of random or numbered tokens."""
    out, start = list(found), 0
    while start < len(found):
        end = start
        while end < len(found) and plan_ids[end] == plan_ids[start]:
            end += 1
        if sum(map(len, found[start:end])) <= MAX_PLAN_WORDS:  # fewer words than the cap: nothing to count
            start = end
            continue
        counts = Counter(word for passage in found[start:end] for word, _, _ in passage)
        if len(counts) > MAX_PLAN_WORDS:
            kept = {word for word, _ in counts.most_common(MAX_PLAN_WORDS)}
            for k in range(start, end):
                out[k] = [token for token in found[k] if token[0] in kept]
        start = end
    return out


def words(text: str) -> list[str]:
    """Just the words, for statistics (distinctive terms)."""
    return [word for word, _, _ in segment(text)]


def bigrams(normalized: str) -> set[str]:
    """Every pair of adjacent characters without a space: a needle's pairs are a subset of its passage's."""
    return {
        normalized[i : i + 2]
        for i in range(len(normalized) - 1)
        if normalized[i] != " " and normalized[i + 1] != " "
    }


class Segmented(str):
    """Text whose jieba words were computed elsewhere (in a worker process): `value.words`."""

    words: list[tuple[str, int, int]]

    def __new__(cls, text: str, words: list[tuple[str, int, int]]) -> Segmented:
        obj = super().__new__(cls, text)
        obj.words = words
        return obj


class WordTokenizer(Tokenizer):  # type: ignore[misc]
    """jieba words, positions counted in words (not characters), one-letter tokens kept."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        found = value.words if isinstance(value, Segmented) else segment(value)
        for pos, (word, start, end) in enumerate(found, start_pos):
            token.text = token.original = word
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class BigramTokenizer(Tokenizer):  # type: ignore[misc]
    """The distinct character bigrams of the normalised text (no positions: a candidate filter).

    Schema 2's `grams` field; schema 3 keeps bigram postings outside Whoosh. Kept at this
    import path so a version-2 index still unpickles and is refused by its version number.
    """

    def __call__(self, value: str, positions: bool = False, chars: bool = False, **kwargs: Any) -> Iterator[Token]:
        token = Token(positions, chars, **kwargs)
        for pair in sorted(bigrams(normalize(value))):
            token.text = token.original = pair
            token.boost = 1.0
            token.stopped = False
            yield token
