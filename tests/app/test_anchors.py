"""Stable passage anchors: the same after re-indexing and after the plan's file is replaced,
for every passage that did not change."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from indexer.pipeline import Pipeline
from tests.app.conftest import FLOW_FILE, FLOW_PLAN, flow_corpus
from tests.conftest import build_home


def _flow_document(client: TestClient) -> dict:
    listing = client.get("/api/documents").json()["documents"]
    document_id = next(d["id"] for d in listing if d["file"] == FLOW_FILE)
    return client.get(f"/api/documents/{document_id}").json()


def test_anchors_survive_the_replacement_of_the_plan_file(tmp_path: Path) -> None:
    corpus = flow_corpus(tmp_path / "corpus")
    settings = build_home(tmp_path / "home", corpus)
    app = create_app(settings)
    with TestClient(app) as client:
        before = _flow_document(client)
        anchors = [p["anchor"] for p in before["passages"]]
        assert len(set(anchors)) == len(anchors)
        hit = client.get("/api/search", params={"q": "家务劳动清单"}).json()["groups"][0]["passages"][0]
        assert hit["anchor"] in anchors

        # one passage reworded, one inserted before others (their positions shift)
        changed = FLOW_PLAN.replace("提升课堂教学质量", "提高课堂教学效率").replace(
            "1.深化校内", "1.新增一条关于作业管理的要求。\n2.深化校内")
        (corpus / FLOW_FILE).write_text(changed, encoding="utf-8")
        report = Pipeline(settings).index([corpus])
        assert not report.failed
        app.state.holder.reload_now()
        after = _flow_document(client)

    old = {p["text"]: p for p in before["passages"]}
    new = {p["text"]: p for p in after["passages"]}
    kept = set(old) & set(new)
    assert len(kept) == len(old) - 1  # one passage changed
    assert all(old[t]["anchor"] == new[t]["anchor"] for t in kept)
    assert any(old[t]["ordinal"] != new[t]["ordinal"] for t in kept)  # moved, same anchor
    gone = next(p for t, p in old.items() if t not in new)
    assert gone["anchor"] not in {p["anchor"] for p in after["passages"]}
    assert hit["anchor"] in {p["anchor"] for p in after["passages"]}


def test_the_document_page_uses_anchors_and_keeps_old_ids_findable(flow_client: TestClient) -> None:
    document = _flow_document(flow_client)
    html = flow_client.get(f"/documents/{document['id']}").text
    for passage in document["passages"]:
        assert f'id="{passage["anchor"]}" data-pid="p{passage["id"]}"' in html
    assert 'class="notice anchor-missing" role="status" hidden' in html
