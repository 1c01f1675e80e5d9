"""The thin layer over Whoosh: staged segments, our writer, our merge policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from whoosh import fields
from whoosh.filedb.filestore import FileStorage

from indexer import store
from indexer.index import writer as index_writer
from indexer.analysis import Segmented, WordTokenizer, segment
from indexer.pipeline import Pipeline
from indexer.schema import WordsField, build_schema
from indexer.settings import Settings
from tests.conftest import SAMPLES, catalog_passages, writable_home


def _documents(settings: Settings) -> list[dict[str, Any]]:
    """The Whoosh documents of every catalog plan and passage, as the pipeline builds them."""
    rows = catalog_passages(settings)
    plans = {plan.id: plan for plan, _ in rows}
    documents = [store.plan_document(i, plan.metadata_dict()) for i, plan in plans.items()]
    documents += [store.passage_document(plan.id, passage, Segmented(passage.text, segment(passage.text)))
                  for plan, passage in rows]
    return documents


def _contents(directory: Path) -> tuple[Any, ...]:
    """Stored documents, and per term of the words field: its postings, frequency, bounds of lengths."""
    ix = FileStorage(str(directory)).open_index(store.INDEX_NAME)
    with ix.reader() as reader:
        stored = [fields for _, fields in reader.iter_docs()]
        terms = {}
        for term in reader.lexicon("words"):
            info = reader.term_info("words", term)
            terms[term] = (list(reader.postings("words", term).items_as("frequency")), info.weight(), info.doc_frequency(),
                           info.min_length(), info.max_length())
        lengths = [reader.doc_field_length(n, "words") for n in range(reader.doc_count_all())]
    return repr(stored), terms, lengths


def test_our_writer_and_words_field_write_what_whooshs_own_write(sample_home: Settings, tmp_path: Path) -> None:
    """`_Writer` reads field lengths once per flush instead of once per posting, and `WordsField`
    counts words without Whoosh's token stream: the same index as Whoosh's writer and TEXT."""
    documents = _documents(sample_home)
    staged = index_writer.stage(tmp_path, documents)
    assert staged is not None and staged.segment.doc_count_all() == len(documents)
    assert isinstance(build_schema()["words"], WordsField)
    plain = tmp_path / "plain"
    plain.mkdir()
    schema = build_schema()
    schema.remove("words")
    schema.add("words", fields.TEXT(analyzer=WordTokenizer(), phrase=False))
    writer = FileStorage(str(plain)).create_index(schema, indexname=store.INDEX_NAME).writer()
    for document in documents:  # what Whoosh keeps of each: its text and tokens are the sidecar's
        writer.add_document(**{name: value for name, value in document.items() if name not in ("text", "tokens")})
    writer.commit()
    assert _contents(Path(staged.folder)) == _contents(plain)
    # the index saves a plain TEXT field; our writer indexes with WordsField all the same
    ix = FileStorage(staged.folder).open_index(store.INDEX_NAME)
    assert type(ix.schema["words"]) is fields.TEXT
    writer = index_writer._Writer(ix)
    assert type(writer.schema["words"]) is WordsField
    writer.cancel()


def test_segments_staged_by_a_run_that_died_are_discarded_by_the_next(sample_home: Settings, tmp_path: Path) -> None:
    settings = writable_home(sample_home, tmp_path)
    before = _contents(settings.index_dir)
    left = index_writer.stage(settings.index_dir, _documents(settings)[:3])  # a worker's segment, never committed
    assert left is not None and Path(left.folder).exists()
    report = Pipeline(settings).index([SAMPLES])
    assert report.count("unchanged") == 5
    assert not Path(left.folder).exists()
    assert _contents(settings.index_dir) == before


def test_one_plan_uploads_leave_tiny_segments_that_are_merged_once_there_are_enough(
    sample_home: Settings, tmp_path: Path, corpus_copy: Path
) -> None:
    """Our merge policy: at most MAX_TINY small segments (one per one-plan commit), never the big ones."""
    settings = writable_home(sample_home, tmp_path)
    ix = store.open_index(settings.index_dir)
    big = [s for s in ix._segments() if s.doc_count_all() >= index_writer.TINY_SEGMENT]
    template = next(corpus_copy.glob("*.txt")).read_text(encoding="utf-8")
    counts = []
    for k in range(index_writer.MAX_TINY + 2):
        single = tmp_path / f"new{k}"
        single.mkdir()
        (single / f"plan{k}.txt").write_text(template.replace("计划", f"计划{k}", 1) + f"\n补充{k}。\n", encoding="utf-8")
        assert Pipeline(settings).index([single]).count("added") == 1
        counts.append(len(store.open_index(settings.index_dir)._segments()))
    segments = store.open_index(settings.index_dir)._segments()
    assert max(counts) <= len(big) + index_writer.MAX_TINY and counts[-1] < max(counts)
    assert {s.segid for s in big} <= {s.segid for s in segments}  # the big segments stayed as they were
    plans = {plan.id for plan, _ in catalog_passages(settings)}
    assert store.indexed_plan_ids(store.open_index(settings.index_dir)) == plans
