"""Tokenizers for the Whoosh fields: jieba words for ranking, character bigrams for matching.

This module's import path is part of every index: Whoosh pickles the schema, analyzers
included. Keep the class names and paths stable; change SCHEMA_VERSION when output changes.
Both tokenizers work on `normalize(text)`, the fold that queries use too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from whoosh.analysis import Token, Tokenizer

from indexer.cleaning import normalize
from indexer.settings import DATA_DIR

USER_DICT = DATA_DIR / "userdict.txt"
_lock = threading.Lock()
_segmenter: Any = None


def _jieba() -> Any:
    """The jieba tokenizer with the domain dictionary, loaded on first use (about a second)."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                segmenter = jieba.Tokenizer()
                if Path(USER_DICT).exists():
                    with open(USER_DICT, "rb") as handle:  # jieba leaves a path's file open
                        segmenter.load_userdict(handle)
                segmenter.initialize()
                _segmenter = segmenter
    return _segmenter


def dictionary_size() -> int:
    """How many words jieba's dictionary holds, domain words included (loads it)."""
    return sum(1 for count in _jieba().FREQ.values() if count)


def _is_word(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def segment(text: str) -> list[tuple[str, int, int]]:
    """jieba words of `normalize(text)` as (word, start, end); punctuation and spaces dropped."""
    return [
        (word, start, end)
        for word, start, end in _jieba().tokenize(normalize(text), HMM=True)
        if _is_word(word)
    ]


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
