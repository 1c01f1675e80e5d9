"""The corpus views in a real browser: CSP-clean, no console errors, usable at desktop and phone width.

Screenshots go to the pytest temporary directory (desktop 1366 px and phone 375 px, each page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CSP_LISTENER, Problems

expect: Any
try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails with the fix; nothing here runs without it
    expect = None

VIEWS = [  # path, screenshot name, what the page must show, at least how many
    ("/kwic?q=劳动&sort=left", "kwic", "ol.kwic li", 20),
    ("/trends?q=劳动&split=level", "trends", "svg.chart circle", 4),  # 小学 2022, 2024, 2025; 教育行政 2022
    ("/trends?theme=劳动教育&metric=per_10k", "trends-theme", "svg.chart circle", 3),  # 2022, 2024, 2025: no sample of 2023
    ("/documents/2/diff?other=1", "diff", ".diff-passage", 10),
    ("/documents/2", "document-related", ".similar-list li", 4),
    ("/?q=劳动", "search-histogram", "svg.histogram rect.bar", 3),
    ("/documents/2/terms?theme=劳动教育", "terms", "table tbody tr", 5),
    ("/documents/4/echo", "echo", "p.empty", 1),
]
WIDTHS = [(1366, 768, False), (375, 812, True)]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("view-screenshots")


@pytest.mark.parametrize("width, height, mobile", WIDTHS, ids=["desktop", "phone"])
@pytest.mark.parametrize("path, name, selector, minimum", VIEWS, ids=[v[1] for v in VIEWS])
def test_view_renders_cleanly(browser: Any, live_server: str, shots: Path, path: str, name: str, selector: str,
                              minimum: int, width: int, height: int, mobile: bool) -> None:
    problems = Problems()
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
                                  locale="zh-CN")
    context.expose_binding("reportCsp", lambda _source, text: problems.csp.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on("console", lambda m: problems.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.exceptions.append(str(e)))
    try:
        answer = page.goto(live_server + path)
        assert answer is not None and answer.status == 200
        expect(page.locator(selector).first).to_be_visible()
        assert page.locator(selector).count() >= minimum
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    finally:
        context.close()
    assert problems.unexpected() == {}


def test_kwic_sort_links_reorder_lines(page: Any, live_server: str, problems: Problems) -> None:
    page.goto(live_server + "/?q=劳动")
    page.locator("a.kwic-link").first.click()
    expect(page.locator("ol.kwic li").first).to_be_visible()
    page.get_by_role("link", name="按右侧词语").click()
    expect(page.get_by_role("link", name="按右侧词语")).to_have_attribute("aria-current", "true")
    rights = page.locator(".kwic-right").all_inner_texts()
    assert rights == sorted(rights) and len(rights) > 1
    assert problems.unexpected() == {}
