"""Incremental indexing through the real pipeline: hashes, replacement, pruning, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner
from whoosh.filedb.filestore import FileStorage

from app.snapshot import Snapshot
from indexer import store
from indexer.index import writer
from app.cli import cli
from indexer.errors import SchemaVersionError
from indexer.pipeline import Pipeline
from indexer.schema import build_schema
from indexer.settings import Settings, get_settings
from tests.conftest import catalog_passages


def _settings(home: Path) -> Settings:
    return get_settings(plans_home=home)


def _state(settings: Settings) -> tuple[int, list[tuple[int, str]]]:
    ix = store.open_index(settings.index_dir)
    rows = [(plan.id, plan.updated_at.isoformat()) for plan, _ in catalog_passages(settings)]
    return ix.latest_generation(), sorted(set(rows))


def test_indexing_unchanged_files_twice_changes_nothing(tmp_path: Path, corpus_copy: Path) -> None:
    settings = _settings(tmp_path / "home")
    first = Pipeline(settings).index([corpus_copy])
    assert first.count("added") == 5
    before = _state(settings)
    second = Pipeline(settings).index([corpus_copy])
    assert second.count("unchanged") == 5 and second.count("added") == 0
    assert _state(settings) == before


def test_a_changed_file_replaces_its_plan_without_leftovers(tmp_path: Path, corpus_copy: Path) -> None:
    """Also guards the Whoosh-Reloaded refresh() bug: a new reader never shows deleted passages."""
    settings = _settings(tmp_path / "home")
    Pipeline(settings).index([corpus_copy])
    target = next(corpus_copy.glob("004_*.txt"))
    target.write_text(target.read_text(encoding="utf-8") + "\n六、新增章节\n独一无二的补充内容。\n", encoding="utf-8")
    report = Pipeline(settings).index([corpus_copy])
    assert report.count("replaced") == 1 and report.count("unchanged") == 4
    snapshot = Snapshot(settings.index_dir)
    truth = catalog_passages(settings)
    assert sorted(snapshot.passage_ids.tolist()) == sorted(p.id for _, p in truth)
    assert len(set(snapshot.passage_ids.tolist())) == snapshot.size
    assert len(snapshot.find("独一无二的补充内容").index) == 1
    assert len(snapshot.plans) == 5


def test_prune_removes_plans_whose_files_are_gone(tmp_path: Path, corpus_copy: Path) -> None:
    settings = _settings(tmp_path / "home")
    Pipeline(settings).index([corpus_copy])
    gone = next(corpus_copy.glob("003_*.txt"))
    gone.unlink()
    assert Pipeline(settings).index([corpus_copy]).count("removed") == 0  # not without --prune
    report = Pipeline(settings).index([corpus_copy], prune=True)
    assert report.count("removed") == 1
    snapshot = Snapshot(settings.index_dir)
    assert len(snapshot.plans) == 4
    assert "小教科" not in {p["school"] for p in snapshot.plans}
    assert len({plan.id for plan, _ in catalog_passages(settings)}) == 4


def test_bad_files_fail_alone(tmp_path: Path, corpus_copy: Path) -> None:
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "junk.txt").write_bytes(bytes(range(256)) * 8)
    settings = _settings(tmp_path / "home")
    report = Pipeline(settings).index([corpus_copy])
    assert report.count("added") == 5
    assert sorted(Path(o.source).name for o in report.failed) == ["empty.txt", "junk.txt"]
    assert all(o.reason for o in report.failed)


def test_an_index_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    directory.mkdir()
    schema = build_schema()
    schema.version = 0
    FileStorage(str(directory)).create_index(schema, indexname=store.INDEX_NAME)
    with pytest.raises(SchemaVersionError, match="run `plans reindex`"):
        store.open_index(directory)


def test_reindex_rebuilds_the_same_index_from_the_catalog(tmp_path: Path, corpus_copy: Path) -> None:
    settings = _settings(tmp_path / "home")
    Pipeline(settings).index([corpus_copy])
    before = Snapshot(settings.index_dir)
    Pipeline(settings).reindex()
    after = Snapshot(settings.index_dir)
    assert after.texts == before.texts and after.sections == before.sections
    assert after.key != before.key


def test_cli_index_and_search(tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANS_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(corpus_copy)])
    assert result.exit_code == 0, result.output
    assert "5 added" in result.output
    result = runner.invoke(cli, ["index", str(corpus_copy)])
    assert "5 unchanged" in result.output
    result = runner.invoke(cli, ["search", "劳动教育", "--json"])
    assert result.exit_code == 0 and '"total": 8' in result.output
    result = runner.invoke(cli, ["search", '"unclosed'])
    assert result.exit_code == 2 and "引号没有闭合" in result.output
    (corpus_copy / "broken.docx").write_text("not a word file")
    result = runner.invoke(cli, ["index", str(corpus_copy)])
    assert result.exit_code == 1 and "broken.docx" in result.output


def test_overlapped_parallel_indexing_gives_what_serial_indexing_gives(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes segment batch k+1 while batch k is written: same catalog, same served state."""
    from indexer import pipeline
    from indexer.index import reader

    serial = get_settings(plans_home=tmp_path / "serial", plans_workers=1, plans_batch_plans=2)
    assert not Pipeline(serial).index([corpus_copy]).failed
    monkeypatch.setattr(pipeline, "PARALLEL_CHARS", 0)  # the samples are too small to start workers otherwise
    parallel = get_settings(plans_home=tmp_path / "parallel", plans_workers=2, plans_batch_plans=2)
    report = Pipeline(parallel).index([corpus_copy])
    assert report.count("added") == 5 and not report.failed
    assert {plan.index_state for plan, _ in catalog_passages(parallel)} == {"indexed"}

    def served(settings: Settings) -> tuple[Any, ...]:
        state = reader.combined(settings.index_dir)
        tables = [(np.asarray(t.keys).tolist(), np.asarray(t.offsets).tolist(), np.asarray(t.passages).tolist(),
                   np.asarray(t.counts).tolist(), np.asarray(t.first).tolist()) for t in (state.chars, state.bigrams)]
        return (state.texts(), state.normalized, state.sections, [state.words(i) for i in range(state.size)],
                [{k: v for k, v in m.items() if k != "source"} for m in state.plans], np.asarray(state.passage_ids).tolist(), tables)

    def whoosh(settings: Settings) -> tuple[Any, ...]:
        """Every live stored document, and each word's documents and frequencies in the words field."""
        with store.open_index(settings.index_dir).reader() as reader:
            stored = sorted((d["kind"], d["plan"], d.get("ordinal", -1), repr(sorted(d.items()))) for _, d in reader.iter_docs())
            key = {n: (d["plan"], d.get("ordinal", -1)) for n, d in reader.iter_docs()}
            words = {term: sorted((key[n], w) for n, w in reader.postings("words", term).items_as("frequency") if n in key)
                     for term in reader.lexicon("words")}
            lengths = sorted((key[n], reader.doc_field_length(n, "words")) for n in key)
            bounds = {t: (reader.term_info("words", t).min_length(), reader.term_info("words", t).max_length())
                      for t, found in words.items() if found}
        return stored, {t: v for t, v in words.items() if v}, lengths, bounds

    assert served(parallel) == served(serial)
    assert whoosh(parallel) == whoosh(serial)
    # three commits of at most two plans: one segment each when serial, up to one per worker in
    # parallel (shares are cut at plan boundaries: a one-plan batch is one segment)
    assert 3 == len(store.open_index(serial.index_dir)._segments()) < len(store.open_index(parallel.index_dir)._segments()) <= 6
    assert not (parallel.index_dir / writer.STAGING).exists() or not any((parallel.index_dir / writer.STAGING).iterdir())
    assert Pipeline(parallel).reindex().count("replaced") == 5
    assert served(parallel) == served(serial)
    assert whoosh(parallel) == whoosh(serial)


