"""`plans serve` as a subprocess, its start-up time and peak memory, and a bounded load generator."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PLANS = Path(sys.executable).with_name("plans")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `plans serve` process on a free loopback port; `ready_seconds` is spawn → /healthz 200."""

    def __init__(self, home: Path, log: Path, *, reload_interval: float = 1.0, token: str | None = None,
                 warm: bool = True, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PLANS_HOME": str(home), "PLANS_RELOAD_INTERVAL": str(reload_interval),
               "PLANS_INDEXER_WARM": str(warm).lower()}
        env.pop("PLANS_ADMIN_TOKEN", None)
        env.update(extra_env or {})  # e.g. the search backend and its database
        if token:  # uploads and deletes on
            env["PLANS_ADMIN_TOKEN"] = token
        self._log = log.open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(PLANS), "serve", "--port", str(self.port)], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.ready_seconds = self._wait_ready(started)
        self.phase = "start-up"  # what the benchmark is doing, for the memory peaks
        self._peaks: dict[str, dict[str, Any]] = {}
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self, every: float = 0.02) -> None:
        """The highest RSS, RssAnon (heap) and RssFile (mapped index files) of each phase, from /proc."""
        while self.process.poll() is None:
            try:
                status = Path(f"/proc/{self.process.pid}/status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                return
            now = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines()
                   if line.startswith(("VmRSS", "RssAnon", "RssFile"))}
            peak = self._peaks.setdefault(self.phase, {"rss_mb": 0.0, "anon_mb": 0.0, "file_mb": 0.0})
            if now.get("VmRSS", 0) > peak["rss_mb"]:  # the split of the highest RSS, and the highest heap apart
                peak.update(rss_mb=now["VmRSS"], file_mb_at_rss_peak=now.get("RssFile", 0.0), anon_mb_at_rss_peak=now.get("RssAnon", 0.0))
            peak["anon_mb"] = max(peak["anon_mb"], now.get("RssAnon", 0.0))
            peak["file_mb"] = max(peak["file_mb"], now.get("RssFile", 0.0))
            time.sleep(every)

    def peaks(self) -> dict[str, dict[str, Any]]:
        """Per phase: the highest RSS (with its heap and file parts then), heap and mapped files, in MB."""
        return {phase: {k: round(v, 1) for k, v in values.items()} for phase, values in self._peaks.items()}

    def _wait_ready(self, started: float, timeout: float = 120.0) -> float:
        with httpx.Client(timeout=5.0) as client:
            while time.perf_counter() - started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"plans serve exited with {self.process.returncode}; see {self._log.name}")
                try:
                    if client.get(self.base + "/healthz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
        raise RuntimeError("plans serve did not answer /healthz in time")

    def memory(self) -> dict[str, float]:
        """Current and peak resident memory of the server process, in MB (from /proc)."""
        return _memory(self.process.pid)

    def indexer_child(self) -> dict[str, float] | None:
        """The server's indexer child (`python -m indexer worker`): pid and memory, None when none runs."""
        children = " ".join(p.read_text() for p in Path(f"/proc/{self.process.pid}/task").glob("*/children"))
        for pid in map(int, children.split()):
            try:
                if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                    return {"pid": pid, **_memory(pid)}
            except FileNotFoundError:
                continue
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _memory(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {line.split(":")[0]: line.split()[1] for line in status.splitlines()
              if line.startswith(("VmRSS", "VmHWM", "RssAnon"))}
    # RSS counts mapped index files too (page cache the server and the indexer child share); RssAnon is the heap
    return {"rss_mb": int(values["VmRSS"]) / 1024, "peak_rss_mb": int(values["VmHWM"]) / 1024,
            "anon_mb": int(values["RssAnon"]) / 1024}


@dataclass
class LoadResult:
    clients: int
    seconds: float = 0.0
    requests: int = 0
    errors: int = 0
    shed: int = 0  # 503 with Retry-After: a heavy request refused past PLANS_HEAVY_REQUESTS (not an error)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(base: str, paths: list[str], *, clients: int, seconds: float, max_requests: int, seed: int = 1) -> LoadResult:
    """`clients` threads, each with its own connection, cycling through `paths` until time or count runs out."""
    result = LoadResult(clients)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    def client(number: int) -> None:
        order = paths[:]
        random.Random(seed * 100 + number).shuffle(order)
        with httpx.Client(base_url=base, timeout=60.0) as http:
            i = 0
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                started = time.perf_counter()
                shed = False
                try:
                    response = http.get(order[i % len(order)])
                    ok = response.status_code == 200
                    shed = response.status_code == 503 and "retry-after" in response.headers
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.requests += 1
                    result.errors += not ok and not shed
                    result.shed += shed
                    result.latencies_ms.append(elapsed)
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def openapi_paths(base: str) -> set[str]:
    with httpx.Client(timeout=30.0) as http:
        response = http.get(base + "/openapi.json")
        return set(response.json().get("paths", {})) if response.status_code == 200 else set()


def timed_get(base: str, path: str, params: dict[str, Any] | None = None) -> tuple[float, int, int]:
    """(milliseconds, status, body bytes) of one GET on a fresh connection."""
    with httpx.Client(timeout=900.0) as http:
        started = time.perf_counter()
        response = http.get(base + path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response.status_code, len(response.content)
