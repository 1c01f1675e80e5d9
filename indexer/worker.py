"""`python -m indexer worker`: a long-lived indexer for the server, one JSON request per line.

A fresh `python -m indexer index FILE` pays imports and jieba's dictionary (~1 s) before its
second of work. This loop pays them once, at start, before reading the first request, runs
one request's work on a bundled sample in a throwaway home (`warm_up`), reads ahead in the
index (`read_ahead`), says `indexer worker PID: ready in N s` on stderr, and keeps what it
loaded: its first request is then no slower than the next ones. Each request reads the newest generation's state back from its files
(memory-mapped, ~0.1 s), so another process's commit in between is never overwritten and no
state stays in this process's heap between requests. Freed heap goes back to the system
after each request.

Requests on stdin, answers on stdout, one JSON object per line each, in order:

    {"op": "index", "path": "/abs/file", "wait": 30}  -> {"ok": true, "summary": "1 added, ...", "outcomes": [...]}
    {"op": "remove", "id": 7, "wait": 30}             -> {"ok": true, "removed": "/its/source"}  (null: no such plan)
    {"op": "edit", "id": 7, "fields": {"school": "…"}, "wait": 30}
                                                      -> {"ok": true, "document": {metadata…}}  (null: no such plan)
    a request that could not run (bad, lock held, ...) -> {"ok": false, "error": "another indexer (pid 12) is ..."}

The outcomes are the `--json` report of `index` (source, status, reason, plan_id, warnings).
Each request takes the indexer lock, waiting up to its `wait` seconds, and releases it when
done, so an operator's `plans index` runs between two requests. An unexpected error is
answered with `"stopped": true` and ends the process: the crash-safe pipeline lets the next
worker repair whatever was left half done. Nothing but answers reaches stdout (stray prints
go to stderr); the loop ends at the end of stdin.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO, Any

from indexer.errors import CorruptIndexError, IndexMissingError, PlansError, SchemaVersionError, describe_fault
from indexer.memory import trim
from indexer.settings import DATA_DIR, Settings


class BadRequest(PlansError):
    """A request line that is not one of the operations above."""


def run(settings: Settings) -> int:
    """Serve requests from stdin until it ends; the exit code (0, or 1 after an unexpected error)."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="ascii", newline="\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever else prints, at any level, goes to stderr
    sys.stdout = sys.stderr
    started = time.perf_counter()
    words = preload(settings)
    print(f"indexer worker {os.getpid()}: ready in {time.perf_counter() - started:.1f} s ({words:,} domain words in jieba's dictionary)",
          file=sys.stderr, flush=True)
    with answers:
        return serve(settings, sys.stdin.buffer, answers)


def preload(settings: Settings | None = None) -> int:
    """Import the pipeline and load jieba's dictionary now, before any request arrives: a
    server that starts this process ahead of time (PLANS_INDEXER_WARM) spares the first
    upload this ~1 s. With `settings`, also warm up (`warm_up`) and read ahead in their
    index. The number of domain words loaded into the dictionary."""
    import indexer.pipeline  # noqa: F401  (its imports: readers, SQLAlchemy, Whoosh, numpy)
    from indexer.analysis import dictionary_size

    words = dictionary_size()
    if settings is not None:
        warm_up(settings)
        read_ahead(settings)
    return words


def warm_up(settings: Settings) -> str | None:
    """Index one bundled sample plan into a throwaway home, then delete it: what a request runs
    for the first time (the region gazetteer, lazily imported modules, compiled patterns, the
    Whoosh writer, the state merge) is then loaded before the first real one. The throwaway
    home has its own SQLite catalog, whatever DATABASE_URL says. The run's summary, or None
    without a bundled sample."""
    from indexer.pipeline import Pipeline

    samples = sorted(DATA_DIR.glob("corpus/*.txt"), key=lambda p: p.stat().st_size)
    if not samples:
        return None
    with tempfile.TemporaryDirectory(prefix="plans-warm-up-") as home:
        # no time budget: the sample is read here, so what it loads stays loaded for the
        # reading processes each request forks (indexer/budget.py)
        scratch = settings.model_copy(update={"plans_home": Path(home), "database_url": None, "plans_workers": 1,
                                              "plans_file_timeout": 0.0,
                                              "plans_search_backend": "embedded"})  # a scratch SQLite catalog
        pipeline = Pipeline(scratch)
        report = pipeline.index([samples[0]])
        removed = [pipeline.remove(o.plan_id) for o in report.outcomes if o.plan_id is not None]
    trim()
    return f"{report.summary()}; {len(removed)} removed"


