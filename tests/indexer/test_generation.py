"""The segments' serving state: postings equal a brute-force scan, merging equals rebuilding."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from app.search import SearchRequest, search
from app.snapshot import Snapshot
from indexer import generation, store
from indexer.analysis import segment
from indexer.cleaning import normalize
from indexer.errors import CorruptIndexError, SchemaVersionError
from indexer.generation import CHAR_BITS, SATURATED, State
from indexer.index.postings import COUNT_SATURATED
from indexer.index import files as sidecars
from indexer.index import postings, reader
from indexer.pipeline import Pipeline
from indexer.schema import WHOOSH_FIELDS
from indexer.settings import Settings, get_settings
from tests.conftest import SAMPLES, catalog_passages

QUERIES = ["劳动教育", '"健康教育"', "德", "课后服务 质量", "双减 OR 五育并举", "1+X", "教师 -培训", "好好", "school:海王路 作业"]


def _brute_force(texts: list[str], pairs: bool) -> dict[int, list[tuple[int, int, int]]]:
    """key -> [(passage, occurrences, first offset)] by scanning every position."""
    found: dict[int, dict[int, list[int]]] = {}
    for p, text in enumerate(texts):
        width = 2 if pairs else 1
        for i in range(len(text) - width + 1):
            piece = text[i : i + width]
            if pairs and " " in piece:
                continue
            key = (ord(piece[0]) << CHAR_BITS) | ord(piece[1]) if pairs else ord(piece)
            entry = found.setdefault(key, {}).setdefault(p, [0, i])
            entry[0] += 1
    return {k: [(p, c, f) for p, (c, f) in sorted(v.items())] for k, v in found.items()}


def _table(postings: generation.Postings) -> dict[int, list[tuple[int, int, int]]]:
    out = {}
    for k, key in enumerate(postings.keys.tolist()):
        a, b = int(postings.offsets[k]), int(postings.offsets[k + 1])
        out[key] = list(zip(postings.passages[a:b].tolist(), postings.counts[a:b].tolist(), postings.first[a:b].tolist()))
    return out


def _assert_same_state(left: State, right: State) -> None:
    for name in ("plan_ids", "passage_ids", "passage_plan", "ordinals", "heading_lengths", "offsets"):
        assert np.array_equal(getattr(left, name), getattr(right, name)), name
    assert left.plans == right.plans
    assert left.sections == right.sections
    assert left.text == right.text and left.normalized == right.normalized
    # word ids depend on the order words were first met: compare the words themselves
    assert [left.words(i) for i in range(left.size)] == [right.words(i) for i in range(right.size)]
    for kind in ("chars", "bigrams"):
        assert _table(getattr(left, kind)) == _table(getattr(right, kind)), kind


def _saved(settings: Settings) -> State:
    """The live segments' sidecars of the newest generation, combined."""
    return reader.combined(settings.index_dir)


def _rebuilt(settings: Settings) -> State:
    """The state rebuilt from scratch: Whoosh's live documents in its order, each passage's text
    from the catalog (the source of truth; Whoosh stores no text) and its words from jieba."""
    text_of = {passage.id: passage.text for _, passage in catalog_passages(settings)}
    documents = []
    with store.open_index(settings.index_dir).reader() as whoosh:
        for _, fields in whoosh.iter_docs():
            if fields["kind"] == "passage":
                text = text_of[fields["pid"]]
                fields = {**fields, "text": text, "tokens": " ".join(word for word, _, _ in segment(text))}
            documents.append(fields)
    return generation.from_documents(documents)


def test_whoosh_stores_no_passage_text(sample_home: Settings) -> None:
    """A passage's text is stored once for serving, in its segment's sidecar."""
    with store.open_index(sample_home.index_dir).reader() as whoosh:
        stored = [fields for _, fields in whoosh.iter_docs()]
    assert stored and all(set(fields) <= WHOOSH_FIELDS and not {"text", "tokens"} & set(fields) for fields in stored)
    assert _saved(sample_home).texts() == [passage.text for _, passage in catalog_passages(sample_home)]


