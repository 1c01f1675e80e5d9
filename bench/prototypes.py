"""What the proposed fixes would gain, measured without touching app/ or indexer/.

    .venv/bin/python -m bench.prototypes --plans 2000

Each experiment runs the current code and a variant side by side (the variant patched in
this process only) and reports CPU or wall seconds:
- indexing: Whoosh's per-posting stat() for the unscorable `grams` field (cached, or avoided
  by making `grams` scorable), and the `words` postings that nothing reads (dropped); CPU
  seconds, one process, on a subset;
- bigram postings built with numpy instead of Whoosh (the candidate filter the Snapshot uses);
- Snapshot start-up from one pickled file instead of unpickling every stored document;
- compare() over 50, 200 and all plans (its cost follows the columns it returns);
- cold search with facet counts by np.bincount over per-plan value codes, and with bigram
  postings read from a numpy CSR instead of iterating Whoosh postings (same results checked).
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from app.snapshot import Snapshot
from indexer.settings import get_settings

VAR = Path("bench/var")


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, value)."""
    used, started = cpu(), time.perf_counter()
    value = function()
    return time.perf_counter() - started, cpu() - used, value


# -- indexing -------------------------------------------------------------------------------------


@contextmanager
def cached_missing_columns() -> Iterator[None]:
    """Whoosh-Reloaded 2.7.5 stats the file system once per posting when a field has no length column."""
    from whoosh.codec import whoosh3

    original = whoosh3.W3PerDocReader._cached_reader

    def cached(self: Any, fieldname: str, column: Any) -> Any:
        if fieldname not in self._readers:
            self._readers[fieldname] = original(self, fieldname, column)
        return self._readers[fieldname]

    whoosh3.W3PerDocReader._cached_reader = cached
    try:
        yield
    finally:
        whoosh3.W3PerDocReader._cached_reader = original


@contextmanager
def scorable_grams() -> Iterator[None]:
    """The one-line schema fix: `grams` scorable, so it has a length column and Whoosh finds it."""
    from whoosh import fields, formats

    from indexer import schema, store
    from indexer.analysis import BigramTokenizer

    build = schema.build_schema

    def build_schema() -> Any:
        built = build()
        built.remove("grams")
        built.add("grams", fields.FieldType(formats.Existence(), BigramTokenizer(), scorable=True))
        return built

    schema.build_schema = store.build_schema = build_schema  # type: ignore[attr-defined]
    try:
        yield
    finally:
        schema.build_schema = store.build_schema = build  # type: ignore[attr-defined]


@contextmanager
def without_word_postings() -> Iterator[None]:
    """Drop the `words` field (jieba postings no reader uses); the stored `tokens` stay."""
    from indexer import pipeline, schema, store

    build, document = schema.build_schema, store.passage_document

    def build_schema() -> Any:
        built = build()
        built.remove("words")
        return built

    def passage_document(plan_id: int, passage: Any, words: Any) -> dict[str, Any]:
        out = document(plan_id, passage, words)
        out.pop("words")
        return out

    schema.build_schema = store.build_schema = build_schema  # type: ignore[attr-defined]
    store.passage_document = pipeline.store.passage_document = passage_document
    try:
        yield
    finally:
        schema.build_schema = store.build_schema = build  # type: ignore[attr-defined]
        store.passage_document = pipeline.store.passage_document = document


def indexing_variants(corpus: Path, plans: int, repeats: int) -> dict[str, Any]:
    from indexer.pipeline import Pipeline

    subset = VAR / f"proto-corpus-{plans}"
    shutil.rmtree(subset, ignore_errors=True)
    subset.mkdir(parents=True)
    for path in sorted(corpus.glob("*.txt"))[:plans]:
        shutil.copy(path, subset / path.name)
    chars = sum(len(p.read_text(encoding="utf-8")) for p in subset.glob("*.txt"))

    def run() -> None:
        home = VAR / "proto-home"
        shutil.rmtree(home, ignore_errors=True)
        Pipeline(get_settings(plans_home=home, plans_workers=1)).index([subset])

    variants: dict[str, Callable[[], Any]] = {
        "current": _plain,
        "stat cached": cached_missing_columns,
        "grams scorable": scorable_grams,
        "stat cached, no words postings": _both,
    }
    run()  # jieba and imports loaded once, outside the measurements
    out: dict[str, Any] = {"plans": plans, "chars": chars}
    for _ in range(repeats):
        for name, context in variants.items():
            with context():
                wall, used, _ = measure(run)
            out.setdefault(name, {"wall": [], "cpu": []})
            out[name]["wall"].append(wall)
            out[name]["cpu"].append(used)
            print(f"indexing {plans} plans, {name}: {wall:.1f} s wall, {used:.1f} s CPU", flush=True)
    for name in variants:
        out[name]["cpu_median"] = float(np.median(out[name]["cpu"]))
        out[name]["chars_per_cpu_s"] = chars / out[name]["cpu_median"]
    return out


