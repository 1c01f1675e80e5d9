"""Metadata from the plans' own text: the sample table, then shapes the samples don't have."""

from __future__ import annotations

import pytest

from indexer.cleaning import clean
from indexer.metadata import BUREAU_LEVEL, extract_metadata
from tests.conftest import SAMPLES

# file prefix, school contains, region contains, level, period, year, kind
SAMPLE_TABLE = [
    ("000", "海王路小学教育集团", "青岛", "小学", "2024年", 2024, "school"),
    ("001", "临淄区金茵小学", "临淄区", "小学", "2024年", 2024, "school"),
    ("002", "淄博高新区第一小学", "淄博", "小学", "2025-2026学年", 2025, "school"),
    ("003", "小教科", "怀柔区", BUREAU_LEVEL, "2022年", 2022, "bureau"),
    ("004", "常州市焦溪小学", "常州", "小学", "2022年春学期", 2022, "school"),
]


def _sample(prefix: str) -> str:
    return next(SAMPLES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


@pytest.mark.parametrize(("prefix", "school", "region", "level", "period", "year", "kind"), SAMPLE_TABLE)
def test_sample_metadata(prefix: str, school: str, region: str, level: str, period: str, year: int, kind: str) -> None:
    meta = extract_metadata(clean(_sample(prefix)))
    assert school in (meta.school or "")
    assert region in meta.region
    assert (meta.level, meta.period, meta.year, meta.kind) == (level, period, year, kind)
    assert meta.warnings == []


def test_portal_header_gives_issuer_and_date() -> None:
    meta = extract_metadata(clean(_sample("001")))
    assert meta.issuer == "临淄区教育和体育局"
    assert meta.published == "2024-03-15"
    assert meta.title == "临淄区金茵小学2024年工作计划"


def test_terms() -> None:
    terms = {p: extract_metadata(clean(_sample(p))).term for p in ("000", "002", "004")}
    assert terms == {"000": "全年", "002": "学年", "004": "春季"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("杭州市西湖区文一街小学2023学年第一学期工作计划\n一、指导思想\n……",
         {"school": "杭州市西湖区文一街小学", "period": "2023学年第一学期", "year": 2023, "term": "第一学期",
          "city": "杭州市", "province": "浙江省", "district": "西湖区", "level": "小学"}),
        ("成都市第七中学初中学校2024—2025学年度第二学期工作计划\n一、工作思路",
         {"period": "2024—2025学年度第二学期", "year": 2024, "term": "第二学期", "city": "成都市"}),
        ("广州市天河区第一幼儿园2021年秋季学期工作计划\n一、",
         {"level": "幼儿园", "term": "秋季", "year": 2021, "district": "天河区"}),
        ("南京市鼓楼区九年一贯制学校2026年工作要点\n一、",
         {"level": "九年一贯制", "kind": "school", "year": 2026}),
        ("保山市柳江区文昌第三实验学校2023年春学期工作计划\n一、",
         {"school": "保山市柳江区文昌第三实验学校", "term": "春季", "city": "保山市"}),
        ("海淀区教育委员会2023年工作要点\n一、",
         {"kind": "bureau", "level": BUREAU_LEVEL, "district": "海淀区"}),
        ("2025年，长沙市实验中学将全面落实立德树人根本任务。高三备考……",
         {"school": "长沙市实验中学", "level": "高中", "year": 2025, "city": "长沙市", "province": "湖南省"}),
    ],
)
def test_other_header_shapes(text: str, expected: dict[str, object]) -> None:
    meta = extract_metadata(clean(text)).as_dict()
    assert {k: meta[k] for k in expected} == expected


def test_a_plan_without_title_or_year_gets_warnings() -> None:
    meta = extract_metadata(clean("加强管理，提高质量。\n一、做好常规工作"))
    assert meta.year is None
    assert "no year or period found" in meta.warnings


def test_manifest_overrides_win() -> None:
    meta = extract_metadata(clean(_sample("003")), overrides={"school": "怀柔区教委小教科", "year": "2023", "bogus": "x"})
    assert meta.school == "怀柔区教委小教科"
    assert meta.year == 2023


def test_every_field_says_where_it_came_from() -> None:
    notice = ("关于公布2019学年工作要点的通知\n各处室：\n现将《绍兴市第一中学2019学年工作要点》公布如下。\n"
              "一、总体思路\n二、重点工作\n绍兴市第一中学\n2019年9月1日")
    sources = extract_metadata(clean(notice)).sources
    assert sources["school"] == {"source": "notice", "confidence": 0.99}  # the quoted title and the sign-off agree
    assert sources["period"]["source"] == "notice" and sources["published"]["source"] == "signature"
    portal = extract_metadata(clean(_sample("001")))
    assert portal.sources["published"] == {"source": "portal", "confidence": 0.9}
    assert portal.sources["issuer"]["source"] == "portal" and portal.sources["school"]["source"] == "title"
    alias = extract_metadata(clean("文安一小2010学年工作计划\n一、"))
    assert alias.school == "文安县第一小学" and alias.sources["school"]["source"] == "alias"
    assert alias.school_aliases == ["文安一小", "文安县一小"]
    manifest = extract_metadata(clean(_sample("003")), overrides={"level": "小学"})
    assert manifest.sources["level"] == {"source": "manifest", "confidence": 1.0}


