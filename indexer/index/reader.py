"""Open the newest good commit: Whoosh's TOC names the live segments, each with its sidecar.

A commit is good when its TOC unpickles with this schema version and every segment it names
has a sidecar whose files (and the segment's Whoosh files) match their manifest. A corrupt
commit is passed over for the previous one, which the writer keeps on disk until the next
commit (`indexer.index.writer`); the reasons it was passed over travel with the commit
(`Commit.problems`) so the server can report them. Another schema version is never passed
over: it is refused with the `plans reindex` message.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, MutableSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import TOC
from whoosh.reading import SegmentReader

from indexer.errors import CorruptIndexError, IndexMissingError, SchemaVersionError
from indexer.index import files
from indexer.index.segment import State
from indexer.schema import PLAN, SCHEMA_VERSION

INDEX_NAME = "plans"
_TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")


@dataclass
class LiveSegment:
    """One segment of a commit: its id, its sidecar's state and the plans Whoosh deleted from it
    (`deleted_docs`: Whoosh's count of its deleted documents, which every delete there raises)."""

    segment_id: str
    state: State
    deleted: set[int]
    deleted_docs: int = 0


@dataclass
class Commit:
    """The segments of one committed generation, and why newer generations were refused."""

    generation: int
    segments: list[LiveSegment]
    problems: list[str] = field(default_factory=list)

    def plan_ids(self) -> set[int]:
        return {p for s in self.segments for p in s.state.plan_ids.tolist() if p not in s.deleted}


def generations(directory: Path) -> list[int]:
    """The generations whose TOC is on disk, newest first."""
    try:
        names = [m.group(1) for p in directory.iterdir() if (m := _TOC.match(p.name))]
    except FileNotFoundError:
        return []
    return sorted(map(int, names), reverse=True)


def open_commit(directory: Path, verified: MutableSet[str] | None = None) -> Commit:
    """The newest good commit in `directory`. Checksums are computed for segments not in
    `verified` (segments never change: a process checks each once) and the good ones added."""
    problems: list[str] = []
    for _ in range(5):  # a commit racing past removes the TOC being read: list again
        found = generations(directory)
        if not found:
            raise IndexMissingError(f"no index in {directory}: run `plans index` first")
        for number in found:
            try:
                return Commit(number, read_segments(directory, number, verified), problems)
            except CorruptIndexError as exc:
                if (directory / _toc_name(number)).exists():
                    if str(exc) not in problems:
                        problems.append(str(exc))
                    continue
                break  # removed by a commit: the newer one is on disk now
        else:
            raise CorruptIndexError(f"no readable generation in {directory} ({'; '.join(problems)}): run `plans reindex`")
    raise CorruptIndexError(f"the index in {directory} kept changing while it was opened")


def listing(directory: Path) -> tuple[int, list[tuple[str, int]]]:
    """The newest generation's number and, from its TOC alone, each segment's id and count of
    deleted documents (IndexMissingError: no index; CorruptIndexError: an unreadable TOC)."""
    found = generations(directory)
    if not found:
        raise IndexMissingError(f"no index in {directory}: run `plans index` first")
    toc = read_toc(FileStorage(str(directory), readonly=True), found[0])
    return found[0], [(segment.segid, segment.deleted_count()) for segment in toc.segments]


def _load_segment(directory: Path, segid: str, verified: MutableSet[str] | None, number: int) -> State:
    """One segment's sidecar, checksummed unless `verified` holds it (and then added to it)."""
    try:
        state = files.load(directory, segid, checksums=verified is None or segid not in verified)
    except FileNotFoundError:
        raise CorruptIndexError(f"segment {segid} of generation {number} has no sidecar") from None
    if verified is not None:
        verified.add(segid)
    return state


def read_segments(directory: Path, number: int, verified: MutableSet[str] | None = None,
                  only: Collection[str] | None = None) -> list[LiveSegment]:
    """The live segments of generation `number` (those in `only`, if given), each checked
    against its manifest."""
    storage = FileStorage(str(directory), readonly=True)
    toc = read_toc(storage, number)
    return [LiveSegment(segment.segid, _load_segment(directory, segment.segid, verified, number),
                        deleted_plans(storage, toc.schema, segment), segment.deleted_count())
            for segment in toc.segments if only is None or segment.segid in only]


class _BufferedStorage(FileStorage):  # type: ignore[misc]
    """Whoosh's storage reading whole files into memory: a TOC that fails to unpickle leaves no open file behind."""

    def open_file(self, name: str, **kwargs: Any) -> Any:
        return StructFile(io.BytesIO((Path(self.folder) / name).read_bytes()), name=name)


def read_toc(storage: FileStorage, number: int) -> Any:
    """The TOC of generation `number`, of this schema version (CorruptIndexError: unreadable)."""
    try:
        toc = TOC.read(_BufferedStorage(storage.folder, readonly=True), INDEX_NAME, gen=number)
    except FileNotFoundError:
        raise CorruptIndexError(f"generation {number}: its TOC vanished") from None
    except Exception as exc:  # unpickling garbage fails in many ways
        raise CorruptIndexError(f"generation {number}: unreadable TOC ({exc.__class__.__name__})") from exc
    version = getattr(toc.schema, "version", None)
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(f"the index in {storage.folder} has schema version {version}, this program "
                                 f"needs {SCHEMA_VERSION}: run `plans reindex`")
    return toc


def deleted_plans(storage: FileStorage, schema: Any, segment: Any) -> set[int]:
    """Plans whose plan document Whoosh deleted from `segment` (a delete takes a whole plan)."""
    if not segment.deleted_count():
        return set()
    try:
        reader = SegmentReader(storage, schema, segment)
        try:
            found = set()
            for docnum in sorted(segment.deleted_docs()):
                fields = reader.stored_fields(docnum)
                if fields.get("kind") == PLAN:
                    found.add(int(fields["plan"]))
            return found
        finally:
            reader.close()
    except Exception as exc:  # a damaged Whoosh segment
        raise CorruptIndexError(f"segment {segment.segid}: unreadable Whoosh files ({exc.__class__.__name__})") from exc


def live_state(segment: LiveSegment) -> State:
    """The segment's state without its deleted plans."""
    if not segment.deleted:
        return segment.state
    from indexer.index.segment import empty_state, merge

    return merge(segment.state, empty_state(), delete=segment.deleted)


def _toc_name(number: int) -> str:
    return f"_{INDEX_NAME}_{number}.toc"


def plan_ids_of(commit: Commit) -> np.ndarray:
    return np.array(sorted(commit.plan_ids()), np.int64)


def combined(directory: Path) -> State:
    """The newest good commit's live segments as one state (what the server serves, whole)."""
    from indexer.index.segment import combine

    commit = open_commit(directory)
    return combine([s.state for s in commit.segments], [s.deleted for s in commit.segments])
