"""Distinctive and shared terms: the jieba words a plan's theme passages use more than the
other compared plans' (log-odds with an informative Dirichlet prior), and those most share."""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

import numpy as np

from app.derived import PerGeneration
from app.snapshot import Snapshot
from indexer.settings import DATA_DIR

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
_NUMERIC_WORD = re.compile(r"\d|^[第一二三四五六七八九十百千万亿两零〇几半]+(?:至|是|年级?|次|个|天|周|月|小时|学期|节|项|名)?$")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """data/stopwords.txt, one word per line (# comments allowed)."""
    lines = (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))



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


def _content_test(snapshot: Snapshot) -> Callable[[np.ndarray], np.ndarray]:
    vocabulary = snapshot.vocabulary  # not the snapshot: a cycle would keep it alive after a reload
    flags = np.full(max(len(vocabulary), 1), -1, np.int8)
    stop = stopwords()

    def content(ids: np.ndarray) -> np.ndarray:
        for w in ids[flags[ids] < 0].tolist():
            text = vocabulary[w]
            flags[w] = len(text) > 1 and text not in stop and not _NUMERIC_WORD.search(text)
        return flags[ids] == 1

    return content


_CONTENT_WORDS = PerGeneration("content-word test", _content_test)


def _content_words(snapshot: Snapshot) -> Callable[[np.ndarray], np.ndarray]:
    """A function: word ids -> whether each can be a term (computed once per word per generation)."""
    return _CONTENT_WORDS.of(snapshot)


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
