"""The benchmark of issue 6: indexing, adding a plan, search in-process and over HTTP, FTS5 beside it.

    .venv/bin/python -m bench.run --plans 2000 --out bench/results/

Generates the corpus (bench/var/corpus-N, deterministic), indexes it into bench/var/home-N,
measures, and writes bench/results/results-N.json plus a Markdown summary (results-N.md).
Every figure is a median and a p95 over repeated runs. `--reuse` keeps an existing index
(skips the indexing runs) for iterating on the search measurements.
"""

from __future__ import annotations

import argparse
import json
import importlib.metadata
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
from sqlalchemy import select

from app.mentions import countable
from app.query import parse
from app.search import SearchRequest, evaluate, search
from app.snapshot import Snapshot
from bench import loadgen
from bench.fts5 import Fts5Index
from bench.tantivy_peer import TantivyIndex
from bench.generate import SEED, generate
from bench.queries import query_mix, truth
from bench.report import markdown, verdicts
from indexer.analysis import USER_DICT, segment
from indexer import store
from indexer.catalog import Plan, create_catalog_engine, session_scope
from indexer.errors import PlansError
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

VAR = Path("bench/var")
UPLOAD_TOKEN = "bench-upload-token"  # the measured server runs with uploads on
SLOW_BUDGET_S = 150.0  # repeat a slow measurement (compare, matrix) only while within this budget


def stats(values: list[float]) -> dict[str, float]:
    """Median and p95 (linear interpolation; with few runs p95 is close to the maximum)."""
    if not values:
        return {"n": 0}
    array = np.asarray(values, float)
    return {"n": len(values), "median": float(np.median(array)), "p95": float(np.percentile(array, 95)),
            "min": float(array.min()), "max": float(array.max())}


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker processes), user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    import sqlite3

    import jieba
    import whoosh

    return {
        "nproc": os.cpu_count(), "cpu": model, "memory_gb": round(int(memory) / 1024**2, 1),
        "python": platform.python_version(), "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
        "whoosh": whoosh.versionstring(), "jieba": jieba.__version__,
        "rjieba": importlib.metadata.version("rjieba"),
        "load_average": os.getloadavg(),
    }


