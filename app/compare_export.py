"""The comparison and the matrix as formatted XLSX workbooks (the CSV stays in app.export).

Every sheet: the header row frozen and under an autofilter, columns as wide as their text
(CJK characters count double, long text capped and wrapped), shares as percentages, and a
hyperlink from each passage back to it on the document page. A side-by-side sheet puts one
plan per column, as the compare page does. Labels come from app.vocabulary, as on screen.
Cells are written by app.export's rules: text is always a string cell, never a formula.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from app.export import COMPARE_HEADER, MATRIX_HEADER, compare_rows, matrix_rows, section_path
from app.export import _set as set_cell
from app.vocabulary import LABELS

PERCENT = "0.0%"
MAX_WIDTH, MIN_WIDTH = 60, 6
SIDE_WIDTH = 45  # a plan's column on the side-by-side sheet
WIDTH_SAMPLE = 500  # rows measured for a column's width


@dataclass
class SheetSpec:
    """One worksheet: header, rows, which columns are percentages or wrapped text, and links
    by (row index in `rows`, column index)."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    percent: set[int] = field(default_factory=set)  # columns
    percent_rows: set[int] = field(default_factory=set)  # rows (the side-by-side sheet's share)
    wrap: set[int] = field(default_factory=set)
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)  # fixed widths, else measured
    filter: bool = True


def display_width(value: Any) -> int:
    """Characters a cell needs, CJK counted double; the longest line of a multi-line text."""
    if value is None:
        return 0
    if isinstance(value, float):
        return 8
    lines = str(value).split("\n")
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines)


def passage_url(base_url: str, document_id: int, query: str, anchor: str | None = None) -> str:
    """The document page, the theme marked, at the passage (its stable anchor, app.anchors)."""
    url = f"{base_url.rstrip('/')}/documents/{document_id}?{urlencode({'q': query})}"
    return url + (f"#{anchor}" if anchor else "")


def theme_query(theme: dict[str, Any]) -> str:
    """The query that marks a comparison's theme on the document page (as the compare page links)."""
    if theme["kind"] == "query":
        return str(theme["name"])
    return " OR ".join(f'"{t}"' for t in theme["terms"])


