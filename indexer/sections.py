"""A plan's own numbering -> headings tree -> passages with section paths and offsets.

Numbering styles rank from outermost to innermost: 一、 > （一） > 1. / 1、 > （1） > ①.
A passage is a heading line with the body lines that follow it (long bodies are cut at
line ends, lines past MAX_LINE_CHARS at sentence ends); the title line is a passage of its own
(rank 0). A table (consecutive rows of tab-separated cells) is a passage of its own, rows as
lines, cut at row ends past MAX_PASSAGE_CHARS; its cells are never headings. 附件 / 附表 open a
top-level section. A table of contents belongs to no passage and no heading; every other line
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
    # "2.2020年…", "11.5-6月份…": a digit after the dot only when a year or a month follows
    (3, re.compile(r"^(\d{1,3})\s*(?:、|\.(?!\d)|\.(?=(?:19|20)\d\d(?:年|学年|[-—~至])|\d{1,2}(?:[-—~至]\d{1,2})?月))")),
    (4, re.compile(r"^\((\d{1,3})\)")),
    (4, re.compile(r"^(\d{1,3})\)")),
    (5, re.compile(r"^([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])")),
)
_LOST_NUMBER = re.compile(r"^[、.]\s*\S")  # "、深化课堂改革" — the numeral was lost in conversion
_SENTENCE_END = re.compile(r"[。！？；!?;]")
_TITLE_CUT = re.compile(r"[。！？；!?;]|(?<!\d)[：:]|[：:](?!\d)")  # not the colon of "9:20"
_APPENDIX = re.compile(r"^(?:附件|附表|附录)\s*[\d一二三四五六七八九十]*\s*(?:[:：、.]|$)")
_TOC_CAPTION = re.compile(r"^目\s*录$")
_TOC_LEADERS = ".．…·•-—_ \u3000\t"
_TOC_MIN_RUN = 3  # uncaptioned: this many leader lines in a row
MAX_PASSAGE_CHARS = 1200
MAX_LINE_CHARS = 2 * MAX_PASSAGE_CHARS
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
    plain = [line for _, _, line, _ in lines]
    toc = _toc_lines(plain)
    table = _table_rows(plain)
    headings = _detect_headings(plain)
    for i, (_, _, _, continued) in enumerate(lines):
        if continued or toc[i] or table[i]:
            headings[i] = None
    if lines and title and lines[0][2].strip() == title.strip() and not table[0]:
        headings[0] = Heading(TITLE_RANK, _title(lines[0][2]))  # a passage of its own
    passages: list[Passage] = []
    stack: list[Heading] = []
    current: list[tuple[int, int]] = []  # (start, end) of lines in the open passage
    current_rank: int | None = None
    current_path: tuple[str, ...] = ()
    in_table = False

    def close() -> None:
        if current:
            start, end = current[0][0], current[-1][1]
            passages.append(
                Passage(len(passages), start, end, text[start:end], current_path, current_rank)
            )
            current.clear()

    for i, ((start, end, _line, _continued), heading) in enumerate(zip(lines, headings)):
        if toc[i]:
            close()
            continue
        if table[i] != in_table:  # a table starts or ends: its rows are a passage of their own
            close()
            in_table = table[i]
            current_rank = None
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


def _lines_with_offsets(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, line, is_continuation): lines past MAX_LINE_CHARS cut at sentence ends."""
    out, pos = [], 0
    for line in text.split("\n"):
        if len(line) > MAX_LINE_CHARS:
            for k, (a, b) in enumerate(_sentence_pieces(line)):
                out.append((pos + a, pos + b, line[a:b], k > 0))
        elif line.strip():
            out.append((pos, pos + len(line), line, False))
        pos += len(line) + 1
    return out


def _sentence_pieces(line: str) -> list[tuple[int, int]]:
    """Spans of at most MAX_PASSAGE_CHARS covering `line`, cut after a sentence end when there is one."""
    ends = [m.end() for m in _SENTENCE_END.finditer(line)]
    pieces: list[tuple[int, int]] = []
    start, k = 0, 0
    while start < len(line):
        limit = start + MAX_PASSAGE_CHARS
        cut = None
        while k < len(ends) and ends[k] <= limit:
            if ends[k] > start:
                cut = ends[k]
            k += 1
        cut = len(line) if len(line) <= limit else (cut or limit)
        pieces.append((start, cut))
        start = cut
    return pieces


