"""The HTML pages over the real sample index: Chinese text, state in the URL, escaping, CSP-clean markup."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.routes import compare_pages, pages
from app.search import SearchRequest
from tests.conftest import SAMPLES, build_home

HOSTILE = """恶意测试小学2024年工作计划
一、安全教育<script>alert(1)</script>
全体师生参加<script>alert(1)</script>演练。
1.加强安全教育。<img src=x onerror="alert(2)">每周开展一次安全教育活动。
2.家校协同<b onclick="alert(3)">家长</b>学校每学期至少一次，<style>body{display:none}</style>。
"""


class Page(HTMLParser):
    """Tags with their attributes, the text inside <script>/<style>, and links by CSS class."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and data.strip():
            self.script_bodies.append(data)

    def find(self, tag: str, css_class: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and (css_class is None or css_class in (a.get("class") or "").split())]


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    corpus = tmp_path_factory.mktemp("pages-hostile-corpus")
    shutil.copy(next(iter(sorted(SAMPLES.iterdir()))), corpus)
    (corpus / "zz_hostile.txt").write_text(HOSTILE, encoding="utf-8")
    settings = build_home(tmp_path_factory.mktemp("pages-hostile-home"), corpus)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _hostile_id(client: TestClient) -> int:
    documents = client.get("/api/documents").json()["documents"]
    return next(d["id"] for d in documents if "恶意" in (d["school"] or d["title"] or ""))


# -- every page, in Chinese -------------------------------------------------------------

PAGES = [
    # (url, status, texts the page must show)
    ("/", 200, ["学校工作计划检索", "已收录的计划（5 份）", "海王路小学教育集团", "语法：空格表示“并且”", "示例："]),
    ("/?q=劳动教育", 200, ["个计划", "检索条件：含“劳动教育”", "<mark>劳动教育</mark>", "段命中", "在全文中查看", "按年份（新→旧）"]),
    ("/?q=劳动教育&school=金茵", 200, ["已筛选：", "学校：金茵", "临淄区金茵小学"]),
    ("/?q=劳动教育&sort=year&per_group=0", 200, ["全部段落", "检索条件"]),
    ("/?q=没有这种说法的词语", 200, ["没有找到符合条件的段落", "没有段落符合"]),
    ("/?q=劳动教育&page=99", 200, ["这一页没有结果了"]),
    ("/?q=劳动教育&page=abc&per_group=x&sort=bogus", 200, ["检索条件"]),
    ('/?q="立德树人', 400, ["查询有误：", "引号没有闭合"]),
    ("/?q=劳动&year=abc", 400, ["查询有误：", "年份“abc”无法识别"]),
    ("/documents/2", 200, ["临淄区金茵小学2024年工作计划", "目录", "发布单位", "临淄区教育和体育局", "← 返回检索"]),
    ("/documents/2?q=劳动", 200, ["“劳动”在本文", "<mark>劳动</mark>", "返回“劳动”的检索结果", "上一处"]),
    ('/documents/2?q="劳动', 200, ["无法解析，未标出匹配", "引号没有闭合"]),
    ("/documents/999", 404, ["找不到这份计划", "没有编号为“999”的计划"]),
    ("/documents/abc", 404, ["找不到这份计划"]),
    ("/compare", 200, ["主题比较", "词典主题", "主题 × 计划 覆盖矩阵", "下载矩阵 CSV", "劳动教育"]),
    ("/compare?theme=劳动教育", 200, ["“劳动教育”在所选计划中的覆盖", "字数占比", "特色词语", "量化承诺", "最相关", "下载比较结果 CSV"]),
    ("/compare?theme=课后服务", 200, ["未提及：这份计划没有任何段落包含该主题的词语。"]),
    ("/compare?q=劳动 -家务&documents=1&documents=3", 200, ["“劳动 -家务”在所选计划中的覆盖", "所选 <strong>2</strong> 个计划"]),
    ("/compare?q=(劳动", 400, ["查询有误：", "括号没有闭合"]),
    ("/compare?q=year:2024", 400, ["主题需要至少一个要查找的词语"]),
]


@pytest.mark.parametrize("url, status, texts", PAGES)
def test_page_renders(client: TestClient, url: str, status: int, texts: list[str]) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    for text in texts:
        assert text in response.text, text