def code_state() -> dict[str, Any]:
    """The commit measured and the files of app/ and indexer/ that differ from it (others work in parallel)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": git("status", "--short", "--", "app", "indexer").splitlines()}


# -- corpus and indexing ---------------------------------------------------------------------


def corpus(plans: int) -> tuple[Path, list[str]]:
    folder = VAR / f"corpus-{plans}"
    manifest = folder / "corpus.json"
    if not manifest.exists() or len(json.loads(manifest.read_text())["plans"]) != plans:
        shutil.rmtree(folder, ignore_errors=True)
        log(f"generating {plans} plans into {folder}")
        generate(folder, plans, seed=SEED)
    texts = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))]
    return folder, texts


def measure_indexing(folder: Path, home: Path, chars: int, runs: int) -> dict[str, Any]:
    """Files → catalog + searchable index, `python -m indexer index` from an empty PLANS_HOME each
    run (the last one is kept); peak RSS is that of the largest single process of the runs."""
    seconds, cpu = [], []
    for run in range(runs):
        target = home if run == runs - 1 else home.with_name(home.name + f"-run{run}")
        shutil.rmtree(target, ignore_errors=True)
        used = cpu_seconds()
        command = [sys.executable, "-m", "indexer", "index", "--no-progress", "--json", str(folder)]
        env = {**os.environ, "PLANS_HOME": str(target)}
        elapsed, done = timed(lambda: subprocess.run(command, env=env, capture_output=True, text=True))
        failed = done.returncode == 0 and [o for o in json.loads(done.stdout)["outcomes"] if o["status"] == "failed"]
        if done.returncode != 0 or failed:
            raise RuntimeError(f"indexing failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        seconds.append(elapsed)
        cpu.append(cpu_seconds() - used)
        log(f"indexing run {run + 1}/{runs}: {elapsed:.1f} s ({cpu[-1]:.1f} s CPU), {chars / elapsed:,.0f} chars/s")
        if target != home:
            shutil.rmtree(target, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": stats(seconds), "cpu_seconds": stats(cpu), "chars_per_s": chars / statistics.median(seconds),
            "chars_per_s_at_p95": chars / stats(seconds)["p95"], "peak_rss_mb": peak_mb}


_PYTHON_JIEBA: list[Any] = []


def _python_jieba() -> Any:
    """The Python package jieba with the domain dictionary: the issue's reference. The indexer
    segments with jieba-rs (`indexer.analysis`), which gives the same words."""
    if not _PYTHON_JIEBA:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        with open(USER_DICT, "rb") as handle:
            tokenizer.load_userdict(handle)
        tokenizer.initialize()
        _PYTHON_JIEBA.append(tokenizer)
    return _PYTHON_JIEBA[0]


def _jieba_cut(texts: list[str]) -> int:
    tokenizer = _python_jieba()
    return sum(1 for text in texts for _ in tokenizer.cut(text, HMM=True))


def _segment(texts: list[str]) -> int:
    return sum(len(segment(text)) for text in texts)


def measure_jieba(texts: list[str], runs: int) -> dict[str, Any]:
    """jieba alone over the same texts: the Python package's raw `cut` (the reference of the
    issue) and our `segment()` (jieba-rs: normalise + offsets + filter, what the indexer runs).

    Two processes `runs` times; one process once, for scale.
    """
    _python_jieba()  # load the dictionaries in the parent; forked workers share them
    segment("预热")
    chars = sum(map(len, texts))
    chunks = [texts[i : i + 20] for i in range(0, len(texts), 20)]
    out: dict[str, Any] = {}
    for name, function in (("cut", _jieba_cut), ("segment", _segment)):
        for workers in (1, 2):
            seconds, cpu = [], []
            for _ in range(runs if workers == 2 else 1):
                used = cpu_seconds()
                if workers == 1:
                    elapsed, _ = timed(lambda: [function(c) for c in chunks])
                else:
                    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                        elapsed, _ = timed(lambda: list(pool.map(function, chunks)))
                seconds.append(elapsed)
                cpu.append(cpu_seconds() - used)  # the pool's workers are reaped on leaving `with`
            out[f"{name}_{workers}proc"] = {"seconds": stats(seconds), "cpu_seconds": stats(cpu),
                                            "chars_per_s": chars / statistics.median(seconds)}
            log(f"jieba {name} × {workers}: {chars / statistics.median(seconds):,.0f} chars/s")
    return out


WHOOSH_SAMPLE_PLANS = 400  # Whoosh alone runs at ~80 K chars/s: the whole corpus would take minutes per run


def measure_whoosh_words(home: Path, runs: int) -> dict[str, Any]:
    """Whoosh alone: the index's jieba `words` field (its definition in the schema, with the words
    already segmented, as the pipeline hands them over) for the passages of the first plans, in
    commits of `plans_batch_plans` plans, by one process and by two processes writing an index
    each (the most two cores can do with Whoosh, no merge). Nothing else the indexer does is in
    it: reading, catalog, segmentation and the serving state are left out."""
    from indexer.analysis import Segmented
    from indexer.catalog import Passage
    from indexer.schema import build_schema

    settings = get_settings(plans_home=home)
    engine = create_catalog_engine(settings.catalog_url)
    with session_scope(engine) as session:
        ids = list(session.scalars(select(Plan.id).order_by(Plan.id).limit(WHOOSH_SAMPLE_PLANS)))
        rows = session.execute(select(Passage.plan_id, Passage.text).where(Passage.plan_id.in_(ids))
                               .order_by(Passage.plan_id, Passage.ordinal)).all()
    engine.dispose()
    plans: dict[int, list[Segmented]] = {}
    for plan_id, text in rows:
        plans.setdefault(plan_id, []).append(Segmented(text, segment(text)))
    batches = [[d for p in ids[i : i + settings.plans_batch_plans] for d in plans[p]]
               for i in range(0, len(ids), settings.plans_batch_plans)]
    chars = sum(len(d) for batch in batches for d in batch)
    scratch = VAR / "whoosh-words"
    _WHOOSH_JOB[:] = [batches, build_schema()["words"], scratch]  # forked workers inherit it
    write = _whoosh_write
    out: dict[str, Any] = {"plans": len(ids), "chars": chars}
    for workers in (1, 2):
        seconds, cpu = [], []
        for _ in range(runs):
            used = cpu_seconds()
            if workers == 1:
                elapsed, _ = timed(lambda: write(0, 1))
            else:
                with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                    elapsed, _ = timed(lambda: list(pool.map(write, range(workers), [workers] * workers)))
            seconds.append(elapsed)
            cpu.append(cpu_seconds() - used)
        out[f"{workers}proc"] = {"seconds": stats(seconds), "cpu_seconds": stats(cpu),
                                 "chars_per_s": chars / statistics.median(seconds)}
        log(f"Whoosh alone, the words field × {workers}: {chars / statistics.median(seconds):,.0f} chars/s")
    shutil.rmtree(scratch, ignore_errors=True)
    _WHOOSH_JOB.clear()
    return out


_WHOOSH_JOB: list[Any] = []  # (batches of Segmented passages, the words field, scratch folder)


def _whoosh_write(part: int, workers: int) -> None:
    """Every `workers`-th passage from `part` into an index of its own, one commit per batch."""
    from whoosh import fields
    from whoosh.filedb.filestore import FileStorage

    batches, field, scratch = _WHOOSH_JOB
    folder = scratch / str(part)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ix = FileStorage(str(folder)).create_index(fields.Schema(words=field))
    for batch in batches:
        writer = ix.writer(limitmb=256)
        for document in batch[part::workers]:
            writer.add_document(words=document)
        writer.commit()


def measure_add_plan(home: Path, plans: int, runs: int) -> tuple[dict[str, Any], list[int]]:
    """One new file → indexed, then a fresh Snapshot loaded (what the server does on reload)."""
    settings = get_settings(plans_home=home)
    folder = VAR / "new-plans"
    index_s, load_s, total_s, added = [], [], [], []
    for k in range(runs):
        path = _new_plan(folder, plans + k)
        elapsed, report = timed(lambda: Pipeline(settings).index([path]))
        added.append(report.outcomes[-1].plan_id)
        loaded, snapshot = timed(lambda: Snapshot(settings.index_dir))
        marker = _marker(plans + k)
        assert len(snapshot.find(marker).index) >= 1, "the new plan is not searchable"
        snapshot.close()
        index_s.append(elapsed)
        load_s.append(loaded)
        total_s.append(elapsed + loaded)
        log(f"add plan {k + 1}/{runs}: index {elapsed:.2f} s + snapshot {loaded:.2f} s")
    cli_s, sources = [], []
    for k in range(runs):  # what an administrator runs: a new process, so imports and jieba load too
        path = _new_plan(folder, plans + 50 + k)
        env = {**os.environ, "PLANS_HOME": str(home)}
        command = [str(loadgen.PLANS), "index", "--no-progress", str(path)]
        elapsed, _ = timed(lambda: subprocess.run(command, env=env, check=True, capture_output=True))
        cli_s.append(elapsed)
        sources.append(str(path.resolve()))
        log(f"`plans index FILE` {k + 1}/{runs}: {elapsed:.2f} s")
    engine = create_catalog_engine(settings.catalog_url)
    with session_scope(engine) as session:
        added += list(session.scalars(select(Plan.id).where(Plan.source.in_(sources))))
    engine.dispose()
    return {"index_s": stats(index_s), "snapshot_load_s": stats(load_s), "total_s": stats(total_s),
            "cli_index_s": stats(cli_s)}, added


def _marker(number: int) -> str:
    return f"xk{number}qz"


def _new_plan(folder: Path, number: int) -> Path:
    """A generated plan that is not in the corpus, carrying a unique marker word."""
    spec = generate(folder, 1, seed=SEED, start=number)[0]
    path = folder / spec.file
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"本计划编号{_marker(number).upper()}。\n")
    return path


# -- search in-process and FTS5 ----------------------------------------------------------------


def measure_search(snapshot: Snapshot, fts: Fts5Index, tv: TantivyIndex, mix: dict[str, list[str]],
                   runs: int) -> dict[str, Any]:
    """Each query: cold (LRU of needle results cleared), warm, FTS5 and Tantivy; and the four passage sets."""
    rows = []
    for cls, queries in mix.items():
        for q in queries:
            request = SearchRequest(q=q, per_group=3)
            search(snapshot, request)  # first touch: page cache, lazy tables
            cold, warm, lite, rust = [], [], [], []
            for _ in range(runs):
                snapshot.clear_cache()
                cold.append(timed(lambda: search(snapshot, request))[0] * 1000)
            for _ in range(runs):
                warm.append(timed(lambda: search(snapshot, request))[0] * 1000)
            fts.search(q)
            for _ in range(runs):
                lite.append(timed(lambda: fts.search(q))[0] * 1000)
            tv.search(q)
            for _ in range(runs):
                rust.append(timed(lambda: tv.search(q))[0] * 1000)
            node = parse(q)
            ours = set(snapshot.passage_ids[np.flatnonzero(evaluate(snapshot, node) & countable(snapshot))].tolist())
            expected = set(snapshot.passage_ids[np.flatnonzero(truth(snapshot, node))].tolist())
            theirs = fts.ids(node)
            result = search(snapshot, request)
            rows.append({
                "class": cls, "q": q, "fts5_mode": fts.plan(node)[3], "hits": len(expected),
                "plans": result["documents"], "ours_equals_truth": ours == expected and result["total"] == len(expected),
                "fts5_equals_truth": theirs == expected, "tantivy_equals_truth": tv.ids(node) == expected,
                "cold_ms": stats(cold), "warm_ms": stats(warm), "fts5_ms": stats(lite), "tantivy_ms": stats(rust),
                "_cold_median": statistics.median(cold), "_cold": cold, "_warm": warm, "_fts5": lite, "_tantivy": rust,
            })
            log(f"{cls:12} {q:28} hits {len(expected):6}  cold {np.median(cold):7.1f}  warm {np.median(warm):7.1f}"
                f"  fts5 {np.median(lite):7.1f} ms ({rows[-1]['fts5_mode']})  tantivy {np.median(rust):7.1f} ms"
                f"{'' if rows[-1]['ours_equals_truth'] else '  OURS≠TRUTH'}{'' if rows[-1]['fts5_equals_truth'] else '  FTS5≠TRUTH'}"
                f"{'' if rows[-1]['tantivy_equals_truth'] else '  TANTIVY≠TRUTH'}")
    by_class: dict[str, Any] = {}
    for cls in mix:
        members = [r for r in rows if r["class"] == cls]
        cold = [v for r in members for v in r["_cold"]]
        warm = [v for r in members for v in r["_warm"]]
        lite = [v for r in members for v in r["_fts5"]]
        rust = [v for r in members for v in r["_tantivy"]]
        by_class[cls] = {
            "queries": len(members), "cold_ms": stats(cold), "warm_ms": stats(warm), "fts5_ms": stats(lite),
            "tantivy_ms": stats(rust), "ratio_cold_tantivy": statistics.median(cold) / statistics.median(rust),
            "ratio_warm_tantivy": statistics.median(warm) / statistics.median(rust),
            "ratio_cold": statistics.median(cold) / statistics.median(lite),
            "ratio_warm": statistics.median(warm) / statistics.median(lite),
            "fts5_modes": sorted({r["fts5_mode"] for r in members}),
            # the fair fight: only queries FTS5 answers from its trigram index (no LIKE scan)
            "ratio_cold_indexed_queries": _median_ratio([r for r in members if r["fts5_mode"] != "scan"]),
        }
    every_cold = [v for r in rows for v in r["_cold"]]
    every_warm = [v for r in rows for v in r["_warm"]]
    for r in rows:
        for key in ("_cold", "_warm", "_fts5", "_tantivy", "_cold_median"):
            r.pop(key)
    return {"by_class": by_class, "by_query": rows, "all_cold_ms": stats(every_cold), "all_warm_ms": stats(every_warm)}


def measure_compare(snapshot: Snapshot) -> dict[str, Any]:
    """app.compare.compare (one theme, every plan) and matrix (every theme), without HTTP."""
    try:
        from app.compare import compare, matrix
        from app.themes import load_themes
    except ImportError:
        return {"compare": "not available", "matrix": "not available"}
    book = load_themes(get_settings().plans_themes)
    out: dict[str, Any] = {}
    for name, function in (("compare", lambda: compare(snapshot, book.resolve("劳动教育"))),
                           ("compare_per_column_8", lambda: compare(snapshot, book.resolve("劳动教育"), per_column=8)),
                           ("matrix", lambda: matrix(snapshot, list(book)))):
        timings = []
        deadline = time.perf_counter() + SLOW_BUDGET_S
        while len(timings) < 5 and (not timings or time.perf_counter() < deadline):
            snapshot.clear_cache()
            timings.append(timed(function)[0] * 1000)
        out[name] = {"cold_ms": stats(timings)}
        log(f"in-process {name}: {[round(t) for t in timings]} ms")
    return out


def _usable(index: Path) -> bool:
    """An index `--reuse` can keep: there, and of this program's schema version."""
    try:
        store.open_index(index)
    except PlansError:
        return False
    return True


