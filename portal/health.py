"""`/healthz` and `/readyz`: what a load balancer and a librarian's monitoring poll.

`/healthz` says only that the process answers (no store, no index: a liveness probe must
not fail because a disk is slow).  `/readyz` says whether this portal can serve readers
now: the store answers a query, the index answers a count and was built by this release
(`index.marker`), and for each source its last harvest and whether it is failing.  A
failing source leaves the portal ready — readers still search everything else — but is
listed, so an alert can name it.  Both are JSON and cheap: one small query each.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from harvest.store import RecordStore
from index import marker
from index.backend import SearchBackend
from portal.core import BACKEND, CONFIG, STORE, WORKER, json_response
from portal.records import iso_time

READY_TIMEOUT = 5.0  # seconds for the store and index checks together


def _store_check(store: RecordStore) -> dict[str, Any]:
    return {"harvests": store.last_harvests()}


def _index_check(backend: SearchBackend, index_dir: Path | None) -> dict[str, Any]:
    entries = backend.count()
    built = None
    if index_dir is not None and (index_dir / marker.MARKER).exists():
        built = (index_dir / marker.MARKER).stat().st_mtime
    meta = index_dir / "meta.json" if index_dir is not None else None
    changed = meta.stat().st_mtime if meta is not None and meta.exists() else None
    return {"entries": entries, "built": iso_time(built), "changed": iso_time(changed),
            "stale": marker.stale_reason(index_dir)}


async def healthz(request: web.Request) -> web.Response:
    response = json_response({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    config = app[CONFIG]
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    started = time.monotonic()
    store: dict[str, Any] = {}
    index: dict[str, Any] = {}
    index_dir = app[BACKEND].path
    try:
        store, index = await asyncio.wait_for(asyncio.gather(
            loop.run_in_executor(app[WORKER], _store_check, app[STORE]),
            loop.run_in_executor(app[WORKER], _index_check, app[BACKEND], index_dir)),
            READY_TIMEOUT)
    except TimeoutError:
        problems.append(f"store or index did not answer within {READY_TIMEOUT:.0f} s")
    except Exception as e:  # the check reports it; the monitoring sees the reason
        problems.append(f"store or index unreadable: {type(e).__name__}: {e}")
    if index.get("stale"):
        problems.append(f"index needs a rebuild: {index['stale']}")
    last = store.get("harvests", {})
    sources = []
    for source in config.sources:
        run = last.get(source.name)
        failing = bool(run and run.get("error"))
        sources.append({
            "name": source.name, "mode": source.mode,
            "last_harvest": iso_time(run.get("finished") or run.get("started")) if run else None,
            "failing": failing,
            "error": str(run.get("error"))[:300] if failing and run else "",
        })
    ready = not problems
    body = {
        "status": "ready" if ready else "not ready",
        "problems": problems,
        "index": {k: v for k, v in index.items() if k != "stale"},
        "sources": sources,
        "failing_sources": [s["name"] for s in sources if s["failing"]],
        "checked_in_ms": round((time.monotonic() - started) * 1000),
    }
    response = json_response(body, status=200 if ready else 503)
    response.headers["Cache-Control"] = "no-store"
    return response


def setup_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