def test_postings_of_the_samples_equal_a_scan_of_every_position(sample_home: Settings) -> None:
    state = _saved(sample_home)
    texts = state.normalized_texts()
    assert texts == [normalize(t) for t in state.texts()]
    assert _table(state.chars) == _brute_force(texts, pairs=False)
    assert _table(state.bigrams) == _brute_force(texts, pairs=True)


def test_the_saved_state_holds_exactly_the_catalog(sample_home: Settings) -> None:
    state = _saved(sample_home)
    truth = catalog_passages(sample_home)
    assert state.passage_ids.tolist() == [p.id for _, p in truth]
    assert state.texts() == [p.text for _, p in truth]
    assert [state.plans[i]["id"] for i in state.passage_plan.tolist()] == [plan.id for plan, _ in truth]
    assert len(state.word_offsets) == state.size + 1
    assert all(state.words(i) for i in range(state.size))


def test_every_change_merges_to_what_a_rebuild_gives(tmp_path: Path, corpus_copy: Path) -> None:
    """Add, replace, prune, remove, add back: after each, the merged state equals one rebuilt from Whoosh."""
    settings = get_settings(plans_home=tmp_path / "home", plans_batch_plans=2)
    files = sorted(corpus_copy.glob("*.txt"))
    assert not Pipeline(settings).index([files[3], files[1]]).failed
    _assert_same_state(_saved(settings), _rebuilt(settings))
    assert not Pipeline(settings).index([corpus_copy]).failed  # the others go between and after
    _assert_same_state(_saved(settings), _rebuilt(settings))
    files[2].write_text(files[2].read_text(encoding="utf-8") + "\n附：好好好学习，德育为先。\n", encoding="utf-8")
    assert Pipeline(settings).index([corpus_copy]).count("replaced") == 1
    _assert_same_state(_saved(settings), _rebuilt(settings))
    files[0].unlink()
    assert Pipeline(settings).index([corpus_copy], prune=True).count("removed") == 1
    _assert_same_state(_saved(settings), _rebuilt(settings))
    removed = Pipeline(settings).remove(_saved(settings).plans[-1]["id"])
    assert removed is not None
    _assert_same_state(_saved(settings), _rebuilt(settings))
    assert not Pipeline(settings).index([SAMPLES]).failed
    state = _saved(settings)
    _assert_same_state(state, _rebuilt(settings))
    assert sorted(state.passage_ids.tolist()) == sorted(p.id for _, p in catalog_passages(settings))
    # sidecars only of the segments the newest two TOCs name, and those TOCs only
    numbers = reader.generations(settings.index_dir)
    assert len(numbers) == 2 and numbers[0] == store.open_index(settings.index_dir).latest_generation()
    storage = store.FileStorage(str(settings.index_dir))
    named = {s.segid for n in numbers for s in reader.read_toc(storage, n).segments}
    assert {p.name[len(sidecars.PREFIX):] for p in settings.index_dir.glob(f"{sidecars.PREFIX}*")} == named
    assert not list(settings.index_dir.glob(f".{sidecars.PREFIX}*"))


