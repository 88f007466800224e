"""What every part of the portal shares: the app keys, and the helpers handlers are written with.

Feature modules (live search, admin, ILL, metrics, covers, availability) import from here,
never from `portal.app`: `portal.app` imports every feature to wire them into one app, so a
feature importing it back would be a cycle — the reason `create_app` once had to import
its features inside the function.  An import-linter contract (pyproject.toml) keeps the
direction.

Store and engine are synchronous (SQLite, tantivy), so every call into them runs on one
dedicated worker thread (`blocking`): the event loop keeps serving while a search runs,
and the store and index are never touched by two threads at once (neither promises that is
safe).  Index searches only read a snapshot, so they have a pool of their own (`searching`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from functools import partial
from typing import Any, TypeVar

import jinja2
import orjson
from aiohttp import web

from core.config import Config
from harvest.scheduler import Scheduler
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from portal.i18n import template_context
from portal.labels import FIELD_TITLES, SORT_TITLES
from portal.live_catalogue import LiveCatalogue
from portal.query import MAX_QUERY_CHARS
from portal.records import failing_sources

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", RecordStore)
BACKEND = web.AppKey("backend", SearchBackend)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
WORKER = web.AppKey("worker", ThreadPoolExecutor)
SEARCHERS = web.AppKey("searchers", ThreadPoolExecutor)
LIVE_CATALOGUE = web.AppKey("live_catalogue", LiveCatalogue)
# Only under `tongjian serve` (passed to create_app): the admin pages and /metrics show and
# steer it, and say so when there is none.
SCHEDULER = web.AppKey("scheduler", Scheduler)

EMPTY_FORM = {"q": "", "field": "any"}  # the header search box on pages that are no search

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def on_worker(app: web.Application, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on the app's one store-and-index thread, for callers without a request
    (the scheduler's index updates)."""
    loop = asyncio.get_running_loop()
    # in the caller's context: text made on the thread speaks the request's language
    return await loop.run_in_executor(app[WORKER], partial(copy_context().run, fn, *args))


async def blocking(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    return await on_worker(request.app, fn, *args)


async def searching(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """Index searches run on a pool of their own, one thread per core: tantivy searches
    release the GIL and read a snapshot, so they need neither the store's thread nor
    each other — only writes to the store and index stay on the single worker."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[SEARCHERS],
                                      partial(copy_context().run, fn, *args))


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def json_response(data: Any, status: int = 200) -> web.Response:
    """UTF-8 JSON through orjson: a search response (twenty hits with their holdings and
    six facets) encodes several times faster than with `json`, on every API request."""
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return web.Response(body=body, status=status, content_type="application/json",
                        charset="utf-8")


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
        **template_context(request), **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if is_api(request):
        return json_response({"error": message}, status=status)
    try:
        return await render(request, "error.html", status=status, status_code=status,
                            message=message, form=search_form(request, None))
    except Exception:
        log.exception("could not render the error page")
        return web.Response(text=f"{status} {message}", status=status,
                            content_type="text/plain", charset="utf-8")


def search_form(request: web.Request, req: SearchRequest | None) -> dict[str, str]:
    """What to put back in the search box; after bad input, the reader's own words."""
    if req is not None:
        return {"q": req.q, "field": req.field}
    raw = request.query.get("q", "")[: MAX_QUERY_CHARS * 2]
    field = request.query.get("field", "any")
    return {"q": "".join(ch for ch in raw if ch.isprintable()),
            "field": field if field in FIELD_TITLES else "any"}
