"""Periods as plans write them (2019学年, 2024—2025学年度第二学期, 2023年秋季, 十四五 …) and dates.

`find_period` tries the patterns in order on a short string (a title, a head of text) and
returns the first match: the period as written (spaces removed), start and end year, term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_Y = r"((?:19|20)\d{2})"
_DASH = r"\-－—–~～至到"
_WEEK = r"(?:\s*第\s*[\d一二三四五六七八九十]{1,3}\s*(?:[-—~至]\s*[\d一二三四五六七八九十]{1,3}\s*)?周)?"
_TERM = r"(?:\s*(?:第\s*([一二12])\s*学期|([上下])\s*学期|([春秋])(?:季)?\s*学期))?"
_FIVE_YEAR = "一二三四五六七八九"


@dataclass(frozen=True)
class Period:
    text: str  # as written, without spaces
    year: int
    year_end: int
    term: str  # 学年, 第一学期, 第二学期, 春季, 秋季, 上半年, 下半年, 全年, 多年


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("school_years", re.compile(rf"{_Y}\s*[{_DASH}]\s*{_Y}\s*学年度?{_TERM}{_WEEK}")),
    ("school_year", re.compile(rf"{_Y}\s*学年度?{_TERM}{_WEEK}")),
    ("five_year", re.compile(rf"[“\"]?十([{_FIVE_YEAR}])五[”\"]?")),
    ("years", re.compile(rf"{_Y}\s*年?\s*[{_DASH}]\s*{_Y}\s*年?")),
    ("season", re.compile(rf"{_Y}\s*年\s*(?:度\s*)?([春秋])\s*(?:季)?\s*(?:学期)?{_WEEK}")),
    ("half", re.compile(rf"{_Y}\s*年\s*(?:度\s*)?([上下])\s*半年")),
    ("year", re.compile(rf"{_Y}\s*年\s*(?:度)?")),
)
_TERM_ONLY = re.compile(rf"(第\s*[一二12]\s*学期|[上下]\s*学期|[春秋](?:季)?\s*学期){_WEEK}")
_SPACES = re.compile(r"\s+")


def find_period(source: str) -> Period | None:
    """The first period the patterns find in `source`, most specific pattern first."""
    for name, pattern in _PATTERNS:
        match = pattern.search(source)
        if match is None:
            continue
        text = _SPACES.sub("", match.group(0)).strip("“”\"")
        if name == "five_year":
            start = 1981 + 5 * (_FIVE_YEAR.index(match.group(1)) + 1 + 10 - 6)  # 六五 = 1981–1985
            return Period(text, start, start + 4, "多年")
        start = int(match.group(1))
        if name == "school_years":
            end = int(match.group(2))
            if not 0 < end - start <= 1:
                continue
            return Period(text, start, end, _school_term(match.groups()[2:5]))
        if name == "school_year":
            return Period(text, start, start + 1, _school_term(match.groups()[1:4]))
        if name == "years":
            end = int(match.group(2))
            if not 0 < end - start <= 10:
                continue
            return Period(text, start, end, "多年")
        if name == "season":
            return Period(text, start, start, "春季" if match.group(2) == "春" else "秋季")
        if name == "half":
            return Period(text, start, start, f"{match.group(2)}半年")
        return Period(text, start, start, "全年")
    return None


def term_only(source: str, date: str | None) -> Period | None:
    """A term without a year (第一学期工作计划, 秋学期), its year from the document's date."""
    match = _TERM_ONLY.search(source)
    if match is None or date is None:
        return None
    text = _SPACES.sub("", match.group(0))
    year, month = int(date[:4]), int(date[5:7])
    if text[0] in "春秋":
        return Period(text, year, year, "春季" if text[0] == "春" else "秋季")
    first = text[0] == "上" or (text[0] == "第" and text[1] in "一1")
    start = year if month >= 7 else year - 1  # a school year starts in September
    return Period(text, start, start + 1, "第一学期" if first else "第二学期")


def _school_term(groups: tuple[str | None, ...]) -> str:
    number, half, season = groups
    if number:
        return "第一学期" if number in ("一", "1") else "第二学期"
    if half:
        return "第一学期" if half == "上" else "第二学期"
    if season:
        return "第一学期" if season == "秋" else "第二学期"
    return "学年"


_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_CN_DATE = re.compile(r"([〇○零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_CN_DIGITS = str.maketrans("〇○零一二三四五六七八九", "000123456789")


_MONTH = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月")


def without_dates(source: str) -> str:
    """`source` with dates (and year-months) blanked out: a date is not a period."""
    return _MONTH.sub(" ", _CN_DATE.sub(" ", _DATE.sub(" ", source)))


def find_date(source: str) -> str | None:
    """The first valid date in `source` (2020.4.17, 2009年12月27日, 二〇二〇年四月十七日) as YYYY-MM-DD."""
    match = _DATE.search(source)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        chinese = _CN_DATE.search(source)
        if chinese is None:
            return None
        year = int(chinese.group(1).translate(_CN_DIGITS))
        month, day = _cn_number(chinese.group(2)), _cn_number(chinese.group(3))
    if not (1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _cn_number(text: str) -> int:
    """一 … 三十一 as an int."""
    if "十" not in text:
        return int(text.translate(_CN_DIGITS))
    tens, _, ones = text.partition("十")
    return (int(tens.translate(_CN_DIGITS)) if tens else 1) * 10 + (int(ones.translate(_CN_DIGITS)) if ones else 0)
