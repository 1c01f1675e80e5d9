"""/api/compare and /api/matrix on the sample plans, checked against brute-force counts."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.commitments import _QUANTIFIED, _STARTS, is_quantified, quantified_sentences
from app.distinctive import ThemeWords, stopwords
from app.snapshot import Snapshot
from app.themes import load_themes
from indexer.cleaning import normalize
from app.cli import cli
from indexer.settings import DATA_DIR, Settings
from tests.conftest import countable_passages as catalog_passages

BOOK = load_themes(DATA_DIR / "themes.yaml")
Oracle = Callable[[str], bool]


def _get(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _column(result: dict[str, Any], school: str) -> dict[str, Any]:
    return next(c for c in result["columns"] if c["document"]["school"] == school)


def _best(column: dict[str, Any]) -> dict[str, Any]:
    best = [p for p in column["passages"] if p["most_relevant"]]
    assert len(best) == 1
    return best[0]


# -- the acceptance on 劳动教育 ------------------------------------------------------------

LABOUR_ITEMS = [
    ("海王路小学教育集团", "17.深化劳动教育"),
    ("临淄区金茵小学", "6.劳动育人"),
    ("小教科", "3.推进劳动实践育人"),  # 怀柔区
]


@pytest.mark.parametrize(("school", "item"), LABOUR_ITEMS)
def test_each_plan_puts_its_own_labour_item_first(client: TestClient, school: str, item: str) -> None:
    column = _column(_get(client, "/api/compare", theme="劳动教育"), school)
    best = _best(column)
    assert best["section"][-1].startswith(item)
    assert best["text"].startswith(item)
    assert column["coverage"]["prominence"]["in_heading"]


def test_a_plan_that_mentions_labour_in_passing_has_lower_coverage(client: TestClient) -> None:
    result = _get(client, "/api/compare", theme="劳动教育")
    passing = _column(result, "淄博高新区第一小学")["coverage"]
    assert passing["passages"] == 1 and passing["mentions"] == 1
    for school, _ in LABOUR_ITEMS:
        coverage = _column(result, school)["coverage"]
        assert coverage["mentions"] > passing["mentions"]
        assert coverage["per_10k"] > passing["per_10k"]


def test_prominence_names_heading_level_and_sections(client: TestClient) -> None:
    prominence = _column(_get(client, "/api/compare", theme="劳动教育"), "海王路小学教育集团")["coverage"]["prominence"]
    assert prominence == {
        "in_heading": True,
        "heading_depth": 3,
        "sections": [["三、聚力实现四大突破，凸显集团发展融合优势", "（一）在增强德育实效上实现突破", "17.深化劳动教育"]],
    }
    titled = _column(_get(client, "/api/compare", theme="工作计划"), "临淄区金茵小学")["coverage"]["prominence"]
    assert titled["heading_depth"] == 0  # the plan's title names it
    unnamed = _column(_get(client, "/api/compare", theme="劳动教育"), "常州市焦溪小学")["coverage"]["prominence"]
    assert unnamed["in_heading"] is False and unnamed["heading_depth"] is None


# -- coverage equals brute force -----------------------------------------------------------

def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    return [(m.start(), m.start() + len(needle)) for m in re.finditer(f"(?={re.escape(needle)})", text)]


def _mentions(text: str, needles: list[str]) -> int:
    """Occurrences, overlapping ones of different needles counted once (written apart from the app)."""
    spans = sorted({s for n in needles for s in _spans(text, n)})
    starts = {s for s, _ in spans}
    return sum(1 for s in starts if max((e for s2, e in spans if s2 < s), default=-1) <= s)


def _truth(home: Settings, oracle: Oracle, needles: list[str]) -> dict[int, dict[str, Any]]:
    """Per plan id: matching passage ids, passages, share, mentions, per_10k."""
    out: dict[int, dict[str, Any]] = {}
    for plan, passage in catalog_passages(home):
        row = out.setdefault(plan.id, {"ids": [], "chars": 0, "mentions": 0, "plan_chars": plan.chars})
        text = normalize(passage.text)
        if oracle(text):
            row["ids"].append(passage.id)
            row["chars"] += len(passage.text)
            row["mentions"] += _mentions(text, needles)
    for row in out.values():
        row["passages"] = len(row["ids"])
        row["share"] = round(row["chars"] / row["plan_chars"], 4)
        row["per_10k"] = round(row["mentions"] * 10_000 / row["plan_chars"], 2)
    return out


def _any(*needles: str) -> Oracle:
    return lambda text: any(normalize(n) in text for n in needles)


THEMES: list[tuple[str, Oracle, list[str]]] = [
    *[(t.name, _any(*t.terms), t.needles) for t in BOOK if t.name in ("劳动教育", "体育与健康", "特殊教育与融合教育", "家校社协同")],
    ("劳动 -家务", lambda t: "劳动" in t and "家务" not in t, ["劳动"]),
    ('"家校" OR 家长', _any("家校", "家长"), ["家校", "家长"]),
    ("德", _any("德"), ["德"]),  # a single character: many overlapping neighbours
]


@pytest.mark.parametrize(("theme", "oracle", "needles"), THEMES, ids=[t[0] for t in THEMES])
def test_compare_coverage_equals_brute_force(client: TestClient, sample_home: Settings,
                                             theme: str, oracle: Oracle, needles: list[str]) -> None:
    truth = _truth(sample_home, oracle, needles)
    result = _get(client, "/api/compare", theme=theme)
    assert result["documents"] == len(truth)
    assert result["mentioning"] == sum(1 for t in truth.values() if t["passages"])
    for column in result["columns"]:
        expected = truth[column["document"]["document_id"]]
        coverage = {k: v for k, v in column["coverage"].items() if k != "prominence"}
        assert coverage == {k: expected[k] for k in ("passages", "share", "mentions", "per_10k")}
        assert [p["id"] for p in column["passages"]] == expected["ids"]  # document order
        assert [p["mentions"] for p in column["passages"]] == [p["highlight"].count("<mark>") for p in column["passages"]]
        assert column["status"] == ("提及" if expected["passages"] else "未提及")


def test_matrix_equals_brute_force_for_every_theme(client: TestClient, sample_home: Settings) -> None:
    result = _get(client, "/api/matrix")
    assert [r["theme"] for r in result["rows"]] == [t.name for t in BOOK]
    for theme, row in zip(BOOK, result["rows"]):
        truth = _truth(sample_home, _any(*theme.terms), theme.needles)
        assert len(row["cells"]) == len(result["documents"]) == len(truth)  # zeros explicit
        for cell in row["cells"]:
            expected = truth[cell["document_id"]]
            assert cell == {"document_id": cell["document_id"],
                            **{k: expected[k] for k in ("passages", "mentions", "share", "per_10k")}}, theme.name


def test_a_plan_that_never_mentions_the_theme_is_an_explicit_empty_column(client: TestClient) -> None:
    result = _get(client, "/api/compare", theme="特殊教育与融合教育")
    assert result["documents"] == 5 and result["mentioning"] == 1
    for column in result["columns"]:
        if column["document"]["school"] == "小教科":  # 怀柔区: 特殊教育, 融合教育
            assert column["status"] == "提及"
            continue
        assert column["status"] == "未提及"
        assert column["coverage"] == {"passages": 0, "share": 0.0, "mentions": 0, "per_10k": 0.0,
                                      "prominence": {"in_heading": False, "heading_depth": None, "sections": []}}
        assert column["passages"] == column["distinctive_terms"] == column["commitments"] == []


# -- plan selection ------------------------------------------------------------------------

SELECTION = [
    ({}, [4, 5, 1, 2, 3]),  # by year, then id
    ({"documents": "3,1"}, [3, 1]),  # as requested
    ({"documents": "3，1,3"}, [3, 1]),  # either comma, duplicates once
    ({"year": "2024"}, [1, 2]),
    ({"region": "淄博"}, [2, 3]),
    ({"level": "教育行政"}, [4]),
    ({"documents": "3,1,2", "region": "淄博"}, [3, 2]),
    ({"school": "没有这所学校"}, []),
]


@pytest.mark.parametrize(("params", "ids"), SELECTION, ids=[str(p) for p, _ in SELECTION])
def test_columns_follow_documents_and_filters(client: TestClient, params: dict[str, str], ids: list[int]) -> None:
    for url, key in (("/api/compare", "columns"), ("/api/matrix", "documents")):
        body = _get(client, url, **({"theme": "劳动教育"} if url == "/api/compare" else {}), **params)
        found = [c["document"]["document_id"] for c in body[key]] if key == "columns" else [d["document_id"] for d in body[key]]
        assert found == ids


THEME_FILTERS = [
    # (theme with filters, extra params, the columns: the filters select plans, never passages)
    ("劳动教育 region:淄博", {}, [2, 3]),
    ("劳动教育 region:淄博", {"documents": "1,3,2"}, [3, 2]),
    ("劳动教育 year:2024", {}, [1, 2]),
    ("劳动教育 -region:淄博", {}, [4, 5, 1]),
    ("劳动教育 school:海王路", {"region": "青岛"}, [1]),
]


@pytest.mark.parametrize(("theme", "params", "ids"), THEME_FILTERS, ids=[f"{t} {p}" for t, p, _ in THEME_FILTERS])
def test_filters_in_the_theme_select_columns_and_never_make_a_plan_unmentioned(
        client: TestClient, sample_home: Settings, theme: str, params: dict[str, str], ids: list[int]) -> None:
    """`劳动教育 region:淄博` once labelled every plan outside 淄博 未提及 (海王路 mentions it 10 times)."""
    truth = _truth(sample_home, _any("劳动教育"), [normalize("劳动教育")])
    result = _get(client, "/api/compare", theme=theme, **params)
    assert [c["document"]["document_id"] for c in result["columns"]] == ids
    assert result["documents"] == len(ids)
    assert result["mentioning"] == sum(1 for i in ids if truth[i]["passages"])
    for column in result["columns"]:
        expected = truth[column["document"]["document_id"]]
        assert column["coverage"]["passages"] == expected["passages"]
        assert column["coverage"]["mentions"] == expected["mentions"]
        assert column["status"] == ("提及" if expected["passages"] else "未提及")
    unfiltered = _get(client, "/api/compare", theme='"劳动教育"')  # the same terms, no filter
    assert {c["document"]["document_id"]: c["coverage"] for c in unfiltered["columns"] if c["document"]["document_id"] in ids} == \
        {c["document"]["document_id"]: c["coverage"] for c in result["columns"]}


def test_the_regional_filter_keeps_haiwanglu_mentioned_when_it_is_selected(client: TestClient) -> None:
    """The issue's case: 海王路 (青岛) is no column of `region:淄博`, and where it is selected it is 提及."""
    zibo = _get(client, "/api/compare", theme="劳动教育 region:淄博")
    assert "海王路小学教育集团" not in [c["document"]["school"] for c in zibo["columns"]]
    everywhere = _get(client, "/api/compare", theme="劳动教育")
    haiwanglu = _column(everywhere, "海王路小学教育集团")
    assert haiwanglu["status"] == "提及" and haiwanglu["coverage"]["mentions"] >= 10


