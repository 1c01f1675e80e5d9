"""Per-generation values (app/derived.py): computed once even when requests race, forgotten
with the generation's caches, warmed when a generation loads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from app.derived import Derived, PerGeneration, warm


class _Searcher:
    def __init__(self) -> None:
        self.derived = Derived()


def test_a_value_is_computed_once_while_requests_race() -> None:
    calls: list[int] = []

    def build(searcher: Any) -> list[int]:
        calls.append(1)
        time.sleep(0.05)  # long enough for every thread to arrive while it is being built
        return [len(calls)]

    key = PerGeneration("a slow value", build)
    searcher = _Searcher()
    seen: list[list[int]] = []
    threads = [threading.Thread(target=lambda: seen.append(key.of(searcher))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert all(value is seen[0] for value in seen) and len(seen) == 8
    assert key in searcher.derived and list(searcher.derived) == [key]


def test_values_belong_to_one_searcher_and_are_forgotten_on_clear() -> None:
    key = PerGeneration("identity", lambda searcher: object())
    first, second = _Searcher(), _Searcher()
    one = key.of(first)
    assert key.of(first) is one and key.of(second) is not one
    first.derived.clear()
    assert len(first.derived) == 0 and key.of(first) is not one


def test_warm_computes_every_warmer_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.derived.WARMERS", [])  # the application's own warmers need a real generation
    import app.derived

    lazy = PerGeneration("lazy", lambda searcher: "lazy")
    eager = PerGeneration("eager", lambda searcher: "eager", warm=True)
    assert app.derived.WARMERS == [eager]
    searcher = _Searcher()
    warm(searcher)
    assert eager in searcher.derived and lazy not in searcher.derived
