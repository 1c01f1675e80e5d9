"""jieba and Whoosh over many passages, in worker processes kept for a whole run.

The pipeline hands each batch's passages (`Row`s) to `Workers.submit`, which returns at once;
the `Job` it becomes is written once the next batch is submitted, so the workers segment batch
k+1 while the pipeline commits batch k.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

from indexer import generation, store
from indexer.index import writer
from indexer.analysis import Segmented, cap_plan_words, segment, segment_normalized
from indexer.cleaning import normalize
from indexer.memory import libc

PARALLEL_CHARS = 400_000  # below this, segmenting in-process beats starting workers


class Row(NamedTuple):
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
class Job:
    """Plans read back from the catalog, their passages being segmented (and written by workers)."""

    plan_ids: list[int]
    plans: list[tuple[int, dict[str, Any]]]
    passages: Sequence[Row]
    documents: Callable[[], Documents]  # waits for the workers
    replace: bool


class Workers:
    """jieba and Whoosh over many passages: in worker processes, kept for a whole run, when
    there is enough text; in this process otherwise.

    Each worker segments its share of a batch and writes it, with its Whoosh documents, as a
    Whoosh segment staged under the index folder (`writer.stage`); the commit that follows
    adds those segments, so the Whoosh work is spread over the cores while this process
    reads, catalogs and merges the serving state. `submit` returns at once; calling its
    result waits for the words and the staged segments (none when segmented in-process).
    Workers are forked before the first batch, while this process is still small.
    """

    def __init__(self, workers: int, index_dir: Path, *, parallel_chars: int = PARALLEL_CHARS) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.parallel_chars = parallel_chars
        self.index_dir = index_dir  # where the workers stage their segments
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, plans: list[tuple[int, dict[str, Any]]], rows: list[Row]) -> Callable[[], Documents]:
        """The plans' and passages' Whoosh documents (with their words), the segments the
        workers staged holding them, each with its sidecar (none: the documents are still to
        be written here); the third value, postings, is always None now (kept for callers)."""
        head = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
        texts = [row.text for row in rows]
        if sum(map(len, texts)) < self.parallel_chars or self.workers == 1:
            documents = head + [store.passage_document(row.plan_id, row, Segmented(row.text, words))
                                for row, words in zip(rows, row_words(rows))]
            return lambda: (documents, [], None)
        if self._pool is None:
            segment("预热")  # load jieba once in this process: forked workers share it
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("fork"), initializer=die_with_parent)
        futures = [self._pool.submit(stage_chunk, str(self.index_dir), share, rows[a:b])
                   for share, (a, b) in plan_shares(plans, rows, texts, self.workers)]

        def result() -> Documents:
            done: list[Part] = [future.result() for future in futures]
            lines = [line for part in done for line in part.tokens]
            normalized = [text for part in done for text in part.normalized]
            documents = head + [{**store.passage_document(row.plan_id, row, None, tokens=line), "normalized": text}
                                for row, line, text in zip(rows, lines, normalized)]
            return documents, [part.staged for part in done if part.staged is not None], None

        return result


class Part(NamedTuple):
    """What a worker sends back for its share of a batch."""

    tokens: list[str]  # each passage's words, space-separated
    normalized: list[str]  # each passage's normalised text
    staged: writer.Staged | None


Documents = tuple[list[dict[str, Any]], list[writer.Staged], list[generation.Postings] | None]


def stage_chunk(index_dir: str, plans: list[tuple[int, dict[str, Any]]], rows: list[Row]) -> Part:
    """In a worker: a staged Whoosh segment of the rows' documents (and of `plans`, whole plans)
    with its sidecar, postings included; and the rows' words as one line each and normalised texts."""
    normalized = [normalize(row.text) for row in rows]
    documents = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
    documents += [store.passage_document(row.plan_id, row, Segmented(row.text, words))
                  for row, words in zip(rows, row_words(rows, normalized))]
    staged = writer.stage(Path(index_dir), documents, generation.passage_postings(normalized))
    tokens = [document["tokens"] for document in documents[len(plans):]]
    return Part(tokens, normalized, staged)


def plan_shares(plans: list[tuple[int, dict[str, Any]]], rows: list[Row], texts: list[str],
                parts: int) -> list[tuple[list[tuple[int, dict[str, Any]]], tuple[int, int]]]:
    """Workers' shares cut at plan boundaries (each staged segment holds whole plans, with
    their plan documents): per share, its plans and its range of `rows`."""
    runs: list[tuple[int, int, int]] = []  # (plan id, first row, end row)
    for i, row in enumerate(rows):
        if runs and runs[-1][0] == row.plan_id:
            runs[-1] = (row.plan_id, runs[-1][1], i + 1)
        else:
            runs.append((row.plan_id, i, i + 1))
    if len({plan_id for plan_id, _, _ in runs}) < len(runs):  # a plan's rows apart: one share
        runs = [(-1, 0, len(rows))]
        parts = 1
    cuts = even_cuts([sum(map(len, texts[a:b])) for _, a, b in runs], parts)
    with_rows = {plan_id for plan_id, _, _ in runs}
    shares = []
    for k, (p, q) in enumerate(cuts):
        mine = {runs[j][0] for j in range(p, q)}
        share = [(i, m) for i, m in plans if i in mine or (k == 0 and (i not in with_rows or runs[0][0] == -1))]
        shares.append((share, (runs[p][1], runs[q - 1][2])))
    return shares


def die_with_parent() -> None:
    """In a worker: be killed when the process that started it dies (Linux), however it dies."""
    c = libc()
    if c is not None and hasattr(c, "prctl"):
        c.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the request took effect
            os._exit(1)


def even_cuts(lengths: list[int], parts: int) -> list[tuple[int, int]]:
    """`parts` consecutive ranges of the items with about equal sums of `lengths` (none empty)."""
    total, cuts, running = sum(lengths), [0], 0
    for i, length in enumerate(lengths):
        running += length
        if len(cuts) < parts and running >= total * len(cuts) / parts and i + 1 < len(lengths):
            cuts.append(i + 1)
    cuts.append(len(lengths))
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def row_words(rows: Sequence[Row], normalized: Sequence[str] | None = None) -> list[list[tuple[str, int, int]]]:
    """Each row's jieba words (of its normalised text, when given), capped per plan (`cap_plan_words`)."""
    found = [segment_normalized(text) for text in normalized] if normalized is not None else [segment(row.text) for row in rows]
    return cap_plan_words([row.plan_id for row in rows], found)
