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
from indexer.analysis import Segmented, segment, segment_normalized
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
    Whoosh segment staged under the index folder (`store.stage`); the commit that follows
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
        workers staged holding them (none: the documents are still to be written here) and
        the passages' (chars, bigrams) postings when the workers computed them."""
        head = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
        texts = [row.text for row in rows]
        if sum(map(len, texts)) < self.parallel_chars or self.workers == 1:
            documents = head + [store.passage_document(row.plan_id, row, Segmented(row.text, words))
                                for row, words in zip(rows, segment_chunk(texts))]
            return lambda: (documents, [], None)
        if self._pool is None:
            segment("预热")  # load jieba once in this process: forked workers share it
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("fork"), initializer=die_with_parent)
        bounds = even_cuts([len(t) for t in texts], self.workers)
        futures = [self._pool.submit(stage_chunk, str(self.index_dir), plans if k == 0 else [], rows[a:b])
                   for k, (a, b) in enumerate(bounds)]

        def result() -> Documents:
            done: list[Part] = [future.result() for future in futures]
            lines = [line for part in done for line in part.tokens]
            normalized = [text for part in done for text in part.normalized]
            documents = head + [{**store.passage_document(row.plan_id, row, None, tokens=line), "normalized": text}
                                for row, line, text in zip(rows, lines, normalized)]
            postings = [generation.concatenate_postings([(part.postings[k], len(part.tokens)) for part in done])
                        for k in range(2)]
            return documents, [part.staged for part in done if part.staged is not None], postings

        return result


class Part(NamedTuple):
    """What a worker sends back for its share of a batch."""

    tokens: list[str]  # each passage's words, space-separated
    normalized: list[str]  # each passage's normalised text
    postings: tuple[generation.Postings, generation.Postings]  # (chars, bigrams), passages from 0
    staged: store.Staged | None


Documents = tuple[list[dict[str, Any]], list[store.Staged], list[generation.Postings] | None]


def stage_chunk(index_dir: str, plans: list[tuple[int, dict[str, Any]]], rows: list[Row]) -> Part:
    """In a worker: a staged Whoosh segment of the rows' documents (and of `plans`), and what the
    serving state needs of the rows besides what the committing process has: their words as one
    line each (cheaper to send back than the words' offsets), normalised texts and postings."""
    normalized = [normalize(row.text) for row in rows]
    documents = [store.plan_document(plan_id, meta) for plan_id, meta in plans]
    documents += [store.passage_document(row.plan_id, row, Segmented(row.text, segment_normalized(text)))
                  for row, text in zip(rows, normalized)]
    staged = store.stage(Path(index_dir), documents)
    tokens = [document["tokens"] for document in documents[len(plans):]]
    return Part(tokens, normalized, generation.passage_postings(normalized), staged)


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


def segment_chunk(texts: list[str]) -> list[list[tuple[str, int, int]]]:
    return [segment(text) for text in texts]
