"""The postgres backend of the searcher interface (`app.searcher`): matching in SQL.

A `PgSnapshot` is one generation of the search tables (`indexer.pg_index`), read in one
repeatable-read transaction: the plans' metadata and the passages' arrays (plan, ordinal,
heading length, texts, sections, words) that scoring, grouping, facets, highlights and
compare need, as the embedded snapshot holds them. Which passages hold a needle is asked of
the database, through an index whatever its length, and exact by construction:
- one or two characters: `grams @> ARRAY[needle]` (GIN over each passage's distinct
  characters and bigrams: the array holds the needle exactly when the text does);
- three or more with three word characters in a row: `normalized LIKE '%needle%'` (escaped;
  pg_trgm GIN, rechecked exactly);
- three or more without (punctuation between the characters): the gram array holding the
  needle's bigrams, confirmed by `strpos`.
The match statement runs with sequential scans disabled (`MATCH_SETTINGS`): the planner prices a
scan by its pages and not by detoasting each row's gram array, so left to cost it scans every
passage for a common character or bigram although the GIN index answers it. The database
returns passage ids only; mention counts and first offsets are `str.count`/`str.find` over the
generation's normalised texts, which the server holds for highlights anyway. A reload after
a commit that only added newer plans (an upload, a run over new files) reads just their rows
and appends them to the served generation's arrays (`previous`); any other commit is read
whole. Servers hold no files: any number of them read one database, or a streaming replica
(PLANS_READ_DATABASE_URL), and notice a commit by its generation row.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, defer

from app.derived import Derived
from app.memory import trim
from app.snapshot import EMPTY_HITS, Hits, NeedleCache, Snapshot
from indexer import pg_index
from indexer.catalog import INDEXED, Plan
from indexer.index.segment import heading_length

_UNAVAILABLE_STATES = ("08", "57P", "25006", "53")  # connection, shutdown, read-only, resources


class DatabaseUnavailable(RuntimeError):
    """The search database cannot be reached or refuses the query; retried at the next request."""


def unavailable(exc: BaseException) -> bool:
    """Whether a database error means "down or read-only" rather than a bug in a query."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    return state is None or any(state.startswith(prefix) for prefix in _UNAVAILABLE_STATES)


