"""Size-doubling ratios of the reader, cleaner and sections passes on hostile inputs.

    .venv/bin/python -m bench.linearity [--size 100000] [--old REV]

For each case, the time at n and at 2n and their ratio: ~2 is linear, ~4 quadratic. With
`--old REV`, the same cases also run against the modules of that git revision (loaded from
`git show`), at a size small enough for the quadratic ones to finish.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


def _cases(reading: ModuleType, sections: ModuleType) -> dict[str, Callable[[int], object]]:
    def html(n: int) -> bytes:
        return f"<html><body><p>计划{'　' * n}</p></body></html>".encode()

    return {
        "PDF page-number check, '1' + n spaces + 'x'": lambda n: reading._starts_block("1" + " " * n + "x"),
        "HTML with n U+3000": lambda n: reading.read_bytes(html(n), name="a.html"),
        "PDF wrap of n full-width lines": lambda n: reading._rejoin_wrapped_lines(["这是一行没有标点的很长很长很长的文字内容用于测试"] * (n // 10)),
        "split_passages of n/10 short lines": lambda n: sections.split_passages("\n".join(["短行文字"] * (n // 10))),
        "split_passages of one n-char line": lambda n: sections.split_passages("某校计划\n" + "推进课堂教学改革。" * (n // 9)),
    }


def _load_old(rev: str) -> tuple[ModuleType, ModuleType]:
    """indexer.reading and indexer.sections as they were at `rev` (their imports: today's package)."""
    modules = []
    tmp = Path(tempfile.mkdtemp())
    for name in ("reading", "sections"):
        source = subprocess.run(["git", "show", f"{rev}:indexer/{name}.py"], check=True, capture_output=True, text=True).stdout
        path = tmp / f"old_{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"old_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        modules.append(module)
    return modules[0], modules[1]


def _seconds(function: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    function(n)
    return time.perf_counter() - start


def run(label: str, reading: ModuleType, sections: ModuleType, size: int) -> None:
    print(f"{label}: n = {size:,} and {2 * size:,}")
    for name, case in _cases(reading, sections).items():
        one, two = _seconds(case, size), _seconds(case, 2 * size)
        print(f"  {name:<48} {one:8.3f} s {two:8.3f} s  ratio {two / max(one, 1e-9):5.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--old", help="a git revision to compare with")
    parser.add_argument("--old-size", type=int, default=10_000)
    args = parser.parse_args(argv)
    from indexer import reading, sections

    run("current", reading, sections, args.size)
    if args.old:
        sys.setrecursionlimit(10_000)
        old_reading, old_sections = _load_old(args.old)
        run(f"at {args.old}", old_reading, old_sections, args.old_size)
        run("current", reading, sections, args.old_size)


if __name__ == "__main__":
    main()
