"""CSV and XLSX downloads: the same rows in both, every row cited, no formula ever runs."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.export import COMPARE_HEADER, MATRIX_HEADER, FORMULA_STARTS, file_names, neutralise
from app.main import create_app
from tests.conftest import build_home

# A plan whose lines start like formulas; the manifest gives it a formula for a school name.
HOSTILE = "=1+1 劳动教育每周一次。\n@SUM(A1) 劳动实践基地每学期开放两次。\n+2 劳动周安排在五月。\n-3 家务劳动清单每天打卡。\n"
TITLED = "测试小学2024年工作计划\n一、劳动教育\n=1+1 劳动教育每周一次。\n@SUM(A1) 劳动实践基地建设。\n"
MANIFEST = 'b.txt:\n  school: "=HYPERLINK(\\"http://example.com\\")"\n'


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    corpus = tmp_path_factory.mktemp("formula-corpus")
    (corpus / "a.txt").write_text(HOSTILE, encoding="utf-8")
    (corpus / "b.txt").write_text(TITLED, encoding="utf-8")
    (corpus / "manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("formula-home"), corpus)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _download(client: TestClient, url: str, **params: str) -> tuple[bytes, str]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.content, response.headers["content-disposition"]


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))


def _xlsx_rows(body: bytes, sheet: int = 0) -> list[list[Any]]:
    """Cells as the CSV writes them: None -> "", a formula-like text -> 'text; numbers as floats."""
    book = load_workbook(io.BytesIO(body))
    return [[_cell(v) for v in row] for row in book.worksheets[sheet].iter_rows(values_only=True)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return float(value)


def _same_as_csv(rows: list[list[str]]) -> list[list[Any]]:
    """CSV text with numeric cells read as floats (XLSX keeps 0.0 as 0)."""
    return [[_number(cell) for cell in row] for row in rows]


def _number(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell


@pytest.mark.parametrize("theme", ["劳动教育", "特殊教育与融合教育", "劳动 -家务"])
def test_compare_xlsx_holds_the_same_rows_as_the_csv(client: TestClient, theme: str) -> None:
    csv_body, _ = _download(client, "/api/compare", theme=theme, format="csv")
    xlsx_body, _ = _download(client, "/api/compare", theme=theme, format="xlsx")
    rows = _csv_rows(csv_body)
    assert rows[0] == COMPARE_HEADER
    assert _xlsx_rows(xlsx_body) == _same_as_csv(rows)
    result = client.get("/api/compare", params={"theme": theme}).json()
    expected = sum(max(1, len(c["passages"])) for c in result["columns"])  # one empty row per 未提及 plan
    assert len(rows) - 1 == expected


def test_every_comparison_row_cites_school_period_section_and_text(client: TestClient) -> None:
    rows = _csv_rows(_download(client, "/api/compare", theme="劳动教育", format="csv")[0])
    column = {name: i for i, name in enumerate(rows[0])}
    for row in rows[1:]:
        assert row[column["学校"]] and row[column["时期"]]
        assert row[column["章节路径"]] and row[column["段落原文"]]
    assert any(r[column["最相关"]] == "是" and r[column["段落原文"]].startswith("17.深化劳动教育") for r in rows[1:])


def test_matrix_xlsx_holds_the_same_rows_as_the_csv(client: TestClient) -> None:
    csv_body, _ = _download(client, "/api/matrix", format="csv")
    xlsx_body, _ = _download(client, "/api/matrix", format="xlsx")
    rows = _csv_rows(csv_body)
    assert rows[0] == MATRIX_HEADER
    assert _xlsx_rows(xlsx_body) == _same_as_csv(rows)
    themes = client.get("/api/themes").json()["total"]
    assert len(rows) - 1 == themes * 5  # every theme × plan, zeros included
    grid = _xlsx_rows(xlsx_body, sheet=1)
    assert grid[1][:6] == ["劳动教育", 10, 15, 10, 22, 1]


@pytest.mark.parametrize(("url", "params", "ascii_name", "utf8_name"), [
    ("/api/compare", {"theme": "劳动教育", "format": "csv"}, "plans-compare.csv", "主题比较-劳动教育.csv"),
    ("/api/compare", {"theme": "劳动教育", "format": "xlsx"}, "plans-compare.xlsx", "主题比较-劳动教育.xlsx"),
    ("/api/compare", {"theme": 'STEAM OR "a/b"', "format": "csv"}, "plans-compare-STEAM_OR_a_b.csv", "主题比较-STEAM_OR_a_b.csv"),
    ("/api/matrix", {"format": "csv"}, "plans-matrix.csv", "主题矩阵.csv"),
    ("/api/matrix", {"themes": "美育,劳动教育", "format": "xlsx"}, "plans-matrix.xlsx", "主题矩阵-美育_劳动教育.xlsx"),
])
def test_downloads_are_attachments_with_safe_names(client: TestClient, url: str, params: dict[str, str],
                                                   ascii_name: str, utf8_name: str) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert disposition.isascii()
    assert f'filename="{ascii_name}"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == utf8_name
    expected_type = "text/csv" if params["format"] == "csv" else "application/vnd.openxmlformats"
    assert response.headers["content-type"].startswith(expected_type)


@pytest.mark.parametrize("label", ["", "劳动教育", "a/b\\c:d*?\"<>|\n\t", "../../etc/passwd", "x" * 500])
def test_file_names_never_carry_path_or_header_characters(label: str) -> None:
    fallback, name = file_names("compare", label, "csv")
    assert fallback.isascii() and fallback.endswith(".csv")
    for part in (fallback, name):
        assert not any(ch in part for ch in '/\\:*?"<>|\r\n\t')
        assert not part.startswith(".") and len(part) < 100


def test_neutralise_quotes_only_formula_starts() -> None:
    assert [neutralise(v) for v in ("=1+1", "+2", "-3", "@SUM(A1)", "\tx", "\rx", "劳动", "1=1", 3)] == \
           ["'=1+1", "'+2", "'-3", "'@SUM(A1)", "'\tx", "'\rx", "劳动", "1=1", 3]


def test_formula_like_plan_text_comes_out_as_text_in_csv(hostile_client: TestClient) -> None:
    for url, params in (("/api/compare", {"theme": "劳动教育"}), ("/api/matrix", {"themes": "劳动教育"})):
        rows = _csv_rows(_download(hostile_client, url, format="csv", **params)[0])
        cells = [cell for row in rows for cell in row]
        assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
        assert "'=HYPERLINK(\"http://example.com\")" in cells
    rows = _csv_rows(_download(hostile_client, "/api/compare", theme="劳动教育", format="csv")[0])
    texts = [row[-1] for row in rows[1:]]
    assert any(t.startswith("'=1+1 劳动教育每周一次。\n@SUM(A1)") for t in texts)


def test_formula_like_plan_text_comes_out_as_text_in_xlsx(hostile_client: TestClient) -> None:
    body, _ = _download(hostile_client, "/api/compare", theme="劳动教育", format="xlsx")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        sheets = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in xml or "<f " in xml for xml in sheets)  # no formula anywhere
    book = load_workbook(io.BytesIO(body))
    risky = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS)]
    values = {c.value for c in risky}
    assert {"=1+1 劳动教育每周一次。", "@SUM(A1) 劳动实践基地每学期开放两次。", '=HYPERLINK("http://example.com")'} <= values
    for cell in risky:
        assert cell.data_type == "s" and cell.quotePrefix


