"""A live server on loopback over the samples plus a hostile plan, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.main import create_app
from tests.conftest import SAMPLES, build_home

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
HOSTILE = """恶意测试小学2024年工作计划
一、安全教育<script>alert(1)</script>
1.加强安全教育。<img src=x onerror="alert(2)">每周开展一次安全教育活动。
"""
# Report CSP violations to the test through a binding (init scripts are not subject to the page's CSP).
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(settings: Any) -> Iterator[str]:
    """The real app for `settings` under uvicorn in a thread, on a free loopback port: yields its
    base URL, and stops the server when resumed."""
    port = _free_port()
    config = uvicorn.Config(app=create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                            ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app under uvicorn in a thread, on a free loopback port: yields its base URL."""
    corpus = tmp_path_factory.mktemp("browser-corpus")
    for source in SAMPLES.iterdir():
        shutil.copy(source, corpus / source.name)
    (corpus / "zz_hostile.txt").write_text(HOSTILE, encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("browser-home"), corpus)
    yield from serve(settings)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright; missing pieces fail (never skip) with the fix."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test, which installs Debian's chromium for the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run scripts/test, which installs the test extras")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Problems:
    """What went wrong in the browser: console errors, uncaught exceptions, CSP violations, dialogs."""

    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def unexpected(self, allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
        console = [m for m in self.console if not any(a in m for a in allowed)]
        found = {"console": console, "exceptions": self.exceptions, "csp": self.csp, "dialogs": self.dialogs}
        return {k: v for k, v in found.items() if v}


@pytest.fixture()
def problems() -> Problems:
    return Problems()


@pytest.fixture()
def page(browser: Any, problems: Problems) -> Iterator[Any]:
    """A fresh 1366×768 page that records every problem into `problems`."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    context.expose_binding("reportCsp", lambda _source, text: problems.csp.append(text))
    context.add_init_script(CSP_LISTENER)
    new_page = context.new_page()
    new_page.on("console", lambda m: problems.console.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None)
    new_page.on("pageerror", lambda e: problems.exceptions.append(str(e)))

    def _dialog(dialog: Any) -> None:
        problems.dialogs.append(dialog.message)
        dialog.dismiss()

    new_page.on("dialog", _dialog)
    new_page.set_default_timeout(10_000)
    yield new_page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
