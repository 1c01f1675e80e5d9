"""Readers with budgets, and every pass linear in its input.

The hostile inputs are generated here. Linearity is checked without a clock: either by counting
the interpreter's operations (a bound proportional to the input), or at an input size where the
former quadratic passes would run for hours (noted per case) while the linear ones take a second.
Timings of the size-doubling ratios are in bench/linearity.py and docs/benchmarks.md.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from pypdf import PageObject

from indexer import reading
from indexer.errors import ReadError
from indexer.reading import read_bytes
from indexer.sections import _repair_arabic_chapters, split_passages
from tests.fixtures_docs import docx_bytes, pdf_document

PLAN = ["某校2024年工作计划", "一、指导思想", "坚持立德树人。"]


def _with_members(extra: dict[str, bytes], base: bytes | None = None) -> bytes:
    """A real .docx with extra zip members added."""
    source = zipfile.ZipFile(io.BytesIO(base or docx_bytes(PLAN)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            archive.writestr(item, source.read(item))
        for name, data in extra.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_docx_inflating_past_the_xml_budget_is_refused_before_parsing() -> None:
    bomb = _with_members({"customXml/bloat.xml": b"<a>" + b" " * (reading.MAX_DOCX_XML_BYTES + 1) + b"</a>"})
    assert len(bomb) < 200_000  # a small file ...
    with pytest.raises(ReadError) as caught:
        read_bytes(bomb, name="bomb.docx")  # ... that would inflate to over 32 MB of XML
    assert "MAX_DOCX_XML_BYTES" in caught.value.reason and "of XML decompressed" in caught.value.reason


def test_docx_inflating_past_the_zip_budget_is_refused() -> None:
    bomb = _with_members({"word/media/image1.png": b"\0" * (reading.MAX_ZIP_BYTES + 1)})
    with pytest.raises(ReadError, match="MAX_ZIP_BYTES"):
        read_bytes(bomb, name="bomb.docx")


def test_docx_with_too_many_entries_is_refused() -> None:
    many = _with_members({f"word/media/p{i}.bin": b"x" for i in range(reading.MAX_ZIP_ENTRIES)})
    with pytest.raises(ReadError, match=rf"parts, over the limit of {reading.MAX_ZIP_ENTRIES} \(MAX_ZIP_ENTRIES\)"):
        read_bytes(many, name="many.docx")


def test_a_docx_within_budget_still_reads() -> None:
    assert read_bytes(_with_members({"customXml/bloat.xml": b"<a/>"}), name="ok.docx").text.split("\n") == PLAN


def _page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><body>{body}</body></html>".encode()


def test_html_nested_past_the_depth_budget_is_refused() -> None:
    deep = _page("<div>" * 10_000 + "某校工作计划" + "</div>" * 10_000)
    with pytest.raises(ReadError, match=rf"nests elements over {reading.MAX_HTML_DEPTH} deep \(MAX_HTML_DEPTH\)"):
        read_bytes(deep, name="deep.html")


def test_html_nested_within_the_depth_budget_reads() -> None:
    depth = reading.MAX_HTML_DEPTH - 10
    page = _page("<div>" * depth + "<p>某校工作计划</p><p>坚持立德树人。</p>" + "</div>" * depth)
    assert read_bytes(page, name="ok.html").text == "某校工作计划\n坚持立德树人。"


def test_html_with_too_many_elements_is_refused() -> None:
    with pytest.raises(ReadError, match="MAX_HTML_ELEMENTS"):
        read_bytes(_page("<p>计划</p>" * (reading.MAX_HTML_ELEMENTS + 1)), name="many.html")


def test_pdf_budgets_name_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = pdf_document(["某校工作计划", "坚持立德树人。"])
    pdf.add_page()
    pdf.multi_cell(0, 6, "第二页的内容。")
    pdf.add_page()
    pdf.multi_cell(0, 6, "第三页的内容。")
    data = bytes(pdf.output())
    assert "第三页的内容。" in read_bytes(data, name="ok.pdf").text
    monkeypatch.setattr(reading, "MAX_PDF_PAGES", 2)
    with pytest.raises(ReadError, match=r"PDF has 3 pages, over the limit of 2 \(MAX_PDF_PAGES\)"):
        read_bytes(data, name="long.pdf")
    monkeypatch.setattr(reading, "MAX_PDF_PAGES", 10)
    monkeypatch.setattr(reading, "MAX_PDF_PAGE_CHARS", 5)
    with pytest.raises(ReadError, match=r"PDF page 1 holds .* per page \(MAX_PDF_PAGE_CHARS\)"):
        read_bytes(data, name="dense.pdf")



def test_a_file_past_the_text_budget_is_refused_and_spaces_do_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "MAX_TEXT_CHARS", 1000)
    head = "某校2024年工作计划\n"
    at_limit = head + "计" * (1000 - len(head) + 1)  # the newline is a space
    assert read_bytes(at_limit.encode(), name="full.txt").text == at_limit
    assert read_bytes((at_limit + " \u3000\n" * 5000).encode(), name="spaced.txt")
    with pytest.raises(ReadError, match=r"over 1,000 characters of text \(MAX_TEXT_CHARS\)"):
        read_bytes((at_limit + "划").encode(), name="over.txt")
    with pytest.raises(ReadError, match="MAX_TEXT_CHARS"):
        read_bytes(_page("<p>" + at_limit + "划</p>"), name="over.html")


def test_a_pdf_past_the_text_budget_stops_reading_at_the_page_that_crosses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = pdf_document(["某校工作计划", "坚持立德树人。"])
    for page in range(2, 6):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"第{page}页的内容。" * 10)
    data = bytes(pdf.output())
    read: list[int] = []
    extract = PageObject.extract_text
    monkeypatch.setattr(PageObject, "extract_text", lambda self, *a, **k: read.append(1) or extract(self, *a, **k))
    monkeypatch.setattr(reading, "MAX_TEXT_CHARS", 100)
    with pytest.raises(ReadError, match="MAX_TEXT_CHARS"):
        read_bytes(data, name="long.pdf")
    assert len(read) == 3  # 13 + 70 characters, then 153 on page 3: pages 4 and 5 are never read


# -- undecodable bytes ------------------------------------------------------------------------------

TEXT = "某校2024年工作计划\n一、指导思想\n" + "坚持立德树人，全面提高教育教学质量。\n" * 40


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_few_bad_bytes_are_replaced_with_a_warning(encoding: str) -> None:
    data = TEXT.encode(encoding)
    middle = data.index(b"\n", len(data) // 2) + 1  # between two characters
    broken = data[:middle] + b"\xff" + data[middle:]  # 0xFF is never valid in UTF-8 nor GB18030
    raw = read_bytes(broken, name="plan.txt")
    assert raw.encoding == encoding
    assert raw.text.count("\ufffd") == 1
    assert raw.text.replace("\ufffd", "") == TEXT
    assert raw.warnings == (f"1 undecodable byte sequence(s) replaced by \ufffd ({encoding})",)


def test_a_clean_file_has_no_warning_and_junk_is_still_refused() -> None:
    assert read_bytes(TEXT.encode("gb18030"), name="plan.txt").warnings == ()
    junk = bytes(range(0x80, 0x100)) * 200
    with pytest.raises(ReadError):
        read_bytes(junk, name="junk.txt")


# -- linear passes ----------------------------------------------------------------------------------


def _operations(function: Callable[..., Any], *args: Any, limit: int) -> int:
    """Python bytecodes `function` runs; raises once past `limit` (so a quadratic loop fails fast)."""
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
            if count > limit:
                raise AssertionError(f"more than {limit} operations")
        return trace

    sys.settrace(trace)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_chapter_repair_runs_in_operations_proportional_to_the_lines() -> None:
    # 20,000 items all numbered "1." and no chapter: the former scan of every later item per item
    # ran 200 million iterations; linear is a few dozen bytecodes per item.
    found = [(3, "1")] * 20_000
    assert _operations(_repair_arabic_chapters, found, limit=100 * len(found)) < 100 * len(found)


def test_page_number_check_on_a_line_of_a_million_spaces() -> None:
    # "1" + spaces + "x": 100,000 spaces took the former pattern 33 s, a million about an hour
    assert reading._starts_block("1" + " " * 1_000_000 + "x") is False
    assert reading._starts_block("- 12 -") and reading._starts_block("第 3 页 共 10 页") and reading._starts_block("3 / 10")


def test_wrapped_pdf_lines_glue_without_recopying_the_line() -> None:
    # 100,000 full-width lines without punctuation glue into one: recopying it per line is 10^11 characters
    lines = ["这是一行没有标点的很长很长很长的文字内容用于测试换行拼接"] * 100_000
    assert reading._rejoin_wrapped_lines(lines) == ["".join(lines)]


def test_ideographic_spaces_in_html() -> None:
    # 200,000 U+3000 took the former `\s*\t\s*` 51 s; a million, about 20 minutes
    page = _page("<p>某校工作计划" + "\u3000" * 1_000_000 + "</p><table><tr><td>\u3000九月\u3000</td><td>开学</td></tr></table>")
    assert read_bytes(page, name="wide.html").text == "某校工作计划\n九月\t开学"


def test_split_passages_of_100000_short_lines() -> None:
    # chapter detection scanned all lines for each short line: 40,000 lines took 4.8 s, 100,000 would take 30 s
    text = "\n".join(["短行文字"] * 100_000)
    passages = split_passages(text)
    assert "".join(p.text for p in passages).replace("\n", "") == text.replace("\n", "")
    assert all(p.heading_rank is None for p in passages)
