"""The theme dictionary (data/themes.yaml) and how a `theme=` parameter becomes needles.

A dictionary theme is the OR of its terms, each a literal needle. Any other value is read
as a query in the query language (`劳动 -家务`); a dictionary name wins when it matches
exactly. The file is read once, when the app starts, and validated entry by entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.query import Node, Or, QueryError, Term, describe, parse, positive_terms
from indexer.cleaning import normalize
from indexer.errors import ConfigurationError
from indexer.settings import load_yaml

LIST_SEPARATORS = (",", "，")  # between themes in `themes=`, so names may not contain them


class ThemeError(ConfigurationError):
    """The theme dictionary file is missing, not YAML, or has a bad entry (named in the message)."""


@dataclass(frozen=True)
class Theme:
    """A dictionary theme, or an ad-hoc query (`query` set) standing in for one."""

    name: str
    description: str
    terms: tuple[str, ...]
    node: Node = field(compare=False, repr=False)
    query: str | None = None

    @property
    def needles(self) -> list[str]:
        """The normalised literals whose matches are counted and highlighted."""
        return [t.needle for t in positive_terms(self.node)]

    @property
    def term_nodes(self) -> list[Term]:
        return positive_terms(self.node)

    def describe(self) -> dict[str, Any]:
        """{"name", "kind": "dictionary"|"query", "description", "terms"} for responses."""
        return {
            "name": self.name,
            "kind": "query" if self.query is not None else "dictionary",
            "description": self.description,
            "terms": list(self.terms),
        }


class ThemeBook:
    """The dictionary's themes in file order, by name."""

    def __init__(self, themes: list[Theme]) -> None:
        self.themes = themes
        self._by_name = {t.name: t for t in themes}

    def __iter__(self) -> Iterator[Theme]:
        return iter(self.themes)

    def __len__(self) -> int:
        return len(self.themes)

    def get(self, name: str) -> Theme | None:
        return self._by_name.get(name)

    def resolve(self, text: str) -> Theme:
        """A dictionary theme by exact name, else the text parsed as a query (QueryError if bad)."""
        text = text.strip()
        found = self._by_name.get(text)
        if found is not None:
            return found
        node = parse(text)
        terms = positive_terms(node)
        if not terms:
            raise QueryError("no_terms", "主题需要至少一个要查找的词语，而不只是筛选条件。", 0)
        return Theme(text, describe(node), tuple(t.text for t in terms), node, query=text)

    def resolve_list(self, text: str | None) -> list[Theme]:
        """`a,b` (either comma) -> themes in that order; None or blank -> the whole dictionary."""
        if text is None or not text.strip():
            return list(self.themes)
        for sep in LIST_SEPARATORS[1:]:
            text = text.replace(sep, LIST_SEPARATORS[0])
        parts = [p.strip() for p in text.split(LIST_SEPARATORS[0]) if p.strip()]
        if not parts:
            raise QueryError("empty", "themes 参数为空：请给出至少一个主题。", 0)
        resolved: dict[str, Theme] = {}
        for part in parts:
            resolved.setdefault(part, self.resolve(part))
        return list(resolved.values())

    def listing(self) -> dict[str, Any]:
        """The JSON of /api/themes: {"total", "themes": [{"name", "description", "terms"}]}."""
        return {
            "total": len(self.themes),
            "themes": [{"name": t.name, "description": t.description, "terms": list(t.terms)} for t in self.themes],
        }


def load_themes(path: Path) -> ThemeBook:
    """Read and validate the dictionary; ThemeError names the file and the bad entry."""
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeError(f"{path}: cannot read the theme dictionary ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ThemeError(f"{path}: not valid YAML: {exc}") from exc
    entries = data.get("themes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ThemeError(f"{path}: expected a top-level `themes:` list with at least one theme")
    themes: list[Theme] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        theme = _theme(entry, f"{path}: theme #{number}")
        if theme.name in seen:
            raise ThemeError(f"{path}: theme #{number} ({theme.name}): the name is used twice")
        seen.add(theme.name)
        themes.append(theme)
    return ThemeBook(themes)


def _theme(entry: object, where: str) -> Theme:
    if not isinstance(entry, dict):
        raise ThemeError(f"{where}: expected a mapping with name, description and terms")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f"{where}: `name` must be a non-empty string")
    name = name.strip()
    where = f"{where} ({name})"
    if any(sep in name for sep in LIST_SEPARATORS):
        raise ThemeError(f"{where}: a name may not contain a comma (themes= lists are comma-separated)")
    unknown = set(entry) - {"name", "description", "terms"}
    if unknown:
        raise ThemeError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ThemeError(f"{where}: `description` must be a non-empty string")
    terms = entry.get("terms")
    if not isinstance(terms, list) or not terms:
        raise ThemeError(f"{where}: `terms` must be a non-empty list")
    cleaned: list[str] = []
    needles: set[str] = set()
    for term in terms:
        if not isinstance(term, str) or not normalize(term).strip():
            raise ThemeError(f"{where}: term {term!r} must be a non-empty string")
        needle = normalize(term.strip())
        if needle in needles:
            raise ThemeError(f"{where}: term {term!r} is listed twice")
        needles.add(needle)
        cleaned.append(term.strip())
    node = Or(tuple(Term(t, normalize(t), phrase=True) for t in cleaned))
    return Theme(name, description.strip(), tuple(cleaned), node)
