"""Writing the index: workers stage Whoosh segments with their sidecars, one commit adds them.

A commit deletes whole plans (marking their documents in their segments' deleted sets),
writes the documents given here as one new segment, moves in the segments workers staged,
merges the small or mostly deleted ones the merge policy picks (sidecars included), and
writes Whoosh's TOC last: the one commit point. Nothing else is rewritten. Whoosh's writer
is used with this program's schema and its field lengths read once per flush.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from indexer.errors import CorruptIndexError
from indexer.index import files, reader
from indexer.index import segment as segment_state
from indexer.index.postings import Postings
from indexer.schema import WHOOSH_FIELDS, build_schema
from indexer.store import INDEX_NAME, folder


def _for_whoosh(document: dict[str, Any]) -> dict[str, Any]:
    """The fields of a document Whoosh keeps (its text and tokens go to the sidecar only)."""
    return {name: value for name, value in document.items() if name in WHOOSH_FIELDS}


class _Writer(SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer, with this program's schema and field lengths read once per flush.

    The schema saved in an index unpickles with a plain TEXT words field (`WordsField` pickles
    as one); the writer uses `build_schema()` instead, the same fields with WordsField's
    faster indexing, when the saved one has the same version and fields.

    Writing a segment's postings, Whoosh-Reloaded 2.7.5 asks the new segment's per-document
    reader for the field length of the posting's document once per posting (~60 per passage
    for the words field), each a column lookup through several Python layers: 15-20% of a
    segment's writing time. The lengths do not change while the postings are written.
    """

    def __init__(self, ix: FileIndex, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        current = build_schema()
        if getattr(self.schema, "version", None) == current.version and self.schema == current:
            self.schema = current
        self.pending: segment_state.State | None = None  # the new segment's sidecar, when it gets one
        self._previous = {s.segid for s in self.segments}

    def _commit_toc(self, segments: list[Any]) -> None:
        """The new segment's sidecar, then the TOC (the commit point), then the clean-up: files
        of segments and TOCs neither this generation nor the previous one names. The previous
        one stays readable until the next commit: a reader that finds this one corrupt serves it."""
        directory = Path(self.storage.folder)
        if self._added and self.pending is not None:
            segid = self.newsegment.segid
            files.save(directory, segid, self.pending, files.whoosh_files(directory, self.indexname, segid))
        whoosh_index.TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)
        keep = {s.segid for s in segments} | self._previous
        toc = whoosh_index.TOC._pattern(self.indexname)
        names = whoosh_index.TOC._segment_pattern(self.indexname)
        for name in list(self.storage):
            toc_match, segment_match = toc.match(name), names.match(name)
            old_toc = (toc_match and int(toc_match.group(1)) < self.generation - 1) or ".toc." in name  # or a killed writer's half TOC
            if old_toc or (segment_match and segment_match.group(1)[len(self.indexname) + 1:] not in keep):
                try:
                    self.storage.delete_file(name)
                except OSError:
                    pass
        files.remove_unnamed(directory, keep)

    def per_document_reader(self) -> Any:
        return _LengthsOnce(super().per_document_reader())


_NO_COLUMN = object()


