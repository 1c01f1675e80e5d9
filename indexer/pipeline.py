"""read -> clean -> metadata -> sections -> catalog -> index, incremental and crash-safe.

Order of writes, so a kill at any moment leaves a state the next run repairs:
1. the catalog row and passages, marked pending (one SQL transaction);
2. the Whoosh documents of those plans (one Whoosh commit: all or nothing);
3. the catalog row marked indexed.
Every run first finishes a `reindex` swap a kill interrupted, re-indexes pending plans and
catalog plans the index lacks, and drops index plans the catalog no longer has.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from tqdm import tqdm

from indexer import generation, pg_index, store
from indexer.analysis import Segmented, segment, segment_normalized
from indexer.catalog import INDEXED, PENDING, Passage, Plan, create_catalog_engine, init_catalog, session_scope
from indexer.cleaning import clean, normalize
from indexer.errors import PlansError, ReadError
from indexer.locking import indexer_lock
from indexer.metadata import extract_metadata
from indexer.reading import SUPPORTED_SUFFIXES, RawDocument, read_document
from indexer.sections import split_passages
from indexer.settings import Settings

MANIFEST = "manifest.yaml"
PARALLEL_CHARS = 400_000  # below this, segmenting in-process beats starting workers


@dataclass
class Outcome:
    """What happened to one file: added, replaced, unchanged, removed or failed (with why)."""

    source: str
    status: str
    reason: str | None = None
    plan_id: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IndexReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "replaced", "unchanged", "removed", "failed")]
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """{"summary", "outcomes": [{"source", "status", "reason", "plan_id", "warnings"}]}: the JSON report."""
        return {"summary": self.summary(), "outcomes": [asdict(outcome) for outcome in self.outcomes]}


@dataclass
class _Prepared:
    raw: RawDocument
    source: str
    metadata: dict[str, Any]
    warnings: list[str]
    text: str
    passages: list[Any]


class Pipeline:
    """The only writer of the catalog and the index."""

    def __init__(self, settings: Settings, *, progress: bool = False, lock_wait: float = 0.0) -> None:
        self.settings = settings
        self.progress = progress
        self.lock_wait = lock_wait

    def index(self, paths: Sequence[Path] = (), *, prune: bool = False) -> IndexReport:
        """Add new files, replace changed ones, skip unchanged ones; `prune` drops vanished files."""
        roots = [Path(p) for p in paths] or [self.settings.plans_corpus]
        report = IndexReport()
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            ix = self._open_index()
            store.discard_staged(self.settings.index_dir)  # a killed run's uncommitted segments
            self._recover(engine, ix)
            files = list(_collect(roots, report))
            if prune:
                self._prune(engine, ix, roots, {str(f.resolve()) for f, _ in files}, report)
            known = _known_sources(engine)
            bar = tqdm(total=len(files), unit="file", disable=not self.progress, desc="indexing")
            with _Workers(self.settings.plans_workers, store.folder(ix)) as segmenter:

                def jobs() -> Iterator[_Job | None]:
                    for batch in _batches(files, self.settings.plans_batch_plans):
                        prepared = []
                        for path, overrides in batch:
                            item = self._prepare(known, path, overrides, report)
                            if item is not None:
                                prepared.append(item)
                            bar.update(1)
                        yield self._submit_cataloged(engine, self._catalog(engine, known, prepared, report), segmenter)

                self._write_overlapped(engine, ix, jobs())
            store.discard_staged(store.folder(ix))  # the empty staging folder
            bar.close()
            engine.dispose()
        return report

    def remove(self, plan_id: int) -> str | None:
        """Delete one plan from the catalog, then the index, then its uploaded copy; its source, or None."""
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            try:
                with session_scope(engine) as session:
                    plan = session.get(Plan, plan_id)
                    if plan is None:
                        return None
                    source = plan.source
                    session.delete(plan)
                store.write(self._open_index(), delete=[plan_id])
            finally:
                engine.dispose()
            _remove_upload(Path(source), self.settings.uploads_dir)
        return source

    def reindex(self) -> IndexReport:
        """Rebuild the index from the catalog into a new folder, then swap it in."""
        report = IndexReport()
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            target = self.settings.index_dir
            fresh = target.with_name(target.name + ".new")
            shutil.rmtree(fresh, ignore_errors=True)
            ix = store.create_index(fresh)
            with session_scope(engine) as session:
                ids = list(session.scalars(select(Plan.id).order_by(Plan.id)))
            bar = tqdm(total=len(ids), unit="plan", disable=not self.progress, desc="reindexing")
            with _Workers(self.settings.plans_workers, store.folder(ix)) as segmenter:

                def jobs() -> Iterator[_Job | None]:
                    for batch in _batches(ids, self.settings.plans_batch_plans):
                        yield self._submit(engine, list(batch), segmenter, replace=False)
                        report.outcomes.extend(Outcome(str(i), "replaced", plan_id=i) for i in batch)
                        bar.update(len(batch))

                self._write_overlapped(engine, ix, jobs())
            store.discard_staged(store.folder(ix))  # the empty staging folder
            bar.close()
            old = target.with_name(target.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                os.replace(target, old)
            os.replace(fresh, target)
            shutil.rmtree(old, ignore_errors=True)
            engine.dispose()
        return report

    # -- steps -------------------------------------------------------------------------

    def _engine(self) -> Engine:
        self.settings.plans_home.mkdir(parents=True, exist_ok=True)
        engine = create_catalog_engine(self.settings.catalog_url)
        if self._postgres:
            pg_index.migrate(engine)  # the catalog and the search tables, at this program's revision
        else:
            init_catalog(engine)
        return engine

    @property
    def _postgres(self) -> bool:
        return self.settings.plans_search_backend == "postgres"

    def _open_index(self) -> Any:
        """The index, after finishing a `reindex` a kill left between its two renames."""
        target = self.settings.index_dir
        fresh, old = target.with_name(target.name + ".new"), target.with_name(target.name + ".old")
        if not target.exists() and old.exists() and fresh.exists():
            os.replace(fresh, target)  # index.new was complete: reindex only renames after building it
        return store.open_or_create_index(target)

    def _recover(self, engine: Engine, ix: Any) -> None:
        """Finish what a killed run left: pending (or lost) plans into the index, orphans out of it."""
        with session_scope(engine) as session:
            known = set(session.scalars(select(Plan.id)))
            pending = set(session.scalars(select(Plan.id).where(Plan.index_state == PENDING)))
            if self._postgres:
                pending |= pg_index.unsearchable_plan_ids(session)
        indexed = store.indexed_plan_ids(ix)
        if orphans := indexed - known:
            store.write(ix, delete=sorted(orphans))
        # the catalog is the source of truth: plans it has and the index lacks (an index folder
        # lost or recreated) are written again, like pending ones
        for batch in _batches(sorted(pending | (known - indexed)), self.settings.plans_batch_plans):
            self._index_from_catalog(engine, ix, list(batch), replace=True)

    def _prune(self, engine: Engine, ix: Any, roots: list[Path], present: set[str], report: IndexReport) -> None:
        resolved = [r.resolve() for r in roots]
        with session_scope(engine) as session:
            gone = [
                plan
                for plan in session.scalars(select(Plan))
                if plan.source not in present and _under(Path(plan.source), resolved)
            ]
            ids = [plan.id for plan in gone]
            for plan in gone:
                report.outcomes.append(Outcome(plan.source, "removed", plan_id=plan.id))
                session.delete(plan)
        if ids:
            store.write(ix, delete=ids)

    def _prepare(self, known: dict[str, _Known], path: Path, overrides: dict[str, Any], report: IndexReport) -> _Prepared | None:
        source = str(path.resolve())
        try:
            raw = read_document(path, max_bytes=self.settings.plans_max_upload_bytes)
        except ReadError as exc:
            report.outcomes.append(Outcome(source, "failed", reason=exc.reason))
            return None
        return self._prepare_raw(known, raw, source, overrides, report)

    def _prepare_raw(
        self, known: dict[str, _Known], raw: RawDocument, source: str, overrides: dict[str, Any], report: IndexReport
    ) -> _Prepared | None:
        existing = known.get(source)
        if existing is not None and existing.sha256 == raw.sha256 and existing.index_state == INDEXED:
            report.outcomes.append(Outcome(source, "unchanged", plan_id=existing.id))
            return None
        cleaned = clean(raw.text)
        meta = extract_metadata(cleaned, overrides=overrides)
        passages = split_passages(cleaned.text, title=meta.title)
        if not passages or not any(ch.isalnum() for ch in cleaned.text):
            report.outcomes.append(Outcome(source, "failed", reason="no text left after cleaning"))
            return None
        metadata = meta.as_dict()
        warnings = metadata.pop("warnings")
        return _Prepared(raw, source, metadata, warnings, cleaned.text, passages)

    def _catalog(self, engine: Engine, known: dict[str, _Known], prepared: list[_Prepared],
                 report: IndexReport) -> _Cataloged:
        """The plans and their passages into the catalog, marked pending (one transaction).

        New plans are inserted together and all passages by one executemany; where the
        database returns the new passage ids in order (SQLite, PostgreSQL), the passages to
        index are taken from what was inserted instead of being read back."""
        plans: list[tuple[Plan, _Prepared]] = []
        outcomes: list[Outcome] = []
        with session_scope(engine) as session:
            for item in prepared:
                existing = known.get(item.source)
                plan = session.get(Plan, existing.id) if existing is not None else None
                outcomes.append(Outcome(item.source, "added" if plan is None else "replaced", warnings=item.warnings))
                if plan is None:
                    plan = Plan(source=item.source)
                    session.add(plan)
                _fill(plan, item)
                plans.append((plan, item))
            session.flush()
            replaced = [plan.id for plan, item in plans if item.source in known]
            if replaced:
                session.execute(delete(Passage).where(Passage.plan_id.in_(replaced)))
            values = [
                {"plan_id": plan.id, "ordinal": p.ordinal, "start": p.start, "end": p.end,
                 "heading_rank": p.heading_rank, "section": list(p.section), "text": p.text}
                for plan, item in plans for p in item.passages
            ]
            rows: list[_Row] | None = None
            if values and _returns_in_order(engine):
                ids = session.scalars(insert(Passage).returning(Passage.id, sort_by_parameter_order=True), values).all()
                rows = [_Row(v["plan_id"], i, v["ordinal"], v["start"], v["end"], v["heading_rank"], v["section"], v["text"])
                        for v, i in zip(values, ids)]
            elif values:
                session.execute(insert(Passage), values)
            metadata = [(plan.id, plan.metadata_dict()) for plan, _ in plans]
        for outcome, (plan, item) in zip(outcomes, plans):
            outcome.plan_id = plan.id
            known[item.source] = _Known(plan.id, item.raw.sha256, PENDING)
        report.outcomes.extend(outcomes)
        return _Cataloged([plan.id for plan, _ in plans], metadata, rows)

    def _index_from_catalog(self, engine: Engine, ix: Any, plan_ids: list[int], *, replace: bool = False) -> None:
        """Write these catalog plans to the index in one commit, then mark them indexed."""
        with _Workers(self.settings.plans_workers, store.folder(ix)) as segmenter:
            self._write(engine, ix, self._submit(engine, plan_ids, segmenter, replace=replace))

    def _submit_cataloged(self, engine: Engine, cataloged: _Cataloged, segmenter: _Workers) -> _Job | None:
        """Start segmenting and writing what `_catalog` just inserted (read back when it could not say)."""
        if cataloged.rows is None:
            return self._submit(engine, cataloged.plan_ids, segmenter)
        if not cataloged.plan_ids:
            return None
        return _Job(cataloged.plan_ids, cataloged.metadata, cataloged.rows,
                    segmenter.submit(cataloged.metadata, cataloged.rows), True)

    def _submit(self, engine: Engine, plan_ids: list[int], segmenter: _Workers, *, replace: bool = True) -> _Job | None:
        """Read the plans' passages back from the catalog and start segmenting and writing them."""
        if not plan_ids:
            return None
        with session_scope(engine) as session:
            plans = [(plan.id, plan.metadata_dict())
                     for plan in session.scalars(select(Plan).where(Plan.id.in_(plan_ids)).order_by(Plan.id))]
            passages = session.execute(
                select(Passage.plan_id, Passage.id, Passage.ordinal, Passage.start, Passage.end,
                       Passage.heading_rank, Passage.section, Passage.text)
                .where(Passage.plan_id.in_(plan_ids)).order_by(Passage.plan_id, Passage.ordinal)
            ).all()
        rows = [_Row(*p) for p in passages]
        return _Job(plan_ids, plans, rows, segmenter.submit(plans, rows), replace)

    def _write_overlapped(self, engine: Engine, ix: Any, jobs: Iterator[_Job | None]) -> None:
        """Write each job once the next one is submitted: the workers segment batch k+1 while
        this process writes batch k (commits stay in batch order)."""
        waiting: _Job | None = None
        for job in jobs:
            self._write(engine, ix, waiting)
            waiting = job
        self._write(engine, ix, waiting)

    def _write(self, engine: Engine, ix: Any, job: _Job | None) -> None:
        """One Whoosh commit of the job's plans, then the catalog rows marked indexed."""
        if job is None:
            return
        documents, staged, postings = job.documents()
        delete = job.plan_ids if job.replace else ()
        if staged:  # the workers wrote these documents into Whoosh segments already
            store.write(ix, delete=delete, staged=staged, staged_documents=documents, postings=postings)
        else:
            store.write(ix, delete=delete, add=documents)
        with session_scope(engine) as session:  # with the postgres backend, its search rows in the same transaction
            if self._postgres:
                pg_index.write_batch(session, job.plan_ids, documents)
            session.execute(update(Plan).where(Plan.id.in_(job.plan_ids)).values(index_state=INDEXED))


