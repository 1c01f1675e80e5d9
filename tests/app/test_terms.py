"""Distinctive terms: counts checked by brute force over the jieba words, generic words held back."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.snapshot import Snapshot
from app.views.vocabulary import held_back
from indexer.cleaning import normalize
from indexer.settings import Settings
from tests.app.views_corpus import views_home

PLAN = 2


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return views_home(tmp_path_factory)


@pytest.fixture(scope="module")
def snapshot(home: Settings) -> Snapshot:
    return Snapshot(home.index_dir)


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as test_client:
        yield test_client


def _counts(snapshot: Snapshot, passages: list[int]) -> tuple[Counter[str], Counter[str]]:
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for i in passages:
        sequence = snapshot.words(i)
        words.update(sequence)
        pairs.update(a + "\x00" + b for a, b in zip(sequence, sequence[1:]))
    return words, pairs


def _phrase_count(pairs: Counter[str], phrase: str) -> int:
    return sum(c for key, c in pairs.items() if key.replace("\x00", "") == phrase)


@pytest.mark.parametrize("theme", [None, "劳动教育", "心理健康"])
def test_counts_are_the_words_of_the_theme_passages_and_of_the_corpus(client: TestClient, snapshot: Snapshot, theme: str | None) -> None:
    answer = client.get(f"/api/documents/{PLAN}/terms", params={"theme": theme} if theme else {}).json()
    plan = snapshot.plan_by_id[PLAN]
    passages = list(snapshot.plan_range(plan))
    if theme:
        needles = [normalize(t) for t in next(t for t in client.get("/api/themes").json()["themes"] if t["name"] == theme)["terms"]]
        passages = [i for i in passages if any(n in snapshot.normalized[i] for n in needles)]
    assert answer["foreground"]["passages"] == len(passages)
    fore_words, fore_pairs = _counts(snapshot, passages)
    all_words, all_pairs = _counts(snapshot, list(range(snapshot.size)))
    assert answer["terms"], theme
    for term in answer["terms"]:
        assert term["term"] not in held_back()
        if term["kind"] == "word":
            assert (term["count"], term["corpus"]) == (fore_words[term["term"]], all_words[term["term"]])
        else:
            assert (term["count"], term["corpus"]) == (_phrase_count(fore_pairs, term["term"]), _phrase_count(all_pairs, term["term"]))
        assert term["count"] >= 2
    zs = [t["z"] for t in answer["terms"]]
    assert zs == sorted(zs, reverse=True)


def test_generic_planning_words_are_held_back(client: TestClient) -> None:
    shown = {t["term"] for t in client.get(f"/api/documents/{PLAN}/terms", params={"top": 200}).json()["terms"]}
    assert not shown & {"加强", "推进", "落实", "使用", "力度", "开展", "增强", "开学", "不少"}
    assert any(len(t) > 2 for t in shown)


def test_the_theme_word_leads_its_own_passages(client: TestClient) -> None:
    answer = client.get(f"/api/documents/{PLAN}/terms", params={"theme": "劳动教育"}).json()
    assert answer["terms"][0]["term"] == "劳动教育" and answer["theme"] == "劳动教育"
    assert any(t["kind"] == "phrase" for t in answer["terms"])


def test_each_term_links_to_its_kwic_lines(client: TestClient) -> None:
    page = client.get(f"/documents/{PLAN}/terms", params={"theme": "劳动教育"}).text
    links = [unescape(u) for u in re.findall(r'href="(/kwic\?[^"]+)"', page)]
    assert len(links) >= 5
    for link in links[:5]:
        lines = client.get("/api" + link).json()
        assert lines["total"] >= 2 and {line["document_id"] for line in lines["lines"]} >= {PLAN}


@pytest.mark.parametrize("path, status", [("/api/documents/99/terms", 404), ("/api/documents/2/terms?theme=(", 400),
                                          ("/api/documents/2/terms?top=0", 400)])
def test_bad_input_is_4xx(client: TestClient, path: str, status: int) -> None:
    answer = client.get(path)
    assert answer.status_code == status and set(answer.json()) >= {"error", "message"}
