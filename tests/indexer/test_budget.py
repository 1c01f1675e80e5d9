"""The per-file time budget (PLANS_FILE_TIMEOUT): a file that overruns it fails alone, the batch
goes on, its reading process is killed, and the same bytes are not read again with that budget.

The slow input is real: an HTML page of just under MAX_HTML_ELEMENTS elements, which reading
cannot get through in the tiny budget the tests set (parsing and weighing an element costs tens
of microseconds), beside a short plan that can.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer import reading
from indexer.pipeline import Pipeline
from indexer.settings import DATA_DIR, Settings, get_settings
from tests.conftest import writable_home

BUDGET = 1.5  # seconds: the short plan needs milliseconds, the long page several seconds
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[3]


def _long_plan() -> bytes:
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    elements = [f"<p>{lines[n % len(lines)]}</p>" if n % 20 == 0 else "<b>计</b>" for n in range(reading.MAX_HTML_ELEMENTS - 100)]
    return ("<html><body>" + "".join(elements) + "</body></html>").encode()


@pytest.fixture(scope="module")
def long_plan() -> bytes:
    return _long_plan()


def _short_plan(marker: str) -> bytes:
    return f"测试小学2024年工作计划\n一、劳动教育\n劳动教育每周一次，{marker}。\n".encode()


def _children() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


def test_a_file_past_the_budget_fails_alone_and_the_batch_goes_on(tmp_path: Path, long_plan: bytes) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a-long.html").write_bytes(long_plan)
    (corpus / "b-short.txt").write_bytes(_short_plan("短计划标记"))
    settings = get_settings(plans_home=tmp_path / "home", plans_workers=1, plans_file_timeout=BUDGET)
    before = _children()
    report = Pipeline(settings).index([corpus])
    outcomes = {Path(o.source).name: o for o in report.outcomes}
    assert outcomes["a-long.html"].status == "failed"
    assert f"longer than {BUDGET:g} s" in (outcomes["a-long.html"].reason or "")
    assert "PLANS_FILE_TIMEOUT" in (outcomes["a-long.html"].reason or "")
    assert outcomes["b-short.txt"].status == "added"  # read after the long one, by a fresh reading process
    assert _children() <= before  # the reading processes are gone, the killed one reaped

    again = Pipeline(settings).index([corpus])
    retried = {Path(o.source).name: o for o in again.outcomes}
    assert retried["a-long.html"].status == "failed"
    assert "not read again" in (retried["a-long.html"].reason or "")
    assert retried["b-short.txt"].status == "unchanged"


def test_without_a_budget_the_same_file_is_read(tmp_path: Path) -> None:
    """The budget is what stops a file, not its size: 0 turns it off (here on a short file, in-process)."""
    (tmp_path / "plan.txt").write_bytes(_short_plan("无预算标记"))
    report = Pipeline(get_settings(plans_home=tmp_path / "home", plans_workers=1, plans_file_timeout=0)).index(
        [tmp_path / "plan.txt"])
    assert [o.status for o in report.outcomes] == ["added"]


@pytest.fixture()
def budget_client(sample_home: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = writable_home(sample_home, tmp_path, plans_admin_token=TOKEN, plans_file_timeout=BUDGET, plans_workers=1)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def test_an_upload_past_the_budget_is_a_422_and_the_same_bytes_are_refused_after(
    budget_client: tuple[TestClient, Settings], long_plan: bytes
) -> None:
    client, settings = budget_client
    first = client.post("/api/documents", files={"file": ("long.html", long_plan)}, headers=AUTH)
    assert first.status_code == 422, first.text
    assert f"longer than {BUDGET:g} s" in first.json()["message"]
    again = client.post("/api/documents", files={"file": ("long-again.html", long_plan)}, headers=AUTH)
    assert again.status_code == 422, again.text
    assert "not read again" in again.json()["message"]
    assert not [p for p in settings.uploads_dir.rglob("*") if p.is_file()]  # no saved copy kept
    short = client.post("/api/documents", files={"file": ("short.txt", _short_plan("上传短计划"))}, headers=AUTH)
    assert short.status_code == 201, short.text
