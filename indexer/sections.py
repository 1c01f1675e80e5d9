"""A plan's own numbering -> headings tree -> passages with section paths and offsets.

Numbering styles rank from outermost to innermost: 一、 > （一） > 1. / 1、 > （1） > ①.
A passage is a heading line with the body lines that follow it (long bodies are cut at
line ends); the title line is a passage of its own (rank 0). Every line of the cleaned text
belongs to exactly one passage and `text[start:end]` is the passage's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.cleaning import normalize

_CN = "一二三四五六七八九十百零〇两"
# (rank, pattern) on the normalised line; a pattern's group 1 is the number.
_NUMBERING: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^([{_CN}]+)\s*[、.]")),
    (1, re.compile(r"^第([一二三四五六七八九十\d]+)[部章篇][分]?\s*")),
    (2, re.compile(rf"^\(([{_CN}]+)\)")),
    (3, re.compile(r"^(\d{1,3})\s*[、.](?!\d)")),
    (4, re.compile(r"^\((\d{1,3})\)")),
    (4, re.compile(r"^(\d{1,3})\)")),
    (5, re.compile(r"^([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])")),
)
_LOST_NUMBER = re.compile(r"^[、.]\s*\S")  # "、深化课堂改革" — the numeral was lost in conversion
_SENTENCE_END = re.compile(r"[。！？；!?;]")
_TITLE_CUT = re.compile(r"[。！？；：!?;:]")
MAX_PASSAGE_CHARS = 1200
TITLE_RANK = 0
MAX_TITLE_CHARS = 60
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


@dataclass(frozen=True)
class Heading:
    """One numbered (or chapter-like) line: its rank and the title shown in section paths."""

    rank: int
    title: str


@dataclass(frozen=True)
class Passage:
    """A searchable unit: `text == plan_text[start:end]`; `section` is outermost first."""

    ordinal: int
    start: int
    end: int
    text: str
    section: tuple[str, ...]
    heading_rank: int | None  # rank of the heading this passage starts with, if any


def split_passages(text: str, *, title: str | None = None) -> list[Passage]:
    """Cut a cleaned plan into passages along its numbering."""
    lines = _lines_with_offsets(text)
    headings = _detect_headings([line for _, _, line in lines])
    if lines and title and lines[0][2].strip() == title.strip():
        headings[0] = Heading(TITLE_RANK, _title(lines[0][2]))  # a passage of its own
    passages: list[Passage] = []
    stack: list[Heading] = []
    current: list[tuple[int, int]] = []  # (start, end) of lines in the open passage
    current_rank: int | None = None
    current_path: tuple[str, ...] = ()

    def close() -> None:
        if current:
            start, end = current[0][0], current[-1][1]
            passages.append(
                Passage(len(passages), start, end, text[start:end], current_path, current_rank)
            )
            current.clear()

    for (start, end, _line), heading in zip(lines, headings):
        if heading is not None and heading.rank == TITLE_RANK:
            close()
            current_rank, current_path = TITLE_RANK, (heading.title,)
        elif heading is not None:
            close()
            while stack and stack[-1].rank >= heading.rank:
                stack.pop()
            stack.append(heading)
            current_rank, current_path = heading.rank, tuple(h.title for h in stack)
        elif current and end - current[0][0] > MAX_PASSAGE_CHARS:
            close()
            current_rank = None
        current.append((start, end))
    close()
    return passages


def _lines_with_offsets(text: str) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def _detect_headings(lines: list[str]) -> list[Heading | None]:
    """Classify each line; repair numbering written in the wrong style or lost in conversion."""
    norm = [normalize(line).strip() for line in lines]
    found: list[tuple[int, str] | None] = [_numbering(line) for line in norm]
    _repair_arabic_chapters(found)
    headings: list[Heading | None] = []
    for i, line in enumerate(lines):
        hit = found[i]
        if hit is not None:
            headings.append(Heading(hit[0], _title(line)))
        elif _LOST_NUMBER.match(norm[i]) and len(line) <= MAX_TITLE_CHARS:
            headings.append(Heading(1, _title(line)))
        elif _is_unnumbered_chapter(norm, found, i):
            headings.append(Heading(1, _title(line)))
        else:
            headings.append(None)
    return headings


def _numbering(line: str) -> tuple[int, str] | None:
    for rank, pattern in _NUMBERING:
        match = pattern.match(line)
        if match:
            return rank, match.group(1)
    return None


def _repair_arabic_chapters(found: list[tuple[int, str] | None]) -> None:
    """`1、 …` whose items restart at `1.` before the next `二、` is the first chapter heading."""
    for i, hit in enumerate(found):
        if hit is None or hit[0] != 3 or hit[1] != "1":
            continue
        restarts = False
        for later in found[i + 1:]:
            if later is None:
                continue
            if later[0] == 3 and later[1] == "1":
                restarts = True
            elif later[0] == 1:
                if restarts and _cn_value(later[1]) == 2:
                    found[i] = (1, "一")
                break


def _cn_value(numeral: str) -> int | None:
    if len(numeral) == 1:
        return _CN_DIGITS.get(numeral, 10 if numeral == "十" else None)
    return None


def _is_unnumbered_chapter(norm: list[str], found: list[tuple[int, str] | None], i: int) -> bool:
    """A short line without sentence punctuation, followed by a numbered item, inside a numbered plan."""
    line = norm[i]
    if len(line) > 30 or _SENTENCE_END.search(line) or not any(found):
        return False
    nxt = found[i + 1] if i + 1 < len(found) else None
    return nxt is not None and nxt[0] >= 3


def _title(line: str) -> str:
    """The heading's own words: the line up to its first sentence end, at most 60 characters."""
    line = line.strip().lstrip("、. ")
    cut = _TITLE_CUT.search(line)
    title = line[: cut.start()] if cut and cut.start() >= 4 else line
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    return title