def read_ahead(settings: Settings) -> None:
    """Open the index and read its newest state the way a request will, writing nothing:
    Whoosh imports its codec at the first open, and the state's files come into the page
    cache (~0.2 s off the first request). No index yet, or one of another version: nothing."""
    from indexer import store
    from indexer.index import files, reader

    try:
        ix = store.open_index(settings.index_dir)
        with ix.reader():
            pass
        commit = reader.open_commit(settings.index_dir)
        if commit.problems:  # an older generation is served: say why
            raise CorruptIndexError(commit.problems[0])
        for segment in commit.segments:
            files.read_through(segment.state)
    except (IndexMissingError, SchemaVersionError):
        return
    except Exception as exc:  # only a head start (a corrupt state too): whatever is wrong, the first request reports it
        print(f"indexer worker {os.getpid()}: no read-ahead ({exc.__class__.__name__}: {exc})", file=sys.stderr)


def serve(settings: Settings, requests: IO[bytes], answers: IO[str]) -> int:
    for line in requests:
        if not line.strip():
            continue
        stopped = False
        try:
            answer = {"ok": True, **handle(settings, _parse(line))}
        except PlansError as exc:
            answer = {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug or a broken disk: say so, then leave the repair to a fresh process
            traceback.print_exc(file=sys.stderr)  # the details (SQL, parameters, paths) go to the log only
            answer = {"ok": False, "error": fault_message(exc), "stopped": True}
            stopped = True
        answers.write(json.dumps(answer) + "\n")  # ASCII-only: any path survives the pipe
        answers.flush()
        if stopped:
            return 1
        trim()  # the merge held two states for a moment: hand that heap back (~800 -> ~300 MB at 2,000 plans)
    return 0


def fault_message(exc: BaseException) -> str:
    """What the server may show of an unexpected error: a short category, never its text."""
    if isinstance(exc, OSError) or type(exc).__module__.startswith("sqlalchemy"):
        return describe_fault(exc)
    return f"an unexpected {exc.__class__.__name__} (details in the server log)"


def handle(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """Run one parsed request: the answer's fields besides `ok`."""
    from indexer.pipeline import Pipeline

    pipeline = Pipeline(settings, lock_wait=request["wait"])
    if request["op"] == "index":
        report = pipeline.index([Path(request["path"])])
        return report.as_dict()
    if request["op"] == "edit":
        return {"document": pipeline.edit(request["id"], request["fields"])}
    return {"removed": pipeline.remove(request["id"])}


def _parse(line: bytes) -> dict[str, Any]:
    """The request with its fields checked: op, wait (seconds ≥ 0), and path or id."""
    try:
        request = json.loads(line)
    except ValueError:
        raise BadRequest(f"not a JSON request: {line.strip()[:80]!r}") from None
    if not isinstance(request, dict):
        raise BadRequest("a request is a JSON object")
    wait = request.get("wait", 0)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise BadRequest("wait must be a number of seconds ≥ 0")
    op = request.get("op")
    if op == "index" and isinstance(request.get("path"), str) and request["path"]:
        return {"op": op, "path": request["path"], "wait": float(wait)}
    if op == "remove" and type(request.get("id")) is int and 1 <= request["id"] < 2**63:
        return {"op": op, "id": request["id"], "wait": float(wait)}
    if op == "edit" and type(request.get("id")) is int and 1 <= request["id"] < 2**63 and isinstance(request.get("fields"), dict):
        return {"op": op, "id": request["id"], "fields": request["fields"], "wait": float(wait)}
    raise BadRequest('expected {"op": "index", "path": FILE}, {"op": "remove", "id": N} or {"op": "edit", "id": N, "fields": {…}}')
