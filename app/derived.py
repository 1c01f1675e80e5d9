"""Values computed once per generation from a searcher: named, typed, computed once, warmed.

A `PerGeneration[T]` names one value and the function that computes it from a searcher (a
facet's codes, the passages that can be hits, a comparison's theme counts). `of(searcher)`
returns the generation's value: computed on first use, once even when requests race, and kept
in the searcher's `Derived` store until the generation releases its caches. Values declared with
`warm=True` are the warmers: `warm(searcher)` computes them all when a generation is loaded (at
start-up and at every reload), before it answers its first request.

The store holds values only through their keys, so every module declares its own values at
import time beside the code that uses them, and the searcher knows none of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_MISSING = object()


class Derived:
    """One searcher's values (`PerGeneration` -> value); thread-safe."""

    def __init__(self) -> None:
        self._values: dict[PerGeneration[Any], Any] = {}
        self._building: dict[PerGeneration[Any], threading.Lock] = {}
        self._lock = threading.Lock()

    def value(self, key: PerGeneration[T], searcher: Any) -> T:
        found = self._values.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[no-any-return]
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one computation per value; values never depend on each other in a cycle
            found = self._values.get(key, _MISSING)
            if found is _MISSING:
                found = self._values[key] = key.build(searcher)
        return found  # type: ignore[no-any-return]

    def __contains__(self, key: PerGeneration[Any]) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[PerGeneration[Any]]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def clear(self, *, keep_warm: bool = False) -> None:
        """Forget the values (but the warmers' with `keep_warm`: small by design, and what a
        snapshot extending this one combines); requests still here compute again what they need."""
        with self._lock:
            for key in list(self._values):
                if not (keep_warm and key.warm):
                    del self._values[key]
            self._building.clear()

    def extend(self, head: Derived, tail: Any) -> None:
        """Values of a searcher that is `head`'s passages followed by `tail`'s: each value `head`
        holds that can be combined, combined with the same value computed for `tail` alone."""
        for key, value in list(head._values.items()):
            if key.combine is not None:
                self._values[key] = key.combine(value, key.build(tail))


WARMERS: list[PerGeneration[Any]] = []


@dataclass(frozen=True, eq=False)
class PerGeneration(Generic[T]):
    """One value of a generation, `build(searcher)`; `warm`: computed when the generation loads."""

    name: str
    build: Callable[[Any], T] = field(repr=False)
    warm: bool = False
    # for a value per passage or per plan: (head's, tail's) -> the value of head + tail
    combine: Callable[[T, T], T] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.warm:
            WARMERS.append(self)

    def of(self, searcher: Any) -> T:
        return searcher.derived.value(self, searcher)  # type: ignore[no-any-return]


def warm(searcher: Any) -> None:
    """Compute every warmer's value for a freshly loaded generation."""
    for key in list(WARMERS):
        key.of(searcher)
