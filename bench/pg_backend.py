"""Both search backends side by side over one generated corpus, in one run.

    .venv/bin/python -m bench.pg_backend --plans 2000

Generates the corpus (bench.generate), indexes it once with the postgres backend into a
throwaway cluster (tests/postgres.py; the indexer writes the Whoosh index too, so the
embedded backend serves the same catalog), then runs the query mix cold (caches cleared)
through `app.search.search` on each backend: p50/p95 per backend, whether both answer the
same (ids and totals), and EXPLAIN of every needle's SQL as the planner chooses it,
counting sequential scans on search_passages. Then over HTTP (`--http-seconds`, 0 skips):
the throughput of one `plans serve` process against two over the same database under the same
bounded loopback load (the same clients, split between the two), and the seconds from an
upload to one process until each process finds the plan.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from sqlalchemy import text

from app.pg_search import PgSnapshot, explain_match, read_engine
from app.query import positive_terms
from app.search import SearchRequest, search
from app.snapshot import Snapshot
from bench import loadgen
from bench.generate import SEED, generate
from bench.queries import query_mix
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings
from tests.postgres import Cluster, cluster_root


def _time(snapshot: object, queries: list[str], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in queries:
            snapshot.clear_cache()  # type: ignore[attr-defined]
            start = time.perf_counter()
            search(snapshot, SearchRequest(q=q, size=10, per_group=3))  # type: ignore[arg-type]
            out.append((time.perf_counter() - start) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


TOKEN = "bench-pg-token"
SHARED_BUFFERS = "1GB"  # a database server's cache (a quarter of a small server's memory), not the tests' 32 MB


def _load_on(servers: list[loadgen.Server], paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """The same load split between `servers`: requests per second in all, and latency quantiles."""
    results: list[loadgen.LoadResult] = []
    share = [clients // len(servers) + (i < clients % len(servers)) for i in range(len(servers))]
    threads = [threading.Thread(target=lambda s=s, n=n: results.append(
        loadgen.load(s.base, paths, clients=n, seconds=seconds, max_requests=10**9))) for s, n in zip(servers, share)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [v for r in results for v in r.latencies_ms]
    return {"requests_per_s": round(sum(r.throughput for r in results), 1), "errors": sum(r.errors for r in results),
            "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(_p(latencies, 95), 1)}


def _upload_seen_by_all(uploader: loadgen.Server, servers: list[loadgen.Server], number: int) -> list[float]:
    """Seconds from posting a new plan to `uploader` until each server's search finds its marker."""
    marker = f"pgmark{number}qz"
    body = f"测试第{number}小学2025年工作计划\n一、目标\n本计划编号{marker}。\n".encode()
    started = time.perf_counter()
    with httpx.Client(timeout=120.0) as http:
        response = http.post(uploader.base + "/api/documents", files={"file": (f"u{number}.txt", body)},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 201, response.text
        seen: dict[int, float] = {}
        while len(seen) < len(servers):
            for i, server in enumerate(servers):
                if i not in seen and http.get(server.base + "/api/search", params={"q": marker}).json()["total"] >= 1:
                    seen[i] = time.perf_counter() - started
            assert time.perf_counter() - started < 120, "an upload never became searchable on every server"
            time.sleep(0.02)
    return [seen[i] for i in range(len(servers))]


def measure_servers(settings: Settings, work: Path, queries: list[str], seconds: float, clients: int, uploads: int) -> dict[str, object]:
    env = {"PLANS_SEARCH_BACKEND": "postgres", "DATABASE_URL": str(settings.database_url)}
    paths = ["/api/search?" + urlencode({"q": q, "per_group": 3}) for q in queries]
    log = work / "serve.log"
    first = loadgen.Server(settings.plans_home, log, token=TOKEN, extra_env=env)
    try:
        one = _load_on([first], paths, clients, seconds)
        second = loadgen.Server(work / "second-home", log, extra_env=env)  # its own PLANS_HOME: only the database is shared
        try:
            two = _load_on([first, second], paths, clients, seconds)
            seen = [_upload_seen_by_all(first, [first, second], k) for k in range(uploads)]
        finally:
            second.stop()
    finally:
        first.stop()
    slowest = [max(s) for s in seen]
    return {"clients": clients, "seconds": seconds, "one_process": one, "two_processes": two,
            "two_over_one": round(two["requests_per_s"] / one["requests_per_s"], 2),
            "upload_searchable_on_every_process_s": {"each": [[round(v, 2) for v in s] for s in seen],
                                                     "median_slowest": round(statistics.median(slowest), 2)}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http-seconds", type=float, default=20.0, help="load per configuration; 0 skips HTTP")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--uploads", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plans-bench-pg-"))
    root = cluster_root()
    cluster = Cluster(root, "bench").init(shared_buffers=SHARED_BUFFERS).start()
    try:
        corpus = work / "corpus"
        generate(corpus, args.plans, seed=SEED)
        settings = get_settings(plans_home=work / "home", plans_search_backend="postgres",
                                database_url=cluster.create_database("bench"), plans_reload_interval=-1)
        started = time.perf_counter()
        report = Pipeline(settings).index([corpus])
        indexing = time.perf_counter() - started
        assert not report.failed, report.failed[:3]
        engine = read_engine(settings.search_read_url)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        embedded, postgres = Snapshot(settings.index_dir), PgSnapshot(engine)
        queries = [q for qs in query_mix(embedded).values() for q in qs]
        same = all(
            search(embedded, SearchRequest(q=q, size=100, per_group=0)) == search(postgres, SearchRequest(q=q, size=100, per_group=0))
            for q in queries
        )
        needles = sorted({t.needle for q in queries for t in positive_terms(SearchRequest(q=q).node())})
        seq_scans, plans = 0, {}
        with engine.connect() as connection:
            for needle in needles:
                plan = explain_match(connection, needle)
                seq_scans += "Seq Scan on search_passages" in plan
                plans[needle] = plan.splitlines()[0]
        times = {name: _time(s, queries, args.rounds) for name, s in (("embedded", embedded), ("postgres", postgres))}
        short = [q for q in queries if all(len(t.needle) <= 2 for t in positive_terms(SearchRequest(q=q).node()))]
        result = {
            "plans": args.plans, "passages": embedded.size, "indexing_s": round(indexing, 1),
            "same_answers": same, "needles": len(needles), "seq_scans_on_passages": seq_scans,
            **{f"{n}_ms": {"p50": round(statistics.median(v), 1), "p95": round(_p(v, 95), 1)} for n, v in times.items()},
            "postgres_1_2_char_ms": {"p95": round(_p(_time(postgres, short, args.rounds), 95), 1)},
            "plan_heads": plans,
        }
        if args.http_seconds > 0:
            result["http"] = measure_servers(settings, work, queries, args.http_seconds, args.clients, args.uploads)
        print(json.dumps(result, ensure_ascii=False, indent=1))
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
