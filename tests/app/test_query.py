"""The query language as a table: text -> AST, and text -> the error users see."""

from __future__ import annotations

import pytest

from app.query import And, Filter, Not, Or, QueryError, Term, describe, parse, positive_terms


def t(text: str, phrase: bool = False) -> Term:
    from indexer.cleaning import normalize

    return Term(text, normalize(text), phrase)


@pytest.mark.parametrize(
    ("query", "ast"),
    [
        ("劳动", t("劳动")),
        ("劳动 教育", And((t("劳动"), t("教育")))),
        ("劳动 AND 教育", And((t("劳动"), t("教育")))),
        ("劳动 OR 教育", Or((t("劳动"), t("教育")))),
        ("劳动 -家务", And((t("劳动"), Not(t("家务"))))),
        ("劳动 NOT 家务", And((t("劳动"), Not(t("家务"))))),
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ('"立德 树人"', t("立德 树人", True)),
        ("“双减”", t("双减", True)),
        ('"“双减”工作"', t("“双减”工作", True)),  # ASCII quotes may hold Chinese ones
        ("“双减\"", t("双减", True)),  # a mistyped closing quote still closes
        ("2025-2026学年", t("2025-2026学年")),
        ("1+X+T", t("1+X+T")),
        ("要求:上课", t("要求:上课")),
        ("orange andes notes", And((t("orange"), t("andes"), t("notes")))),
        ("year:2024 德", And((Filter("year", "2024", (2024, 2024)), t("德")))),
        ("year:2024-2022 德", And((Filter("year", "2024-2022", (2022, 2024)), t("德")))),
        ("学校:金茵 德", And((Filter("school", "金茵"), t("德")))),
        ('school:"海王路 小学" 德', And((Filter("school", "海王路 小学"), t("德")))),
        ("ＳＣＨＯＯＬ德", t("ＳＣＨＯＯＬ德")),
    ],
)
def test_parse(query: str, ast: object) -> None:
    assert parse(query) == ast


@pytest.mark.parametrize(
    ("query", "code", "position"),
    [
        ("", "empty", 0), ("  ", "empty", 0), ('劳动 "教育', "unbalanced_quote", 3), ("(劳动", "unbalanced_parenthesis", 0),
        ("劳动)", "unbalanced_parenthesis", 2), ("()", "empty_group", 0), ("OR 劳动", "dangling_operator", 0),
        ("劳动 OR", "dangling_operator", 3), ("劳动 NOT", "dangling_operator", 3), ("-", "dangling_operator", 0),
        ("-劳动", "only_negative", 0), ('""', "empty_phrase", 0), ("year:x", "bad_year", 0),
        ("level:", "empty_filter", 0), ("a\x01", "control_character", 1), ("x" * 501, "too_long", 500),
    ],
)
def test_errors_say_what_and_where(query: str, code: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert (caught.value.code, caught.value.position) == (code, position)
    assert caught.value.message


def test_description_and_positive_terms() -> None:
    node = parse("(心理 OR 心育) 健康 -德 year:2024")
    assert describe(node) == "（含“心理”或含“心育”）且含“健康”且不含“德”且年份为 2024"
    assert [term.text for term in positive_terms(node)] == ["心理", "心育", "健康"]


@pytest.mark.parametrize(
    ("typed", "means"),
    [
        ("（劳动 OR 家务） 教育", "(劳动 OR 家务) 教育"),
        ("劳动 －家务", "劳动 -家务"),
        ("劳动 or 家务", "劳动 OR 家务"),
        ("劳动 and 家务", "劳动 AND 家务"),
        ("劳动 not 家务", "劳动 NOT 家务"),
        ("劳动|家务", "劳动 OR 家务"),
        ("劳动 ｜ 家务", "劳动 OR 家务"),
        ("(劳动 Or 家务)", "(劳动 OR 家务)"),
    ],
)
def test_operators_typed_on_a_chinese_keyboard(typed: str, means: str) -> None:
    assert parse(typed) == parse(means)


def test_an_operator_word_inside_a_term_stays_literal() -> None:
    assert parse("orange") == Term("orange", "orange")
    assert parse("2025-2026学年") == Term("2025-2026学年", "2025-2026学年")
