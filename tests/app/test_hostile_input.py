"""Hostile input that used to answer 500 or leak: quotes in filters, huge ids, long names,
formula-like headers (tests/app/test_export.py), tokens in the access log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.settings import Settings
from tests.conftest import build_home, writable_home

QUOTED_SCHOOL = 'a" OR "b'
PLAN = "{school}2024年工作计划\n一、劳动教育\n劳动教育每周一次，{marker}。\n"
MANIFEST = "quoted.txt:\n  school: '{school}学校'\nplain.txt:\n  school: 'b学校'\n"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def quoted_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Two plans: one whose school holds quotes and OR, one named like the syntax's other half."""
    corpus = tmp_path_factory.mktemp("quoted-corpus")
    (corpus / "quoted.txt").write_text(PLAN.format(school="某", marker="甲"), encoding="utf-8")
    (corpus / "plain.txt").write_text(PLAN.format(school="另", marker="乙"), encoding="utf-8")
    (corpus / "manifest.yaml").write_text(MANIFEST.format(school=QUOTED_SCHOOL), encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("quoted-home"), corpus)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_filter_value_with_quotes_is_a_literal_value(quoted_client: TestClient) -> None:
    response = quoted_client.get("/api/search", params={"q": "劳", "school": QUOTED_SCHOOL})
    assert response.status_code == 200, response.text
    schools = [group["school"] for group in response.json()["groups"]]
    assert schools == [QUOTED_SCHOOL + "学校"]  # not `a` OR `b`: that would find b学校 too


@pytest.mark.parametrize("url, params", [
    ("/", {"q": "劳"}), ("/api/compare", {"theme": "劳动教育"}), ("/api/matrix", {"themes": "劳动教育"}),
])
def test_quotes_in_a_filter_never_answer_500(quoted_client: TestClient, url: str, params: dict[str, str]) -> None:
    response = quoted_client.get(url, params={**params, "school": QUOTED_SCHOOL})
    assert response.status_code == 200, response.text
    if url == "/api/compare":
        assert [c["document"]["school"] for c in response.json()["columns"]] == [QUOTED_SCHOOL + "学校"]
    if url == "/api/matrix":
        assert [d["school"] for d in response.json()["documents"]] == [QUOTED_SCHOOL + "学校"]


def test_a_filter_with_control_characters_is_still_a_400(quoted_client: TestClient) -> None:
    response = quoted_client.get("/api/search", params={"q": "劳", "school": "a\x07b"})
    assert response.status_code == 400 and response.json()["error"] == "control_character"


@pytest.mark.parametrize("ids", ["9" * 4301, "1," + "7" * 5000])
def test_ids_too_long_for_int_are_a_400_on_the_compare_page(quoted_client: TestClient, ids: str) -> None:
    response = quoted_client.get("/compare", params={"theme": "劳动教育", "documents": ids})
    assert response.status_code == 400
    assert "太长" in response.text


def test_ids_too_long_for_int_are_a_400_on_the_api(quoted_client: TestClient) -> None:
    response = quoted_client.get("/api/compare", params={"theme": "劳动教育", "documents": "9" * 1999})
    assert response.status_code == 400 and response.json()["error"] in ("bad_documents", "invalid_parameter")


@pytest.fixture()
def admin_client(sample_home: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = writable_home(sample_home, tmp_path, plans_admin_token=TOKEN)
    with TestClient(create_app(settings)) as test_client:
        yield test_client, settings


def test_a_long_chinese_file_name_is_cut_by_bytes(admin_client: tuple[TestClient, Settings]) -> None:
    client, settings = admin_client
    name = "很" * 86 + ".txt"  # 262 bytes in UTF-8: more than a file name may hold
    body = PLAN.format(school="长名", marker="长名标记").encode()
    response = client.post("/api/documents", files={"file": (name, body)}, headers=AUTH)
    assert response.status_code == 201, response.text
    saved = [p for p in settings.uploads_dir.rglob("*.txt")]
    assert len(saved) == 1 and len(saved[0].name.encode()) <= 255
    assert saved[0].name.endswith(".txt") and set(saved[0].stem) == {"很"}


def test_a_content_length_of_thousands_of_digits_is_a_413(admin_client: tuple[TestClient, Settings]) -> None:
    client, _ = admin_client
    response = client.post("/api/documents", content=b"x", headers={**AUTH, "content-length": "9" * 5000,
                                                                      "content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413, response.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_token_in_the_query_string_never_reaches_the_access_log(sample_home: Settings, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PLANS_HOME": str(sample_home.plans_home), "PLANS_RELOAD_INTERVAL": "-1"}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        response = httpx.get(f"http://127.0.0.1:{port}/api/search?q=劳动&token=leaked-secret&admin_token=other-secret")
        assert response.status_code == 200
    finally:
        server.terminate()
        server.wait(30)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "/api/search?q=" in text  # the request was logged
    assert "leaked-secret" not in text and "other-secret" not in text
    assert "token=[redacted]" in text
