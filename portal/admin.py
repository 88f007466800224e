"""Admin pages for connector admins: every source at a glance, and harvest now / pause / resume.

The dashboard joins two views of a source: the store's harvest history (survives restarts,
written by CLI harvests too) and, when `tongjian serve` passed its scheduler to
`create_app`, the scheduler's in-memory state (paused, running, next run, the failure
streak it backs off on).  Without a scheduler the page still shows the history and says
why the buttons are off.

Routes (all behind `admin_kit`'s gate):
    GET  /admin                          sources dashboard
    POST /admin/sources/{name}/{action}  action = harvest | pause | resume |
                                         confirm-deletions (a full run past the
                                         mass-deletion guard: 确认删除)
    GET  /api/admin/sources              the dashboard as JSON
plus login/logout (`admin_kit`), quarantine (`admin_quarantine`), quality (`admin_quality`),
merge corrections (`admin_merge`).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from core.config import Config
from harvest.pipeline import held_deletions
from harvest.scheduler import SourceState
from harvest.store import RecordStore
from portal import admin_merge, admin_quality, admin_quarantine
from portal.admin_kit import admin_render, flash, redirect, setup_gate
from portal.admin_runs import recent_runs, summarize
from portal.auth import AuthSettings, client_address
from portal.core import CONFIG, SCHEDULER, STORE, blocking, json_response
from portal.i18n import _
from portal.principal import ADMIN, AdminState, principal
from portal.records import iso_time, local_time, sources_status

log = logging.getLogger("tongjian.admin")

HISTORY = 10  # runs shown per source
ACTIONS = ("harvest", "pause", "resume", "confirm-deletions")

__all__ = ["ADMIN", "SCHEDULER", "setup_admin"]


def source_rows(store: RecordStore, config: Config) -> list[dict[str, Any]]:
    """Blocking: status, counts and recent runs of every configured source."""
    rows = []
    for status in sources_status(store, config):
        source = config.source(status["name"])
        runs = recent_runs(store, source.name, HISTORY)
        last = next((r for r in runs if r["finished"] is not None), None)
        held = held_deletions(last["error"]) if last else 0
        rows.append({
            **status,
            "held_deletions": held,  # the mass-deletion guard kept these: 确认删除
            "held_notice": last["error"] if held and last else "",
            "schedule": source.schedule,
            "summary": summarize(runs),
            "runs": [{
                "started": iso_time(r["started"]),
                "when": local_time(r["finished"] or r["started"]),
                "state": "running" if r["finished"] is None else "failed" if r["error"]
                else "ok",
                "error": r["error"] or "",
                "duration": r["duration"],
                "counts": {k: r[k] for k in ("new", "updated", "deleted", "quarantined")},
            } for r in runs],
        })
    return rows


def _scheduler_state(state: SourceState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "paused": state.paused,
        "running": state.running,
        "failures": state.failures,
        "last_error": state.last_error,
        "next_run": iso_time(state.next_run) if state.next_run else None,
        "next_run_local": local_time(state.next_run) if state.next_run else "",
        "history": [{"when": local_time(t), "result": r} for t, r in state.history],
    }


async def _dashboard(request: web.Request) -> list[dict[str, Any]]:
    app = request.app
    rows = await blocking(request, source_rows, app[STORE], app[CONFIG])
    scheduler = app.get(SCHEDULER)
    for row in rows:
        source = app[CONFIG].source(row["name"])
        row["scheduler"] = (_scheduler_state(scheduler.states.get(source.name))
                            if scheduler else None)
        row["can_harvest"] = scheduler is not None and source.mode == "harvest"
        row["can_pause"] = (scheduler is not None and source.mode == "harvest"
                            and source.schedule > 0)
    return rows


async def dashboard_page(request: web.Request) -> web.Response:
    rows = await _dashboard(request)
    return await admin_render(request, "admin_sources.html", sources=rows,
                              scheduler=request.app.get(SCHEDULER) is not None)


async def api_sources(request: web.Request) -> web.Response:
    rows = await _dashboard(request)
    for row in rows:
        del row["can_harvest"], row["can_pause"]
    return json_response({"scheduler": request.app.get(SCHEDULER) is not None,
                          "sources": rows})


async def source_action(request: web.Request) -> web.Response:
    """Harvest now, pause or resume one source; the gate has checked session and CSRF."""
    config = request.app[CONFIG]
    name, action = request.match_info["name"], request.match_info["action"]
    if action not in ACTIONS or not any(s.name == name for s in config.sources):
        raise web.HTTPNotFound()
    source = config.source(name)
    scheduler = request.app.get(SCHEDULER)
    if scheduler is None:
        message = _("后台采集调度未运行（scheduler not running），操作未执行。")
    elif source.mode != "harvest":
        message = _("{name} 是实时检索源，不采集。").format(name=name)
    elif action == "confirm-deletions":
        started = scheduler.confirm_deletions(name)
        message = (_("已开始 {name} 的完整采集，并删除源中已没有的书目（确认删除）。") if started
                   else _("{name} 正在采集中或调度不支持确认删除，未执行。")).format(name=name)
        log.info("admin: %s %s by %s from %s (started: %s)", action, name,
                 principal(request).via, client_address(request), started)
    elif action != "harvest" and source.schedule <= 0:
        message = _("{name} 没有定时采集，无需暂停或恢复。").format(name=name)
    else:
        state = scheduler.states.get(name)
        running = bool(state and state.running)
        if action == "harvest":
            scheduler.trigger(name)
            message = (_("{name} 正在采集中，本次请求不会重复启动。") if running
                       else _("已开始采集 {name}。")).format(name=name)
        elif action == "pause":
            scheduler.pause(name)
            message = (_("已暂停 {name} 的定时采集（正在进行的一次会做完）。") if running
                       else _("已暂停 {name} 的定时采集。")).format(name=name)
        else:
            scheduler.resume(name)
            message = _("已恢复 {name} 的定时采集，并立即采集一次。").format(name=name)
        log.info("admin: %s %s by %s from %s", action, name, principal(request).via,
                 client_address(request))
    if request.path.startswith("/api/") or request.headers.get("Authorization"):
        return json_response({"source": name, "action": action, "message": message})
    flash(request, message)
    return redirect("/admin#source-" + name)


def setup_admin(app: web.Application, settings: AuthSettings | None = None) -> AdminState:
    """Register the admin pages; credentials come from the environment unless given."""
    state = setup_gate(app, settings)
    app.router.add_get("/admin", dashboard_page)
    app.router.add_post("/admin/sources/{name}/{action}", source_action)
    app.router.add_post("/api/admin/sources/{name}/{action}", source_action)
    app.router.add_get("/api/admin/sources", api_sources)
    admin_quarantine.add_routes(app)
    admin_quality.add_routes(app)
    admin_merge.add_routes(app)
    return state
