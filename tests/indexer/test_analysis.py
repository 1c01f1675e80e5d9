"""The analyzers Whoosh pickles: word positions in words, single letters kept, bigrams exact."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from whoosh import fields

from app.main import create_app
from indexer import analysis, pipeline, store
from indexer.analysis import BigramTokenizer, WordTokenizer, bigrams, segment
from indexer.index import reader
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

from indexer.schema import SCHEMA_VERSION, WordsField, build_schema


def test_word_positions_count_words_not_characters() -> None:
    tokens = [(t.text, t.pos) for t in WordTokenizer()("落实双减，坚持五育并举", positions=True)]
    assert tokens == [("落实", 0), ("双减", 1), ("坚持", 2), ("五育并举", 3)]


def test_single_letters_and_digits_are_kept() -> None:
    assert [w for w, _, _ in segment("深化1+X+T课后服务模式")] == ["深化", "1", "x", "t", "课后服务", "模式"]


def test_domain_dictionary_keeps_policy_words_whole() -> None:
    words = [w for w, _, _ in segment("坚持立德树人，推进家校社协同育人")]
    assert "立德树人" in words and "家校社" in words


def test_bigrams_skip_spaces_and_cover_every_pair() -> None:
    assert bigrams("ab c") == {"ab"}
    assert bigrams("心理健康教育") >= bigrams("健康教育")
    assert [t.text for t in BigramTokenizer()("１＋Ｘ")] == ["+x", "1+"]


def test_schema_pickles_with_its_version() -> None:
    schema = pickle.loads(pickle.dumps(build_schema()))
    assert schema.version == SCHEMA_VERSION
    assert isinstance(schema["words"].analyzer, WordTokenizer)


def test_the_words_field_pickles_as_the_text_field_earlier_versions_read() -> None:
    """WordsField is a faster TEXT for writing; the index keeps a plain TEXT in its pickled schema."""
    built = build_schema()
    assert type(built["words"]) is WordsField
    saved = pickle.dumps(built)
    assert b"WordsField" not in saved
    words = pickle.loads(saved)["words"]
    assert type(words) is fields.TEXT and words == built["words"]
    assert words.format.__class__ is built["words"].format.__class__ and not words.format.options


# -- the segmenter against jieba itself ---------------------------------------------------------

from functools import lru_cache

from hypothesis import given, settings, strategies as st

from indexer.analysis import USER_DICT, _is_word
from indexer.cleaning import normalize
from indexer.settings import DATA_DIR


@lru_cache(maxsize=1)
def _python_jieba() -> Any:
    """The Python package, with the same domain dictionary: the reference `segment` must match."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with open(USER_DICT, "rb") as handle:
        tokenizer.load_userdict(handle)
    tokenizer.initialize()
    return tokenizer


def _reference(text: str) -> list[tuple[str, int, int]]:
    return [t for t in _python_jieba().tokenize(normalize(text), HMM=True) if _is_word(t[0])]


def test_segment_gives_what_python_jieba_gives_on_the_sample_plans() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((DATA_DIR / "corpus").glob("*.txt"))]
    assert len(texts) == 5
    for text in texts:
        assert segment(text) == _reference(text)


def test_unknown_number_and_symbol_runs_split_as_jieba_splits_them() -> None:
    for text in ("2020-2022学年", "2024-03-15前完成", "d.d示范", "COVID-19防控", "3.5%的学生", "1+X+T", "a--b", "&-", "e-mail"):
        assert segment(text) == _reference(text), text


_SAMPLE_CHARS = "".join(sorted(set("".join(
    p.read_text(encoding="utf-8")[:3000] for p in sorted((DATA_DIR / "corpus").glob("*.txt"))))))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789-+.#&_%abcXYZ -—，。" + _SAMPLE_CHARS), max_size=40))
def test_segment_gives_what_python_jieba_gives_on_any_text(text: str) -> None:
    assert segment(text) == _reference(text)


def test_a_plan_past_the_word_cap_keeps_its_most_frequent_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "MAX_PLAN_WORDS", 3)
    found = [[("a", 0, 1), ("d", 2, 3), ("b", 4, 5)], [("c", 0, 1), ("a", 2, 3), ("e", 4, 5), ("b", 6, 7)],
             [("c", 0, 1)], [("x", 0, 1), ("y", 2, 3), ("z", 4, 5), ("w", 6, 7)]]
    capped = analysis.cap_plan_words([1, 1, 1, 2], found)
    # plan 1: a 2, b 2, c 2, d 1, e 1 -> a, b, c (d and e dropped); plan 2: four words seen once -> the first three
    assert capped == [[("a", 0, 1), ("b", 4, 5)], [("c", 0, 1), ("a", 2, 3), ("b", 6, 7)], [("c", 0, 1)],
                      [("x", 0, 1), ("y", 2, 3), ("z", 4, 5)]]
    assert analysis.cap_plan_words([1, 2], [found[0], found[2]]) == [found[0], found[2]]  # each plan at most 3: unchanged


@pytest.mark.parametrize("workers", [1, 2])
def test_the_word_cap_bounds_the_index_and_search_still_finds_every_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: int
) -> None:
    """A plan of numbered lines (a distinct word each), indexed in-process and by workers: the
    `words` field and the word sidecar hold the cap's words, and exact search still finds a rare number."""
    monkeypatch.setattr(analysis, "MAX_PLAN_WORDS", 50)
    monkeypatch.setattr(pipeline, "PARALLEL_CHARS", 0 if workers > 1 else pipeline.PARALLEL_CHARS)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = "\n".join(f"第{k}项，落实双减。" for k in range(3000, 3400))
    (corpus / "numbered.txt").write_text(f"某校2024年工作计划\n一、工作安排\n{lines}\n", encoding="utf-8")
    settings = get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1, plans_workers=workers)
    assert not Pipeline(settings).index([corpus]).failed
    with store.open_index(settings.index_dir).reader() as whoosh:
        terms = set(whoosh.lexicon("words"))
    assert len(terms) == 50 and "双减".encode() in terms  # the most frequent kept
    state = reader.combined(settings.index_dir)
    assert len({w for i in range(state.size) for w in state.words(i)}) <= 50
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/search", params={"q": "第3217项"}).json()["total"] == 1
