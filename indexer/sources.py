"""Which files a run reads (with their manifest entries) and what the catalog knows of them already."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from indexer.catalog import Plan, session_scope
from indexer.outcomes import IndexReport, Outcome
from indexer.reading import SUPPORTED_SUFFIXES

MANIFEST = "manifest.yaml"


class Known(NamedTuple):
    """A catalog plan as a run sees it before reading a file: unchanged files are skipped."""

    id: int
    sha256: str
    index_state: str
    metadata_version: str | None = None


def known_sources(engine: Engine) -> dict[str, Known]:
    """Every catalog plan by source, read once per run instead of once per file."""
    with session_scope(engine) as session:
        rows = session.execute(select(Plan.source, Plan.id, Plan.sha256, Plan.index_state, Plan.metadata_version)).all()
    return {source: Known(i, sha, state, version) for source, i, sha, state, version in rows}


def collect(roots: Iterable[Path], report: IndexReport) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Plan files under the roots, each once, with its manifest entry (folder/manifest.yaml)."""
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            report.outcomes.append(Outcome(str(root), "failed", reason="no such file or folder"))
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        manifests: dict[Path, dict[str, Any]] = {}
        for path in files:
            if path.name == MANIFEST or path.name.startswith("."):
                continue
            if root.is_dir() and path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if (resolved := path.resolve()) in seen:
                continue
            seen.add(resolved)
            if path.parent not in manifests:
                manifests[path.parent] = manifest(path.parent, report)
            yield path, manifests[path.parent].get(path.name, {})


def manifest(folder: Path, report: IndexReport) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError("expected a mapping of file name -> fields")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        report.outcomes.append(Outcome(str(path), "failed", reason=f"manifest ignored: {exc}"))
        return {}
    return data


def under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