def _toc_lines(lines: list[str]) -> list[bool]:
    """A table of contents: "目录" and the leader lines after it, or a run of leader lines."""
    leader = [_is_toc_entry(line) for line in lines]
    toc = [False] * len(lines)
    i = 0
    while i < len(lines):
        if _TOC_CAPTION.match(lines[i].replace(" ", "").replace("\u3000", "")) and i + 1 < len(lines) and leader[i + 1]:
            toc[i] = True
            i += 1
            while i < len(lines) and leader[i]:
                toc[i] = True
                i += 1
            continue
        j = i
        while j < len(lines) and leader[j]:
            j += 1
        if j - i >= _TOC_MIN_RUN:
            toc[i:j] = [True] * (j - i)
        i = max(j, i + 1)
    return toc


def _is_toc_entry(line: str) -> bool:
    """"一、现实基础和发展形势………1", "第二章 目标   12": a title, a leader, a page number."""
    line = line.strip()
    if len(line) > 80:
        return False
    body = line.rstrip("0123456789")
    if body == line or len(line) - len(body) > 3:
        return False
    title = body.rstrip(_TOC_LEADERS)
    leader = body[len(title):]
    dotted = sum(ch in ".．…·•" for ch in leader) >= 2 or "…" in leader
    spaced = bool(leader.strip(".．…·•-—_"))  # cleaning leaves one space of a spaced leader
    table_row = "\t" in line  # cells ending in a count are a table, not a contents
    return len(title) >= 2 and (dotted or spaced) and not table_row and not _SENTENCE_END.search(title[-1:])


def _table_rows(lines: list[str]) -> list[bool]:
    """Rows of a table: two or more consecutive lines of two or more tab-separated cells."""
    cells = [line.count("\t") >= 1 and sum(1 for cell in line.split("\t") if cell.strip()) >= 2 for line in lines]
    rows = [False] * len(lines)
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and cells[j]:
            j += 1
        if j - i >= 2:
            rows[i:j] = [True] * (j - i)
        i = max(j, i + 1)
    return rows


def _detect_headings(lines: list[str]) -> list[Heading | None]:
    """Classify each line; repair numbering written in the wrong style or lost in conversion."""
    norm = [normalize(line).strip() for line in lines]
    found: list[tuple[int, str] | None] = [_numbering(line) for line in norm]
    _repair_arabic_chapters(found)
    numbered = any(hit is not None for hit in found)
    headings: list[Heading | None] = []
    for i, line in enumerate(lines):
        hit = found[i]
        if _APPENDIX.match(norm[i]) and len(line) <= MAX_TITLE_CHARS:
            headings.append(Heading(1, _title(line)))
        elif hit is not None:
            headings.append(Heading(hit[0], _title(line)))
        elif _LOST_NUMBER.match(norm[i]) and len(line) <= MAX_TITLE_CHARS:
            headings.append(Heading(1, _title(line)))
        elif numbered and _is_unnumbered_chapter(norm, found, i):
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
    # one backward pass: for each position, the next rank-1 numeral and whether a `1.` comes before it
    repaired: list[int] = []
    next_chapter: str | None = None
    restart_after = False
    for i in range(len(found) - 1, -1, -1):
        hit = found[i]
        if hit is None:
            continue
        if hit[0] == 1:
            next_chapter, restart_after = hit[1], False
        elif hit[0] == 3 and hit[1] == "1":
            if restart_after and next_chapter is not None and _cn_value(next_chapter) == 2:
                repaired.append(i)
            restart_after = True
    for i in repaired:
        found[i] = (1, "一")


def _cn_value(numeral: str) -> int | None:
    if len(numeral) == 1:
        return _CN_DIGITS.get(numeral, 10 if numeral == "十" else None)
    return None


def _is_unnumbered_chapter(norm: list[str], found: list[tuple[int, str] | None], i: int) -> bool:
    """A short line without sentence punctuation, followed by a numbered item (the caller knows the plan is numbered)."""
    line = norm[i]
    if len(line) > 30 or _SENTENCE_END.search(line):
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
