"""Output renderers chosen by name (json, csv, xlsx, table), shared by the API, the pages' download
links and the CLI: each turns a `Table` into bytes, chunk by chunk where the format allows.

A table is columns (key, label as the screen shows it, width in characters, wrap) and rows
(dicts by key); an optional `link` column becomes a hyperlink in XLSX, resolved against `base`.
CSV streams (UTF-8 with BOM, formula-like cells neutralised, see app/export.py); XLSX is built
in memory (openpyxl needs the whole sheet), with readable widths, wrapped text, a frozen header,
an autofilter and hyperlinks; `table` is aligned plain text for a terminal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.export import CSV_TYPE, XLSX_TYPE, _pad, _set, _width, neutralise

CHUNK_ROWS = 200  # CSV rows per streamed chunk


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int = 12  # XLSX column width, in characters
    wrap: bool = False


@dataclass
class Table:
    """What a renderer takes; `rows` may be a generator (it is read once)."""

    kind: str  # names the download: search, documents …
    label: str  # what it is about, for the file name (the query)
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    base: str = ""  # prefix that makes a `link` value a full URL in XLSX
    meta: dict[str, Any] = field(default_factory=dict)  # extra JSON fields (total, query …)


@dataclass(frozen=True)
class Renderer:
    name: str
    media_type: str
    extension: str
    render: Callable[[Table], Iterator[bytes]]


def _json(table: Table) -> Iterator[bytes]:
    yield orjson.dumps({**table.meta, "columns": [{"key": c.key, "label": c.label} for c in table.columns],
                        "rows": list(table.rows)})


def _csv(table: Table) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    first = True
    for n, row in enumerate(table.rows, start=1):
        writer.writerow(["" if row.get(c.key) is None else neutralise(row.get(c.key)) for c in table.columns])
        if n % CHUNK_ROWS == 0:
            yield (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")
            first = False
            buffer.seek(0)
            buffer.truncate()
    yield (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")


def _xlsx(table: Table) -> Iterator[bytes]:
    from openpyxl import Workbook  # paid by the first XLSX export, not by start-up
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.kind[:31] or "sheet"
    sheet.append([c.label for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    link_font = Font(color="0563C1", underline="single")
    r = 1
    for r, row in enumerate(table.rows, start=2):
        for c, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=r, column=c)
            _set(cell, row.get(column.key))
            cell.alignment = wrapped if column.wrap else top
            if column.key == "link" and row.get("link"):
                cell.hyperlink = table.base + str(row["link"])
                cell.font = link_font
    for c, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = max(column.width, _width(column.label) + 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(r, 1)}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    yield buffer.getvalue()


def _table(table: Table) -> Iterator[bytes]:
    rows = [["" if row.get(c.key) is None else str(row.get(c.key)).replace("\n", " ") for c in table.columns]
            for row in table.rows]
    widths = [min(40, max([_width(c.label), *(_width(r[i]) for r in rows)])) for i, c in enumerate(table.columns)]
    lines = ["  ".join(_pad(c.label, w) for c, w in zip(table.columns, widths))]
    for row in rows:
        lines.append("  ".join(_pad(_clip(v, w), w) for v, w in zip(row, widths)))
    yield ("\n".join(lines) + "\n").encode("utf-8")


def _clip(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        used += _width(ch)
        if used > width - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


RENDERERS: dict[str, Renderer] = {
    "json": Renderer("json", "application/json", "json", _json),
    "csv": Renderer("csv", CSV_TYPE, "csv", _csv),
    "xlsx": Renderer("xlsx", XLSX_TYPE, "xlsx", _xlsx),
    "table": Renderer("table", "text/plain; charset=utf-8", "txt", _table),
}


def renderer(name: str) -> Renderer:
    """The renderer called `name`; KeyError names the known ones."""
    if name not in RENDERERS:
        raise KeyError(f"unknown format {name!r}: one of {', '.join(RENDERERS)}")
    return RENDERERS[name]
