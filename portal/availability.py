"""Live availability in the portal: ``GET /api/records/{id}/availability``.

The record page is rendered from the store alone — fast, and complete without JavaScript
(the harvested statuses).  ``static/availability.js`` then asks this route and fills in
each status cell, so a slow county server delays a cell, never the page.  The JSON lists
the holdings in the page's own order (`portal.records.holdings_rows`: the entry's rows,
live copies and online copies included), so the script can pair them with the table rows
by position (and checks the barcode).

Blocking work (reading records and harvest times from SQLite) runs on the portal's one
worker thread; the sources are asked by `connectors.availability`, in its own threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from connectors.availability import AvailabilityService, HoldingStatus
from core.config import Library
from core.model import Record
from core.status import label
from harvest.store import RecordStore
from portal.core import CONFIG, LIVE_CATALOGUE, STORE, blocking, json_response
from portal.i18n import _
from portal.live_catalogue import is_live_id
from portal.records import holdings_rows, iso_time, local_time

AVAILABILITY = web.AppKey("availability", AvailabilityService)


def harvest_times(store: RecordStore, keys: Sequence[str]) -> dict[str, float]:
    """When each record's harvested status was last seen (`RecordStore.harvest_times`).
    Blocking."""
    return store.harvest_times(keys)


def load_cluster(store: RecordStore, cluster_id: str) -> tuple[list[Record], dict[str, float]]:
    """Blocking: the records of an entry and when their statuses were harvested."""
    records = store.cluster(cluster_id)
    return records, harvest_times(store, [r.key for r in records])


def row_order(records: Sequence[Record], libraries: dict[str, Library],
              live: Sequence[Record] = ()) -> list[tuple[str, int]]:
    """(record key, holding index) in the record page's row order (`holdings_rows`)."""
    return [(row["record"], row["index"]) for row in holdings_rows(list(records), libraries,
                                                                   live)]


def status_json(s: HoldingStatus, libraries: dict[str, Library],
                found_live: bool = False) -> dict[str, Any]:
    """One holding's status as the API and the page script see it."""
    lib = libraries.get(s.library)
    return {
        "library": s.library,
        "name": lib.name if lib else s.library,
        "region": lib.region if lib else "",
        "county": lib.county if lib else "",
        "location": s.location,
        "call_number": s.call_number,
        "barcode": s.barcode,
        "status": s.status,
        "label": _(s.label),  # the request's language; "status" is the code
        "due_date": s.due_date,
        "raw_status": s.raw_status,
        "harvested_status": s.harvested_status,
        "live": s.live,
        "reason_code": s.reason_code,
        "reason": _(s.reason),
        "as_of": iso_time(s.as_of),
        "as_of_text": local_time(s.as_of) if s.as_of else "",
        "copies": s.copies,
        "available_copies": s.available_copies,
        "source": s.source,
        "found_live": found_live,  # a copy a live search found, not a harvested one
    }


def ordered(records: Sequence[Record], statuses: Sequence[HoldingStatus],
            libraries: dict[str, Library], live: Sequence[Record] = ()) -> list[HoldingStatus]:
    by_ref = {(s.record, s.index): s for s in statuses}
    return [by_ref[ref] for ref in row_order(records, libraries, live) if ref in by_ref]


def summary(statuses: Sequence[HoldingStatus]) -> dict[str, Any]:
    """Per source: whether it answered live, and if not, why (for a status line)."""
    out: dict[str, dict[str, Any]] = {}
    for s in statuses:
        entry = out.setdefault(s.source, {"source": s.source, "live": False, "reason": "",
                                          "reason_code": ""})
        if s.live:
            entry["live"] = True
        elif not entry["reason"] and s.reason_code not in ("not_found", "no_barcode", "no_items",
                                                           "online"):
            entry["reason"], entry["reason_code"] = _(s.reason), s.reason_code
    return {"sources": list(out.values()),
            "counts": {code: sum(1 for s in statuses if s.status == code)
                       for code in dict.fromkeys(s.status for s in statuses)},
            "labels": {s.status: _(label(s.status)) for s in statuses}}


async def api_availability(request: web.Request) -> web.Response:
    app = request.app
    cluster_id = request.match_info["id"]
    config = app[CONFIG]
    live = app[LIVE_CATALOGUE].records_for(cluster_id)
    records: list[Record] = []
    seen: dict[str, float] = {}
    if not is_live_id(cluster_id):
        records, seen = await blocking(request, load_cluster, app[STORE], cluster_id)
    if not records and not live:
        return json_response({"error": f"没有编号为“{cluster_id[:60]}”的书目；"
                                       "请用 /api/search 重新检索获取当前编号。"}, status=404)
    service = app[AVAILABILITY]
    live_keys = {r.key for r in live}
    statuses = ordered(records, await service.check([*records, *live], as_of=seen),
                       config.libraries, live)
    response = json_response({
        "id": cluster_id,
        "checked_at": iso_time(service.now()),
        "cache_seconds": service.ttl,
        "holdings": [status_json(s, config.libraries, s.record in live_keys)
                     for s in statuses],
        **summary(statuses),
    })
    response.headers["Cache-Control"] = "no-store"  # "now" must not come from a cache
    return response


async def _close(app: web.Application) -> None:
    app[AVAILABILITY].close()


def setup_availability(app: web.Application,
                       service: AvailabilityService | None = None) -> AvailabilityService:
    """Route and service.  To choose timeouts (tests, `tongjian serve`), pass `service`, or
    set ``app[AVAILABILITY]`` after `create_app` and before the app starts."""
    if AVAILABILITY not in app:
        app[AVAILABILITY] = service or AvailabilityService(app[CONFIG])
        app.on_cleanup.append(_close)
    app.router.add_get("/api/records/{id}/availability", api_availability)
    return app[AVAILABILITY]


__all__ = ["AVAILABILITY", "harvest_times", "load_cluster", "ordered", "row_order",
           "setup_availability", "status_json"]
