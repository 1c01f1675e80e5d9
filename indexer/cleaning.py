"""Artefacts out and whitespace tidied for display; a length-preserving fold for matching.

The cleaned text is what users read, so it stays faithful to the source: only conversion
artefacts, portal chrome and redundant whitespace go. Matching runs on `normalize(text)`,
which has exactly the same length, so offsets found there mark the cleaned text directly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Word/Pandoc conversion artefacts that carry no text of the plan.
_ARTEFACTS = re.compile(r"\[(?:bookmark|anchor|image|img)\s*:[^\]\n]{0,200}\]", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # and lone surrogates (broken PDF text)
_SPACES = re.compile(r"\s+")

# Field lines of government web portals ("索引号: … 文号:", "发布日期:2024-03-15").
PORTAL_FIELDS = (
    "标题", "索引号", "文号", "发文日期", "成文日期", "发布日期", "发布时间", "发布机构",
    "信息来源", "来源", "主题分类", "公开方式", "公开范围", "浏览次数", "点击数", "作者",
)
_FIELD_NAME = "|".join(sorted(PORTAL_FIELDS, key=len, reverse=True))
_FIELD_LINE = re.compile(rf"^(?:{_FIELD_NAME})\s*[:：]")
_FIELD_SPLIT = re.compile(rf"({_FIELD_NAME})\s*[:：]\s*")
_BULLETS = "•·●▪■□◆◇>»|｜[]【】()（）:：/ \t"
_CHROME_WORDS = {
    "字号", "字体", "大中小", "字号大中小", "字体大中小", "打印", "打印本页", "关闭", "关闭窗口",
    "分享", "分享到", "收藏", "返回顶部", "返回", "扫一扫", "扫一扫在手机打开当前页",
}
_HEAD_LINES = 25


@dataclass(frozen=True)
class CleanText:
    """The display text (one paragraph a line) and the portal header fields removed from it."""

    text: str
    header: dict[str, str] = field(default_factory=dict)


def clean(raw: str) -> CleanText:
    """Remove artefacts, portal chrome and blank lines; keep every word of the plan."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = _ARTEFACTS.sub("", _CONTROL.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if line and not _is_chrome(line)]
    header, lines = _strip_portal_header(lines)
    return CleanText(text="\n".join(lines), header=header)


def _is_chrome(line: str) -> bool:
    core = line.strip(_BULLETS).replace(" ", "")
    return not core or core.strip(_BULLETS) in _CHROME_WORDS


def _strip_portal_header(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Take field lines out of the head of the text; a site name just above them goes too."""
    header: dict[str, str] = {}
    kept: list[str] = []
    head = lines[:_HEAD_LINES]
    field_rows = [i for i, line in enumerate(head) if _FIELD_LINE.match(line)]
    if not field_rows:
        return header, lines
    for i, line in enumerate(head):
        if i in field_rows:
            header.update(_parse_fields(line))
        elif i < field_rows[0] and field_rows[0] <= 2 and _looks_like_site_name(line):
            header.setdefault("站点", line)
        else:
            kept.append(line)
    return header, kept + lines[_HEAD_LINES:]


def _parse_fields(line: str) -> dict[str, str]:
    parts = _FIELD_SPLIT.split(line)
    # parts = ["", name1, value1, name2, value2, ...]
    return {
        name: value.strip()
        for name, value in zip(parts[1::2], parts[2::2])
        if value.strip()
    }


def _looks_like_site_name(line: str) -> bool:
    return len(line) <= 30 and not re.search(r"[，,。；;！？]", line)


class _FoldTable(dict[int, str]):
    """str.translate table computed lazily: NFKC and lower case, one character for one."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char.isspace():
            folded = " "
        else:
            nfkc = unicodedata.normalize("NFKC", char)
            folded = nfkc if len(nfkc) == 1 else char
            lower = folded.lower()
            folded = lower if len(lower) == 1 else folded
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def normalize(text: str) -> str:
    """Fold full-width forms, compatibility characters and case; same length as the input."""
    return text.translate(_FOLD)
