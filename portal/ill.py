"""Interlibrary loan (馆际互借) for librarians: a list of ISBNs or titles → a holdings matrix.

A librarian pastes (or uploads as .txt/.csv) up to 1,000 ISBNs or titles and gets, for each,
which libraries hold it, how many copies and how many are on the shelf now — libraries in
region order (city, then its counties), downloadable as CSV for Excel.  Routes:

    GET  /ill                         the form
    POST /ill                         start a lookup → 303 to its page
    GET  /ill/{job}                   progress (static/ill.js polls), then the matrix
    GET  /ill/{job}.csv               the matrix as CSV (UTF-8 with BOM, formulas defused)
    POST /api/holdings/lookup         JSON twin: {"lines": [...]} → the result when done
                                      within SYNC_WAIT seconds, else 202 and a job id
    GET  /api/holdings/lookup/{job}   {state, done, total} (+ the result once done)

The view by concern:

    portal.ill_input    the list read: pasted lines and uploads → one Query a line
    portal.ill_lookup   lines matched to entries (exact ISBN, or exact folded title), live
                        or harvested status of their holdings, lookup jobs
    portal.ill_export   libraries in region order, the matrix, the CSV
    portal.ill          who may use it, the handlers, setup (this module)

Access: when the admin login is configured, the view needs an admin session or the admin
token, like /admin (`portal.principal` says who is asking); without it the view is public
(it only shows what the record pages show).  POSTs must come from this site
(Origin/Referer), a session's form also carries its CSRF token, and the JSON twin needs an
application/json body, which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from portal.auth import same_origin
from portal.availability import AVAILABILITY, setup_availability
from portal.core import CONFIG, EMPTY_FORM, Handler, is_api, json_response, render
from portal.i18n import _
from portal.ill_export import csv_text, matrix, safe_cell
from portal.ill_input import (
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    InputError,
    build_queries,
    csv_lines,
    decode_upload,
    parse_query,
    read_form,
)
from portal.ill_lookup import ILL_JOBS, LIVE_LINES, Busy, LookupJob, LookupJobs, start_job
from portal.principal import (
    ANONYMOUS,
    Principal,
    Refusal,
    Via,
    login_configured,
    principal,
)

SYNC_WAIT = 10.0
_JOB_ID = r"[A-Za-z0-9_-]{8,64}"

IllHandler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]


# -- access -----------------------------------------------------------------------------------


async def _deny(request: web.Request, status: int, message: str,
                headers: dict[str, str] | None = None) -> web.StreamResponse:
    if is_api(request):
        response: web.StreamResponse = json_response({"error": message}, status=status)
    else:
        response = await render(request, "ill.html", status=status, form=EMPTY_FORM,
                                error=message, text="", csrf="", limits=_limits(), locked=True)
    response.headers.update(headers or {})
    return response


def for_librarians(handler: IllHandler) -> Handler:
    """One access rule in front of every route of the view, which gets the caller (whose
    session's CSRF token its forms carry); anyone, when no admin login is configured."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        if not login_configured(request.app):
            return await handler(request, ANONYMOUS)
        who = principal(request)
        if who.admin:
            return await handler(request, who)
        if who.refusal is Refusal.THROTTLED:
            return await _deny(request, 429, _("失败次数过多，请稍后再试。"), who.retry_after())
        if who.wrong_token:
            return await _deny(request, 401, _("令牌无效。"))
        if request.method == "GET" and not is_api(request):
            raise web.HTTPSeeOther("/admin/login?next=/ill")
        return await _deny(request, 401, _("馆际互借查询仅供馆员使用：请先登录管理页面，"
                                           "或在请求头中提供管理员令牌。"))

    return checked


def _limits() -> dict[str, Any]:
    return {"max_lines": MAX_LINES, "max_kb": MAX_UPLOAD_BYTES // 1024,
            "live_lines": LIVE_LINES}


# -- handlers ---------------------------------------------------------------------------------


@for_librarians
async def form_page(request: web.Request, who: Principal) -> web.StreamResponse:
    return await render(request, "ill.html", form=EMPTY_FORM, error="", text="", csrf=who.csrf,
                        limits=_limits(), locked=False)


@for_librarians
async def submit(request: web.Request, who: Principal) -> web.StreamResponse:
    if not same_origin(request):
        return await _deny(request, 403,
                           _("表单来自其他网站或已失效，查询未执行。请回到本页重新提交。"))
    text = ""
    try:
        text, lines, csrf = await read_form(request)
        if who.via is Via.SESSION and not who.csrf_ok(csrf):
            return await _deny(request, 403, _("表单已失效，查询未执行。请刷新本页后重新"
                                                         "提交。"))
        queries = build_queries(lines)
        job = start_job(request.app, queries)
    except InputError as e:
        return await render(request, "ill.html", status=e.status, form=EMPTY_FORM, error=e.message,
                            text=text if len(text) <= MAX_UPLOAD_BYTES else "", csrf=who.csrf,
                            limits=_limits(), locked=False)
    except Busy:
        return await render(request, "ill.html", status=503, form=EMPTY_FORM, text=text,
                            error=_("正在处理其他馆际互借查询，请稍候一两分钟再提交。"),
                            csrf=who.csrf, limits=_limits(), locked=False)
    raise web.HTTPSeeOther(f"/ill/{job.id}")


def _job(request: web.Request) -> LookupJob:
    job = request.app[ILL_JOBS].get(request.match_info["job"])
    if job is None:
        raise web.HTTPNotFound()
    return job


@for_librarians
async def job_page(request: web.Request, who: Principal) -> web.StreamResponse:
    try:
        job = _job(request)
    except web.HTTPNotFound:
        return await render(request, "ill.html", status=404, form=EMPTY_FORM, csrf=who.csrf,
                            error=_("这次查询的结果已过期或不存在（结果保留一小时）。"
                                    "请重新提交清单。"),
                            text="", limits=_limits(), locked=False)
    context: dict[str, Any] = {"job": {**job.progress(), "id": job.id}, "limits": _limits()}
    if job.state == "done":
        result = job.result(request.app[CONFIG].libraries)
        context.update(result=result, table=matrix(result),
                       matched=sum(1 for i in result["items"] if i["matched"]))
    return await render(request, "ill_job.html", form=EMPTY_FORM, **context)


@for_librarians
async def job_csv(request: web.Request, who: Principal) -> web.StreamResponse:
    job = _job(request)
    if job.state != "done":
        raise web.HTTPConflict(text=_("查询尚未完成"))
    body = csv_text(job.result(request.app[CONFIG].libraries)).encode("utf-8")
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="ill-{job.id}.csv"',
        "Cache-Control": "no-store"})


