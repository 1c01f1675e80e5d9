"""`is_heading_only` (app.mentions): a passage whose text is its heading alone, punctuation and
spaces aside, against the definition written out (strip every non-word character, compare)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.mentions import is_heading_only
from indexer.cleaning import normalize


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


@pytest.mark.parametrize("text, heading, expected", [
    ("一、总体要求", "一、总体要求", True),
    ("一、总体要求。", "一、总体要求", True),
    (" 一、总体要求", "一、总体要求", True),  # not a prefix: decided by the whole comparison
    ("（一）总体要求", "(一)总体要求", True),
    ("一、总体要求 加强劳动教育。", "一、总体要求", False),
    ("总体要求", "一、总体要求", False),
    ("一、总体要求_", "一、总体要求", True),
])
def test_cases(text: str, heading: str, expected: bool) -> None:
    assert is_heading_only(normalize(text), heading) is expected


@given(st.text(alphabet="一、总体要求。 ,_（）()1a", max_size=12), st.text(alphabet="一、总体要求。 ,_（）()1a", max_size=8))
def test_agrees_with_the_definition(text: str, heading: str) -> None:
    folded = normalize(text)
    assert is_heading_only(folded, heading) == (_letters(folded) == _letters(heading))
