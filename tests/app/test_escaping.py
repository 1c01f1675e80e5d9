"""A plan carrying HTML and script: the API returns it as text and escapes every highlight."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import build_home

HOSTILE = """测试小学2024年工作计划
一、安全教育<script>alert(1)</script>
全体师生参加<script>alert(1)</script>演练。
1.加强安全教育。<img src=x onerror="alert(2)">每周开展一次安全教育活动，“安全第一”。
2.家校协同&amp;共育。<b>家长</b>学校每学期至少一次。
"""


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("hostile-home"), corpus)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("query", ["安全", "script", "alert", "<b>", "&amp;", 'onerror=', "家长"])
def test_highlight_escapes_everything_but_mark(hostile_client: TestClient, query: str) -> None:
    response = hostile_client.get("/api/search", params={"q": query, "per_group": 0})
    assert response.status_code == 200, response.text
    passages = [p for g in response.json()["groups"] for p in g["passages"]]
    for passage in passages:
        stripped = passage["highlight"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped
        assert '"' not in stripped


def test_text_is_returned_as_plain_text(hostile_client: TestClient) -> None:
    body = hostile_client.get("/api/search", params={"q": "script"}).json()
    passage = body["groups"][0]["passages"][0]
    assert "<script>alert(1)</script>" in passage["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in passage["highlight"].replace("<mark>", "").replace("</mark>", "")


def test_document_detail_keeps_text_plain(hostile_client: TestClient) -> None:
    document = hostile_client.get("/api/documents").json()["documents"][0]
    detail = hostile_client.get(f"/api/documents/{document['id']}", params={"q": "家长"}).json()
    texts = "\n".join(p["text"] for p in detail["passages"])
    assert '<img src=x onerror="alert(2)">' in texts
    assert all("<img" not in (p["highlight"] or "") for p in detail["passages"])

