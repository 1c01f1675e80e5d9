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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from tqdm import tqdm

from indexer import pg_index, store
from indexer.index import writer
from indexer.catalog import (
    DELETING, INDEXED, PENDING, Passage, Plan, create_catalog_engine, init_catalog, reserve_ids, session_scope,
)
from indexer.errors import PlansError
from indexer.locking import indexer_lock
from indexer.corrections import edits_by_source, store_edits, validate_edits
from indexer.metadata import metadata_version
from indexer.outcomes import IndexReport, Outcome
from indexer.pool import Job, Row, Workers
from indexer.preparing import Prepared, Preparer
from indexer.schools import SchoolNames
from indexer.settings import Settings
from indexer.sources import Known, batches, collect, known_sources, under
from indexer.uploads import remove_upload

PARALLEL_CHARS = 400_000  # below this, segmenting in-process beats starting workers


class Pipeline:
    """The only writer of the catalog and the index."""

    def __init__(self, settings: Settings, *, progress: bool = False, lock_wait: float = 0.0) -> None:
        self.settings = settings
        self.progress = progress
        self.lock_wait = lock_wait
        self._edits: dict[str, dict[str, Any]] = {}  # corrections by source, read at the start of a run
        self._schools: SchoolNames | None = None  # the catalog's school names, read at the start of a run

    def index(self, paths: Sequence[Path] = (), *, prune: bool = False) -> IndexReport:
        """Add new files, replace changed ones, skip unchanged ones; `prune` drops vanished files."""
        roots = [Path(p) for p in paths] or [self.settings.plans_corpus]
        report = IndexReport()
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            ix = self._open_index()
            writer.discard_staged(self.settings.index_dir)  # a killed run's uncommitted segments
            self._recover(engine, ix)
            files = list(collect(roots, report))
            if prune:
                self._prune(engine, ix, roots, {str(f.resolve()) for f, _ in files}, report)
            known = known_sources(engine)
            with session_scope(engine) as session:
                self._edits = edits_by_source(session)
                self._schools = SchoolNames(session)
            bar = tqdm(total=len(files), unit="file", disable=not self.progress, desc="indexing")
            budget = self.settings.plans_file_timeout
            with self._workers(ix) as segmenter, Preparer(engine, budget, self.settings.plans_max_upload_bytes) as preparer:

                def jobs() -> Iterator[Job | None]:
                    for batch in batches(files, self.settings.plans_batch_plans):
                        prepared = []
                        for path, overrides in batch:
                            source = str(path.resolve())
                            item = preparer.prepare(path, known.get(source), overrides, self._edits.get(source))
                            if isinstance(item, Outcome):
                                report.outcomes.append(item)
                            else:
                                if self._schools is not None:
                                    self._schools.resolve(item.metadata)
                                prepared.append(item)
                            bar.update(1)
                        yield self._submit_cataloged(engine, self._catalog(engine, known, prepared, report), segmenter)

                self._write_overlapped(engine, ix, jobs())
            with session_scope(engine) as session:
                renamed = self._schools.rename_older(session)
            if renamed:
                self._recover(engine, ix)  # writes the renamed (pending) plans to the index
            writer.discard_staged(store.folder(ix))  # the empty staging folder
            bar.close()
            self._refresh_statistics(engine, report)
            engine.dispose()
        return report

    def remove(self, plan_id: int) -> str | None:
        """Delete one plan: its source, or None when the catalog has no such plan.

        The catalog row is first marked DELETING (one transaction), then the plan leaves the
        index (one commit), then the row and the uploaded copy go: a kill at any moment leaves
        the plan whole, or marked for the next run (`_recover`) to finish deleting."""
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            try:
                with session_scope(engine) as session:
                    plan = session.get(Plan, plan_id)
                    if plan is None:
                        return None
                    source = plan.source
                    plan.index_state = DELETING
                self._finish_deletes(engine, self._open_index(), [plan_id])
            finally:
                engine.dispose()
        return source

    def edit(self, plan_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Correct a plan's metadata (indexer/corrections.py): stored, applied to its row and
        written to the index in one commit; the plan's metadata, or None when there is no such plan."""
        edits = validate_edits(fields)
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            try:
                ix = self._open_index()
                with session_scope(engine) as session:
                    plan = session.get(Plan, plan_id)
                    if plan is None:
                        return None
                    store_edits(session, plan, edits)
                    plan.index_state = PENDING
                self._index_from_catalog(engine, ix, [plan_id], replace=True)
                with session_scope(engine) as session:
                    found = session.get(Plan, plan_id)
                    return found.metadata_dict() if found is not None else None
            finally:
                engine.dispose()

    def reindex(self) -> IndexReport:
        """Rebuild the index from the catalog into a new folder, then swap it in."""
        report = IndexReport()
        with indexer_lock(self.settings.plans_home, wait=self.lock_wait):
            engine = self._engine()
            target = self.settings.index_dir
            fresh = target.with_name(target.name + ".new")
            shutil.rmtree(fresh, ignore_errors=True)
            ix = store.create_index(fresh)
            with session_scope(engine) as session:  # plans being deleted: the next run finishes them
                ids = list(session.scalars(select(Plan.id).where(Plan.index_state != DELETING).order_by(Plan.id)))
            bar = tqdm(total=len(ids), unit="plan", disable=not self.progress, desc="reindexing")
            with self._workers(ix) as segmenter:

                def jobs() -> Iterator[Job | None]:
                    for batch in batches(ids, self.settings.plans_batch_plans):
                        yield self._submit(engine, list(batch), segmenter, replace=False)
                        report.outcomes.extend(Outcome(str(i), "replaced", plan_id=i) for i in batch)
                        bar.update(len(batch))

                self._write_overlapped(engine, ix, jobs())
            writer.discard_staged(store.folder(ix))  # the empty staging folder
            bar.close()
            self._refresh_statistics(engine, report)
            old = target.with_name(target.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                os.replace(target, old)
            os.replace(fresh, target)
            shutil.rmtree(old, ignore_errors=True)
            engine.dispose()
        return report

    # -- steps -------------------------------------------------------------------------

    def _refresh_statistics(self, engine: Engine, report: IndexReport) -> None:
        changed = sum(report.count(status) for status in ("added", "replaced", "removed"))
        if self._postgres and changed >= pg_index.ANALYZE_PLANS:
            pg_index.refresh_statistics(engine)

    def _workers(self, ix: Any) -> Workers:
        return Workers(self.settings.plans_workers, store.folder(ix), parallel_chars=PARALLEL_CHARS)

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

    def _finish_deletes(self, engine: Engine, ix: Any, plan_ids: list[int]) -> None:
        """Plans marked DELETING out of the index, then out of the catalog, then their uploaded copies."""
        if in_index := sorted(set(plan_ids) & store.indexed_plan_ids(ix)):  # none: a kill came after this commit
            writer.write(ix, delete=in_index)
        with session_scope(engine) as session:
            sources = list(session.scalars(select(Plan.source).where(Plan.id.in_(plan_ids))))
            session.execute(delete(Passage).where(Passage.plan_id.in_(plan_ids)))
            session.execute(delete(Plan).where(Plan.id.in_(plan_ids)))
        for source in sources:
            remove_upload(Path(source), self.settings.uploads_dir)

    def _recover(self, engine: Engine, ix: Any) -> None:
        """Finish what a killed run left: deletes, pending (or lost) plans into the index, orphans out of it."""
        with session_scope(engine) as session:
            deleting = sorted(session.scalars(select(Plan.id).where(Plan.index_state == DELETING)))
        if deleting:
            self._finish_deletes(engine, ix, deleting)
        with session_scope(engine) as session:
            known = set(session.scalars(select(Plan.id)))
            pending = set(session.scalars(select(Plan.id).where(Plan.index_state == PENDING)))
            if self._postgres:
                pending |= pg_index.unsearchable_plan_ids(session)
        indexed = store.indexed_plan_ids(ix)
        if orphans := indexed - known:
            writer.write(ix, delete=sorted(orphans))
        # the catalog is the source of truth: plans it has and the index lacks (an index folder
        # lost or recreated) are written again, like pending ones
        for batch in batches(sorted(pending | (known - indexed)), self.settings.plans_batch_plans):
            self._index_from_catalog(engine, ix, list(batch), replace=True)

    def _prune(self, engine: Engine, ix: Any, roots: list[Path], present: set[str], report: IndexReport) -> None:
        resolved = [r.resolve() for r in roots]
        with session_scope(engine) as session:
            gone = [
                plan
                for plan in session.scalars(select(Plan))
                if plan.source not in present and under(Path(plan.source), resolved)
            ]
            ids = [plan.id for plan in gone]
            for plan in gone:
                report.outcomes.append(Outcome(plan.source, "removed", plan_id=plan.id))
                session.delete(plan)
        if ids:
            writer.write(ix, delete=ids)

    def _catalog(self, engine: Engine, known: dict[str, Known], prepared: list[Prepared],
                 report: IndexReport) -> _Cataloged:
        """The plans and their passages into the catalog, marked pending (one transaction).

        New plans are inserted together and all passages by one executemany; where the
        database returns the new passage ids in order (SQLite, PostgreSQL), the passages to
        index are taken from what was inserted instead of being read back."""
        plans: list[tuple[Plan, Prepared]] = []
        outcomes: list[Outcome] = []
        with session_scope(engine) as session:
            found = {item.source: session.get(Plan, known[item.source].id) if item.source in known else None
                     for item in prepared}
            new_ids = iter(reserve_ids(session, Plan, sum(plan is None for plan in found.values())))
            for item in prepared:
                plan = found[item.source]
                outcomes.append(Outcome(item.source, "added" if plan is None else "replaced", warnings=item.warnings))
                if plan is None:
                    plan = Plan(id=next(new_ids), source=item.source)  # never an id a deleted plan had
                    session.add(plan)
                _fill(plan, item)
                plans.append((plan, item))
            session.flush()
            replaced = [plan.id for plan, item in plans if item.source in known]
            if replaced:
                session.execute(delete(Passage).where(Passage.plan_id.in_(replaced)))
            passage_ids = iter(reserve_ids(session, Passage, sum(len(item.passages) for _, item in plans)))
            values = [
                {"id": next(passage_ids), "plan_id": plan.id, "ordinal": p.ordinal, "start": p.start, "end": p.end,
                 "heading_rank": p.heading_rank, "section": list(p.section), "text": p.text}
                for plan, item in plans for p in item.passages
            ]
            rows: list[Row] | None = None
            if values and _returns_in_order(engine):
                ids = session.scalars(insert(Passage).returning(Passage.id, sort_by_parameter_order=True), values).all()
                rows = [Row(v["plan_id"], i, v["ordinal"], v["start"], v["end"], v["heading_rank"], v["section"], v["text"])
                        for v, i in zip(values, ids)]
            elif values:
                session.execute(insert(Passage), values)
            metadata = [(plan.id, plan.metadata_dict()) for plan, _ in plans]
        for outcome, (plan, item) in zip(outcomes, plans):
            outcome.plan_id = plan.id
            known[item.source] = Known(plan.id, item.raw.sha256, PENDING, metadata_version())
        report.outcomes.extend(outcomes)
        return _Cataloged([plan.id for plan, _ in plans], metadata, rows)

    def _index_from_catalog(self, engine: Engine, ix: Any, plan_ids: list[int], *, replace: bool = False) -> None:
        """Write these catalog plans to the index in one commit, then mark them indexed."""
        with self._workers(ix) as segmenter:
            self._write(engine, ix, self._submit(engine, plan_ids, segmenter, replace=replace))

    def _submit_cataloged(self, engine: Engine, cataloged: _Cataloged, segmenter: Workers) -> Job | None:
        """Start segmenting and writing what `_catalog` just inserted (read back when it could not say)."""
        if cataloged.rows is None:
            return self._submit(engine, cataloged.plan_ids, segmenter)
        if not cataloged.plan_ids:
            return None
        return Job(cataloged.plan_ids, cataloged.metadata, cataloged.rows,
                    segmenter.submit(cataloged.metadata, cataloged.rows), True)

    def _submit(self, engine: Engine, plan_ids: list[int], segmenter: Workers, *, replace: bool = True) -> Job | None:
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
        rows = [Row(*p) for p in passages]
        return Job(plan_ids, plans, rows, segmenter.submit(plans, rows), replace)

    def _write_overlapped(self, engine: Engine, ix: Any, jobs: Iterator[Job | None]) -> None:
        """Write each job once the next one is submitted: the workers segment batch k+1 while
        this process writes batch k (commits stay in batch order)."""
        waiting: Job | None = None
        for job in jobs:
            self._write(engine, ix, waiting)
            waiting = job
        self._write(engine, ix, waiting)

    def _write(self, engine: Engine, ix: Any, job: Job | None) -> None:
        """One Whoosh commit of the job's plans, then the catalog rows marked indexed."""
        if job is None:
            return
        documents, staged, postings = job.documents()
        delete = job.plan_ids if job.replace else ()
        if staged:  # the workers wrote these documents into Whoosh segments already
            writer.write(ix, delete=delete, staged=staged, staged_documents=documents, postings=postings)
        else:
            writer.write(ix, delete=delete, add=documents)
        with session_scope(engine) as session:  # with the postgres backend, its search rows in the same transaction
            if self._postgres:
                pg_index.write_batch(session, job.plan_ids, documents)
            session.execute(update(Plan).where(Plan.id.in_(job.plan_ids)).values(index_state=INDEXED))

def _fill(plan: Plan, item: Prepared) -> None:
    """The plan row's fields from a prepared file, marked pending."""
    for name, value in item.metadata.items():
        if name in Plan.METADATA_FIELDS:
            setattr(plan, name, value)
    plan.sha256, plan.format, plan.encoding = item.raw.sha256, item.raw.format, item.raw.encoding
    plan.text, plan.chars, plan.warnings = item.text, len(item.text), item.warnings
    plan.metadata_version = metadata_version()
    plan.index_state = PENDING

def _returns_in_order(engine: Engine) -> bool:
    """Whether an executemany INSERT can return the new ids in parameter order on this database."""
    return bool(getattr(engine.dialect, "insert_executemany_returning_sort_by_parameter_order", False))


@dataclass
class _Cataloged:
    """What `_catalog` wrote: the plans (ids, metadata) and their passages (None: read them back)."""

    plan_ids: list[int]
    metadata: list[tuple[int, dict[str, Any]]]
    rows: list[Row] | None


__all__ = ["IndexReport", "Outcome", "Pipeline", "PlansError"]  # where callers have always found them
