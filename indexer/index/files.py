"""A segment's sidecar on disk: `seg-<segment id>/` beside Whoosh's files, and its manifest.

The folder holds one `.npy` per array (memory-mapped by the server), the postings as
`chars.*.npy` and `bigrams.*.npy`, the two texts as UTF-16-LE (`text.utf16`,
`normalized.utf16`; the catalog refuses lone surrogates, so no pair forms that was not one),
`state.pickle` (plans' metadata, section paths, vocabulary) and `manifest.json`:

    {"version": SCHEMA_VERSION, "segment": "<id>",
     "files": {"<name>": [size, crc32], ...},        # this folder's files
     "whoosh": {"plans_<id>.seg": [size, crc32]}}    # the Whoosh segment's own files

A folder is written under a temporary name and renamed into place before the Whoosh TOC that
names its segment is written; it is never written again (a mapped file is never truncated in
place: replaced, never rewritten), and removed once no kept TOC names its segment.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import CorruptIndexError
from indexer.index.postings import Postings
from indexer.index.segment import State
from indexer.schema import SCHEMA_VERSION

PREFIX = "seg-"
MANIFEST = "manifest.json"
_ARRAYS = ("plan_ids", "passage_ids", "passage_plan", "ordinals", "heading_lengths", "offsets", "word_ids", "word_offsets")
_POSTINGS = ("keys", "offsets", "passages", "counts", "first")
_TEXTS = ("text", "normalized")
_CHUNK = 1 << 22


def folder(directory: Path, segment_id: str) -> Path:
    return directory / f"{PREFIX}{segment_id}"


def checksum(path: Path) -> tuple[int, int]:
    """(size, crc32) of a file, read in chunks."""
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return size, crc


def whoosh_files(directory: Path, index_name: str, segment_id: str) -> list[Path]:
    """The files Whoosh wrote for one segment (`<index>_<id>.*`)."""
    prefix = f"{index_name}_{segment_id}."
    return sorted(p for p in directory.iterdir() if p.name.startswith(prefix))


def save(directory: Path, segment_id: str, state: State, whoosh: list[Path]) -> Path:
    """Write `seg-<segment_id>/` atomically, with the sizes and checksums of its files and of `whoosh`."""
    target = folder(directory, segment_id)
    temporary = directory / f".{PREFIX}{segment_id}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    for name in _ARRAYS:
        np.save(temporary / f"{name}.npy", getattr(state, name))
    for kind in ("chars", "bigrams"):
        for name in _POSTINGS:
            np.save(temporary / f"{kind}.{name}.npy", getattr(getattr(state, kind), name))
    with open(temporary / "state.pickle", "wb") as out:
        pickle.dump({"plans": state.plans, "sections": state.sections, "vocabulary": state.vocabulary}, out, protocol=5)
    for name in _TEXTS:
        (temporary / f"{name}.utf16").write_bytes(getattr(state, name).encode("utf-16-le", "surrogatepass"))
    manifest = {
        "version": SCHEMA_VERSION,
        "segment": segment_id,
        "files": {p.name: checksum(p) for p in sorted(temporary.iterdir())},
        "whoosh": {p.name: checksum(p) for p in whoosh},
    }
    (temporary / MANIFEST).write_text(json.dumps(manifest))
    # no fsync, like Whoosh's own files: a kill loses nothing written, a power cut could, and
    # the next load then finds a checksum wrong and serves the previous commit
    os.replace(temporary, target)
    return target


def manifest(directory: Path, segment_id: str) -> dict[str, Any]:
    """The manifest of a segment's sidecar; CorruptIndexError when unreadable or of another version."""
    where = folder(directory, segment_id)
    try:
        found = json.loads((where / MANIFEST).read_text())
        version, files, whoosh = found["version"], found["files"], found["whoosh"]
        if not isinstance(files, dict) or not isinstance(whoosh, dict):
            raise TypeError("files")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptIndexError(f"segment {segment_id}: unreadable manifest ({exc.__class__.__name__})") from exc
    if version != SCHEMA_VERSION:
        from indexer.errors import SchemaVersionError

        raise SchemaVersionError(f"segment {segment_id} has format {version}, this program needs "
                                 f"{SCHEMA_VERSION}: run `plans reindex`")
    return found  # type: ignore[no-any-return]


def verify(directory: Path, segment_id: str, *, checksums: bool) -> dict[str, Any]:
    """Every file of the segment (sidecar and Whoosh's) of the size its manifest says, and
    with `checksums` of its crc32 too; CorruptIndexError naming the first that is not."""
    found = manifest(directory, segment_id)
    where = folder(directory, segment_id)
    for base, files in ((where, found["files"]), (directory, found["whoosh"])):
        for name, (size, crc) in files.items():
            path = base / name
            try:
                actual = path.stat().st_size
            except FileNotFoundError:
                raise CorruptIndexError(f"segment {segment_id}: {name} is missing") from None
            if actual != size:
                raise CorruptIndexError(f"segment {segment_id}: {name} has {actual} bytes, its manifest says {size}")
            if checksums and checksum(path)[1] != crc:
                raise CorruptIndexError(f"segment {segment_id}: {name} does not match its checksum")
    return found


def load(directory: Path, segment_id: str, *, checksums: bool = True, mmap: bool = True) -> State:
    """The sidecar of a segment, checked against its manifest (FileNotFoundError: no sidecar)."""
    verify(directory, segment_id, checksums=checksums)
    where = folder(directory, segment_id)
    try:
        with open(where / "state.pickle", "rb") as handle:
            head = pickle.load(handle)
        texts = {name: (where / f"{name}.utf16").read_bytes().decode("utf-16-le", "surrogatepass") for name in _TEXTS}
        mode = "r" if mmap else None
        arrays = {name: np.load(where / f"{name}.npy", mmap_mode=mode) for name in _ARRAYS}
        tables = {
            kind: Postings(**{name: np.load(where / f"{kind}.{name}.npy", mmap_mode=mode) for name in _POSTINGS})
            for kind in ("chars", "bigrams")
        }
    except FileNotFoundError:
        raise CorruptIndexError(f"segment {segment_id}: a file vanished while loading") from None
    except Exception as exc:  # what garbage that passed a checksum (or was not summed) raises
        raise CorruptIndexError(f"segment {segment_id}: unreadable ({exc.__class__.__name__})") from exc
    return State(plans=head["plans"], sections=head["sections"], vocabulary=head["vocabulary"], **texts, **arrays, **tables)


def read_through(state: State) -> int:
    """Read every array of a (memory-mapped) state once, bringing its files into the page
    cache; a checksum, so the reading cannot be skipped."""
    arrays = [getattr(state, name) for name in _ARRAYS]
    arrays += [getattr(getattr(state, kind), name) for kind in ("chars", "bigrams") for name in _POSTINGS]
    return sum(int(np.asarray(array).sum(dtype=np.int64)) for array in arrays if len(array))


def remove_unnamed(directory: Path, keep: set[str]) -> None:
    """Delete the sidecars of segments not in `keep`, and temporary folders left by a killed writer."""
    for path in directory.iterdir():
        name = path.name
        if (name.startswith(PREFIX) and name[len(PREFIX):] not in keep) or (name.startswith(f".{PREFIX}") and name.endswith(".tmp")):
            shutil.rmtree(path, ignore_errors=True)
