"""Round trips of the sample plans through every format, and every kind of bad input."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from html import escape
from pathlib import Path

import pytest
from fpdf import FPDF

from indexer.errors import ReadError
from indexer.reading import (
    MAX_BYTES_DEFAULT,
    SUPPORTED_SUFFIXES,
    RawDocument,
    _rejoin_wrapped_lines,
    read_bytes,
    read_document,
)
from tests.fixtures_docs import CHROME, CJK_FONT, TABLE, gbk_text, html_page, pdf_document, scanned_pdf_bytes
from tests.fixtures_docs import docx_bytes as _docx_bytes
from tests.fixtures_docs import paragraphs as _paragraphs

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"
SAMPLES = sorted(CORPUS.glob("*.txt"))
SENTENCE_END = "。！？；：!?;:"


def _plan(sample: Path) -> str:
    return sample.read_text(encoding="utf-8")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(params=SAMPLES, ids=[sample.stem[:3] for sample in SAMPLES])
def sample(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture(scope="session")
def cjk_font() -> Path:
    if not CJK_FONT.exists():
        pytest.fail(f"{CJK_FONT} missing: apt-get install fonts-wqy-microhei")
    return CJK_FONT


def _pdf(paragraphs: list[str], font: Path) -> FPDF:
    return pdf_document(paragraphs, font)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- text -----------------------------------------------------------------------------------------


def test_contract_constants() -> None:
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".docx", ".pdf", ".html", ".htm"}
    assert MAX_BYTES_DEFAULT == 20 * 1024 * 1024


def test_utf8_text_is_read_verbatim(sample: Path, tmp_path: Path) -> None:
    data = sample.read_bytes()
    doc = read_document(_write(tmp_path / "plan.txt", data))
    assert doc == RawDocument(tmp_path / "plan.txt", _plan(sample), "text", "utf-8", hashlib.sha256(data).hexdigest())


def test_utf8_bom_and_crlf(sample: Path, tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + _plan(sample).replace("\n", "\r\n").encode("utf-8")
    doc = read_document(_write(tmp_path / "plan.md", data))
    assert (doc.text, doc.format, doc.encoding) == (_plan(sample), "text", "utf-8-sig")


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_gbk_text(sample: Path, codec: str, tmp_path: Path) -> None:
    text = _plan(sample)
    if codec == "gbk":  # one sample has a bullet and nbsp, which GBK cannot encode
        text = gbk_text(text)
    doc = read_document(_write(tmp_path / "plan.txt", text.encode(codec)))
    assert (doc.text, doc.format, doc.encoding) == (text, "text", "gb18030")


def test_utf16_with_bom(tmp_path: Path) -> None:
    text = _plan(SAMPLES[0])
    doc = read_document(_write(tmp_path / "plan.txt", text.encode("utf-16")))
    assert (doc.text, doc.encoding) == (text, "utf-16")


def test_upload_bytes_use_the_name_as_path() -> None:
    doc = read_bytes("学校工作计划".encode(), name="上传.txt")
    assert (doc.path, doc.text, doc.format) == (Path("上传.txt"), "学校工作计划", "text")


# --- Word -----------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_in_order(sample: Path, tmp_path: Path) -> None:
    paragraphs = _paragraphs(_plan(sample))
    doc = read_document(_write(tmp_path / "plan.docx", _docx_bytes(paragraphs, table_after=2)))
    rows = ["\t".join(values) for values in TABLE] + ["合计"]
    expected = paragraphs[:3] + rows + paragraphs[3:]
    assert (doc.format, doc.encoding) == ("docx", None)
    assert "项目\t负责人\t时间" in doc.text.split("\n")
    assert _collapse(doc.text) == _collapse("\n".join(expected))


def test_docx_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    data = _docx_bytes(["临淄区金茵小学2024年工作计划"], table_after=-1)
    assert read_document(_write(tmp_path / "download.bin", data)).format == "docx"
    assert read_bytes(data, name="upload").text == "临淄区金茵小学2024年工作计划"


# --- HTML -----------------------------------------------------------------------------------------


def _html_page(paragraphs: list[str], charset: str = "utf-8") -> str:
    return html_page(paragraphs, charset)


def test_html_article_without_chrome(sample: Path, tmp_path: Path) -> None:
    paragraphs = _paragraphs(_plan(sample))
    doc = read_document(_write(tmp_path / "plan.html", _html_page(paragraphs).encode("utf-8")))
    assert (doc.format, doc.encoding) == ("html", "utf-8")
    assert _collapse(doc.text) == _collapse("\n".join(paragraphs))
    assert doc.text.split("\n")[0] == paragraphs[0].strip()
    assert not [chrome for chrome in CHROME if chrome in doc.text]


def test_html_in_gb2312_found_by_content(tmp_path: Path) -> None:
    paragraphs = _paragraphs(_plan(SAMPLES[0]))
    data = _html_page(paragraphs, charset="gb2312").encode("gbk")
    doc = read_document(_write(tmp_path / "page.aspx", data))
    assert (doc.format, doc.encoding) == ("html", "gb18030")
    assert _collapse(doc.text) == _collapse("\n".join(paragraphs))


def test_html_without_article_inside_a_page_wide_form(tmp_path: Path) -> None:
    paragraphs = _paragraphs(_plan(SAMPLES[2]))
    rows = "".join(f"{escape(p)}<br>" for p in paragraphs)
    page = f"""<HTML><BODY><form id="form1"><div id="topmenu">首页导航</div>
    <table><tr><td class="sidebar">相关链接侧栏</td><td class="text">{rows}</td></tr></table>
    <div class="printbar">打印本页</div></form></BODY></HTML>"""
    doc = read_bytes(page.encode("utf-8"), name="page.htm")
    assert _collapse(doc.text) == _collapse("\n".join(paragraphs))
    assert not [chrome for chrome in ("首页导航", "相关链接侧栏", "打印本页") if chrome in doc.text]


def test_xhtml_with_xml_prolog_is_quiet() -> None:
    page = """<?xml version="1.0" encoding="utf-8"?>
    <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
    <html xmlns="http://www.w3.org/1999/xhtml"><body><div class="menu">首页</div>
    <div><h1>工作计划</h1><p>一、指导思想</p><p>坚持立德树人。</p></div></body></html>"""
    assert read_bytes(page.encode(), name="plan.xhtml").text == "工作计划\n一、指导思想\n坚持立德树人。"


def test_html_fragment_is_recognised_by_extension() -> None:
    doc = read_bytes("<div><p>一、指导思想</p><p>坚持立德树人。</p></div>".encode(), name="plan.htm")
    assert (doc.format, doc.text) == ("html", "一、指导思想\n坚持立德树人。")


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_round_trip_rejoins_wrapped_lines(sample: Path, tmp_path: Path, cjk_font: Path) -> None:
    paragraphs = [_squash(p) for p in _paragraphs(_plan(sample))]
    path = tmp_path / "plan.pdf"
    _pdf(_paragraphs(_plan(sample)), cjk_font).output(str(path))
    doc = read_document(path)
    lines = [_squash(line) for line in doc.text.split("\n") if line.strip()]
    assert (doc.format, doc.encoding) == ("pdf", None)
    assert [p for p in paragraphs if p not in _squash(doc.text)] == []
    # no line glues two paragraphs, unless the earlier ones lack sentence-final punctuation
    assert [line for line in lines if not _within_one_run(line, paragraphs)] == []
    assert sum(p in lines for p in paragraphs) >= 0.85 * len(paragraphs)


def _within_one_run(line: str, paragraphs: list[str]) -> bool:
    """`line` lies inside consecutive paragraphs, all but the last without final punctuation."""
    for start in range(len(paragraphs)):
        joined = ""
        for paragraph in paragraphs[start:]:
            joined += paragraph
            if line in joined:
                return True
            if paragraph.rstrip("”’）)》").endswith(tuple(SENTENCE_END)):
                break
    return False


FULL = "以习近平新时代中国特色社会主义思想为指导深入贯彻落实党的二十大精神加强党对学校工作"  # 40 CJK


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([FULL, "的全面领导。"], [FULL + "的全面领导。"]),
        ([FULL + "。", "新学期开始"], [FULL + "。", "新学期开始"]),
        ([FULL + "：", "一是加强"], [FULL + "：", "一是加强"]),
        ([FULL[:-2] + "。”", "下一段"], [FULL[:-2] + "。”", "下一段"]),
        ([FULL, "一、指导思想"], [FULL, "一、指导思想"]),
        ([FULL, "（二）工作目标"], [FULL, "（二）工作目标"]),
        ([FULL, "(3)加强管理"], [FULL, "(3)加强管理"]),
        ([FULL, "1.加强党建"], [FULL, "1.加强党建"]),
        ([FULL, "12、加强党建"], [FULL, "12、加强党建"]),
        ([FULL, "2.1 课程建设"], [FULL, "2.1 课程建设"]),
        ([FULL, "①课堂"], [FULL, "①课堂"]),
        ([FULL, "第二章 总则"], [FULL, "第二章 总则"]),
        ([FULL, "二是深化改革"], [FULL, "二是深化改革"]),
        ([FULL, "• 字号"], [FULL, "• 字号"]),
        ([FULL, "　　新的一年"], [FULL, "　　新的一年"]),
        ([FULL, "- 3 -"], [FULL, "- 3 -"]),
        ([FULL, "第 2 页 共 5 页"], [FULL, "第 2 页 共 5 页"]),
        ([FULL, "2024年是关键之年。"], [FULL + "2024年是关键之年。"]),
        ([FULL, "2.5%的增长。"], [FULL + "2.5%的增长。"]),
        ([FULL, "1.5亿元投入。"], [FULL, "1.5亿元投入。"]),  # could be item 1.5: keep the break
        ([FULL, "，进一步提升。"], [FULL + "，进一步提升。"]),
        ([FULL, "发展", "下一段"], [FULL + "发展", "下一段"]),
        ([FULL, FULL, "完毕。"], [FULL + FULL + "完毕。"]),
        (["1.党建赋能站高位", "坚持以习近平思想为统领。"], ["1.党建赋能站高位", "坚持以习近平思想为统领。"]),
        ([FULL, "", "下一段"], [FULL, "", "下一段"]),
        (["短标题", "正文"], ["短标题", "正文"]),  # no full line on the page: leave it alone
        ([FULL + " New", "Media center。"], [FULL + " New Media center。"]),
    ],
)
def test_rejoin_wrapped_lines(lines: list[str], expected: list[str]) -> None:
    assert _rejoin_wrapped_lines(lines) == expected


def test_running_header_is_not_glued(tmp_path: Path, cjk_font: Path) -> None:
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.set_font("cjk", size=11)
    for body in (FULL, "的全面领导。"):
        pdf.add_page()
        pdf.cell(0, 6, "焦溪小学工作计划", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "plan.pdf"
    pdf.output(str(path))
    assert read_document(path).text.split("\n") == ["焦溪小学工作计划", FULL, "焦溪小学工作计划", "的全面领导。"]


def test_pdf_with_broken_xref_is_read_quietly(tmp_path: Path, cjk_font: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = bytes(_pdf(["临淄区金茵小学2024年工作计划"], cjk_font).output())
    broken = re.sub(rb"startxref\s+\d+", b"startxref\n999", data)
    assert read_bytes(broken, name="plan.pdf").text == "临淄区金茵小学2024年工作计划"
    assert not [record for record in caplog.records if record.name.startswith("pypdf")]


# --- bad input ------------------------------------------------------------------------------------


def _scanned_pdf() -> bytes:
    return scanned_pdf_bytes()


def _encrypted_pdf(font: Path) -> bytes:
    pdf = _pdf(["保密计划"], font)
    pdf.set_encryption(owner_password="owner", user_password="secret")
    return bytes(pdf.output())


def _zip_without_word() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


JUNK = bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("junk.txt", JUNK, "not a text, Word, PDF or HTML file"),
        ("junk", b"\x89PNG\r\n\x1a\n" + JUNK, "not a text, Word, PDF or HTML file"),
        ("nul.txt", "学校工作计划\x00第二行".encode(), "not a text, Word, PDF or HTML file"),
        ("text.docx", "学校工作计划".encode(), "not a Word .docx file (it looks like plain text)"),
        ("junk.docx", JUNK, "not a Word .docx file (binary data)"),
        ("book.docx", _zip_without_word(), "not a Word .docx file (a ZIP archive without word/document.xml)"),
        ("archive.zip", _zip_without_word(), "not a text, Word, PDF or HTML file (a ZIP"),
        ("broken.docx", b"PK\x03\x04" + JUNK, "not a Word .docx file"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + JUNK, "legacy Office .doc/.xls format"),
        ("letter.rtf", rb"{\rtf1\ansi plan}", "RTF format"),
        ("text.pdf", "学校工作计划".encode(), "not a PDF file"),
        ("broken.pdf", b"%PDF-1.4\n" + JUNK, "broken PDF"),
        ("scan.pdf", _scanned_pdf(), "PDF has no text layer (scanned image?); OCR it first"),
        ("numbers.txt", b"2024 - 03 - 15\n\n123 456\n", "no readable text"),
        ("blank.html", b"<html><body><script>var a = 1;</script></body></html>", "no readable text"),
    ],
)
def test_bad_input_is_a_read_error(name: str, data: bytes, reason: str, tmp_path: Path) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(ReadError) as raised:
        read_document(path)
    assert raised.value.path == path
    assert reason in raised.value.reason
    with pytest.raises(ReadError, match=re.escape(reason)):
        read_bytes(data, name=name)


def test_encrypted_pdf(cjk_font: Path) -> None:
    with pytest.raises(ReadError, match="PDF is encrypted"):
        read_bytes(_encrypted_pdf(cjk_font), name="secret.pdf")


def test_too_big_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as sparse:
        sparse.truncate(int(52.4 * 2**20))
    with pytest.raises(ReadError) as raised:
        read_document(path)
    assert raised.value.reason == "file is 52.4 MB, over the 20 MB limit"


def test_small_max_bytes(tmp_path: Path) -> None:
    data = _plan(SAMPLES[0]).encode()[:1300]
    path = _write(tmp_path / "plan.txt", data)
    with pytest.raises(ReadError, match=r"file is 1\.3 KB, over the 1 KB limit"):
        read_document(path, max_bytes=1024)
    with pytest.raises(ReadError, match="over the 1000 bytes limit"):
        read_bytes(data, name="plan.txt", max_bytes=1000)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="cannot open the file"):
        read_document(tmp_path / "absent.txt")
