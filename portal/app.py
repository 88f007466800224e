"""The aiohttp application: routes, error pages, security headers.

Store and engine are synchronous (SQLite, tantivy), so every call into them runs on one
dedicated worker thread: the event loop keeps serving while a search runs, and the store
and index are never touched by two threads at once (neither promises that is safe).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from core.config import Config
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from portal.labels import FIELD_TITLES, SORT_TITLES
from portal.live_catalogue import LiveCatalogue, is_live_id
from portal.query import MAX_QUERY_CHARS, QueryError, parse_params, run_search, search_url
from portal.records import (
    entry_data,
    failing_sources,
    holdings_total,
    record_data,
    sources_status,
)
from portal.views import record_context, search_context

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", RecordStore)
BACKEND = web.AppKey("backend", SearchBackend)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
WORKER = web.AppKey("worker", ThreadPoolExecutor)
SEARCHERS = web.AppKey("searchers", ThreadPoolExecutor)
LIVE_CATALOGUE = web.AppKey("live_catalogue", LiveCatalogue)

STATIC = Path(__file__).parent / "static"
MAX_REQUEST_LINE = 65_536
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    # What a reader searches for is their business: never send it to other sites.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SAMPLES = (("红楼梦", "any"), ("中国发展报告", "title"), ("鲁迅", "author"),
           ("陕西", "subject"))
STATUS_MESSAGES = {
    400: "请求有误。请返回检索页重新输入。",
    404: "找不到这个页面。请检查网址，或从首页重新检索。",
    405: "不支持这种请求方式。",
    500: "服务器出了点问题，我们已记录下来。请稍后再试；如果一直出现，请联系管理员。",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def blocking(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[WORKER], partial(fn, *args))


async def searching(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """Index searches run on a pool of their own, one thread per core: tantivy searches
    release the GIL and read a snapshot, so they need neither the store's thread nor
    each other — only writes to the store and index stay on the single worker."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[SEARCHERS], partial(fn, *args))


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=partial(json.dumps, ensure_ascii=False))


