"""Quantified commitments: the sentences of a theme's passages that state a number, a
frequency, a duration or a target (不少于1小时, 每周, 覆盖率100%, 全覆盖)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from app.anchors import passage_anchor
from app.derived import PerGeneration
from app.snapshot import Snapshot

_SENTENCE_END = re.compile(r"[。！？；!?;\n]")  # on the display text (the fold turns \n into a space)
_NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千半]+)"
_SPAN = rf"(?<![第\d.一二两三四五六七八九十百千])(?!(?:三八|五一|五四|六一|七一|八一|十一)节){_NUM}(?:\s*[-~—–至到]\s*{_NUM})?"
# Every alternative starts with a digit, a Chinese numeral, 每, 全 or 零: the lookahead in front
# skips other positions before the lookbehinds are tried there (4.5x the speed, same matches).
_STARTS = r"(?=[\d一二两三四五六七八九十百千半每全零])"
_QUANTIFIED = re.compile(_STARTS + "(?:" + "|".join((
    rf"{_SPAN}\s*(?:个?小时|分钟|课时|节课?|次|天|周|个月|个?学期)",  # 不少于1小时, 2-3小时, 两小时, 至少一次
    r"(?<![第\d.])\d+(?:\.\d+)?\s*(?:个|名|人次?|所|项|篇|本|场|门|类|元|万|岁)",  # 10个, 200名
    r"\d+(?:\.\d+)?\s*%|百分之[一二三四五六七八九十百]+",  # 覆盖率100%, 百分之百
    r"每(?:天|日|周|月|学期|学年|年|季度|节课?|课时|班|生|人)",  # 每天, 每周, 每学期
    r"全覆盖|零(?:事故|发生|容忍)",  # targets without a number
)) + ")")


def commitments(snapshot: Snapshot, indices: list[int], needles: Sequence[list[str]],
                stating: Iterable[int]) -> list[dict[str, Any]]:
    """Sentences of the passages with numbers, frequencies, durations or targets:
    [{"text", "passage_id", "anchor", "mentions_theme"}] in document order, duplicates dropped.
    `stating`: the positions k of the passages that have such sentences, in order;
    `needles[k]`: the theme's needles to look for in passage k (those it holds suffice)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for k in stating:
        i = indices[k]
        text, folded = snapshot.texts[i], snapshot.normalized[i]
        for start, end in quantified_of(snapshot, i):
            sentence, fold = text[start:end].strip(), folded[start:end]
            if sentence not in seen:
                seen.add(sentence)
                out.append({"text": sentence, "passage_id": int(snapshot.passage_ids[i]), "anchor": passage_anchor(snapshot, i),
                            "mentions_theme": any(n in fold for n in needles[k])})
    return out


_QUANTIFIED_BY_PASSAGE: PerGeneration[dict[int, list[tuple[int, int]]]] = PerGeneration(
    "quantified sentences by passage", lambda snapshot: {})


def quantified_of(snapshot: Snapshot, i: int) -> list[tuple[int, int]]:
    """(start, end) of the passage's sentences that state a quantity; remembered per snapshot
    (a property of the text, whatever the theme: later comparisons skip the regex)."""
    cache = _QUANTIFIED_BY_PASSAGE.of(snapshot)
    found = cache.get(i)
    if found is None:
        found = cache[i] = quantified_sentences(snapshot.texts[i], snapshot.normalized[i])
    return found


def quantified_sentences(text: str, folded: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of `text` (a sentence ends after 。！？；!?; or a line)
    that state a quantity: those in which `_QUANTIFIED` matches `folded` (the normalised text).

    One scan of the whole passage instead of one search per sentence: a match inside a
    sentence is one the sentence alone gives too (a sentence starts after an end mark, which no
    lookbehind of the pattern refuses). A match that runs on into the next sentence (its white
    space crosses a folded line break) is not one, and may hide one that starts inside it, so the
    sentences it touches are searched alone.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    hits: set[int] = set()
    touched: set[int] = set()
    for m in _QUANTIFIED.finditer(folded):
        k = bisect_right(ends, m.start())  # the sentence the match starts in
        if m.end() <= ends[k]:
            hits.add(k)
        else:
            touched.update(range(k, bisect_right(ends, m.end() - 1) + 1))
    for k in touched - hits:
        if _QUANTIFIED.search(folded[ends[k - 1] if k else 0 : ends[k]]):
            hits.add(k)
    spans = ((ends[k - 1] if k else 0, ends[k]) for k in sorted(hits))
    return [(start, end) for start, end in spans if text[start:end].strip()]


def is_quantified(sentence: str) -> bool:
    """Whether a (normalised) sentence states a number, frequency, duration or target."""
    return _QUANTIFIED.search(sentence) is not None