def read_engine(url: str) -> Engine:
    """An engine for the search tables that checks a pooled connection before lending it."""
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def escape_like(needle: str) -> str:
    """A LIKE pattern matching `needle` literally anywhere (backslash is LIKE's default escape)."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def current_generation(connection: Connection) -> int:
    return int(connection.execute(text("SELECT generation FROM search_state WHERE id = 1")).scalar_one())


_PASSAGES = ("SELECT s.plan_id, s.passage_id, s.ordinal, a.heading_rank, a.section, a.text, s.normalized, s.tokens "
             "FROM search_passages s JOIN passages a ON a.id = s.passage_id ")
_ALL_PASSAGES = text(_PASSAGES + "ORDER BY s.plan_id, s.ordinal")
_PASSAGES_OF = text(_PASSAGES + "WHERE s.plan_id = ANY(:ids) ORDER BY s.plan_id, s.ordinal")
# what changes when a plan's search rows are replaced (new passage ids), deleted or added
_SIGNATURES = text("SELECT plan_id, count(*), min(passage_id), max(passage_id) FROM search_passages GROUP BY plan_id")


class PgSnapshot:
    """The passages and plans of one generation of the search tables; thread-safe for reads."""

    def __init__(self, engine: Engine, previous: PgSnapshot | None = None) -> None:
        """The current generation; `previous`: one this may extend (a commit that only added
        plans newer than all of its plans reads just their passages)."""
        self._engine = engine
        self._cache = NeedleCache()
        self.derived = Derived()
        self.loaded_at = time.time()
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            self.generation = current_generation(connection)
            with Session(bind=connection) as session:
                plans = session.scalars(
                    select(Plan).options(defer(Plan.text)).order_by(Plan.id).where(
                        (Plan.index_state == INDEXED) | Plan.id.in_(text("SELECT plan_id FROM search_passages")))
                ).all()
                self.plans = [plan.metadata_dict() for plan in plans]
            self._signatures = {int(r[0]): tuple(r[1:]) for r in connection.execute(_SIGNATURES)}
            head = previous if previous is not None and self._extends(previous) else None
            if head is None:
                rows = connection.execute(_ALL_PASSAGES).all()
            else:
                rows = connection.execute(_PASSAGES_OF, {"ids": [int(m["id"]) for m in self.plans[len(head.plans):]]}).all()
        self.key = (0, self.generation)
        self.plan_by_id = {int(m["id"]): i for i, m in enumerate(self.plans)}
        rows = [r for r in rows if int(r[0]) in self.plan_by_id]
        self._set(rows, head)
        self.extended = head is not None  # built from `previous` and the new plans' rows alone
        counts = np.bincount(self.passage_plan, minlength=len(self.plans)).astype(np.int32)
        self.plan_passage_count = counts
        self.plan_first = (np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(self.plans) else np.zeros(0)).astype(np.int32)
        self.plan_chars = np.array([m.get("chars") or 0 for m in self.plans], np.int64)
        self._by_id = np.argsort(self.passage_ids, kind="stable")

    def _extends(self, previous: PgSnapshot) -> bool:
        """Whether this generation is `previous`'s plans, their search rows unchanged, then newer plans."""
        known = len(previous.plans)
        return (len(self.plans) > known
                and [m["id"] for m in self.plans[:known]] == [m["id"] for m in previous.plans]
                and all(self._signatures.get(p) == signature for p, signature in previous._signatures.items())
                and not any(p in self._signatures for p in previous.plan_by_id if p not in previous._signatures))

    def _set(self, rows: list[Any], head: PgSnapshot | None) -> None:
        """The passage arrays: `rows` alone, or `head`'s followed by `rows` (of newer plans)."""
        n = len(rows)
        passage_plan = np.fromiter((self.plan_by_id[int(r[0])] for r in rows), np.int32, n)
        passage_ids = np.fromiter((r[1] for r in rows), np.int64, n)
        ordinals = np.fromiter((r[2] for r in rows), np.int32, n)
        sections: list[tuple[str, ...]] = [tuple(r[4] or ()) for r in rows]
        heading_lengths = np.fromiter((heading_length(r[3], s) for r, s in zip(rows, sections)), np.int32, n)
        texts: list[str] = [r[5] for r in rows]
        normalized: list[str] = [r[6] for r in rows]
        lengths = np.fromiter(map(len, texts), np.int32, n)
        if head is None:
            self.passage_plan, self.passage_ids, self.ordinals = passage_plan, passage_ids, ordinals
            self.sections, self.heading_lengths, self.texts, self.normalized = sections, heading_lengths, texts, normalized
            self.lengths = lengths
            self.vocabulary = []
        else:
            self.passage_plan = np.concatenate([head.passage_plan, passage_plan])
            self.passage_ids = np.concatenate([head.passage_ids, passage_ids])
            self.ordinals = np.concatenate([head.ordinals, ordinals])
            self.heading_lengths = np.concatenate([head.heading_lengths, heading_lengths])
            self.lengths = np.concatenate([head.lengths, lengths])
            self.sections, self.texts, self.normalized = head.sections + sections, head.texts + texts, head.normalized + normalized
            self.vocabulary = list(head.vocabulary)
        self.size = len(self.passage_ids)
        self.average_length = float(self.lengths.mean()) if self.size else 1.0
        ids = {word: i for i, word in enumerate(self.vocabulary)}
        found: list[int] = []
        offsets = [0]
        for r in rows:
            for word in r[7].split():
                i = ids.get(word)
                if i is None:
                    i = ids[word] = len(self.vocabulary)
                    self.vocabulary.append(word)
                found.append(i)
            offsets.append(len(found))
        self.word_ids = np.array(found, np.int32)
        self.word_offsets = np.array(offsets, np.int64)
        if head is not None:
            self.word_ids = np.concatenate([head.word_ids, self.word_ids])
            self.word_offsets = np.concatenate([head.word_offsets, self.word_offsets[1:] + head.word_offsets[-1]])

    # -- reading: the embedded snapshot's own methods, over the same arrays ------------------

    words = Snapshot.words
    word_ids_of = Snapshot.word_ids_of
    plan_range = Snapshot.plan_range

    def find(self, needle: str) -> Hits:
        """Passages whose normalised text contains `needle` (already normalised), from SQL."""
        return self._cache.get(needle, self._find)

    def clear_cache(self) -> None:
        self._cache.clear()

    def release_caches(self) -> None:
        self.clear_cache()
        self.derived.clear()

    def close(self) -> None:
        """Nothing to release: the engine belongs to the holder."""

    def _find(self, needle: str) -> Hits:
        if not needle or self.size == 0:
            return EMPTY_HITS
        try:
            with self._engine.connect() as connection:
                ids = np.array(matching_ids(connection, needle), np.int64)
        except DBAPIError as exc:
            if unavailable(exc):
                raise DatabaseUnavailable(str(exc.orig).strip().splitlines()[0]) from exc
            raise
        if not len(ids):
            return EMPTY_HITS
        at = np.minimum(np.searchsorted(self.passage_ids[self._by_id], ids), self.size - 1)
        served = self.passage_ids[self._by_id[at]] == ids  # rows committed after this generation drop out
        index = np.sort(self._by_id[at[served]]).astype(np.int32)
        texts = [self.normalized[i] for i in index.tolist()]
        counts = np.array(list(map(str.count, texts, repeat(needle))), np.int32)
        first = np.array(list(map(str.find, texts, repeat(needle))), np.int32)
        return Hits(index, counts, first)


MATCH_SETTINGS = "SET LOCAL enable_seqscan = off"  # see the module's docstring