@pytest.mark.parametrize("url", [url for url, _, _ in PAGES])
def test_pages_need_no_unsafe_inline(client: TestClient, url: str) -> None:
    """CSP script-src/style-src 'self': no inline script or style, no on* or style= attributes,
    no assets from elsewhere."""
    page = Page(client.get(url).text)
    assert not page.script_bodies
    assert not page.find("style")
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on") or a == "style"], (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        if tag in ("link", "img", "script"):
            reference = attrs.get("href") or attrs.get("src") or ""
            assert reference.startswith("/") and not reference.startswith("//"), attrs


def test_only_highlights_are_marked_safe() -> None:
    for template in sorted(pages.TEMPLATES_DIR.glob("*.html")):
        for found in re.findall(r"\{\{([^}]*)\|\s*safe", template.read_text(encoding="utf-8")):
            assert found.strip().endswith(".highlight"), (template.name, found)


def test_static_assets_are_served(client: TestClient) -> None:
    for name, kind in [("style.css", "text/css"), ("search.js", "javascript"), ("document.js", "javascript"),
                       ("compare.js", "javascript"), ("favicon.svg", "image/svg")]:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"], name


def test_every_class_for_widths_and_colours_exists_in_the_stylesheet(client: TestClient) -> None:
    css = (pages.STATIC_DIR / "style.css").read_text(encoding="utf-8")
    for n in range(0, 101, 5):
        assert f".fill.w{n} {{ width: {n}%; }}" in css
    for n in range(compare_pages.HEAT_LEVELS + 1):
        assert f".h{n} {{" in css
    html = client.get("/compare?theme=劳动教育").text
    assert re.findall(r'class="fill (w\d+)"', html)
    assert {c for c in re.findall(r'<td class="(h\d)"', html)} >= {"h0", "h5"}


# -- search: the same data as the JSON twin, state in the URL ---------------------------


def test_search_page_shows_the_api_payload(client: TestClient) -> None:
    payload = client.get("/api/search", params={"q": "劳动教育", "size": pages.GROUPS_PER_PAGE}).json()
    html = client.get("/", params={"q": "劳动教育"}).text
    assert f"共 <strong>{payload['documents']}</strong> 个计划、<strong>{payload['total']}</strong> 个段落" in html
    positions = [html.index(f">{g['school']}</a></h2>") for g in payload["groups"]]
    assert positions == sorted(positions), "groups in the API's order"
    for group in payload["groups"]:
        assert f"{group['hits']} 段命中" in html
        for passage in group["passages"]:
            assert passage["highlight"] in html
            assert f'href="/documents/{group["document_id"]}?q=%E5%8A%B3%E5%8A%A8%E6%95%99%E8%82%B2#{passage["anchor"]}"' in html
            if passage["section"]:
                assert " › ".join(passage["section"]) in html


def test_bad_query_message_is_next_to_the_box(client: TestClient) -> None:
    api = client.get("/api/search", params={"q": '劳动 "立德'})
    response = client.get("/", params={"q": '劳动 "立德'})
    assert api.status_code == response.status_code == 400
    html = response.text
    box, error = html.index('id="q"'), html.index('id="q-error"')
    assert box < error < html.index('class="syntax"')
    assert 'aria-invalid="true" aria-describedby="q-error"' in html
    assert api.json()["message"] in html
    assert '<code>劳动 <span class="at">&#34;</span>立德</code>' in html  # the offending character
    assert "article" not in html and "results-layout" not in html


def _facet_links(html: str) -> dict[tuple[str, str], tuple[str, bool]]:
    """(facet label, value) -> (href, selected) from the sidebar."""
    links = {}
    for section in re.findall(r'<section class="facet"[^>]*>(.*?)</section>', html, re.S):
        label = re.search(r"<h2>(.*?)</h2>", section).group(1)  # type: ignore[union-attr]
        pattern = r'<a href="([^"]*)"( class="selected")?[^>]*>\s*<span class="check"[^>]*>[^<]*</span>\s*<span class="value">([^<]*)</span>'
        for href, cls, value in re.findall(pattern, section):
            links[(label, value)] = (href.replace("&amp;", "&"), bool(cls))
    return links


