"""`python -m indexer worker`: the long-lived indexer the server talks to, run as a real process.

Requests go to its stdin and answers come from its stdout as JSON lines; between requests the
test process acts as an operator's separate indexer (commits, a reindex, holding the lock), so
the worker must build on what is on disk, never on its own last commit.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.snapshot import Snapshot
from indexer import store
from indexer.index import files
from indexer.analysis import user_words
from indexer.worker import read_ahead
from indexer.locking import indexer_lock
from indexer.pipeline import Pipeline
from indexer.settings import DATA_DIR, Settings, get_settings
from tests.conftest import catalog_passages, writable_home

SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[4]  # 常州市焦溪小学2022年春学期工作计划
ANSWER_LIMIT = 120.0  # seconds before a silent worker fails the test instead of hanging it


class Worker:
    """One `python -m indexer worker` process for these settings."""

    def __init__(self, settings: Settings) -> None:
        env = {**os.environ, "PLANS_HOME": str(settings.plans_home.resolve())}
        self.process = subprocess.Popen([sys.executable, "-m", "indexer", "worker"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, request: dict[str, Any] | str) -> dict[str, Any]:
        assert self.process.stdin is not None
        line = request if isinstance(request, str) else json.dumps(request)
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        raw = self.lines.get(timeout=ANSWER_LIMIT)
        assert raw is not None, f"the worker ended (exit code {self.process.wait()})"
        answer: dict[str, Any] = json.loads(raw)  # every stdout line is an answer: nothing else is printed
        return answer

    def finish(self) -> int:
        """Close its stdin; its exit code, and nothing left on its stdout."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        code = self.process.wait(ANSWER_LIMIT)
        assert self.lines.get(timeout=ANSWER_LIMIT) is None
        self.process.stdout.close()
        return code


@pytest.fixture()
def settings(sample_home: Settings, tmp_path: Path) -> Settings:
    return writable_home(sample_home, tmp_path)


@pytest.fixture()
def worker(settings: Settings) -> Iterator[Worker]:
    running = Worker(settings)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()
    for stream in (running.process.stdin, running.process.stdout):
        if stream is not None:
            stream.close()


def _plan(folder: Path, marker: str) -> Path:
    """The sample plan with a last passage holding `marker`: a new file each time."""
    folder.mkdir(exist_ok=True)
    path = folder / f"{marker}.txt"
    path.write_text(SAMPLE.read_text(encoding="utf-8") + f"\n七、附则\n本计划含{marker}。\n", encoding="utf-8")
    return path


def _found(settings: Settings, *markers: str) -> dict[str, int]:
    """How many passages of the newest generation hold each marker."""
    snapshot = Snapshot(settings.index_dir)
    try:
        return {marker: len(snapshot.find(marker).index) for marker in markers}
    finally:
        snapshot.close()


def _served_plans_are_the_catalog(settings: Settings) -> None:
    snapshot = Snapshot(settings.index_dir)
    try:
        assert sorted(snapshot.passage_ids.tolist()) == sorted(p.id for _, p in catalog_passages(settings))
    finally:
        snapshot.close()


def test_it_indexes_and_removes_on_request_and_ends_with_its_input(settings: Settings, worker: Worker, tmp_path: Path) -> None:
    path = _plan(tmp_path / "new", "甲标记")
    added = worker.ask({"op": "index", "path": str(path), "wait": 0})
    assert added["ok"] and added["summary"] == "1 added, 0 replaced, 0 unchanged, 0 removed, 0 failed"
    [outcome] = added["outcomes"]
    assert (outcome["source"], outcome["status"], outcome["reason"]) == (str(path.resolve()), "added", None)
    assert _found(settings, "甲标记") == {"甲标记": 1}

    again = worker.ask({"op": "index", "path": str(path), "wait": 0})
    assert [(o["status"], o["plan_id"]) for o in again["outcomes"]] == [("unchanged", outcome["plan_id"])]
    junk = tmp_path / "new" / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 8)
    refused = worker.ask({"op": "index", "path": str(junk), "wait": 0})
    assert refused["ok"] and [(o["status"], o["reason"]) for o in refused["outcomes"]] == [
        ("failed", "not a text, Word, PDF or HTML file (binary data)")]

    assert worker.ask({"op": "remove", "id": outcome["plan_id"], "wait": 0}) == {"ok": True, "removed": str(path.resolve())}
    assert worker.ask({"op": "remove", "id": outcome["plan_id"], "wait": 0}) == {"ok": True, "removed": None}
    assert _found(settings, "甲标记") == {"甲标记": 0}
    _served_plans_are_the_catalog(settings)
    assert worker.finish() == 0


