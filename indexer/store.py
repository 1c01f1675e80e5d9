"""The thin layer over Whoosh: open or create the index, check its version, write plans.

Everything else talks to this module, not to Whoosh. Known Whoosh-Reloaded 2.7.5 bugs this
avoids: `Searcher.refresh()` (returns deleted or duplicated documents after a merge; we
always open a new reader instead) and `strict_phrase` (we never use Whoosh phrase queries).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.writing import SegmentWriter

from indexer.errors import IndexMissingError, SchemaVersionError
from indexer.schema import PASSAGE, PLAN, SCHEMA_VERSION, build_schema

INDEX_NAME = "plans"


def open_index(directory: Path) -> FileIndex:
    """Open an existing index for reading, refusing one of another schema version."""
    if not directory.exists() or not whoosh_index.exists_in(str(directory), indexname=INDEX_NAME):
        raise IndexMissingError(f"no index in {directory}: run `plans index` first")
    try:
        ix = FileStorage(str(directory), readonly=True).open_index(INDEX_NAME)
    except Exception as exc:  # unpickling an index from other code fails in many ways
        raise SchemaVersionError(
            f"the index in {directory} cannot be opened by this version ({exc.__class__.__name__}); "
            "run `plans reindex`"
        ) from exc
    found = getattr(ix.schema, "version", None)
    if found != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the index in {directory} has schema version {found}, this program needs "
            f"{SCHEMA_VERSION}: run `plans reindex`"
        )
    return ix


def create_index(directory: Path) -> FileIndex:
    """A new empty index (replacing whatever index files are there)."""
    directory.mkdir(parents=True, exist_ok=True)
    return FileStorage(str(directory)).create_index(build_schema(), indexname=INDEX_NAME)


def open_or_create_index(directory: Path) -> FileIndex:
    try:
        ix = open_index(directory)
    except IndexMissingError:
        return create_index(directory)
    return FileStorage(str(directory)).open_index(INDEX_NAME)


def indexed_plan_ids(ix: FileIndex) -> set[int]:
    """Ids of the plans the latest generation holds."""
    with ix.reader() as reader:
        # the lexicon keeps a deleted plan's term until a merge: ask for live postings
        return {int(term.decode()) for term in reader.lexicon("plan") if reader.postings("plan", term).is_active()}


def passage_document(plan_id: int, passage: Any, words: Any) -> dict[str, Any]:
    """The Whoosh document of one catalog passage; `words` is a Segmented text."""
    return {
        "kind": PASSAGE,
        "plan": str(plan_id),
        "pid": passage.id,
        "ordinal": passage.ordinal,
        "start": passage.start,
        "end": passage.end,
        "rank": passage.heading_rank,
        "section": list(passage.section),
        "text": passage.text,
        "tokens": " ".join(word for word, _, _ in words.words),
        "words": words,
        "grams": passage.text,
    }


def plan_document(plan_id: int, metadata: dict[str, Any], text: str) -> dict[str, Any]:
    return {"kind": PLAN, "plan": str(plan_id), "meta": metadata, "text": text}


def write(
    ix: FileIndex,
    *,
    delete: Iterable[int] = (),
    add: Iterable[dict[str, Any]] = (),
) -> None:
    """Delete whole plans and add documents in one commit: readers see all of it or none."""
    writer: SegmentWriter = ix.writer(limitmb=256)
    try:
        for plan_id in delete:
            writer.delete_by_term("plan", str(plan_id))
        for document in add:
            writer.add_document(**document)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
