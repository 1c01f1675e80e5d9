"""The three pages in a real browser (Debian's chromium) against a live server on loopback.

Each test also asserts the browser saw no console error, uncaught exception, CSP violation
or dialog (a plan's <script> must never run). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import Problems

expect: Any
try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails with the fix; nothing here runs without it
    expect = None


def _params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _in_viewport(page: Any, selector: str) -> bool:
    return bool(page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                     return r.top >= 0 && r.top < window.innerHeight && r.bottom > 0; }""", selector))


def _no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_search_facet_and_back(page: Any, live_server: str, problems: Problems, artifacts: Path) -> None:
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name=re.compile("已收录的计划"))).to_be_visible()
    page.fill("#q", "劳动教育")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=%E5%8A%B3"))
    groups = page.locator("article.group")
    expect(groups.first).to_be_visible()
    all_groups = groups.count()
    assert all_groups >= 3
    expect(page.locator(".summary")).to_contain_text("含“劳动教育”")
    for i in range(all_groups):
        group = groups.nth(i)
        expect(group.locator(".hits")).to_contain_text("段命中")
        assert group.locator(".passage").count() >= 1
        assert set(group.locator("mark").all_inner_texts()) == {"劳动教育"}
    page.screenshot(path=str(artifacts / "search-1366.png"))

    facet = page.locator(".facet a", has_text="临淄区金茵小学")
    facet.click()
    page.wait_for_url(re.compile(r"school="))
    assert _params(page.url)["school"] == ["临淄区金茵小学"]
    expect(groups).to_have_count(1)
    expect(groups.first.locator("h2")).to_have_text("临淄区金茵小学")
    expect(page.locator(".facet a.selected", has_text="临淄区金茵小学")).to_be_visible()

    page.go_back()
    page.wait_for_url(lambda url: "school=" not in url)
    expect(groups).to_have_count(all_groups)
    expect(page.locator(".facet a.selected")).to_have_count(0)
    assert not problems.unexpected(), problems.unexpected()


def test_sort_by_year_and_pagination_state_in_url(page: Any, live_server: str, problems: Problems) -> None:
    page.goto(live_server + "/?q=学校")
    page.get_by_role("link", name="按年份（新→旧）").click()
    page.wait_for_url(re.compile(r"sort=year"))
    metas = page.locator(".group-head .meta").all_inner_texts()
    years = [int(re.search(r"\d{4}", meta).group()) for meta in metas]  # type: ignore[union-attr]
    assert years == sorted(years, reverse=True), years
    page.reload()
    expect(page.get_by_role("link", name="按年份（新→旧）")).to_have_attribute("aria-current", "true")
    assert not problems.unexpected(), problems.unexpected()


def test_open_document_at_the_passage(page: Any, live_server: str, problems: Problems, artifacts: Path) -> None:
    page.goto(live_server + "/?q=劳动教育")
    link = page.locator("article.group .passage a.open").first
    href = link.get_attribute("href")
    assert href and re.match(r"^/documents/\d+\?q=.+#s-[0-9a-f]+(-\d+)?$", href), href
    target_id = href.rsplit("#", 1)[1]
    link.click()
    page.wait_for_url(re.compile(r"/documents/\d+\?q=.*#s-[0-9a-f]+(-\d+)?$"))
    target = page.locator(f"#{target_id}")
    expect(target).to_be_visible()
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == target_id
    assert _in_viewport(page, f"#{target_id}")
    assert "劳动教育" in target.locator("mark").all_inner_texts()
    marked = page.evaluate("getComputedStyle(document.querySelector(':target')).backgroundColor")
    plain = page.evaluate("getComputedStyle(document.querySelector('.doc-text .passage:not(:target)')).backgroundColor")
    assert marked != plain, "the :target passage is not marked"
    expect(page.locator(".doc-query")).to_contain_text("劳动教育")
    expect(page.locator(".outline-list a").first).to_be_visible()
    page.screenshot(path=str(artifacts / "document-1366.png"))

    nav = page.locator(".hit-nav")  # shown by document.js
    expect(nav).to_be_visible()
    before = page.url
    nav.get_by_role("button", name="下一处").click()
    page.wait_for_url(lambda url: url != before)
    new_id = page.url.rsplit("#", 1)[1]
    assert "hit" in (page.locator(f"#{new_id}").get_attribute("class") or "")
    assert _in_viewport(page, f"#{new_id}")
    assert not problems.unexpected(), problems.unexpected()