def _median_ratio(rows: list[dict[str, Any]]) -> float | None:
    """Median over queries of (our cold median / FTS5 median); None when there are none."""
    ratios = [r["_cold_median"] / r["fts5_ms"]["median"] for r in rows if r["fts5_ms"]["median"] > 0]
    return statistics.median(ratios) if ratios else None


# -- over HTTP ---------------------------------------------------------------------------------------


def measure_http(home: Path, mix: dict[str, list[str]], plans: int, *, starts: int, seconds: float,
                 max_requests: int, add_runs: int) -> tuple[dict[str, Any], list[int]]:
    log_file = VAR / "server.log"
    startup = []
    for _ in range(starts - 1):
        server = loadgen.Server(home, log_file)
        startup.append(server.ready_seconds)
        server.stop()
    server = loadgen.Server(home, log_file, token=UPLOAD_TOKEN)
    startup.append(server.ready_seconds)
    log(f"server start-up: {[round(s, 2) for s in startup]} s; {server.memory()}")
    out: dict[str, Any] = {"startup_s": stats(startup), "memory_after_start": server.memory()}
    added: list[int] = []
    try:
        paths = ["/api/search?" + urlencode({"q": q, "per_group": 3}) for queries in mix.values() for q in queries]
        for path in paths:  # warm the page cache and the needle cache the way a running server is
            loadgen.timed_get(server.base, path)
        for clients in (1, 8):
            server.phase = f"search, {clients} client{'s' if clients > 1 else ''}"
            result = loadgen.load(server.base, paths, clients=clients, seconds=seconds, max_requests=max_requests)
            out[f"clients_{clients}"] = {
                "requests": result.requests, "errors": result.errors, "seconds": result.seconds,
                "throughput_rps": result.throughput, "latency_ms": stats(result.latencies_ms),
            }
            log(f"HTTP × {clients}: {result.throughput:.1f} req/s, median {np.median(result.latencies_ms):.1f} ms,"
                f" p95 {np.percentile(result.latencies_ms, 95):.1f} ms, errors {result.errors}")
        available = loadgen.openapi_paths(server.base)
        for name, path, params in (("compare", "/api/compare", {"theme": "劳动教育", "per_column": 0}),
                                   ("compare_per_column_8", "/api/compare", {"theme": "劳动教育", "per_column": 8}),
                                   ("matrix", "/api/matrix", {})):
            if path not in available:
                out[name] = "not available"
                log(f"{path}: not available")
                continue
            timings, statuses, size = [], [], 0
            server.phase = name
            deadline = time.perf_counter() + SLOW_BUDGET_S
            while len(timings) < 6 and (not timings or time.perf_counter() < deadline):
                elapsed, status, size = loadgen.timed_get(server.base, path, params)
                timings.append(elapsed)
                statuses.append(status)
            out[name] = {"path": path, "params": params, "first_ms": timings[0], "ms": stats(timings[1:] or timings),
                         "statuses": statuses, "response_bytes": size}
            log(f"{path}: first {timings[0]:.0f} ms, then median {np.median(timings[1:] or timings):.0f} ms, "
                f"{size:,} bytes, statuses {set(statuses)}")
        server.phase = "plans indexed by another process (reloads)"
        out["add_plan_end_to_end"], added = _add_while_serving(server, home, plans + 100, add_runs)
        server.phase = "uploads (reloads)"
        out["upload_end_to_end"], uploaded = _upload_through_server(server, plans + 200, max(5, add_runs * 2))
        added += uploaded
        out["memory_at_end"] = server.memory()
        out["memory_peaks"] = server.peaks()
        log(f"server memory: {out['memory_at_end']}")
        for phase, peak in out["memory_peaks"].items():
            log(f"server memory peak, {phase}: {peak}")
    finally:
        server.stop()
    # the baseline: PLANS_INDEXER_WARM=false, where the first upload starts the child
    server = loadgen.Server(home, log_file, token=UPLOAD_TOKEN, warm=False)
    try:
        cold, uploaded = _upload_through_server(server, plans + 300, 0)
        out["upload_end_to_end"]["cold_child_first_s"] = cold["first_s"]
        added += uploaded
    finally:
        server.stop()
    return out, added


