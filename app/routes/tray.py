"""The comparison tray: plans chosen for a side-by-side comparison, kept in the URL as
`cmp=1,5,9` (shareable, carried by every link a page builds) and shown on every page.

Templates call the two globals registered here: `tray(request)` for the tray itself and
`tray_toggle(request, id)` for a result's "加入比较 / 移出比较" link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from app.search import plan_summary

MAX_TRAY = 50  # ids kept from a hand-edited URL; the compare page shows 12 side by side


def parse_cmp(text: str | None) -> list[int]:
    """`1,5,9` (either comma) -> ids in order, duplicates and non-numbers dropped."""
    out: list[int] = []
    for item in (text or "").replace("，", ",").split(","):
        item = item.strip()
        if item.isascii() and item.isdigit() and len(item) < 19 and int(item) not in out:
            out.append(int(item))
    return out[:MAX_TRAY]


def format_cmp(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def with_cmp(request: Request, ids: list[int]) -> str:
    """The current URL with `cmp` set to `ids` (dropped when empty), other parameters kept."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "cmp"]
    if ids:
        pairs.append(("cmp", format_cmp(ids)))
    return request.url.path + ("?" + urlencode(pairs) if pairs else "")


def tray(request: Request) -> dict[str, Any] | None:
    """{"plans": [{"document_id", "label", "remove_url"}], "compare_url", "clear_url"}, or None
    when the tray is empty. Unknown ids are left out."""
    ids = parse_cmp(request.query_params.get("cmp"))
    if not ids:
        return None
    snapshot = request.app.state.holder.current()
    known = [i for i in ids if i in snapshot.plan_by_id]
    plans = []
    for document_id in known:
        meta = plan_summary(snapshot.plans[snapshot.plan_by_id[document_id]])
        label = f"{meta['school'] or meta['title']}（{meta['period'] or '—'}）"
        plans.append({"document_id": document_id, "label": label,
                      "remove_url": with_cmp(request, [i for i in ids if i != document_id])})
    query = request.query_params.get("q") or request.query_params.get("theme") or ""
    params = {"documents": format_cmp(known), "cmp": format_cmp(known)}
    if query.strip():
        params["q"] = query.strip()
    return {"plans": plans, "compare_url": "/compare?" + urlencode(params), "clear_url": with_cmp(request, [])}


def tray_toggle(request: Request, document_id: int) -> dict[str, Any]:
    """{"in_tray", "url"}: the link that adds the plan to the tray, or removes it."""
    ids = parse_cmp(request.query_params.get("cmp"))
    if document_id in ids:
        return {"in_tray": True, "url": with_cmp(request, [i for i in ids if i != document_id])}
    return {"in_tray": False, "url": with_cmp(request, [*ids, document_id])}


def carry_cmp(request: Request, url: str) -> str:
    """`url` with the request's tray appended, so following a link keeps the chosen plans."""
    ids = parse_cmp(request.query_params.get("cmp"))
    if not ids or "cmp=" in url:
        return url
    base, _, anchor = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + urlencode({"cmp": format_cmp(ids)})
    return joined + ("#" + anchor if anchor else "")
