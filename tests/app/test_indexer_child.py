"""The server's indexer child: started with the server (or by the first upload), reused across
uploads, replaced when it dies, stopped when idle (unless kept warm) and at shutdown.

The real app (TestClient) starts a real `python -m indexer worker`; the tests look at that
process through /proc and kill it the way the OOM killer or an operator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.locking import indexer_lock
from indexer.settings import DATA_DIR, Settings
from tests.conftest import catalog_passages, writable_home

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[4]  # 常州市焦溪小学2022年春学期工作计划
PATIENCE = 60.0  # seconds a process gets to end or to reach a state before the test fails


@pytest.fixture()
def template(sample_home: Settings) -> Settings:
    return sample_home


def _settings(template: Settings, tmp_path: Path, **overrides: Any) -> Settings:
    return writable_home(template, tmp_path, plans_admin_token=TOKEN, **overrides)


@pytest.fixture()
def served(template: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = _settings(template, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _plan(marker: str) -> bytes:
    """The sample plan with a last passage holding `marker`: other bytes for every marker."""
    return (SAMPLE.read_text(encoding="utf-8") + f"\n七、附则\n本计划含{marker}。\n").encode()


def _upload(client: TestClient, marker: str) -> Any:
    return client.post("/api/documents", files={"file": (f"{marker}.txt", _plan(marker))}, headers=AUTH)


def _found(client: TestClient, marker: str) -> list[int]:
    response = client.get("/api/search", params={"q": marker})
    assert response.status_code == 200, response.text
    return [group["document_id"] for group in response.json()["groups"]]


def _child(client: TestClient) -> int:
    pid = client.app.state.indexer.pid  # type: ignore[attr-defined]
    assert pid is not None, "no indexer child is running"
    return int(pid)


def _alive(pid: int) -> bool:
    """Not ended: a zombie counts as ended once all its threads are gone (then its parent can reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" or threads > 1


def _await(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _await(lambda: not _alive(pid), f"process {pid} to die")


def _plans(settings: Settings) -> set[tuple[int, str]]:
    return {(plan.id, plan.sha256) for plan, _ in catalog_passages(settings)}


def test_one_child_started_with_the_server_serves_upload_after_upload(served: tuple[TestClient, Settings]) -> None:
    client, _ = served
    pid = _child(client)  # PLANS_INDEXER_WARM (the default): running before anything was uploaded
    first = _upload(client, "第一份标记")
    assert first.status_code == 201, first.text
    assert _child(client) == pid
    second = _upload(client, "第二份标记")
    assert second.status_code == 201, second.text
    assert _child(client) == pid and _alive(pid)
    assert _found(client, "第一份标记") == [first.json()["id"]]
    assert _found(client, "第二份标记") == [second.json()["id"]]
    assert client.delete(f"/api/documents/{first.json()['id']}", headers=AUTH).status_code == 204
    assert _child(client) == pid
    assert _found(client, "第一份标记") == []


def test_a_child_killed_between_requests_is_replaced(served: tuple[TestClient, Settings]) -> None:
    client, _ = served
    first = _upload(client, "第一份标记")
    assert first.status_code == 201, first.text
    pid = _child(client)
    _kill(pid)
    second = _upload(client, "第二份标记")
    assert second.status_code == 201, second.text
    assert _child(client) != pid
    assert _found(client, "第一份标记") == [first.json()["id"]]
    assert _found(client, "第二份标记") == [second.json()["id"]]


def test_a_child_killed_during_a_request_is_a_503_and_loses_nothing(template: Settings, tmp_path: Path) -> None:
    settings = _settings(template, tmp_path, plans_admin_wait=PATIENCE)
    with TestClient(create_app(settings)) as client:
        first = _upload(client, "第一份标记")
        assert first.status_code == 201, first.text
        before = _plans(settings)
        pid = _child(client)
        lock = settings.plans_home.resolve() / "indexer.lock"
        answers: list[Any] = []
        with indexer_lock(settings.plans_home):  # the child's request waits for it: it is mid-request
            upload = threading.Thread(target=lambda: answers.append(_upload(client, "第二份标记")))
            upload.start()
            _await(lambda: any(os.path.realpath(fd) == str(lock) for fd in _fds(pid)), "the child to open the lock file")
            _kill(pid)
            upload.join(PATIENCE)
        [response] = answers
        assert response.status_code == 503
        assert response.json() == {"error": "unavailable", "message": "暂时无法索引：the indexer stopped before answering (exit code -9)"}
        assert _plans(settings) == before
        assert _found(client, "第一份标记") == [first.json()["id"]]

        again = _upload(client, "第二份标记")  # a new child; the kept file is indexed now
        assert again.status_code == 201, again.text
        assert _child(client) != pid
        assert _found(client, "第二份标记") == [again.json()["id"]]
        assert _found(client, "第一份标记") == [first.json()["id"]]


def _fds(pid: int) -> list[str]:
    try:
        return [str(p) for p in Path(f"/proc/{pid}/fd").iterdir()]
    except FileNotFoundError:
        return []


def test_an_operators_index_runs_between_uploads_are_kept(served: tuple[TestClient, Settings], tmp_path: Path) -> None:
    """The child remembers the state of its own last commit; it must not write over the operator's.

    A plan the operator adds meanwhile the child's recovery step would also restore; one the
    operator replaces after the child saw it would come back with its old text.
    """
    client, settings = served
    operator = tmp_path / "operator"
    operator.mkdir()
    env = {**os.environ, "PLANS_HOME": str(settings.plans_home.resolve())}

    def operator_indexes(marker: str) -> None:
        (operator / "plan.txt").write_bytes(_plan(marker))
        subprocess.run([sys.executable, "-m", "indexer", "index", "--no-progress", str(operator)], env=env,
                       check=True, capture_output=True, timeout=PATIENCE * 5)

    uploads, pids = [], set()
    for upload, operators in (("第一份标记", "操作员标记"), ("第二份标记", "操作员改过的标记"), ("第三份标记", None)):
        response = _upload(client, upload)
        assert response.status_code == 201, response.text
        uploads.append((upload, response.json()["id"]))
        pids.add(_child(client))
        if operators:
            operator_indexes(operators)
    assert len(pids) == 1  # one child did all three
    for marker, plan_id in uploads:
        assert _found(client, marker) == [plan_id]
    assert len(_found(client, "操作员改过的标记")) == 1 and _found(client, "操作员标记") == []
    served_ids = sorted(d["id"] for d in client.get("/api/documents").json()["documents"])
    assert served_ids == sorted({plan_id for plan_id, _ in _plans(settings)})


def test_shutting_the_app_down_stops_the_child(template: Settings, tmp_path: Path) -> None:
    settings = _settings(template, tmp_path)
    with TestClient(create_app(settings)) as client:
        assert _upload(client, "第一份标记").status_code == 201
        pid = _child(client)
        assert _alive(pid)
    assert not Path(f"/proc/{pid}").exists()  # ended and reaped: no orphan, no zombie


def test_shutting_down_stops_a_warm_child_that_was_never_asked(template: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(_settings(template, tmp_path))) as client:
        pid = _child(client)  # most likely still loading jieba
    assert not Path(f"/proc/{pid}").exists()


def test_no_child_without_uploads(template: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(writable_home(template, tmp_path))) as client:  # no admin token: uploads are off
        assert client.get("/api/search", params={"q": "劳动"}).status_code == 200
        assert client.app.state.indexer.pid is None  # type: ignore[attr-defined]


def test_a_warm_child_is_kept_when_idle(template: Settings, tmp_path: Path) -> None:
    settings = _settings(template, tmp_path, plans_indexer_idle=0.2)  # the idle limit is for cold children only
    with TestClient(create_app(settings)) as client:
        assert _upload(client, "第一份标记").status_code == 201
        pid = _child(client)
        time.sleep(1.0)  # five idle limits
        assert _child(client) == pid and _alive(pid)


def test_an_idle_child_is_stopped_and_the_next_request_starts_another(template: Settings, tmp_path: Path) -> None:
    settings = _settings(template, tmp_path, plans_indexer_idle=0.5, plans_indexer_warm=False)
    with TestClient(create_app(settings)) as client:
        assert client.app.state.indexer.pid is None  # type: ignore[attr-defined]  # not warm: the first upload starts it
        first = _upload(client, "第一份标记")
        assert first.status_code == 201, first.text
        pid = _child(client)
        _await(lambda: not Path(f"/proc/{pid}").exists(), "the idle child to be stopped")
        # reaped (gone from /proc) a moment before Popen records its exit code
        _await(lambda: client.app.state.indexer.pid is None, "the server to see the child gone")  # type: ignore[attr-defined]
        second = _upload(client, "第二份标记")
        assert second.status_code == 201, second.text
        assert _found(client, "第一份标记") == [first.json()["id"]]
        assert _found(client, "第二份标记") == [second.json()["id"]]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_child_killed_while_its_pool_workers_run_fails_fast_and_leaves_no_orphans(
    template: Settings, tmp_path: Path
) -> None:
    settings = _settings(template, tmp_path, plans_workers=2)
    big = SAMPLE.read_text(encoding="utf-8")
    body = "".join(big.replace("工作", f"工作{n}号") for n in range(95)).encode()  # > PARALLEL_CHARS: workers start; < MAX_TEXT_CHARS
    with TestClient(create_app(settings)) as client:
        pid = _child(client)
        answers: list[Any] = []
        upload = threading.Thread(target=lambda: answers.append(
            client.post("/api/documents", files={"file": ("big.txt", body)}, headers=AUTH)))
        upload.start()
        _await(lambda: len(_children(pid)) >= 2 or answers, "the child to start its pool workers")
        workers = _children(pid)
        assert not answers, "the upload finished before its workers could be seen"
        os.kill(pid, signal.SIGKILL)
        upload.join(PATIENCE)  # before the fix: CHILD_TIMEOUT (300 s), the workers holding the pipe
        assert answers, "the request is still waiting on a dead child"
        [response] = answers
        assert response.status_code == 503
        assert response.json()["message"].startswith("暂时无法索引：the indexer stopped before answering")
        _await(lambda: not any(_alive(w) for w in workers), "the dead child's workers to die")
