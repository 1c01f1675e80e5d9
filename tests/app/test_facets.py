"""Facets: counts of plans with passages beside them, several values ORed within a facet and
ANDed across, a chosen facet still listing its other values, the year facet by year."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient


def _search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", params={"size": 100, "per_group": 0, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _plans(result: dict[str, Any]) -> set[int]:
    return {g["document_id"] for g in result["groups"]}


def test_values_of_one_facet_are_ored_and_facets_anded(client: TestClient) -> None:
    jin = _search(client, q="劳动", school="金茵")
    hai = _search(client, q="劳动", school="海王路")
    assert _plans(jin) and _plans(hai) and not _plans(jin) & _plans(hai)
    both = _search(client, q="劳动", school=["金茵", "海王路"])
    assert _plans(both) == _plans(jin) | _plans(hai)
    assert _plans(_search(client, q="劳动", school="金茵,海王路")) == _plans(both)  # a comma list is the same
    assert _plans(_search(client, q="劳动", school="金茵，海王路")) == _plans(both)
    years = {g["year"] for g in both["groups"]}
    one_year = sorted(years)[0]
    narrowed = _search(client, q="劳动", school=["金茵", "海王路"], year=str(one_year))
    assert _plans(narrowed) == {g["document_id"] for g in both["groups"] if g["year"] == one_year}


def test_a_chosen_facet_still_shows_its_other_values_with_their_counts(client: TestClient) -> None:
    everything = _search(client, q="劳动")
    chosen = everything["facets"]["school"][0]["value"]
    filtered = _search(client, q="劳动", school=chosen)
    assert [b["value"] for b in filtered["facets"]["school"]] == [b["value"] for b in everything["facets"]["school"]]
    assert [(b["count"], b["passages"]) for b in filtered["facets"]["school"]] == \
        [(b["count"], b["passages"]) for b in everything["facets"]["school"]]
    assert [b["value"] for b in filtered["facets"]["school"] if b["selected"]] == [chosen]
    # the other facets are counted over the selection
    assert sum(b["count"] for b in filtered["facets"]["year"]) == filtered["documents"] == 1


def test_counts_are_plans_with_passages_beside_them(client: TestClient) -> None:
    result = _search(client, q="教育")
    for bucket in result["facets"]["level"]:
        plans = [g for g in result["groups"] if g["level"] == bucket["value"]]
        assert bucket["count"] == len(plans)
        assert bucket["passages"] == sum(g["hits"] for g in plans)
    assert [b["value"] for b in result["facets"]["year"]] == sorted((b["value"] for b in result["facets"]["year"]), reverse=True)


def test_toggle_urls_add_and_remove_a_value(client: TestClient) -> None:
    result = _search(client, q="劳动", school="金茵")
    by_value = {b["value"]: b for b in result["facets"]["school"]}
    typed = by_value["金茵"]  # a part of a name typed in the URL: still listed, selected, with what it selects
    assert typed["selected"] and typed["count"] == 1 and typed["passages"] == result["total"]
    assert "school" not in parse_qs(urlsplit(typed["toggle_url"]).query)
    other = next(b for b in result["facets"]["school"] if not b["selected"] and "金茵" not in b["value"])
    added = client.get(other["toggle_url"]).json()
    assert parse_qs(urlsplit(other["toggle_url"]).query)["school"] == [f"金茵,{other['value']}"]
    assert added["documents"] == 2


@pytest.mark.parametrize("params", [
    [("q", "劳动")],
    [("q", "劳动 OR 教育"), ("school", "金茵"), ("school", "海王路"), ("page", "2"), ("size", "3"), ("level", "小学")],
    [("q", "教育"), ("year", "2020-2024"), ("region", "常州 & 新北"), ("per_group", "0")],
])
def test_every_toggle_url_is_this_search_with_the_facet_changed(client: TestClient, params: list[tuple[str, str]]) -> None:
    """Each toggle URL is the request's own parameters, page and the facet itself left out, plus
    the facet's new selection: encoded as the standard library encodes the whole list."""
    result = client.get("/api/search?" + urlencode(params)).json()
    for name, buckets in result["facets"].items():
        selected = [part for k, v in params if k == name for part in v.split(",")]
        others = [(k, v) for k, v in params if k not in (name, "page")]
        for bucket in buckets:
            values = [v for v in selected if v != bucket["value"]] if bucket["selected"] else [*selected, bucket["value"]]
            assert bucket["toggle_url"] == "/api/search?" + urlencode(others + ([(name, ",".join(values))] if values else []))


def test_the_page_shows_top_values_and_more_with_a_search(client: TestClient) -> None:
    from app.routes import pages

    original = pages.FACET_TOP
    pages.FACET_TOP = 2  # five sample schools: two on top, three under 更多
    try:
        html = client.get("/", params={"q": "教育"}).text
        last = client.get("/api/search", params={"q": "教育"}).json()["facets"]["school"][-1]["value"]
        searched = client.get("/", params={"q": "教育", "more": "school", "more_q": last[-4:]}).text
    finally:
        pages.FACET_TOP = original
    assert "更多（3）" in html and 'name="more_q"' in html
    schools = html.split('data-facet="school"')[1].split("</section>")[0]
    top, rest = schools.split('<details class="facet-more">')
    assert top.count("<li>") == 2 and rest.count("<li>") == 3 and last in rest
    assert '<details class="facet-more" open>' in searched
    found = searched.split('<ul class="facet-rest">')[1].split("</ul>")[0]
    assert last in found and found.count("<li>") == 1
    assert '<a class="skip-facets" href="#results">' in html and 'id="results" tabindex="-1"' in html
