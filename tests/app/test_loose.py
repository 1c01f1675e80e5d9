"""match=loose (punctuation and spaces ignored) against a brute-force scan of the catalog, and the
suggestion an exact search gives when a long needle finds nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.loose import project
from indexer.cleaning import normalize
from indexer.settings import Settings
from tests.conftest import countable_passages


def _all(client: TestClient, q: str, **params: str) -> dict:
    response = client.get("/api/search", params={"q": q, "size": 100, "per_group": 0, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("query", "marked"),
    [("校内双减工作", "校内“双减”工作"), ("培训展示活动树立典型", "培训展示活动，树立典型"),
     ("评选劳动小能手展示", "评选劳动小能手 , 展示"),
     ("双减背景下校内作业", "双减”背景下，校内作业")],  # a passage that starts with punctuation
)
def test_a_half_remembered_sentence_gets_a_loose_suggestion_that_finds_it(flow_client: TestClient, query: str, marked: str) -> None:
    exact = _all(flow_client, query)
    assert exact["total"] == 0
    loose = _all(flow_client, query, match="loose")
    assert exact["loose"] == {"terms": [query], "total": loose["total"], "documents": loose["documents"]}
    assert loose["total"] >= 1 and loose["query"]["match"] == "loose" and loose["loose"] is None
    flow = [g for g in loose["groups"] if g["school"] == "临淄区示例实验小学"]
    assert flow and f"<mark>{marked}</mark>" in flow[0]["passages"][0]["highlight"]


def test_no_suggestion_when_the_needle_is_found_or_short(flow_client: TestClient) -> None:
    assert _all(flow_client, "劳动教育")["loose"] is None
    assert _all(flow_client, "双减工")["loose"] is None  # under 4 characters: no suggestion


@pytest.mark.parametrize("query", ["校内双减工作", "双减", "劳动 教育", '"星光闪耀 自主成长"', "劳动，教育", "活动 -劳动", "树立典型 OR 以点带面"])
def test_loose_matches_exactly_the_passages_whose_projection_holds_the_needle(
    flow_client: TestClient, flow_home: Settings, query: str
) -> None:
    from app.query import And, Not, Or, Term, parse

    node = parse(query)

    def holds(text: str, n: object) -> bool:
        if isinstance(n, Term):
            return project(n.needle) in text
        if isinstance(n, Not):
            return not holds(text, n.child)
        if isinstance(n, And):
            return all(holds(text, c) for c in n.children)
        assert isinstance(n, Or)
        return any(holds(text, c) for c in n.children)

    truth = {p.id for _, p in countable_passages(flow_home) if holds(project(normalize(p.text)), node)}
    found = {p["id"] for g in _all(flow_client, query, match="loose")["groups"] for p in g["passages"]}
    assert found == truth


def test_match_must_be_exact_or_loose(flow_client: TestClient) -> None:
    response = flow_client.get("/api/search", params={"q": "劳动", "match": "fuzzy"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_parameter"


def test_the_search_page_links_to_the_loose_search(flow_client: TestClient) -> None:
    html = flow_client.get("/", params={"q": "校内双减工作"}).text
    assert "忽略标点和空格后" in html and 'href="/?q=%E6%A0%A1%E5%86%85%E5%8F%8C%E5%87%8F%E5%B7%A5%E4%BD%9C&amp;match=loose"' in html
    loose = flow_client.get("/", params={"q": "校内双减工作", "match": "loose"}).text
    assert "<mark>校内“双减”工作</mark>" in loose and "改回精确匹配" in loose