@pytest.mark.parametrize("theme", ["课后服务", "劳动教育", "德育", "党建"])
def test_one_count_on_search_document_page_compare_and_matrix(client: TestClient, theme: str) -> None:
    """A mention and a hit are counted once, the same way, by every answer (README)."""
    compared = _get(client, "/api/compare", theme=f'"{theme}"')
    cells = {c["document_id"]: c for row in _get(client, "/api/matrix", themes=f'"{theme}"')["rows"] for c in row["cells"]}
    searched = {g["document_id"]: g for g in _get(client, "/api/search", q=f'"{theme}"', per_group=0, size=100)["groups"]}
    for column in compared["columns"]:
        plan = column["document"]["document_id"]
        document = _get(client, f"/api/documents/{plan}", q=f'"{theme}"')
        hits = [p for p in document["passages"] if p["matches"]]
        assert len(hits) == column["coverage"]["passages"] == cells[plan]["passages"] == (searched[plan]["hits"] if plan in searched else 0)
        assert sum(p["matches"] for p in hits) == column["coverage"]["mentions"] == cells[plan]["mentions"]
        assert [p["id"] for p in hits] == [p["id"] for p in column["passages"]]
        assert [p["matches"] for p in hits] == [p["highlight"].count("<mark>") for p in hits]


