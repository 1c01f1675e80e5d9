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