BAD_OP = 'expected {"op": "index", "path": FILE}, {"op": "remove", "id": N} or {"op": "edit", "id": N, "fields": {…}}'


@pytest.mark.parametrize(
    ("request_line", "error"),
    [
        ("not json", "not a JSON request: b'not json'"),
        ('["index"]', "a request is a JSON object"),
        ('{"op": "index", "wait": 0}', BAD_OP),
        ('{"op": "remove", "id": "7"}', BAD_OP),
        ('{"op": "remove", "id": 7, "wait": -1}', "wait must be a number of seconds ≥ 0"),
        ('{"op": "reindex"}', BAD_OP),
        ('{"op": "edit", "id": 7, "fields": "school"}', BAD_OP),
    ],
)
def test_a_bad_request_gets_an_error_and_the_worker_goes_on(worker: Worker, request_line: str, error: str) -> None:
    assert worker.ask(request_line) == {"ok": False, "error": error}
    assert worker.ask({"op": "remove", "id": 999, "wait": 0}) == {"ok": True, "removed": None}
    assert worker.finish() == 0


def test_it_takes_the_lock_per_request_and_names_its_holder(settings: Settings, worker: Worker, tmp_path: Path) -> None:
    path = _plan(tmp_path / "new", "乙标记")
    with indexer_lock(settings.plans_home):
        answer = worker.ask({"op": "index", "path": str(path), "wait": 0.2})
    assert answer == {"ok": False, "error": f"another indexer (pid {os.getpid()}) is writing to {settings.plans_home.resolve()}; "
                                           "wait for it to finish, or pass --wait SECONDS"}
    assert worker.ask({"op": "index", "path": str(path), "wait": 0})["outcomes"][0]["status"] == "added"
    with indexer_lock(settings.plans_home, wait=0):  # free again between requests, the worker still running
        assert worker.process.poll() is None
    assert worker.finish() == 0


def test_commits_of_other_indexers_between_requests_are_kept(settings: Settings, worker: Worker, tmp_path: Path) -> None:
    """The state of the worker's own last commit is stale once another process commits.

    Plans added or removed meanwhile would also be repaired by the worker's recovery step; a
    plan replaced meanwhile would not: a stale state would serve its old passages.
    """
    folder = tmp_path / "new"

    def index(marker: str) -> int:
        answer = worker.ask({"op": "index", "path": str(_plan(folder, marker)), "wait": 0})
        assert answer["ok"] and answer["outcomes"][0]["status"] == "added", answer
        return int(answer["outcomes"][0]["plan_id"])

    index("丙一号")
    changed = _plan(folder, "丙二号")
    assert Pipeline(settings).index([changed]).count("added") == 1  # this process, not the worker
    index("丙三号")
    changed.write_text(changed.read_text(encoding="utf-8").replace("丙二号", "丁二号"), encoding="utf-8")
    assert Pipeline(settings).index([changed]).count("replaced") == 1
    index("丙四号")
    assert _found(settings, "丙一号", "丙二号", "丁二号", "丙三号", "丙四号") == {
        "丙一号": 1, "丙二号": 0, "丁二号": 1, "丙三号": 1, "丙四号": 1}
    _served_plans_are_the_catalog(settings)

    Pipeline(settings).reindex()  # a new index folder, its generations counted from the start again
    index("丙五号")
    assert Pipeline(settings).remove(index("丙六号")) is not None
    index("丙七号")
    assert _found(settings, "丙五号", "丙六号", "丙七号", "丁二号") == {"丙五号": 1, "丙六号": 0, "丙七号": 1, "丁二号": 1}
    _served_plans_are_the_catalog(settings)
    assert worker.finish() == 0


