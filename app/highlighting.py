"""Literal matches -> HTML-escaped text with one <mark> per match and no other markup.

Matches are found on the normalised text and applied to the display text at the same
offsets (the fold keeps lengths), so `１＋Ｘ` in a plan is marked for the query `1+x`.
Overlapping matches of different needles merge into one mark; a phrase is one mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from html import escape

from indexer.cleaning import normalize

_SPECIAL = re.compile(r"[&<>\"']")  # what html.escape rewrites


def match_spans(normalized: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Every occurrence of every needle as (start, end), overlapping ones merged, in order."""
    spans: list[tuple[int, int]] = []
    for needle in needles:
        if not needle:
            continue
        start = normalized.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = normalized.find(needle, start + 1)
    return merge_spans(spans)


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) spans sorted, overlapping ones merged into one."""
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=4096)
def has_border(needle: str) -> bool:
    """Whether two occurrences of `needle` can overlap (`好好` in `好好好`)."""
    return any(needle[:k] == needle[-k:] for k in range(1, len(needle)))


@lru_cache(maxsize=4096)
def _replaceable(needle: str) -> bool:
    """Whether str.replace on the display text marks exactly the needle's matches: its
    occurrences cannot overlap, and it is its own fold, so each occurrence in the display text
    is one in the normalised text at the same offset (equal counts then mean the same ones)."""
    return bool(needle) and not has_border(needle) and normalize(needle) == needle


def highlight(text: str, normalized: str, needles: Sequence[str],
              spans: list[tuple[int, int]] | None = None) -> str:
    """`text` escaped for HTML, each match wrapped in <mark>…</mark>; `spans`: match_spans()
    of the needles, when the caller has them already."""
    special = _SPECIAL.search(text) is not None  # most passages have nothing to escape
    if spans is None:
        if len(needles) == 1 and _replaceable(needle := needles[0]) and not special \
                and text.count(needle) == normalized.count(needle):
            return text.replace(needle, "<mark>" + needle + "</mark>")  # the common case, at C speed
        spans = match_spans(normalized, needles)
    quote = escape if special else _same
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(quote(text[position:start]))
        out.append("<mark>" + quote(text[start:end]) + "</mark>")
        position = end
    out.append(quote(text[position:]))
    return "".join(out)


def _same(text: str) -> str:
    return text