class _LengthsOnce:
    """A per-document reader whose `doc_field_length` reads a field's lengths once, for every document."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: Any = 0) -> Any:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            read = self._reader.doc_field_length
            lengths = self._lengths[fieldname] = [read(d, fieldname, _NO_COLUMN) for d in range(self._reader.doc_count_all())]
        found = lengths[docnum]
        return default if found is _NO_COLUMN else found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


STAGING = ".staging"  # under the index folder: segments written by workers, not yet committed
TINY_SEGMENT = 1_000  # documents; a segment this small is merged once there are MAX_TINY of them
MAX_TINY = 8
_VERIFIED: set[str] = set()  # segments this process checked whole (segments never change)


@dataclass(frozen=True)
class Staged:
    """A Whoosh segment a worker process wrote (`stage`) with its sidecar, waiting for the commit that adds it."""

    folder: str
    segment: Any


def stage(directory: Path, documents: Iterable[dict[str, Any]],
          postings: Sequence[Postings] | None = None) -> Staged | None:
    """Write `documents` as one Whoosh segment of a private index in `directory/.staging/`,
    with its sidecar (`postings`: the (chars, bigrams) tables of its passages, when known).

    What a worker process does with its part of a batch, concurrently with the others and with
    the committing process: nothing in the index folder changes until `write` moves the
    segment's files in and commits it. None when there are no documents.
    """
    where = directory / STAGING / f"{os.getpid()}-{secrets.token_hex(6)}"
    where.mkdir(parents=True)
    ix = FileStorage(str(where)).create_index(build_schema(), indexname=INDEX_NAME)
    writer = _Writer(ix, limitmb=128)
    documents = list(documents)
    for document in documents:
        writer.add_document(**_for_whoosh(document))
    writer.commit(merge=False)
    if not documents:
        shutil.rmtree(where, ignore_errors=True)
        return None
    (segment,) = ix._segments()
    state = segment_state.from_documents(documents, (), postings)
    files.save(where, segment.segid, state, files.whoosh_files(where, INDEX_NAME, segment.segid))
    return Staged(str(where), segment)


def discard_staged(directory: Path) -> None:
    """Remove segments staged by a run that never committed them (call it holding the indexer lock)."""
    shutil.rmtree(directory / STAGING, ignore_errors=True)


def write(
    ix: FileIndex,
    *,
    delete: Iterable[int] = (),
    add: Iterable[dict[str, Any]] = (),
    staged: Sequence[Staged] = (),
    staged_documents: Iterable[dict[str, Any]] = (),
    postings: Sequence[Postings] | None = None,
) -> None:
    """Delete whole plans and add documents in one commit: readers see all of it or none.

    `add` is written here, into the commit's new segment; `staged` are segments workers
    already wrote (`stage`), each with its sidecar (`staged_documents` and `postings` are what
    they hold: not needed any more, accepted for callers that still pass them). Deletes mark
    the documents in their segments' deleted sets; the segments the merge policy picks are
    merged with their sidecars into the new segment. Nothing else is rewritten.
    """
    del staged_documents, postings
    delete, add = list(delete), list(add)
    directory = folder(ix)
    writer = _Writer(ix, limitmb=256)
    try:
        for segment in writer.segments:  # an indexer never builds on a corrupt state
            files.verify(directory, segment.segid, checksums=segment.segid not in _VERIFIED)
            _VERIFIED.add(segment.segid)
        for plan_id in delete:
            writer.delete_by_term("plan", str(plan_id))
        merged = _merge_policy(writer.segments)
        inputs = []
        for segment in merged:  # what is merged is read whole: checked whole
            live = reader.LiveSegment(segment.segid, files.load(directory, segment.segid),
                                      reader.deleted_plans(writer.storage, writer.schema, segment))
            inputs.append(reader.live_state(live))
        added = segment_state.from_documents(add)
        writer.pending = segment_state.combine([*inputs, added])
        for document in add:
            writer.add_document(**_for_whoosh(document))
        segments = [_move_in(item, directory) for item in staged]
    except CorruptIndexError as exc:
        writer.cancel()
        _drop(staged)
        raise CorruptIndexError(f"{exc}: run `plans reindex`") from exc
    except BaseException:
        writer.cancel()
        _drop(staged)
        raise
    # a segment moved in but never committed is deleted at the next commit
    writer.commit(mergetype=partial(_upkeep, merged=merged, added=segments))
    _drop(staged)


def _move_in(item: Staged, directory: Path) -> Any:
    """The staged segment's files and sidecar into the index folder (same file system: renames)."""
    prefix = f"{INDEX_NAME}_{item.segment.segid}"
    for path in Path(item.folder).iterdir():
        if path.name.startswith(prefix):
            os.replace(path, directory / path.name)
    os.replace(files.folder(Path(item.folder), item.segment.segid), files.folder(directory, item.segment.segid))
    return item.segment


def _drop(staged: Sequence[Staged]) -> None:
    for item in staged:
        shutil.rmtree(item.folder, ignore_errors=True)


def _merge_policy(segments: list[Any]) -> list[Any]:
    """The segments this commit merges into its new one: the index is upkeep nobody waits
    for, so no merge bigger than a few small segments. Once MAX_TINY segments hold under
    TINY_SEGMENT documents each (one-plan uploads leave one each), they are merged, and so is
    a segment whose documents are mostly deleted (replaced plans). Whoosh's MERGE_SMALL
    could instead merge tens of thousands of documents into one upload's commit."""
    tiny = [s for s in segments if s.doc_count_all() < TINY_SEGMENT]
    stale = [s for s in segments if s.doc_count_all() >= TINY_SEGMENT and 2 * s.deleted_count() > s.doc_count_all()]
    return (tiny if len(tiny) >= MAX_TINY else []) + stale


def _upkeep(writer: SegmentWriter, segments: list[Any], merged: Sequence[Any] = (), added: Sequence[Any] = ()) -> list[Any]:
    """Whoosh's merge callback: `merged` into the new segment, then the staged segments added as they are."""
    for segment in merged:
        segment_reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(segment_reader)
        segment_reader.close()
    return [s for s in segments if s not in merged] + list(added)