@contextmanager
def _started(settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], queue.Queue[bytes]]]:
    """A worker process for these settings, asked nothing, and the lines of its stderr."""
    env = {**os.environ, "PLANS_HOME": str(settings.plans_home.resolve())}
    process = subprocess.Popen([sys.executable, "-m", "indexer", "worker"], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    said: queue.Queue[bytes] = queue.Queue()
    assert process.stderr is not None
    threading.Thread(target=lambda: [said.put(line) for line in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        yield process, said
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_it_loads_its_code_and_jieba_before_the_first_request(settings: Settings) -> None:
    """A server starts its worker ahead of time (PLANS_INDEXER_WARM): the loading must happen
    then, not when the first upload arrives."""
    with _started(settings) as (process, said):
        line = said.get(timeout=ANSWER_LIMIT).decode()  # nothing was asked: it waits for stdin's first line
        ready = re.fullmatch(rf"indexer worker {process.pid}: ready in [0-9.]+ s \(([0-9,]+) domain words in jieba's dictionary\)\n", line)
        assert ready is not None, line
        assert int(ready[1].replace(",", "")) == len(user_words()) > 300  # data/userdict.txt, loaded
        assert process.poll() is None


def test_preloading_imports_the_pipeline_loads_jieba_and_warms_up(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from indexer import analysis, worker\n"
        "from indexer.settings import get_settings\n"
        "loaded = lambda: (analysis._segmenter is not None, 'indexer.pipeline' in sys.modules,\n"
        "                  'indexer.metadata' in sys.modules and sys.modules['indexer.metadata']._gazetteer.cache_info().currsize)\n"
        "before = loaded()\n"
        f"words = worker.preload(get_settings(plans_home={str(tmp_path / 'home')!r}))\n"
        "print(before, loaded())\n"
        "print(words == len(analysis.user_words()), analysis._segmenter.has_word('家校社'), analysis._segmenter.has_word('减负提质'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=ANSWER_LIMIT, check=True)
    assert done.stdout.split("\n")[:2] == ["(False, False, False) (True, True, 1)", "True True True"]
    assert not (tmp_path / "home").exists()  # an empty home stays untouched


def test_warming_up_runs_a_request_in_a_scratch_home_and_leaves_nothing(settings: Settings, tmp_path: Path) -> None:
    """What only a first request would load (the region gazetteer, the writer's code) is loaded
    by indexing a sample into a throwaway home: never into the operator's home or database."""
    scratch_root, operator_db = tmp_path / "tmp", tmp_path / "operator.sqlite3"
    scratch_root.mkdir()
    home = settings.plans_home
    before = _files(home)
    probe = (
        "from pathlib import Path\n"
        "from indexer import metadata, worker\n"
        "from indexer.settings import get_settings\n"
        f"settings = get_settings(plans_home=Path({str(home)!r}), database_url={'sqlite:///' + str(operator_db)!r})\n"
        "before = metadata._gazetteer.cache_info().currsize\n"
        "summary = worker.warm_up(settings)\n"
        "print(before, metadata._gazetteer.cache_info().currsize, summary)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=ANSWER_LIMIT,
                          env={**os.environ, "TMPDIR": str(scratch_root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0 1 1 added, 0 replaced, 0 unchanged, 0 removed, 0 failed; 1 removed\n"
    assert list(scratch_root.glob("plans-warm-up-*")) == []  # the scratch home is gone (jieba may leave its cache)
    assert not operator_db.exists()  # DATABASE_URL was not used
    assert _files(home) == before


def _files(home: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*")}


def test_reading_ahead_reads_the_newest_state_and_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    home = settings.plans_home
    before = _files(home)
    read_ahead(settings)
    assert _files(home) == before
    (tmp_path / "empty").mkdir()
    read_ahead(get_settings(plans_home=tmp_path / "empty"))  # no index yet: nothing read, nothing created
    assert list((tmp_path / "empty").iterdir()) == []

    ix = store.open_index(settings.index_dir)
    (segment, *_) = ix._segments()
    mapped = files.load(settings.index_dir, segment.segid)
    loaded = files.load(settings.index_dir, segment.segid, mmap=False)
    assert files.read_through(mapped) == files.read_through(loaded) > 0


def test_a_broken_state_costs_the_read_ahead_not_the_worker(settings: Settings) -> None:
    for broken in settings.index_dir.glob(f"{files.PREFIX}*/bigrams.passages.npy"):  # every generation kept
        broken.write_bytes(broken.read_bytes()[:100])  # a header and no data: its manifest refuses it
    with _started(settings) as (process, said):
        first = said.get(timeout=ANSWER_LIMIT).decode()
        assert first.startswith(f"indexer worker {process.pid}: no read-ahead ("), first
        assert "ready in" in said.get(timeout=ANSWER_LIMIT).decode()
        assert process.poll() is None
