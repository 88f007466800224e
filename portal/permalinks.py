"""Record URLs that last: an entry id that vanished in a re-merge or a split still leads
to its book.

Readers bookmark `/record/<id>`, other catalogues link to it, and harvesters of /oai keep
the id.  When a merge changes the id, the entry lineage (`harvest.lineage`) knows where
the records went: one entry → a permanent redirect there; several (a split) → a page to
choose from, since only the reader knows which book was meant.  Only answers the record
page and `/api/records/<id>` gave as "not found" are looked at, so a record page that
exists costs nothing extra.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from harvest.lineage import resolve
from harvest.store import RecordStore
from index.documents import best_record
from portal.core import CONFIG, EMPTY_FORM, STORE, Handler, blocking, json_response, render

_RECORD = re.compile(r"^/(record|api/records)/([^/]+)$")


def successors(store: RecordStore, libraries: dict[str, Any], entry: str
               ) -> list[dict[str, Any]] | None:
    """The entries now holding `entry`'s records, each with its title and holding
    libraries; None when the id was never an entry."""
    found = resolve(store, entry)
    if found is None:
        return None
    out = []
    for target in found:
        records = store.cluster(target)
        if not records:
            continue
        best = best_record(records, libraries)
        out.append({"id": target, "title": best.title, "year": best.year,
                    "libraries": sorted({r.library for r in records})})
    return out


@web.middleware
async def permalinks(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    match = _RECORD.match(request.path)
    if response.status != 404 or match is None or request.method != "GET":
        return response
    kind, entry = match.groups()
    if entry.startswith("live-"):
        return response
    config = request.app[CONFIG]
    found = await blocking(request, successors, request.app[STORE], config.libraries, entry)
    if not found:
        return response
    if len(found) == 1:
        raise web.HTTPMovedPermanently(f"/{kind}/{found[0]['id']}")
    if kind == "api/records":
        return json_response({"error": f"书目 {entry} 已拆分为 {len(found)} 条，请选择其一。",
                              "choices": [{**f, "url": f"/api/records/{f['id']}"}
                                          for f in found]}, status=300)
    return await render(request, "permalink_choice.html", status=300, form=EMPTY_FORM,
                        entry=entry, choices=found, libraries=config.libraries)


def setup_permalinks(app: web.Application) -> None:
    app.middlewares.append(permalinks)
