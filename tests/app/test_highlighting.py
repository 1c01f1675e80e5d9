"""Highlighting shortcuts against the definition: marks on the merged spans of every needle."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.distinctive import rounded
from app.highlighting import has_border, highlight, match_spans
from app.memory import gc_paused
from indexer.cleaning import normalize

# folded characters (Ａ→a, ＆→&, full-width comma), characters HTML escapes, a line break
ALPHABET = list("劳动教育aAＡbＢ＆&<\"'，, \n好")
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)
needles = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4).map(lambda cs: normalize("".join(cs)))


def by_definition(text: str, needles: list[str]) -> str:
    """The general path: escape everything, mark the merged spans found on the folded text."""
    return highlight(text, normalize(text), needles, match_spans(normalize(text), needles))


@settings(max_examples=600, deadline=None)
@given(texts, needles)
def test_one_needle_shortcut_marks_what_the_spans_mark(text: str, needle: str) -> None:
    # fails when the shortcut replaces in the display text a needle whose occurrences differ
    # from the folded text's (Ａ folds to a), overlap (好好) or need escaping (&)
    assert highlight(text, normalize(text), [needle]) == by_definition(text, [needle])


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(needles, min_size=1, max_size=3))
def test_several_needles_mark_their_merged_spans(text: str, found: list[str]) -> None:
    assert highlight(text, normalize(text), found) == by_definition(text, found)


@pytest.mark.parametrize(("text", "needle", "expected"), [
    ("好好好", "好好", "<mark>好好好</mark>"),  # overlapping occurrences: one mark
    ("ＡBａ", "ab", "<mark>ＡB</mark>ａ"),  # marked in the display text at the folded offsets
    ("劳动教育、劳动", "劳动", "<mark>劳动</mark>教育、<mark>劳动</mark>"),
    ("a&b", "a&b", "<mark>a&amp;b</mark>"),
])
def test_highlight_examples(text: str, needle: str, expected: str) -> None:
    assert highlight(text, normalize(text), [needle]) == expected


def test_has_border() -> None:
    assert has_border("好好") and has_border("abca") and not has_border("劳动") and not has_border("a")


# -- rounding a vector the way round() does ------------------------------------------------------

halves = st.integers(-10**9, 10**9).map(lambda n: (n + 0.5) / 1000)  # ties for round(x, 3)
near = st.integers(-10**6, 10**6).flatmap(lambda n: st.sampled_from([np.nextafter(n / 2000, np.inf),
                                                                     np.nextafter(n / 2000, -np.inf), n / 2000]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | halves | near, max_size=30), st.integers(0, 5))
def test_rounded_equals_round(values: list[float], digits: int) -> None:
    # fails if the near-half values are not sent to round(): rint(v * 1000) tips either way there
    got = rounded(np.array(values, dtype=np.float64), digits)
    want = [round(float(v), digits) for v in values]
    assert [repr(g) for g in got] == [repr(w) for w in want]


# -- the collector paused while a large answer is built ------------------------------------------

def test_gc_paused_restores_the_collector_after_errors_and_nesting() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer pause still holds
            raise RuntimeError
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_paused_holds_until_the_last_thread_leaves() -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the other thread is still inside its pause
    release.set()
    thread.join(10)
    assert gc.isenabled()
