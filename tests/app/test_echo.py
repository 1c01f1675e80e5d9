"""A bureau's plan against its schools: a task copied word for word is found, silence scores 0."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.settings import Settings
from tests.app.views_corpus import views_home

BUREAU, COPIER, QUIET, OLD, SCHOOL_PLAN, FAR_BUREAU = 8, 9, 10, 11, 2, 4


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return views_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def answer(client: TestClient) -> dict:
    return client.get(f"/api/documents/{BUREAU}/echo").json()


def test_tasks_are_the_numbered_items(answer: dict) -> None:
    assert [t["text"][:2] for t in answer["tasks"]] == ["1.", "2.", "3."]
    assert answer["tasks"][0]["section"] == ["一、重点任务", "1.全面推进课后服务提质增效，每周开展不少于五天的课后服务"]


def test_schools_are_those_of_the_region_in_the_same_or_next_year(answer: dict) -> None:
    assert [s["document_id"] for s in answer["schools"]] == [COPIER, QUIET]  # not OLD (2022), not other districts
    assert answer["years"] == [2024, 2025] and answer["region"] == "张店区"


def test_a_task_copied_word_for_word_is_taken_up_and_silence_is_zero(answer: dict) -> None:
    cells = {row["task"]: {c["document_id"]: c for c in row["cells"]} for row in answer["matrix"]}
    copied = cells[1][COPIER]
    assert copied["taken_up"] and copied["score"] == 1.0
    assert copied["shared_phrases"] == ["1.全面推进课后服务提质增效,每周开展不少于五天的课后服务。"]
    assert copied["text"].startswith(answer["tasks"][0]["text"])
    assert "课后服务" in copied["theme_terms"]
    for task in (1, 2, 3):
        assert cells[task][QUIET] == {"document_id": QUIET, "score": 0.0, "taken_up": False, "passage_id": None,
                                      "section": [], "text": "", "shared_phrases": [], "theme_terms": []}
    assert not cells[2][COPIER]["taken_up"] and cells[2][COPIER]["score"] == 0.0
    assert cells[3][COPIER]["shared_phrases"] == ["书香校园"]
    assert all(len(row["cells"]) == len(answer["schools"]) for row in answer["matrix"])


def test_csv_is_the_whole_matrix_with_zeros(client: TestClient, answer: dict) -> None:
    body = client.get(f"/api/documents/{BUREAU}/echo", params={"format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["任务编号", "任务原文", "学校文档编号"]
    assert len(rows) == 1 + len(answer["tasks"]) * len(answer["schools"])
    assert [r[5] for r in rows[1:] if r[2] == str(QUIET)] == ["0.0", "0.0", "0.0"]


def test_a_bureau_with_no_schools_in_its_region_has_an_empty_matrix(client: TestClient) -> None:
    far = client.get(f"/api/documents/{FAR_BUREAU}/echo").json()
    assert far["schools"] == [] and all(row["cells"] == [] for row in far["matrix"])
    assert "没有同一地区" in client.get(f"/documents/{FAR_BUREAU}/echo").text


@pytest.mark.parametrize("path, status, code", [(f"/api/documents/{SCHOOL_PLAN}/echo", 400, "not_bureau"),
                                                ("/api/documents/999/echo", 404, "not_found")])
def test_bad_ids(client: TestClient, path: str, status: int, code: str) -> None:
    answer = client.get(path)
    assert answer.status_code == status and answer.json()["error"] == code


def test_page_states_the_method_and_links_from_the_plan(client: TestClient) -> None:
    page = client.get(f"/documents/{BUREAU}/echo").text
    assert "方法：" in page and "已落实" in page and 'class="num taken"' in page
    assert f'href="/documents/{BUREAU}/echo"' in client.get(f"/documents/{BUREAU}").text
    assert "/echo" not in client.get(f"/documents/{SCHOOL_PLAN}").text


def test_echo_is_heavy_work_refused_with_503_while_every_slot_is_taken(client: TestClient) -> None:
    heavy = client.app.state.heavy  # type: ignore[attr-defined]
    with ExitStack() as taken:
        for _ in range(heavy.slots):
            taken.enter_context(heavy.slot())
        for path in (f"/api/documents/{BUREAU}/echo", f"/documents/{BUREAU}/echo"):
            busy = client.get(path)
            assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1, path
    assert client.get(f"/api/documents/{BUREAU}/echo").status_code == 200