def test_compare_workbook_is_formatted_for_reading(client: TestClient) -> None:
    """Widths, wrapped text, frozen header, autofilter, percentages, a plan per column, links."""
    body, _ = _download(client, "/api/compare", theme="劳动教育", documents="1,2,5", format="xlsx")
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["主题比较", "并排比较", "量化承诺", "特色词语"]
    result = client.get("/api/compare", params={"theme": "劳动教育", "documents": "1,2,5"}).json()
    main = book["主题比较"]
    header = [c.value for c in main[1]]
    assert header == COMPARE_HEADER and all(c.data_type == "s" and c.font.bold for c in main[1])
    assert main.freeze_panes == "A2" and main.auto_filter.ref == f"A1:Q{main.max_row}"
    share, text = header.index("字数占比") + 1, header.index("段落原文") + 1
    assert {main.cell(row=r, column=share).number_format for r in range(2, main.max_row + 1)} == {"0.0%"}
    assert main.column_dimensions["Q"].width == 60 and main.cell(row=2, column=text).alignment.wrap_text
    assert main.column_dimensions["C"].width == max(len(c["document"]["school"]) for c in result["columns"]) * 2 + 2
    targets = [main.cell(row=r, column=text).hyperlink.target for r in range(2, main.max_row + 1)]
    anchors = [p["anchor"] for c in result["columns"] for p in c["passages"]]
    assert [t.rsplit("#", 1)[1] for t in targets] == anchors
    assert all(t.startswith("http://testserver/documents/") and "?q=" in t for t in targets)
    side = book["并排比较"]
    assert side.max_column == 1 + len(result["columns"]) and side.freeze_panes == "B2"
    labels = [side.cell(row=r, column=1).value for r in range(1, side.max_row + 1)]
    share_row = labels.index("字数占比") + 1
    assert [side.cell(row=share_row, column=k + 2).value for k in range(3)] == [c["coverage"]["share"] for c in result["columns"]]
    assert {side.cell(row=share_row, column=k + 2).number_format for k in range(3)} == {"0.0%"}
    best = labels.index("最相关段落") + 1
    for k, column in enumerate(result["columns"]):
        top = next(p for p in column["passages"] if p["most_relevant"])
        cell = side.cell(row=best, column=k + 2)
        assert top["text"] in cell.value and cell.hyperlink.target.endswith(f"#{top['anchor']}")
    matrix = load_workbook(io.BytesIO(_download(client, "/api/matrix", format="xlsx")[0]))
    long = matrix["主题矩阵"]
    assert long.auto_filter.ref and long.freeze_panes == "A2"
    assert {long.cell(row=r, column=MATRIX_HEADER.index("字数占比") + 1).number_format for r in range(2, long.max_row + 1)} == {"0.0%"}


@pytest.mark.parametrize("url, params", [("/api/compare", {"theme": "劳动教育"}), ("/api/matrix", {"themes": "劳动教育"}),
                                         ("/api/matrix", {})])
def test_no_xlsx_export_holds_a_formula_even_in_its_header_row(hostile_client: TestClient, url: str,
                                                               params: dict[str, str]) -> None:
    body, _ = _download(hostile_client, url, format="xlsx", **params)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        sheets = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in xml or "<f " in xml for xml in sheets)
    headers = [c for sheet in load_workbook(io.BytesIO(body)).worksheets for c in next(sheet.iter_rows())]
    assert all(c.data_type == "s" for c in headers if isinstance(c.value, str))