@for_librarians
async def api_lookup(request: web.Request, who: Principal) -> web.StreamResponse:
    if request.content_type != "application/json":
        return json_response({"error": _("请以 JSON 提交：{\"lines\": [\"ISBN 或题名\", …]}")},
                             status=415)
    if (request.headers.get("Origin") or who.via is Via.SESSION) and not same_origin(request):
        return json_response({"error": _("不接受其他网站发起的请求。")}, status=403)
    if (request.content_length or 0) > MAX_UPLOAD_BYTES * 2:
        return json_response({"error": _("提交的内容太大。")}, status=413)
    try:
        body = await request.json()
    except ValueError:
        return json_response({"error": _("请求体不是有效的 JSON。")}, status=400)
    raw = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        return json_response({"error": _("需要 {\"lines\": [字符串, …]}：每项一个 ISBN 或题名。")},
                             status=400)
    lines = [x for x in raw if x.strip()]
    try:
        job = start_job(request.app, build_queries(lines))
    except InputError as e:
        return json_response({"error": e.message, "max_lines": MAX_LINES, "lines": len(lines)},
                             status=e.status)
    except Busy:
        return _busy()
    assert job.task is not None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(job.task), SYNC_WAIT)
    if job.state == "running":
        response = json_response({**job.progress(),
                                  "status_url": f"/api/holdings/lookup/{job.id}"}, status=202)
        response.headers["Location"] = f"/api/holdings/lookup/{job.id}"
        return response
    return json_response(job.result(request.app[CONFIG].libraries))


def _busy() -> web.Response:
    response = json_response({"error": _("正在处理其他查询，请稍后再试。")}, status=503)
    response.headers["Retry-After"] = "30"
    return response


@for_librarians
async def api_job(request: web.Request, who: Principal) -> web.StreamResponse:
    job = request.app[ILL_JOBS].get(request.match_info["job"])
    if job is None:
        return json_response({"error": _("没有这个查询（结果保留一小时）。")}, status=404)
    if job.state != "done" or request.query.get("progress"):
        response = json_response(job.progress())
    else:
        response = json_response(job.result(request.app[CONFIG].libraries))
    response.headers["Cache-Control"] = "no-store"
    return response




async def _shutdown(app: web.Application) -> None:
    await app[ILL_JOBS].cancel_all()


def setup_ill(app: web.Application, jobs: LookupJobs | None = None) -> None:
    """Routes, job registry, and the availability service it shares with record pages."""
    if AVAILABILITY not in app:
        setup_availability(app)
    app[ILL_JOBS] = jobs or LookupJobs()
    app.on_shutdown.append(_shutdown)
    r = app.router
    r.add_get("/ill", form_page)
    r.add_post("/ill", submit)
    r.add_get(f"/ill/{{job:{_JOB_ID}}}.csv", job_csv)
    r.add_get(f"/ill/{{job:{_JOB_ID}}}", job_page)
    r.add_post("/api/holdings/lookup", api_lookup)
    r.add_get(f"/api/holdings/lookup/{{job:{_JOB_ID}}}", api_job)


# What other modules and tests import from the view, wherever it now lives.
__all__ = ["ILL_JOBS", "MAX_LINES", "LookupJobs", "csv_lines", "csv_text", "decode_upload",
           "parse_query", "safe_cell", "setup_ill"]
