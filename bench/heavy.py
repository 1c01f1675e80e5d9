"""Issue 21's heavy-request target: 16 concurrent comparisons of `的 OR 在 OR 和` over every plan
while one client keeps searching, against one `plans serve` on loopback.

    .venv/bin/python -m bench.heavy --plans 2000 --seconds 30

Uses bench/var/home-N (bench.run, bench.views or bench.pages build it). Reports the answers by
status (200, 400 answer_too_large, 503 shed with Retry-After), the searches' median / p95 / max
latency meanwhile, and the server's peak resident memory and its memory after the load.
Not run in CI.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.loadgen import Server

THEME = "的 OR 在 OR 和"
SEARCHES = ("劳动教育", "课后服务", "德", "\"立德树人\"", "心理 OR 心育", "双减")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--per-column", type=int, default=0, help="passages per plan (0: all, the hostile case)")
    parser.add_argument("--var", type=Path, default=Path("bench/var"))
    args = parser.parse_args()
    home = args.var / f"home-{args.plans}"
    server = Server(home, args.var / "heavy.log", warm=False)
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    slowest: list[tuple[float, int, str]] = []  # (ms, the search's number in the run, query)
    stop = time.monotonic() + args.seconds
    lock = threading.Lock()

    def heavy() -> None:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            while time.monotonic() < stop:
                response = client.get("/api/compare", params={"theme": THEME, "per_column": args.per_column})
                label = str(response.status_code)
                if response.status_code != 200:
                    label += " " + response.json().get("error", "")
                with lock:
                    statuses[label] += 1
                if response.status_code == 503:
                    time.sleep(float(response.headers.get("Retry-After", "1")))

    def search() -> None:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            k = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = client.get("/api/search", params={"q": SEARCHES[k % len(SEARCHES)]})
                latencies.append((time.perf_counter() - started) * 1000)
                slowest.append((latencies[-1], k, SEARCHES[k % len(SEARCHES)]))
                assert response.status_code == 200, response.text
                k += 1

    try:
        before = _rss_mb(server.process.pid)
        server.phase = "heavy"
        threads = [threading.Thread(target=heavy) for _ in range(args.clients)] + [threading.Thread(target=search)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(2)
        after = _rss_mb(server.process.pid)
        peak = server.peaks().get("heavy", {}).get("rss_mb")
        ordered = sorted(latencies)
        print(f"{args.clients} heavy clients (per_column={args.per_column}) for {args.seconds:g} s over {args.plans} plans: "
              f"answers {dict(statuses)}")
        print(f"searches meanwhile: {len(ordered)}, median {statistics.median(ordered):.0f} ms, "
              f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms, max {ordered[-1]:.0f} ms")
        print("slowest searches (ms, number, query):", ", ".join(f"{ms:.0f} #{k} {q}" for ms, k, q in sorted(slowest)[-5:][::-1]))
        print(f"server RSS: {before:.0f} MB before, peak {peak} MB, {after:.0f} MB after")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
