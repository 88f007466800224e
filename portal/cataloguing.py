"""The cataloguing centre's monthly summary (每月工作质量数量汇总): a page for all members,
a page per member, CSV and XLSX — all from `harvest.cataloguing_summary`, behind the
admin gate (the centre, city reviewers and member cataloguers log in there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from harvest.cataloguing_summary import (
    MemberSummary,
    Summary,
    summarize,
    this_month,
    to_csv,
    to_xlsx,
)
from harvest.quality_rules import BY_CODE, KINDS
from harvest.store import RecordStore
from portal.admin_kit import admin_render
from portal.charts import bar_chart, line_chart
from portal.core import CONFIG, STORE, blocking

_MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(request: web.Request) -> str:
    month = request.query.get("month", "") or this_month()
    if not _MONTH.match(month):
        raise web.HTTPBadRequest(text="month 应为 YYYY-MM，例如 2026-11")
    return month


class Cache:
    """Computed figures by (what, month, …) for as long as the store's
    `cataloguing_version` stays the same: on a large store a summary reads every record,
    and the centre's pages are opened many times between two harvests."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}

    def get(self, store: RecordStore, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        version = store.cataloguing_version()
        hit = self.entries.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = make()
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = (version, value)
        return value


CACHE = web.AppKey("cataloguing_cache", Cache)


async def cached(request: web.Request, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    return await blocking(request, request.app[CACHE].get, request.app[STORE], key, make)


async def _summary(request: web.Request) -> Summary:
    store, config, month = request.app[STORE], request.app[CONFIG], _month(request)
    summary: Summary = await cached(request, ("summary", month),
                                    lambda: summarize(store, config, month))
    return summary


def charts(member: MemberSummary, threshold: float) -> dict[str, Any]:
    labels = [f.month for f in member.trend]
    return {
        "quantity": bar_chart(labels, [
            ("新编记录", [f.new_records for f in member.trend]),
            ("修改记录", [f.modified_records for f in member.trend]),
            ("新增册数", [f.new_items for f in member.trend])],
            f"{member.name} 近12个月工作数量"),
        "quality": line_chart(labels, [f.rate for f in member.trend],
                              f"{member.name} 近12个月每千条问题数", threshold),
    }


async def summary_page(request: web.Request) -> web.Response:
    summary = await _summary(request)
    active = [m for m in summary.members if m.total_records or m.month.new_records
              or m.month.new_items]
    return await admin_render(request, "cataloguing_summary.html", summary=summary,
                              members=active, rules=[BY_CODE[c] for c in summary.rules],
                              charts={m.library: charts(m, summary.threshold) for m in active},
                              section="cataloguing")


async def member_page(request: web.Request) -> web.Response:
    summary = await _summary(request)
    member = summary.member(request.match_info["library"])
    if member is None:
        raise web.HTTPNotFound(text="没有这个成员馆")
    rules = [(k, member.month.problems.get(k.code, 0), member.month.rule_rate(k.code))
             for k in KINDS]
    found = await blocking(request, request.app[STORE].month_problems, member.library,
                           summary.month)
    problems = [{"key": key, "rule": BY_CODE[kind].label if kind in BY_CODE else kind,
                 "cluster": cluster, "title": title, "detail": detail}
                for key, kind, cluster, title, detail in found]
    return await admin_render(request, "cataloguing_member.html", summary=summary,
                              member=member, rules=rules, problems=problems,
                              charts=charts(member, summary.threshold), section="cataloguing")


async def summary_csv(request: web.Request) -> web.Response:
    """?part=cataloguers: the cataloguers' table (优秀编目员) instead of the members'."""
    part = request.query.get("part", "members")
    if part not in ("members", "cataloguers"):
        raise web.HTTPBadRequest(text="part 应为 members 或 cataloguers")
    summary = await _summary(request)
    name = "cataloguing" if part == "members" else "cataloguers"
    return web.Response(body=to_csv(summary, part), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{name}-{summary.month}.csv"'})


async def summary_xlsx(request: web.Request) -> web.Response:
    summary = await _summary(request)
    body = await blocking(request, to_xlsx, summary)
    return web.Response(body=body, content_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="cataloguing-{summary.month}.xlsx"'})


def setup_cataloguing(app: web.Application) -> None:
    app[CACHE] = Cache()
    app.router.add_get("/admin/cataloguing", summary_page)
    app.router.add_get("/admin/cataloguing.csv", summary_csv)
    app.router.add_get("/admin/cataloguing.xlsx", summary_xlsx)
    app.router.add_get("/admin/cataloguing/{library}", member_page)
