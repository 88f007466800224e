"""The aiohttp application: the search pages and their JSON twins, error pages, security
headers, and `create_app`, which wires every feature in.

The app keys and the helpers handlers share live in `portal.core`, so this module can
import its features at the top like any other; each feature registers its own routes
(`setup_*`).  What the app needs from outside — config, store, index, and under
`tongjian serve` the harvest scheduler — is passed to `create_app`, never set on the app
afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from connectors.availability import AvailabilityService
from core.config import Config
from harvest.scheduler import Scheduler
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from portal.admin import setup_admin
from portal.availability import setup_availability
from portal.cataloguing import setup_cataloguing
from portal.core import (
    BACKEND,
    CONFIG,
    EMPTY_FORM,
    LIVE_CATALOGUE,
    SCHEDULER,
    SEARCHERS,
    STORE,
    TEMPLATES,
    WORKER,
    Handler,
    blocking,
    error_response,
    json_response,
    render,
    search_form,
    searching,
)
from portal.covers import setup_covers
from portal.export.routes import feed_url, setup_export
from portal.health import setup_health
from portal.i18n import N_, _, language_middleware, load_catalogues
from portal.ill import setup_ill
from portal.labels import FIELD_TITLES
from portal.live import setup_live
from portal.live_catalogue import LiveCatalogue, is_live_id
from portal.metrics import setup_metrics
from portal.my_library import home_library, setup_my_library
from portal.oai_provider import setup_oai
from portal.permalinks import setup_permalinks
from portal.proxies import forwarded, setup_proxies
from portal.query import QueryError, parse_params, run_search, search_url
from portal.records import entry_data, holdings_total, record_data, sources_status
from portal.review import setup_review
from portal.site import setup_site
from portal.sru import setup_sru
from portal.suggest import setup_suggest
from portal.views import record_context, search_context

log = logging.getLogger(__name__)

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
STATUS_MESSAGES = {  # translated where they are shown
    400: N_("请求有误。请返回检索页重新输入。"),
    404: N_("找不到这个页面。请检查网址，或从首页重新检索。"),
    405: N_("不支持这种请求方式。"),
    500: N_("服务器出了点问题，我们已记录下来。请稍后再试；如果一直出现，请联系管理员。"),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Readers get a Chinese sentence, never a traceback; the log gets the traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = await error_response(
            request, exc.status, _(STATUS_MESSAGES.get(exc.status, STATUS_MESSAGES[400])))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except QueryError as exc:
        return await error_response(request, 400, exc.message)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error for %s %s", request.method, request.path_qs)
        return await error_response(request, 500, _(STATUS_MESSAGES[500]))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


# -- pages ---------------------------------------------------------------------------------


async def search_page(request: web.Request) -> web.Response:
    app = request.app
    config = app[CONFIG]
    try:
        req = parse_params(request.query.items())
    except QueryError as exc:
        return await render(request, "search.html", status=400, error=exc.message,
                            form=search_form(request, None), home=False, result=None,
                            my_lib=home_library(request), here="/", feed_url="")
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
    mine = home_library(request)
    return await render(request, "search.html", error=None, form=search_form(request, req),
                        home=home, result=search_context(req, data, config, mine),
                        my_lib=mine, here=request.path_qs, feed_url=feed_url(req))


LIVE_GONE = N_("这条实时检索结果已过期（实时检索的结果保留 {minutes} 分钟）。"
               "请重新检索，成员馆的系统会被再次查询。")
ENTRY_GONE = N_("没有找到这条书目。它可能已在数据更新中与其他书目合并，或已被删除。请重新检索。")


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
        return _(LIVE_GONE).format(minutes=round(request.app[LIVE_CATALOGUE].ttl / 60))
    return _(ENTRY_GONE)


async def record_page(request: web.Request) -> web.Response:
    app = request.app
    cluster_id = request.match_info["id"]
    data = await entry(request, cluster_id)
    if data is None:
        return await render(request, "error.html", status=404, status_code=404,
                            message=gone_message(request, cluster_id),
                            form=search_form(request, None))
    mine = home_library(request)
    return await render(request, "record.html", form=EMPTY_FORM, my_lib=mine,
                        here=request.path_qs, **record_context(data, app[CONFIG], mine))


async def sources_page(request: web.Request) -> web.Response:
    app = request.app
    sources = await blocking(request, sources_status, app[STORE], app[CONFIG])
    return await render(request, "sources.html", sources=sources, form=EMPTY_FORM)


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
        return json_response({"error": _("没有编号为“{id}”的书目；请用 /api/search 重新检索"
                                         "获取当前编号。").format(id=cluster_id[:60])},
                             status=404)
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
        extensions=["jinja2.ext.i18n"],
    )
    # Every user-facing string in a template is marked `{{ _("…") }}`; until the message
    # catalogues are wired per request, the marked text (Chinese) is shown as written.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def create_app(config: Config, store: RecordStore, backend: SearchBackend, *,
               scheduler: Scheduler | None = None,
               availability: AvailabilityService | None = None) -> web.Application:
    """The portal over one store and index.  `scheduler` (`tongjian serve`) is started
    and stopped with the app and steered from the admin pages; `availability` chooses the
    live-status service's timeouts (tests), else one is made from the config."""
    # aiohttp refuses request lines over 8 KiB with its own English 400 before any
    # middleware runs; a 2,000-character Chinese query is 18 KiB once percent-encoded, and
    # deserves the Chinese message saying the limit.  Beyond 64 KiB aiohttp's answer stands.
    app = web.Application(middlewares=[forwarded, language_middleware, error_middleware],
                          handler_args={"max_line_size": MAX_REQUEST_LINE})
    app[CONFIG] = config
    setup_proxies(app)
    app[STORE] = store
    app[BACKEND] = backend
    app[LIVE_CATALOGUE] = LiveCatalogue()
    app[TEMPLATES] = templates()
    app[WORKER] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-store")
    app[SEARCHERS] = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                        thread_name_prefix="portal-search")
    app.on_response_prepare.append(security_headers)
    app.on_cleanup.append(_shutdown_worker)
    if scheduler is not None:
        app[SCHEDULER] = scheduler
        app.cleanup_ctx.append(_run_scheduler)
    app.router.add_get("/", search_page)
    app.router.add_get("/search", search_page)
    app.router.add_get("/record/{id}", record_page)
    app.router.add_get("/sources", sources_page)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/api/records/{id}", api_record)
    app.router.add_get("/api/sources", api_sources)
    setup_live(app)  # (issue 5)
    setup_admin(app)  # (issue 7)
    setup_metrics(app)
    setup_availability(app, availability)  # (issue 4)
    setup_ill(app)
    setup_covers(app)  # (issue 11) covers served from our own origin
    setup_health(app)  # (issue 18) /healthz and /readyz for monitoring
    setup_my_library(app)  # (issue 14) home library, nearness
    setup_export(app)  # (issue 14) export, cite, QR, OpenSearch, Atom
    setup_site(app)  # (issue 14) /favicon.ico
    app.on_startup.append(load_catalogues)  # (issue 14) the message catalogues
    setup_oai(app)  # (issue 15) OAI-PMH provider of the merged catalogue
    setup_permalinks(app)  # (issue 14 item 7) old entry ids redirect to where they went
    setup_sru(app)  # (issue 15) SRU 1.2/2.0 searchRetrieve and explain
    setup_cataloguing(app)  # (issue 16) the cataloguing centre's monthly summary
    setup_review(app)  # (issue 16) reviewers' monthly lists, marks, confirmations
    setup_suggest(app)  # (issue 12) /api/suggest, search-as-you-type
    app.router.add_static("/static", STATIC, append_version=False)
    return app


async def _run_scheduler(app: web.Application) -> AsyncIterator[None]:
    """Harvests run while the portal serves, and stop before its worker thread does (the
    scheduler's index updates run on it)."""
    scheduler = app[SCHEDULER]
    scheduler.start()
    yield
    await scheduler.stop()


async def _shutdown_worker(app: web.Application) -> None:
    app[WORKER].shutdown(wait=True)
    app[SEARCHERS].shutdown(wait=True)
