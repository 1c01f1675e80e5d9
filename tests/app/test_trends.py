"""Trends against counts by year taken straight from the catalog."""

from __future__ import annotations

from collections import defaultdict
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


def catalog_counts(home: Settings, needle: str, split: str) -> dict[tuple[str, int], dict[str, float]]:
    """(series, year) -> plans, mentioning, passages, mentions, chars, by brute force over the catalog."""
    plans: dict[int, object] = {}
    passages: dict[int, int] = defaultdict(int)
    mentions: dict[int, int] = defaultdict(int)
    for plan, passage in countable_passages(home):
        plans[plan.id] = plan
        count = normalize(passage.text).count(needle)
        if count:
            passages[plan.id] += 1
            mentions[plan.id] += count
    out: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for plan_id, plan in plans.items():
        if plan.year is None:  # type: ignore[attr-defined]
            continue
        name = "全部" if split == "none" else plan.level  # type: ignore[attr-defined]
        cell = out[(name, plan.year)]  # type: ignore[attr-defined]
        cell["plans"] += 1
        cell["mentioning"] += 1 if passages[plan_id] else 0
        cell["passages"] += passages[plan_id]
        cell["mentions"] += mentions[plan_id]
        cell["chars"] += plan.chars  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("needle", ["劳动", "课后服务", "心理健康", "好好学习"])
@pytest.mark.parametrize("split", ["none", "level"])
def test_counts_equal_the_catalogs_by_year(client: TestClient, home: Settings, needle: str, split: str) -> None:
    answer = client.get("/api/trends", params={"q": f'"{needle}"', "split": split}).json()
    expected = catalog_counts(home, needle, split)
    years = sorted({year for _, year in expected})
    assert answer["years"] == list(range(years[0], years[-1] + 1))
    got = {}
    for series in answer["series"]:
        for point in series["points"]:
            assert point["share"] == (round(point["mentioning"] / point["plans"], 4) if point["plans"] else 0)
            if point["plans"]:
                got[(series["name"], point["year"])] = {k: point[k] for k in ("plans", "mentioning", "passages", "mentions", "chars")}
                assert point["per_10k"] == round(point["mentions"] / point["chars"] * 10_000, 2)
            else:
                assert point == {"year": point["year"], "plans": 0, "mentioning": 0, "share": 0.0, "passages": 0,
                                 "mentions": 0, "chars": 0, "per_10k": 0.0}
    assert got == {key: {k: int(v) for k, v in cell.items()} for key, cell in expected.items()}


def test_a_theme_counts_its_terms(client: TestClient) -> None:
    themes = client.get("/api/themes").json()["themes"]
    theme = themes[0]
    by_theme = client.get("/api/trends", params={"theme": theme["name"]}).json()
    query = " OR ".join(f'"{t}"' for t in theme["terms"])
    by_query = client.get("/api/trends", params={"q": query}).json()
    assert by_theme["query"]["theme"] == theme["name"]
    assert by_theme["series"] == by_query["series"]


def test_region_split_has_one_series_per_region(client: TestClient, home: Settings) -> None:
    answer = client.get("/api/trends", params={"q": "学生", "split": "region"}).json()
    total = sum(p["plans"] for s in answer["series"] for p in s["points"])
    assert total == len({plan.id for plan, _ in catalog_passages(home) if plan.year is not None})
    assert len(answer["series"]) > 1


def test_csv_has_a_row_per_series_and_year(client: TestClient) -> None:
    answer = client.get("/api/trends", params={"q": "劳动", "split": "level", "format": "csv"})
    rows = answer.content.decode("utf-8-sig").strip().split("\r\n")
    json = client.get("/api/trends", params={"q": "劳动", "split": "level"}).json()
    assert len(rows) == 1 + sum(len(s["points"]) for s in json["series"])
    assert rows[0].startswith("系列,年份,计划数")


@pytest.mark.parametrize("params", [{}, {"q": "("}, {"q": "劳动", "split": "city"}, {"q": "劳动", "by": "month"}, {"theme": "-德"}])
def test_bad_input_is_a_400(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get("/api/trends", params=params)
    assert answer.status_code == 400 and set(answer.json()) >= {"error", "message"}


def test_page_draws_the_chart_and_the_table(client: TestClient) -> None:
    page = client.get("/trends", params={"q": "劳动", "split": "level"})
    assert page.status_code == 200
    assert page.text.count("<svg") == 1 and 'viewBox="0 0 480' in page.text
    data = client.get("/api/trends", params={"q": "劳动", "split": "level"}).json()
    with_plans = [(s["name"], p["year"]) for s in data["series"] for p in s["points"] if p["plans"]]
    assert page.text.count('<circle class="dot') == len(with_plans)  # a year without plans is a gap
    assert all(f"<title>{name} {year}：" in page.text for name, year in with_plans)
    assert "<title>教育行政 2023：" not in page.text  # no bureau plan of 2023
    assert "style=" not in page.text and "<script>" not in page.text
    search = client.get("/", params={"q": "劳动"}).text
    assert 'class="histogram"' in search and "<rect class=\"bar\"" in search
