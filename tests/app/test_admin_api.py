"""POST /api/documents and DELETE /api/documents/{id}: the token, the size limit, bad files, the indexer child.

Each test serves its own copy of the indexed samples with reloading off
(PLANS_RELOAD_INTERVAL=-1), so a change seen in search proves the endpoint itself loaded
the generation its indexer child committed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.main import create_app
from indexer import store
from indexer.locking import indexer_lock
from indexer.settings import DATA_DIR, Settings
from tests.conftest import catalog_passages, writable_home
from tests.fixtures_docs import docx_bytes, paragraphs, pdf_bytes, scanned_pdf_bytes

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[4]  # 常州市焦溪小学2022年春学期工作计划
MARKER = "独一无二的上传标记"


def _new_plan() -> list[str]:
    text = SAMPLE.read_text(encoding="utf-8").replace("焦溪小学", "芙蓉小学")
    return paragraphs(text) + [f"七、附则\n本计划含{MARKER}。"]


@pytest.fixture()
def template(sample_home: Settings) -> Settings:
    return sample_home


def _serve(template: Settings, tmp_path: Path, **overrides: Any) -> Settings:
    return writable_home(template, tmp_path, **overrides)


@pytest.fixture()
def admin(template: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = _serve(template, tmp_path, plans_admin_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _stored(settings: Settings) -> tuple[Any, ...]:
    """Everything an upload or delete may change: catalog rows, index generation, uploaded files."""
    plans = sorted({(plan.id, plan.sha256) for plan, _ in catalog_passages(settings)})
    uploads = sorted(str(p.relative_to(settings.plans_home)) for p in settings.plans_home.glob("uploads/**/*") if p.is_file())
    return plans, store.open_index(settings.index_dir).latest_generation(), uploads


def _upload(client: TestClient, name: str, data: bytes, headers: dict[str, str] | None = AUTH) -> Any:
    return client.post("/api/documents", files={"file": (name, data)}, headers=headers)


def _search(client: TestClient, q: str) -> list[int]:
    response = client.get("/api/search", params={"q": q, "per_group": 0})
    assert response.status_code == 200, response.text
    return [group["document_id"] for group in response.json()["groups"]]


# -- the guard ------------------------------------------------------------------------------------


def test_without_a_token_configured_uploads_and_deletes_are_off(template: Settings, tmp_path: Path) -> None:
    settings = _serve(template, tmp_path)
    before = _stored(settings)
    with TestClient(create_app(settings)) as client:
        for headers in ({}, AUTH):
            for response in (_upload(client, "plan.docx", docx_bytes(_new_plan()), headers),
                             client.delete("/api/documents/1", headers=headers)):
                assert response.status_code == 403
                assert response.json() == {"error": "forbidden", "message": "上传和删除未开启：服务器没有设置 PLANS_ADMIN_TOKEN。"}
    assert _stored(settings) == before


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "需要管理令牌：请求头 Authorization: Bearer <PLANS_ADMIN_TOKEN>。"),
        ({"Authorization": TOKEN}, "需要管理令牌：请求头 Authorization: Bearer <PLANS_ADMIN_TOKEN>。"),
        ({"Authorization": f"Basic {TOKEN}"}, "需要管理令牌：请求头 Authorization: Bearer <PLANS_ADMIN_TOKEN>。"),
        ({"Authorization": "Bearer wrong"}, "管理令牌不正确。"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "管理令牌不正确。"),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "管理令牌不正确。"),
    ],
)
def test_a_missing_or_wrong_token_is_401(admin: tuple[TestClient, Settings], headers: dict[str, str], message: str) -> None:
    client, settings = admin
    before = _stored(settings)
    for response in (_upload(client, "plan.docx", docx_bytes(_new_plan()), headers),
                     client.delete("/api/documents/1", headers=headers)):
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "message": message}
        assert response.headers["www-authenticate"] == "Bearer"
    assert _stored(settings) == before


# -- upload and delete ----------------------------------------------------------------------------


def test_an_upload_is_searchable_at_once_and_a_delete_removes_it(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    assert _search(client, MARKER) == []
    data = docx_bytes(_new_plan())
    response = _upload(client, "../../芙蓉小学 2022 计划.docx", data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("status", "file", "format", "school", "period", "year", "level")} == {
        "status": "added", "file": "芙蓉小学 2022 计划.docx", "format": "docx",
        "school": "常州市芙蓉小学", "period": "2022年春学期", "year": 2022, "level": "小学",
    }
    plan_id = body["id"]
    assert _search(client, MARKER) == [plan_id]
    detail = client.get(f"/api/documents/{plan_id}").json()
    assert detail["passage_count"] == len(detail["passages"]) == body["passage_count"]
    uploaded = list((settings.plans_home / "uploads").glob("*/*.docx"))
    assert [p.name for p in uploaded] == ["芙蓉小学 2022 计划.docx"] and uploaded[0].read_bytes() == data

    again = _upload(client, "another name.docx", data)  # the same bytes: the same plan
    assert again.status_code == 200 and again.json()["status"] == "unchanged" and again.json()["id"] == plan_id

    assert client.delete(f"/api/documents/{plan_id}", headers=AUTH).status_code == 204
    assert _search(client, MARKER) == []
    assert client.get(f"/api/documents/{plan_id}").status_code == 404
    assert list((settings.plans_home / "uploads").glob("*/*")) == []
    missing = client.delete(f"/api/documents/{plan_id}", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": f"没有编号为 {plan_id} 的计划。"}


def test_deleting_a_plan_from_a_folder_keeps_its_file(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    ids = _search(client, "焦溪")
    assert len(ids) == 1
    assert client.delete(f"/api/documents/{ids[0]}", headers=AUTH).status_code == 204
    assert _search(client, "焦溪") == []
    assert SAMPLE.exists()
    assert ids[0] not in {plan.id for plan, _ in catalog_passages(settings)}


def test_a_pdf_upload(admin: tuple[TestClient, Settings]) -> None:
    client, _ = admin
    response = _upload(client, "plan.pdf", pdf_bytes(_new_plan()))
    assert response.status_code == 201, response.text
    assert (response.json()["format"], response.json()["school"]) == ("pdf", "常州市芙蓉小学")
    assert _search(client, MARKER) == [response.json()["id"]]


def test_the_server_leaves_reading_uploads_to_its_indexer_child(template: Settings, tmp_path: Path) -> None:
    """The file readers (python-docx, pypdf, lxml …) are loaded by the child only: the server's
    memory and its first upload do not pay for them, and no upload is parsed twice."""
    settings = _serve(template, tmp_path, plans_admin_token=TOKEN)
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "from indexer.settings import get_settings\n"
        "from tests.app.test_admin_api import AUTH, _new_plan\n"
        "from tests.fixtures_docs import docx_bytes\n"
        "data = docx_bytes(_new_plan())\n"
        "readers = ('indexer.reading', 'docx', 'pypdf')\n"
        "for name in readers:\n"
        "    sys.modules.pop(name, None)  # the test's own helpers imported python-docx\n"
        f"settings = get_settings(plans_home=Path({str(settings.plans_home)!r}), plans_admin_token={TOKEN!r})\n"
        "with TestClient(create_app(settings)) as client:\n"
        "    good = client.post('/api/documents', files={'file': ('plan.docx', data)}, headers=AUTH)\n"
        "    bad = client.post('/api/documents', files={'file': ('bad.docx', b'not a docx')}, headers=AUTH)\n"
        "print(good.status_code, bad.status_code, [name for name in readers if name in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "201 422 []\n"


# -- bad input ------------------------------------------------------------------------------------

JUNK = bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "无法作为计划读取 empty.txt：file is empty"),
        ("junk.txt", JUNK, "无法作为计划读取 junk.txt：not a text, Word, PDF or HTML file (binary data)"),
        ("plan.docx", "学校工作计划".encode(), "无法作为计划读取 plan.docx：not a Word .docx file (it looks like plain text)"),
        ("scan.pdf", scanned_pdf_bytes(), "无法作为计划读取 scan.pdf：PDF has no text layer (scanned image?); OCR it first"),
        # readable, but nothing is left once portal chrome is cleaned away: refused by the indexer child
        ("chrome.txt", "字号：\n打印\n关闭窗口\n".encode(), "无法作为计划读取 chrome.txt：no text left after cleaning"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_and_nothing_changes(
    admin: tuple[TestClient, Settings], name: str, data: bytes, message: str
) -> None:
    client, settings = admin
    before = _stored(settings)
    response = _upload(client, name, data)
    assert response.status_code == 422
    assert response.json() == {"error": "unreadable_file", "message": message}
    assert _stored(settings) == before


def test_not_a_multipart_upload_is_400(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    before = _stored(settings)
    raw = client.post("/api/documents", content=docx_bytes(_new_plan()), headers=AUTH)
    assert raw.status_code == 400 and "multipart/form-data" in raw.json()["message"]
    wrong_field = client.post("/api/documents", files={"upload": ("plan.txt", b"x")}, headers=AUTH)
    assert wrong_field.status_code == 400 and "字段 file" in wrong_field.json()["message"]
    assert _stored(settings) == before


def test_an_actual_size_over_the_limit_is_413(template: Settings, tmp_path: Path) -> None:
    settings = _serve(template, tmp_path, plans_admin_token=TOKEN, plans_max_upload_bytes=100_000)
    before = _stored(settings)
    text = "\n".join(paragraphs(SAMPLE.read_text(encoding="utf-8"))).encode()
    with TestClient(create_app(settings)) as client:
        # just over the limit: the Content-Length is within the multipart slack, the file is not
        response = _upload(client, "plan.txt", (text * 10)[:100_001])
        assert response.status_code == 413
        assert response.json() == {"error": "too_large", "message": "上传太大：0.1 MB，上限 0.1 MB（PLANS_MAX_UPLOAD_BYTES）。"}

        def chunks() -> Iterator[bytes]:  # no Content-Length at all: counted while it streams
            boundary = b"--b0undary"
            yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
            for _ in range(40):
                yield text
            yield b"\r\n" + boundary + b"--\r\n"

        streamed = client.post("/api/documents", content=chunks(),
                               headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b0undary"})
        assert streamed.status_code == 413 and streamed.json()["error"] == "too_large"
    assert _stored(settings) == before


def test_a_too_big_content_length_is_refused_before_the_body_is_read(template: Settings, tmp_path: Path) -> None:
    """A live server answers 413 to the headers alone: it never waits for 50 MB that never come."""
    settings = _serve(template, tmp_path, plans_admin_token=TOKEN)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"POST /api/documents HTTP/1.1\r\nHost: localhost\r\n"
                + f"Authorization: Bearer {TOKEN}\r\n".encode()
                + b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 52428800\r\n\r\n--x\r\n"
            )
            answer = _response(connection).decode("utf-8")
        assert answer.startswith("HTTP/1.1 413 ")
        assert "上传太大：50.0 MB，上限 20.0 MB（PLANS_MAX_UPLOAD_BYTES）。" in answer
    finally:
        server.should_exit = True
        thread.join(10)


def _response(connection: socket.socket) -> bytes:
    """One whole HTTP response: the head and then its Content-Length in body, however the
    bytes were split into segments (one recv may return the head alone)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _content_length(data):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _content_length(data: bytes) -> int:
    found = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", data.partition(b"\r\n\r\n")[0])
    return int(found[1]) if found else 0


# -- a busy indexer -------------------------------------------------------------------------------


def test_while_another_indexer_holds_the_lock_the_answer_is_503_naming_it(template: Settings, tmp_path: Path) -> None:
    settings = _serve(template, tmp_path, plans_admin_token=TOKEN, plans_admin_wait=0.2)
    before = _stored(settings)
    with TestClient(create_app(settings)) as client, indexer_lock(settings.plans_home):
        for response in (_upload(client, "plan.docx", docx_bytes(_new_plan())),
                         client.delete("/api/documents/1", headers=AUTH)):
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "unavailable"
            assert f"another indexer (pid {os.getpid()}) is writing to {settings.plans_home.resolve()}" in response.json()["message"]
    assert _stored(settings) == before
