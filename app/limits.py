"""Heavy requests bounded: how many run at once, and how large one answer may grow.

Comparisons, matrices and their exports (and any other route that builds an answer over
every plan) take a slot (`Heavy`, a dependency) for as long as they run; past
PLANS_HEAVY_REQUESTS at once the next one gets 503 with Retry-After at once, instead of
queueing up memory. Searches take no slot, so they keep answering while heavy work runs
(plain `def` handlers: the work runs in the threadpool, never on the event loop). Before a
comparison is built, the passages it would hold are counted; past PLANS_MAX_ANSWER_PASSAGES
it is a 400 that says how to narrow it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request

from app.compare import plan_selection, plan_slices, theme_passages
from app.priority import searching
from app.selection import clean_filters
from app.snapshot import Snapshot
from app.themes import Theme
from indexer.errors import AnswerTooLarge, Busy

RETRY_AFTER = 2  # seconds: about one heavy answer over 2,000 plans
CELLS_PER_PASSAGE = 10  # a matrix cell (four numbers) weighs about a tenth of a passage with its text


class HeavyWork:
    """At most `slots` heavy requests at once; the next one is refused (Busy), never queued."""

    def __init__(self, slots: int, retry_after: int = RETRY_AFTER) -> None:
        self.slots = slots
        self.retry_after = retry_after
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._semaphore.acquire(blocking=False):
            raise Busy(f"服务器正忙：同时进行的比较、矩阵或导出已达上限（{self.slots} 个，PLANS_HEAVY_REQUESTS），"
                       f"请 {self.retry_after} 秒后重试。", retry_after=self.retry_after)
        try:
            yield
        finally:
            self._semaphore.release()


def heavy_slot(request: Request) -> Iterator[None]:
    """A dependency holding one of the app's heavy-work slots while the route runs."""
    with request.app.state.heavy.slot():
        yield


Heavy = Annotated[None, Depends(heavy_slot, scope="request")]  # held until the answer is sent


def _download(request: Request) -> bool:
    """A file download (`format=csv|xlsx`) rather than a JSON page."""
    return request.query_params.get("format", "json") != "json"


def file_slot(request: Request) -> Iterator[None]:
    """A heavy-work slot only for a file download (`format=csv|xlsx`); JSON pages take none."""
    if not _download(request):
        yield
        return
    with request.app.state.heavy.slot():
        yield


HeavyFile = Annotated[None, Depends(file_slot, scope="request")]


def search_first(request: Request) -> Iterator[None]:
    """A dependency marking a search as running until it is answered: heavy work gives way to
    it meanwhile (app.priority). A download (`format=csv|xlsx`) is heavy work itself: unmarked."""
    if _download(request):
        yield
        return
    with searching():
        yield


SearchFirst = Annotated[None, Depends(search_first, scope="request")]


def comparison_passages(snapshot: Snapshot, theme: Theme, document_ids: Sequence[int] | None,
                        filters: Mapping[str, str | None], per_column: int) -> int:
    """How many passages `compare` would return: per chosen plan its matches, at most `per_column` (0: all)."""
    plans = plan_selection(snapshot, theme, document_ids, clean_filters(filters))
    by_plan = plan_slices(snapshot, theme_passages(snapshot, theme), plans)
    counts = [where.stop - where.start for where in by_plan.values()]
    return sum(min(count, per_column) for count in counts) if per_column else sum(counts)


def check_comparison(passages: int, limit: int, *, export: bool) -> None:
    """AnswerTooLarge (400) past `limit` passages, saying which parameters narrow the answer."""
    if passages <= limit:
        return
    how = ("导出包含每个匹配段落：请用 documents 选择计划，或用 school、year、region、level 筛选" if export else
           "请用 per_column 限制每列的段落数（例如 per_column=8），用 documents 选择计划，或用 school、year、region、level 筛选")
    raise AnswerTooLarge(f"结果太大：这次比较会返回 {passages:,} 个段落，上限 {limit:,}（PLANS_MAX_ANSWER_PASSAGES）。{how}。")


def check_matrix(cells: int, limit: int) -> None:
    """AnswerTooLarge (400) past `limit` × CELLS_PER_PASSAGE cells (themes × plans)."""
    if cells > limit * CELLS_PER_PASSAGE:
        raise AnswerTooLarge(f"结果太大：这个矩阵有 {cells:,} 个格子，上限 {limit * CELLS_PER_PASSAGE:,}"
                             f"（PLANS_MAX_ANSWER_PASSAGES × {CELLS_PER_PASSAGE}）。"
                             "请用 themes 选择主题，用 documents 选择计划，或用 school、year、region、level 筛选。")