def match_query(needle: str) -> tuple[Any, dict[str, Any]]:
    """The SQL of one needle: an array of the ids of the passages holding it (run after MATCH_SETTINGS).

    A needle with three word characters in a row has a trigram, so pg_trgm's GIN answers its
    `LIKE` (rechecked exactly); any other needle is looked up by its characters or bigrams in
    the gram array's GIN (exact for one or two characters, `strpos` confirms a longer one)."""
    if len(needle) <= 2:
        return text("SELECT array_agg(passage_id) FROM search_passages WHERE grams @> :grams"), {"grams": [needle]}
    if _TRIGRAM.search(needle):
        return text("SELECT array_agg(passage_id) FROM search_passages WHERE normalized LIKE :pattern"), {"pattern": escape_like(needle)}
    pairs = sorted({needle[i : i + 2] for i in range(len(needle) - 1)})
    return (text("SELECT array_agg(passage_id) FROM search_passages WHERE grams @> :grams AND strpos(normalized, :n) > 0"),
            {"grams": pairs, "n": needle})


_TRIGRAM = re.compile(r"[^\W_]{3}")  # three alphanumeric characters: pg_trgm's word characters


def matching_ids(connection: Connection, needle: str) -> list[int]:
    """The ids of the passages whose normalised text contains `needle`, through an index."""
    sql, params = match_query(needle)
    with connection.begin():
        connection.execute(text(MATCH_SETTINGS))
        return connection.execute(sql, params).scalar_one() or []  # one array: no row objects


def explain_match(connection: Connection, needle: str) -> str:
    """The plan the match statement of `needle` runs with, as `matching_ids` runs it."""
    sql, params = match_query(needle)
    with connection.begin():
        connection.execute(text(MATCH_SETTINGS))
        return "\n".join(r[0] for r in connection.execute(text("EXPLAIN " + sql.text), params))


class PgSnapshotHolder:
    """The current generation of the search tables; a newer one is loaded in the background.

    While the database is down a request gets DatabaseUnavailable (503) only when it needs
    the database: the loaded generation keeps answering what it holds; the first load is
    retried at each request until it succeeds."""

    def __init__(self, url: str, *, reload_interval: float = 1.0,
                 warm: Callable[[PgSnapshot], object] | None = None) -> None:
        self.engine = read_engine(url)
        self.reload_interval = reload_interval
        self._warm = warm  # what every generation computes before it serves (app.search.warm)
        self._current: PgSnapshot | None = None
        self._checked = time.monotonic()
        self._problem: str | None = None  # why the last check of the database failed
        self._reloading = threading.Lock()
        try:
            with self.engine.connect() as connection:
                found = pg_index.current_revision(connection)
            if found != pg_index.head():  # the tables are not the ones this program reads
                raise pg_index.UnknownRevision(
                    f"the search database is at schema revision {found!r}, this program reads {pg_index.head()!r}: "
                    "run `plans index` (it migrates), or serve with the program that migrated it")
            self._current = self._loaded()
        except DBAPIError as exc:
            if not unavailable(exc):  # served again when the database returns
                self.engine.dispose()
                raise
        except BaseException:
            self.engine.dispose()
            raise

    def current(self) -> PgSnapshot:
        if self._current is None:
            return self.reload_now()
        now = time.monotonic()
        if self.reload_interval >= 0 and now - self._checked >= self.reload_interval:
            self._checked = now
            if self._reloading.acquire(blocking=False):
                threading.Thread(target=self._reload, daemon=True).start()
        return self._current

    def _reload(self) -> None:
        try:
            with self.engine.connect() as connection:
                newer = current_generation(connection) != self._current_generation()
            if newer:
                self._current = self._loaded()
            self._problem = None
        except DBAPIError as exc:  # keep serving the last good generation; the next check retries
            self._problem = "the search database could not be reached" if unavailable(exc) else "the search database refused a query"
        finally:
            self._reloading.release()

    def _loaded(self) -> PgSnapshot:
        snapshot = PgSnapshot(self.engine, previous=self._current)
        if self._warm is not None:
            self._warm(snapshot)
        trim()  # the rows read are freed once the arrays are built
        return snapshot

    def _current_generation(self) -> int | None:
        return self._current.generation if self._current is not None else None

    def reload_now(self) -> PgSnapshot:
        """Load the newest generation now (after an upload or a delete; the first request after an outage)."""
        with self._reloading:
            try:
                fresh = self._loaded()
            except DBAPIError as exc:
                if unavailable(exc):
                    raise DatabaseUnavailable(str(exc.orig).strip().splitlines()[0]) from exc
                raise
            if self._current is not None:
                self._current.release_caches()
            self._current = fresh
        return fresh

    def health(self) -> tuple[str, str | None]:
        """("ok", None), or ("degraded", why) while the last check of the database failed."""
        return ("degraded", self._problem) if self._problem else ("ok", None)

    def close(self) -> None:
        """Dispose of the engine once a background reload that holds a connection has ended."""
        if self._reloading.acquire(timeout=10):
            self._reloading.release()
        self.engine.dispose()