def test_a_database_that_cannot_return_ids_in_order_gets_its_passages_read_back(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where an executemany INSERT cannot say the new passage ids in order, the passages to
    index are read back from the catalog: the same index either way."""
    from indexer import pipeline
    from indexer.index import reader

    def served(settings: Settings) -> tuple[Any, ...]:
        state = reader.combined(settings.index_dir)
        return state.texts(), np.asarray(state.passage_ids).tolist(), [state.words(i) for i in range(state.size)]

    reads: list[int] = []
    read_back = Pipeline._submit

    def counted(self: Pipeline, engine: Any, plan_ids: list[int], *args: Any, **kwargs: Any) -> Any:
        reads.extend(plan_ids)
        return read_back(self, engine, plan_ids, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_submit", counted)
    returning = get_settings(plans_home=tmp_path / "returning", plans_batch_plans=2)
    assert not Pipeline(returning).index([corpus_copy]).failed
    assert reads == []  # SQLite returns the ids: nothing read back
    monkeypatch.setattr(pipeline, "_returns_in_order", lambda engine: False)
    plain = get_settings(plans_home=tmp_path / "plain", plans_batch_plans=2)
    assert Pipeline(plain).index([corpus_copy]).count("added") == 5
    assert sorted(reads) == sorted({plan.id for plan, _ in catalog_passages(plain)})
    assert served(plain) == served(returning)
