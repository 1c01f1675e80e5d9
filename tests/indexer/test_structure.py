"""Structure of real-world plans: tables of contents, tables, appendices, numbering quirks.

Each plan goes through the real reader (Word made by python-docx, HTML, text), the cleaner and
split_passages; the assertions are what a reader of the plan would expect of its outline.
"""

from __future__ import annotations

import io

import docx
import pytest

from indexer.cleaning import clean
from indexer.metadata import extract_metadata
from indexer.reading import read_bytes
from indexer.sections import MAX_PASSAGE_CHARS, Passage, split_passages

MONTHS = ["9月", "10月", "11月", "12月", "1月"]
CALENDAR = [["周次", "日期", "主要工作", "负责部门"]] + [
    [f"第{week}周", f"{MONTHS[(week - 1) // 16]}第{(week - 1) % 16 + 1}天", f"第{week}项活动：班队会与家长开放日安排", "德育处"]
    for week in range(1, 80)
]  # a header row and 79 rows: 80 in all


def _passages(data: bytes, name: str) -> tuple[str, list[Passage]]:
    cleaned = clean(read_bytes(data, name=name).text)
    return cleaned.text, split_passages(cleaned.text, title=extract_metadata(cleaned).title)


def _docx(paragraphs_before: list[str], table: list[list[str]], paragraphs_after: list[str] = ()) -> bytes:
    document = docx.Document()
    for line in paragraphs_before:
        document.add_paragraph(line)
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for row, values in zip(grid.rows, table):
        for cell, value in zip(row.cells, values):
            cell.text = value
    for line in paragraphs_after:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _html(paragraphs_before: list[str], table: list[list[str]], paragraphs_after: list[str] = ()) -> bytes:
    rows = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in table)
    body = "".join(f"<p>{line}</p>" for line in paragraphs_before) + f"<table>{rows}</table>"
    body += "".join(f"<p>{line}</p>" for line in paragraphs_after)
    return f"<!DOCTYPE html><html><body><article>{body}</article></body></html>".encode()


PLAN_HEAD = ["青禾县实验小学2024学年第一学期工作计划", "一、工作目标", "全面提高教育教学质量。", "二、主要工作",
             "1.加强常规管理，落实课程计划。", "2.开展读书节活动。"]