def test_a_heading_alone_is_no_hit_when_its_section_goes_on(tmp_path: Path) -> None:
    """`二、劳动教育` followed by its subsections is no hit (its body carries the section); a
    heading with nothing under it is a hit of its own."""
    from fastapi.testclient import TestClient as Client

    from app.main import create_app
    from tests.conftest import build_home

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(
        "测试小学2024年工作计划\n一、德育工作\n加强劳动教育，组织学生参加劳动教育实践。\n"
        "二、劳动教育\n（一）日常劳动\n每周开展一次校园清洁活动，人人参与。\n（二）劳动周\n每学期组织一次劳动周。\n"
        "三、劳动教育成果展示\n", encoding="utf-8")
    with Client(create_app(build_home(tmp_path / "home", corpus))) as local:
        passages = _get(local, "/api/documents/1", q="劳动教育")["passages"]
        texts = {p["text"]: p["matches"] for p in passages}
        assert texts["二、劳动教育"] == 0  # heading-only, its section goes on
        assert texts["三、劳动教育成果展示"] == 1  # the whole of its section
        assert texts["一、德育工作\n加强劳动教育，组织学生参加劳动教育实践。"] == 2
        found = _search_all_ids(local, "劳动教育")
        assert found == sorted(p["id"] for p in passages if p["matches"])
        column = _get(local, "/api/compare", theme='"劳动教育"')["columns"][0]
        assert column["coverage"]["passages"] == 2 and column["coverage"]["mentions"] == 3
        assert column["coverage"]["prominence"]["in_heading"]  # 二、劳动教育 still names it in a heading


