"""One file's reading, cleaning and splitting under a time budget (PLANS_FILE_TIMEOUT).

The work runs in a helper process forked once per run and reused file after file; when a file
overruns, the helper is killed (a regular expression running in C cannot be interrupted in
its own process) and the next file gets a fresh one. With no budget (0) the work runs here.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from indexer.errors import TimeBudgetExceeded

T = TypeVar("T")


class Budget:
    """Runs `fn(*args)` within `seconds` (0: no limit, in this process); TimeBudgetExceeded past it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._helper: Any = None
        self._connection: Connection | None = None

    def __enter__(self) -> Budget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, name: object, fn: Callable[..., T], *args: Any) -> T:
        """The function's result (or its exception), computed in the helper; `name` is the file, for the message."""
        if self.seconds <= 0:
            return fn(*args)
        connection = self._ready()
        connection.send((fn, args))
        if not connection.poll(self.seconds):
            self.close()
            raise TimeBudgetExceeded(name, f"reading, cleaning and splitting took longer than {self.seconds:g} s "
                                           "(PLANS_FILE_TIMEOUT); stopped")
        try:
            ok, value = connection.recv()
        except EOFError:  # the helper died (out of memory, killed): this file fails alone
            self.close()
            raise TimeBudgetExceeded(name, "the process reading it died") from None
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Kill the helper (if any); the next `run` starts another."""
        helper, self._helper = self._helper, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if helper is not None and helper.is_alive():
            os.kill(helper.pid, signal.SIGKILL)
        if helper is not None:
            helper.join()

    def _ready(self) -> Connection:
        if self._helper is None or not self._helper.is_alive():
            self.close()
            ours, theirs = get_context("fork").Pipe()
            self._helper = get_context("fork").Process(target=_serve, args=(theirs, ours), daemon=True,
                                                        name="plans-file-reader")
            self._helper.start()
            theirs.close()
            self._connection = ours
        assert self._connection is not None
        return self._connection


def _serve(connection: Connection, parents_end: Connection) -> None:
    """In the helper: run each (fn, args) received, send back (True, result) or (False, exception)."""
    from indexer.pool import die_with_parent

    die_with_parent()
    parents_end.close()
    while True:
        try:
            fn, args = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, fn(*args)))
        except Exception as exc:  # sent back whole: the parent raises it as if the work ran there
            connection.send((False, exc))
