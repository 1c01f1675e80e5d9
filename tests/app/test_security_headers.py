"""Every answer, page or API, success or error, carries the security headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.security import CONTENT_SECURITY_POLICY

PATHS = [
    "/", "/?q=劳动教育", "/?q=%22unclosed", "/documents/1", "/documents/1?q=德#p3", "/documents/999999",
    "/compare", "/compare?theme=劳动教育", "/static/style.css", "/api/search?q=德", "/api/search?q=(",
    "/api/documents", "/api/documents/1", "/api/documents/0", "/api/themes", "/api/compare?theme=劳动教育",
    "/api/compare?theme=劳动教育&format=csv", "/api/matrix?format=xlsx", "/healthz", "/openapi.json", "/no/such/page",
]


@pytest.mark.parametrize("path", PATHS)
def test_headers_on_every_answer(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code < 500
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_upload_and_delete_answer_with_headers_too(client: TestClient) -> None:
    for response in (client.post("/api/documents", files={"file": ("a.txt", b"x")}), client.delete("/api/documents/1")):
        assert response.status_code in (401, 403, 404)
        assert response.headers["x-frame-options"] == "DENY"
        assert response.json()["message"]
