"""The plan list: filters, sort, pagination, and its JSON / CSV twins (the home page's data)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.search_export import LABELS


def _list(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/documents", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_without_parameters_every_plan_by_id_as_before(client: TestClient) -> None:
    body = _list(client)
    assert body["total"] == len(body["documents"]) == 5 and body["size"] is None
    assert [d["id"] for d in body["documents"]] == sorted(d["id"] for d in body["documents"])


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"level": "小学"}, lambda d: "小学" in (d["level"] or "") + (d["kind"] or "")),
        ({"region": "淄博"}, lambda d: "淄博" in (d["region"] or "")),
        ({"school": "金茵,焦溪"}, lambda d: any(s in (d["school"] or d["title"] or "") for s in ("金茵", "焦溪"))),
        ({"year": "2024"}, lambda d: d["year"] == 2024),
        ({"year": "2022-2024", "region": "淄博"}, lambda d: 2022 <= (d["year"] or 0) <= 2024 and "淄博" in (d["region"] or "")),
        ({"kind": "school"}, lambda d: d["kind"] == "school"),
    ],
    ids=repr,
)
def test_filters(client: TestClient, params: dict[str, str], keep: Any) -> None:
    every = _list(client)["documents"]
    body = _list(client, **params)
    assert [d["id"] for d in body["documents"]] == [d["id"] for d in every if keep(d)]
    assert body["total"] == len(body["documents"]) > 0


@pytest.mark.parametrize(
    ("sort", "key"),
    [("year", lambda d: (-(d["year"] or 0), d["id"])), ("school", lambda d: (d["school"] or d["title"] or "", d["id"])),
     ("size", lambda d: (-(d["chars"] or 0), d["id"]))],
)
def test_sorts_and_pages(client: TestClient, sort: str, key: Any) -> None:
    expected = [d["id"] for d in sorted(_list(client)["documents"], key=key)]
    pages = [_list(client, sort=sort, size=2, page=n) for n in (1, 2, 3)]
    assert [d["id"] for p in pages for d in p["documents"]] == expected
    assert all(p["total"] == 5 for p in pages)


def test_csv_twin_has_the_same_plans(client: TestClient) -> None:
    response = client.get("/api/documents", params={"level": "小学", "sort": "year", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    body = _list(client, level="小学", sort="year")
    assert [int(r[LABELS["document_id"]]) for r in rows] == [d["id"] for d in body["documents"]]
    assert rows[0][LABELS["link"]] == f"/documents/{body['documents'][0]['id']}"


def test_bad_parameters(client: TestClient) -> None:
    for params in ({"sort": "random"}, {"size": 0}, {"page": 0}, {"year": "abc"}):
        response = client.get("/api/documents", params=params)
        assert response.status_code == 400, params
        assert response.json()["message"]


def test_the_home_page_lists_the_same_page(client: TestClient) -> None:
    html = client.get("/", params={"region": "淄博", "sort": "year"}).text
    body = _list(client, region="淄博", sort="year")
    positions = [html.index(f'href="/documents/{d["id"]}"') for d in body["documents"]]
    assert positions == sorted(positions)
    assert f'已收录的计划（{body["total"]} 份符合筛选）' in html
    assert 'href="/api/documents?region=%E6%B7%84%E5%8D%9A&amp;sort=year&amp;format=csv"' in html
    bad = client.get("/", params={"year": "abc"})
    assert bad.status_code == 400 and "筛选条件有误" in bad.text