def _add_while_serving(server: loadgen.Server, home: Path, first: int, runs: int) -> tuple[dict[str, Any], list[int]]:
    """Index a new plan while the server runs; time until /api/search finds its marker."""
    settings = get_settings(plans_home=home)
    seconds, added = [], []
    for k in range(runs):
        path = _new_plan(VAR / "new-plans", first + k)
        query = "/api/search?" + urlencode({"q": _marker(first + k)})
        started = time.perf_counter()
        done = threading.Event()
        found: list[float] = []

        def poll() -> None:
            import httpx

            with httpx.Client(base_url=server.base, timeout=30.0) as http:
                while not done.is_set():
                    if http.get(query).json().get("total", 0) >= 1:
                        found.append(time.perf_counter() - started)
                        return
                    time.sleep(0.02)

        watcher = threading.Thread(target=poll)
        watcher.start()
        report = Pipeline(settings).index([path])
        added.append(report.outcomes[-1].plan_id)
        watcher.join(60)
        done.set()
        seconds.append(found[0] if found else float("inf"))
        log(f"add plan while serving {k + 1}/{runs}: searchable after {seconds[-1]:.2f} s")
    return {"seconds": stats(seconds)}, added


def _upload_through_server(server: loadgen.Server, first: int, warm: int) -> tuple[dict[str, Any], list[int]]:
    """New plans through `POST /api/documents`: time from sending each until /api/search finds it.

    The first upload is the first request of the server's indexer child: started with the
    server and loaded since (PLANS_INDEXER_WARM), or started by this upload (warm off). The
    `warm` ones after it reuse that child. Also the child's memory before and after.
    """
    import httpx

    idle = server.indexer_child()
    log(f"indexer child before the first upload: {idle}")
    seconds, added = [], []
    with httpx.Client(base_url=server.base, timeout=900.0, headers={"Authorization": f"Bearer {UPLOAD_TOKEN}"}) as http:
        for k in range(1 + warm):
            path = _new_plan(VAR / "new-plans", first + k)
            data, query = path.read_bytes(), {"q": _marker(first + k)}
            started = time.perf_counter()
            response = http.post("/api/documents", files={"file": (path.name, data)})
            assert response.status_code == 201, response.text
            added.append(response.json()["id"])
            while http.get("/api/search", params=query).json().get("total", 0) < 1:
                assert time.perf_counter() - started < 600, "the uploaded plan never became searchable"
                time.sleep(0.02)
            seconds.append(time.perf_counter() - started)
            log(f"upload {k + 1}/{1 + warm} ({'first' if k == 0 else 'later'} request of the child): "
                f"searchable after {seconds[-1]:.2f} s")
    child = server.indexer_child()
    log(f"indexer child: {child}")
    return {"first_s": seconds[0], "warm_s": stats(seconds[1:]) if warm else None,
            "indexer_child_idle_memory": idle, "indexer_child_memory": child}, added