async def render(request: web.Request, template: str, status: int = 200,
                 **context: Any) -> web.Response:
    app = request.app
    config = app[CONFIG]
    try:
        failing = await blocking(request, failing_sources, app[STORE], config)
    except Exception:  # the status line must never take the page down with it
        log.exception("could not read harvest status")
        failing = []
    html = app[TEMPLATES].get_template(template).render(
        site_title=config.portal.title, consortium=config.name, failing=failing,
        field_titles=FIELD_TITLES, sort_titles=SORT_TITLES, max_q=MAX_QUERY_CHARS,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if is_api(request):
        return json_response({"error": message}, status=status)
    try:
        return await render(request, "error.html", status=status, status_code=status,
                            message=message, form=_form(request, None))
    except Exception:
        log.exception("could not render the error page")
        return web.Response(text=f"{status} {message}", status=status,
                            content_type="text/plain", charset="utf-8")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Readers get a Chinese sentence, never a traceback; the log gets the traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = await error_response(
            request, exc.status, STATUS_MESSAGES.get(exc.status, STATUS_MESSAGES[400]))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except QueryError as exc:
        return await error_response(request, 400, exc.message)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error for %s %s", request.method, request.path_qs)
        return await error_response(request, 500, STATUS_MESSAGES[500])


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _form(request: web.Request, req: SearchRequest | None) -> dict[str, str]:
    """What to put back in the search box; after bad input, the reader's own words."""
    if req is not None:
        return {"q": req.q, "field": req.field}
    raw = request.query.get("q", "")[: MAX_QUERY_CHARS * 2]
    field = request.query.get("field", "any")
    return {"q": "".join(ch for ch in raw if ch.isprintable()),
            "field": field if field in FIELD_TITLES else "any"}


# -- pages ---------------------------------------------------------------------------------


async def search_page(request: web.Request) -> web.Response:
    app = request.app
    config = app[CONFIG]
    try:
        req = parse_params(request.query.items())
    except QueryError as exc:
        return await render(request, "search.html", status=400, error=exc.message,
                            form=_form(request, None), home=False, result=None)
    data = await searching(request, run_search, app[BACKEND], req, config.libraries,
                           app[LIVE_CATALOGUE].entries_with_live)
    home = None
    if not req.q and not req.filters and req.page == 1:
        home = {
            "libraries": len(config.libraries),
            "records": await blocking(request, holdings_total, app[STORE]),
            "entries": data["total"],
            "samples": [{"q": q, "field": FIELD_TITLES[f],
                         "url": search_url(SearchRequest(q=q, field=f))}  # type: ignore[arg-type]
                        for q, f in SAMPLES],
        }
    return await render(request, "search.html", error=None, form=_form(request, req), home=home,
                        result=search_context(req, data, config))


LIVE_GONE = ("这条实时检索结果已过期（实时检索的结果保留 {minutes} 分钟）。"
             "请重新检索，成员馆的系统会被再次查询。")
ENTRY_GONE = "没有找到这条书目。它可能已在数据更新中与其他书目合并，或已被删除。请重新检索。"


async def entry(request: web.Request, entry_id: str) -> dict[str, Any] | None:
    """The one body of an entry for the record page and `/api/records/{id}`: a catalogue
    entry from the store with the live copies joined to it, or a live-only entry from the
    live records that found it; None when there is no such entry (any more)."""
    app = request.app
    catalogue = app[LIVE_CATALOGUE]
    if is_live_id(entry_id):
        live = catalogue.records_for(entry_id)
        return entry_data(entry_id, [], live, app[CONFIG], []) if live else None
    return await blocking(request, record_data, entry_id, app[STORE], app[CONFIG],
                          catalogue.entries_with_live, app[BACKEND])


def gone_message(request: web.Request, entry_id: str) -> str:
    if is_live_id(entry_id):
        return LIVE_GONE.format(minutes=round(request.app[LIVE_CATALOGUE].ttl / 60))
    return ENTRY_GONE


async def record_page(request: web.Request) -> web.Response:
    app = request.app
    cluster_id = request.match_info["id"]
    data = await entry(request, cluster_id)
    if data is None:
        return await render(request, "error.html", status=404, status_code=404,
                            message=gone_message(request, cluster_id),
                            form=_form(request, None))
    return await render(request, "record.html", form={"q": "", "field": "any"},
                        **record_context(data, app[CONFIG]))


async def sources_page(request: web.Request) -> web.Response:
    app = request.app
    sources = await blocking(request, sources_status, app[STORE], app[CONFIG])
    return await render(request, "sources.html", sources=sources, form={"q": "", "field": "any"})


# -- JSON ----------------------------------------------------------------------------------


async def api_search(request: web.Request) -> web.Response:
    app = request.app
    try:
        req = parse_params(request.query.items())
    except QueryError as exc:
        return json_response({"error": exc.message}, status=400)
    return json_response(
        await searching(request, run_search, app[BACKEND], req, app[CONFIG].libraries,
                        app[LIVE_CATALOGUE].entries_with_live))


async def api_record(request: web.Request) -> web.Response:
    cluster_id = request.match_info["id"]
    data = await entry(request, cluster_id)
    if data is None:
        if is_live_id(cluster_id):
            return json_response({"error": gone_message(request, cluster_id)}, status=404)
        return json_response({"error": f"没有编号为“{cluster_id[:60]}”的书目；"
                                       "请用 /api/search 重新检索获取当前编号。"}, status=404)
    return json_response(data)


async def api_sources(request: web.Request) -> web.Response:
    app = request.app
    return json_response(await blocking(request, sources_status, app[STORE], app[CONFIG]))


# -- wiring --------------------------------------------------------------------------------


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portal"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails a test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def create_app(config: Config, store: RecordStore, backend: SearchBackend) -> web.Application:
    # aiohttp refuses request lines over 8 KiB with its own English 400 before any
    # middleware runs; a 2,000-character Chinese query is 18 KiB once percent-encoded, and
    # deserves the Chinese message saying the limit.  Beyond 64 KiB aiohttp's answer stands.
    app = web.Application(middlewares=[error_middleware],
                          handler_args={"max_line_size": MAX_REQUEST_LINE})
    app[CONFIG] = config
    app[STORE] = store
    app[BACKEND] = backend
    app[LIVE_CATALOGUE] = LiveCatalogue()
    app[TEMPLATES] = templates()
    app[WORKER] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-store")
    app[SEARCHERS] = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                        thread_name_prefix="portal-search")
    app.on_response_prepare.append(security_headers)
    app.on_cleanup.append(_shutdown_worker)
    app.router.add_get("/", search_page)
    app.router.add_get("/search", search_page)
    app.router.add_get("/record/{id}", record_page)
    app.router.add_get("/sources", sources_page)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/api/records/{id}", api_record)
    app.router.add_get("/api/sources", api_sources)
    # Live search (issue 5): its routes, engine and cleanup.  Imported here because
    # portal.live imports this module's app keys and helpers.
    from portal.live import setup_live

    setup_live(app)
    from portal.admin import setup_admin  # (issue 7) these import this module too
    from portal.metrics import setup_metrics

    setup_admin(app)
    setup_metrics(app)
    from portal.availability import setup_availability  # (issue 4) these import this module too
    from portal.ill import setup_ill

    setup_availability(app)
    setup_ill(app)
    from portal.covers import setup_covers  # (issue 11) covers served from our own origin

    setup_covers(app)
    app.router.add_static("/static", STATIC, append_version=False)
    return app


async def _shutdown_worker(app: web.Application) -> None:
    app[WORKER].shutdown(wait=True)
    app[SEARCHERS].shutdown(wait=True)
