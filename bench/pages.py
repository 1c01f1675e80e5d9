"""Page weight and load time of the compare pages at a city's scale, in Chromium (issue 17).

    .venv/bin/python -m bench.pages --plans 2000 --out bench/results/

Generates the corpus (bench/var/corpus-N, the same as bench.run), indexes it into
bench/var/home-N unless an index is there already, serves it on loopback under uvicorn, and
loads each page in Debian's chromium (Playwright) `--runs` times: the HTML's bytes and the
navigation timing (response end, DOMContentLoaded, load), median and max. Not run in CI.
Writes pages-N.json and prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn

from app.main import create_app
from bench.generate import generate
from indexer.pipeline import Pipeline
from indexer.settings import get_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PAGES = [
    ("compare, theme over all plans", "/compare?theme=" + quote("劳动教育")),
    ("compare, a query over all plans", "/compare?q=" + quote("课后服务")),
    ("compare, 12 picked (select all)", "/compare?theme=" + quote("劳动教育") + "&pick=all"),
    ("compare, last summary page", "/compare?theme=" + quote("劳动教育") + "&page=40"),
    ("compare, no theme (matrix only)", "/compare"),
    ("compare, matrix last page", "/compare?mpage=80"),
    ("compare, regional filter in the theme (232 plans)", "/compare?q=" + quote("劳动教育 region:渭南")),
    ("compare, a new query each load (nothing cached)", "/compare?q=" + quote("教师 -") + "{run}"),
]
FRESH = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"  # {run}: a term no load has asked before


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _home(plans: int, var: Path) -> Any:
    corpus, home = var / f"corpus-{plans}", var / f"home-{plans}"
    if not (corpus / "corpus.json").exists():
        generate(corpus, plans=plans)
    settings = get_settings(plans_home=home, plans_reload_interval=-1)
    if not (home / "index").exists():
        started = time.perf_counter()
        report = Pipeline(settings).index([corpus])
        print(f"indexed {plans} plans in {time.perf_counter() - started:.0f} s ({len(report.failed)} failed)")
    return settings


def measure(plans: int, runs: int, var: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    settings = _home(plans, var)
    port = _port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(base + "/compare")  # warm: the snapshot's caches and the first theme
            for name, path in PAGES:
                sizes, timings = [], []
                for run in range(runs):
                    response = page.goto(base + path.replace("{run}", quote(FRESH[run % len(FRESH)])), wait_until="load")
                    assert response is not None and response.ok, (path, response and response.status)
                    sizes.append(len(response.body()))
                    timings.append(page.evaluate("""() => { const t = performance.getEntriesByType('navigation')[0];
                        return {response: t.responseEnd, dom: t.domContentLoadedEventEnd, load: t.loadEventEnd}; }"""))
                row = {"page": name, "path": path, "html_bytes": statistics.median(sizes)}
                for key in ("response", "dom", "load"):
                    values = [t[key] for t in timings]
                    row[f"{key}_ms_median"], row[f"{key}_ms_max"] = round(statistics.median(values)), round(max(values))
                results.append(row)
                print(f"{name}: {row['html_bytes'] / 1024:.0f} KB, load {row['load_ms_median']} ms (max {row['load_ms_max']})")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return {"plans": plans, "runs": runs, "pages": results}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"| page ({result['plans']} plans) | HTML | response end | DOMContentLoaded | load (median / max) |",
             "|---|---:|---:|---:|---:|"]
    for row in result["pages"]:
        lines.append(f"| {row['page']} | {row['html_bytes'] / 1024:.0f} KB | {row['response_ms_median']} ms | "
                     f"{row['dom_ms_median']} ms | {row['load_ms_median']} / {row['load_ms_max']} ms |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--var", type=Path, default=Path("bench/var"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    options = parser.parse_args()
    result = measure(options.plans, options.runs, options.var)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"pages-{options.plans}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
