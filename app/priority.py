"""Searches first: heavy work gives way to the searches running beside it.

The server answers from one process, so its threads share one interpreter lock: a comparison
over every plan, built in Python loops, takes the lock as often as a search beside it. Heavy
work (comparisons, matrices, summaries, KWIC, trends, echo) runs `in_background()`; its loops
call `give_way()` between steps (or iterate `stepped(...)`), which, while a search runs
(`searching()`, held by the search routes), sleeps for PAUSE: the search then has the lock
for the steps it would have shared. With no search
running, `give_way()` is one comparison. A search never gives way, not even inside code it
shares with heavy work (`mention_counts`), since only threads marked background pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

PAUSE = 0.002  # seconds a heavy step waits while a search runs: steps take about 0.5 ms

_lock = threading.Lock()
_searches = 0
_background = threading.local()
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
STEP = 64  # items of a heavy loop between two calls of give_way() (`stepped`)


@contextmanager
def searching() -> Iterator[None]:
    """Mark a search as running for as long as it is inside."""
    global _searches
    with _lock:
        _searches += 1
    try:
        yield
    finally:
        with _lock:
            _searches -= 1


def searches_running() -> int:
    return _searches


def in_background(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` as heavy work in this thread: its `give_way()` calls pause for searches."""

    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        outer = getattr(_background, "on", False)
        _background.on = True
        try:
            return function(*args, **kwargs)
        finally:
            _background.on = outer

    return run


def background_steps(items: Iterator[R]) -> Iterator[R]:
    """`items` with each step run as heavy work in whichever thread asks for it (a streamed
    answer's chunks are produced in the threadpool, one thread per chunk)."""
    while True:
        outer = getattr(_background, "on", False)
        _background.on = True
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            _background.on = outer
        yield item


def stepped(items: Iterable[T], every: int = STEP) -> Iterator[T]:
    """`items`, giving way to searches before every `every`-th one (from the first)."""
    for n, item in enumerate(items):
        if not n % every:
            give_way()
        yield item


def give_way() -> None:
    """Between two steps of heavy work: while a search runs, let it have the interpreter."""
    if _searches and getattr(_background, "on", False):
        time.sleep(PAUSE)
