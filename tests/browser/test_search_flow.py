"""The search flow in Chromium over a corpus of 14 plans (more schools than a facet shows):
facet multi-select, "更多" with its search (with and without JS), the skip link past the
facets, the suggestion list, and passage anchors (old and missing ones)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import Problems, serve
from tests.conftest import build_home

expect: Any
try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails with the fix
    expect = None

NAMES = ["东湖", "西山", "南岭", "北川", "春晖", "夏阳", "秋实", "冬青", "明德", "启智", "育才", "博雅", "致远", "笃行"]


def _plan(n: int, name: str) -> str:
    return (f"{name}第{n}小学{2020 + n % 5}年工作计划\n一、劳动教育\n1.开展劳动教育实践活动，每周一次。\n"
            f"二、课后服务\n2.{name}小学落实课后服务，丰富社团活动。\n")


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    corpus = tmp_path_factory.mktemp("flow-browser-corpus")
    for n, name in enumerate(NAMES, start=1):
        (corpus / f"plan_{n:02d}.txt").write_text(_plan(n, name), encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("flow-browser-home"), corpus)
    yield from serve(settings)


def _schools(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query).get("school", [])


def test_facet_multi_select_and_more(page: Any, flow_server: str, problems: Problems, artifacts: Path) -> None:
    page.goto(flow_server + "/?q=劳动教育")
    school = page.locator('section.facet[data-facet="school"]')
    expect(school.locator(".facet-top li")).to_have_count(8)
    more = school.locator("details.facet-more")
    expect(more.locator("summary")).to_have_text("更多（6）")
    expect(more.locator(".facet-rest")).to_be_hidden()
    more.locator("summary").click()
    box = more.locator("input[name=more_q]")
    box.fill("笃行")  # the JS filters the list as one types
    visible = more.locator(".facet-rest li:visible")
    expect(visible).to_have_count(1)
    expect(visible.first).to_contain_text("笃行第14小学")
    visible.first.locator("a").click()
    page.wait_for_url(re.compile("school="))
    assert _schools(page.url) == ["笃行第14小学"]
    expect(page.locator("article.group")).to_have_count(1)

    first = school.locator(".facet-top a:not(.selected)").first
    second_name = first.locator(".value").inner_text()
    first.click()
    page.wait_for_url(lambda url: len(_schools(url)) == 2)
    assert _schools(page.url) == ["笃行第14小学", second_name]
    expect(page.locator("article.group")).to_have_count(2)
    expect(school.locator("a.selected")).to_have_count(2)
    expect(school.locator("a:not(.selected) .value").first).to_be_visible()  # the other values stay
    expect(page.locator(".summary")).to_contain_text("共 2 个计划")
    page.screenshot(path=str(artifacts / "search-facets-multi.png"))

    page.locator("a.selected", has_text="笃行第14小学").click()
    page.wait_for_url(lambda url: _schools(url) == [second_name])
    expect(page.locator("article.group")).to_have_count(1)
    assert not problems.unexpected(), problems.unexpected()


def test_facet_search_works_without_javascript(browser: Any, flow_server: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(flow_server + "/?q=劳动教育")
    more = page.locator('section.facet[data-facet="school"] details.facet-more')
    more.locator("summary").click()
    more.locator("input[name=more_q]").fill("博雅")
    more.locator("input[name=more_q]").press("Enter")
    page.wait_for_url(re.compile("more_q="))
    rest = page.locator('section.facet[data-facet="school"] .facet-rest li')
    expect(rest).to_have_count(1)
    expect(rest.first).to_contain_text("博雅第12小学")
    context.close()


def test_skip_link_reaches_the_results_by_keyboard(page: Any, flow_server: str, problems: Problems) -> None:
    page.goto(flow_server + "/?q=劳动教育")
    page.focus("#q")
    for presses in range(1, 30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('skip-facets')"):
            break
    else:
        pytest.fail("the skip link is not reachable by Tab")
    assert presses <= 12, presses  # before the facets' links
    link = page.locator("a.skip-facets")
    expect(link).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'results'")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#results') !== null")  # inside the results, not a facet
    assert not problems.unexpected(), problems.unexpected()


def test_the_search_box_suggests_words_themes_and_schools(page: Any, flow_server: str, problems: Problems) -> None:
    page.goto(flow_server + "/")
    page.locator("#q").press_sequentially("劳动", delay=80)
    options = page.locator("#q-suggestions option")
    expect(options.first).to_be_attached()
    values = options.evaluate_all("(os) => os.map((o) => o.value)")
    assert "劳动教育" in values and all(v.startswith("劳动") for v in values), values
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("课后 笃行", delay=80)
    expect(page.locator('#q-suggestions option[value="课后 笃行第14小学"]')).to_be_attached()
    assert not problems.unexpected(), problems.unexpected()


def test_old_and_missing_anchors(page: Any, flow_server: str, problems: Problems) -> None:
    page.goto(flow_server + "/?q=课后服务")
    page.locator("a.open").first.click()
    page.wait_for_url(re.compile(r"#s-[0-9a-f]+"))
    anchor = urlsplit(page.url).fragment
    expect(page.locator(f"#{anchor}")).to_contain_text("课后服务")
    expect(page.locator(".anchor-missing")).to_be_hidden()
    old = page.locator(f"#{anchor}").get_attribute("data-pid")
    base = page.url.split("#")[0]
    page.goto(base + "#" + old)  # an old numeric link moves to the passage's anchor
    page.wait_for_url(re.compile("#" + anchor))
    expect(page.locator(".anchor-missing")).to_be_hidden()
    page.goto("about:blank")
    page.goto(base + "#s-0000000000")  # a passage that no longer exists: the plan, with a notice
    expect(page.locator(".anchor-missing")).to_be_visible()
    expect(page.locator(".doc-head h1")).to_be_visible()
    assert not problems.unexpected(), problems.unexpected()
