"""The server's indexer: one long-lived `python -m indexer worker` child for uploads and deletes.

The serving process never writes the catalog or the index; this child does, so an upload does
not pay for a new process's imports and jieba's dictionary (indexer/worker.py has the protocol).
With PLANS_INDEXER_WARM (the default) the server starts the child with itself, when uploads
are on, so it loads while nobody waits, and keeps it between requests (~170 MB: code and
jieba, no index state). Otherwise the child starts at the first request and stops after
PLANS_INDEXER_IDLE idle seconds. Either way it serves requests one at a time (a lock: a second
waits up to its `wait`) and stops at shutdown; after it dies the next request starts a new one.
A child that overruns `wait + CHILD_TIMEOUT` or dies is killed with its process group, which
the crash-safe pipeline makes harmless, and the request gets IndexerUnavailable. Its death is
seen by a thread waiting on the process, not by the end of its stdout (its pool workers hold
that too), so a request never waits on a dead child's workers.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from indexer.errors import IndexerUnavailable  # defined with the whole tree; imported from here too
from indexer.settings import Settings

CHILD_TIMEOUT = 300.0  # seconds the child may work on one request once it holds the lock
STOP_GRACE = 5.0  # seconds a child told to stop (its stdin closed) gets before it is killed


class IndexerChild:
    """Requests to one `python -m indexer worker` process, started on demand, one at a time."""

    def __init__(self, settings: Settings, *, timeout: float = CHILD_TIMEOUT) -> None:
        self.settings = settings
        self.idle = settings.plans_indexer_idle
        self.warm = settings.plans_indexer_warm
        self.timeout = timeout
        self._lock = threading.Lock()  # held for a whole request, and to start or stop the child
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[bytes | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._last_used = time.monotonic()
        self._closed = False
        self._asked = False  # whether the running child has been sent a request yet

    @property
    def pid(self) -> int | None:
        """The running child's process id, or None when there is none."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def index(self, path: Path, *, wait: float) -> dict[str, Any]:
        """Index one file: {"summary": str, "outcomes": [{"source", "status", "reason", "plan_id", "warnings"}]}."""
        return self._request({"op": "index", "path": str(path.resolve())}, wait)

    def remove(self, plan_id: int, *, wait: float) -> str | None:
        """Delete one plan: its source, or None when there is no such plan."""
        removed: str | None = self._request({"op": "remove", "id": plan_id}, wait)["removed"]
        return removed

    def edit(self, plan_id: int, fields: dict[str, Any], *, wait: float) -> dict[str, Any] | None:
        """Correct one plan's metadata: its metadata afterwards, or None when there is no such plan."""
        document: dict[str, Any] | None = self._request({"op": "edit", "id": plan_id, "fields": fields}, wait)["document"]
        return document

    def start(self) -> None:
        """Start the child now (it loads while nobody waits); nothing when one is running."""
        with self._lock:
            if self._closed:
                raise IndexerUnavailable("the server is shutting down")
            self._running()

    def close(self) -> None:
        """Stop the child for good (application shutdown); later requests get IndexerUnavailable."""
        acquired = self._lock.acquire(timeout=STOP_GRACE)  # a request still running is cut short
        try:
            self._closed = True
            self._cancel_timer()
            self._stop()
        finally:
            if acquired:
                self._lock.release()

    # -- one request ---------------------------------------------------------------------------------

    def _request(self, request: dict[str, Any], wait: float) -> dict[str, Any]:
        """Send one request and return the child's answer; `wait` bounds both queues: ours and the lock's."""
        deadline = time.monotonic() + wait
        if not self._lock.acquire(timeout=wait):
            raise IndexerUnavailable(f"another upload or delete was still being indexed after {wait:g} s")
        try:
            if self._closed:
                raise IndexerUnavailable("the server is shutting down")
            self._cancel_timer()
            answer = self._exchange({**request, "wait": max(0.0, deadline - time.monotonic())})
        finally:
            self._last_used = time.monotonic()
            self._arm_timer()
            self._lock.release()
        if not answer.get("ok"):
            raise IndexerUnavailable(str(answer.get("error")), settled=not answer.get("stopped"))
        return answer

    def _exchange(self, request: dict[str, Any]) -> dict[str, Any]:
        line = (json.dumps(request) + "\n").encode("ascii")
        for attempt in range(2):
            process = self._running()
            assert process.stdin is not None
            try:
                self._asked = True
                process.stdin.write(line)
                process.stdin.flush()
                break
            except OSError:  # it died while idle, before it could read this request: a new one may
                self._kill()
                if attempt:
                    raise IndexerUnavailable("the indexer could not be started") from None
        limit = request["wait"] + self.timeout
        try:
            raw = self._answers.get(timeout=limit)
        except queue.Empty:
            self._kill()
            raise IndexerUnavailable(f"the indexer took longer than {limit:.0f} s and was stopped", settled=False) from None
        if raw is None:
            code = self._kill()
            raise IndexerUnavailable(f"the indexer stopped before answering (exit code {code})", settled=False)
        try:
            answer = json.loads(raw)
            if not isinstance(answer, dict):
                raise ValueError(raw)
        except ValueError:
            self._kill()
            raise IndexerUnavailable("the indexer gave an unreadable answer and was stopped", settled=False) from None
        if answer.get("stopped"):
            self._stop()
        return answer

    # -- the process ---------------------------------------------------------------------------------

    def _running(self) -> subprocess.Popen[bytes]:
        """The live child, started now when there is none (or the last one died)."""
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._kill()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "indexer", "worker"], env=_child_env(self.settings),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # stderr: the server's own (logs, warnings)
                start_new_session=True,  # its own process group: killed whole, spared the terminal's Ctrl-C
            )
        except OSError as exc:
            raise IndexerUnavailable(f"cannot start the indexer: {exc.strerror or exc}") from None
        self._answers = queue.Queue()
        assert process.stdout is not None
        self._reader = threading.Thread(target=_read_lines, args=(process.stdout, self._answers),
                                        name=f"indexer-child-{process.pid}", daemon=True)
        self._reader.start()
        # its pool workers inherit its stdout, so the end of that stream does not say it died:
        # waiting on the process itself does, and then its whole group goes with it
        threading.Thread(target=_watch, args=(process, self._answers), name=f"indexer-watch-{process.pid}",
                         daemon=True).start()
        self._process, self._asked = process, False
        return process

    def _stop(self) -> None:
        """Let the child end at the end of its stdin; kill it when it does not within STOP_GRACE."""
        process = self._process
        if process is None:
            return
        if not self._asked:  # it has only loaded code (or is still loading it): nothing to finish
            self._kill()
            return
        try:
            assert process.stdin is not None
            process.stdin.close()
        except OSError:
            pass  # it is gone already
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
        self._kill()

    def _kill(self) -> int | None:
        """Kill the child's process group unless it has ended; reap it; its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:  # not reaped yet, so its id still names its group
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = process.wait()
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(STOP_GRACE)  # it closes stdout at the end of the stream
            self._reader = None
        return code

    # -- the idle timer ------------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        if self._process is None or self._closed or self.warm:
            return
        self._timer = threading.Timer(self.idle, self._stop_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stop_if_idle(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a request is running; it re-arms the timer when done
        try:
            if time.monotonic() - self._last_used >= self.idle:  # not a request that came meanwhile
                self._stop()
        finally:
            self._lock.release()


def _watch(process: subprocess.Popen[bytes], answers: queue.Queue[bytes | None]) -> None:
    """Once the child has ended (however it ended), kill what is left of its process group
    (pool workers) and wake the request waiting for its answer."""
    process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group outlives its leader while a member lives
    except (ProcessLookupError, PermissionError):
        pass  # no member left
    answers.put(None)


def _read_lines(stream: IO[bytes], answers: queue.Queue[bytes | None]) -> None:
    """The child's answers, a line each, then None at the end of its output."""
    try:
        for line in stream:
            answers.put(line)
    finally:
        answers.put(None)
        stream.close()


def _child_env(settings: Settings) -> dict[str, str]:
    """The environment with these settings spelled out, so the child sees what the server sees."""
    env = dict(os.environ)
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if value is None or field == "plans_admin_token":
            env.pop(field.upper(), None)
        else:
            env[field.upper()] = str(value.resolve()) if isinstance(value, Path) else str(value)
    return env
