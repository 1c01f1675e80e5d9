"""/api/search against a brute-force substring scan of the same catalog passages, on both
search backends (embedded and postgres: every test of this module runs on each).

Each row: a query, and an oracle over (normalised passage text, plan) written independently
of the query parser. Precision and recall must both be 1.00, and every occurrence of every
positive needle must sit inside a <mark> of the highlight.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexer.catalog import Plan
from indexer.cleaning import normalize
from indexer.settings import Settings
from tests.conftest import BACKENDS, catalog_passages, countable_passages

Oracle = Callable[[str, Plan], bool]


@pytest.fixture(scope="module", params=BACKENDS)
def sample_home(request: pytest.FixtureRequest) -> Settings:
    return request.getfixturevalue(f"{request.param}_sample_home")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest, sample_home: Settings) -> TestClient:
    return request.getfixturevalue(f"{sample_home.plans_search_backend}_client")  # type: ignore[no-any-return]


def has(*needles: str) -> Oracle:
    return lambda text, _plan: all(normalize(n) in text for n in needles)


def any_of(*needles: str) -> Oracle:
    return lambda text, _plan: any(normalize(n) in text for n in needles)


# (query, oracle, positive needles that must be marked)
CASES: list[tuple[str, Oracle, list[str]]] = [
    ("劳动教育", has("劳动教育"), ["劳动教育"]),
    ("健康教育", has("健康教育"), ["健康教育"]),  # also inside 心理健康教育
    ("德", has("德"), ["德"]),  # a single character
    ("1+X+T", has("1+x+t"), ["1+x+t"]),
    ("1+x+t", has("1+x+t"), ["1+x+t"]),
    ("x+x", has("x+x"), []),  # no trigram; its bigrams are all in "1+x+t" but it is not
    ("2025-2026学年", has("2025-2026学年"), ["2025-2026学年"]),
    ("诗e", has("诗e"), ["诗e"]),
    ("诗E", has("诗e"), ["诗e"]),
    ('"立德树人根本任务"', has("立德树人根本任务"), ["立德树人根本任务"]),
    ("“立德树人根本任务”", has("立德树人根本任务"), ["立德树人根本任务"]),
    ('"星光闪耀 自主成长"', has("星光闪耀 自主成长"), ["星光闪耀 自主成长"]),
    ("双减", has("双减"), ["双减"]),
    ("“双减”", has("双减"), ["双减"]),
    ("课后服务 质量", has("课后服务", "质量"), ["课后服务", "质量"]),
    ("课后服务 AND 质量", has("课后服务", "质量"), ["课后服务", "质量"]),
    ("劳动教育 OR 劳动实践", any_of("劳动教育", "劳动实践"), ["劳动教育", "劳动实践"]),
    ("劳动 -家务", lambda t, p: "劳动" in t and "家务" not in t, ["劳动"]),
    ("劳动 NOT 家务", lambda t, p: "劳动" in t and "家务" not in t, ["劳动"]),
    ("(心理 OR 心育) 健康", lambda t, p: ("心理" in t or "心育" in t) and "健康" in t, ["心理", "心育", "健康"]),
    ("家校 (共育 OR 协同) -社区", lambda t, p: "家校" in t and ("共育" in t or "协同" in t) and "社区" not in t, ["家校", "共育", "协同"]),
    ("学生发展", has("学生发展"), ["学生发展"]),  # crosses jieba word boundaries
    ("生发", has("生发"), ["生发"]),  # across two words: 学生|发展
    ("教育集团", has("教育集团"), ["教育集团"]),
    ("小学教育", has("小学教育"), ["小学教育"]),
    ("育人", has("育人"), ["育人"]),
    ("，", has("，"), []),  # punctuation folds: full-width comma equals half-width
    ('"(主责单位"', has("(主责单位"), ["(主责单位"]),  # half-width parentheses, quoted
    ("一岗双责", has("一岗双责"), ["一岗双责"]),
    ("五育并举 year:2024", lambda t, p: "五育并举" in t and p.year == 2024, ["五育并举"]),
    ("德育 school:金茵", lambda t, p: "德育" in t and "金茵" in (p.school or ""), ["德育"]),
    ("作业 region:淄博", lambda t, p: "作业" in t and "淄博" in (p.region or ""), ["作业"]),
    ("课堂 level:教育行政", lambda t, p: "课堂" in t and p.level == "教育行政", ["课堂"]),
    ("安全 year:2022-2024", lambda t, p: "安全" in t and 2022 <= (p.year or 0) <= 2024, ["安全"]),
    ("学校:焦溪 劳动", lambda t, p: "劳动" in t and "焦溪" in (p.school or ""), ["劳动"]),
    ("school:海王路 OR school:焦溪", lambda t, p: any(s in (p.school or "") for s in ("海王路", "焦溪")), []),
    ("不存在的词语组合", has("不存在的词语组合"), []),
    ("xyz", has("xyz"), []),
    ("[bookmark", has("[bookmark"), []),  # conversion artefacts are gone from the text
    ("字号", has("字号"), []),  # portal chrome is gone too
]


def _search_all(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", params={"q": q, "per_group": 0, "size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("query", "oracle", "needles"), CASES, ids=[c[0] for c in CASES])
def test_results_equal_a_substring_scan(
    client: TestClient, sample_home: Settings, query: str, oracle: Oracle, needles: list[str]
) -> None:
    truth = {
        passage.id
        for plan, passage in countable_passages(sample_home)
        if oracle(normalize(passage.text), plan)
    }
    result = _search_all(client, query)
    found = {p["id"] for g in result["groups"] for p in g["passages"]}
    assert found == truth  # precision and recall 1.00
    assert result["total"] == len(truth)
    assert result["documents"] == len(result["groups"])
    assert sum(g["hits"] for g in result["groups"]) == len(truth)
    for group in result["groups"]:
        for passage in group["passages"]:
            _assert_marked(passage, [normalize(n) for n in needles])


def _assert_marked(passage: dict[str, Any], needles: list[str]) -> None:
    """Every occurrence of every needle lies inside one <mark>, and the marks are all there is."""
    highlight = passage["highlight"]
    assert re.sub(r"</?mark>", "", highlight) == html.escape(passage["text"])
    marked = [False] * len(passage["text"])
    position = 0
    for piece in re.split(r"(<mark>.*?</mark>)", highlight):
        inside = piece.startswith("<mark>")
        raw = html.unescape(piece[6:-7] if inside else piece)
        for k in range(position, position + len(raw)):
            marked[k] = inside
        position += len(raw)
    text = normalize(passage["text"])
    for needle in needles:
        start = text.find(needle)
        while start >= 0:
            assert all(marked[start : start + len(needle)]), (needle, passage["text"])
            start = text.find(needle, start + 1)


def test_a_phrase_is_one_mark(client: TestClient) -> None:
    result = _search_all(client, '"立德树人根本任务"')
    for group in result["groups"]:
        for passage in group["passages"]:
            assert "<mark>立德树人根本任务</mark>" in passage["highlight"]


def test_groups_carry_plan_metadata_and_facets_count_plans(client: TestClient) -> None:
    result = _search_all(client, "劳动")
    for group in result["groups"]:
        assert group["school"] and group["period"] and group["year"]
        assert group["hits"] == len(group["passages"])
    for name in ("school", "year", "region", "level"):
        assert sum(b["count"] for b in result["facets"][name]) == result["documents"]
        assert sum(b["passages"] for b in result["facets"][name]) == result["total"]
    years = [b["value"] for b in result["facets"]["year"]]
    assert years == ["2025", "2024", "2022"]  # by year, newest first


def test_filters_in_the_url_equal_filters_in_the_query(client: TestClient) -> None:
    in_query = _search_all(client, "德育 school:金茵")
    in_url = _search_all(client, "德育", school="金茵")
    assert in_query["total"] == in_url["total"] > 0
    assert {g["document_id"] for g in in_url["groups"]} == {g["document_id"] for g in in_query["groups"]}


def test_pagination_and_per_group(client: TestClient) -> None:
    everything = _search_all(client, "教育")
    ids = [g["document_id"] for g in everything["groups"]]
    pages = [client.get("/api/search", params={"q": "教育", "size": 2, "page": n}).json() for n in (1, 2, 3)]
    assert [g["document_id"] for page in pages for g in page["groups"]] == ids
    assert all(len(g["passages"]) <= 3 for page in pages for g in page["groups"])
    one = client.get("/api/search", params={"q": "教育", "per_group": 1}).json()
    assert all(len(g["passages"]) == 1 for g in one["groups"])


def test_sort_by_year_puts_newest_first(client: TestClient) -> None:
    result = _search_all(client, "教育", sort="year")
    years = [g["year"] for g in result["groups"]]
    assert years == sorted(years, reverse=True)


def test_relevance_puts_a_heading_match_first(client: TestClient) -> None:
    result = _search_all(client, "劳动教育", school="海王路")
    top = result["groups"][0]["passages"][0]
    assert top["section"][-1].startswith("17.深化劳动教育")


@pytest.mark.parametrize(
    "query",
    [
        "", "   ", '"unclosed', "“未闭合", "(劳动", "劳动)", "()", "OR", "劳动 OR", "NOT", "-", "-劳动",
        "NOT 劳动", "AND 劳动", "劳动 AND", '""', "year:abc", "year:", "school:", "劳\x00动", "劳\x07动",
        "x" * 501, "(-劳动)", "劳动 OR -家务", "((((劳动)))", "劳动 (OR 家务)",
    ],
    ids=repr,
)
def test_hostile_queries_get_400_with_a_message(client: TestClient, query: str) -> None:
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] and body["message"]
    assert isinstance(body.get("position"), int)


@pytest.mark.parametrize(
    "params",
    [{"q": "劳动", "page": 0}, {"q": "劳动", "size": 0}, {"q": "劳动", "size": 101}, {"q": "劳动", "per_group": -1},
     {"q": "劳动", "sort": "random"}, {"q": "劳动", "page": "x"}, {"q": "劳动", "year": "twenty"}, {}],
    ids=repr,
)
def test_bad_parameters_get_400_with_a_message(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    assert response.json()["message"]


def test_documents_list_and_detail(client: TestClient, sample_home: Settings) -> None:
    listing = client.get("/api/documents").json()
    assert listing["total"] == 5
    truth = catalog_passages(sample_home)
    for summary in listing["documents"]:
        assert summary["passage_count"] == sum(1 for plan, _ in truth if plan.id == summary["id"])
        assert "/" not in summary["file"]  # never the server's path
    detail = client.get(f"/api/documents/{listing['documents'][0]['id']}", params={"q": "党建"}).json()
    assert [p["ordinal"] for p in detail["passages"]] == list(range(len(detail["passages"])))
    assert detail["outline"][0]["depth"] == 1
    assert any("<mark>党建</mark>" in (p["highlight"] or "") for p in detail["passages"])


@pytest.mark.parametrize("path", ["/api/documents/999999", "/api/documents/0", "/api/documents/abc", "/api/nothing"])
def test_unknown_documents_and_paths(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert response.json()["message"]


def test_healthz_reports_version_and_counts(client: TestClient, sample_home: Settings) -> None:
    from indexer.schema import SCHEMA_VERSION

    body = client.get("/healthz").json()
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["documents"] == 5
    assert body["passages"] == len(catalog_passages(sample_home))


@pytest.mark.parametrize("params", [
    {"q": "劳动教育"}, {"q": "德", "per_group": 0, "size": 100}, {"q": "课后服务 -质量", "school": "金茵,海王路"},
    {"q": "教育", "sort": "year", "match": "loose", "page": 2, "size": 2}, {"q": "量子计算"},
])
def test_search_answers_are_exactly_the_documented_model(client: TestClient, params: dict[str, Any]) -> None:
    """/api/search skips FastAPI's response validation for speed (app.routes.answers): every
    answer must still be what the OpenAPI model says, no field missing and none undocumented."""
    from app import models

    answer = client.get("/api/search", params=params).json()
    assert models.SearchResult.model_validate(answer).model_dump(mode="json") == answer
