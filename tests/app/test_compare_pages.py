"""The compare page at scale: the summary table, picked cards, explicit empty selections, the
tray carried in the URL, the paged matrix; on the samples and on 60 generated plans."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.models import CompareSummary
from app.routes.compare_pages import MATRIX_PLANS, MAX_CARDS, ROWS_PER_PAGE
from bench.generate import generate
from tests.conftest import build_home

MANY = 60


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    corpus = tmp_path_factory.mktemp("many-corpus")
    generate(corpus, plans=MANY)
    for extra in corpus.glob("*.json"):
        extra.unlink()
    with TestClient(create_app(build_home(tmp_path_factory.mktemp("many-home"), corpus))) as test_client:
        yield test_client


def _rows(html: str) -> list[str]:
    """The summary table's plan names, in order."""
    body = html.split('<table class="plans coverage-table">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td><a href="/documents/\d+[^"]*">([^<]+)</a>', body)


def _params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href.replace("&amp;", "&")).query)


# -- the summary table ---------------------------------------------------------------------


@pytest.mark.parametrize(("sort", "order"), [("mentions", "desc"), ("school", "asc"), ("per_10k", "asc"),
                                              ("passages", "desc"), ("prominence", "desc"), ("period", "asc")])
def test_the_summary_table_is_the_api_summary_in_its_order(client: TestClient, sort: str, order: str) -> None:
    api = client.get("/api/compare/summary", params={"theme": "劳动教育", "sort": sort, "order": order}).json()
    CompareSummary.model_validate(api)
    html = client.get("/compare", params={"theme": "劳动教育", "sort": sort, "order": order}).text
    assert _rows(html) == [r["document"]["school"] for r in api["rows"]]
    assert f"所选 <strong>{api['documents']}</strong> 个计划：<strong>{api['mentioning']}</strong> 个提及" in html
    assert f"{api['share'] * 100:.1f}%" in html
    current = re.search(r'aria-sort="(ascending|descending)"><a href="([^"]+)"', html)
    assert current and current.group(1) == ("ascending" if order == "asc" else "descending")
    flipped = _params(current.group(2))
    assert flipped.get("order", ["desc"]) == ["desc" if order == "asc" else "asc"]  # a second click reverses


def test_summary_figures_equal_the_compare_columns(client: TestClient) -> None:
    api = client.get("/api/compare/summary", params={"theme": "课后服务", "size": 0}).json()
    columns = {c["document"]["document_id"]: c for c in client.get("/api/compare", params={"theme": "课后服务"}).json()["columns"]}
    assert len(api["rows"]) == len(columns) == api["documents"]
    for row in api["rows"]:
        column = columns[row["document"]["document_id"]]
        assert {k: row[k] for k in ("passages", "share", "mentions", "per_10k", "status")} == \
            {**{k: column["coverage"][k] for k in ("passages", "share", "mentions", "per_10k")}, "status": column["status"]}
        assert row["in_heading"] == column["coverage"]["prominence"]["in_heading"]
    assert api["mentions"] == sum(c["coverage"]["mentions"] for c in columns.values())


def test_the_regional_filter_in_the_theme_selects_the_rows(client: TestClient) -> None:
    html = client.get("/compare", params={"q": "劳动教育 region:淄博"}).text
    assert sorted(_rows(html)) == ["临淄区金茵小学", "淄博高新区第一小学"]
    assert "海王路小学教育集团" not in html.split("主题 × 计划")[0]
    assert "所选 <strong>2</strong> 个计划：<strong>2</strong> 个提及，<strong>0</strong> 个未提及" in html


def test_page_filters_select_plans_like_search(client: TestClient) -> None:
    html = client.get("/compare", params={"theme": "劳动教育", "region": "淄博", "year": "2024"}).text
    assert _rows(html) == ["临淄区金茵小学"]
    assert 'name="region" type="search" value="淄博"' in html and 'value="2024"' in html


@pytest.mark.parametrize(("params", "message"), [
    ({"theme": "劳动教育", "school": "没有这所学校"}, "没有符合筛选条件的计划"),
    ({"theme": "劳动教育", "pick": "1"}, "没有勾选任何计划"),
])
def test_an_empty_selection_says_so_and_compares_nothing(client: TestClient, params: dict[str, str], message: str) -> None:
    html = client.get("/compare", params=params).text
    assert message in html
    assert '<section class="column' not in html


def test_the_summary_json_refuses_bad_parameters(client: TestClient) -> None:
    for params in ({"theme": "劳动教育", "sort": "bogus"}, {"theme": "劳动教育", "page": "0"}, {"theme": "(劳动"}):
        response = client.get("/api/compare/summary", params=params)
        assert response.status_code == 400 and response.json()["error"], params


# -- the tray: search -> 加入比较 -> compare ------------------------------------------------


