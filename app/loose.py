"""Loose matching (`match=loose`): a needle matches where its characters occur in order once
punctuation and spaces are ignored on both sides, so `校内双减工作` finds 校内“双减”工作.

The snapshot's normalised texts are projected once, without punctuation and spaces, into one
string with an offset map back to the normalised text; a needle is found by `str.find` over
that string, occurrences crossing a passage boundary are dropped, and each occurrence maps back
to a span of the normalised (and so of the display) text for highlighting. Exact by this
definition: a passage matches when its projection contains the needle's projection.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.derived import PerGeneration
from app.highlighting import merge_spans
from app.snapshot import EMPTY_HITS, Hits, Snapshot

_LOCK = threading.Lock()
_CACHE_SIZE = 256


def ignored(char: str) -> bool:
    """Punctuation (Unicode P*), symbols' spaces (Z*) and whitespace: what loose matching skips."""
    return char.isspace() or unicodedata.category(char)[0] in "PZ"


def project(text: str) -> str:
    """`text` without the characters loose matching ignores."""
    return "".join(ch for ch in text if not ignored(ch))


@dataclass
class Projection:
    """The passages' normalised texts without ignored characters, and where each character came from."""

    text: str
    origin: np.ndarray  # int32: position in snapshot.normalized.text of each character of `text`
    bounds: np.ndarray  # int64: passage i is text[bounds[i]:bounds[i + 1]]
    starts: np.ndarray  # int64: where passage i starts in snapshot.normalized.text
    cache: OrderedDict[str, tuple[Hits, list[np.ndarray]]]

    @classmethod
    def build(cls, snapshot: Snapshot) -> Projection:
        full, starts = _joined(snapshot.normalized)
        codes = np.frombuffer(full.encode("utf-32-le"), dtype=np.uint32)
        skip = np.zeros(int(codes.max()) + 1 if len(codes) else 1, bool)  # per code point present
        for code in np.flatnonzero(np.bincount(codes)).tolist() if len(codes) else []:
            skip[code] = ignored(chr(code))
        drop = skip[codes]
        origin = np.flatnonzero(~drop).astype(np.int32)
        text = codes[origin].tobytes().decode("utf-32-le")
        bounds = np.searchsorted(origin, starts)
        return cls(text, origin, bounds.astype(np.int64), starts, OrderedDict())

    def find(self, needle: str) -> tuple[Hits, list[np.ndarray]]:
        """Passages containing the needle loosely (as Hits, `first` in normalised offsets), and per
        passage the projection offsets where it starts."""
        with _LOCK:
            if needle in self.cache:
                self.cache.move_to_end(needle)
                return self.cache[needle]
        found = self._find(project(needle))
        with _LOCK:
            self.cache[needle] = found
            while len(self.cache) > _CACHE_SIZE:
                self.cache.popitem(last=False)
        return found

    def _find(self, needle: str) -> tuple[Hits, list[np.ndarray]]:
        if not needle:
            return EMPTY_HITS, []
        starts = []
        at = self.text.find(needle)
        while at >= 0:
            starts.append(at)
            at = self.text.find(needle, at + 1)
        if not starts:
            return EMPTY_HITS, []
        begin = np.array(starts, np.int64)
        passage = np.searchsorted(self.bounds, begin, side="right") - 1
        inside = begin + len(needle) <= self.bounds[passage + 1]
        begin, passage = begin[inside], passage[inside]
        index, first_at, counts = np.unique(passage, return_index=True, return_counts=True)
        origin_starts = self.origin[begin[first_at]].astype(np.int64) if len(index) else np.zeros(0, np.int64)
        first = (origin_starts - self.starts[index]).astype(np.int32)
        per_passage = np.split(begin, first_at[1:]) if len(index) else []
        return Hits(index.astype(np.int32), counts.astype(np.int32), first), per_passage

    def spans(self, passage: int, needles: list[str]) -> list[tuple[int, int]]:
        """Every loose occurrence of the needles in one passage, as merged (start, end) offsets of
        its normalised text (the ignored characters inside a match are marked with it)."""
        base = int(self.starts[passage])
        spans = []
        for needle in needles:
            length = len(project(needle))
            hits, starts = self.find(needle)
            at = int(np.searchsorted(hits.index, passage))
            if at >= len(hits.index) or hits.index[at] != passage or not length:
                continue
            for start in starts[at].tolist():
                spans.append((int(self.origin[start]) - base, int(self.origin[start + length - 1]) + 1 - base))
        return merge_spans(spans)


PROJECTION = PerGeneration("the loose projection", lambda snapshot: Projection.build(snapshot))


def projection(snapshot: Snapshot) -> Projection:
    """The snapshot's projection, built on first use and kept with the generation."""
    return PROJECTION.of(snapshot)


def _joined(normalized: Any) -> tuple[str, np.ndarray]:
    """All passages' normalised texts as one string and where each starts: the embedded
    snapshot keeps them joined already (TextCut); a list (the postgres backend) is joined here."""
    if hasattr(normalized, "text") and hasattr(normalized, "bounds"):
        return normalized.text, np.asarray(normalized.bounds, np.int64)
    texts = list(normalized)
    starts = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=starts[1:])
    return "".join(texts), starts