def _search_all_ids(client: TestClient, q: str) -> list[int]:
    body = _get(client, "/api/search", q=q, per_group=0, size=100)
    return sorted(p["id"] for g in body["groups"] for p in g["passages"])


BAD = [
    ("/api/compare", {"theme": "劳动教育", "documents": "1,99"}, "unknown_document", "99"),
    ("/api/matrix", {"documents": "7"}, "unknown_document", "7"),
    ("/api/compare", {"theme": "劳动教育", "documents": "1,x"}, "bad_documents", "x"),
    ("/api/compare", {"theme": "劳动教育", "documents": "-1"}, "bad_documents", "-1"),
    ("/api/compare", {"theme": "(劳动"}, "unbalanced_parenthesis", "括号"),
    ("/api/compare", {"theme": '"劳动'}, "unbalanced_quote", "引号"),
    ("/api/compare", {"theme": "year:2024"}, "no_terms", "主题"),
    ("/api/compare", {"theme": "-劳动"}, "only_negative", "排除"),
    ("/api/compare", {"theme": ""}, "invalid_parameter", "theme"),
    ("/api/compare", {}, "invalid_parameter", "theme"),
    ("/api/compare", {"theme": "劳" * 501}, "invalid_parameter", "theme"),
    ("/api/compare", {"theme": "劳动教育", "year": "二〇二四"}, "bad_year", "年份"),
    ("/api/compare", {"theme": "劳动教育", "format": "pdf"}, "invalid_parameter", "format"),
    ("/api/matrix", {"themes": "美育,(x"}, "unbalanced_parenthesis", "括号"),
    ("/api/matrix", {"themes": ",，"}, "empty", "themes"),
    ("/api/compare", {"theme": "劳动\x00"}, "control_character", "控制字符"),
]


@pytest.mark.parametrize(("url", "params", "code", "says"), BAD, ids=[f"{u}-{c}-{s}" for u, _, c, s in BAD])
def test_bad_parameters_get_400_saying_what(client: TestClient, url: str, params: dict[str, str], code: str, says: str) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == code
    assert says in body["message"]


# -- distinctive and shared terms ----------------------------------------------------------

def _theme_tokens(snapshot: Snapshot, column: dict[str, Any]) -> Counter[str]:
    index = {int(pid): i for i, pid in enumerate(snapshot.passage_ids)}
    return Counter(w for p in column["passages"] for w in snapshot.words(index[p["id"]]))


@pytest.mark.parametrize("theme", ["劳动教育", "体育与健康", "家校社协同"])
def test_distinctive_terms_are_counted_words_without_noise(client: TestClient, sample_snapshot: Snapshot, theme: str) -> None:
    result = _get(client, "/api/compare", theme=theme)
    assert "log-odds" in result["statistic"]["name"] and "Dirichlet" in result["statistic"]["name"]
    needles = BOOK.get(theme).needles  # type: ignore[union-attr]
    tokens = {c["document"]["document_id"]: _theme_tokens(sample_snapshot, c) for c in result["columns"]}
    for column in result["columns"]:
        terms = column["distinctive_terms"]
        assert len(terms) <= 10
        assert [t["z"] for t in terms] == sorted((t["z"] for t in terms), reverse=True)
        mine = tokens[column["document"]["document_id"]]
        for t in terms:
            word = t["term"]
            assert len(word) > 1 and word not in stopwords() and not re.search(r"\d", word)
            assert not any(n in word or word in n for n in needles)
            assert t["z"] > 0
            assert t["count"] == mine[word]
            assert t["others"] == sum(c[word] for d, c in tokens.items() if d != column["document"]["document_id"])


