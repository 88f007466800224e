"""Live search in the portal: sessions over broadcasts, merged into the index's hits.

Flow.  The search page shows index results at once and needs no JavaScript.  With it,
``live.js`` POSTs the same query to ``/api/live-searches``; the session starts a broadcast
to every ``mode: live`` source (``connectors.broadcast``), runs the index query of the page
being shown (the one query path, ``portal.query``) and answers with its id.  From then on
every batch of live records goes through one merge step and every change becomes an event,
so a page following ``…/events`` (server-sent events) and an API client polling
``GET …/{id}`` see the same merged hits and per-library status lines.

Merge.  Every live record goes through the harvest's own path: the broadcast normalizes
it with the harvest's crosswalk, and `portal.live_catalogue` puts it in the catalogue
entry the harvest's matcher says it is — looked up in the index by its ISBNs and title,
not only among this query's hits — or in a live-only entry.  A live record of an entry
on the page adds its library's holdings to that hit (marked ``live``); one of an entry
elsewhere in the catalogue is counted (``elsewhere``), never shown a second time; live-only
entries are listed apart from the catalogue's hits, on the first page only, each with a
record page of its own.  Resolving reads the index and the store, so it runs on the
portal's worker thread, one batch at a time; ``done`` is sent once every record is placed.

Limits.  Sessions expire ``ttl`` seconds after last use (their broadcast is cancelled);
at most ``max_running`` broadcasts run at once (503), ``max_per_client`` per client address
(429), each client starts at most ``per_minute`` searches a minute (429 — a script that
fires searches back to back would otherwise fan them all out to county servers), and
``max_sessions`` are kept.  Starting needs a JSON body, which a cross-site form cannot
send, and a request that names another site as its Origin is refused (403), so another
site cannot make readers' browsers fan out searches to county servers.  The client is the
reader's address (behind a trusted proxy, the one it forwarded: `portal.proxies`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web

from connectors.broadcast import (
    LIVE_FIELDS,
    Broadcaster,
    BroadcastEvent,
    LiveSearch,
    State,
    TargetStatus,
)
from core.config import Config, Library
from core.entry import entry_holdings, library_copies
from core.model import Record
from harvest.crosswalk import from_raw
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchHit, SearchRequest
from index.documents import best_record
from portal.auth import client_address, same_origin
from portal.core import BACKEND, CONFIG, LIVE_CATALOGUE, STORE, TEMPLATES, WORKER, json_response
from portal.i18n import N_, _
from portal.labels import FIELD_TITLES
from portal.live_catalogue import LiveCatalogue, is_live_id
from portal.my_library import home_library, nearest_first
from portal.query import (
    QueryError,
    describe,
    hit_json,
    holding_lines,
    parse_params,
    search_json,
)
from portal.rate_limit import PerClientRate
from portal.views import holdings_summary, record_url

log = logging.getLogger(__name__)

KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep an idle stream open
SWEEP_EVERY = 30.0
POST_KEYS = ("q", "field", "sort", "page", "page_size")

# -- status lines -----------------------------------------------------------------------

ERROR_TEXT = {  # translated where shown
    "unreachable": N_("无法连接"),
    "timeout": N_("超时"),
    "busy": N_("繁忙，超时"),
    "diagnostic": N_("服务器拒绝了这次检索"),
    "protocol": N_("应答无法识别"),
    "unsupported": N_("不支持实时检索"),
    "query": N_("检索式无法发送"),
    "internal": N_("出错"),
}


def status_text(s: TargetStatus) -> str:
    """The reader's words for a target's state: "12 条", "超时", "暂停检索" …"""
    if s.state == State.DONE:
        shown = (_("（显示 {n} 条）").format(n=s.records) if s.hits and s.records < s.hits
                 else "")
        return _("{n} 条").format(n=s.hits or 0) + shown
    if s.state == State.FETCHING:
        return _("{n} 条，正在获取…").format(n=s.hits or 0)
    if s.state in (State.FAILED, State.TIMEOUT):
        return _(ERROR_TEXT.get(s.error, N_("超时") if s.state == State.TIMEOUT else N_("出错")))
    if s.state == State.SKIPPED:
        wait = (_("，约 {n} 秒后重试").format(n=max(1, round(s.retry_in or 0))) if s.retry_in
                else "")
        return _("连续失败，暂停检索") + wait
    return _({State.QUEUED: N_("排队中…"), State.CONNECTING: N_("连接中…"),
              State.SEARCHING: N_("检索中…"),
              State.CANCELLED: N_("已取消")}.get(s.state, str(s.state)))


# -- one session ------------------------------------------------------------------------


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


Resolver = Callable[[list[Record]], Awaitable[None]]
"""Places live records in their entries (`LiveCatalogue.resolve` on the worker thread)."""


class LiveSession:
    """One reader's live search: the index page, the broadcast, the merged view, the log.

    The log holds portal events (``status``, ``hits``, ``done``) with ids 1, 2, …, so an
    EventSource that reconnects with Last-Event-ID gets exactly what it missed.  Records
    are placed in their entries batch by batch; only hits whose records changed are
    re-rendered, and a ``hits`` event carries only what changed since the last one.
    """

    def __init__(self, session_id: str, req: SearchRequest, client: str, config: Config,
                 names: dict[str, str], catalogue: LiveCatalogue, resolver: Resolver,
                 ttl: float) -> None:
        self.id = session_id
        self.req = req
        self.client = client
        self.config = config
        self.names = names
        self.catalogue = catalogue
        self.resolver = resolver
        self.ttl = ttl
        self.home: Library | None = None  # the reader's home library: holdings nearest first
        self.last_seen = time.monotonic()
        self.search: LiveSearch | None = None
        self.index: dict[str, Any] | None = None  # run_search's answer for the page
        self.page: list[SearchHit] = []  # the page's index hits, to re-render with live copies
        self.hits: list[dict[str, Any]] = []
        self.counts = {"records": 0, "live_hits": 0, "merged": 0, "elsewhere": 0}
        self.events: list[tuple[int, str, str]] = []
        self.changed = asyncio.Event()
        self.closed = False
        self._pending: list[Record] = []
        self._placed: list[Record] = []  # records whose entry is known, in arrival order
        self._resolving: asyncio.Task[None] | None = None
        self._settled = False
        self._sent: dict[str, str] = {}
        self._rendered: dict[tuple[str, tuple[str, ...]], tuple[dict[str, Any], str]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifetime --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.search is not None and not self.search.done

    @property
    def finished(self) -> bool:
        return self.closed or self._settled

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def expired(self, now: float) -> bool:
        return now - self.last_seen > self.ttl

    def attach(self, search: LiveSearch) -> None:
        self.search = search
        self._unsubscribe = search.subscribe(self._on_event)

    def set_index(self, data: dict[str, Any], page: list[SearchHit]) -> None:
        self.index = data
        self.page = page
        # What the page already shows: the search page joined the live copies known then.
        live = self.catalogue.entries_with_live(h.id for h in page)
        self._sent = {h.id: self._cached(h.id, live.get(h.id, []),
                                         partial(self._index_hit, h, live.get(h.id, [])))[1]
                      for h in page}
        self._refresh()
        self._kick()

    def close(self) -> None:
        """Cancel the broadcast and end every stream on this session."""
        if self.search is not None:
            self.search.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._resolving is not None:
            self._resolving.cancel()
        self.closed = True
        self._wake()

    # -- events ----------------------------------------------------------------------
    def _wake(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((len(self.events) + 1, name, _dumps(data)))
        self._wake()

    def _on_event(self, event: BroadcastEvent) -> None:
        if event.kind == "status" and event.status is not None:
            self._emit("status", self.status_json(event.status))
        elif event.kind == "records":
            self._pending.extend(event.records)
            self._kick()
        elif event.kind == "done":
            self._kick()

    def _kick(self) -> None:
        """Start placing pending records unless a batch is being placed already; settle
        when the broadcast is done and every record is placed."""
        if self.closed or self.index is None or self.search is None:
            return  # records wait for the index part; set_index kicks again
        if self._resolving is not None and not self._resolving.done():
            return
        if self._pending:
            self._resolving = asyncio.get_running_loop().create_task(self._resolve())
        elif self.search.done and not self._settled:
            self._settle()

    async def _resolve(self) -> None:
        batch, self._pending = self._pending, []
        try:
            await self.resolver(batch)
            self._placed.extend(batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not hang the session: the batch shows as live-only
            log.exception("live search %s: placing %d records failed", self.id, len(batch))
            self._placed.extend(batch)
        self._refresh()
        self._resolving = None
        self._kick()

    def _settle(self) -> None:
        """The last event; nothing will be re-merged, so the render cache can go."""
        self._settled = True
        self._rendered.clear()
        self._emit("done", self._summary())

    # -- JSON ------------------------------------------------------------------------
    def status_json(self, s: TargetStatus) -> dict[str, Any]:
        return {"source": s.source, "library": s.library,
                "name": self.names.get(s.source, s.source), "state": str(s.state),
                "text": status_text(s), "hits": s.hits, "records": s.records,
                "rejected": s.rejected, "error": s.error, "reason": s.reason,
                "elapsed_ms": round(s.elapsed * 1000), "retry_in": s.retry_in}

    def _summary(self) -> dict[str, Any]:
        return {"done": self.finished, "live": dict(self.counts),
                "sources": [self.status_json(s) for s in self.search.statuses]
                if self.search else []}

    def snapshot(self) -> dict[str, Any]:
        base = f"/api/live-searches/{self.id}"
        return {
            "id": self.id,
            "query": describe(self.req),
            "done": self.finished,
            "expires_in": max(0, round(self.ttl - (time.monotonic() - self.last_seen))),
            "links": {"self": base, "events": f"{base}/events"},
            "sources": [self.status_json(s) for s in self.search.statuses]
            if self.search else [],
            "index_total": self.index["total"] if self.index else None,
            "live": dict(self.counts),
            "hits": self.hits,
        }

    # -- merge -----------------------------------------------------------------------
    def _index_hit(self, hit: SearchHit, live: list[Record]) -> dict[str, Any]:
        shown = hit_json(hit, self.config.libraries, live)
        shown["holdings"] = nearest_first(shown["holdings"], self.home, self.config.libraries)
        return {**shown, "origin": "index", "url": record_url(hit.id),
                "summary": holdings_summary(shown["holdings"])}

    def _live_hit(self, entry_id: str, records: list[Record]) -> dict[str, Any]:
        shown = live_entry_json(entry_id, records, self.config.libraries)
        shown["holdings"] = nearest_first(shown["holdings"], self.home, self.config.libraries)
        return {**shown, "origin": "live", "url": record_url(entry_id),
                "summary": holdings_summary(shown["holdings"])}

    def _cached(self, key: str, records: list[Record],
                render: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """A hit and its JSON, rendered once per distinct set of records: a refresh then
        costs dictionary look-ups, not re-rendering every hit."""
        cache_key = (key, tuple(r.key for r in records))
        found = self._rendered.get(cache_key)
        if found is None:
            hit = render()
            found = self._rendered[cache_key] = (hit, _dumps(hit))
        return found

    def _refresh(self) -> None:
        """Re-group every placed record by its entry and publish what changed."""
        if self.index is None:
            return
        entries: dict[str, None] = {}
        for record in self._placed:
            entry = self.catalogue.entry_of(record.key)
            if entry is not None:
                entries[entry] = None
        page_ids = {h.id for h in self.page}
        live = self.catalogue.entries_with_live([*page_ids, *entries])
        rendered = [self._cached(h.id, live.get(h.id, []),
                                 partial(self._index_hit, h, live.get(h.id, [])))
                    for h in self.page]
        live_ids = [e for e in entries if is_live_id(e) and live.get(e)]
        live_only = [self._cached(e, live[e], partial(self._live_hit, e, live[e]))
                     for e in live_ids] if self.req.page == 1 else []
        self.hits = [hit for hit, _json in rendered + live_only]
        self.counts = {
            "records": len(self._placed) + len(self._pending),
            "live_hits": len(live_ids),
            "merged": sum(1 for e in entries if e in page_ids),
            "elsewhere": sum(1 for e in entries if e not in page_ids and not is_live_id(e)),
        }
        current = {hit["id"]: text for hit, text in rendered + live_only}
        changed = [hit for hit, text in rendered + live_only
                   if self._sent.get(hit["id"]) != text]
        removed = [hit_id for hit_id in self._sent if hit_id not in current]
        self._sent = current
        if changed or removed:
            self._emit("hits", {"changed": changed, "removed": removed,
                                "live": dict(self.counts)})


def live_entry_json(entry_id: str, records: list[Record],
                    libraries: dict[str, Library]) -> dict[str, Any]:
    """A live-only entry as a result line: the best live record's description and its
    holdings counted by `core.entry`, as every other line."""
    best = best_record(records, libraries)
    holdings = holding_lines(library_copies(entry_holdings((), records)), libraries)
    return {"id": entry_id, "title": best.title,
            "authors": [a.name for a in best.authors if a.name], "year": best.year,
            "isbn": list(dict.fromkeys(i for r in records for i in r.isbn)),
            "publisher": best.publisher, "holdings": holdings,
            "live_sources": sorted({r.source for r in records})}


# -- the registry -----------------------------------------------------------------------


class LiveError(Exception):
    """A request the registry refuses; ``status`` and a message for the reader."""

    def __init__(self, status: int, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class LiveSessions:
    """Every live session of one portal, with expiry and the limits that protect both the
    portal and the member servers."""

    def __init__(self, broadcaster: Broadcaster, backend: SearchBackend, worker: Any,
                 config: Config, *, ttl: float = 300.0, max_running: int = 16,
                 max_per_client: int = 4, max_sessions: int = 64, per_minute: int = 20,
                 catalogue: LiveCatalogue | None = None, store: RecordStore | None = None
                 ) -> None:
        self.broadcaster = broadcaster
        self.backend = backend
        self.worker = worker
        self.config = config
        self.ttl = ttl
        self.max_running = max_running
        self.max_per_client = max_per_client
        self.max_sessions = max_sessions
        self.per_minute = per_minute
        self._rate = PerClientRate()
        self.catalogue = catalogue or LiveCatalogue()
        self.store = store
        self.sessions: dict[str, LiveSession] = {}
        self.names = self._names(broadcaster)
        self._sweeper: asyncio.Task[None] | None = None

    def _names(self, broadcaster: Broadcaster) -> dict[str, str]:
        """Status lines name the library; a library with two live sources adds the source."""
        libraries = self.config.libraries
        sources = [t.source for t in broadcaster.targets]
        per_library: dict[str, int] = {}
        for s in sources:
            per_library[s.library] = per_library.get(s.library, 0) + 1
        names = {}
        for s in sources:
            lib = libraries.get(s.library)
            name = lib.name if lib else s.library
            names[s.name] = f"{name}（{s.name}）" if per_library[s.library] > 1 else name
        return names

    # -- sessions --------------------------------------------------------------------
    def get(self, session_id: str) -> LiveSession | None:
        session = self.sessions.get(session_id)
        if session is None or session.expired(time.monotonic()):
            return None
        session.touch()
        return session

    def sweep(self) -> None:
        now = time.monotonic()
        for session_id, session in list(self.sessions.items()):
            if session.expired(now):
                del self.sessions[session_id]
                session.close()

    def _make_room(self) -> None:
        if len(self.sessions) < self.max_sessions:
            return
        idle = sorted((s for s in self.sessions.values() if not s.running),
                      key=lambda s: s.last_seen)
        for session in idle[: len(self.sessions) - self.max_sessions + 1]:
            del self.sessions[session.id]
            session.close()

    def _rate_limited(self, client: str) -> float:
        """Seconds until `client` may start another search (0: now), counting this one."""
        return self._rate.wait(client, self.per_minute)

    async def create(self, req: SearchRequest, client: str,
                     home: Library | None = None) -> LiveSession:
        self.sweep()
        wait = self._rate_limited(client)
        if wait:
            raise LiveError(429, _("实时检索过于频繁：每分钟最多 {max} 次，请约 {n} 秒后再试。")
                            .format(max=self.per_minute, n=max(1, round(wait))),
                            retry_after=wait)
        running = [s for s in self.sessions.values() if s.running]
        if sum(1 for s in running if s.client == client) >= self.max_per_client:
            raise LiveError(429, _("同时进行的实时检索最多 {max} 个，请等前面的检索完成后再试。")
                            .format(max=self.max_per_client))
        if len(running) >= self.max_running:
            raise LiveError(503, _("实时检索正忙，请稍后再试；上方联合目录的结果不受影响。"))
        self._make_room()
        if len(self.sessions) >= self.max_sessions:
            raise LiveError(503, _("实时检索正忙，请稍后再试；上方联合目录的结果不受影响。"))
        session = LiveSession(secrets.token_urlsafe(12), req, client, self.config, self.names,
                              self.catalogue, self.resolve, self.ttl)
        session.home = home
        # The broadcast starts before the index query: member servers are the slow part.
        session.attach(self.broadcaster.start(req.q, req.field))
        self.sessions[session.id] = session
        try:
            loop = asyncio.get_running_loop()
            data, page = await loop.run_in_executor(
                self.worker, partial(index_part, self.backend, req, self.config.libraries,
                                     self.catalogue))
        except BaseException:
            self.sessions.pop(session.id, None)
            session.close()
            raise
        session.set_index(data, page)
        return session

    async def resolve(self, records: list[Record]) -> None:
        """Place live records in their entries, on the store's worker thread."""
        if self.store is None:
            raise RuntimeError("live search needs the record store to place live records")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.worker, self.catalogue.resolve, records, self.backend,
                                   self.store)

    # -- lifetime --------------------------------------------------------------------
    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            self.sweep()

    async def on_startup(self, _app: web.Application) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def on_shutdown(self, _app: web.Application) -> None:
        """Before handlers are cancelled: end every stream and broadcast."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()

    async def on_cleanup(self, _app: web.Application) -> None:
        await self.broadcaster.aclose()


def index_part(backend: SearchBackend, req: SearchRequest, libraries: dict[str, Library],
               catalogue: LiveCatalogue) -> tuple[dict[str, Any], list[SearchHit]]:
    """Blocking: the page's index answer (with the live copies known so far), and its
    hits, which live copies found now are joined to."""
    result = backend.search(req)
    return search_json(result, req, libraries, catalogue.entries_with_live), result.hits


# -- HTTP -------------------------------------------------------------------------------

LIVE: web.AppKey[LiveSessions] = web.AppKey("live", LiveSessions)
_NOT_FOUND = N_("没有这个实时检索，或它已过期（{ttl} 秒未使用即失效）。请重新检索。")


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


def _request(body: Any) -> SearchRequest:
    """The POST body through the one query path, plus what live search cannot do."""
    if not isinstance(body, dict):
        raise QueryError(_('请求体应为 JSON 对象，例如 {"q": "红楼梦", "field": "any"}。'))
    unknown = [k for k in body if k not in POST_KEYS]
    if unknown:
        raise QueryError(_("不认识的参数“{name}”。可用参数：{choices}；实时检索不支持筛选条件。")
                         .format(name=str(unknown[0])[:30], choices="、".join(POST_KEYS)))
    pairs = []
    for key, value in body.items():
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise QueryError(_("参数 {key} 应为文字或整数。").format(key=key))
        pairs.append((key, str(value)))
    req = parse_params(pairs)
    if not req.q:
        raise QueryError(_("实时检索需要检索词：请输入题名、著者、ISBN 等。"))
    if req.field not in LIVE_FIELDS:
        raise QueryError(_("实时检索不支持按{field}检索；可用：{choices}。").format(
            field=_(FIELD_TITLES.get(req.field, req.field)),
            choices="、".join(_(FIELD_TITLES[f]) for f in LIVE_FIELDS)))
    return req


async def create_search(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request):
        return _error(403, _("不接受其他网站发起的实时检索。"))
    if request.content_type != "application/json":
        return _error(415, _('请以 JSON 提交（Content-Type: application/json），例如 '
                             '{"q": "红楼梦", "field": "any"}。'))
    try:
        body = await request.json()
    except ValueError:
        return _error(400, _("请求体不是有效的 JSON。"))
    try:
        req = _request(body)
    except QueryError as exc:
        return _error(400, exc.message)
    registry = request.app[LIVE]
    try:
        session = await registry.create(req, client_address(request), home_library(request))
    except LiveError as exc:
        response = _error(exc.status, exc.message)
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    response = json_response(session.snapshot(), status=201)
    response.headers["Location"] = f"/api/live-searches/{session.id}"
    return response


def _session(request: web.Request) -> LiveSession | None:
    return request.app[LIVE].get(request.match_info["id"])


async def get_search(request: web.Request) -> web.Response:
    session = _session(request)
    if session is None:
        return _error(404, _(_NOT_FOUND).format(ttl=round(request.app[LIVE].ttl)))
    return json_response(session.snapshot())


async def delete_search(request: web.Request) -> web.Response:
    registry = request.app[LIVE]
    session = registry.sessions.pop(request.match_info["id"], None)
    if session is None:
        return _error(404, _(_NOT_FOUND).format(ttl=round(registry.ttl)))
    session.close()
    return web.Response(status=204)


def _last_event_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID", "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


async def search_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the session's log from Last-Event-ID on, ending after ``done``."""
    session = _session(request)
    if session is None:
        return _error(404, _(_NOT_FOUND).format(ttl=round(request.app[LIVE].ttl)))
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # nginx: pass events on as they come
    })
    await response.prepare(request)
    position = min(_last_event_id(request), len(session.events))
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            changed = session.changed
            while position < len(session.events):
                event_id, name, data = session.events[position]
                position += 1
                await response.write(f"id: {event_id}\nevent: {name}\ndata: {data}\n\n"
                                     .encode())
            if session.closed or (session.finished and session.events
                                  and session.events[-1][1] == "done"):
                break
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
            session.touch()
    except ConnectionResetError:  # the reader left; the session stays for its ttl
        return response
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def setup_live(app: web.Application, broadcaster: Broadcaster | None = None,
               **limits: Any) -> LiveSessions:
    """Register live search on an app made by ``portal.app.create_app``: routes, the
    engine over the config's ``mode: live`` sources, template globals, cleanup."""
    config = app[CONFIG]
    if broadcaster is None:
        broadcaster = Broadcaster([s for s in config.sources if s.mode == "live"], from_raw)
    registry = LiveSessions(broadcaster, app[BACKEND], app[WORKER], config,
                            catalogue=app[LIVE_CATALOGUE], store=app[STORE], **limits)
    app[LIVE] = registry
    app[TEMPLATES].globals.update(live_search=bool(broadcaster.targets),
                                  live_fields=LIVE_FIELDS)
    app.router.add_post("/api/live-searches", create_search)
    app.router.add_get("/api/live-searches/{id}", get_search)
    app.router.add_delete("/api/live-searches/{id}", delete_search)
    app.router.add_get("/api/live-searches/{id}/events", search_events)
    app.on_startup.append(registry.on_startup)
    app.on_shutdown.append(registry.on_shutdown)
    app.on_cleanup.append(registry.on_cleanup)
    return registry
