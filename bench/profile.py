"""Where the time goes: pyinstrument profiles of the slow paths, over the index bench.run built.

    .venv/bin/python -m bench.profile --plans 2000

Writes bench/results/profiles/<name>.txt (the call tree) and prints, for each profile, the
hottest functions by self time and the project's functions by inclusive time, with shares.
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from app.search import SearchRequest, search
from app.snapshot import Snapshot
from bench.queries import query_mix
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

VAR = Path("bench/var")
OUR_CODE = ("app/", "indexer/")


def profile(name: str, function: Callable[[], Any], out: Path, repeat: int = 1) -> dict[str, Any]:
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(repeat):
        function()
    profiler.stop()
    (out / f"{name}.txt").write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    root = profiler.last_session.root_frame()
    summary = _summary(root)
    lines = [f"== {name}: {root.time:.2f} s",
             "  self time:      " + "; ".join(f"{f} {s:.0%}" for f, s in summary["self"][:10]),
             "  ours inclusive: " + "; ".join(f"{f} {s:.0%}" for f, s in summary["ours"][:10]),
             "  all inclusive:  " + "; ".join(f"{f} {s:.0%}" for f, s in summary["inclusive"][:30])]
    print("\n" + "\n".join(lines), flush=True)
    with (out / "summary.txt").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n\n")
    return summary


def _summary(root: Any) -> dict[str, list[tuple[str, float]]]:
    """Shares of the total: self time per function, and inclusive time of app/ and indexer/ functions."""
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    mine: dict[str, float] = defaultdict(float)

    def walk(frame: Any, active: frozenset[str], parent: str = "?") -> None:
        if frame.function.startswith("["):  # pyinstrument's synthetic [self] / [await] leaves
            own[parent] += frame.time
            return
        label = f"{frame.function} ({(frame.file_path_short or '?').split('site-packages/')[-1]}:{frame.line_no})"
        own[label] += frame.time - sum(child.time for child in frame.children)
        ours = any(part in (frame.file_path or "") for part in OUR_CODE) and ".venv" not in (frame.file_path or "")
        if label not in active:
            inclusive[label] += frame.time
            if ours:
                mine[label] += frame.time
        for child in frame.children:
            walk(child, active | {label}, label)

    walk(root, frozenset())
    total = root.time or 1.0
    return {
        "self": sorted(((f, t / total) for f, t in own.items()), key=lambda x: -x[1]),
        "ours": sorted(((f, t / total) for f, t in mine.items()), key=lambda x: -x[1]),
        "inclusive": sorted(((f, t / total) for f, t in inclusive.items()), key=lambda x: -x[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/profiles"))
    parser.add_argument("--index-plans", type=int, default=100, help="plans indexed in the indexing profile")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.txt").unlink(missing_ok=True)
    settings = get_settings(plans_home=VAR / f"home-{args.plans}")

    profile("snapshot-load", lambda: Snapshot(settings.index_dir).close(), args.out)
    snapshot = Snapshot(settings.index_dir)
    mix = query_mix(snapshot)

    def cold(queries: list[str]) -> Callable[[], None]:
        def run() -> None:
            for q in queries:
                snapshot.clear_cache()
                search(snapshot, SearchRequest(q=q, per_group=3))
        return run

    profile("search-cold-all", cold([q for qs in mix.values() for q in qs]), args.out, repeat=5)
    for cls in ("and", "or", "single_char", "not", "term"):
        profile(f"search-cold-{cls}", cold(mix[cls]), args.out, repeat=5)
    try:
        from app.compare import compare
        from app.themes import load_themes

        theme = load_themes(settings.plans_themes).resolve("劳动教育")
        profile("compare-劳动教育", lambda: compare(snapshot, theme), args.out)
    except ImportError:
        print("app.compare: not available")

    corpus = VAR / f"corpus-{args.plans}"
    subset = VAR / f"profile-corpus-{args.index_plans}"
    shutil.rmtree(subset, ignore_errors=True)
    subset.mkdir(parents=True)
    for path in sorted(corpus.glob("*.txt"))[: args.index_plans]:
        shutil.copy(path, subset / path.name)
    home = VAR / "profile-home"
    shutil.rmtree(home, ignore_errors=True)
    # one process, so the profile sees the segmentation too (workers would hide it)
    profile("index-1proc", lambda: Pipeline(get_settings(plans_home=home, plans_workers=1)).index([subset]), args.out)


if __name__ == "__main__":
    main()