def _reference_terms(mine: Counter[str], pooled: Counter[str], top: int = 10) -> list[dict[str, Any]]:
    """Monroe, Colaresi & Quinn's z, word by word in plain Python: the oracle for the vectorised one."""
    n_pool, n_i = sum(pooled.values()), sum(mine.values())
    n_j = n_pool - n_i
    found = []
    for word, y_i in mine.items():
        alpha = 100.0 * pooled[word] / n_pool
        y_j = pooled[word] - y_i
        odds = lambda c, t: math.log(c / max(t - c, 1e-9))  # noqa: E731
        z = (odds(y_i + alpha, n_i + 100.0) - odds(y_j + alpha, n_j + 100.0)) / math.sqrt(1 / (y_i + alpha) + 1 / (y_j + alpha))
        if z > 0:
            found.append((z, y_i, word, y_j))
    found.sort(key=lambda t: (-t[0], -t[1], t[2]))
    return [{"term": w, "z": round(z, 3), "count": y, "others": o} for z, y, w, o in found[:top]]


@pytest.mark.parametrize("theme", ["劳动教育", "心理健康", "课后服务", "双减与作业"])
def test_distinctive_and_shared_terms_equal_the_formula_computed_word_by_word(
    client: TestClient, sample_snapshot: Snapshot, theme: str
) -> None:
    result = _get(client, "/api/compare", theme=theme)
    needles = BOOK.get(theme).needles  # type: ignore[union-attr]
    stop = stopwords()

    def content(word: str) -> bool:
        return (len(word) > 1 and word not in stop and not re.search(r"\d|^[第一二三四五六七八九十百千万亿两零〇几半]+(?:至|是|年级?|次|个|天|周|月|小时|学期|节|项|名)?$", word)
                and not any(n in word or word in n for n in needles))

    counts = {c["document"]["document_id"]: Counter(w for w in _theme_tokens(sample_snapshot, c).elements() if content(w))
              for c in result["columns"] if c["passages"]}
    assert len(counts) == result["mentioning"] >= 2
    pooled: Counter[str] = Counter()
    for c in counts.values():
        pooled.update(c)
    for column in result["columns"]:
        mine = counts.get(column["document"]["document_id"])
        assert column["distinctive_terms"] == (_reference_terms(mine, pooled) if mine else [])
    holders = Counter(w for c in counts.values() for w in c)
    need = max(2, math.ceil(len(counts) / 2))
    shared = sorted(((n, pooled[w], w) for w, n in holders.items() if n >= need), key=lambda t: (-t[0], -t[1], t[2]))
    assert result["shared_terms"] == [{"term": w, "plans": n, "count": c} for n, c, w in shared[:30]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("甲乙丙丁戊己庚辛壬癸子丑寅卯"), st.integers(1, 4), min_size=1), min_size=1, max_size=6),
       st.integers(1, 12))
def test_distinctive_terms_keep_each_plans_top_words_through_ties(plans: list[dict[str, int]], top: int) -> None:
    """Small counts make many equal z: the cut to each plan's best `top` must keep ties in order."""
    vocabulary = sorted({w for counts in plans for w in counts}, reverse=True)  # ids not in string order
    rows = sorted((p, vocabulary.index(w), c) for p, counts in enumerate(plans) for w, c in counts.items())
    words = ThemeWords(vocabulary, [100 + p for p in range(len(plans))], *(np.array(col, np.int64) for col in zip(*rows)))
    pooled: Counter[str] = Counter()
    for counts in plans:
        pooled.update(counts)
    got = words.distinctive(top)
    for p, counts in enumerate(plans):
        assert got.get(100 + p, []) == _reference_terms(Counter(counts), pooled, top)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="劳动教育ab", min_size=1, max_size=5), min_size=1, max_size=12, unique=True),
       st.lists(st.text(alphabet="劳动教育ab\0", max_size=4), min_size=1, max_size=4))
