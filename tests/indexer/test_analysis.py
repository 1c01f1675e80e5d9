"""The analyzers Whoosh pickles: word positions in words, single letters kept, bigrams exact."""

from __future__ import annotations

import pickle

from indexer.analysis import BigramTokenizer, WordTokenizer, bigrams, segment
from indexer.schema import SCHEMA_VERSION, build_schema


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
