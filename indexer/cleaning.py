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
_CELL_GAP = re.compile(r"[ \u3000]{2,}")  # in a text table, cells are apart by runs of spaces
_TABS = re.compile(r"\t+")

# Property lines of web portals ("索引号: … 文号:", "发布时间:2024-03-15 作者:办公室 点击数:12",
# a 政府信息公开 table row "索引号<tab>…<tab>发文日期<tab>…"): read into CleanText.header.
PORTAL_FIELDS = (
    "标题", "索引号", "文号", "发文字号", "字号", "发文日期", "成文日期", "发布日期", "发布时间", "更新时间",
    "发布机构", "发文机关", "信息来源", "文章来源", "来源", "主题分类", "公开方式", "公开范围", "公开时限",
    "有效性", "浏览次数", "浏览量", "阅读次数", "阅读量", "点击数", "点击量", "点击率", "访问量", "作者",
    "文章作者", "发布人", "责任编辑", "编辑", "审核",
)
_FIELD_NAME = "|".join(sorted(PORTAL_FIELDS, key=len, reverse=True))
_FIELD_LINE = re.compile(rf"^(?:{_FIELD_NAME})[ \u3000]*(?:[:：]|\t)")
_FIELD_SPLIT = re.compile(rf"(?:^|(?<=[\s|｜丨/【\[]))({_FIELD_NAME})[ \u3000]*(?:[:：]|\t)[ \t\u3000]*")
_VALUE_TRIM = " \t\u3000|｜丨/【】[]"
# 公众号 articles: "原创 作者 某某学校 2024-03-01 08:00 发表于浙江" under the title
_WECHAT_BYLINE = re.compile(
    r"^(?:原创\s+)?(?P<who>[^\s\d][^\n]{0,40}?)\s+(?P<date>\d{4}[-年.]\d{1,2}[-月.]\d{1,2}日?)"
    r"(?:\s+\d{1,2}:\d{2})?(?:\s*发表于\s*\S{1,10})?$"
)
_BULLETS = "•·●▪■□◆◇>»|｜[]【】()（）:：/ \t"
# bracketed tool-bar items, removed wherever they sit on a line
_INLINE_CHROME = re.compile(
    r"[【\[]\s*(?:打印(?:正文|本页|此页)?|关闭(?:窗口|本页)?|返回顶部|收藏(?:本页)?|加入收藏|"
    r"字[体号]\s*[:：]?\s*(?:[【\[]?\s*[大中小]\s*[】\]]?\s*){3}|我要纠错|推荐给朋友)\s*[】\]]"
    r"|字[体号]\s*[:：]\s*(?:[【\[]?\s*[大中小]\s*[】\]]?\s*){3}"
)
# whole lines that only link to another page: 上一篇：《…》, 下一篇：…, 分享到：微信 微博
_LINK_LINE = re.compile(r"^[【\[]?\s*(?:上一篇|下一篇|上一条|下一条|上一页|下一页|分享到)\s*[】\]]?\s*[:：]?")
_RELATED_CAPTION = re.compile(r"^[【\[]?(?:相关文章|相关阅读|推荐阅读|相关链接|相关新闻|热门文章|猜你喜欢|喜欢此内容的人还喜欢)[】\]]?[:：]?$")
_CHROME_WORDS = {
    "字号", "字体", "大中小", "字号大中小", "字体大中小", "打印", "打印本页", "打印正文", "关闭", "关闭窗口",
    "分享", "分享到", "收藏", "返回顶部", "返回", "扫一扫", "扫一扫在手机打开当前页", "没有了",
    # saved 公众号 pages
    "阅读原文", "轻触阅读原文", "预览时标签不可点", "微信扫一扫", "关注该公众号", "微信扫一扫关注该公众号",
    "在看", "点赞", "赞", "写留言", "留言", "继续滑动看下一个", "向上滑动看下一个", "知道了", "微信扫一扫可打开此内容，使用完整服务",
}
_PLAN_TITLE = re.compile(r"计划|方案|要点|规划|安排|行事历|思路|总结|意见|通知")  # a title, not a site name
_HEAD_LINES = 25
_TAIL_LINES = 12
_RELATED_ITEM_CHARS = 60


