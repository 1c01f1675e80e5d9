"""The concordance against a brute-force substring scan of the catalog's passages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.cleaning import normalize
from indexer.settings import Settings
from tests.app.views_corpus import views_home
from tests.conftest import catalog_passages, countable_passages


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return views_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as test_client:
        yield test_client


def scan(home: Settings, needle: str, context: int) -> list[tuple[int, int, str, str, str]]:
    """(passage id, offset, left, match, right) of every occurrence, overlapping ones included."""
    found = []
    for _plan, passage in countable_passages(home):
        folded = normalize(passage.text)
        start = folded.find(needle)
        while start >= 0:
            end = start + len(needle)
            found.append((passage.id, start, passage.text[max(0, start - context):start],
                          passage.text[start:end], passage.text[end:end + context]))
            start = folded.find(needle, start + 1)
    return found


@pytest.mark.parametrize("needle, context", [("劳动", 20), ("好好", 5), ("阅读", 3), ("课后服务", 40), ("德", 10)])
def test_lines_are_the_occurrences_a_substring_scan_finds(client: TestClient, home: Settings, needle: str, context: int) -> None:
    answer = client.get("/api/kwic", params={"q": needle, "context": context, "size": 1000}).json()
    lines = [(r["passage_id"], r["offset"], r["left"], r["match"], r["right"]) for r in answer["lines"]]
    expected = scan(home, needle, context)
    assert expected, needle
    assert sorted(lines) == sorted(expected)
    assert answer["total"] == len(expected)
    assert sum(p["count"] for p in answer["per_plan"]) == len(expected)
    assert answer["passages"] == len({e[0] for e in expected})


def test_overlapping_occurrences_are_separate_lines(client: TestClient) -> None:
    lines = client.get("/api/kwic", params={"q": "好好", "context": 2}).json()["lines"]
    assert [(r["left"], r["match"], r["right"]) for r in lines] == [("1.", "好好", "好学"), (".好", "好好", "学习")]
    assert lines[0]["section"] == ["一、习惯养成", "1.好好好学习，天天向上"]
    assert lines[0]["school"] == "测试甲小学" and lines[0]["period"] == "2023年"


def test_sorting_by_left_and_right_context(client: TestClient) -> None:
    by_left = client.get("/api/kwic", params={"q": "劳动", "sort": "left", "size": 1000}).json()["lines"]
    keys = [normalize(r["left"])[::-1] for r in by_left]
    assert keys == sorted(keys)
    by_right = client.get("/api/kwic", params={"q": "劳动", "sort": "right", "size": 1000}).json()["lines"]
    keys = [normalize(r["right"]) for r in by_right]
    assert keys == sorted(keys)
    assert sorted(map(str, by_left)) == sorted(map(str, by_right))


def test_pages_cover_every_line_once(client: TestClient) -> None:
    whole = client.get("/api/kwic", params={"q": "学生", "size": 1000}).json()
    pages = [client.get("/api/kwic", params={"q": "学生", "size": 7, "page": n}).json()["lines"]
             for n in range(1, whole["total"] // 7 + 2)]
    assert [line for page in pages for line in page] == whole["lines"]


def test_the_query_narrows_the_passages_and_filters_apply(client: TestClient, home: Settings) -> None:
    both = client.get("/api/kwic", params={"q": "劳动 家务", "size": 1000}).json()
    texts = {p.id: normalize(p.text) for _, p in catalog_passages(home)}
    assert both["lines"] and all("劳动" in texts[r["passage_id"]] and "家务" in texts[r["passage_id"]] for r in both["lines"])
    assert {r["match"] for r in both["lines"]} == {"劳动", "家务"}
    one_year = client.get("/api/kwic", params={"q": "劳动", "year": "2022", "size": 1000}).json()
    assert one_year["lines"] and {r["year"] for r in one_year["lines"]} == {2022}


def test_csv_holds_every_line(client: TestClient) -> None:
    total = client.get("/api/kwic", params={"q": "劳动"}).json()["total"]
    answer = client.get("/api/kwic", params={"q": "劳动", "format": "csv", "size": 5})
    assert answer.headers["content-type"].startswith("text/csv")
    rows = answer.content.decode("utf-8-sig").strip().split("\r\n")
    assert rows[0].startswith("文档编号,学校") and len(rows) == total + 1


@pytest.mark.parametrize("params, code", [({"q": "("}, "unbalanced_parenthesis"), ({"q": "劳动", "sort": "x"}, "invalid_parameter"),
                                          ({"q": "劳动", "context": 0}, "invalid_parameter"), ({}, "invalid_parameter")])
def test_bad_input_is_a_400(client: TestClient, params: dict[str, object], code: str) -> None:
    answer = client.get("/api/kwic", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"] == code and answer.json()["message"]


def test_page_shows_the_lines_and_links(client: TestClient) -> None:
    page = client.get("/kwic", params={"q": "好好", "context": 2})
    assert page.status_code == 200
    assert page.text.count('class="kwic-line"') == 2
    assert "/api/kwic?q=%E5%A5%BD%E5%A5%BD&amp;context=2&amp;sort=plan&amp;format=csv" in page.text
    assert client.get("/kwic", params={"q": "("}).status_code == 400
    search = client.get("/", params={"q": "劳动"}).text
    assert "看语境" in search and 'href="/kwic?q=%E5%8A%B3%E5%8A%A8' in search
