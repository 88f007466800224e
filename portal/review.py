"""The review lists (审校清单): each reviewer's monthly list, marks, the member's problems to
fix, confirmations after the next harvest, and the audit trail.

Behind the admin gate: a reviewer account's session (roles centre, city, member) opens
these pages and the summary; the admin (environment password or token) acts as the
centre.  Every mark and confirmation is written to the audit trail with the account.
What a reviewer may mark follows `harvest.cataloguing_review.reviewed_members`: a county
cannot mark another county's records unless they are peers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from harvest import cataloguing_review as cr
from harvest.cataloguing_summary import this_month
from harvest.quality_rules import BY_CODE, KINDS
from portal.admin_kit import admin_render, flash, redirect
from portal.cataloguing import cached
from portal.core import CONFIG, STORE, blocking
from portal.principal import PRINCIPAL, Principal

_MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
STATE_NAMES = {"ok": "通过", "open": "待改", "changed": "已修改，待确认", "fixed": "已改正"}


@dataclass(frozen=True)
class Reviewer:
    account: str
    role: str
    library: str


def reviewer(request: web.Request) -> Reviewer:
    who: Principal | None = request.get(PRINCIPAL)
    session = who.session if who else None
    if session is None or not session.reviewer:
        return Reviewer("admin", "admin", request.app[CONFIG].cataloguing.centre)
    return Reviewer(session.account, session.role, session.library)


def _month(value: str) -> str:
    month = value or this_month()
    if not _MONTH.match(month):
        raise web.HTTPBadRequest(text="month 应为 YYYY-MM，例如 2026-11")
    return month


def _rows(reviews: list[Any], config: Any) -> list[dict[str, Any]]:
    out = []
    for r in reviews:
        lib = config.libraries.get(r[4])
        kind = BY_CODE.get(r[6])
        out.append({"id": r[0], "key": r[1], "month": r[2], "reviewer": r[3],
                    "member": lib.name if lib else r[4], "verdict": r[5],
                    "rule": kind.label if kind else r[6], "fix": kind.fix if kind else "",
                    "note": r[7], "state": r[9], "state_name": STATE_NAMES.get(r[9], r[9])})
    return out


async def review_page(request: web.Request) -> web.Response:
    store, config = request.app[STORE], request.app[CONFIG]
    me = reviewer(request)
    month = _month(request.query.get("month", ""))

    listed: list[tuple[str, str, str, str]] = await cached(
        request, ("list", me.role, me.library, month),
        lambda: cr.review_list(store, config, me.role, me.library, month))

    def load() -> dict[str, Any]:
        marks = {r[1]: r for r in store.reviews(reviewer=me.account, month=month)}
        clusters = {key: store.cluster_of(key) or "" for key, *_ in listed}
        return {
            "listed": [{"key": key, "member": member, "title": title, "cataloguer": person,
                        "member_name": config.libraries[member].name
                        if member in config.libraries else member,
                        "cluster": clusters[key],
                        "mark": _rows([marks[key]], config)[0] if key in marks else None}
                       for key, member, title, person in listed],
            "confirm": _rows(store.reviews(reviewer=me.account, states=("changed",)), config),
            "own": _rows(store.reviews(member=me.library, states=("open", "changed")), config)
            if me.library else [],
        }

    data = await blocking(request, load)
    lib = config.libraries.get(me.library)
    return await admin_render(request, "review_list.html", month=month, me=me,
                              role_name=cr.ROLE_NAMES.get(me.role, me.role),
                              library_name=lib.name if lib else me.library,
                              kinds=KINDS, section="review", **data)


async def mark_submit(request: web.Request) -> web.Response:
    store, config = request.app[STORE], request.app[CONFIG]
    me = reviewer(request)
    form = await request.post()
    key = str(form.get("key", ""))[:300]
    month = _month(str(form.get("month", "")))
    verdict = str(form.get("verdict", ""))
    rule = str(form.get("rule", ""))
    note = str(form.get("note", ""))

    def apply() -> str:
        record = store.get(key)
        if record is None:
            return f"记录 {key} 不在库中，未标记。"
        member = record.catalogued_by or record.library
        if member not in cr.reviewed_members(config, me.role, me.library):
            return f"记录 {key} 属于 {member}，不在您的审校范围内，未标记。"
        if rule and rule not in BY_CODE:
            return f"未知的问题规则 {rule!r}，未标记。"
        try:
            cr.mark(store, me.account, key, month, member, verdict, rule, note)
        except ValueError as e:
            return str(e)
        said = "通过" if verdict == "ok" else f"问题（{BY_CODE[rule].label}）"
        return f"已标记 {key}：{said}"

    flash(request, await blocking(request, apply))
    return redirect(f"/admin/review?month={month}#r-{quote(key, safe=':')}")


async def confirm_submit(request: web.Request) -> web.Response:
    store = request.app[STORE]
    me = reviewer(request)
    form = await request.post()
    try:
        review_id = int(str(request.match_info["id"]))
    except ValueError:
        raise web.HTTPNotFound() from None
    fixed = str(form.get("fixed", "")) == "1"

    def apply() -> str:
        row = store.review(review_id)
        if row is None:
            return "没有这条审校记录。"
        if row[3] != me.account and me.role not in ("admin", "centre"):
            return "只有标记问题的审校员（或编目中心）可以确认改正。"
        cr.confirm(store, me.account, review_id, fixed)
        return f"{row[1]}：{'已确认改正' if fixed else '仍有问题，已退回成员馆'}"

    flash(request, await blocking(request, apply))
    return redirect("/admin/review")


async def audit_page(request: web.Request) -> web.Response:
    me = reviewer(request)
    if me.role not in ("admin", "centre"):
        raise web.HTTPForbidden(text="审计记录只对编目中心开放")
    rows = await blocking(request, request.app[STORE].audit_trail, 500)
    return await admin_render(request, "review_audit.html", rows=rows, section="review")


def setup_review(app: web.Application) -> None:
    app.router.add_get("/admin/review", review_page)
    app.router.add_post("/admin/review/mark", mark_submit)
    app.router.add_post("/admin/review/{id}/confirm", confirm_submit)
    app.router.add_get("/admin/review/audit", audit_page)