@dataclass(frozen=True)
class CleanText:
    """The display text (one paragraph a line) and the portal header fields removed from it."""

    text: str
    header: dict[str, str] = field(default_factory=dict)


def clean(raw: str) -> CleanText:
    """Remove artefacts, portal chrome and blank lines; keep every word of the plan."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = _ARTEFACTS.sub("", _CONTROL.sub("", text))
    lines = [_tidy(_INLINE_CHROME.sub(" ", line)) for line in text.split("\n")]
    lines = [line for line in lines if line and not _is_chrome(line)]
    lines = _drop_related_lists(lines)
    header, lines = _strip_portal_header(lines)
    return CleanText(text="\n".join(lines), header=header)


def _tidy(line: str) -> str:
    """Whitespace runs as one space; table cells (tabs, or 2+ gaps of 2+ spaces) apart by one tab."""
    line = line.strip()
    if "\t" not in line and len(_CELL_GAP.findall(line)) >= 2:
        line = _CELL_GAP.sub("\t", line)
    cells = [_SPACES.sub(" ", cell).strip() for cell in line.split("\t")]
    return _TABS.sub("\t", "\t".join(cells)).strip()


def _is_chrome(line: str) -> bool:
    """A tool-bar line: only chrome words ("在看 写留言"), or a link to another page."""
    core = line.strip(_BULLETS).replace(" ", "")
    if not core or core.strip(_BULLETS) in _CHROME_WORDS or _LINK_LINE.match(line):
        return True
    return all(word.strip(_BULLETS) in _CHROME_WORDS for word in line.split())


def _drop_related_lists(lines: list[str]) -> list[str]:
    """A 相关文章 caption goes; in the last third of the page, so do the short link lines after it."""
    kept: list[str] = []
    skipping = False
    for i, line in enumerate(lines):
        if _RELATED_CAPTION.match(line.replace(" ", "")):
            skipping = i * 3 >= len(lines) * 2
            continue
        if skipping and len(line) <= _RELATED_ITEM_CHARS and "。" not in line:
            continue
        skipping = False
        kept.append(line)
    return kept


def _strip_portal_header(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Take property lines out of the head and the tail of the text; a site name just above them goes too."""
    header: dict[str, str] = {}
    head_end = min(_HEAD_LINES, len(lines))
    tail_start = max(head_end, len(lines) - _TAIL_LINES)
    zone = list(range(head_end)) + list(range(tail_start, len(lines)))
    field_rows = {i for i in zone if _FIELD_LINE.match(lines[i])}
    byline = next((i for i in range(1, min(4, len(lines))) if _WECHAT_BYLINE.match(lines[i])), None)
    if byline is not None and (lines[byline].startswith("原创") or "发表于" in lines[byline]):
        match = _WECHAT_BYLINE.match(lines[byline])
        assert match is not None
        header["作者"] = match["who"].strip()
        header["发布时间"] = match["date"]
        field_rows.add(byline)
    if not field_rows:
        return header, lines
    first = min(field_rows)
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i in field_rows:
            for name, value in _parse_fields(line).items():
                header.setdefault(name, value)
        elif i < first and first <= 2 and _looks_like_site_name(line):
            header.setdefault("站点", line)
        else:
            kept.append(line)
    return header, kept


def _parse_fields(line: str) -> dict[str, str]:
    parts = _FIELD_SPLIT.split(line)
    # parts = [before, name1, value1, name2, value2, ...]
    fields = {name: value.strip(_VALUE_TRIM) for name, value in zip(parts[1::2], parts[2::2])}
    return {name: value for name, value in fields.items() if value}


def _looks_like_site_name(line: str) -> bool:
    return len(line) <= 30 and not re.search(r"[，,。；;！？]", line) and not _PLAN_TITLE.search(line)


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
