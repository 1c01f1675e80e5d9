"""One indexer at a time: an advisory lock file in PLANS_HOME, waited for with a time limit."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from indexer.errors import IndexLockedError


@contextmanager
def indexer_lock(home: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold PLANS_HOME/indexer.lock; after `wait` seconds raise IndexLockedError naming the holder."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "indexer.lock"
    handle = open(path, "a+")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise IndexLockedError(
                        f"another indexer (pid {holder}) is writing to {home}; "
                        "wait for it to finish, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock
