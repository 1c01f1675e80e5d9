"""The query language: text -> tokens -> an AST of literal needles, filters and operators.

    劳动教育 课后服务        both (whitespace is AND; `AND` may be written)
    劳动教育 OR 劳动实践     either
    劳动 -家务  /  劳动 NOT 家务   the first without the second
    "立德树人根本任务"        a phrase: its characters contiguous (“…” works too)
    (心理 OR 心育) 健康       grouping
    （劳动 or 家务） －家务 劳动|家务   what a Chinese keyboard types: full-width （） and －,
                              lowercase or/and/not, and | (or ｜) for OR
    school:海王路 year:2024 year:2022-2024 region:淄博 level:小学   filters on the plan
    (学校: 年份: 地区: 学段: are the same filters in Chinese)

Every needle is normalised with the indexer's own `normalize`, so the query side and the
index agree on full-width forms and case. Syntax errors carry a message in Chinese, a
stable code and the 0-based position of the offending character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from indexer.cleaning import normalize
from indexer.errors import QueryError  # defined with the whole tree; imported from here too

MAX_QUERY_CHARS = 500
FIELDS = {
    "school": "school", "学校": "school", "year": "year", "年份": "year", "年": "year",
    "region": "region", "地区": "region", "level": "level", "学段": "level",
}
FIELD_LABELS = {"school": "学校", "year": "年份", "region": "地区", "level": "学段"}
_FIELD_EXAMPLES = {"school": "school:金茵", "year": "year:2024", "region": "region:淄博", "level": "level:小学"}
# An ASCII quote closes only with an ASCII quote, so `"“双减”"` looks for the Chinese quotes
# too; a Chinese opening quote closes with a Chinese closing one (or, mistyped, an ASCII one).
_OPEN_QUOTES = {'"': '"', "“": "”\"", "”": "”\""}
_LPAREN, _RPAREN, _BAR = "(（", ")）", "|｜"
_MINUS = ("-", "－")
_OPERATORS = {"or": "OR", "and": "AND", "not": "NOT"}
_SPECIAL = set('"“”') | set(_LPAREN) | set(_RPAREN) | set(_BAR)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_YEAR = re.compile(r"^(\d{4})(?:\s*[-~至]\s*(\d{4}))?$")


@dataclass(frozen=True)
class Term:
    """A literal needle; `text` as typed, `needle` normalised; `phrase` if it was quoted."""

    text: str
    needle: str
    phrase: bool = False


@dataclass(frozen=True)
class Filter:
    """A field filter on the plan: substring for school/region/level, a year range for year."""

    field: str
    value: str
    years: tuple[int, int] | None = None


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Union[Term, Filter, Not, And, Or]


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE LPAREN RPAREN OR AND NOT FIELD
    text: str
    position: int
    field: str | None = None


def parse(query: str) -> Node:
    """Parse a query; raise QueryError saying what is wrong and where."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError("too_long", f"查询太长：最多 {MAX_QUERY_CHARS} 个字符，现在是 {len(query)} 个。", MAX_QUERY_CHARS)
    control = _CONTROL.search(query)
    if control:
        raise QueryError("control_character", f"查询的第 {control.start() + 1} 个字符是控制字符，请删除它。", control.start())
    tokens = _tokenize(query)
    if not tokens:
        raise QueryError("empty", "查询为空：请输入要查找的词语。", 0)
    parser = _Parser(tokens, len(query))
    node = parser.parse_or()
    if parser.peek() is not None:
        token = parser.peek()
        assert token is not None
        raise QueryError("unbalanced_parenthesis", f"第 {token.position + 1} 个字符处多了一个右括号。", token.position)
    _check_positive(node)
    return node


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in _OPEN_QUOTES:
            close = _find_close_quote(query, i + 1, _OPEN_QUOTES[char])
            if close < 0:
                raise QueryError("unbalanced_quote", f"第 {i + 1} 个字符处的引号没有闭合。", i)
            inner = query[i + 1 : close]
            if not inner.strip():
                raise QueryError("empty_phrase", f"第 {i + 1} 个字符处的引号里没有内容。", i)
            tokens.append(_Token("PHRASE", inner.strip(), i))
            i = close + 1
        elif char in _LPAREN:
            tokens.append(_Token("LPAREN", char, i))
            i += 1
        elif char in _RPAREN:
            tokens.append(_Token("RPAREN", char, i))
            i += 1
        elif char in _BAR:
            tokens.append(_Token("OR", char, i))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _SPECIAL:
                i += 1
            tokens.extend(_word_tokens(query[start:i], start))
    return tokens


def _find_close_quote(query: str, start: int, closers: str) -> int:
    for i in range(start, len(query)):
        if query[i] in closers:
            return i
    return -1


