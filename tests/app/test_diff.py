"""The diff of a plan against an edited copy of itself reports exactly the edits made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.snapshot import Snapshot
from app.views.diff import diff
from indexer.settings import Settings
from tests.app import views_corpus as corpus

ORIGINAL, EDITED, OTHER_SCHOOL = 2, 6, 1


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return corpus.views_home(tmp_path_factory)


@pytest.fixture(scope="module")
def snapshot(home: Settings) -> Snapshot:
    return Snapshot(home.index_dir)


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as test_client:
        yield test_client


def _changes(result: dict) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(status, section title, non-equal edits) of every passage that is not unchanged."""
    out = []
    for section in result["sections"]:
        for p in section["passages"]:
            if p["status"] != "unchanged":
                title = (section["b_section"] or section["a_section"])[-1]
                out.append((p["status"], title, [(e["op"], e["a"], e["b"]) for e in p["edits"] if e["op"] != "equal"]))
    return out


def test_an_edited_copy_reports_exactly_its_three_edits(snapshot: Snapshot) -> None:
    result = diff(snapshot, ORIGINAL, EDITED)
    assert result["same_school"] is True
    assert _changes(result) == [
        ("changed", "2.深化党建品牌", [("insert", "", corpus.ADDED_SENTENCE)]),
        ("removed", corpus.REMOVED_SECTION, []),
        ("changed", "19.加强教学常规管理", [("replace", "一", "两")]),
    ]
    removed = [s for s in result["sections"] if s["status"] == "removed"]
    assert [s["a_section"][-1] for s in removed] == [corpus.REMOVED_SECTION]
    total = snapshot.plan_passage_count[snapshot.plan_by_id[ORIGINAL]]
    assert result["counts"] == {"added": 0, "removed": 1, "changed": 2, "unchanged": int(total) - 3}
    commitments = [(c["before"], c["after"]) for c in result["commitments"]]
    assert commitments[0] == (None, corpus.ADDED_SENTENCE)
    before, after = commitments[1]
    assert corpus.CHANGED_FROM in before and corpus.CHANGED_TO in after
    assert before.replace(corpus.CHANGED_FROM, corpus.CHANGED_TO) == after and len(commitments) == 2


def test_the_reverse_diff_mirrors_it(snapshot: Snapshot) -> None:
    result = diff(snapshot, EDITED, ORIGINAL)
    assert _changes(result) == [
        ("changed", "2.深化党建品牌", [("delete", corpus.ADDED_SENTENCE, "")]),
        ("added", corpus.REMOVED_SECTION, []),
        ("changed", "19.加强教学常规管理", [("replace", "两", "一")]),
    ]


def test_a_plan_against_itself_is_unchanged(snapshot: Snapshot) -> None:
    result = diff(snapshot, ORIGINAL, ORIGINAL)
    assert _changes(result) == [] and result["commitments"] == []


def test_plans_of_different_schools_are_labelled(client: TestClient) -> None:
    answer = client.get(f"/api/documents/{ORIGINAL}/diff", params={"other": OTHER_SCHOOL}).json()
    assert answer["same_school"] is False
    page = client.get(f"/documents/{ORIGINAL}/diff", params={"other": OTHER_SCHOOL}).text
    assert "两份计划来自不同学校" in page


def test_csv_has_a_row_per_passage(client: TestClient, snapshot: Snapshot) -> None:
    answer = client.get(f"/api/documents/{ORIGINAL}/diff", params={"other": EDITED, "format": "csv"})
    import csv
    import io
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    statuses = [r[0] for r in rows[1:]]
    assert rows[0][0] == "状态" and statuses.count("changed") == 2 and statuses.count("removed") == 1
    assert len(statuses) == snapshot.plan_passage_count[snapshot.plan_by_id[ORIGINAL]]


@pytest.mark.parametrize("path, status, message", [
    ("/api/documents/2/diff?other=999", 404, "999"), ("/api/documents/999/diff?other=2", 404, "999"),
    ("/api/documents/2/diff", 400, "other"), ("/api/documents/2/diff?other=x", 400, "other"),
])
def test_bad_ids_are_4xx(client: TestClient, path: str, status: int, message: str) -> None:
    answer = client.get(path)
    assert answer.status_code == status and message in answer.json()["message"]


def test_page_marks_the_edits(client: TestClient) -> None:
    page = client.get(f"/documents/{ORIGINAL}/diff", params={"other": EDITED})
    assert page.status_code == 200
    assert f"<ins>{corpus.ADDED_SENTENCE}</ins>" in page.text and "<del>一</del><ins>两</ins>" in page.text
    assert "同一学校的两份计划" in page.text
    assert client.get("/documents/999/diff").status_code == 404
    assert client.get(f"/documents/{ORIGINAL}/diff").status_code == 200  # the chooser
