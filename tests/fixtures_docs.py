"""Writers of real-world plan files for tests: Word, PDF, portal pages and legacy encodings.

Shared by tests/indexer/test_reading.py (the readers) and tests/indexer/test_intake.py (the
whole pipeline). Each takes the plan as a list of non-empty lines, the first being the title.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path

import docx
from fpdf import FPDF

# Debian package fonts-wqy-microhei: a CJK font with Latin glyphs (digits must survive the PDF)
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# what a portal page carries around the article; none of it may reach the index
CHROME = ["首页导航", "网站头部标语", "相关链接侧栏", "版权所有页脚", "分享到微信", "脚本里的字", "面包屑位置"]
TABLE = [["项目", "负责人", "时间"], ["校本研修", "教务处", "每月最后一周"]]


def paragraphs(text: str) -> list[str]:
    """The non-empty lines of a plan, as a writer lays them out one paragraph each."""
    return [line for line in text.split("\n") if line.strip()]


def docx_bytes(lines: list[str], table_after: int = -1) -> bytes:
    """A Word file with one paragraph per line; with `table_after`, a 3x3 table (last row merged) there."""
    document = docx.Document()
    for index, paragraph in enumerate(lines):
        document.add_paragraph(paragraph)
        if index == table_after:
            table = document.add_table(rows=3, cols=3)
            for row, values in zip(table.rows, TABLE):
                for cell, value in zip(row.cells, values):
                    cell.text = value
            merged = table.cell(2, 0).merge(table.cell(2, 2))  # a merged row must not repeat
            merged.text = "合计"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_document(lines: list[str], font: Path = CJK_FONT) -> FPDF:
    """An A4 PDF with a text layer: each line a paragraph, wrapped by fpdf2 at the margin."""
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("cjk", fname=str(font))
    pdf.set_font("cjk", size=11)
    for paragraph in lines:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    return pdf


def pdf_bytes(lines: list[str], font: Path = CJK_FONT) -> bytes:
    return bytes(pdf_document(lines, font).output())


def scanned_pdf_bytes() -> bytes:
    """A PDF page holding only a drawing: what a scanner without OCR produces."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def html_page(lines: list[str], charset: str = "utf-8") -> str:
    """A saved portal page: header, navigation, breadcrumb, sidebar, share bar, footer, script."""
    body = "\n".join(f"<p>&nbsp;&nbsp;{escape(p.strip())}</p>" for p in lines[1:])
    return f"""<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>计划</title>
<style>p {{ color: red }}</style><script>var s = "脚本里的字";</script></head>
<body>
<header class="site-header"><h1>网站头部标语</h1></header>
<nav><ul><li><a href="/">首页导航</a></li></ul></nav>
<div class="breadcrumb">面包屑位置</div>
<div class="wrap">
  <aside><ul><li>相关链接侧栏</li></ul></aside>
  <article>
    <h2>{escape(lines[0].strip())}</h2>
    <div class="content">{body}</div>
    <div class="share-bar">分享到微信</div>
  </article>
</div>
<footer>版权所有页脚</footer>
</body></html>"""


def gbk_text(text: str) -> str:
    """The plan as GBK can hold it: one sample has a bullet and a no-break space GBK lacks."""
    return text.replace("•", "·").replace("\xa0", " ")