def test_related_words_are_those_that_contain_a_needle_or_are_part_of_one(words: list[str], needles: list[str]) -> None:
    """A word joined to its neighbour must not match a needle across the NUL between them."""
    from app.distinctive import _related

    vocabulary = ["甲", *words]  # ids need not start at 0
    ids = np.arange(1, len(vocabulary))
    expected = [any(n in w or w in n for n in needles) for w in words]
    assert _related(vocabulary, ids, needles).tolist() == expected


def test_a_plans_own_vocabulary_is_distinctive(client: TestClient) -> None:
    column = _column(_get(client, "/api/compare", theme="劳动教育"), "海王路小学教育集团")
    assert column["distinctive_terms"][0]["term"] == "心灵"  # 心灵疗愈, 心灵花园: its labour base


def test_shared_terms_occur_in_at_least_half_the_mentioning_plans(client: TestClient, sample_snapshot: Snapshot) -> None:
    result = _get(client, "/api/compare", theme="劳动教育")
    present = [set(_theme_tokens(sample_snapshot, c)) for c in result["columns"] if c["passages"]]
    assert result["shared_terms"]
    for term in result["shared_terms"]:
        holders = sum(term["term"] in words for words in present)
        assert holders == term["plans"] >= max(2, math.ceil(len(present) / 2))


# -- quantified commitments ----------------------------------------------------------------

COMMITMENTS = [
    ("体育与健康", "海王路小学教育集团",
     "实施学生体质健康提升行动，强化体质健康监测，落实“一天一节体育课”，确保学生每天在校中等及以上强度体育锻炼不少于1小时。"),
    ("体育与健康", "常州市焦溪小学", "积极开展“阳光体育”活动，确保学生每天至少有一小时的体育锻炼活动，全面提高学生体质；"),
    ("体育与健康", "淄博高新区第一小学",
     "落实阳光体育活动要求，保证学生每天两小时校园体育活动时间，组织开展大课间体育活动、体育课、课外活动等，丰富学生体育锻炼形式。"),
    ("劳动教育", "临淄区金茵小学", "通过“五育”云平台“劳动分享”活动写实,进一步推进每周家务劳动常态化,保证每周时长2-3小时。"),
    ("劳动教育", "小教科", "每周课外活动和家庭生活中劳动时间,小学一至二年级不少于2小时,其他年级不少于3小时。"),
    ("劳动教育", "小教科", "科室工作人员每周至少一次,随机入校开展工作检查,重点围绕“双减”、常态课质量、作业管理、课后服务、德育活动、劳动教育、家校协同等工作落实情况进行随机抽检,建立问题台账,及时督促整改,并对重点问题予以通报。"),
]


@pytest.mark.parametrize(("theme", "school", "sentence"), COMMITMENTS, ids=[f"{t}-{s}" for t, s, _ in COMMITMENTS])
def test_quantified_commitments_are_real_sentences(client: TestClient, theme: str, school: str, sentence: str) -> None:
    column = _column(_get(client, "/api/compare", theme=theme), school)
    texts = {p["id"]: p["text"] for p in column["passages"]}
    found = [c for c in column["commitments"] if c["text"] == sentence]
    assert len(found) == 1
    for commitment in column["commitments"]:
        assert commitment["text"] in texts[commitment["passage_id"]]


QUANTIFIED = [
    ("不少于1小时", True), ("每周2-3小时", True), ("每学期至少一次", True), ("覆盖率100％", True), ("每天", True),
    ("每月", True), ("两小时", True), ("确保每生掌握2项运动技能", True), ("实现全覆盖", True), ("一天一节体育课", True),
    ("2024年学校工作指导思想", False), ("六一节系列活动", False), ("第二学期开展", False), ("三年行动计划", False),
    ("17.深化劳动教育。", False), ("2025-2026学年", False), ("推进“十个一”项目进课程", False), ("一是为了自立自理", False),
]


@pytest.mark.parametrize(("sentence", "expected"), QUANTIFIED, ids=[s for s, _ in QUANTIFIED])
def test_what_counts_as_quantified(sentence: str, expected: bool) -> None:
    assert is_quantified(normalize(sentence)) is expected


