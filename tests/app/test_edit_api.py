"""PATCH /api/documents/{id} and `plans edit`: corrections through the indexer child, kept in the
catalog, surviving re-indexing and a replaced file at the same path, shown as source `edited`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.documents import list_documents
from app.main import create_app
from app.snapshot import Snapshot
from indexer import store
from indexer.catalog import Plan, PlanEdit, create_catalog_engine, session_scope
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings
from tests.conftest import build_home

TOKEN = "edit-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JIAOXI = "004_"  # 常州市焦溪小学2022年春学期工作计划


@pytest.fixture()
def home(tmp_path: Path, corpus_copy: Path) -> Settings:
    built = build_home(tmp_path / "home", corpus_copy)
    return get_settings(plans_home=built.plans_home, plans_reload_interval=-1, plans_admin_token=TOKEN)


@pytest.fixture()
def admin(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as client:
        yield client


def _plan_id(client: TestClient, prefix: str = JIAOXI) -> int:
    documents = client.get("/api/documents").json()["documents"]
    return next(d["id"] for d in documents if d["file"].startswith(prefix))


def _state(settings: Settings) -> tuple[Any, ...]:
    engine = create_catalog_engine(settings.catalog_url)
    with session_scope(engine) as session:
        plans = sorted((p.id, p.school, p.level, p.year) for p in session.scalars(select(Plan)))
        edits = sorted((e.source, e.field, json.dumps(e.value)) for e in session.scalars(select(PlanEdit)))
    engine.dispose()
    return plans, edits, store.open_index(settings.index_dir).latest_generation()


def _ids(client: TestClient, q: str) -> list[int]:
    response = client.get("/api/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [group["document_id"] for group in response.json()["groups"]]


def test_an_edit_is_served_at_once_with_its_source(admin: TestClient, home: Settings) -> None:
    plan_id = _plan_id(admin)
    response = admin.patch(f"/api/documents/{plan_id}", json={"school": "常州市武进区焦溪小学", "level": "九年一贯制",
                                                              "period": "2021—2022学年度第二学期"}, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["school"], body["level"], body["period"], body["year"], body["year_end"], body["term"]) == (
        "常州市武进区焦溪小学", "九年一贯制", "2021—2022学年度第二学期", 2021, 2022, "第二学期")
    assert {body["sources"][f]["source"] for f in ("school", "level", "period", "year")} == {"edited"}
    assert "常州市焦溪小学" in body["school_aliases"]  # the name the text uses still finds it
    detail = admin.get(f"/api/documents/{plan_id}").json()
    assert detail["school"] == "常州市武进区焦溪小学" and detail["sources"]["school"] == {"source": "edited", "confidence": 1.0}
    assert _ids(admin, "school:武进区焦溪小学 党建") == [plan_id]
    assert _ids(admin, "school:常州市焦溪小学 党建") == [plan_id]  # an alias
    assert _ids(admin, "level:九年一贯制 党建") == [plan_id]
    # the page shows the corrected school
    page = admin.get(f"/documents/{plan_id}")
    assert page.status_code == 200 and "常州市武进区焦溪小学" in page.text


def test_edits_survive_reindexing_and_a_replaced_file(admin: TestClient, home: Settings, corpus_copy: Path) -> None:
    plan_id = _plan_id(admin)
    assert admin.patch(f"/api/documents/{plan_id}", json={"region": "江苏省常州市武进区", "year": 2023, "unit": "教务处"},
                       headers=AUTH).status_code == 200
    path = next(corpus_copy.glob(f"{JIAOXI}*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n八、附则\n本计划自发布之日起执行。\n", encoding="utf-8")
    report = Pipeline(home).index([corpus_copy])
    assert [o.status for o in report.outcomes if o.source == str(path.resolve())] == ["replaced"]
    Pipeline(home).reindex()
    documents = {d["id"]: d for d in list_documents(Snapshot(home.index_dir))["documents"]}
    edited = documents[plan_id]
    assert (edited["region"], edited["district"], edited["year"], edited["unit"]) == ("江苏省常州市武进区", "武进区", 2023, "教务处")
    assert edited["sources"]["year"]["source"] == "edited"
    assert edited["school"] == "常州市焦溪小学"  # not edited: still read from the text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "JSON"),
        ("[]", "give one or more"),
        ("{}", "give one or more"),
        ('{"title": "x"}', "'title' cannot be edited"),
        ('{"year": 1800}', "year must be"),
        ('{"year": "2024年"}', "year must be"),
        ('{"level": "大学"}', "level must be one of"),
        ('{"school": ""}', "non-empty"),
        ('{"school": 5}', "non-empty"),
    ],
)
def test_a_bad_edit_is_400_and_changes_nothing(admin: TestClient, home: Settings, body: str, message: str) -> None:
    plan_id = _plan_id(admin)
    before = _state(home)
    response = admin.patch(f"/api/documents/{plan_id}", content=body.encode(), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_parameter" and message in response.json()["message"]
    assert _state(home) == before


def test_an_edit_of_no_plan_is_404(admin: TestClient, home: Settings) -> None:
    before = _state(home)
    response = admin.patch("/api/documents/999", json={"school": "某某小学"}, headers=AUTH)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert _state(home) == before


def test_an_edit_needs_the_token(home: Settings) -> None:
    with TestClient(create_app(home)) as client:
        plan_id = _plan_id(client)
        assert client.patch(f"/api/documents/{plan_id}", json={"school": "x小学"}).status_code == 401
        wrong = client.patch(f"/api/documents/{plan_id}", json={"school": "x小学"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    off = home.model_copy(update={"plans_admin_token": None})
    with TestClient(create_app(off)) as client:
        assert client.patch(f"/api/documents/{plan_id}", json={"school": "x小学"}, headers=AUTH).status_code == 403
    assert _state(home)[1] == []


def test_plans_edit_on_the_command_line(home: Settings) -> None:
    env = {"PLANS_HOME": str(home.plans_home)}
    runner = CliRunner()
    documents = list_documents(Snapshot(home.index_dir))["documents"]
    plan_id = next(d["id"] for d in documents if d["file"].startswith(JIAOXI))
    result = runner.invoke(cli, ["edit", str(plan_id), "school=常州市焦溪中心小学", "year=2021"], env=env)
    assert result.exit_code == 0, result.output
    assert "edited plan" in result.output and "school=常州市焦溪中心小学" in result.output
    served = {d["id"]: d for d in list_documents(Snapshot(home.index_dir))["documents"]}[plan_id]
    assert (served["school"], served["year"], served["sources"]["school"]["source"]) == ("常州市焦溪中心小学", 2021, "edited")
    result = runner.invoke(cli, ["edit", str(plan_id), "colour=red"], env=env)
    assert result.exit_code == 2 and "'colour' cannot be edited" in result.output
    result = runner.invoke(cli, ["edit", str(plan_id), "school"], env=env)
    assert result.exit_code == 2 and "FIELD=VALUE" in result.output
    result = runner.invoke(cli, ["edit", "999", "school=某小学"], env=env)
    assert result.exit_code == 1 and "no plan with id 999" in result.output


def test_a_low_confidence_field_is_a_warning_in_the_api_and_on_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "plan.txt").write_text("工作计划\n本学期，我们将与绍兴市鲁迅中学开展联合教研。\n一、教研\n2021年9月1日\n", encoding="utf-8")
    settings = build_home(tmp_path / "home", folder)
    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/documents").json()["documents"][0]
        warning = "school uncertain: 绍兴市鲁迅中学 (from text, confidence 0.4)"
        assert warning in listed["warnings"] and listed["sources"]["school"] == {"source": "text", "confidence": 0.4}
        assert warning in client.get(f"/api/documents/{listed['id']}").json()["warnings"]
        page = client.get(f"/documents/{listed['id']}").text
        assert "元数据未能确定" in page and "school uncertain: 绍兴市鲁迅中学" in page
    result = CliRunner().invoke(cli, ["index", str(folder / "plan.txt")], env={"PLANS_HOME": str(tmp_path / "home2")})
    assert f"warning: {(folder / 'plan.txt').resolve()}: {warning}" in result.output
