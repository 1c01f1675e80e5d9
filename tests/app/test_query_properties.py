"""Property tests: any string parses or fails with QueryError; a phrase matches exactly its
passages, on both search backends."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.query import QueryError, parse
from app.search import SearchRequest, search
from app.snapshot import Snapshot
from indexer.cleaning import normalize
from indexer.settings import Settings
from tests.conftest import BACKENDS, countable_passages

ALPHABET = st.sampled_from(
    list("劳动教育德育心理健康双减课后服务学校家社协同") + list("abcXYZ019+-:") + ['"', "“", "”", "(", ")", " ", " ", "\u3000"]
    + ["OR", "AND", "NOT", "school:", "year:", "\x00", "\x1f", "\u0301", "\u200e", "𠀀", "\ufeff"]
)


@pytest.fixture(scope="module", params=BACKENDS)
def sample_snapshot(request: pytest.FixtureRequest) -> Snapshot:
    return request.getfixturevalue(f"{request.param}_snapshot")  # type: ignore[no-any-return]


QUERIES = st.lists(ALPHABET, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_any_string_parses_or_raises_query_error(query: str) -> None:
    try:
        parse(query)
    except QueryError as error:
        assert error.message and error.code
        assert error.position is None or 0 <= error.position <= max(len(query), 500)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_searching_raises_nothing_but_query_error(sample_snapshot: Snapshot, query: str) -> None:
    try:
        result = search(sample_snapshot, SearchRequest(q=query, per_group=0, size=100))
    except QueryError:
        return
    assert result["total"] == sum(g["hits"] for g in result["groups"])


@pytest.fixture(scope="module")
def passages(sample_snapshot: Snapshot) -> list[tuple[int, str]]:
    return list(zip(sample_snapshot.passage_ids.tolist(), sample_snapshot.normalized))


@pytest.fixture(scope="module")
def countable_ids(sample_home: Settings) -> set[int]:
    return {passage.id for _, passage in countable_passages(sample_home)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_quoted_phrase_matches_exactly_the_passages_containing_it(
    sample_snapshot: Snapshot, passages: list[tuple[int, str]], countable_ids: set[int], data: st.DataObject
) -> None:
    """Phrases are cut from real passages (so most match) or made up (so some don't)."""
    pid, text = data.draw(st.sampled_from(passages))
    start = data.draw(st.integers(0, max(0, len(text) - 1)))
    length = data.draw(st.integers(1, 12))
    phrase = text[start : start + length].replace('"', "").replace("“", "").replace("”", "").strip()
    if data.draw(st.booleans()):
        phrase += data.draw(st.sampled_from(["", "x", "德", "。"]))
    if not phrase.strip() or any(ord(c) < 32 for c in phrase):
        return
    needle = normalize(phrase)
    truth = {p for p, t in passages if needle in t and p in countable_ids}
    result = search(sample_snapshot, SearchRequest(q=f'"{phrase}"', per_group=0, size=100))
    found = {p["id"] for g in result["groups"] for p in g["passages"]}
    assert found == truth