def _documents(plans: list[tuple[int, list[str]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for plan_id, texts in plans:
        out.append({"kind": "plan", "plan": str(plan_id), "meta": {"id": plan_id}})
        out += [
            {"kind": "passage", "plan": str(plan_id), "pid": plan_id * 100 + o, "ordinal": o, "rank": None,
             "section": [], "text": t, "tokens": t}
            for o, t in enumerate(texts)
        ]
    return out


_TEXT = st.text(alphabet="ab 好Ａ德", max_size=12)
_PLAN = st.lists(_TEXT, min_size=1, max_size=4)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    first=st.dictionaries(st.integers(1, 12), _PLAN, max_size=6),
    delete=st.sets(st.integers(1, 12), max_size=4),
    add=st.dictionaries(st.integers(1, 14), _PLAN, max_size=4),
)
def test_merging_any_change_equals_building_from_scratch(
    first: dict[int, list[str]], delete: set[int], add: dict[int, list[str]]
) -> None:
    before = generation.from_documents(_documents(sorted(first.items())))
    merged = generation.apply(before, delete=delete, add=_documents(sorted(add.items())))
    final = {k: v for k, v in first.items() if k not in delete} | add
    _assert_same_state(merged, generation.from_documents(_documents(sorted(final.items()))))
    texts = merged.normalized_texts()
    assert _table(merged.chars) == _brute_force(texts, pairs=False)
    assert _table(merged.bigrams) == _brute_force(texts, pairs=True)


@hypothesis_settings(max_examples=40, deadline=None)
@given(plans=st.dictionaries(st.integers(1, 9), st.lists(st.text(alphabet="ab 好Ａ𠀀😀\n&", max_size=10), min_size=1, max_size=3),
                             min_size=1, max_size=4))
def test_a_saved_state_loads_back_equal(tmp_path_factory: pytest.TempPathFactory, plans: dict[int, list[str]]) -> None:
    """Texts go to disk as UTF-16: characters outside the BMP (𠀀, 😀) keep their offsets."""
    state = generation.from_documents(_documents(sorted(plans.items())))
    directory = tmp_path_factory.mktemp("segment")
    sidecars.save(directory, "abc", state, [])
    loaded = sidecars.load(directory, "abc")
    _assert_same_state(loaded, state)
    assert loaded.texts() == state.texts() and loaded.sections == state.sections


def _results(snapshot: Snapshot) -> list[Any]:
    return [search(snapshot, SearchRequest(q=q, per_group=0, size=100)) for q in QUERIES]


def test_an_index_without_sidecars_is_refused_with_the_reindex_message(tmp_path: Path) -> None:
    """Without its sidecars a generation is passed over for the previous one (here the empty
    first one); with no other generation left, the index is refused."""
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([SAMPLES]).failed
    assert _results(Snapshot(settings.index_dir))[0]["total"] > 0
    for folder in settings.index_dir.glob(f"{sidecars.PREFIX}*"):
        shutil.rmtree(folder)
    older = Snapshot(settings.index_dir)
    newest, *rest = reader.generations(settings.index_dir)
    assert older.generation == rest[0] and older.size == 0
    assert "has no sidecar" in older.problems[0]
    for number in rest:
        (settings.index_dir / f"_plans_{number}.toc").unlink()
    with pytest.raises(CorruptIndexError, match="plans reindex"):
        Snapshot(settings.index_dir)


def test_a_segment_of_another_format_is_refused_with_the_reindex_message(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([SAMPLES]).failed
    monkeypatch.setattr(sidecars, "SCHEMA_VERSION", sidecars.SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="plans reindex"):
        Snapshot(settings.index_dir)


def test_counts_and_offsets_past_their_stored_range_are_exact(tmp_path: Path) -> None:
    """Stored counts saturate at 255 and first offsets at 65535; the reader recounts from the text."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long_line = "德" * 70_000 + "好好好" + "甲乙" * 3 + "a" * (SATURATED + 10) + "德" + "乙" * (COUNT_SATURATED + 3)
    (corpus / "plan.txt").write_text(f"某某小学2024年工作计划\n一、总体要求\n{long_line}\n好好学习。\n", encoding="utf-8")
    settings = get_settings(plans_home=tmp_path / "home")
    assert not Pipeline(settings).index([corpus]).failed
    snapshot = Snapshot(settings.index_dir)
    texts = snapshot.normalized
    for needle in ("德", "好好", "a", "乙a", "甲乙", "德好", "乙", "乙乙"):
        hits = snapshot.find(needle)
        expected = [i for i, t in enumerate(texts) if needle in t]
        assert hits.index.tolist() == expected, needle
        assert hits.counts.tolist() == [texts[i].count(needle) for i in expected], needle
        assert hits.first.tolist() == [texts[i].find(needle) for i in expected], needle


@hypothesis_settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
                      | st.text(alphabet="ab 好Ａ德𠀀\n", max_size=30), min_size=1, max_size=8))
def test_built_postings_equal_a_scan_of_every_position(texts: list[str]) -> None:
    """The packed sort and the two-`np.unique` fallback both give the brute-force table."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in texts])]).astype(np.int64)
    for pairs in (False, True):
        expected = _brute_force(texts, pairs=pairs)
        assert _table(generation.build_postings("".join(texts), offsets, pairs=pairs)) == expected
        assert _table(postings._build_by_unique("".join(texts), offsets, pairs=pairs)) == expected
