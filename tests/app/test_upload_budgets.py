"""Uploads past a reader's budget: a 422 that names the limit, and nothing stored changes."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from indexer import reading
from indexer.settings import Settings
from tests.app.test_admin_api import _stored, _upload, admin, template  # noqa: F401 (fixtures)
from tests.fixtures_docs import docx_bytes


def _docx_bomb() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["某校工作计划", "坚持立德树人。"])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            archive.writestr(item, source.read(item))
        archive.writestr("customXml/bloat.xml", b"<a>" + b" " * (reading.MAX_DOCX_XML_BYTES + 1) + b"</a>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "limit"),
    [
        ("bomb.docx", _docx_bomb(), "MAX_DOCX_XML_BYTES"),
        ("deep.html", ("<html><body>" + "<div>" * 10_000 + "计划" + "</div>" * 10_000 + "</body></html>").encode(), "MAX_HTML_DEPTH"),
    ],
)
def test_a_file_past_a_budget_is_422_naming_the_limit(admin: tuple[TestClient, Settings], name: str, data: bytes, limit: str) -> None:
    client, settings = admin
    before = _stored(settings)
    response = _upload(client, name, data)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "unreadable_file" and limit in body["message"] and name in body["message"]
    assert _stored(settings) == before
