"""The figures of a results file against the targets of issues 6 and 19, and its Markdown tables."""

from __future__ import annotations

from typing import Any


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: the figure, the target, met or not."""
    rows = []

    def row(what: str, value: Any, target: str, met: bool | None) -> None:
        rows.append({"what": what, "value": value, "target": target, "met": met})

    search_ = results["search"]
    worst = max(c["cold_ms"]["p95"] for c in search_["by_class"].values())
    row("search p95 in-process, cold, worst class (ms)", round(worst, 1), "≤ 50", worst <= 50)
    row("search p95 in-process, all queries cold (ms)", round(search_["all_cold_ms"]["p95"], 1), "≤ 50",
        search_["all_cold_ms"]["p95"] <= 50)
    for cls, c in search_["by_class"].items():
        row(f"median ours/FTS5, {cls} (cold; warm)", f"{c['ratio_cold']:.2f}; {c['ratio_warm']:.2f}", "≤ 2", c["ratio_cold"] <= 2)
    for cls, c in search_["by_class"].items():
        if "ratio_cold_tantivy" in c:
            row(f"median ours/Tantivy, {cls} (cold; warm)", f"{c['ratio_cold_tantivy']:.2f}; {c['ratio_warm_tantivy']:.2f}",
                "≤ 0.8", c["ratio_cold_tantivy"] <= 0.8)
    exact = {engine: all(r.get(f"{engine}_equals_truth", True) for r in search_["by_query"])
             for engine in ("ours", "fts5", "tantivy")}
    row("exact on every query: ours; FTS5; Tantivy", "; ".join(str(v) for v in exact.values()), "ours True", exact["ours"])
    if "tantivy_build" in results and "index_bytes" in results:
        ratio = results["index_bytes"] / results["fts5_build"]["bytes"]
        row(f"index on disk (MB) vs FTS5's database ({results['fts5_build']['bytes'] / 1e6:.0f}); Tantivy's "
            f"({results['tantivy_build']['bytes'] / 1e6:.0f})", f"{results['index_bytes'] / 1e6:.0f} = {ratio:.2f}×",
            "≤ 2.5×", ratio <= 2.5)
    compare = results.get("http", {}).get("compare")
    local = results.get("compare_inprocess", {}).get("compare")
    if isinstance(compare, dict):
        row("/api/compare one theme over HTTP, every passage (ms, median)", round(compare["ms"]["median"], 1), "≤ 300", compare["ms"]["median"] <= 300)
    bounded = results.get("http", {}).get("compare_per_column_8")
    if isinstance(bounded, dict):
        row("/api/compare one theme over HTTP, per_column=8 (ms, median)", round(bounded["ms"]["median"], 1), "≤ 300", bounded["ms"]["median"] <= 300)
    if isinstance(local, dict):
        median = local["cold_ms"]["median"]
        row("compare() one theme in-process, every passage (ms, median)", round(median, 1), "≤ 300", median <= 300)
    local_bounded = results.get("compare_inprocess", {}).get("compare_per_column_8")
    if isinstance(local_bounded, dict):
        median = local_bounded["cold_ms"]["median"]
        row("compare() one theme in-process, per_column=8 (ms, median)", round(median, 1), "≤ 300", median <= 300)
    if not isinstance(compare, dict) and not isinstance(local, dict):
        row("/api/compare one theme", "not available", "≤ 300 ms", None)
    if "indexing" in results:
        fts5_rate = results["fts5_build"]["chars_per_s"]
        rate = results["indexing"]["chars_per_s"]
        row(f"indexing, the whole pipeline, chars/s vs FTS5's build on the passages ({fts5_rate:,.0f}); "
            f"Tantivy's ({results.get('tantivy_build', {}).get('chars_per_s', 0):,.0f})",
            f"{rate:,.0f} = {rate / fts5_rate:.2f}×", "≥ 1×", rate >= fts5_rate)
        if "peak_rss_mb" in results["indexing"]:
            row("indexing peak RSS, `plans index` in its own process (MB)", round(results["indexing"]["peak_rss_mb"]),
                "≤ 600 at 2,000", None if results["plans"] != 2000 else results["indexing"]["peak_rss_mb"] <= 600)
    if "jieba" in results:
        jieba = results["jieba"]["cut_2proc"]["chars_per_s"]  # the Python package, the reference
        ratio = results["indexing"]["chars_per_s"] / jieba
        row(f"indexing chars/s vs jieba (the Python package's cut) alone × 2 processes ({jieba:,.0f})", f"{results['indexing']['chars_per_s']:,.0f} = {ratio:.2f}×", "≥ 0.5×", ratio >= 0.5)
        ours = results["jieba"]["segment_2proc"]["chars_per_s"]
        row(f"baseline: the indexer's own segment() (jieba-rs) alone × 2 processes ({ours:,.0f} chars/s)",
            f"indexing = {results['indexing']['chars_per_s'] / ours:.2f}× of it", "—", None)
        # the ceiling: on two cores indexing takes at least its CPU-seconds / 2, whatever the
        # parallelism, so the ratio cannot pass (the reference's seconds) / (indexing CPU-s / 2)
        reference_s = results["chars"] / jieba
        index_cpu = results["indexing"]["cpu_seconds"]["median"]
        row("ceiling of that ratio with both cores busy throughout: jieba's seconds / (indexing CPU-s / 2)",
            f"{reference_s:.1f} / ({index_cpu:.0f} / 2) = {2 * reference_s / index_cpu:.2f}×", "—", None)
        if "whoosh_words" in results:  # Whoosh's share: the jieba words field, pre-segmented, and nothing else
            alone = results["whoosh_words"]
            for workers in (1, 2):
                figure = alone[f"{workers}proc"]
                row(f"baseline, Whoosh alone: the words field, pre-segmented, {alone['plans']} plans, "
                    f"{workers} process{'es' if workers > 1 else ''} (chars/s; CPU-s per M chars)",
                    f"{figure['chars_per_s']:,.0f}; {figure['cpu_seconds']['median'] / alone['chars'] * 1e6:.1f}", "—", None)
    add = results["add_plan"]["total_s"]["median"]
    row("one new plan searchable, in-process: index + new Snapshot (s, median)", round(add, 2), "≤ 2", add <= 2)
    cli = results["add_plan"]["cli_index_s"]["median"]
    row("`plans index FILE` for one new plan, a new process (s, median)", round(cli, 2), "≤ 2", cli <= 2)
    http = results.get("http", {})
    if "add_plan_end_to_end" in http:
        e2e = http["add_plan_end_to_end"]["seconds"]["median"]
        row("one new plan searchable via the server (s, median)", round(e2e, 2), "≤ 2", e2e <= 2)
    if "upload_end_to_end" in http:
        upload = http["upload_end_to_end"]
        warm = upload["warm_s"]
        row("one new plan via POST /api/documents until /api/search finds it, warm indexer child (s, median; p95)",
            f"{warm['median']:.2f}; {warm['p95']:.2f}", "≤ 2", warm["median"] <= 2)
        row("issue 19: the same upload searchable (s, median)", f"{warm['median']:.2f}", "≤ 1", warm["median"] <= 1)
        first = upload.get("first_s", upload.get("cold_s"))  # cold_s: results written before PLANS_INDEXER_WARM
        row("the same, the child's first upload (started with the server) (s)", round(first, 2), "≤ 2", first <= 2)
        if "cold_child_first_s" in upload:
            cold = upload["cold_child_first_s"]
            row("baseline, PLANS_INDEXER_WARM=false: the first upload starts the child (s)", round(cold, 2), "≤ 2", cold <= 2)
        idle = upload.get("indexer_child_idle_memory")
        if idle:
            row("indexer child RSS before its first upload (MB)", f"{idle['rss_mb']:.0f}", "—", None)
        child = upload["indexer_child_memory"]
        if child:
            anon = f" (heap {child['anon_mb']:.0f})" if "anon_mb" in child else ""
            row("indexer child RSS after the uploads; peak (MB)", f"{child['rss_mb']:.0f}{anon}; {child['peak_rss_mb']:.0f}", "—", None)
    if "startup_s" in http:
        row("server start-up until /healthz (s, median)", round(http["startup_s"]["median"], 2), "≤ 2", http["startup_s"]["median"] <= 2)
        after_start = http["memory_after_start"]["peak_rss_mb"]
        row("server peak RSS after start-up (MB)", round(after_start), "≤ 400", after_start <= 400)
        peak = http["memory_at_end"]["peak_rss_mb"]
        row("server peak RSS at the end: compare, matrix, reloads (MB)", round(peak), "≤ 400", peak <= 400)
        bound = 250 if results["plans"] <= 2000 else 1500
        row("issue 19: server peak RSS at the end (MB)", round(peak), f"≤ {bound}", peak <= bound)
        for phase, values in http.get("memory_peaks", {}).items():  # sampled every 20 ms: RSS = heap + mapped index files
            row(f"server memory while '{phase}', sampled every 20 ms: highest RSS (heap + mapped files then); highest heap (MB)",
                f"{values['rss_mb']:.0f} ({values.get('anon_mb_at_rss_peak', 0):.0f} + {values.get('file_mb_at_rss_peak', 0):.0f}); "
                f"{values['anon_mb']:.0f}", "—", None)
    return rows


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# Benchmark, {results['plans']} plans ({results['chars']:,} chars, {results['passages']:,} passages)", ""]
    lines += ["| target | value | target | met |", "|---|---|---|---|"]
    for v in results["verdicts"]:
        met = "n/a" if v["met"] is None else ("yes" if v["met"] else "**no**")
        lines.append(f"| {v['what']} | {v['value']} | {v['target']} | {met} |")
    lines += ["", "| class | ours cold median / p95 ms | ours warm median / p95 ms | Tantivy median / p95 ms "
              "| ours/Tantivy cold | FTS5 median / p95 ms | ours/FTS5 cold | ratio cold, FTS5-indexed queries only "
              "| FTS5 mode |", "|---|---|---|---|---|---|---|---|---|"]
    for cls, c in results["search"]["by_class"].items():
        tantivy = c.get("tantivy_ms", {})
        lines.append(f"| {cls} | {c['cold_ms']['median']:.1f} / {c['cold_ms']['p95']:.1f} | {c['warm_ms']['median']:.1f} / "
                     f"{c['warm_ms']['p95']:.1f} | {_fmt(tantivy.get('median'))} / {_fmt(tantivy.get('p95'))} | "
                     f"{_fmt(c.get('ratio_cold_tantivy'))} | {c['fts5_ms']['median']:.1f} / {c['fts5_ms']['p95']:.1f} | "
                     f"{c['ratio_cold']:.2f} | {_fmt(c.get('ratio_cold_indexed_queries'))} | {', '.join(c['fts5_modes'])} |")
    lines += ["", "| query | hits | ours = truth | FTS5 = truth | Tantivy = truth | cold ms | warm ms | FTS5 ms | Tantivy ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results["search"]["by_query"]:
        tantivy = r.get("tantivy_ms", {})
        lines.append(f"| `{r['q']}` | {r['hits']} | {r['ours_equals_truth']} | {r['fts5_equals_truth']} | "
                     f"{r.get('tantivy_equals_truth', '—')} | {r['cold_ms']['median']:.1f} | {r['warm_ms']['median']:.1f} | "
                     f"{r['fts5_ms']['median']:.1f} | {_fmt(tantivy.get('median'))} |")
    return "\n".join(lines) + "\n"