def test_facet_links_toggle_their_filter(client: TestClient) -> None:
    links = _facet_links(client.get("/", params={"q": "劳动教育", "sort": "year"}).text)
    assert {label for label, _ in links} == {"学校", "年份", "地区", "学段"}
    assert not any(selected for _, selected in links.values())
    href, _ = links[("学校", "临淄区金茵小学")]
    params = parse_qs(urlsplit(href).query)
    assert params == {"q": ["劳动教育"], "school": ["临淄区金茵小学"], "sort": ["year"]}

    filtered = client.get(href).text
    assert filtered.count('<article class="group">') == 1
    after = _facet_links(filtered)
    href_off, selected = after[("学校", "临淄区金茵小学")]
    assert selected
    assert parse_qs(urlsplit(href_off).query) == {"q": ["劳动教育"], "sort": ["year"]}
    year_href, _ = after[("年份", "2024")]
    assert parse_qs(urlsplit(year_href).query) == {"q": ["劳动教育"], "school": ["临淄区金茵小学"], "year": ["2024"], "sort": ["year"]}
    assert '<input type="hidden" name="school" value="临淄区金茵小学">' in filtered  # a new query keeps the filter


def test_a_url_filter_missing_from_the_buckets_can_still_be_removed(client: TestClient) -> None:
    links = _facet_links(client.get("/", params={"q": "劳动教育", "school": "不存在的学校"}).text)
    href, selected = links[("学校", "不存在的学校")]
    assert selected and "school" not in parse_qs(urlsplit(href).query)


def test_sort_and_per_group_links(client: TestClient) -> None:
    html = client.get("/", params={"q": "学校", "page": "1"}).text
    assert 'href="/?q=%E5%AD%A6%E6%A0%A1&amp;sort=year"' in html
    assert 'href="/?q=%E5%AD%A6%E6%A0%A1&amp;per_group=0"' in html
    by_year = client.get("/", params={"q": "学校", "sort": "year"}).text
    years = [int(y) for y in re.findall(r'<p class="meta">\s*<span[^>]*>(\d{4})', by_year)]
    assert years and years == sorted(years, reverse=True)


def test_pagination_links_keep_the_state() -> None:
    state = pages.SearchState(q="劳动", school="小学", page=5, sort="year")
    view = pages._pages(state, documents=95)
    assert view["last"] == 10
    assert [link and link["number"] for link in view["links"]] == [1, None, 3, 4, 5, 6, 7, None, 10]
    assert parse_qs(urlsplit(view["next"]).query) == {"q": ["劳动"], "school": ["小学"], "page": ["6"], "sort": ["year"]}
    assert "page" not in parse_qs(urlsplit(pages._pages(state, documents=95)["links"][0]["url"]).query)
    assert state.url(school="") == "/?q=%E5%8A%B3%E5%8A%A8&sort=year"  # a filter change goes back to page 1


def test_json_twin_link(client: TestClient) -> None:
    html = client.get("/", params={"q": "劳动教育", "region": "淄博"}).text
    href = re.search(r'<a href="(/api/search[^"]*)">本页数据（JSON）</a>', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    body = client.get(href).json()
    assert body["query"]["filters"] == {"region": "淄博"} and body["size"] == pages.GROUPS_PER_PAGE
    assert SearchRequest(q="x").per_group == 3  # the page's defaults are the API's


# -- documents ------------------------------------------------------------------------


def test_document_page_has_every_passage_with_an_anchor_and_the_outline(client: TestClient) -> None:
    detail = client.get("/api/documents/2", params={"q": "劳动"}).json()
    html = client.get("/documents/2", params={"q": "劳动"}).text
    for passage in detail["passages"]:
        assert f'id="{passage["anchor"]}" data-pid="p{passage["id"]}"' in html
        assert passage["highlight"] in html
    for entry in detail["outline"]:
        assert f'<a href="#{entry["anchor"]}">{entry["title"]}</a>' in html
    hits = [p for p in detail["passages"] if p["matches"]]
    assert html.count('class="passage hit"') + html.count('class="passage heading hit"') == len(hits)
    assert f"<strong>{sum(p['matches'] for p in hits)}</strong> 处" in html


# -- compare -------------------------------------------------------------------------


def test_compare_page_shows_the_api_columns_and_links_its_downloads(client: TestClient) -> None:
    api = client.get("/api/compare", params={"theme": "课后服务"}).json()
    html = client.get("/compare", params={"theme": "课后服务"}).text
    assert html.count('<section class="column') == len(api["columns"])
    assert html.count('<section class="column absent">') == sum(c["status"] == "未提及" for c in api["columns"])
    for column in api["columns"]:
        for term in column["distinctive_terms"]:
            assert f">{term['term']}</span>" in html
        for commitment in column["commitments"]:
            assert f"#{commitment['anchor']}\">" in html
    links = dict(re.findall(r'<a class="button" href="([^"]*)" download>下载(比较结果|矩阵) CSV</a>', html))
    assert set(links.values()) == {"比较结果", "矩阵"}
    for href in links:
        response = client.get(href.replace("&amp;", "&"))
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), href
        assert "attachment" in response.headers["content-disposition"]
    assert "format=xlsx" in html


