"""Search results as CSV and XLSX: every matching passage, the screen's column names, links that
open the passage; CSV streams; gzip on large answers without breaking streaming or headers."""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient

from app.search_export import LABELS, SEARCH_COLUMNS

HEADER = [c.label for c in SEARCH_COLUMNS]


def _every_passage(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/api/search", params={"size": 100, "per_group": 0, **params}).json()
    return [{**p, "group": g} for g in body["groups"] for p in g["passages"]]


def _csv(client: TestClient, **params: Any) -> list[list[str]]:
    response = client.get("/api/search", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_holds_every_matching_passage_in_result_order(client: TestClient) -> None:
    passages = _every_passage(client, q="教育")
    rows = _csv(client, q="教育")
    assert rows[0] == HEADER
    assert len(rows) - 1 == len(passages) > 50  # beyond the first page of results
    for row, passage in zip(rows[1:], passages):
        record = dict(zip(HEADER, row))
        assert record[LABELS["text"]] == passage["text"]
        assert record[LABELS["section"]] == " › ".join(passage["section"])
        assert record[LABELS["school"]] == passage["group"]["school"]
        assert record[LABELS["link"]].endswith("#" + passage["anchor"])
        assert record[LABELS["link"]].startswith(f"/documents/{passage['group']['document_id']}?q=")


def test_a_link_opens_the_plan_at_the_passage(client: TestClient) -> None:
    link = dict(zip(HEADER, _csv(client, q="劳动教育")[1]))[LABELS["link"]]
    path, anchor = link.split("#")
    html = client.get(path).text
    assert f'id="{anchor}"' in html and "<mark>劳动教育</mark>" in html


def test_xlsx_is_readable(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "劳动", "school": "金茵,海王路", "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    passages = _every_passage(client, q="劳动", school="金茵,海王路")
    assert list(rows[0]) == HEADER and len(rows) - 1 == len(passages)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{len(rows)}"
    text_column = HEADER.index(LABELS["text"]) + 1
    assert sheet.column_dimensions["G"].width >= 60
    assert sheet.cell(row=2, column=text_column).alignment.wrap_text
    link = sheet.cell(row=2, column=len(HEADER))
    assert link.hyperlink is not None and link.hyperlink.target == "http://testserver" + link.value
    assert link.value.endswith("#" + passages[0]["anchor"])


def test_a_bad_query_is_a_400_before_any_row(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": '"unclosed', "format": "csv"})
    assert response.status_code == 400 and response.json()["error"] == "unbalanced_quote"


def test_the_search_page_links_to_both_downloads(client: TestClient) -> None:
    html = client.get("/", params={"q": "劳动", "school": "金茵"}).text
    assert 'href="/api/search?q=%E5%8A%B3%E5%8A%A8&amp;school=%E9%87%91%E8%8C%B5&amp;sort=relevance&amp;format=csv"' in html
    assert "format=xlsx" in html


def test_gzip_for_large_answers_keeps_streaming_and_security_headers(client: TestClient) -> None:
    plain = client.get("/api/search", params={"q": "教育", "format": "csv"}, headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/search", params={"q": "教育", "format": "csv"}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # decoded by the client: the same file
    for response in (plain, packed):
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/", params={"q": "教育"}, headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and page.headers["x-frame-options"] == "DENY"
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1000 and "content-encoding" not in small.headers


def test_gzip_bodies_are_real_gzip(client: TestClient) -> None:
    with client.stream("GET", "/api/documents", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw).startswith(b'{"total"')


def test_the_cli_uses_the_same_renderers(client: TestClient, sample_home: Any, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    env = {"PLANS_HOME": str(sample_home.plans_home)}
    result = CliRunner().invoke(cli, ["search", "劳动教育", "--format", "csv", "-o", str(tmp_path / "out.csv")], env=env)
    assert result.exit_code == 0, result.output
    api = client.get("/api/search", params={"q": "劳动教育", "format": "csv"}).content
    assert (tmp_path / "out.csv").read_bytes() == api
    table = CliRunner().invoke(cli, ["search", "劳动教育", "--format", "table"], env=env)
    assert table.exit_code == 0 and table.output.splitlines()[0].split() == HEADER
    assert len(table.output.splitlines()) == len(_every_passage(client, q="劳动教育")) + 1
    bad = CliRunner().invoke(cli, ["search", "劳动教育", "--format", "pdf"], env=env)
    assert bad.exit_code != 0