def write_workbook(sheets: Sequence[SheetSpec]) -> bytes:
    from openpyxl import Workbook  # 0.2 s to import: paid by the first XLSX export, not by start-up
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold, wrapped, top = Font(bold=True), Alignment(wrap_text=True, vertical="top"), Alignment(vertical="top")
    link_font = Font(color="0563C1", underline="single")
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title[:31])
        for c, name in enumerate(spec.header, start=1):
            cell = sheet.cell(row=1, column=c)
            set_cell(cell, name)  # a plain string value, never a formula
            cell.font, cell.alignment = bold, wrapped
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                cell = sheet.cell(row=r + 2, column=c + 1)
                set_cell(cell, value)
                if (c in spec.percent or r in spec.percent_rows) and isinstance(value, (int, float)) and not isinstance(value, bool):
                    cell.number_format = PERCENT
                cell.alignment = wrapped if c in spec.wrap else top
                url = spec.links.get((r, c))
                if url:
                    cell.hyperlink = url
                    cell.font = link_font
        for c in range(len(spec.header)):
            width = spec.widths.get(c)
            if width is None:
                measured = [display_width(spec.header[c])] + [display_width(row[c]) for row in spec.rows[:WIDTH_SAMPLE] if c < len(row)]
                width = min(MAX_WIDTH, max(MIN_WIDTH, max(measured) + 2))
            sheet.column_dimensions[get_column_letter(c + 1)].width = width
        sheet.freeze_panes = "B2" if not spec.filter else "A2"
        if spec.filter and spec.header:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(spec.header))}{len(spec.rows) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def compare_workbook(result: dict[str, Any], base_url: str = "") -> bytes:
    """主题比较 (the CSV's rows), 并排比较 (a column per plan), 量化承诺 and 特色词语.
    Without `base_url` (the command line) there are no links."""
    return write_workbook(compare_sheets(result, base_url))


def compare_sheets(result: dict[str, Any], base_url: str = "") -> list[SheetSpec]:
    query = theme_query(result["theme"])
    rows = compare_rows(result)
    col = {name: i for i, name in enumerate(COMPARE_HEADER)}
    main = SheetSpec(LABELS["compare"], list(COMPARE_HEADER), [list(r) for r in rows],
                     percent={col["字数占比"]}, wrap={col["章节路径"], col["段落原文"]},
                     widths={col["段落原文"]: MAX_WIDTH})
    if base_url:
        anchors = {p["id"]: p["anchor"] for c in result["columns"] for p in c["passages"]}
        for k, row in enumerate(main.rows):
            passage = row[col["段落编号"]]
            url = passage_url(base_url, row[col["文档编号"]], query, anchors.get(passage))
            main.links[(k, col["段落原文"] if passage is not None else col["学校"])] = url
    return [main, side_by_side(result, base_url, query), _commitments(result, base_url, query), _terms(result)]


def side_by_side(result: dict[str, Any], base_url: str, query: str) -> SheetSpec:
    """One column per plan: its figures, terms, commitments, then its passages, best first."""
    columns = result["columns"]
    header = ["", *[f"{c['document']['school'] or c['document']['title']}（{c['document']['period'] or '—'}）" for c in columns]]
    figures = [
        (LABELS["region"], lambda c: c["document"]["region"]),
        (LABELS["period"], lambda c: c["document"]["period"]),
        (LABELS["status"], lambda c: c["status"]),
        (LABELS["passages"], lambda c: c["coverage"]["passages"]),
        (LABELS["share"], lambda c: c["coverage"]["share"]),
        (LABELS["mentions"], lambda c: c["coverage"]["mentions"]),
        (LABELS["per_10k"], lambda c: c["coverage"]["per_10k"]),
        (LABELS["in_heading"], lambda c: _heading(c["coverage"]["prominence"])),
        (LABELS["terms"], lambda c: "、".join(t["term"] for t in c["distinctive_terms"])),
        (LABELS["commitments"], lambda c: "\n".join(x["text"] for x in c["commitments"])),
    ]
    rows: list[list[Any]] = [[label, *[get(c) for c in columns]] for label, get in figures]
    spec = SheetSpec(LABELS["side_by_side"], header, rows, wrap=set(range(1, len(header))),
                     widths={0: 14, **{k: SIDE_WIDTH for k in range(1, len(header))}}, filter=False)
    ordered = [sorted(c["passages"], key=lambda p: not p["most_relevant"]) for c in columns]
    for depth in range(max((len(p) for p in ordered), default=0)):
        row: list[Any] = [LABELS["best"] if depth == 0 else f"段落 {depth + 1}"]
        for k, (column, passages) in enumerate(zip(columns, ordered), start=1):
            if depth < len(passages):
                p = passages[depth]
                row.append(f"[{section_path(p['section'])}]\n{p['text']}" if p["section"] else p["text"])
                if base_url:
                    spec.links[(len(spec.rows), k)] = passage_url(base_url, column["document"]["document_id"], query, p["anchor"])
            else:
                row.append(None)
        spec.rows.append(row)
    spec.percent_rows = {next(k for k, (label, _) in enumerate(figures) if label == LABELS["share"])}
    return spec


def _heading(prominence: dict[str, Any]) -> str:
    if not prominence["in_heading"]:
        return "否"
    return "是（计划标题）" if prominence["heading_depth"] == 0 else f"是（第 {prominence['heading_depth']} 级标题）"


def _commitments(result: dict[str, Any], base_url: str, query: str) -> SheetSpec:
    header = ["主题", "文档编号", LABELS["school"], LABELS["period"], "段落编号", "章节路径", "句中含主题词", LABELS["commitments"]]
    spec = SheetSpec(LABELS["commitments"], header, [], wrap={5, 7}, widths={7: MAX_WIDTH})
    for column in result["columns"]:
        sections = {p["id"]: section_path(p["section"]) for p in column["passages"]}
        doc = column["document"]
        for c in column["commitments"]:
            if base_url:
                spec.links[(len(spec.rows), 7)] = passage_url(base_url, doc["document_id"], query, c["anchor"])
            spec.rows.append([result["theme"]["name"], doc["document_id"], doc["school"], doc["period"], c["passage_id"],
                              sections.get(c["passage_id"], ""), "是" if c["mentions_theme"] else "", c["text"]])
    return spec


def _terms(result: dict[str, Any]) -> SheetSpec:
    rows = [[c["document"]["document_id"], c["document"]["school"], c["document"]["period"], t["term"], t["z"], t["count"], t["others"]]
            for c in result["columns"] for t in c["distinctive_terms"]]
    return SheetSpec(LABELS["terms"], ["文档编号", LABELS["school"], LABELS["period"], "词语", "z", "本计划次数", "其他计划次数"], rows)


def matrix_workbook(result: dict[str, Any], base_url: str = "") -> bytes:
    """主题矩阵 (the CSV's rows) and 提及次数 (themes × plans, a plan per column, linked)."""
    col = {name: i for i, name in enumerate(MATRIX_HEADER)}
    long = SheetSpec(LABELS["matrix"], list(MATRIX_HEADER), [list(r) for r in matrix_rows(result)], percent={col["字数占比"]})
    documents = result["documents"]
    header = ["主题", *[f"{d['school'] or d['title']}（{d['period'] or '—'}）" for d in documents]]
    grid = SheetSpec(LABELS["mentions"], header, [[row["theme"], *[c["mentions"] for c in row["cells"]]] for row in result["rows"]],
                     widths={k: 16 for k in range(1, len(header))}, wrap=set())
    return write_workbook([long, grid])
