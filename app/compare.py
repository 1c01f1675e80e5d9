"""How plans treat one theme, side by side: coverage, passages, distinctive terms, commitments.

A theme's passages are those matching it (any term of a dictionary theme; the query for an
ad-hoc one). Counting rules, stated once:
- `mentions`: occurrences of the theme's needles, overlapping matches of different needles
  merged into one (exactly the <mark>s of the highlight), summed over the plan's passages;
- `share`: the matching passages' characters / the plan's characters;
- `per_10k`: mentions per 10,000 characters of the plan.
Relevance is app.search.score (BM25 over literal counts, bonus when the theme is in the
passage's own heading); the best passage of each plan is marked `most_relevant`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

import numpy as np

from app.highlighting import has_border, match_spans
from app.memory import gc_paused
from app.query import QueryError
from app.search import evaluate, parse_filter, passage_view, plan_summary, score
from app.snapshot import Snapshot
from app.themes import Theme
from indexer.cleaning import normalize
from indexer.settings import DATA_DIR

NOT_MENTIONED, MENTIONED = "未提及", "提及"
TOP_TERMS = 10
MAX_SHARED_TERMS = 30
ALPHA0 = 100.0  # total weight of the Dirichlet prior (pseudo-counts spread like the pooled vocabulary)
STATISTIC = {
    "name": "log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008)",
    "compares": "jieba words of this plan's theme passages vs the theme passages of the other compared plans",
    "prior": f"alpha_w = {ALPHA0:g} × the word's share of all compared plans' theme passages",
    "score": "z = delta / sqrt(1/(y_i+alpha_w) + 1/(y_j+alpha_w)); z > 1.96 is notable at 5%",
    "removed": "stop words, numbers, one-character words, words that contain a theme term or are part of one",
}
FILTERS = ("school", "year", "region", "level")

_SENTENCE_END = re.compile(r"[。！？；!?;\n]")  # on the display text (the fold turns \n into a space)
_NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千半]+)"
_SPAN = rf"(?<![第\d.一二两三四五六七八九十百千])(?!(?:三八|五一|五四|六一|七一|八一|十一)节){_NUM}(?:\s*[-~—–至到]\s*{_NUM})?"
# Every alternative starts with a digit, a Chinese numeral, 每, 全 or 零: the lookahead in front
# skips other positions before the lookbehinds are tried there (4.5x the speed, same matches).
_STARTS = r"(?=[\d一二两三四五六七八九十百千半每全零])"
_QUANTIFIED = re.compile(_STARTS + "(?:" + "|".join((
    rf"{_SPAN}\s*(?:个?小时|分钟|课时|节课?|次|天|周|个月|个?学期)",  # 不少于1小时, 2-3小时, 两小时, 至少一次
    r"(?<![第\d.])\d+(?:\.\d+)?\s*(?:个|名|人次?|所|项|篇|本|场|门|类|元|万|岁)",  # 10个, 200名
    r"\d+(?:\.\d+)?\s*%|百分之[一二三四五六七八九十百]+",  # 覆盖率100%, 百分之百
    r"每(?:天|日|周|月|学期|学年|年|季度|节课?|课时|班|生|人)",  # 每天, 每周, 每学期
    r"全覆盖|零(?:事故|发生|容忍)",  # targets without a number
)) + ")")
_NUMERIC_WORD = re.compile(r"\d|^[第一二三四五六七八九十百千万亿两零〇几半]+(?:至|是|年级?|次|个|天|周|月|小时|学期|节|项|名)?$")


class UnknownDocument(QueryError):
    """`documents=` names a plan the index does not hold (a 400, like a bad query)."""

    def __init__(self, document_id: int) -> None:
        super().__init__("unknown_document", f"没有编号为 {document_id} 的计划（documents 参数）。")
        self.document_id = document_id


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """data/stopwords.txt, one word per line (# comments allowed)."""
    lines = (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def parse_documents(text: str | None) -> list[int] | None:
    """`1,2,3` (either comma) -> ids; blank -> None (every plan); QueryError names a bad item."""
    if text is None or not text.strip():
        return None
    ids = []
    for item in text.replace("，", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isascii() or not item.isdigit() or len(item) > 18:
            raise QueryError("bad_documents", f"documents 参数应为逗号分隔的计划编号（例如 1,2,3），“{item[:20]}”不是编号。")
        ids.append(int(item))
    return ids or None


def select_plans(snapshot: Snapshot, document_ids: Sequence[int] | None, filters: Mapping[str, str | None]) -> list[int]:
    """Plan indices to compare: as requested, else every plan by (year, id); filters narrow both."""
    if document_ids:
        chosen: list[int] = []
        for document_id in document_ids:
            plan = snapshot.plan_by_id.get(document_id)
            if plan is None:
                raise UnknownDocument(document_id)
            if plan not in chosen:
                chosen.append(plan)
    else:
        chosen = sorted(range(len(snapshot.plans)),
                        key=lambda p: (snapshot.plans[p].get("year") or 9999, snapshot.plans[p]["id"]))
    keep = np.ones(len(snapshot.plans), bool)
    for name, value in clean_filters(filters).items():
        in_filter = np.zeros(len(snapshot.plans), bool)
        in_filter[snapshot.passage_plan[evaluate(snapshot, parse_filter(name, value))]] = True
        keep &= in_filter
    return [p for p in chosen if keep[p]]


def clean_filters(filters: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v.strip() for k, v in filters.items() if k in FILTERS and v is not None and v.strip()}


def plan_slices(snapshot: Snapshot, hits: np.ndarray, plans: Sequence[int]) -> dict[int, slice]:
    """Each plan's part of `hits` (sorted; a plan's passages are contiguous, so owners are too)."""
    owners = snapshot.passage_plan[hits]
    wanted = np.asarray(plans, np.int32)
    lows, highs = np.searchsorted(owners, wanted, "left"), np.searchsorted(owners, wanted, "right")
    return {int(p): slice(int(lo), int(hi)) for p, lo, hi in zip(wanted, lows, highs)}


def theme_passages(snapshot: Snapshot, theme: Theme) -> np.ndarray:
    """Sorted indices of every passage matching the theme (all plans)."""
    return np.flatnonzero(evaluate(snapshot, theme.node)).astype(np.int32)


def coverages(snapshot: Snapshot, hits: np.ndarray, mentions: np.ndarray, plans: Sequence[int]) -> list[dict[str, Any]]:
    """Per plan of `plans`, {"passages", "share", "mentions", "per_10k"} of the passages of `hits`
    it holds (`mentions`: per hit); zeros when it holds none."""
    owners = snapshot.passage_plan[hits]
    size = len(snapshot.plans)
    passages = np.bincount(owners, minlength=size)[plans].tolist()
    matched = np.bincount(owners, weights=snapshot.lengths[hits], minlength=size)[plans].tolist()
    mentioned = np.bincount(owners, weights=mentions, minlength=size)[plans].tolist()
    out = []
    for count, chars, matched_chars, mention in zip(passages, snapshot.plan_chars[plans].tolist(), matched, mentioned):
        mention = int(mention)
        out.append({
            "passages": count,
            "share": round(int(matched_chars) / chars, 4) if chars else 0.0,
            "mentions": mention,
            "per_10k": round(mention * 10_000 / chars, 2) if chars else 0.0,
        })
    return out


@dataclass
class Mentions:
    """Per passage of a theme's hits: its mentions and the theme's needles it holds."""

    counts: np.ndarray  # int64, one per passage
    held: list[list[str]]  # per passage, the needles it holds: highlighting it needs no others
    spans: dict[int, list[tuple[int, int]]]  # match_spans of the passages scanned to count them


def mention_counts(snapshot: Snapshot, members: np.ndarray, needles: list[str]) -> Mentions:
    """Mentions in each passage: merged match spans, i.e. one per <mark> of the highlight.

    Where exactly one needle occurs in a passage and no two of its occurrences can overlap
    (it has no border: no proper prefix that is also a suffix), the merged spans are its
    occurrences, which the needle's hits already count; other passages are scanned, for the
    needles they hold only.
    """
    live = [n for n in needles if n]
    counts = np.zeros(len(members), np.int64)
    if not len(members) or not live:
        return Mentions(counts, [[] for _ in range(len(members))], {})
    found = np.zeros((len(live), len(members)), bool)
    simple = np.ones(len(members), bool)
    for j, needle in enumerate(live):
        hits = snapshot.find(needle)
        if not len(hits.index):
            continue
        at = np.minimum(np.searchsorted(hits.index, members), len(hits.index) - 1)
        found[j] = hits.index[at] == members
        counts += np.where(found[j], hits.counts[at], 0)
        if has_border(needle):
            simple &= ~found[j]
    present = found.sum(axis=0)
    simple &= present == 1
    keys = np.ascontiguousarray(np.packbits(found, axis=0).T)  # one row of bits per passage
    rows, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    needle_sets = [[live[j] for j in np.flatnonzero(np.unpackbits(row)[: len(live)]).tolist()] for row in rows]
    normalized = snapshot.normalized
    spans = {}
    for k in np.flatnonzero(~simple & (present > 0)).tolist():
        spans[k] = match_spans(normalized[int(members[k])], needle_sets[int(group[k])])
        counts[k] = len(spans[k])
    return Mentions(counts, [needle_sets[g] for g in group.tolist()], spans)


@gc_paused()
def compare(snapshot: Snapshot, theme: Theme, document_ids: Sequence[int] | None = None,
            filters: Mapping[str, str | None] | None = None, per_column: int = 0) -> dict[str, Any]:
    """The comparison: {"theme", "filters", "documents", "mentioning", "statistic", "shared_terms", "columns"}.

    `per_column` > 0 keeps each column's that many best passages (still in document order,
    the most relevant always among them); coverage always counts every matching passage.
    """
    filters = clean_filters(filters or {})
    plans = select_plans(snapshot, document_ids, filters)
    hits = theme_passages(snapshot, theme)
    needles = theme.needles
    scores = score(snapshot, hits, theme.term_nodes)
    by_plan = plan_slices(snapshot, hits, plans)
    mentioning = [p for p in plans if by_plan[p].stop > by_plan[p].start]
    words = theme_words(snapshot, hits, by_plan, mentioning, needles)
    terms = words.distinctive()
    mentions = mention_counts(snapshot, hits, needles)  # every theme passage at once, sliced per column
    covered = coverages(snapshot, hits, mentions.counts, plans)
    rows = _Rows(snapshot, hits, scores, mentions)
    columns = [_column(snapshot, p, rows, by_plan[p], needles, terms.get(p, []), per_column, cover)
               for p, cover in zip(plans, covered)]
    return {
        "theme": theme.describe(),
        "filters": filters,
        "documents": len(columns),
        "mentioning": len(mentioning),
        "statistic": STATISTIC,
        "shared_terms": words.shared(),
        "columns": columns,
    }


class _Rows:
    """The theme passages (`hits`) as Python values, for the per-column loops: a column is the
    slice of them its plan holds."""

    def __init__(self, snapshot: Snapshot, hits: np.ndarray, scores: np.ndarray, mentions: Mentions) -> None:
        self.scores = scores
        self.indices, self.score_list = hits.tolist(), scores.tolist()
        self.counts, self.held, self.spans = mentions.counts.tolist(), mentions.held, mentions.spans
        self.headings = np.flatnonzero(snapshot.heading_lengths[hits]).tolist()  # rows that open with a heading
        self.quantified = [k for k, i in enumerate(self.indices) if _quantified_sentences(snapshot, i)]

    @staticmethod
    def within(rows: list[int], where: slice) -> list[int]:
        """The rows of a sorted list inside `where`, as positions in the column."""
        lo, hi = bisect_left(rows, where.start), bisect_left(rows, where.stop)
        return [k - where.start for k in rows[lo:hi]]


def _column(snapshot: Snapshot, plan: int, rows: _Rows, where: slice, needles: list[str],
            terms: list[dict[str, Any]], per_column: int, cover: dict[str, Any]) -> dict[str, Any]:
    """One plan's column: the theme passages rows[where]."""
    indices, scores = rows.indices[where], rows.score_list[where]
    count = len(indices)
    best = max(range(count), key=scores.__getitem__) if count else -1  # the first of equal scores
    shown: Sequence[int] = range(count)
    if 0 < per_column < count:  # the best ones, back in document order
        shown = sorted(np.lexsort((np.arange(count), -rows.scores[where]))[:per_column].tolist())
    per_passage, held, spans, first = rows.counts[where], rows.held[where], rows.spans, where.start
    passages = []
    for k in shown:
        view = passage_view(snapshot, indices[k], held[k], scores[k], spans.get(first + k))
        view.update(mentions=per_passage[k], most_relevant=k == best)
        passages.append(view)
    return {
        "document": plan_summary(snapshot.plans[plan]),
        "status": MENTIONED if count else NOT_MENTIONED,
        "coverage": {**cover, "prominence": prominence(snapshot, plan, indices, needles, held,
                                                       rows.within(rows.headings, where))},
        "passages": passages,
        "passages_omitted": count - len(passages),
        "distinctive_terms": terms,
        "commitments": commitments(snapshot, indices, held, rows.within(rows.quantified, where)),
    }


def prominence(snapshot: Snapshot, plan: int, indices: list[int], needles: list[str],
               held: Sequence[list[str]], headings: Iterable[int]) -> dict[str, Any]:
    """{"in_heading", "heading_depth" (0 = plan title, 1 = chapter, None), "sections": [paths]}.

    `headings`: the positions k of the passages that open with a heading (every heading opens
    a passage, so a heading naming the theme opens a matching one). `held[k]`: the needles
    passage k holds, enough to test its heading, which is part of its text (unless cut short
    with "…": then every needle is tried)."""
    depths: list[int] = []
    normalized = _normalized_headings(snapshot)
    for k in headings:
        i = indices[k]
        heading = normalized.get(i)
        if heading is None:
            heading = normalized[i] = normalize(snapshot.sections[i][-1])
        tried = needles if heading.endswith("…") else held[k]
        if any(n in heading for n in tried):
            depths.append(0 if _is_title(snapshot, plan, i) else len(snapshot.sections[i]))
    paths = dict.fromkeys(snapshot.sections[i] for i in indices)  # () is the text before the first heading
    return {"in_heading": bool(depths), "heading_depth": min(depths) if depths else None,
            "sections": [list(path) for path in paths]}


def _normalized_headings(snapshot: Snapshot) -> dict[int, str]:
    """Passage index -> its own heading, normalised; filled as comparisons need them."""
    return snapshot.derived.setdefault("compare:headings", {})  # type: ignore[no-any-return]


def _is_title(snapshot: Snapshot, plan: int, i: int) -> bool:
    """The plan's title line is a passage of its own whose one-heading path is the title."""
    title = snapshot.plans[plan].get("title")
    section = snapshot.sections[i]
    return i == snapshot.plan_first[plan] and len(section) == 1 and bool(title) and title.startswith(section[0].rstrip("…"))


@dataclass
class ThemeWords:
    """Content words of each mentioning plan's theme passages, as (plan, word id, count) triples.

    Sorted by plan, then word id. `plans` are the mentioning plans in the order given
    (`plan` indexes into it); every word id indexes `snapshot.vocabulary`.
    """

    vocabulary: list[str]
    plans: list[int]
    plan: np.ndarray
    word: np.ndarray
    count: np.ndarray

    def distinctive(self, top: int = TOP_TERMS) -> dict[int, list[dict[str, Any]]]:
        """Per plan, the words over-represented in its theme passages against the rest of the
        compared plans (all mentioning plans pooled, its own included):
        [{"term", "z", "count", "others"}], z > 0, best first (then count, then the word)."""
        if not len(self.word):
            return {}
        y_i = self.count.astype(np.float64)
        pooled = np.bincount(self.word, weights=self.count, minlength=len(self.vocabulary))
        n_pool = float(pooled.sum())
        n_i = np.bincount(self.plan, weights=self.count, minlength=len(self.plans))[self.plan]
        n_j = n_pool - n_i
        alpha = ALPHA0 * pooled[self.word] / n_pool
        y_j = pooled[self.word] - y_i
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = _log_odds(y_i + alpha, n_i + ALPHA0) - _log_odds(y_j + alpha, n_j + ALPHA0)
            z = delta / np.sqrt(1 / (y_i + alpha) + 1 / (y_j + alpha))
        # a plan's top ones, ties included (with fewer than `top` positive z, its cutoff is not positive)
        keep = np.flatnonzero((z > 0) & (z >= self._cutoffs(z, top)[self.plan]))
        rank = self._word_rank(self.word[keep])
        order = keep[np.lexsort((rank, -y_i[keep], -z[keep], self.plan[keep]))]
        order = order[_position_in_run(self.plan[order]) < top]
        vocabulary = self.vocabulary
        rows = [{"term": vocabulary[w], "z": score, "count": count, "others": others}
                for w, score, count, others in zip(self.word[order].tolist(), rounded(z[order], 3),
                                                   self.count[order].tolist(), y_j[order].astype(np.int64).tolist())]
        owners = self.plan[order]  # sorted: each plan's rows are contiguous
        starts = _run_starts(owners)
        ends = np.r_[starts[1:], len(owners)]
        return {self.plans[p]: rows[a:b] for p, a, b in zip(owners[starts].tolist(), starts.tolist(), ends.tolist())}

    def _cutoffs(self, z: np.ndarray, top: int) -> np.ndarray:
        """Per plan, the `top`-th largest z (-inf with fewer rows): only those at or above it
        can rank among its `top`, so the full four-key sort runs on a few rows."""
        cutoffs = np.full(len(self.plans), -np.inf)
        if not len(z):
            return cutoffs
        by_z = np.argsort(-z)  # the order of equal z does not change the cutoff
        owners = self.plan[by_z]
        small = owners.astype(np.int16) if len(self.plans) < 2**15 else owners  # 16 bits: a radix sort
        by_plan = by_z[np.argsort(small, kind="stable")]  # by plan, then z descending
        owners = self.plan[by_plan]
        at = np.flatnonzero(_position_in_run(owners) == top - 1)
        cutoffs[owners[at]] = z[by_plan[at]]
        return cutoffs

    def shared(self) -> list[dict[str, Any]]:
        """Words in the theme passages of at least half (and two) of the mentioning plans:
        [{"term", "plans", "count"}], most plans first (then count, then the word)."""
        if len(self.plans) < 2 or not len(self.word):
            return []
        holders = np.bincount(self.word, minlength=len(self.vocabulary))
        total = np.bincount(self.word, weights=self.count, minlength=len(self.vocabulary)).astype(np.int64)
        need = max(2, math.ceil(len(self.plans) / 2))
        found = np.flatnonzero(holders >= need)
        if not len(found):
            return []
        names = [self.vocabulary[w] for w in found.tolist()]
        ranked = sorted(range(len(found)), key=lambda k: (-holders[found[k]], -total[found[k]], names[k]))
        return [{"term": names[k], "plans": int(holders[found[k]]), "count": int(total[found[k]])}
                for k in ranked[:MAX_SHARED_TERMS]]

    def _word_rank(self, words: np.ndarray) -> np.ndarray:
        """For each of `words` (ids), its position among them in string order: the last tie-break."""
        present, inverse = np.unique(words, return_inverse=True)
        order = np.argsort(np.argsort([self.vocabulary[w] for w in present.tolist()], kind="stable"))
        return order[inverse.reshape(-1)]


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else np.zeros(0, np.int64)


def _position_in_run(values: np.ndarray) -> np.ndarray:
    """Each element's position within its run of equal values (0 for the first) in a sorted array."""
    starts = _run_starts(values)
    return np.arange(len(values)) - np.repeat(starts, np.diff(np.r_[starts, len(values)]))


def theme_words(snapshot: Snapshot, hits: np.ndarray, by_plan: Mapping[int, slice],
                mentioning: Sequence[int], needles: list[str]) -> ThemeWords:
    """The jieba words of each mentioning plan's theme passages, without stop words, numbers,
    one-character words and words that contain a theme term or are part of one."""
    members = np.concatenate([hits[by_plan[p]] for p in mentioning]) if mentioning else np.empty(0, np.int32)
    owners = np.repeat(np.arange(len(mentioning)), [by_plan[p].stop - by_plan[p].start for p in mentioning])
    ids, which = snapshot.word_ids_of(members)
    size = max(len(snapshot.vocabulary), 1)
    present = np.flatnonzero(np.bincount(ids, minlength=size))
    present = present[_content_words(snapshot)(present)]
    wanted = np.zeros(size, bool)
    wanted[present[~_related(snapshot.vocabulary, present, needles)]] = True
    keep = wanted[ids]  # before counting: fewer rows to sort
    combined, counts = np.unique(owners[which[keep]].astype(np.int64) * size + ids[keep], return_counts=True)
    return ThemeWords(snapshot.vocabulary, list(mentioning), combined // size, combined % size, counts)


def _content_words(snapshot: Snapshot) -> Any:
    """A function: word ids -> whether each can be a term (computed once per word per snapshot)."""
    key = "compare:content-words"
    if key not in snapshot.derived:
        vocabulary = snapshot.vocabulary  # not the snapshot: a cycle would keep it alive after a reload
        flags = np.full(max(len(vocabulary), 1), -1, np.int8)
        stop = stopwords()

        def content(ids: np.ndarray) -> np.ndarray:
            for w in ids[flags[ids] < 0].tolist():
                text = vocabulary[w]
                flags[w] = len(text) > 1 and text not in stop and not _NUMERIC_WORD.search(text)
            return flags[ids] == 1

        snapshot.derived[key] = content
    return snapshot.derived[key]


def _related(vocabulary: Sequence[str], ids: np.ndarray, needles: Sequence[str]) -> np.ndarray:
    """For each word id, whether the word contains a needle or is part of one: a needle found
    in the words joined by NUL (words never hold one: `clean()` drops control characters),
    each substring of a needle looked up among the words."""
    texts = [vocabulary[w] for w in ids.tolist()]
    related = np.zeros(len(texts), bool)
    if any(not needle for needle in needles):
        related[:] = True  # the empty string is part of every word
        return related
    joined = "\0".join(texts)
    starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))  # where each word begins in `joined`
    position = {text: k for k, text in enumerate(texts)}
    for needle in needles:
        at = joined.find(needle) if "\0" not in needle else -1
        while at >= 0:
            related[bisect_right(starts, at) - 1] = True
            at = joined.find(needle, at + 1)
        for a in range(len(needle)):
            for b in range(a + 1, len(needle) + 1):
                k = position.get(needle[a:b])
                if k is not None:
                    related[k] = True
    return related


def rounded(values: np.ndarray, digits: int) -> list[float]:
    """[round(v, digits) for v in values], the same floats, a vector at a time.

    rint(v * 10**digits) is the correctly rounded integer unless v * 10**digits lies so near a
    half that the product's own rounding error (half an ulp) could tip it: those few, and
    values too large or not finite, go to Python's round. Dividing the integer by 10**digits
    gives the float nearest the decimal, as round() does."""
    scale = 10.0 ** digits
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        nearest = np.rint(scaled)
        out: list[float] = (nearest / scale).tolist()
        clear = np.abs(np.abs(scaled - nearest) - 0.5) > 1e-6 + np.abs(scaled) * 2.0**-50
        clear &= np.abs(scaled) < 2.0**52
    for k in np.flatnonzero(~clear).tolist():
        out[k] = round(float(values[k]), digits)
    return out


def _log_odds(count: np.ndarray, total: np.ndarray) -> np.ndarray:
    return np.log(count / np.maximum(total - count, 1e-9))


def commitments(snapshot: Snapshot, indices: list[int], needles: Sequence[list[str]],
                stating: Iterable[int]) -> list[dict[str, Any]]:
    """Sentences of the passages with numbers, frequencies, durations or targets:
    [{"text", "passage_id", "mentions_theme"}] in document order, duplicates dropped.
    `stating`: the positions k of the passages that have such sentences, in order;
    `needles[k]`: the theme's needles to look for in passage k (those it holds suffice)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for k in stating:
        i = indices[k]
        text, folded = snapshot.texts[i], snapshot.normalized[i]
        for start, end in _quantified_sentences(snapshot, i):
            sentence, fold = text[start:end].strip(), folded[start:end]
            if sentence not in seen:
                seen.add(sentence)
                out.append({"text": sentence, "passage_id": int(snapshot.passage_ids[i]),
                            "mentions_theme": any(n in fold for n in needles[k])})
    return out


def _quantified_sentences(snapshot: Snapshot, i: int) -> list[tuple[int, int]]:
    """(start, end) of the passage's sentences that state a quantity; remembered per snapshot
    (a property of the text, whatever the theme: later comparisons skip the regex)."""
    cache = snapshot.derived.setdefault("compare:quantified", {})
    found = cache.get(i)
    if found is None:
        found = cache[i] = quantified_sentences(snapshot.texts[i], snapshot.normalized[i])
    return found  # type: ignore[no-any-return]


def quantified_sentences(text: str, folded: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of `text` (a sentence ends after 。！？；!?; or a line)
    that state a quantity: those in which `_QUANTIFIED` matches `folded` (the normalised text).

    One scan of the whole passage instead of one search per sentence: a match inside a
    sentence is one the sentence alone gives too (a sentence starts after an end mark, which no
    lookbehind of the pattern refuses). A match that runs on into the next sentence (its white
    space crosses a folded line break) is not one, and may hide one that starts inside it, so the
    sentences it touches are searched alone.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    hits: set[int] = set()
    touched: set[int] = set()
    for m in _QUANTIFIED.finditer(folded):
        k = bisect_right(ends, m.start())  # the sentence the match starts in
        if m.end() <= ends[k]:
            hits.add(k)
        else:
            touched.update(range(k, bisect_right(ends, m.end() - 1) + 1))
    for k in touched - hits:
        if _QUANTIFIED.search(folded[ends[k - 1] if k else 0 : ends[k]]):
            hits.add(k)
    spans = ((ends[k - 1] if k else 0, ends[k]) for k in sorted(hits))
    return [(start, end) for start, end in spans if text[start:end].strip()]


def is_quantified(sentence: str) -> bool:
    """Whether a (normalised) sentence states a number, frequency, duration or target."""
    return _QUANTIFIED.search(sentence) is not None


@gc_paused()
def matrix(snapshot: Snapshot, themes: Sequence[Theme], document_ids: Sequence[int] | None = None,
           filters: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Themes × plans: {"themes", "filters", "documents": [plan…], "rows": [{"theme", "cells": [...]}]}."""
    filters = clean_filters(filters or {})
    plans = select_plans(snapshot, document_ids, filters)
    rows = []
    for theme in themes:
        hits = theme_passages(snapshot, theme)
        counted = mention_counts(snapshot, hits, theme.needles).counts
        cells = [{"document_id": snapshot.plans[p]["id"], **cover}
                 for p, cover in zip(plans, coverages(snapshot, hits, counted, plans))]
        rows.append({"theme": theme.name, "cells": cells})
    return {
        "themes": [t.describe() for t in themes],
        "filters": filters,
        "documents": [plan_summary(snapshot.plans[p]) for p in plans],
        "rows": rows,
    }
