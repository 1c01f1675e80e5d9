"""Portal pages through the real HTML reader and cleaner: the plan whole, the chrome gone, the
property line read into the header and the metadata."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest

from indexer.cleaning import clean
from indexer.metadata import extract_metadata
from indexer.reading import read_bytes
from tests.portal_pages import PLAN, PUBLISHED, TEMPLATE_CHROME, TEMPLATES

PLAN_TEXT = "\n".join(PLAN)


def _cleaned(template: str) -> str:
    return clean(read_bytes(TEMPLATES[template]().encode("utf-8"), name=f"{template}.html").text).text


def _lost_and_leaked(expected: str, got: str) -> tuple[int, int]:
    """(plan characters missing from `got`, characters of `got` that are not the plan)."""
    matched = sum(block.size for block in SequenceMatcher(None, expected, got, autojunk=False).get_matching_blocks())
    return len(expected) - matched, len(got) - matched


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_no_plan_character_is_lost_and_no_chrome_leaks(template: str) -> None:
    lost, leaked = _lost_and_leaked(PLAN_TEXT, _cleaned(template))
    assert (lost, leaked) == (0, 0)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_each_chrome_string_is_gone(template: str) -> None:
    text = _cleaned(template)
    foreign = [chrome for chrome in TEMPLATE_CHROME[template] if chrome not in PLAN_TEXT]
    assert [chrome for chrome in foreign if chrome in text] == []


@pytest.mark.parametrize(
    ("template", "fields", "issuer"),
    [
        ("gov", {"索引号": "11330000MB1234567X/2024-00123", "发文日期": "2024-09-02", "发布机构": "青禾县教育局",
                 "文号": "青教〔2024〕12号", "主题分类": "教育"}, "青禾县教育局"),
        ("cms", {"文章来源": "教务处", "作者": "王老师", "发布时间": "2024-09-02 10:20:31", "点击数": "1268"}, "教务处"),
        ("wechat", {"作者": "教务处 青禾实验小学", "发布时间": "2024-09-02"}, None),
    ],
)
def test_property_line_becomes_header_published_and_issuer(template: str, fields: dict[str, str], issuer: str | None) -> None:
    cleaned = clean(read_bytes(TEMPLATES[template]().encode("utf-8"), name=f"{template}.html").text)
    assert cleaned.header == fields
    meta = extract_metadata(cleaned)
    assert (meta.published, meta.issuer, meta.title) == (PUBLISHED, issuer, PLAN[0])


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        # one line or several, colons of either width, bars, spaces, the font bar between fields
        (["某校2024年工作计划", "发布日期：2024-03-01 | 浏览次数：12 |【字体：大 中 小】", "一、目标"], ["某校2024年工作计划", "一、目标"]),
        (["某校2024年工作计划", "作者:张三", "发布时间 : 2024年3月1日", "点击数：5", "一、目标"], ["某校2024年工作计划", "一、目标"]),
        # a pager wherever it sits, a line of tool-bar items, and the plan line next to it kept
        (["一、目标", "上一篇：某校安全工作方案 下一篇：无", "【打印正文】【关闭窗口】", "二、措施"], ["一、目标", "二、措施"]),
        (["一、目标", "下一篇：另一所学校的2023年工作计划"], ["一、目标"]),
        (["一、目标加强管理【打印本页】"], ["一、目标加强管理"]),
        # the plan's own words that look like chrome stay: a part called 上篇, a dated line under the title
        (["某区教育发展规划", "上篇：总体规划", "青禾县教育局 2024-03-01", "一、目标"],
         ["某区教育发展规划", "上篇：总体规划", "青禾县教育局 2024-03-01", "一、目标"]),
    ],
)
def test_chrome_lines(lines: list[str], kept: list[str]) -> None:
    assert clean("\n".join(lines)).text.split("\n") == kept


def test_plan_lines_that_mention_a_field_name_stay() -> None:
    """Only a field name at a line start followed by a colon or a cell break is a property."""
    text = "某校工作计划\n一、目标\n做好来源于一线的作者研究：每月一次。\n" + "正文。\n" * 30 + "学校作者协会成立。"
    assert clean(text).text == text