@pytest.mark.parametrize("make", [_docx, _html], ids=["docx", "html"])
def test_calendar_table_is_its_own_passages_with_rows_as_lines(make) -> None:
    text, passages = _passages(make([*PLAN_HEAD, "三、学期行事历"], CALENDAR), "plan.docx" if make is _docx else "plan.html")
    table = [p for p in passages if "\t" in p.text]
    rows = [line for p in table for line in p.text.split("\n")]
    assert rows == ["\t".join(row) for row in CALENDAR]  # every row, as a line, in order, nothing else
    assert all(p.heading_rank is None and p.section == ("三、学期行事历",) for p in table)
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in table)
    assert len(table) == -(-len("\n".join(rows)) // MAX_PASSAGE_CHARS) or len(table) <= 5  # a few, not 80
    # no cell became a heading: the outline is the plan's own
    headings = [p.section[-1] for p in passages if p.heading_rank is not None]
    assert headings == [PLAN_HEAD[0], "一、工作目标", "二、主要工作", "1.加强常规管理，落实课程计划", "2.开展读书节活动", "三、学期行事历"]


def test_appendix_table_after_the_last_item_is_a_top_level_section() -> None:
    appendix = [["序号", "任务", "责任人"]] + [[str(i), f"任务{i}：完善校园安全巡查记录", "总务处"] for i in range(1, 93)]
    _, passages = _passages(_docx([*PLAN_HEAD, "附件：2024学年重点任务分解表"], appendix), "plan.docx")
    last_item = [p for p in passages if p.section[-1:] == ("2.开展读书节活动",)]
    assert [p.text for p in last_item] == ["2.开展读书节活动。"]
    after = passages[passages.index(last_item[0]) + 1 :]
    assert {p.section for p in after} == {("附件：2024学年重点任务分解表",)}
    assert sum(p.text.count("\n") + 1 for p in after if "\t" in p.text) == 93


TOC_PLAN = """青禾县教育发展“十四五”规划
目　录
一、现实基础和发展形势………………………………1
（一）发展基础………………………………………2
二、总体要求····························5
三、主要任务            8
一、现实基础和发展形势
（一）发展基础
十三五期间，全县教育事业取得长足进步。
二、总体要求
坚持优先发展教育。
三、主要任务
推进教育现代化。"""


def test_table_of_contents_is_in_no_passage_and_not_in_the_outline() -> None:
    passages = split_passages(clean(TOC_PLAN).text, title="青禾县教育发展“十四五”规划")
    assert not [p for p in passages if "……" in p.text or "····" in p.text or "目　录" in p.text or "目 录" in p.text]
    assert [p.section[-1] for p in passages if p.heading_rank is not None] == [
        "青禾县教育发展“十四五”规划", "一、现实基础和发展形势", "（一）发展基础", "二、总体要求", "三、主要任务"]


def test_uncaptioned_toc_run_with_spaced_leaders() -> None:
    text = "某校工作计划\n一、目标   1\n二、措施   3\n三、保障   6\n一、目标\n提高质量。\n二、措施\n强化管理。\n三、保障\n落实经费。"
    passages = split_passages(clean(text).text, title="某校工作计划")
    assert [p.text for p in passages] == ["某校工作计划", "一、目标\n提高质量。", "二、措施\n强化管理。", "三、保障\n落实经费。"]


@pytest.mark.parametrize(
    ("line", "rank", "title"),
    [
        ("2.2020年秋季开学工作", 3, "2.2020年秋季开学工作"),
        ("11.5-6月份开展体育节", 3, "11.5-6月份开展体育节"),
        ("3.9月举行开学典礼：全体师生参加", 3, "3.9月举行开学典礼"),
        ("4.每天9:20开展大课间活动", 3, "4.每天9:20开展大课间活动"),
        ("（二）上午8：30召开全体教师会议", 2, "（二）上午8：30召开全体教师会议"),
        ("1.5亿元用于校舍改造。", None, None),  # a decimal, not a heading
        ("附表2：教师培训安排", 1, "附表2：教师培训安排"),
    ],
)
def test_numbering_quirks(line: str, rank: int | None, title: str | None) -> None:
    text = f"某校工作计划\n一、总体要求\n{line}\n正文一句。"
    passages = split_passages(text, title="某校工作计划")
    hit = next(p for p in passages if line in p.text)
    if rank is None:  # a body line of the chapter
        assert (hit.text, hit.section) == (f"一、总体要求\n{line}\n正文一句。", ("一、总体要求",))
    else:
        assert (hit.text, hit.heading_rank, hit.section[-1]) == (f"{line}\n正文一句。", rank, title)


def test_text_table_with_space_gaps_becomes_a_table_passage() -> None:
    text = "某校工作计划\n一、安排\n月份    内容        负责\n9月    开学典礼    德育处\n10月   运动会      体育组\n以上安排如有变动另行通知。"
    cleaned = clean(text).text
    passages = split_passages(cleaned, title="某校工作计划")
    assert [p.text for p in passages] == ["某校工作计划", "一、安排", "月份\t内容\t负责\n9月\t开学典礼\t德育处\n10月\t运动会\t体育组",
                                          "以上安排如有变动另行通知。"]
    assert passages[2].section == passages[3].section == ("一、安排",)


def test_table_rows_ending_in_numbers_are_a_table_not_a_contents() -> None:
    rows = [["班级", "人数"], ["一年级一班", "45"], ["一年级二班", "46"], ["一年级三班", "44"]]
    _, passages = _passages(_docx(["某校工作计划", "一、班级安排"], rows), "plan.docx")
    assert [p.text for p in passages] == ["某校工作计划", "一、班级安排", "\n".join("\t".join(r) for r in rows)]


def test_a_long_line_is_cut_at_sentence_ends() -> None:
    sentence = "学校将持续推进课堂教学改革并加强教师队伍建设。"
    line = sentence * 20_000  # about 480,000 characters on one line
    passages = split_passages(f"某校工作计划\n{line}", title="某校工作计划")
    body = passages[1:]
    assert all(len(p.text) <= MAX_PASSAGE_CHARS and p.text.endswith("。") for p in body)
    assert "".join(p.text for p in body) == line
    assert all(p.text.startswith("学校") for p in body)
