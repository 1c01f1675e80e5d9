"""/api/suggest: words of the index's Whoosh words field, themes and schools, by document frequency."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.snapshot import Snapshot
from indexer.settings import Settings


def test_words_come_from_the_index_ranked_by_passages(client: TestClient, sample_home: Settings) -> None:
    body = client.get("/api/suggest", params={"prefix": "劳动", "limit": 50}).json()
    words = [s for s in body["suggestions"] if s["kind"] == "word"]
    assert words and all(s["text"].startswith("劳动") for s in words)
    snapshot = Snapshot(sample_home.index_dir)
    for s in words:  # brute force: passages whose jieba words include it
        assert s["passages"] == sum(1 for i in range(snapshot.size) if s["text"] in snapshot.words(i))
    counts = [s["passages"] for s in body["suggestions"]]
    assert counts == sorted(counts, reverse=True)
    assert any(s["kind"] == "theme" and s["text"] == "劳动教育" for s in body["suggestions"])


def test_schools_match_inside_their_name(client: TestClient) -> None:
    body = client.get("/api/suggest", params={"prefix": "金茵"}).json()
    assert {"text": "临淄区金茵小学", "kind": "school", "passages": 1} in body["suggestions"]


def test_limit_and_bad_prefixes(client: TestClient) -> None:
    assert len(client.get("/api/suggest", params={"prefix": "教", "limit": 3}).json()["suggestions"]) == 3
    assert client.get("/api/suggest", params={"prefix": "，。"}).json()["suggestions"] == []
    for params in ({}, {"prefix": ""}, {"prefix": "x" * 51}, {"prefix": "教", "limit": 0}):
        response = client.get("/api/suggest", params=params)
        assert response.status_code == 400 and response.json()["message"]
