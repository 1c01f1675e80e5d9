"""Passages follow each plan's own numbering; offsets point into the cleaned text."""

from __future__ import annotations

import pytest

from indexer.cleaning import clean
from indexer.metadata import extract_metadata
from indexer.sections import split_passages
from tests.conftest import SAMPLES


def _passages(prefix: str):  # type: ignore[no-untyped-def]
    cleaned = clean(next(SAMPLES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8"))
    return cleaned.text, split_passages(cleaned.text, title=extract_metadata(cleaned).title)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_passages_cover_every_line_with_exact_offsets(prefix: str) -> None:
    text, passages = _passages(prefix)
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    covered = "\n".join(p.text for p in passages)
    assert covered == text


@pytest.mark.parametrize(
    ("prefix", "starts_with", "section"),
    [
        ("000", "17.深化劳动教育", ["三、聚力实现四大突破，凸显集团发展融合优势", "（一）在增强德育实效上实现突破", "17.深化劳动教育"]),
        ("000", "2.提升学校党建质量", ["1、 始终坚持一条主线，构筑党建统领坚强堡垒", "2.提升学校党建质量"]),  # 1、 repaired to a chapter
        ("001", "16.打造日常“高效”课堂", ["深化课堂改革,打造教学研究新样态", "16.打造日常“高效”课堂"]),  # lost numeral
        ("001", "25.搞好周半日教研活动", ["推进科教融合激发教育科研新活力", "25.搞好周半日教研活动"]),  # unnumbered chapter
        ("002", "1.加强体育健康教育", ["四、重点工作", "（九）加强艺体教育以促进学生全面发展", "1.加强体育健康教育以增强学生体质"]),
        ("003", "3.推进劳动实践育人", ["三、推进“五项重点”,深化教育改革,促进公平提质", "(一)构建德育体系,保障育人实效", "3.推进劳动实践育人"]),
        ("004", "（3）优化作业设计", ["三、聚焦双减，深化教改美质量", "2.深化教学研究，夯实双减工作", "（3）优化作业设计，实现减负增效"]),
    ],
)
def test_section_paths(prefix: str, starts_with: str, section: list[str]) -> None:
    _, passages = _passages(prefix)
    passage = next(p for p in passages if p.text.startswith(starts_with))
    assert list(passage.section) == section


def test_title_is_its_own_passage() -> None:
    _, passages = _passages("002")
    assert passages[0].text == "淄博高新区第一小学2025-2026学年学校工作计划"
    assert passages[0].heading_rank == 0


def test_long_bodies_are_cut_at_line_ends() -> None:
    text = "一、总体\n" + "\n".join("这是一段很长的说明文字，" * 20 for _ in range(10))
    passages = split_passages(text)
    assert len(passages) > 1
    assert all(len(p.text) <= 1200 + 250 for p in passages)
    assert all(p.section == ("一、总体",) for p in passages)
