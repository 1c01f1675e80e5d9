"""Bounded soak: 8 loopback clients for 2 minutes over a mixed workload against `plans serve`.

    .venv/bin/python -m bench.soak --plans 200 --clients 8 --seconds 120

Workload: searches (the benchmark's query mix plus needles cut at random from the corpus,
so the server's needle cache keeps evicting), document pages and their JSON, comparisons
(per_column=8), small matrices, and the three HTML pages. Reports throughput, p50/p95/p99,
errors (any status other than 200, except heavy requests shed with 503 + Retry-After, counted apart) and the server's resident memory after a warm-up pass
and at the end. Target (issue 7): 0 errors, memory flat within 10%.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from app.snapshot import Snapshot
from bench.generate import generate
from bench.loadgen import Server, load
from bench.queries import query_mix
from indexer import store
from indexer.errors import PlansError
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

VAR = Path("bench/var")
THEMES = ("劳动教育", "双减与作业", "课后服务", "心理健康", "家校社协同", "体育与健康")


def _home(plans: int) -> Path:
    home = VAR / f"soak-home-{plans}"
    corpus = VAR / f"soak-corpus-{plans}"
    if (home / "index").exists():
        try:
            store.open_index(home / "index")
        except PlansError:  # built by an older schema: start again
            shutil.rmtree(home)
    if not (home / "index").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        generate(corpus, plans)
        report = Pipeline(get_settings(plans_home=home)).index([corpus])
        assert not report.failed, report.failed[:3]
    return home


def workload(home: Path, *, seed: int = 7, random_needles: int = 600) -> list[str]:
    """The request paths, shuffled per client by the load generator."""
    snapshot = Snapshot(home / "index")
    rng = random.Random(seed)
    queries = [q for group in query_mix(snapshot).values() for q in group]
    for _ in range(random_needles):
        text = snapshot.normalized[rng.randrange(snapshot.size)]
        start = rng.randrange(max(1, len(text) - 4))
        needle = text[start : start + rng.randint(2, 4)].strip().replace('"', "")
        if needle:
            queries.append(f'"{needle}"')
    ids = [int(meta["id"]) for meta in snapshot.plans]
    paths = [f"/api/search?{urlencode({'q': q})}" for q in queries]
    paths += [f"/?{urlencode({'q': q})}" for q in queries[:40]]
    for _ in range(60):
        plan = rng.choice(ids)
        paths.append(f"/api/documents/{plan}")
        paths.append(f"/documents/{plan}?{urlencode({'q': rng.choice(queries[:20])})}")
    for theme in THEMES:
        paths += [f"/api/compare?{urlencode({'theme': theme, 'per_column': 8})}"] * 3
        paths.append(f"/compare?{urlencode({'theme': theme})}")
    paths += [f"/api/matrix?{urlencode({'themes': ','.join(THEMES[:3])})}"] * 3
    paths += ["/api/documents", "/healthz", "/api/themes"]
    return paths


def _percentiles(latencies: list[float]) -> dict[str, float]:
    array = np.asarray(latencies, float)
    return {f"p{p}": round(float(np.percentile(array, p)), 1) for p in (50, 95, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()

    home = _home(args.plans)
    paths = workload(home)
    server = Server(home, VAR / "soak-server.log")
    try:
        warm = load(server.base, paths, clients=args.clients, seconds=args.seconds / 4, max_requests=len(paths))
        start_memory = server.memory()
        started = time.time()
        samples: list[float] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(10.0):
                samples.append(round(server.memory()["rss_mb"], 1))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = load(server.base, paths, clients=args.clients, seconds=args.seconds, max_requests=args.max_requests)
        sampling.set()
        sampler.join()
        end_memory = server.memory()
    finally:
        server.stop()
    growth = (end_memory["rss_mb"] - start_memory["rss_mb"]) / start_memory["rss_mb"]
    summary: dict[str, Any] = {
        "plans": args.plans,
        "clients": args.clients,
        "seconds": round(result.seconds, 1),
        "distinct_paths": len(set(paths)),
        "warm_up_requests": warm.requests,
        "requests": result.requests,
        "errors": result.errors + warm.errors,
        "shed_503_retry_after": result.shed + warm.shed,
        "throughput_rps": round(result.throughput, 1),
        "latency_ms": _percentiles(result.latencies_ms),
        "memory_mb": {"after_warm_up": round(start_memory["rss_mb"], 1), "end": round(end_memory["rss_mb"], 1),
                      "peak": round(end_memory["peak_rss_mb"], 1), "growth": f"{growth:+.1%}",
                      "every_10_s": samples},
        "targets": {"zero_errors": result.errors + warm.errors == 0, "memory_flat_within_10pct": abs(growth) <= 0.10},
        "started_at": started,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"soak-{args.plans}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
