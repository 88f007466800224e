"""The HTTP side of export and cite: `/export`, `/record/{id}/qr.svg`, `/opensearch.xml`
and `/feed`.  Every answer is built by the pure writers beside this module from
`ExportItem`s that `items.load_items` reads from the store on the portal's worker thread.

`/export` is a plain GET form: a record page links to it for one entry (no JavaScript), the
result list's checkboxes submit it for a page's marked entries, and `static/marked.js`
adds the entries marked on other pages (kept in the browser, never on the server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote, urlencode

from aiohttp import web

from core.nearness import tier
from index.backend import SearchRequest
from portal.core import BACKEND, CONFIG, STORE, blocking, json_response, searching
from portal.export import bibtex, feeds, gbt7714, marc_out, ris, table
from portal.export.items import MAX_ITEMS, ExportItem, load_items
from portal.export.qr import qr_svg, shelf_text
from portal.i18n import N_, _
from portal.query import DEFAULT_PAGE_SIZE, QueryError, parse_params, search_url, to_params
from portal.records import BEIJING

MAX_ID = 128
FEED_ENTRIES = 50
FEED_CANDIDATES = 100  # the query's best hits among which the newest are shown
HOME_COOKIE = "tongjian_home"  # portal.my_library.COOKIE (that module imports the views)


@dataclass(frozen=True)
class Format:
    title: str
    media_type: str
    extension: str
    write: Callable[[list[ExportItem], str], bytes]
    encodings: tuple[str, ...] = ("utf-8",)


FORMATS: dict[str, Format] = {
    "ris": Format(N_("RIS（EndNote、Zotero、NoteExpress）"), "application/x-research-info-systems",
                  "ris", lambda items, _enc: ris.ris(items)),
    "bibtex": Format("BibTeX", "application/x-bibtex", "bib",
                     lambda items, _enc: bibtex.bibtex(items)),
    "marc": Format("MARC（ISO 2709）", "application/marc", "mrc", marc_out.iso2709,
                   marc_out.ENCODINGS),
    "marcxml": Format("MARCXML", "application/marcxml+xml", "xml",
                      lambda items, _enc: marc_out.marcxml(items)),
    "csv": Format("CSV（Excel）", "text/csv", "csv", table.table, ("utf-8", "gb18030")),
    "gbt7714": Format(N_("GB/T 7714-2015 引文"), "text/plain", "txt",
                      lambda items, _enc: gbt7714.citations(
                          [i.record for i in items],
                          datetime.now(BEIJING).date()).encode("utf-8")),
}


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _ids(request: web.Request) -> list[str]:
    ids = [i.strip() for i in request.query.getall("id", []) if i.strip()]
    if not ids:
        raise QueryError(_("没有选中要导出的书目。请在检索结果中勾选书目，或从书目页面导出。"))
    if len(ids) > MAX_ITEMS:
        raise QueryError(_("一次最多导出 {max} 条书目（选中了 {n} 条）。请分几次导出。").format(
            max=MAX_ITEMS, n=len(ids)))
    if any(len(i) > MAX_ID or not i.isprintable() for i in ids):
        raise QueryError(_("书目编号无效。请从检索结果或书目页面重新导出。"))
    return ids


async def export(request: web.Request) -> web.Response:
    name = request.query.get("format", "")
    fmt = FORMATS.get(name)
    if fmt is None:
        raise QueryError(_("不支持的导出格式“{name}”。可用格式：{formats}。").format(
            name=name[:20], formats="、".join(f"{k}（{_(f.title)}）" for k, f in FORMATS.items())))
    encoding = request.query.get("encoding", "utf-8").lower()
    if encoding not in fmt.encodings:
        raise QueryError(_("{format} 不支持字符集“{encoding}”，可用：{encodings}。").format(
            format=_(fmt.title), encoding=encoding[:20], encodings="、".join(fmt.encodings)))
    ids = _ids(request)
    app = request.app
    items = await blocking(request, load_items, app[STORE], app[CONFIG], ids, base_url(request))
    if not items:
        return web.Response(status=404, content_type="text/plain", charset="utf-8",
                            text=_("选中的书目都已不存在（可能已在数据更新中合并）。请重新检索后再导出。"))
    body = fmt.write(items, encoding)
    stamp = datetime.now(BEIJING).strftime("%Y%m%d")
    charset = f"; charset={encoding}" if fmt.media_type.startswith("text/") else ""
    return web.Response(body=body, headers={
        "Content-Type": fmt.media_type + charset,
        "Content-Disposition": f'attachment; filename="tongjian-{stamp}.{fmt.extension}"',
    })


async def qr_code(request: web.Request) -> web.Response:
    """The shelf card of one entry at one library: the reader's chosen one (`library=`),
    else their home library's nearest holding, else the first library holding it."""
    entry_id = request.match_info["id"]
    app = request.app
    config = app[CONFIG]
    items = await blocking(request, load_items, app[STORE], config, [entry_id],
                           base_url(request))
    if not items or not items[0].shelves:
        raise web.HTTPNotFound()
    item = items[0]
    wanted = request.query.get("library", "")
    home = config.libraries.get(request.cookies.get(HOME_COOKIE, ""))
    shelves = sorted(item.shelves, key=lambda s: (s.library != wanted,
                                                  tier(home, s.library, config.libraries)))
    shelf = shelves[0]
    text = shelf_text(item.record.title, shelf.call_numbers[0] if shelf.call_numbers else "",
                      shelf.name, item.url)
    return web.Response(body=qr_svg(text, title=f"{item.record.title} · {shelf.name}"),
                        content_type="image/svg+xml",
                        headers={"Cache-Control": "private, max-age=300"})