@contextmanager
def _plain() -> Iterator[None]:
    yield


@contextmanager
def _both() -> Iterator[None]:
    with cached_missing_columns(), without_word_postings():
        yield


def numpy_bigrams(normalized: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct bigram codes, offsets, passage indices): postings of every bigram without a space, CSR."""
    codes, owners = [], []
    for i, text in enumerate(normalized):
        chars = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
        if len(chars) < 2:
            continue
        pairs = (chars[:-1] << np.uint64(32)) | chars[1:]
        keep = (chars[:-1] != 32) & (chars[1:] != 32)
        unique = np.unique(pairs[keep])
        codes.append(unique)
        owners.append(np.full(len(unique), i, np.int32))
    flat, who = np.concatenate(codes), np.concatenate(owners)
    order = np.argsort(flat, kind="stable")
    flat, who = flat[order], who[order]
    keys, starts = np.unique(flat, return_index=True)
    return keys, np.append(starts, len(flat)), who


# -- snapshot -----------------------------------------------------------------------------------------


def snapshot_from_pickle(snapshot: Snapshot, path: Path) -> dict[str, float]:
    """Write what a Snapshot holds to one pickle (as the indexer could, per generation) and time its load."""
    state = {k: v for k, v in vars(snapshot).items() if not k.startswith("_") or k in ("_docnum_map", "_plan_docnums")}
    state.pop("_reader", None)
    with path.open("wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        with path.open("rb") as handle:
            pickle.load(handle)
        loads.append(time.perf_counter() - started)
    lean = {k: v for k, v in state.items() if k not in ("normalized", "tokens")}
    lean_path = path.with_suffix(".lean.pickle")
    with lean_path.open("wb") as handle:
        pickle.dump(lean, handle, protocol=pickle.HIGHEST_PROTOCOL)
    started = time.perf_counter()
    with lean_path.open("rb") as handle:
        loaded = pickle.load(handle)
    from indexer.cleaning import normalize

    [normalize(t) for t in loaded["texts"]]
    lean_s = time.perf_counter() - started
    return {"bytes": path.stat().st_size, "load_s_median": float(np.median(loads)),
            "without_normalized_and_tokens_then_normalize_s": lean_s}


# -- search ---------------------------------------------------------------------------------------------


class _FacetCodes:
    """Per plan, the index of its value in each facet (-1 for none): facets become bincounts."""

    def __init__(self, snapshot: Snapshot) -> None:
        from app.search import FACETS, plan_field

        self.columns = []
        for name in FACETS:
            values = [plan_field(meta, name) for meta in snapshot.plans]
            distinct = sorted({v for v in values if v is not None})
            position = {v: i for i, v in enumerate(distinct)}
            codes = np.array([position[v] if v is not None else -1 for v in values], np.int64)
            self.columns.append((name, codes, distinct))


def fast_facets(snapshot: Snapshot, plan_of_hit: np.ndarray, *, _codes: dict[int, _FacetCodes] = {}) -> dict[str, Any]:
    """app.search.facets with the per-plan values encoded once per snapshot."""
    codes = _codes.get(id(snapshot))
    if codes is None:
        _codes.clear()
        codes = _codes[id(snapshot)] = _FacetCodes(snapshot)
    per_plan = np.bincount(plan_of_hit, minlength=len(snapshot.plans))
    out = {}
    for name, column, distinct in codes.columns:
        valid = column >= 0
        counts = np.bincount(column[valid], weights=per_plan[valid], minlength=len(distinct)).astype(np.int64)
        nonzero = np.flatnonzero(counts)
        pairs = sorted(((distinct[i], int(counts[i])) for i in nonzero), key=lambda kv: (-kv[1], kv[0]))
        out[name] = [{"value": v, "count": c} for v, c in pairs]
    return out


class _Postings:
    """Bigram postings of a snapshot as CSR arrays: keys (sorted codes), offsets, passage indices."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.keys, self.offsets, self.owners = numpy_bigrams(snapshot.normalized)


