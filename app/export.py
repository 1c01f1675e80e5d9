"""The comparison and the matrix as CSV and terminal tables, built from their JSON; the
generic XLSX writer (the formatted comparison and matrix workbooks are app.compare_export).

Every comparison row cites school, period, section path and passage text. Cells that would
start a spreadsheet formula (= + - @, tab, CR) are written as text: a leading ' in CSV, a
string cell with quotePrefix in XLSX. CSV is UTF-8 with a BOM so Excel reads the Chinese.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote


CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_CELL = 32_767
Row = Sequence[Any]
Sheet = tuple[str, list[str], list[Row]]  # (title, header, rows)

COMPARE_HEADER = ["主题", "文档编号", "学校", "地区", "学段", "时期", "年份", "状态", "匹配段落数", "字数占比",
                  "提及次数", "每万字提及", "段落编号", "章节路径", "最相关", "段落提及次数", "段落原文"]
MATRIX_HEADER = ["主题", "文档编号", "学校", "地区", "学段", "时期", "年份", "匹配段落数", "提及次数", "字数占比", "每万字提及"]
_PLAN_FIELDS = ("document_id", "school", "region", "level", "period", "year")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\s]+')


def section_path(section: Iterable[str]) -> str:
    return " > ".join(section)


def compare_rows(result: dict[str, Any]) -> list[Row]:
    """One row per matching passage; a plan that never mentions the theme gets one empty row."""
    rows: list[Row] = []
    theme = result["theme"]["name"]
    for column in result["columns"]:
        plan = [column["document"][k] for k in _PLAN_FIELDS]
        cov = column["coverage"]
        head = [theme, *plan, column["status"], cov["passages"], cov["share"], cov["mentions"], cov["per_10k"]]
        if not column["passages"]:
            rows.append([*head, None, "", "", 0, ""])
        for p in column["passages"]:
            rows.append([*head, p["id"], section_path(p["section"]), "是" if p["most_relevant"] else "",
                         p["mentions"], p["text"]])
    return rows


def matrix_rows(result: dict[str, Any]) -> list[Row]:
    """One row per theme × plan, zeros included."""
    plans = {d["document_id"]: [d[k] for k in _PLAN_FIELDS] for d in result["documents"]}
    return [
        [row["theme"], *plans[cell["document_id"]], cell["passages"], cell["mentions"], cell["share"], cell["per_10k"]]
        for row in result["rows"] for cell in row["cells"]
    ]


def _plan_label(document: dict[str, Any]) -> str:
    return f"{document['school'] or document['title']}（{document['period'] or '—'}）"


def neutralise(value: Any) -> Any:
    """A string a spreadsheet would run as a formula gets a leading ' (CSV)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: list[str], rows: Iterable[Row]) -> bytes:
    """UTF-8 with BOM, CRLF line ends, formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per sheet, header row frozen; strings are always string cells."""
    from openpyxl import Workbook  # 0.2 s to import: paid by the first XLSX export, not by start-up

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title)
        for c, value in enumerate(header, start=1):  # a header names plans: it is data like any cell
            _set(sheet.cell(row=1, column=c), value)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                _set(sheet.cell(row=r, column=c), value)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _set(cell: Any, value: Any) -> None:
    if not isinstance(value, str):
        cell.value = value
        return
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_MAX_CELL]
    cell.data_type = "s"  # never a formula, whatever the text starts with
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True


def file_names(kind: str, label: str, extension: str) -> tuple[str, str]:
    """(ASCII fallback, UTF-8 name) for a download, e.g. ("plans-compare.csv", "对比-劳动教育.csv")."""
    label = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFKC", label)).strip("._")[:60]
    ascii_label = re.sub(r"[^A-Za-z0-9_-]+", "", label).strip("_-")
    fallback = f"plans-{kind}{'-' + ascii_label if ascii_label else ''}.{extension}"
    chinese = {"compare": "主题比较", "matrix": "主题矩阵", "search": "检索结果", "documents": "计划列表"}.get(kind, kind)  # app.vocabulary
    return fallback, f"{chinese}{'-' + label if label else ''}.{extension}"


def content_disposition(kind: str, label: str, extension: str) -> str:
    """`attachment` with an ASCII filename and the UTF-8 one as filename* (RFC 6266/5987)."""
    fallback, name = file_names(kind, label, extension)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def compare_table(result: dict[str, Any], excerpt: int = 80) -> str:
    """A plain-text report for the terminal: one block per plan."""
    lines = [f"主题：{result['theme']['name']}（{result['mentioning']}/{result['documents']} 份计划提及）"]
    if result["shared_terms"]:
        lines.append("共有词：" + "、".join(t["term"] for t in result["shared_terms"][:15]))
    for column in result["columns"]:
        doc, cov = column["document"], column["coverage"]
        lines.append("")
        lines.append(f"[{doc['document_id']}] {_plan_label(doc)}  {column['status']}")
        if not column["passages"]:
            continue
        lines.append(f"  段落 {cov['passages']}  占比 {cov['share']:.1%}  提及 {cov['mentions']}  每万字 {cov['per_10k']}"
                     f"  标题提及 {'是（第 %s 级）' % cov['prominence']['heading_depth'] if cov['prominence']['in_heading'] else '否'}")
        for p in column["passages"]:
            if p["most_relevant"]:
                text = p["text"].replace("\n", " ")
                lines.append(f"  最相关：[{section_path(p['section'])}] {text[:excerpt]}{'…' if len(text) > excerpt else ''}")
        if column["distinctive_terms"]:
            lines.append("  特色词语：" + "、".join(f"{t['term']}({t['z']:.1f})" for t in column["distinctive_terms"]))
        for c in column["commitments"]:
            lines.append(f"  · {c['text'].replace(chr(10), ' ')}")
    return "\n".join(lines) + "\n"


def matrix_table(result: dict[str, Any]) -> str:
    """Mentions per theme (rows) and plan (columns), aligned for CJK widths."""
    labels = [_plan_label(d) for d in result["documents"]]
    first = max([_width("主题"), *(_width(r["theme"]) for r in result["rows"])])
    widths = [max(_width(label), 6) for label in labels]
    lines = ["  ".join([_pad("主题", first), *(_pad(label, w) for label, w in zip(labels, widths))])]
    for row in result["rows"]:
        cells = [_pad(str(c["mentions"]), w) for c, w in zip(row["cells"], widths)]
        lines.append("  ".join([_pad(row["theme"], first), *cells]))
    return "\n".join(lines) + "\n"