class _Row(NamedTuple):
    """A catalog passage as `_submit` reads it back (a plain tuple: workers receive it pickled)."""

    plan_id: int
    id: int
    ordinal: int
    start: int
    end: int
    heading_rank: int | None
    section: list[str]
    text: str


@dataclass
class _Job:
    """Plans read back from the catalog, their passages being segmented (and written by workers)."""

    plan_ids: list[int]
    plans: list[tuple[int, dict[str, Any]]]
    passages: Sequence[_Row]
    documents: Callable[[], _Documents]  # waits for the workers
    replace: bool


class _Workers:
    """jieba and Whoosh over many passages: in worker processes, kept for a whole run, when
    there is enough text; in this process otherwise.

    Each worker segments its share of a batch and writes it, with its Whoosh documents, as a
    Whoosh segment staged under the index folder (`store.stage`); the commit that follows
    adds those segments, so the Whoosh work is spread over the cores while this process
    reads, catalogs and merges the serving state. `submit` returns at once; calling its
    result waits for the words and the staged segments (none when segmented in-process).
    Workers are forked before the first batch, while this process is still small.
    """

    def __init__(self, workers: int, index_dir: Path) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.index_dir = index_dir  # where the workers stage their segments
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, plans: list[tuple[int, dict[str, Any]]], rows: list[_Row]) -> Callable[[], _Documents]:
        """The plans' and passages' Whoosh documents (with their words), the segments the
        workers staged holding them (none: the documents are still to be written here) and
        the passages' (chars, bigrams) postings when the workers computed them."""
        head = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
        texts = [row.text for row in rows]
        if sum(map(len, texts)) < PARALLEL_CHARS or self.workers == 1:
            documents = head + [store.passage_document(row.plan_id, row, Segmented(row.text, words))
                                for row, words in zip(rows, _segment_chunk(texts))]
            return lambda: (documents, [], None)
        if self._pool is None:
            segment("预热")  # load jieba once in this process: forked workers share it
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("fork"))
        bounds = _even_cuts([len(t) for t in texts], self.workers)
        futures = [self._pool.submit(_stage_chunk, str(self.index_dir), plans if k == 0 else [], rows[a:b])
                   for k, (a, b) in enumerate(bounds)]

        def result() -> _Documents:
            done: list[_Part] = [future.result() for future in futures]
            lines = [line for part in done for line in part.tokens]
            normalized = [text for part in done for text in part.normalized]
            documents = head + [{**store.passage_document(row.plan_id, row, None, tokens=line), "normalized": text}
                                for row, line, text in zip(rows, lines, normalized)]
            postings = [generation.concatenate_postings([(part.postings[k], len(part.tokens)) for part in done])
                        for k in range(2)]
            return documents, [part.staged for part in done if part.staged is not None], postings

        return result