class _ExactPostings:
    """Character and bigram postings with, per posting, the mention count and the first offset.

    For a needle of one character, or two different characters without a space, the postings
    are the answer itself: no passage text is touched.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.tables = {1: self._build(snapshot.normalized, 1), 2: self._build(snapshot.normalized, 2)}

    @staticmethod
    def _build(texts: list[str], n: int) -> tuple[np.ndarray, ...]:
        keys, owners, counts, firsts = [], [], [], []
        for i, text in enumerate(texts):
            chars = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
            if len(chars) < n:
                continue
            if n == 1:
                codes, keep = chars, chars != 32
            else:
                codes = (chars[:-1] << np.uint64(32)) | chars[1:]
                keep = (chars[:-1] != 32) & (chars[1:] != 32)
            positions = np.flatnonzero(keep)
            unique, first, count = np.unique(codes[positions], return_index=True, return_counts=True)
            keys.append(unique)
            owners.append(np.full(len(unique), i, np.int32))
            counts.append(count.astype(np.int32))
            firsts.append(positions[first].astype(np.int32))
        flat = np.concatenate(keys)
        order = np.argsort(flat, kind="stable")
        flat = flat[order]
        distinct, starts = np.unique(flat, return_index=True)
        return (distinct, np.append(starts, len(flat)), np.concatenate(owners)[order],
                np.concatenate(counts)[order], np.concatenate(firsts)[order])

    def hits(self, needle: str) -> Any:
        from app.snapshot import EMPTY_HITS, Hits

        keys, offsets, owners, counts, firsts = self.tables[len(needle)]
        code = ord(needle[0]) if len(needle) == 1 else (ord(needle[0]) << 32) | ord(needle[1])
        at = int(np.searchsorted(keys, np.uint64(code)))
        if at >= len(keys) or keys[at] != code:
            return EMPTY_HITS
        part = slice(offsets[at], offsets[at + 1])
        return Hits(owners[part], counts[part], firsts[part])


def exact_find(self: Snapshot, needle: str, *, _built: dict[int, _ExactPostings] = {}, _original: list[Any] = []) -> Any:
    """Snapshot._find answering 1- and 2-character needles from postings (str.count semantics kept)."""
    short = 0 < len(needle) <= 2 and " " not in needle and not (len(needle) == 2 and needle[0] == needle[1])
    if not short:
        return _original[0](self, needle)
    postings = _built.get(id(self))
    if postings is None:
        _built.clear()
        postings = _built[id(self)] = _ExactPostings(self)
    return postings.hits(needle)


def csr_candidates(self: Snapshot, needle: str, *, _built: dict[int, _Postings] = {}) -> list[int] | None:
    """Snapshot._candidates with the same rule (two rarest bigrams, scan above SCAN_FRACTION) over CSR arrays."""
    from app.snapshot import SCAN_FRACTION
    from indexer.analysis import bigrams

    postings = _built.get(id(self))
    if postings is None:
        _built.clear()
        postings = _built[id(self)] = _Postings(self)
    pairs = bigrams(needle)
    if not pairs:
        return None
    codes = np.array(sorted((ord(p[0]) << 32) | ord(p[1]) for p in pairs), np.uint64)
    at = np.minimum(np.searchsorted(postings.keys, codes), len(postings.keys) - 1)
    if not np.all(postings.keys[at] == codes):
        return []
    frequencies = sorted(zip((postings.offsets[at + 1] - postings.offsets[at]).tolist(), at.tolist()))
    if frequencies[0][0] > SCAN_FRACTION * self.size:
        return None

    def posting(k: int) -> np.ndarray:
        return postings.owners[postings.offsets[k] : postings.offsets[k + 1]]

    found = posting(frequencies[0][1])
    if len(frequencies) > 1 and frequencies[1][0] <= 4 * frequencies[0][0]:
        found = np.intersect1d(found, posting(frequencies[1][1]), assume_unique=True)
    return found.tolist()


def search_variants(snapshot: Snapshot, runs: int) -> dict[str, Any]:
    """Cold latency per class: current code, cached facet codes, and both with CSR postings."""
    from app import search as module
    from app.search import SearchRequest
    from app.snapshot import Snapshot as SnapshotClass
    from bench.queries import query_mix

    mix = query_mix(snapshot)
    original_facets, original_candidates = module.facets, SnapshotClass._candidates
    started = time.perf_counter()
    fast_facets(snapshot, snapshot.passage_plan[:1])
    facet_setup = time.perf_counter() - started
    started = time.perf_counter()
    csr_candidates(snapshot, "预热")
    csr_setup = time.perf_counter() - started

    original_find = SnapshotClass._find
    exact_find.__kwdefaults__["_original"][:] = [original_find]  # type: ignore[index]
    started = time.perf_counter()
    exact_find(snapshot, "预")
    exact_setup = time.perf_counter() - started

    def apply(variant: str) -> None:
        module.facets = fast_facets if variant != "current" else original_facets
        csr = variant in ("facets + CSR postings", "facets + CSR + exact short needles")
        SnapshotClass._candidates = csr_candidates if csr else original_candidates  # type: ignore[method-assign]
        exact = variant == "facets + CSR + exact short needles"
        SnapshotClass._find = exact_find if exact else original_find  # type: ignore[method-assign]

    out: dict[str, Any] = {"facet_codes_setup_s": facet_setup, "csr_build_s": csr_setup,
                           "exact_postings_build_s": exact_setup, "classes": {}}
    expected = {}
    try:
        for variant in ("current", "facets cached", "facets + CSR postings", "facets + CSR + exact short needles"):
            apply(variant)
            every = []
            for cls, queries in mix.items():
                timings = []
                for q in queries:
                    request = SearchRequest(q=q, per_group=3)
                    snapshot.clear_cache()
                    result = module.search(snapshot, request)
                    if variant == "current":
                        expected[q] = result
                    elif result != expected[q]:
                        raise AssertionError(f"{variant} changes the result of {q!r}")
                    for _ in range(runs):
                        snapshot.clear_cache()
                        started = time.perf_counter()
                        module.search(snapshot, request)
                        timings.append((time.perf_counter() - started) * 1000)
                every += timings
                out["classes"].setdefault(cls, {})[variant] = {
                    "median": float(np.median(timings)), "p95": float(np.percentile(timings, 95))}
            out.setdefault("all", {})[variant] = {"median": float(np.median(every)), "p95": float(np.percentile(every, 95))}
            print(f"search cold, {variant}: median {np.median(every):.1f} ms, p95 {np.percentile(every, 95):.1f} ms", flush=True)
    finally:
        apply("current")
    return out


def compare_sizes(snapshot: Snapshot) -> dict[str, Any]:
    """compare(劳动教育) over the first 50, 200 and all plans: time and JSON size grow with the columns."""
    from app.compare import compare
    from app.themes import load_themes

    theme = load_themes(get_settings().plans_themes).resolve("劳动教育")
    ids = [meta["id"] for meta in snapshot.plans]
    out = {}
    for count in (50, 200, len(ids)):
        timings = []
        for _ in range(3):
            snapshot.clear_cache()
            wall, _, result = measure(lambda: compare(snapshot, theme, ids[:count]))
            timings.append(wall * 1000)
        size = len(json.dumps(result, ensure_ascii=False).encode())
        out[str(count)] = {"ms_median": float(np.median(timings)), "json_bytes": size}
        print(f"compare(劳动教育) over {count} plans: {np.median(timings):.0f} ms, {size:,} bytes of JSON", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--index-plans", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--only", choices=("search", "indexing", "compare", "all"), default="all")
    args = parser.parse_args()
    settings = get_settings(plans_home=VAR / f"home-{args.plans}")
    results: dict[str, Any] = {}

    if args.only == "indexing":
        results["indexing"] = indexing_variants(VAR / f"corpus-{args.plans}", args.index_plans, args.repeats)
        (args.out / f"prototypes-indexing-{args.plans}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    wall, _, snapshot = measure(lambda: Snapshot(settings.index_dir))
    if args.only == "compare":
        results["compare"] = compare_sizes(snapshot)
        (args.out / f"prototypes-compare-{args.plans}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    if args.only == "search":
        results["search"] = search_variants(snapshot, runs=7)
        (args.out / f"prototypes-search-{args.plans}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    results["snapshot"] = {"current_load_s": wall, **snapshot_from_pickle(snapshot, VAR / f"snapshot-{args.plans}.pickle")}
    print(f"snapshot: {results['snapshot']}", flush=True)

    chars = sum(map(len, snapshot.normalized))
    wall, used, (keys, _, _) = measure(lambda: numpy_bigrams(snapshot.normalized))
    results["numpy_bigrams"] = {"seconds": wall, "cpu_s": used, "chars_per_s": chars / wall, "distinct_bigrams": len(keys)}
    print(f"numpy bigram postings: {wall:.1f} s for {chars:,} chars ({chars / wall:,.0f} chars/s), {len(keys):,} bigrams", flush=True)

    results["search"] = search_variants(snapshot, runs=7)
    results["compare"] = compare_sizes(snapshot)
    snapshot.close()
    results["indexing"] = indexing_variants(VAR / f"corpus-{args.plans}", args.index_plans, args.repeats)
    path = args.out / f"prototypes-{args.plans}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
