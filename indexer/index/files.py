"""A segment's sidecar on disk: `seg-<segment id>/` beside Whoosh's files, and its manifest.

The folder holds one `.npy` per array (memory-mapped by the server), the postings as
`chars.*.npy` and `bigrams.*.npy`, the display text as UTF-16-LE (`text.utf16`; the catalog
refuses lone surrogates, so no pair forms that was not one), its normalised form as the places
where it differs (`folded.at.npy`, `folded.to.npy`: character positions and code points),
`state.pickle` (plans' metadata, section paths, vocabulary) and `manifest.json`:

    {"version": SCHEMA_VERSION, "segment": "<id>",
     "files": {"<name>": [size, crc32], ...},        # this folder's files
     "whoosh": {"plans_<id>.seg": [size, crc32]}}    # the Whoosh segment's own files

Passage numbers and word ids are stored as uint16 when the segment's values fit (`NARROW`),
int32 otherwise; readers index with them and never compute on them.

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
_NARROWED = ("word_ids", "passages")  # the large id arrays
NARROW = np.uint16
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
        np.save(temporary / f"{name}.npy", _stored(name, getattr(state, name)))
    for kind in ("chars", "bigrams"):
        for name in _POSTINGS:
            np.save(temporary / f"{kind}.{name}.npy", _stored(name, getattr(getattr(state, kind), name)))
    with open(temporary / "state.pickle", "wb") as out:
        pickle.dump({"plans": state.plans, "sections": state.sections, "vocabulary": state.vocabulary}, out, protocol=5)
    (temporary / "text.utf16").write_bytes(state.text.encode("utf-16-le", "surrogatepass"))
    at, to = folds(state.text, state.normalized)
    np.save(temporary / "folded.at.npy", at)
    np.save(temporary / "folded.to.npy", to)
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
        raw = (where / "text.utf16").read_bytes()
        text = raw.decode("utf-16-le", "surrogatepass")
        normalized = unfold(text, raw, np.load(where / "folded.at.npy"), np.load(where / "folded.to.npy"))
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
    return State(plans=head["plans"], sections=head["sections"], vocabulary=head["vocabulary"], text=text,
                 normalized=normalized, **arrays, **tables)


def _stored(name: str, array: np.ndarray) -> np.ndarray:
    """`array` as written: the large id arrays in NARROW when their values fit."""
    array = np.asarray(array)
    if name in _NARROWED and (not len(array) or int(array.max()) <= np.iinfo(NARROW).max) and \
            (not len(array) or int(array.min()) >= 0):
        return array.astype(NARROW)
    return array


def folds(text: str, normalized: str) -> tuple[np.ndarray, np.ndarray]:
    """Where the normalised text differs from the text (same length): positions, code points."""
    if text == normalized:
        return np.empty(0, np.uint32), np.empty(0, np.uint16)
    a = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    b = np.frombuffer(normalized.encode("utf-32-le", "surrogatepass"), np.uint32)
    at = np.flatnonzero(a != b)
    to = b[at]
    return at.astype(np.uint32 if len(a) <= np.iinfo(np.uint32).max else np.int64), \
        to.astype(np.uint16) if int(to.max()) <= np.iinfo(np.uint16).max else to


def unfold(text: str, raw: bytes, at: np.ndarray, to: np.ndarray) -> str:
    """The normalised text from the text (`raw`: its UTF-16-LE bytes) and its `folds`."""
    if not len(at):
        return text
    if len(raw) == 2 * len(text) and int(to.max()) < 0xD800:  # one code unit per character, on both sides
        units = np.frombuffer(raw, np.uint16).copy()
        units[at] = to
        return units.tobytes().decode("utf-16-le")
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32).copy()
    codes[at] = to
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


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
