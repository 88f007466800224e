"""Librarians correct the merge: split a record out of an entry, or undo a split.

A split is stored as record-key pairs that must never share an entry (`match_links`), so it
survives every re-harvest and re-merge; the index is updated at once for the entries
concerned.  Behind `admin_kit`'s gate: login and CSRF like every admin form.

Routes:
    GET  /admin/records/{id}/merge    the entry's records, why they were merged, split forms
    POST /admin/records/{id}/split    key=<record key>: keep it apart from the others
    POST /admin/links/remove          a, b: undo a split (or a forced merge)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.config import Config
from harvest.pipeline import update_index
from harvest.store import RecordStore
from index.backend import SearchBackend
from portal.admin_kit import admin_render, denied, flash, redirect
from portal.core import BACKEND, CONFIG, STORE, blocking
from portal.i18n import _
from portal.principal import principal
from portal.records import merge_evidence

MAX_REASON = 500


def _page_data(store: RecordStore, cluster_id: str) -> dict[str, Any] | None:
    records = store.cluster(cluster_id)
    if not records:
        return None
    keys = {r.key for r in records}
    split, merged = store.links()
    links = [{"a": a, "b": b, "kind": kind}
             for kind, pairs in (("split", split), ("merge", merged))
             for a, b in (sorted(p) for p in pairs) if a in keys or b in keys]
    return {"records": records, "merge": merge_evidence(records), "links": links}


def _split(store: RecordStore, backend: SearchBackend, config: Config, cluster_id: str,
           key: str, who: str, reason: str) -> str | None:
    """Keep `key` apart from every other record of the entry; returns its new entry id."""
    records = store.cluster(cluster_id)
    keys = {r.key for r in records}
    if key not in keys or len(keys) < 2:
        return None
    for other in sorted(keys - {key}):
        store.add_link(key, other, "split", who, reason)
    update_index(store, backend, config, touched=keys)
    return store.cluster_of(key)


def _unlink(store: RecordStore, backend: SearchBackend, config: Config, a: str,
            b: str) -> bool:
    if not store.remove_link(a, b):
        return False
    update_index(store, backend, config, touched={a, b})
    return True


async def merge_page(request: web.Request) -> web.StreamResponse:
    cluster_id = request.match_info["id"]
    data = await blocking(request, _page_data, request.app[STORE], cluster_id)
    if data is None:
        return await denied(request, 404, _("没有这个条目（可能已被拆分或删除）。"))
    return await admin_render(request, "admin_merge.html", id=cluster_id, **data)


async def split(request: web.Request) -> web.StreamResponse:
    cluster_id = request.match_info["id"]
    form = await request.post()
    key = str(form.get("key", ""))
    reason = str(form.get("reason", "")).strip()[:MAX_REASON]
    who = f"admin ({principal(request).via})"
    app = request.app
    new_id = await blocking(request, _split, app[STORE], app[BACKEND], app[CONFIG],
                            cluster_id, key, who, reason)
    if new_id is None:
        return await denied(request, 400,
                            _("这条记录不在该条目中，或条目只有一条记录，无需拆分。"))
    flash(request, _("已拆分：{key} 不再与其他记录合并（重新采集后仍然有效）。").format(key=key))
    return redirect(f"/admin/records/{new_id}/merge")


async def remove_link(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    a, b = str(form.get("a", "")), str(form.get("b", ""))
    back = str(form.get("back", ""))
    app = request.app
    if not await blocking(request, _unlink, app[STORE], app[BACKEND], app[CONFIG], a, b):
        return await denied(request, 404, _("没有这条拆分记录。"))
    flash(request, _("已撤销 {a} 与 {b} 之间的拆分。").format(a=a, b=b))
    return redirect(f"/admin/records/{back}/merge" if back.isalnum() else "/admin")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/records/{id}/merge", merge_page)
    app.router.add_post("/admin/records/{id}/split", split)
    app.router.add_post("/admin/links/remove", remove_link)