def test_compare_theme_and_download_csv(page: Any, live_server: str, problems: Problems, artifacts: Path) -> None:
    page.goto(live_server + "/compare")
    expect(page.locator("table.heat tbody tr").first).to_be_visible()
    page.select_option("#theme", "课后服务")
    page.get_by_role("button", name="比较", exact=True).click()
    page.wait_for_url(re.compile(r"theme=%E8%AF%BE"))
    rows = page.locator(".coverage-table tbody tr")
    expect(rows).to_have_count(6)  # five samples and the hostile plan: the summary lists them all
    columns = page.locator(".columns > .column")
    expect(columns).to_have_count(6)  # a selection of at most 12 is shown side by side
    absent = page.locator(".column.absent")
    assert absent.count() >= 1
    expect(absent.first.locator(".status")).to_have_text("未提及")
    mentioned = page.locator(".column:not(.absent)")
    expect(mentioned.first.locator(".bar .fill")).to_have_class(re.compile(r"\bw(100|[1-9]\d?)\b"))
    assert mentioned.first.locator("mark").count() >= 1
    expect(page.locator(".column .badge").first).to_have_text("最相关")
    page.screenshot(path=str(artifacts / "compare-1366.png"))
    page.screenshot(path=str(artifacts / "compare-1366-full.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="下载比较结果 CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["主题", "文档编号", "学校"]
    assert {r[0] for r in table[1:]} == {"课后服务"}
    assert any("海王路小学教育集团" in r[2] for r in table[1:])
    assert any(r[7] == "未提及" for r in table[1:])

    boxes = page.locator('.coverage-table input[name="cmp"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="并排比较勾选的计划").click()
    page.wait_for_url(re.compile(r"cmp="))
    expect(columns).to_have_count(2)
    for k in range(boxes.count()):
        boxes.nth(k).uncheck()
    page.get_by_role("button", name="并排比较勾选的计划").click()
    page.wait_for_url(lambda url: "cmp=" not in url)
    expect(page.locator(".notice")).to_contain_text("没有勾选任何计划")  # never "nothing means everything"
    expect(columns).to_have_count(0)
    assert not problems.unexpected(), problems.unexpected()


def test_search_add_to_compare_then_compare_and_download_xlsx(page: Any, live_server: str, problems: Problems,
                                                              artifacts: Path) -> None:
    from openpyxl import load_workbook

    page.goto(live_server + "/")
    page.fill("#q", "劳动教育")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=%E5%8A%B3"))
    groups = page.locator("article.group")
    chosen = [groups.nth(0).locator("h2").inner_text(), groups.nth(1).locator("h2").inner_text()]
    groups.nth(0).get_by_role("link", name="加入比较").click()
    page.wait_for_url(re.compile(r"cmp="))
    groups.nth(1).get_by_role("link", name="加入比较").click()
    page.wait_for_url(re.compile(r"cmp=\d+%2C\d+|cmp=\d+,\d+"))
    tray = page.locator(".tray")
    expect(tray).to_contain_text("待比较（2）")
    for school in chosen:
        expect(tray).to_contain_text(school)
    expect(groups.nth(0).get_by_role("link", name="移出比较")).to_be_visible()
    page.locator("article.group h2 a").first.click()  # the tray follows to the document page
    page.wait_for_url(re.compile(r"/documents/"))
    expect(page.locator(".tray")).to_contain_text("待比较（2）")
    page.go_back()
    page.get_by_role("link", name="比较这些计划").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    assert _params(page.url)["q"] == ["劳动教育"]
    columns = page.locator(".columns > .column")
    expect(columns).to_have_count(2)
    assert sorted(columns.locator("h3").all_inner_texts()) == sorted(chosen)
    expect(page.locator(".tray")).to_contain_text("待比较（2）")

    with page.expect_download() as info:
        page.get_by_role("link", name="下载比较结果 XLSX").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "主题比较" in download.suggested_filename
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))  # the download has no .xlsx suffix
    assert book.sheetnames == ["主题比较", "并排比较", "量化承诺", "特色词语"]
    main = book["主题比较"]
    header = [c.value for c in main[1]]
    assert main.freeze_panes == "A2"
    assert main.auto_filter.ref == f"A1:{main.cell(row=1, column=len(header)).column_letter}{main.max_row}"
    share = header.index("字数占比") + 1
    assert all(main.cell(row=r, column=share).number_format == "0.0%" for r in range(2, main.max_row + 1))
    text = header.index("段落原文") + 1
    assert main.column_dimensions[main.cell(row=1, column=text).column_letter].width >= 40
    assert main.column_dimensions["C"].width > 8.43  # not the default width
    assert main.cell(row=2, column=text).alignment.wrap_text
    links = [main.cell(row=r, column=text).hyperlink for r in range(2, main.max_row + 1)]
    assert links and all(link is not None and re.match(live_server + r"/documents/\d+\?q=.+#s-[0-9a-f]{10}(-\d+)?$", link.target) for link in links)
    side = book["并排比较"]
    assert [c.value for c in side[1]][1:] == [f"{t}（{p}）" for t, p in _card_labels(page)]
    assert side.freeze_panes == "B2"
    share_row = next(r for r in range(1, side.max_row + 1) if side.cell(row=r, column=1).value == "字数占比")
    assert all(side.cell(row=share_row, column=c).number_format == "0.0%" for c in range(2, side.max_column + 1))
    best_row = next(r for r in range(1, side.max_row + 1) if side.cell(row=r, column=1).value == "最相关段落")
    first_link = side.cell(row=best_row, column=2).hyperlink.target
    page.goto(first_link)  # the link lands on the passage, marked
    target = first_link.rsplit("#", 1)[1]
    expect(page.locator(f"#{target}")).to_be_visible()
    assert page.locator(f"#{target} mark").count() >= 1
    assert not problems.unexpected(), problems.unexpected()


def _card_labels(page: Any) -> list[tuple[str, str]]:
    heads = page.locator(".columns > .column .column-head")
    return [(heads.nth(k).locator("h3").inner_text(), heads.nth(k).locator(".meta span").first.inner_text())
            for k in range(heads.count())]


def test_a_running_comparison_shows_its_state_and_refuses_a_second_submit(page: Any, live_server: str,
                                                                         problems: Problems) -> None:
    page.goto(live_server + "/compare?theme=劳动教育")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/compare?" in r.url and r.resource_type == "document" else None)
    with page.expect_navigation():
        state = page.evaluate("""() => {
            const form = document.querySelector('form.compare-form');
            const button = form.querySelector('button[type="submit"]');
            const refused = [];
            form.addEventListener('submit', (e) => refused.push(e.defaultPrevented));  // after compare.js's own
            button.click();
            const busy = [form.getAttribute('aria-busy'), document.querySelector('.busy-note').hidden];
            button.click();
            return [...busy, refused];
        }""")
    assert state == ["true", False, [False, True]]  # 正在比较 shows at once; the second submit is refused
    assert len(requests) == 1, requests
    assert not problems.unexpected(), problems.unexpected()


def test_print_layout_hides_navigation_and_wraps_the_columns(page: Any, live_server: str, problems: Problems) -> None:
    page.goto(live_server + "/compare?theme=劳动教育")
    page.emulate_media(media="print")
    assert page.locator("header.site").is_hidden() and page.locator(".compare-form").is_hidden()
    widths = page.evaluate("[...document.querySelectorAll('.columns > .column')].map(c => c.getBoundingClientRect().right)")
    assert widths and max(widths) <= page.evaluate("document.documentElement.clientWidth") + 1  # nothing cut off at the right
    tops = page.evaluate("[...document.querySelectorAll('.columns > .column')].map(c => Math.round(c.getBoundingClientRect().top))")
    assert len(set(tops)) > 1  # the columns wrap onto further rows
    page.goto(live_server + "/documents/2?q=劳动")
    assert page.locator("header.site").is_hidden() and page.locator(".outline").is_hidden()
    assert not problems.unexpected(), problems.unexpected()


def test_bad_query_shows_the_message_next_to_the_box(page: Any, live_server: str, problems: Problems) -> None:
    page.goto(live_server + "/")
    page.fill("#q", '"立德树人')
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q="))
    error = page.locator("#q-error")
    expect(error).to_contain_text("引号没有闭合")
    expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#q")).to_have_value('"立德树人')
    # The page itself is answered with HTTP 400, which chromium reports on the console.
    assert not problems.unexpected(allowed=("status of 400",)), problems.unexpected()


def test_hostile_plan_text_never_runs(page: Any, live_server: str, problems: Problems) -> None:
    page.goto(live_server + "/?q=安全教育 school:恶意")
    expect(page.locator("article.group")).to_have_count(1)
    expect(page.locator("article.group")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("article.group")).to_contain_text('<img src=x onerror="alert(2)">')
    assert page.locator("main img, main script").count() == 0
    page.locator("article.group a.open").first.click()
    page.wait_for_url(re.compile(r"/documents/"))
    expect(page.locator(".doc-text")).to_contain_text('<img src=x onerror="alert(2)">')
    assert page.locator(".doc-text img, .doc-text script").count() == 0
    page.goto(live_server + "/compare?theme=安全教育")
    expect(page.locator(".column", has_text="恶意测试小学")).to_contain_text("<script>alert(1)</script>")
    assert page.locator("main img, main script").count() == 0
    assert not problems.unexpected(), problems.unexpected()  # includes: no alert() dialog


@pytest.mark.parametrize("path, name", [
    ("/?q=劳动教育", "search"),
    ("/documents/2?q=劳动", "document"),
    ("/compare?theme=劳动教育", "compare"),
])
def test_phone_width(browser: Any, live_server: str, artifacts: Path, path: str, name: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server + path)
        expect(page.locator("main")).to_be_visible()
        assert _no_horizontal_overflow(page), "the page scrolls sideways at 375px"
        page.screenshot(path=str(artifacts / f"{name}-375.png"))
    finally:
        context.close()
    assert not errors, errors