def _word_tokens(word: str, position: int) -> list[_Token]:
    if word.lower() in _OPERATORS:
        return [_Token(_OPERATORS[word.lower()], word, position)]
    if word.startswith(_MINUS):
        if len(word) == 1:
            raise QueryError("dangling_operator", f"第 {position + 1} 个字符处的“-”后面需要紧跟要排除的词。", position)
        return [_Token("NOT", "-", position), *_word_tokens(word[1:], position + 1)]
    name, sep, value = word.partition(":")
    if not sep:
        name, sep, value = word.partition("：")
    if sep and name in FIELDS:
        return [_Token("FIELD", value, position, field=FIELDS[name])]
    return [_Token("WORD", word, position)]


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary+; unary := NOT unary | primary."""

    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.length = length

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            if self.peek() is None or self.peek().kind in ("OR", "RPAREN", "AND"):  # type: ignore[union-attr]
                raise QueryError("dangling_operator", f"第 {token.position + 1} 个字符处的 OR 后面需要有查询词。", token.position)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                if not children or self.peek() is None or self.peek().kind in ("OR", "RPAREN", "AND"):  # type: ignore[union-attr]
                    raise QueryError("dangling_operator", f"第 {token.position + 1} 个字符处的 AND 两边都需要有查询词。", token.position)
                continue
            children.append(self.parse_unary())
        if not children:
            token = self.peek()
            position = token.position if token else self.length
            if token is not None and token.kind == "OR":
                raise QueryError("dangling_operator", f"第 {position + 1} 个字符处的 OR 前面需要有查询词。", position)
            raise QueryError("missing_term", f"第 {position + 1} 个字符处缺少查询词。", position)
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        token = self.take()
        if token.kind == "NOT":
            following = self.peek()
            if following is None or following.kind in ("OR", "AND", "RPAREN", "NOT"):
                raise QueryError("dangling_operator", f"第 {token.position + 1} 个字符处的 NOT 后面需要有要排除的词。", token.position)
            return Not(self.parse_unary())
        if token.kind == "LPAREN":
            if self.peek() is None:
                raise QueryError("unbalanced_parenthesis", f"第 {token.position + 1} 个字符处的括号没有闭合。", token.position)
            if self.peek().kind == "RPAREN":  # type: ignore[union-attr]
                raise QueryError("empty_group", f"第 {token.position + 1} 个字符处的括号里没有内容。", token.position)
            node = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QueryError("unbalanced_parenthesis", f"第 {token.position + 1} 个字符处的括号没有闭合。", token.position)
            self.take()
            return node
        if token.kind == "FIELD":
            return self._filter(token)
        if token.kind in ("WORD", "PHRASE"):
            return Term(token.text, normalize(token.text), phrase=token.kind == "PHRASE")
        raise QueryError("unexpected", f"第 {token.position + 1} 个字符处的“{token.text}”用得不对。", token.position)

    def _filter(self, token: _Token) -> Filter:
        assert token.field is not None
        value = token.text
        if not value:
            following = self.peek()
            if following is None or following.kind != "PHRASE":
                label, example = FIELD_LABELS[token.field], _FIELD_EXAMPLES[token.field]
                raise QueryError("empty_filter", f"第 {token.position + 1} 个字符处的筛选条件（{label}）缺少值，例如 {example}。", token.position)
            value = self.take().text
        return literal_filter(token.field, value, token.position)


def literal_filter(field: str, value: str, position: int = 0) -> Filter:
    """A filter on `field` whose value is data: quotes, OR and parentheses in it are literal
    characters, never query syntax (URL filters come here directly, not through `parse`)."""
    if field not in FIELD_LABELS:
        raise QueryError("unknown_filter", f"没有名为 {field} 的筛选条件。", position)
    if len(value) > MAX_QUERY_CHARS:
        raise QueryError("too_long", f"筛选条件太长：最多 {MAX_QUERY_CHARS} 个字符，现在是 {len(value)} 个。", position)
    control = _CONTROL.search(value)
    if control:
        raise QueryError("control_character", f"筛选条件（{FIELD_LABELS[field]}）的第 {control.start() + 1} 个字符是控制字符，请删除它。", position)
    if field == "year":
        match = _YEAR.match(normalize(value).strip())
        if not match:
            raise QueryError("bad_year", f"第 {position + 1} 个字符处的年份“{value}”无法识别：请写成 year:2024 或 year:2022-2024。", position)
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            low, high = high, low
        return Filter("year", value, (low, high))
    return Filter(field, normalize(value).strip())


def _check_positive(node: Node) -> None:
    """Every conjunction needs something that is not excluded: `-德` alone would return everything else."""
    if isinstance(node, Not):
        raise QueryError("only_negative", "查询不能只有排除条件：请至少给出一个要查找的词。", 0)
    if isinstance(node, And):
        if all(isinstance(child, Not) for child in node.children):
            raise QueryError("only_negative", "查询不能只有排除条件：请至少给出一个要查找的词。", 0)
        for child in node.children:
            _check_positive(child.child if isinstance(child, Not) else child)
    if isinstance(node, Or):
        for child in node.children:
            _check_positive(child)


def positive_terms(node: Node) -> list[Term]:
    """The needles a matching passage contains (those not under NOT), first occurrence order."""
    out: list[Term] = []
    def walk(n: Node) -> None:
        if isinstance(n, Term):
            if n.needle not in {t.needle for t in out}:
                out.append(n)
        elif isinstance(n, (And, Or)):
            for child in n.children:
                walk(child)
    walk(node)
    return out


def describe(node: Node) -> str:
    """The query in words, as the page shows it: 含“劳动教育”且不含“家务”."""
    if isinstance(node, Term):
        return f"含“{node.text}”"
    if isinstance(node, Filter):
        if node.years:
            low, high = node.years
            return f"年份为 {low}" if low == high else f"年份在 {low}–{high}"
        return f"{FIELD_LABELS[node.field]}含“{node.value}”"
    if isinstance(node, Not):
        inner = describe(node.child)
        return "不" + inner if inner.startswith("含") else f"非（{inner}）"
    if isinstance(node, And):
        return "且".join(_wrap(c) for c in node.children)
    return "或".join(_wrap(c) for c in node.children)


def _wrap(node: Node) -> str:
    text = describe(node)
    return f"（{text}）" if isinstance(node, (And, Or)) else text