async def opensearch_xml(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = feeds.opensearch(base_url(request), "统检", config.portal.title)
    return web.Response(body=body, content_type="application/opensearchdescription+xml")


def feed_url(req: SearchRequest) -> str:
    """The Atom feed of a search: its query and filters, never its page or sort."""
    pairs = [(k, v) for k, v in to_params(replace(req, page=1)) if k not in ("sort",
                                                                            "page_size")]
    return "/feed?" + urlencode(pairs) if pairs else "/feed"


async def feed(request: web.Request) -> web.Response:
    """New in the catalogue for this query: the query's best FEED_CANDIDATES hits, newest
    first by when the catalogue first had them."""
    try:
        req = parse_params(request.query.items())
    except QueryError as exc:
        return json_response({"error": exc.message}, status=400)
    app = request.app
    req = replace(req, page=1, page_size=FEED_CANDIDATES, sort="relevance")
    result = await searching(request, app[BACKEND].search, req)
    base = base_url(request)
    items = await blocking(request, load_items, app[STORE], app[CONFIG],
                           [h.id for h in result.hits], base)
    items = sorted(items, key=lambda i: (-i.first_seen, i.entry_id))[:FEED_ENTRIES]
    summaries = {i.entry_id: "　".join(x for x in (
        i.record.publisher, str(i.record.year or ""),
        _("收藏馆：") + "、".join(s.name for s in i.shelves[:5]) if i.shelves else "") if x)
        for i in items}
    query = " ".join(v for k, v in to_params(req) if k == "q") or _("全部书目")
    html = search_url(replace(req, page_size=DEFAULT_PAGE_SIZE))
    return web.Response(body=feeds.atom(items, title=f"{app[CONFIG].portal.title}：{query}",
                                        self_url=base + str(request.rel_url),
                                        html_url=base + html, summaries=summaries),
                        content_type="application/atom+xml")


def export_links(entry_id: str) -> list[dict[str, str]]:
    """The record page's download links, one per format (and encoding)."""
    links = []
    for name, fmt in FORMATS.items():
        for enc in fmt.encodings:
            params = [("format", name), ("id", entry_id)]
            label = _(fmt.title)
            if enc != "utf-8":
                params.append(("encoding", enc))
                label += f"（{enc.upper()}）"
            links.append({"title": label, "url": "/export?" + urlencode(params)})
    return links


def qr_url(entry_id: str, library: str = "") -> str:
    url = f"/record/{quote(entry_id, safe='')}/qr.svg"
    return url + ("?" + urlencode([("library", library)]) if library else "")


def setup_export(app: web.Application) -> None:
    app.router.add_get("/export", export)
    app.router.add_get("/record/{id}/qr.svg", qr_code)
    app.router.add_get("/opensearch.xml", opensearch_xml)
    app.router.add_get("/feed", feed)


__all__ = ["FORMATS", "export_links", "feed_url", "qr_url", "setup_export"]
