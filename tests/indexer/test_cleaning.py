"""Cleaning keeps the plan's words and drops artefacts; the match fold keeps lengths."""

from __future__ import annotations

import pytest

from indexer.cleaning import clean, normalize
from tests.conftest import SAMPLES


def _sample(prefix: str) -> str:
    return next(SAMPLES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def test_lone_surrogates_go_and_characters_beyond_the_bmp_stay() -> None:
    """Broken PDF text can hold lone surrogates: the catalog could not store them, and the
    saved state's UTF-16 would pair two of them into another character."""
    assert clean("劳动\ud800教育\udc00课程 𠀀字").text == "劳动教育课程 𠀀字"


def test_word_bookmark_is_removed_and_the_sentence_kept() -> None:
    text = clean(_sample("004")).text
    assert "[bookmark" not in text
    assert "本学期，学校将接受区素质教育督导评估。" in text


def test_portal_chrome_and_header_fields_leave_the_text() -> None:
    cleaned = clean(_sample("001"))
    first_lines = cleaned.text.split("\n")[:2]
    assert first_lines[0] == "临淄区金茵小学2024年工作计划"
    assert first_lines[1].startswith("2024年学校工作指导思想")
    for chrome in ("字号", "打印", "索引号", "发布日期", "发文日期", "标题:"):
        assert chrome not in cleaned.text
    assert cleaned.header["发布机构"] == "临淄区教育和体育局"
    assert cleaned.header["索引号"] == "11370305MB285697X1/2024-5450937"


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_every_word_of_the_plan_survives(prefix: str) -> None:
    """Apart from removed chrome, the cleaned text is the source with whitespace tidied."""
    raw = _sample(prefix)
    cleaned = clean(raw).text
    squeeze = lambda s: "".join(s.split())  # noqa: E731
    assert "\n\n" not in cleaned and "  " not in cleaned
    body = squeeze(raw.replace("[bookmark: _GoBack]", ""))
    assert squeeze(cleaned) in body or prefix == "001"
    if prefix == "001":
        assert squeeze(cleaned)[-200:] == body[-200:]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("２０２５－２０２６学年", "2025-2026学年"), ("１＋Ｘ＋Ｔ", "1+x+t"), ("诗Ｅ", "诗e"), ("（一）", "(一)"),
     ("a\u3000b", "a b"), ("，；：！？", ",;:!?"), ("①", "1"), ("ﬁ", "ﬁ"), ("İ", "İ")],
)
def test_normalize_folds_width_and_case_keeping_length(raw: str, folded: str) -> None:
    assert normalize(raw) == folded
    assert len(normalize(raw)) == len(raw)