class _Part(NamedTuple):
    """What a worker sends back for its share of a batch."""

    tokens: list[str]  # each passage's words, space-separated
    normalized: list[str]  # each passage's normalised text
    postings: tuple[generation.Postings, generation.Postings]  # (chars, bigrams), passages from 0
    staged: store.Staged | None


_Documents = tuple[list[dict[str, Any]], list[store.Staged], list[generation.Postings] | None]


def _stage_chunk(index_dir: str, plans: list[tuple[int, dict[str, Any]]], rows: list[_Row]) -> _Part:
    """In a worker: a staged Whoosh segment of the rows' documents (and of `plans`), and what the
    serving state needs of the rows besides what the committing process has: their words as one
    line each (cheaper to send back than the words' offsets), normalised texts and postings."""
    normalized = [normalize(row.text) for row in rows]
    documents = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
    documents += [store.passage_document(row.plan_id, row, Segmented(row.text, segment_normalized(text)))
                  for row, text in zip(rows, normalized)]
    staged = store.stage(Path(index_dir), documents)
    tokens = [document["tokens"] for document in documents[len(plans):]]
    return _Part(tokens, normalized, generation.passage_postings(normalized), staged)


def _even_cuts(lengths: list[int], parts: int) -> list[tuple[int, int]]:
    """`parts` consecutive ranges of the items with about equal sums of `lengths` (none empty)."""
    total, cuts, running = sum(lengths), [0], 0
    for i, length in enumerate(lengths):
        running += length
        if len(cuts) < parts and running >= total * len(cuts) / parts and i + 1 < len(lengths):
            cuts.append(i + 1)
    cuts.append(len(lengths))
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _fill(plan: Plan, item: _Prepared) -> None:
    """The plan row's fields from a prepared file, marked pending."""
    for name, value in item.metadata.items():
        if name in Plan.METADATA_FIELDS:
            setattr(plan, name, value)
    plan.sha256, plan.format, plan.encoding = item.raw.sha256, item.raw.format, item.raw.encoding
    plan.text, plan.chars, plan.warnings = item.text, len(item.text), item.warnings
    plan.index_state = PENDING


