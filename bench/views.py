"""Time each corpus view (concordance, trends, similar, diff, distinctive terms, echo) in-process
on a generated corpus: the data functions the API and the pages call, without HTTP.

    .venv/bin/python -m bench.views --plans 2000

Reuses bench/var/corpus-N and bench/var/home-N when present (else generates and indexes them),
adds BUREAUS bureau plans written from the items of the school plans of their districts (the
generated corpus has none), and prints medians, p95 and maxima in ms. Figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.search import SearchRequest
from app.snapshot import Snapshot
from app.themes import load_themes
from app.views import diff, echo, kwic, similar, terms, trends
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

VAR = Path(__file__).resolve().parent / "var"
BUREAUS = 5
TASKS = 30
REPEATS = 10
SEED = 18
QUERIES = ("劳动", "学生", "课后服务", "德", "\"立德树人\"", "心理 OR 心育")


def _ms(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(values), "median": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1), "max": round(ordered[-1], 1)}


def _home(plans: int) -> Path:
    corpus, home = VAR / f"corpus-{plans}", VAR / f"home-{plans}"
    if not corpus.exists():
        subprocess.run([sys.executable, "-m", "bench.generate", "--plans", str(plans), "--out", str(corpus)], check=True)
    if not (home / "index").exists():
        report = Pipeline(get_settings(plans_home=home)).index([corpus])
        assert not report.failed, report.failed
    return home


def _add_bureaus(home: Path, snapshot: Snapshot, plans: int) -> None:
    """Bureau plans for the districts with the most school plans, their tasks taken from those plans."""
    folder = VAR / f"bureaus-{plans}"
    if folder.exists():
        return
    folder.mkdir(parents=True)
    rng = random.Random(SEED)
    districts = Counter((m.get("city"), m.get("district"), m.get("year")) for m in snapshot.plans if m.get("district"))
    for n, ((city, district, year), _) in enumerate(districts.most_common(BUREAUS)):
        members = [p for p, m in enumerate(snapshot.plans) if (m.get("city"), m.get("district"), m.get("year")) == (city, district, year)]
        items = [snapshot.texts[i].split("\n")[-1] for p in members for i in snapshot.plan_range(p) if len(snapshot.texts[i]) > 60]
        tasks = rng.sample(items, min(TASKS, len(items)))
        lines = [f"{city}{district}教育和体育局{year}年工作要点", "一、重点任务"]
        lines += [f"{k}.{task[:120]}" for k, task in enumerate(tasks, 1)]
        (folder / f"bureau_{n}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = Pipeline(get_settings(plans_home=home)).index([folder])
    assert not report.failed, report.failed


def run(plans: int) -> dict[str, Any]:
    home = _home(plans)
    settings = get_settings(plans_home=home)
    _add_bureaus(home, Snapshot(settings.index_dir), plans)
    snapshot = Snapshot(settings.index_dir)
    book = load_themes(settings.plans_themes)
    rng = random.Random(SEED)
    ids = [m["id"] for m in snapshot.plans if m.get("kind") == "school"]
    bureaus = [m["id"] for m in snapshot.plans if m.get("kind") == "bureau"]
    theme_terms = [t for theme in book for t in theme.terms]
    out: dict[str, Any] = {"plans": len(snapshot.plans), "passages": snapshot.size}

    def measure(name: str, calls: list[Callable[[], Any]], cold: bool = True) -> None:
        times = []
        for call in calls:
            if cold:
                snapshot.clear_cache()  # needles found afresh, as for a query nobody asked before
            times.append(_ms(call))
        out[name] = _summary(times)
        print(f"{name:28s} {out[name]}", flush=True)

    for sort in ("plan", "left"):
        measure(f"kwic sort={sort}", [lambda q=q: kwic.kwic(snapshot, SearchRequest(q=q), sort=sort) for q in QUERIES])
    measure("kwic csv (every line)", [lambda q=q: kwic.kwic(snapshot, SearchRequest(q=q), size=0) for q in QUERIES])
    for split in ("none", "region"):
        measure(f"trends q split={split}", [lambda q=q: trends.trends(snapshot, SearchRequest(q=q).node(), split=split) for q in QUERIES])
    measure("trends theme", [lambda t=t: trends.trends(snapshot, t.node) for t in book])
    chosen = rng.sample(ids, REPEATS)
    out["similar first call (builds the docnum map)"] = round(_ms(lambda: similar.similar(snapshot, chosen[0])), 1)
    print("similar first call", out["similar first call (builds the docnum map)"], flush=True)
    measure("similar", [lambda d=d: similar.similar(snapshot, d) for d in chosen[1:]], cold=False)
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(REPEATS)]
    measure("diff", [lambda a=a, b=b: diff.diff(snapshot, a, b) for a, b in pairs], cold=False)
    labour = book.resolve("劳动教育")
    measure("terms (whole plan)", [lambda d=d: terms.distinctive_terms(snapshot, d) for d in chosen], cold=False)
    measure("terms (theme 劳动教育)", [lambda d=d: terms.distinctive_terms(snapshot, d, labour.node) for d in chosen])
    measure("echo", [lambda d=d: echo.echo(snapshot, d, theme_terms) for d in bureaus], cold=False)
    sizes = [len(echo.echo(snapshot, d, theme_terms)["schools"]) for d in bureaus]
    out["echo schools per bureau"] = sizes
    print("echo schools per bureau", sizes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(args.plans), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