def test_each_result_adds_its_plan_to_the_tray_in_the_url(client: TestClient) -> None:
    html = client.get("/", params={"q": "劳动教育"}).text
    adds = re.findall(r'<a class="button small" href="([^"]+)">加入比较</a>', html)
    groups = client.get("/api/search", params={"q": "劳动教育", "size": 10}).json()["groups"]
    assert [_params(a)["cmp"] for a in adds] == [[str(g["document_id"])] for g in groups]
    assert all(_params(a)["q"] == ["劳动教育"] for a in adds)
    assert 'class="tray"' not in html  # nothing chosen yet, no tray


def test_the_tray_shows_on_every_page_and_links_carry_it(client: TestClient) -> None:
    html = client.get("/", params={"q": "劳动教育", "cmp": "3,1"}).text
    tray = html.split('<aside class="tray"', 1)[1].split("</aside>", 1)[0]
    assert "待比较（2）" in tray and "淄博高新区第一小学" in tray and "海王路小学教育集团" in tray
    compare = re.search(r'<a class="button" href="([^"]+)">比较这些计划</a>', tray).group(1)
    assert _params(compare) == {"documents": ["3,1"], "cmp": ["3,1"], "q": ["劳动教育"]}
    assert re.findall(r'<a class="button small on" href="[^"]+">移出比较</a>', html)
    facet_links = re.findall(r'<a href="(/\?[^"]*(?:school|year|region|level)=[^"]*)"', html)
    assert facet_links and all(_params(h)["cmp"] == ["3,1"] for h in facet_links)
    document_links = re.findall(r'href="(/documents/\d+\?[^"]+)"', html)
    assert document_links and all(_params(h)["cmp"] == ["3,1"] for h in document_links)
    for url in (document_links[0].replace("&amp;", "&"), "/compare?cmp=3,1", "/compare?theme=劳动教育&cmp=3,1"):
        assert "待比较（2）" in client.get(url).text, url
    page = client.get(compare.replace("&amp;", "&")).text
    assert page.count('<section class="column') == 2
    assert "“劳动教育”在所选计划中的覆盖" in page
    assert 'value="劳动教育"' in page


# -- many plans: pages, picks over the limit, the matrix --------------------------------------


def test_many_plans_are_paged_and_no_cards_are_shown_until_picked(many: TestClient) -> None:
    html = many.get("/compare", params={"theme": "劳动教育"}).text
    assert len(_rows(html)) == ROWS_PER_PAGE
    assert '<section class="column' not in html and "勾选要并排比较的计划" in html
    second = many.get("/compare", params={"theme": "劳动教育", "page": "2"}).text
    assert len(_rows(second)) == MANY - ROWS_PER_PAGE
    assert not set(_rows(html)) & set(_rows(second)) or len(set(_rows(html) + _rows(second))) < MANY  # names may repeat


def test_select_all_in_the_filter_over_the_limit_shows_twelve_and_says_why(many: TestClient) -> None:
    html = many.get("/compare", params={"theme": "劳动教育"}).text
    select_all = re.search(r'<a href="([^"]+)">选择此筛选下的全部 (\d+) 份</a>', html)
    assert select_all and int(select_all.group(2)) == MANY
    assert _params(select_all.group(1))["pick"] == ["all"]
    page = many.get(unquote(select_all.group(1).replace("&amp;", "&"))).text
    assert page.count('<section class="column') == MAX_CARDS
    assert f"已选 {MANY} 份计划，并排比较最多 {MAX_CARDS} 份" in page
    assert len(re.findall(r'name="cmp" value="\d+" aria-label="[^"]*" checked', page)) == ROWS_PER_PAGE
    shown = re.findall(r'<section class="column[^"]*">\s*<header class="column-head">\s*<h3><a href="[^"]+">([^<]+)</a>', page)
    assert shown == _rows(page)[:MAX_CARDS]  # the first twelve in the table's order


def test_picking_up_to_twelve_shows_those_and_keeps_picks_of_other_pages(many: TestClient) -> None:
    api = many.get("/api/compare/summary", params={"theme": "劳动教育"}).json()
    ids = [*api["order_ids"][:2], api["order_ids"][-1]]  # the last is on page 2
    page = many.get("/compare", params={"theme": "劳动教育", "cmp": ",".join(map(str, ids))}).text
    assert page.count('<section class="column') == 3
    assert re.findall(r'<input type="hidden" name="cmp" value="(\d+)">', page) == [str(ids[-1])]
    too_many = many.get("/compare", params={"theme": "劳动教育", "cmp": ",".join(map(str, api["order_ids"][:13]))}).text
    assert too_many.count('<section class="column') == MAX_CARDS and "并排比较最多 12 份" in too_many


def test_the_matrix_is_paged_by_plans(many: TestClient) -> None:
    html = many.get("/compare").text
    header = html.split('<table class="heat">', 1)[1].split("</thead>", 1)[0]
    assert header.count('<th scope="col"><a') == MATRIX_PLANS
    assert "第 1 / 3 页" in html
    last = many.get("/compare", params={"mpage": "3"}).text
    header = last.split('<table class="heat">', 1)[1].split("</thead>", 1)[0]
    assert header.count('<th scope="col"><a') == MANY - 2 * MATRIX_PLANS