class _Known(NamedTuple):
    """A catalog plan as a run sees it before reading a file: unchanged files are skipped."""

    id: int
    sha256: str
    index_state: str


def _known_sources(engine: Engine) -> dict[str, _Known]:
    """Every catalog plan by source, read once per run instead of once per file."""
    with session_scope(engine) as session:
        rows = session.execute(select(Plan.source, Plan.id, Plan.sha256, Plan.index_state)).all()
    return {source: _Known(i, sha, state) for source, i, sha, state in rows}


def _returns_in_order(engine: Engine) -> bool:
    """Whether an executemany INSERT can return the new ids in parameter order on this database."""
    return bool(getattr(engine.dialect, "insert_executemany_returning_sort_by_parameter_order", False))


@dataclass
class _Cataloged:
    """What `_catalog` wrote: the plans (ids, metadata) and their passages (None: read them back)."""

    plan_ids: list[int]
    metadata: list[tuple[int, dict[str, Any]]]
    rows: list[_Row] | None


def _segment_chunk(texts: list[str]) -> list[list[tuple[str, int, int]]]:
    return [segment(text) for text in texts]


def _collect(roots: Iterable[Path], report: IndexReport) -> Iterator[tuple[Path, dict[str, Any]]]:
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
                manifests[path.parent] = _manifest(path.parent, report)
            yield path, manifests[path.parent].get(path.name, {})


def _manifest(folder: Path, report: IndexReport) -> dict[str, Any]:
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


def _remove_upload(source: Path, uploads: Path) -> None:
    """Delete our own copy of an uploaded file (uploads/<sha256>/<name>); other sources are the user's."""
    if _under(source, [uploads.resolve()]) and source.parent != uploads.resolve():
        shutil.rmtree(source.parent, ignore_errors=True)


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = ["IndexReport", "Outcome", "Pipeline", "PlansError"]