def main() -> None:
    global VAR
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--index-runs", type=int, default=3, help="full indexing runs (each from scratch)")
    parser.add_argument("--runs", type=int, default=7, help="repetitions of every other measurement")
    parser.add_argument("--http-seconds", type=float, default=20.0, help="time bound of each load phase")
    parser.add_argument("--http-requests", type=int, default=2000, help="count bound of each load phase")
    parser.add_argument("--reuse", action="store_true", help="keep an existing index: skip the indexing runs")
    parser.add_argument("--no-http", action="store_true", help="skip the server measurements")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip jieba's and Whoosh's baselines (each cuts the whole corpus again)")
    parser.add_argument("--var", type=Path, default=VAR,
                        help="working folder for corpora, indexes and logs (one per concurrent run)")
    args = parser.parse_args()
    VAR = args.var

    args.out.mkdir(parents=True, exist_ok=True)
    home = VAR / f"home-{args.plans}"
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "code": code_state(), "plans": args.plans,
    }
    folder, texts = corpus(args.plans)
    results["chars"] = chars = sum(map(len, texts))
    log(f"corpus: {len(texts)} plans, {chars:,} chars")
    if not (args.reuse and _usable(home / "index")):
        results["indexing"] = measure_indexing(folder, home, chars, args.index_runs)
        if not args.no_baselines:
            results["jieba"] = measure_jieba(texts, max(2, args.index_runs))
            results["whoosh_words"] = measure_whoosh_words(home, max(2, args.index_runs))
    settings = get_settings(plans_home=home)
    results["index_bytes"] = sum(f.stat().st_size for f in settings.index_dir.rglob("*") if f.is_file())
    results["catalog_bytes"] = sum(f.stat().st_size for f in home.glob("catalog*") if f.is_file())
    loads = [timed(lambda: Snapshot(settings.index_dir).close())[0] for _ in range(3)]
    results["snapshot_load_s"] = stats(loads)
    log(f"snapshot load: {[round(s, 2) for s in loads]} s")
    snapshot = Snapshot(settings.index_dir)
    results["passages"] = snapshot.size
    mix = query_mix(snapshot)
    results["query_mix"] = mix
    fts = Fts5Index(VAR / f"fts5-{args.plans}.sqlite3", snapshot)
    indexed = int(snapshot.lengths[countable(snapshot)].sum())  # the passages the peers index
    results["fts5_build"] = {"seconds": fts.build_seconds, "chars_per_s": indexed / fts.build_seconds,
                             "bytes": fts.path.stat().st_size}
    log(f"FTS5 trigram build: {fts.build_seconds:.1f} s")
    tv = TantivyIndex(VAR / f"tantivy-{args.plans}", snapshot)
    results["tantivy_build"] = {"seconds": tv.build_seconds, "chars_per_s": indexed / tv.build_seconds,
                                "bytes": tv.bytes()}
    log(f"Tantivy build (exact bigram and unigram fields): {tv.build_seconds:.1f} s")
    results["search"] = measure_search(snapshot, fts, tv, mix, args.runs)
    results["compare_inprocess"] = measure_compare(snapshot)
    snapshot.close()
    results["add_plan"], added = measure_add_plan(home, args.plans, max(3, args.runs // 2))
    if not args.no_http:
        results["http"], more = measure_http(home, mix, args.plans, starts=max(3, args.runs // 2),
                                             seconds=args.http_seconds, max_requests=args.http_requests,
                                             add_runs=max(3, args.runs // 2))
        added += more
    pipeline = Pipeline(settings)
    for plan_id in added:  # leave the index as the corpus made it
        pipeline.remove(plan_id)
    results["load_average_at_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results)
    path = args.out / f"results-{args.plans}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    (args.out / f"results-{args.plans}.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
