"""The theme dictionary: what ships, how it is validated, how a `theme=` value is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.query import QueryError
from app.themes import ThemeError, load_themes
from indexer.cleaning import normalize
from indexer.settings import DATA_DIR, Settings, get_settings
from tests.conftest import catalog_passages

SHIPPED = DATA_DIR / "themes.yaml"
# Dictionary themes that match no sample plan, and why they stay. None today: all 31 match.
UNMATCHED_ON_SAMPLES: dict[str, str] = {}


def test_the_shipped_dictionary_has_at_least_15_complete_themes() -> None:
    book = load_themes(SHIPPED)
    assert len(book) >= 15
    assert len({t.name for t in book}) == len(book)
    for theme in book:
        assert theme.description and theme.terms
        assert theme.needles == [normalize(t) for t in theme.terms]
    assert {"劳动教育", "家务劳动", "劳动清单", "劳动周"} <= set(book.get("劳动教育").terms)  # type: ignore[union-attr]


def test_api_lists_the_dictionary(client: TestClient) -> None:
    body = client.get("/api/themes").json()
    book = load_themes(SHIPPED)
    assert body["total"] == len(book)
    assert body["themes"][0] == {"name": book.themes[0].name, "description": book.themes[0].description,
                                 "terms": list(book.themes[0].terms)}
    assert [t["name"] for t in body["themes"]] == [t.name for t in book]


def test_every_dictionary_theme_matches_a_sample_plan(sample_home: Settings) -> None:
    rows = [(plan.id, normalize(passage.text)) for plan, passage in catalog_passages(sample_home)]
    unmatched = {
        theme.name for theme in load_themes(SHIPPED)
        if not any(n in text for _, text in rows for n in theme.needles)
    }
    assert unmatched == set(UNMATCHED_ON_SAMPLES)


BAD_DICTIONARIES = [
    ("themes: [", "not valid YAML"),
    ("- name: x", "top-level `themes:` list"),
    ("themes: []", "top-level `themes:` list"),
    ("themes:\n  - just a string", "theme #1: expected a mapping"),
    ("themes:\n  - {description: d, terms: [a]}", "theme #1: `name` must be"),
    ("themes:\n  - {name: 甲, description: d, terms: [a]}\n  - {name: 乙, description: d, terms: []}",
     "theme #2 (乙): `terms` must be a non-empty list"),
    ("themes:\n  - {name: 甲, description: d, terms: [a, 3]}", "theme #1 (甲): term 3 must be"),
    ("themes:\n  - {name: 甲, description: d, terms: [劳动, ' ']}", "theme #1 (甲): term ' ' must be"),
    ("themes:\n  - {name: 甲, description: d, terms: [ａ, a]}", "theme #1 (甲): term 'a' is listed twice"),
    ("themes:\n  - {name: 甲, terms: [a]}", "theme #1 (甲): `description` must be"),
    ("themes:\n  - {name: '甲,乙', description: d, terms: [a]}", "may not contain a comma"),
    ("themes:\n  - {name: 甲, description: d, terms: [a], weight: 2}", "unknown key(s) weight"),
    ("themes:\n  - {name: 甲, description: d, terms: [a]}\n  - {name: 甲, description: d, terms: [b]}",
     "theme #2 (甲): the name is used twice"),
]


@pytest.mark.parametrize(("text", "message"), BAD_DICTIONARIES, ids=[m for _, m in BAD_DICTIONARIES])
def test_a_bad_dictionary_names_the_bad_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThemeError) as error:
        load_themes(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_missing_dictionary_is_a_theme_error(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="cannot read"):
        load_themes(tmp_path / "nope.yaml")


def test_the_app_refuses_to_start_with_a_bad_dictionary(sample_home: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "themes.yaml"
    bad.write_text("themes:\n  - {name: 甲, description: d}\n", encoding="utf-8")
    settings = get_settings(plans_home=sample_home.plans_home, plans_themes=bad, plans_reload_interval=-1)
    with pytest.raises(ThemeError, match="甲"), TestClient(create_app(settings)):
        pass


RESOLVE = [
    # (theme=, kind, name, terms)
    ("劳动教育", "dictionary", "劳动教育", None),
    (" 美育 ", "dictionary", "美育", None),
    ("劳动 -家务", "query", "劳动 -家务", ["劳动"]),
    ('"家务劳动" OR 劳动清单', "query", '"家务劳动" OR 劳动清单', ["家务劳动", "劳动清单"]),
    ("劳动教育 school:金茵", "query", "劳动教育 school:金茵", ["劳动教育"]),
    ("美育与艺术", "query", "美育与艺术", ["美育与艺术"]),  # not a name: a literal query
]


@pytest.mark.parametrize(("text", "kind", "name", "terms"), RESOLVE, ids=[r[0] for r in RESOLVE])
def test_a_theme_is_a_dictionary_name_or_a_query(text: str, kind: str, name: str, terms: list[str] | None) -> None:
    book = load_themes(SHIPPED)
    theme = book.resolve(text)
    assert theme.describe()["kind"] == kind
    assert theme.name == name
    assert list(theme.terms) == (terms if terms is not None else list(book.get(name).terms))  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "code"), [("(劳动", "unbalanced_parenthesis"), ("year:2024", "no_terms"),
                                            ("-劳动", "only_negative"), ("  ", "empty")])
def test_a_bad_ad_hoc_theme_is_a_query_error(text: str, code: str) -> None:
    with pytest.raises(QueryError) as error:
        load_themes(SHIPPED).resolve(text)
    assert error.value.code == code


def test_theme_lists_split_on_either_comma_and_default_to_all() -> None:
    book = load_themes(SHIPPED)
    assert [t.name for t in book.resolve_list("劳动教育，美育, 劳动 -家务,美育")] == ["劳动教育", "美育", "劳动 -家务"]
    assert book.resolve_list(None) == book.themes
    assert book.resolve_list(" ") == book.themes
    with pytest.raises(QueryError):
        book.resolve_list(",，")
