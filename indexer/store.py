"""The thin layer over Whoosh: open or create the index, check its version, build the
documents a commit writes (`indexer.index.writer` writes them), read postings fast.

Everything else talks to this module and `indexer.index.writer`, not to Whoosh. Known Whoosh-Reloaded 2.7.5 bugs this
avoids: `Searcher.refresh()` (returns deleted or duplicated documents after a merge; we
always open a new reader instead) and `strict_phrase` (we never use Whoosh phrase queries).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from whoosh.reading import TermNotFound
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex

from indexer.errors import CorruptIndexError, IndexMissingError, SchemaVersionError
from indexer.index import files, reader
from indexer.schema import PASSAGE, PLAN, SCHEMA_VERSION, build_schema

INDEX_NAME = "plans"


def open_index(directory: Path) -> FileIndex:
    """Open an existing index for reading, refusing one of another schema version."""
    numbers = reader.generations(directory)
    if not numbers:
        raise IndexMissingError(f"no index in {directory}: run `plans index` first")
    try:
        reader.read_toc(FileStorage(str(directory), readonly=True), numbers[0])
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"{exc}: run `plans reindex`") from exc
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
        open_index(directory)  # refuses another schema version or a corrupt TOC
    except IndexMissingError:
        return create_index(directory)
    return FileStorage(str(directory)).open_index(INDEX_NAME)  # writable


def folder(ix: FileIndex) -> Path:
    """The folder the index lives in."""
    return Path(ix.storage.folder)


def indexed_plan_ids(ix: FileIndex) -> set[int]:
    """Ids of the plans the latest generation holds, from its segments' sidecars."""
    directory = folder(ix)
    storage = FileStorage(str(directory), readonly=True)
    found: set[int] = set()
    for segment in ix._segments():
        plan_ids = np.load(files.folder(directory, segment.segid) / "plan_ids.npy").tolist()
        found.update(set(plan_ids) - reader.deleted_plans(storage, ix.schema, segment))
    return found


def passage_document(plan_id: int, passage: Any, words: Any, tokens: str | None = None) -> dict[str, Any]:
    """The Whoosh document of one catalog passage; `words` is a Segmented text. Without
    `words`, its space-separated `tokens` (the document as the serving state reads it, for
    one a worker wrote to Whoosh already)."""
    document = {
        "kind": PASSAGE,
        "plan": str(plan_id),
        "pid": passage.id,
        "ordinal": passage.ordinal,
        "start": passage.start,
        "end": passage.end,
        "rank": passage.heading_rank,
        "section": list(passage.section),
        "text": passage.text,
        "tokens": tokens if words is None else " ".join(word for word, _, _ in words.words),
    }
    if words is not None:
        document["words"] = words
    return document


def plan_document(plan_id: int, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"kind": PLAN, "plan": str(plan_id), "meta": metadata}


def posting_docnums(reader: Any, fieldname: str, text: str) -> np.ndarray:
    """Every docnum (deleted ones included) whose `fieldname` holds `text`, as int64.

    Whoosh yields postings one id at a time through its matchers; for long posting lists
    that Python loop dominated search time. This reads each block's delta-encoded ids and
    decodes them with numpy (the block layout of Whoosh-Reloaded 2.7.5's W3LeafMatcher);
    any other matcher falls back to `all_ids()`.
    """
    field = reader.schema[fieldname]
    term = field.to_bytes(text)
    parts: list[np.ndarray] = []
    for leaf, base in reader.leaf_readers():
        try:
            matcher = leaf._terms.matcher(fieldname, term, field.format)
        except (KeyError, TermNotFound):
            continue
        parts.append(_matcher_ids(matcher) + base)
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _matcher_ids(matcher: Any) -> np.ndarray:
    if not (hasattr(matcher, "_goto") and hasattr(matcher, "_read_data") and not getattr(matcher, "_byteids", True)):
        return np.fromiter(matcher.all_ids(), np.int64)
    blocks: list[np.ndarray] = []
    while True:
        if matcher._data is None:
            matcher._read_data()
        blocks.append(np.cumsum(np.asarray(matcher._data[0], dtype=np.int64)))
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return np.concatenate(blocks)
