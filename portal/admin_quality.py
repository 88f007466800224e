"""Quality report pages: the monthly 审校 per library, its CSV and JSON, and the recount.

Counting a large store takes a while (about 20 s per million records), so pages never
count: they read the stored result of the last run (`harvest.quality_report`).  A run
starts when an admin asks, or by itself when the current month has no snapshot yet — so
each month that anyone opens the report gets its point on the trend.  It runs on its own
thread with its own SQLite connection, never on the portal's store thread, so searches
go on meanwhile.

Routes:
    GET  /admin/quality                              every library, latest counts
    POST /admin/quality/run                          count again now
    GET  /admin/quality/{library}                    counts, examples, trend; ?kind= all of one
    GET  /admin/quality/{library}/problems.csv       every problem record (UTF-8 with BOM)
    GET  /api/admin/quality[?library=…]              the same as JSON
    POST /api/admin/quality/run                      for cron with the admin token
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.config import Config
from harvest import quality_report as qr
from harvest.quality import KIND_CODES, KINDS, Problem
from harvest.store import RecordStore
from portal.admin_kit import admin_render, flash, redirect
from portal.core import CONFIG, STORE, WORKER, blocking, json_response
from portal.i18n import _
from portal.records import iso_time, local_time

log = logging.getLogger("tongjian.admin")

EXAMPLES = 20  # per kind on the report page and in the JSON
KIND_PAGE = 100  # rows per page when listing all of one kind
RETRY_AFTER_FAILURE = 600.0  # seconds before an automatic run follows a failed one


@dataclass
class QualityJob:
    """The one recount that may run at a time."""

    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="quality"))
    stop: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None
    started: float = 0.0
    finished: float = 0.0
    error: str = ""

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def status(self) -> dict[str, Any]:
        return {"running": self.running, "started": iso_time(self.started),
                "finished": iso_time(self.finished), "error": self.error}


QUALITY = web.AppKey("quality", QualityJob)


def _compute_in_own_connection(path: str, stop: threading.Event, config: Config) -> None:
    with RecordStore(path) as own:
        qr.compute(own, stop=stop, config=config)


async def _run(app: web.Application) -> None:
    job = app[QUALITY]
    store = app[STORE]
    loop = asyncio.get_running_loop()
    try:
        if str(store.path) == ":memory:":  # no second connection to an in-memory store
            await loop.run_in_executor(app[WORKER], functools.partial(
                qr.compute, store, None, job.stop, app[CONFIG]))
        else:
            await loop.run_in_executor(job.executor, _compute_in_own_connection,
                                       str(store.path), job.stop, app[CONFIG])
        job.error = ""
    except Exception as e:  # noqa: BLE001 - the page says it failed; the log has why
        log.exception("quality report failed")
        job.error = f"{type(e).__name__}: {e}"
    finally:
        job.finished = time.time()


def start(app: web.Application) -> bool:
    """Start a recount unless one is running; True when one was started."""
    job = app[QUALITY]
    if job.running:
        return False
    job.started, job.error = time.time(), ""
    job.task = asyncio.get_running_loop().create_task(_run(app), name="quality-report")
    return True


def _read_latest(store: RecordStore) -> dict[str, qr.Snapshot]:
    return qr.latest(store)


async def _latest(request: web.Request, auto: bool = True) -> dict[str, qr.Snapshot]:
    """Latest snapshots; on the first look in a new month, a recount starts by itself."""
    app = request.app
    snapshots = await blocking(request, _read_latest, app[STORE])
    job = app[QUALITY]
    this_month = qr.month_of(time.time())
    stale = not snapshots or max(s.month for s in snapshots.values()) < this_month
    recently_failed = job.error and time.time() - job.finished < RETRY_AFTER_FAILURE
    if auto and stale and not job.running and not recently_failed:
        start(app)
    return snapshots


def _library_rows(request: web.Request, snapshots: dict[str, qr.Snapshot]) -> list[dict]:
    libraries = request.app[CONFIG].libraries
    rows = []
    for code in sorted(set(libraries) | set(snapshots)):
        snap = snapshots.get(code)
        lib = libraries.get(code)
        rows.append({"code": code, "name": lib.name if lib else code,
                     "snapshot": _snapshot_dict(snap) if snap else None})
    return rows


def _snapshot_dict(snap: qr.Snapshot) -> dict[str, Any]:
    return {"month": snap.month, "computed": iso_time(snap.computed),
            "computed_local": local_time(snap.computed), "records": snap.records,
            "holdings": snap.holdings, "counts": {k: snap.count(k) for k in KIND_CODES}}


def _problem_dict(p: Problem) -> dict[str, str]:
    return {"key": p.key, "cluster": p.cluster, "title": p.title, "detail": p.detail,
            "url": p.url}


def _kinds() -> list[dict[str, str]]:
    return [{"code": k.code, "label": _(k.label), "explain": _(k.explain)} for k in KINDS]


def _report(store: RecordStore, library: str) -> dict[str, Any]:
    """Blocking: the latest counts, examples and trend of one library."""
    snapshots = qr.history(store, library)
    return {
        "snapshot": _snapshot_dict(snapshots[0]) if snapshots else None,
        "trend": qr.trend(snapshots),
        "examples": {k: [_problem_dict(p) for p in ps]
                     for k, ps in qr.examples(store, library, EXAMPLES).items()},
    }


def _library(request: web.Request, code: str, snapshots: dict[str, qr.Snapshot]) -> str:
    """The library's display name; 404 for a code neither configured nor reported on (a
    library removed from config keeps its reports)."""
    lib = request.app[CONFIG].libraries.get(code)
    if lib is not None:
        return lib.name
    if code in snapshots:
        return code
    raise web.HTTPNotFound()


# -- pages -------------------------------------------------------------------------------


async def overview_page(request: web.Request) -> web.Response:
    snapshots = await _latest(request)
    job = request.app[QUALITY]
    response = await admin_render(request, "admin_quality_index.html",
                                  libraries=_library_rows(request, snapshots), kinds=_kinds(),
                                  job=job.status())
    if job.running:
        response.headers["Refresh"] = "5"  # a header, not a script: CSP stays strict
    return response


async def run_now(request: web.Request) -> web.Response:
    started = start(request.app)
    if request.path.startswith("/api/"):
        return json_response({"started": started, "job": request.app[QUALITY].status()},
                             status=202)
    flash(request, _("已开始重新审校，完成后本页自动刷新。") if started else _("审校正在进行中。"))
    return redirect("/admin/quality")


async def library_page(request: web.Request) -> web.Response:
    code = request.match_info["library"]
    name = _library(request, code, await _latest(request))
    kind = request.query.get("kind", "")
    if kind:
        return await _kind_page(request, code, name, kind)
    report = await blocking(request, _report, request.app[STORE], code)
    response = await admin_render(request, "admin_quality.html", code=code, name=name,
                                  kinds=_kinds(), job=request.app[QUALITY].status(), **report)
    if request.app[QUALITY].running:
        response.headers["Refresh"] = "5"
    return response


async def _kind_page(request: web.Request, code: str, name: str, kind: str) -> web.Response:
    if kind not in KIND_CODES:
        raise web.HTTPNotFound()
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        after = 0
    page = await blocking(request, qr.problems, request.app[STORE], code, kind, after,
                          KIND_PAGE)
    return await admin_render(request, "admin_quality_kind.html", code=code, name=name,
                              kind=next(k for k in _kinds() if k["code"] == kind),
                              problems=[_problem_dict(p) for _after, p in page],
                              next_after=page[-1][0] if len(page) == KIND_PAGE else None)


async def csv_export(request: web.Request) -> web.StreamResponse:
    """Streamed page by page, each page one short call on the store thread."""
    code = request.match_info["library"]
    _library(request, code, await _latest(request, auto=False))
    base = f"{request.scheme}://{request.host}"
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="quality-{code}.csv"',
        "Cache-Control": "no-store",
    })
    await response.prepare(request)
    store = request.app[STORE]
    after, header = 0, True
    while True:
        page = await blocking(request, qr.problems, store, code, None, after, qr.BATCH)
        if page or header:
            await response.write(qr.csv_chunk([p for _, p in page], base, header))
        header = False
        if len(page) < qr.BATCH:
            break
        after = page[-1][0]
    await response.write_eof()
    return response


async def api_quality(request: web.Request) -> web.Response:
    snapshots = await _latest(request)
    code = request.query.get("library", "")
    job = request.app[QUALITY].status()
    if not code:
        return json_response({"kinds": _kinds(), "job": job,
                              "libraries": _library_rows(request, snapshots)})
    try:
        name = _library(request, code, snapshots)
    except web.HTTPNotFound:
        return json_response({"error": _("没有代码为“{code}”的成员馆。").format(code=code[:64])},
                             status=404)
    report = await blocking(request, _report, request.app[STORE], code)
    return json_response({"library": code, "name": name, "kinds": _kinds(), "job": job,
                          **report})


async def _shutdown(app: web.Application) -> None:
    app[QUALITY].stop.set()
    app[QUALITY].executor.shutdown(wait=False, cancel_futures=True)


def add_routes(app: web.Application) -> None:
    app[QUALITY] = QualityJob()
    app.on_cleanup.append(_shutdown)
    app.router.add_get("/admin/quality", overview_page)
    app.router.add_post("/admin/quality/run", run_now)
    app.router.add_get("/admin/quality/{library}", library_page)
    app.router.add_get("/admin/quality/{library}/problems.csv", csv_export)
    app.router.add_get("/api/admin/quality", api_quality)
    app.router.add_post("/api/admin/quality/run", run_now)
