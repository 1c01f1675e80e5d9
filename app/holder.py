"""The embedded backend's holder: lends the current snapshot and reopens newer commits.

A background thread (Lucene's SearcherManager) watches the index's TOCs; a newer commit is
loaded beside the current snapshot (extending it when the commit only added newer plans,
`Snapshot(previous=...)`), warmed, and swapped in. Requests only take `current()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from app.memory import trim
from app.snapshot import Snapshot, generation_key
from indexer.index import reader


class SnapshotHolder:
    """The current snapshot, reopened by a background thread (Lucene's SearcherManager): every
    `reload_interval` seconds it lists the index's TOCs and, when a newer commit is there,
    loads it beside the current one and swaps it in. Requests only take `current()`.

    A commit that fails to load (a corrupt file) is not retried until a newer one lands; the
    last good snapshot goes on serving, and `health()` says why it is degraded.
    """

    def __init__(
        self, directory: Path, *, reload_interval: float = 1.0, load: Callable[[Path], Snapshot] | None = None,
        warm: Callable[[Snapshot], object] | None = None,
    ) -> None:
        self.directory = directory
        self.reload_interval = reload_interval
        self._verified: set[str] = set()  # segments whose checksums this process has checked
        # how a generation is loaded (tests pass a slow one to provoke races)
        self._load = load or (lambda where: Snapshot(where, verified=self._verified, previous=self._previous()))
        self._warm = warm  # what every snapshot computes before it serves (app.search.warm)
        self._current = self._loaded()
        self._failed: tuple[tuple[int, int], str] | None = None  # the newest key that would not load, and why
        newest = self._newest()
        if newest is not None and newest != self._current.key:  # refused at start: its problems say why
            self._failed = (newest, "")
        self._reloading = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if reload_interval >= 0:
            self._thread = threading.Thread(target=self._watch, name="snapshot-reopen", daemon=True)
            self._thread.start()

    def current(self) -> Snapshot:
        return self._current

    def health(self) -> tuple[str, str | None]:
        """("ok", None), or ("degraded", why): a newer commit was refused and an older one is served."""
        reasons = list(self._current.problems)
        if self._failed is not None and self._failed[1]:
            reasons.append(self._failed[1])
        return ("degraded", "; ".join(reasons)) if reasons else ("ok", None)

    def close(self) -> None:
        """Stop the reopen thread (the app's shutdown)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(max(self.reload_interval, 0.05)):
            newest = self._newest()
            if newest is None or newest == self._current.key or (self._failed and self._failed[0] == newest):
                continue
            with self._reloading:
                if self._newest() == self._current.key:
                    continue  # an explicit reload got there first
                try:
                    self._current = self._fresh()  # the old one is freed when the last request using it ends
                except Exception as exc:  # keep serving the last good generation
                    self._failed = (newest, f"generation {newest[1]} could not be loaded: {exc}")
                else:  # when an older one was served instead, its problems say why
                    self._failed = (newest, "") if self._current.key != newest else None

    def _newest(self) -> tuple[int, int] | None:
        try:
            found = reader.generations(self.directory)
            return generation_key(self.directory, found[0]) if found else None
        except OSError:  # an index being swapped in; the next look sees it
            return None

    def reload_now(self) -> Snapshot:
        """Load the newest generation synchronously (after an upload or a delete; tests)."""
        # waits for a background load: one begun before the last commit could otherwise
        # finish after this one and put an older generation back
        with self._reloading:
            self._current = self._fresh()
            self._failed = None
        return self._current

    def _fresh(self) -> Snapshot:
        # for a moment two generations are held: the old one without its caches, from the smallest heap
        self._current.release_caches()
        trim()
        return self._loaded()

    def _previous(self) -> Snapshot | None:
        """The snapshot a reload may extend (none at the first load)."""
        return getattr(self, "_current", None)

    def _loaded(self) -> Snapshot:
        snapshot = self._load(self.directory)
        if self._warm is not None:
            self._warm(snapshot)
        trim()  # loading frees as much as it keeps (each segment's texts, joined into one)
        return snapshot
