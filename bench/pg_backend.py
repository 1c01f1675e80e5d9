"""Both search backends side by side over one generated corpus, in one run.

    .venv/bin/python -m bench.pg_backend --plans 2000

Generates the corpus (bench.generate), indexes it once with the postgres backend into a
throwaway cluster (tests/postgres.py; the indexer writes the Whoosh index too, so the
embedded backend serves the same catalog), then runs the query mix cold (caches cleared)
through `app.search.search` on each backend: p50/p95 per backend, whether both answer the
same (ids and totals), and EXPLAIN of every needle's SQL as the planner chooses it,
counting sequential scans on search_passages.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from app.pg_search import PgSnapshot, match_query, read_engine
from app.query import positive_terms
from app.search import SearchRequest, search
from app.snapshot import Snapshot
from bench.generate import SEED, generate
from bench.queries import query_mix
from indexer.pipeline import Pipeline
from indexer.settings import get_settings
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plans-bench-pg-"))
    root = cluster_root()
    cluster = Cluster(root, "bench").init().start()
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
                sql, params = match_query(needle)
                plan = "\n".join(r[0] for r in connection.execute(text("EXPLAIN " + sql.text), params))
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
        print(json.dumps(result, ensure_ascii=False, indent=1))
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