def test_a_level_read_only_from_words_in_the_text_is_a_warning() -> None:
    meta = extract_metadata(clean("丽水市实验学校2021年工作计划\n一、小学部：一年级新生入学。二年级……"))
    assert meta.level == "小学" and meta.sources["level"] == {"source": "text", "confidence": 0.3}
    assert meta.warnings == ["level uncertain: 小学 (from text, confidence 0.3)"]


@pytest.mark.parametrize("words", ["加强职业道德建设", "办好农村幼儿园", "全区中小学安全"])
def test_incidental_words_never_decide_the_level(words: str) -> None:
    meta = extract_metadata(clean(f"2022年工作计划\n一、{words}。"))
    assert meta.level is None and "no level found" in meta.warnings


def test_a_school_found_only_in_running_text_is_a_warning() -> None:
    meta = extract_metadata(clean("工作计划\n本学期，我们将与绍兴市鲁迅中学开展联合教研，提高质量。\n2021年9月1日"))
    assert meta.school == "绍兴市鲁迅中学" and meta.sources["school"]["source"] == "text"
    assert "school uncertain: 绍兴市鲁迅中学 (from text, confidence 0.4)" in meta.warnings


def test_edits_win_over_the_text_and_say_edited() -> None:
    meta = extract_metadata(clean(_sample("004")), edits={"school": "常州市武进区焦溪小学", "period": "2021学年第二学期",
                                                          "region": "江苏省常州市武进区"})
    assert (meta.school, meta.period, meta.year, meta.year_end, meta.term) == ("常州市武进区焦溪小学", "2021学年第二学期", 2021, 2022, "第二学期")
    assert (meta.province, meta.city, meta.district) == ("江苏省", "常州市", "武进区")
    assert meta.sources["school"] == {"source": "edited", "confidence": 1.0}
    assert "常州市焦溪小学" in meta.school_aliases


@pytest.mark.parametrize(
    ("text", "period", "year", "year_end", "term"),
    [
        ("某某小学2024—2025学年度工作计划", "2024—2025学年度", 2024, 2025, "学年"),
        ("某某小学2024－2025学年工作计划", "2024－2025学年", 2024, 2025, "学年"),
        ("某某小学2024~2025学年第一学期工作计划", "2024~2025学年第一学期", 2024, 2025, "第一学期"),
        ("某某中学2023年秋学期工作计划", "2023年秋学期", 2023, 2023, "秋季"),
        ("某某中学2021年度工作要点", "2021年度", 2021, 2021, "全年"),
        ("某某中学三年行动计划（2020-2022）", "2020-2022", 2020, 2022, "多年"),
        ("某某中学“十四五”发展规划", "十四五", 2021, 2025, "多年"),
        ("某某中学2021-2025年发展规划", "2021-2025年", 2021, 2025, "多年"),
        ("某某中学2020学年第一学期第3周工作安排", "2020学年第一学期第3周", 2020, 2021, "第一学期"),
        ("某某中学2022年上半年工作思路", "2022年上半年", 2022, 2022, "上半年"),
    ],
)
def test_periods_as_written(text: str, period: str, year: int, year_end: int, term: str) -> None:
    meta = extract_metadata(clean(text + "\n一、"))
    assert (meta.period, meta.year, meta.year_end, meta.term) == (period, year, year_end, term)


@pytest.mark.parametrize(
    ("last_line", "published"),
    [("2020.4.17", "2020-04-17"), ("2009年12月27日", "2009-12-27"), ("二〇二〇年四月十七日", "2020-04-17")],
)
def test_the_document_date_gives_the_year_when_the_header_has_none(last_line: str, published: str) -> None:
    meta = extract_metadata(clean(f"学校工作计划\n一、常规\n二、教研\n{last_line}"))
    assert meta.published == published and meta.year == int(published[:4]) and meta.period is None


def test_a_portal_source_field_is_the_issuer_only_when_it_names_an_institution() -> None:
    page = "学期工作安排\n作者: 教务处 来源: 本站 点击数: 321\n一、教学常规\n二、教研活动\n湖州市第五中学"
    assert extract_metadata(clean(page)).issuer is None
    page = "2021年工作要点\n信息来源: 湖州市南浔区教育局 发布时间: 2021-03-02\n一、"
    meta = extract_metadata(clean(page))
    assert (meta.issuer, meta.published, meta.sources["published"]["source"]) == ("湖州市南浔区教育局", "2021-03-02", "portal")


def test_an_edited_year_keeps_the_period_length() -> None:
    meta = extract_metadata(clean("某某小学2024—2025学年度工作计划\n一、"), edits={"year": 2019})
    assert (meta.year, meta.year_end, meta.sources["year_end"]["source"]) == (2019, 2020, "edited")
