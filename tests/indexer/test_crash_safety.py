"""Killing the indexer (SIGKILL) at any moment: the served state stays consistent, the next run completes.

A reader thread serves searches from the real SnapshotHolder while `python -m indexer index`
runs in a subprocess and is killed at several moments: during start-up, with plans pending
in the catalog, while the Whoosh writer is open, between two commits, and after a new
segment's sidecar is saved but before the commit naming it. Every snapshot it
sees must be whole (each plan with all its passages) and every search must equal a
brute-force scan of that snapshot's own passages. Afterwards one more run completes the
work and the catalog and the index hold the same plans and passages.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import pytest
from typer.testing import CliRunner

from app.search import SearchRequest, search
from app.holder import SnapshotHolder
from app.snapshot import Snapshot
from indexer.cleaning import clean, normalize
from app.cli import cli
from indexer.errors import IndexLockedError
from indexer.locking import indexer_lock
from indexer.metadata import extract_metadata
from indexer.pipeline import Pipeline
from indexer.sections import split_passages
from indexer.settings import DATA_DIR, Settings, get_settings
from tests.conftest import catalog_passages, is_countable

SAMPLES = sorted((DATA_DIR / "corpus").glob("*.txt"))
PLANS = 60
BATCH = 6  # plans per commit in the killed runs: ten commits to kill between
SCHOOLS = {"000": "海王路小学", "001": "金茵小学", "002": "高新区第一小学", "003": "小教科", "004": "焦溪小学"}
DIGITS = "〇一二三四五六七八九"
QUERIES = ["劳动教育", "独有标记", "德", "课后服务 质量", "双减 OR 五育并举"]
NEEDLES = {"劳动教育": [["劳动教育"]], "独有标记": [["独有标记"]], "德": [["德"]],
           "课后服务 质量": [["课后服务", "质量"]], "双减 OR 五育并举": [["双减"], ["五育并举"]]}


def _write_corpus(folder: Path) -> None:
    """PLANS short plans: the samples' first fifth, each with its own school name and marker line."""
    folder.mkdir()
    for i in range(PLANS):
        sample = SAMPLES[i % len(SAMPLES)]
        lines = sample.read_text(encoding="utf-8").split("\n")
        text = "\n".join(lines[: max(12, len(lines) // 5)])
        old = SCHOOLS[sample.name[:3]]
        number = DIGITS[i // 10] + DIGITS[i % 10]
        new = old.replace("小学", f"第{number}小学") if "小学" in old else f"第{number}小教科"
        text = text.replace(old, new) + f"\n附：本计划编号{i:03d}，独有标记甲{i:03d}乙。\n"
        (folder / f"plan_{i:03d}.txt").write_text(text, encoding="utf-8")


def _expected_passages(folders: list[Path]) -> dict[str, int]:
    """File name -> passages its plan has when whole (the pipeline's own cutting, run here)."""
    counts = {}
    for folder in folders:
        for path in folder.glob("*.txt"):
            cleaned = clean(path.read_text(encoding="utf-8"))
            counts[path.name] = len(split_passages(cleaned.text, title=extract_metadata(cleaned).title))
    return counts


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "PLANS_HOME": str(settings.plans_home), "PLANS_WORKERS": "1", **extra}


def _indexer(settings: Settings, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", *args], env=_env(settings, **env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


# -- the state on disk, polled from outside the indexer -------------------------------------------


def _pending(settings: Settings) -> int:
    try:
        with sqlite3.connect(f"file:{settings.plans_home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=0.1) as db:
            return int(db.execute("select count(*) from plans where index_state = 'pending'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _generation(settings: Settings) -> int:
    names = [p.name for p in settings.index_dir.glob("_plans_*.toc")]
    return max((int(n[len("_plans_"):-len(".toc")]) for n in names), default=-1)


def _writer_open(settings: Settings) -> bool:
    """Whoosh keeps its pools in a *.tmp folder while a writer is open."""
    return any(p.is_dir() for p in settings.index_dir.glob("*.tmp"))


def _saved_ahead(settings: Settings) -> bool:
    """A segment's sidecar is on disk in the index folder; the Whoosh commit naming it is not yet."""
    from whoosh.filedb.filestore import FileStorage

    from indexer.index import reader as index_reader

    directory = settings.index_dir
    try:
        storage = FileStorage(str(directory))
        named = {s.segid for n in index_reader.generations(directory) for s in index_reader.read_toc(storage, n).segments}
    except Exception:  # a TOC being replaced: look again
        return False
    return any(p.name[len("seg-"):] not in named for p in directory.glob("seg-*"))


def _unindex(settings: Settings, corpus: Path) -> None:
    """Take the corpus's plans out of the index, their files left in place: the next run adds them again."""
    names = {p.name for p in corpus.iterdir()}
    with sqlite3.connect(settings.plans_home / "catalog.sqlite3") as db:
        ids = [i for i, source in db.execute("select id, source from plans") if PurePath(source).name in names]
    for plan_id in ids:
        assert Pipeline(settings).remove(plan_id)


def _leftovers(settings: Settings) -> list[str]:
    """Files a killed writer may leave: pool folders and half-written tables of contents."""
    return sorted(p.name for p in settings.index_dir.iterdir() if p.suffix == ".tmp" or ".toc." in p.name)


# -- the reader ------------------------------------------------------------------------------------


@dataclass
class Reader:
    """Searches continuously through a SnapshotHolder and records every inconsistency it sees."""

    holder: SnapshotHolder
    expected: dict[str, int]
    baseline: set[str]
    problems: list[str] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)
    checks: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            snapshot = self.holder.current()
            if not self.keys or self.keys[-1] != snapshot.key:
                self.keys.append(snapshot.key)
            try:
                self.problems.extend(_inconsistencies(snapshot, self.expected, self.baseline))
            except Exception as exc:  # a crash of the reader is a finding too
                self.problems.append(f"{snapshot.key}: {exc!r}")
            self.checks += 1
            time.sleep(0.01)


def _inconsistencies(snapshot: Snapshot, expected: dict[str, int], baseline: set[str]) -> Iterator[str]:
    files = [PurePath(meta["source"]).name for meta in snapshot.plans]
    if missing := baseline - set(files):
        yield f"{snapshot.key}: previously indexed plans missing: {sorted(missing)}"
    for index, name in enumerate(files):
        ordinals = snapshot.ordinals[snapshot.plan_range(index)].tolist()
        if ordinals != list(range(expected[name])):
            yield f"{snapshot.key}: {name} has passages {ordinals}, expected {expected[name]}"
    for q in QUERIES:
        result = search(snapshot, SearchRequest(q=q, per_group=0, size=100))
        truth: dict[int, int] = {}
        for index in range(len(snapshot.plans)):
            hits = sum(
                any(all(normalize(n) in snapshot.normalized[i] for n in clause) for clause in NEEDLES[q])
                and is_countable(snapshot, i)  # the README's hit: no heading alone whose section goes on
                for i in snapshot.plan_range(index)
            )
            if hits:
                truth[int(snapshot.plans[index]["id"])] = hits
        found = {g["document_id"]: g["hits"] for g in result["groups"]}
        if found != truth or result["total"] != sum(truth.values()) or result["documents"] != len(truth):
            yield f"{snapshot.key}: {q!r} gave {found} ({result['total']}), brute force {truth}"
        if any(len(g["passages"]) != g["hits"] for g in result["groups"]):
            yield f"{snapshot.key}: {q!r} returned fewer passages than hits"


@pytest.fixture()
def home(tmp_path: Path) -> Iterator[tuple[Settings, Path, Reader]]:
    """The five samples indexed and served by a reader thread; a 60-plan corpus ready to index."""
    samples = tmp_path / "samples"
    shutil.copytree(DATA_DIR / "corpus", samples)
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    settings = get_settings(plans_home=tmp_path / "home", plans_batch_plans=BATCH, plans_workers=1)
    assert not Pipeline(settings).index([samples]).failed
    holder = SnapshotHolder(settings.index_dir, reload_interval=0)
    reader = Reader(holder, _expected_passages([samples, corpus]), {p.name for p in SAMPLES})
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    yield settings, corpus, reader
    reader.stop.set()
    thread.join(30)


def _kill_when(settings: Settings, corpus: Path, moment: Callable[[], bool], label: str,
               again: Callable[[], None] | None = None, step: float = 0.002) -> str:
    """Start an indexer, SIGKILL it as soon as `moment()` holds; describe the state it was killed in.
    `again`: what gives the indexer work once more if it finished first (a moment shorter than
    one look can fall between all the looks of a run); `step`: how long the indexer runs
    between two looks."""
    process = _indexer(settings, "index", str(corpus), PLANS_BATCH_PLANS=str(BATCH))
    deadline = time.monotonic() + 120
    while True:
        # stopped while it is looked at: a moment is never missed because looking took longer than it lasted
        process.send_signal(signal.SIGSTOP)
        if moment():
            break
        process.send_signal(signal.SIGCONT)
        if again is not None and process.poll() is not None:
            assert process.communicate()[0] and process.returncode == 0, (label, process.returncode)
            again()
            process, again = _indexer(settings, "index", str(corpus), PLANS_BATCH_PLANS=str(BATCH)), None
            continue
        assert process.poll() is None, f"{label}: the indexer finished before the moment came: {process.communicate()}"
        assert time.monotonic() < deadline, f"{label}: the moment never came"
        time.sleep(step)
    state = f"{label}: generation {_generation(settings)}, {_pending(settings)} pending, writer open {_writer_open(settings)}"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, (label, process.returncode)
    return state


def test_sigkill_at_any_moment_keeps_searches_consistent_and_a_rerun_completes(
    home: tuple[Settings, Path, Reader],
) -> None:
    settings, corpus, reader = home
    started = time.monotonic()
    kills = [_kill_when(settings, corpus, lambda: time.monotonic() - started > 0.5, "after 0.5 s")]
    kills.append(_kill_when(settings, corpus, lambda: _pending(settings) > 0, "plans pending in the catalog"))
    kills.append(_kill_when(settings, corpus, lambda: _writer_open(settings), "Whoosh writer open"))
    generation = _generation(settings)
    kills.append(_kill_when(settings, corpus, lambda: _generation(settings) >= generation + 2, "two commits later"))
    kills.append(_kill_when(settings, corpus, lambda: _writer_open(settings), "Whoosh writer open again"))
    kills.append(_kill_when(settings, corpus, lambda: _saved_ahead(settings), "state saved, commit not yet written",
                            again=lambda: _unindex(settings, corpus), step=0.0005))
    print("\n".join(kills))

    # the next run completes the work; meanwhile a second indexer stops with one clear line
    complete = _indexer(settings, "index", str(corpus), PLANS_BATCH_PLANS=str(BATCH))
    while not (settings.plans_home / "indexer.lock").read_text().strip() == str(complete.pid):
        assert complete.poll() is None, complete.communicate()
        time.sleep(0.01)
    complete.send_signal(signal.SIGSTOP)  # holding the lock while the second one tries (commits are quick now)
    try:
        second = subprocess.run([sys.executable, "-m", "indexer", "index", str(corpus)], env=_env(settings),
                                capture_output=True, text=True, timeout=60)
    finally:
        complete.send_signal(signal.SIGCONT)
    waiting = _indexer(settings, "index", str(corpus), "--wait", "120")
    out, err = complete.communicate(timeout=120)
    assert complete.returncode == 0, err
    assert second.returncode == 2 and second.stdout == ""
    assert second.stderr.splitlines() == [
        f"error: another indexer (pid {complete.pid}) is writing to {settings.plans_home}; "
        "wait for it to finish, or pass --wait SECONDS"
    ]
    waited_out, waited_err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, waited_err
    assert waited_out.strip() == f"0 added, 0 replaced, {PLANS} unchanged, 0 removed, 0 failed"

    reader.stop.set()
    time.sleep(0.05)
    assert reader.problems == []
    assert len(reader.keys) >= 3, "the reader saw too few generations to have watched the writes"
    catalog = catalog_passages(settings)
    snapshot = Snapshot(settings.index_dir)
    assert sorted({plan.id for plan, _ in catalog}) == sorted(int(meta["id"]) for meta in snapshot.plans)
    assert sorted(passage.id for _, passage in catalog) == sorted(snapshot.passage_ids.tolist())
    assert {plan.index_state for plan, _ in catalog} == {"indexed"}
    assert len(snapshot.plans) == PLANS + len(SAMPLES)
    assert list(_inconsistencies(snapshot, reader.expected, reader.baseline)) == []
    assert _leftovers(settings) == []
    assert snapshot.problems == [], "the newest generation must load whole"


# -- two indexers at once -------------------------------------------------------------------------


def test_a_second_indexer_stops_with_one_line_or_waits(tmp_path: Path) -> None:
    settings = get_settings(plans_home=tmp_path / "home")
    runner = CliRunner()
    env = {"PLANS_HOME": str(settings.plans_home)}
    with indexer_lock(settings.plans_home):
        result = runner.invoke(cli, ["index", str(SAMPLES[0])], env=env)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == (
            f"error: another indexer (pid {os.getpid()}) is writing to {settings.plans_home}; "
            "wait for it to finish, or pass --wait SECONDS\n"
        )
        for call in (lambda p: p.index([SAMPLES[0]]), lambda p: p.remove(1), Pipeline.reindex):
            started = time.monotonic()
            with pytest.raises(IndexLockedError, match=f"pid {os.getpid()}"):
                call(Pipeline(settings, lock_wait=0))
            assert time.monotonic() - started < 1, "lock_wait=0 must not wait"
    # with --wait the second one waits for the lock instead
    holding = threading.Event()

    def hold() -> None:
        with indexer_lock(settings.plans_home):
            holding.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    result = runner.invoke(cli, ["index", str(SAMPLES[0]), "--wait", "30"], env=env)
    holder.join()
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stdout
    assert time.monotonic() - started >= 0.5


# -- a kill inside `plans reindex` ----------------------------------------------------------------


def _served(settings: Settings) -> list[tuple[str, list[str]]]:
    snapshot = Snapshot(settings.index_dir)
    return sorted((PurePath(m["source"]).name, snapshot.texts[snapshot.plan_range(i).start : snapshot.plan_range(i).stop])
                  for i, m in enumerate(snapshot.plans))


def test_a_kill_between_the_two_renames_of_reindex_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """`reindex` builds index.new, moves index to index.old, then index.new to index: killed in between."""
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([DATA_DIR / "corpus"]).failed
    before = _served(settings)
    holder = SnapshotHolder(settings.index_dir, reload_interval=0)
    index, fresh, old = settings.index_dir, settings.index_dir.with_name("index.new"), settings.index_dir.with_name("index.old")
    shutil.copytree(index, fresh)  # what reindex built: the same plans
    os.replace(index, old)  # ... and the kill came here
    holder.current()
    time.sleep(0.2)
    assert len(holder.current().plans) == len(SAMPLES)  # the server keeps its last good generation
    report = Pipeline(settings).index([DATA_DIR / "corpus"])
    assert report.count("unchanged") == len(SAMPLES) and not report.failed
    assert _served(settings) == before
    catalog = catalog_passages(settings)
    assert sorted(p.id for _, p in catalog) == sorted(Snapshot(settings.index_dir).passage_ids.tolist())


def test_plans_the_index_lost_are_restored_from_the_catalog(tmp_path: Path) -> None:
    """The catalog is the source of truth: a run re-indexes catalog plans the index does not hold."""
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([DATA_DIR / "corpus"]).failed
    before = _served(settings)
    shutil.rmtree(settings.index_dir)
    Pipeline(settings).index([SAMPLES[0]])
    assert _served(settings) == before


def test_recovery_ignores_deleted_documents_and_commits_nothing_when_nothing_changed(tmp_path: Path) -> None:
    """Whoosh keeps a deleted plan's terms until a merge: recovery must not take them for orphans."""
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA_DIR / "corpus", corpus)
    settings = get_settings(plans_home=tmp_path / "home", plans_batch_plans=2)  # several segments
    assert not Pipeline(settings).index([corpus]).failed
    next(corpus.glob("003_*.txt")).unlink()
    assert Pipeline(settings).index([corpus], prune=True).count("removed") == 1
    Path(Pipeline(settings).remove(next(iter(Snapshot(settings.index_dir).plan_by_id))) or "").unlink()
    generation = _generation(settings)
    for _ in range(2):
        assert Pipeline(settings).index([corpus]).count("unchanged") == 3
        assert _generation(settings) == generation