# -- the command line ----------------------------------------------------------------------

def test_cli_compare_prints_a_table_json_and_files(sample_home: Settings, tmp_path: Any) -> None:
    runner = CliRunner()
    env = {"PLANS_HOME": str(sample_home.plans_home)}
    table = runner.invoke(cli, ["compare", "劳动教育", "--documents", "1,3"], env=env)
    assert table.exit_code == 0, table.output
    assert "海王路小学教育集团" in table.output and "17.深化劳动教育" in table.output
    assert table.output.index("海王路") < table.output.index("淄博高新区")
    as_json = runner.invoke(cli, ["compare", "劳动教育", "--format", "json"], env=env)
    assert as_json.exit_code == 0
    assert [c["document"]["document_id"] for c in json.loads(as_json.stdout)["columns"]] == [4, 5, 1, 2, 3]
    out = tmp_path / "labour.xlsx"
    written = runner.invoke(cli, ["compare", "劳动教育", "--format", "xlsx", "--output", str(out)], env=env)
    assert written.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    bad = runner.invoke(cli, ["compare", "劳动教育", "--documents", "9"], env=env)
    assert bad.exit_code == 2 and "9" in bad.output


def test_cli_matrix_prints_mentions(sample_home: Settings) -> None:
    result = CliRunner().invoke(cli, ["matrix", "--themes", "劳动教育,美育"], env={"PLANS_HOME": str(sample_home.plans_home)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["劳动教育", "10", "15", "10", "22", "1"]
    assert lines[2].split()[0] == "美育" and lines[2].split()[1] == "0"


def test_per_column_keeps_the_best_passages_in_document_order(client: TestClient) -> None:
    full = _get(client, "/api/compare", theme="德育与思政")
    bounded = _get(client, "/api/compare", theme="德育与思政", per_column=2)
    for whole, cut in zip(full["columns"], bounded["columns"]):
        assert cut["coverage"] == whole["coverage"]
        kept = [p["id"] for p in cut["passages"]]
        assert len(kept) == min(2, len(whole["passages"]))
        assert cut["passages_omitted"] == len(whole["passages"]) - len(kept)
        ordinals = [p["ordinal"] for p in cut["passages"]]
        assert ordinals == sorted(ordinals)
        best = sorted(whole["passages"], key=lambda p: -p["score"])[: len(kept)]
        assert {p["score"] for p in best} == {p["score"] for p in cut["passages"]}
        if whole["passages"]:
            assert any(p["most_relevant"] for p in cut["passages"])


@pytest.mark.parametrize("theme", ["劳动教育", "心理健康", "劳动教育 OR 体育"])
def test_answers_validate_against_the_documented_models(client: TestClient, theme: str) -> None:
    """/api/compare and /api/matrix skip FastAPI's response validation for speed: check it here."""
    from app import models

    models.Comparison.model_validate(_get(client, "/api/compare", theme=theme))
    models.Comparison.model_validate(_get(client, "/api/compare", theme=theme, per_column=1))
    models.Matrix.model_validate(_get(client, "/api/matrix"))
    models.Matrix.model_validate(_get(client, "/api/matrix", themes=f"{theme},家校社协同"))


def test_comparison_and_matrix_are_built_with_the_collector_paused(
        sample_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector would rescan a growing answer that holds no garbage (issue 6's timings)."""
    import gc

    import app.compare as module

    seen: list[bool] = []
    original = module.plan_summary
    monkeypatch.setattr(module, "plan_summary", lambda meta: seen.append(gc.isenabled()) or original(meta))
    book = load_themes(DATA_DIR / "themes.yaml")
    module.compare(sample_snapshot, book.resolve("劳动教育"))
    module.matrix(sample_snapshot, list(book))
    assert seen and not any(seen)
    assert gc.isenabled()


def test_overlapping_and_nested_mentions_count_as_merged_marks(tmp_path: Path) -> None:
    """Mentions are merged match spans: `好好` in `好好好好` is one mark, not two occurrences."""
    from app.compare import compare
    from app.snapshot import Snapshot
    from app.themes import ThemeBook
    from tests.conftest import build_home

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(
        "某某小学2024年工作计划\n一、总体要求\n好好好好学习，天天向上。\n二、劳动教育\n开展劳动教育和劳动实践，好好劳动。\n",
        encoding="utf-8",
    )
    snapshot = Snapshot(build_home(tmp_path / "home", corpus).index_dir)
    book = ThemeBook([])  # ad-hoc themes: queries
    for name in ("好好", "劳动 OR 劳动教育 OR 好好", '"好好好" OR 好'):
        result = compare(snapshot, book.resolve(name))
        for column in result["columns"]:
            for passage in column["passages"]:
                assert passage["mentions"] == passage["highlight"].count("<mark>"), (name, passage["text"])
    passages = {p["text"]: p["mentions"] for p in compare(snapshot, book.resolve("好好"))["columns"][0]["passages"]}
    assert passages["一、总体要求\n好好好好学习，天天向上。"] == 1  # str.count would say 2


def test_a_heading_cut_short_still_names_the_theme(tmp_path: Path) -> None:
    """A heading over 60 characters is kept as its first 59 and "…"; prominence tests it with
    every needle, not only those its passage holds (a needle may end in the "…")."""
    from app.compare import compare
    from app.snapshot import Snapshot
    from app.themes import ThemeBook
    from tests.conftest import build_home

    long_heading = "二、" + "积极推进家校社协同育人机制建设" * 4 + "并开展劳动周活动"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(f"某某小学2024年工作计划\n一、总体要求\n认真学习。\n{long_heading}\n组织学生参加劳动周。\n",
                                     encoding="utf-8")
    snapshot = Snapshot(build_home(tmp_path / "home", corpus).index_dir)
    heading = next(s[-1] for s in snapshot.sections if s and s[-1].startswith("二、积极推进"))
    assert heading.endswith("…") and "劳动周" not in heading
    tail = normalize(heading[-4:])  # three characters and the "…"
    column = compare(snapshot, ThemeBook([]).resolve(f'劳动周 OR "{tail}"'))["columns"][0]
    assert column["coverage"]["prominence"]["in_heading"] is True
    assert column["coverage"]["prominence"]["heading_depth"] == 1
    no_tail = compare(snapshot, ThemeBook([]).resolve("劳动周"))["columns"][0]
    assert no_tail["coverage"]["prominence"]["in_heading"] is False


def _sentence_by_sentence(text: str) -> list[tuple[int, int]]:
    """The definition: split after 。！？；!?; and line breaks, search each sentence alone."""
    found, start = [], 0
    for end in [m.end() for m in re.finditer(r"[。！？；!?;\n]", text)] + [len(text)]:
        if text[start:end].strip() and is_quantified(normalize(text)[start:end]):
            found.append((start, end))
        start = end
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list("12３.一二两十三八五第每天周次小时分钟节课个名%％全覆盖零事故 \n。；!至-~")
                                + ["百分之", "学期", "三八节", " \n", "1小时", "\n次"]), max_size=30).map("".join))
def test_quantified_sentences_are_those_a_sentence_alone_gives(text: str) -> None:
    """One scan of the passage finds the same sentences as one search per sentence, also where
    a match runs across a line break into the next sentence."""
    assert quantified_sentences(text, normalize(text)) == _sentence_by_sentence(text)


_PATTERN_CHARS = sorted(set(re.sub(r"[\\()?:<!=|\[\]^$*+{}]", "", _QUANTIFIED.pattern)) | set("0123456789 \n。的第x"))


_PATTERN_WORDS = ["零事故", "零发生", "零容忍", "全覆盖", "每周", "每学期", "百分之百", "小时", "个月", "三八节", "1.5"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PATTERN_CHARS + _PATTERN_WORDS), max_size=20).map("".join))
def test_the_quantity_pattern_finds_what_it_finds_without_its_start_filter(text: str) -> None:
    """The lookahead in front only skips positions no alternative can start at: it fails if an
    alternative is added that starts with a character the lookahead does not admit."""
    unfiltered = re.compile(_QUANTIFIED.pattern.removeprefix(_STARTS))
    assert unfiltered.pattern != _QUANTIFIED.pattern
    assert [m.span() for m in _QUANTIFIED.finditer(text)] == [m.span() for m in unfiltered.finditer(text)]


def test_quantified_sentences_of_the_samples(sample_snapshot: Snapshot) -> None:
    for i in range(sample_snapshot.size):
        text = sample_snapshot.texts[i]
        assert quantified_sentences(text, sample_snapshot.normalized[i]) == _sentence_by_sentence(text)