def test_compare_keeps_the_chosen_plans_in_every_link(client: TestClient) -> None:
    html = client.get("/compare?theme=劳动教育&documents=3&documents=1").text
    assert html.count('<section class="column') == 2  # a small selection: every plan side by side
    assert "documents=3%2C1&amp;format=csv" in html
    assert "只在指定的 2 份计划中比较" in html
    html = client.get("/compare?theme=劳动教育&documents=3,1&cmp=1").text
    assert html.count('<section class="column') == 1  # the picked plan only
    assert re.findall(r'name="cmp" value="(\d+)" aria-label="[^"]*" checked', html) == ["1"]
    assert "documents=1&amp;format=xlsx" in html  # the download holds the cards shown
    assert html.count('<tr class=') == 2  # the summary still lists the selection


def test_heat_buckets_rank_the_nonzero_cells() -> None:
    classes = compare_pages._heat_classes([0.0, 1.0, 2.0, 3.0, 4.0, 500.0])
    assert [classes[v] for v in (0.0, 1.0, 2.0, 3.0, 4.0, 500.0)] == ["h0", "h1", "h2", "h3", "h4", "h5"]


# -- escaping: a plan with HTML and script renders as text everywhere -------------------


def test_hostile_plan_renders_as_text_on_every_page(hostile_client: TestClient) -> None:
    plan = _hostile_id(hostile_client)
    urls = [
        "/", "/?q=安全教育", "/?q=script", "/?q=家长&per_group=0", f"/documents/{plan}", f"/documents/{plan}?q=安全",
        f"/documents/{plan}?q=alert", "/compare", "/compare?theme=安全教育", "/compare?q=家长", "/compare?q=onerror",
    ]
    for url in urls:
        response = hostile_client.get(url)
        assert response.status_code == 200, url
        html = response.text
        page = Page(html)
        assert not page.script_bodies and not page.find("img") and not page.find("b") and not page.find("style"), url
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onclick" not in html, url
        if "?" in url:  # the pages that show the plan's text
            assert "&lt;" in html, url
    shown = hostile_client.get(f"/documents/{plan}").text
    assert "安全教育&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in shown
    assert "&lt;style&gt;body{display:none}&lt;/style&gt;" in shown
    searched = hostile_client.get("/", params={"q": "script"}).text
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in searched


def test_hostile_school_name_in_facets_and_headers_is_escaped(hostile_client: TestClient) -> None:
    html = hostile_client.get("/", params={"q": "安全"}).text
    assert "恶意测试小学" in html
    for href, _ in _facet_links(html).values():
        assert "<" not in href and '"' not in href


def test_templates_are_autoescaped() -> None:
    env = pages.build_templates().env
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_paths_of_packaged_assets() -> None:
    assert (pages.TEMPLATES_DIR / "base.html").is_file()
    assert {p.name for p in pages.STATIC_DIR.iterdir()} >= {"style.css", "search.js", "document.js", "compare.js"}
    assert all(p.name.startswith("_") or p.name in {"base.html", "search.html", "document.html", "compare.html", "not_found.html",
                                                     "kwic.html", "trends.html", "diff.html", "terms.html", "echo.html"}
               for p in pages.TEMPLATES_DIR.glob("*.html"))
    assert isinstance(pages.TEMPLATES_DIR, Path)
