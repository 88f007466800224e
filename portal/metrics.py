"""GET /metrics in the Prometheus text format (0.0.4): search latency and harvest health.

The questions operations ask are "is search slow?" and "which member has stopped
delivering?", so that is what is exported: a latency histogram of the pages readers wait
on, request counts by route and status, and per source the records held, quarantined,
harvest runs, failures, outcomes, duration of the last run, time of the last success,
and whether the last run worked.  Harvest figures are read from the store's history at
scrape time, so they count CLI harvests too and survive restarts; request figures are this
process's since it started (Prometheus handles counter resets).

/metrics answers loopback clients (a Prometheus on the same host) and anybody with the
metrics or admin bearer token (`portal.principal`, which also throttles wrong tokens);
everyone else gets 403.  A request that came through a proxy (X-Forwarded-For,
Forwarded, X-Real-IP) is not trusted as loopback, so a reverse proxy on the same host does
not open the endpoint to the world.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.config import Config
from harvest.pipeline import held_deletions
from harvest.store import RecordStore
from portal.admin_runs import last_finished, run_totals
from portal.auth import client_address
from portal.core import CONFIG, SCHEDULER, STORE, Handler, blocking
from portal.principal import Refusal, Via, principal

# Readers notice from about a quarter of a second; a search past 10 s has failed anyway.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TIMED_ROUTES = {  # route template -> the label in tongjian_search_*
    "/": "search",
    "/search": "search",
    "/api/search": "api_search",
    "/record/{id}": "record",
    "/api/records/{id}": "api_record",
}
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)  # per bucket, made cumulative on output
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.sum += seconds
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                self.counts[i] += 1
                break


@dataclass
class Metrics:
    latency: dict[str, Histogram] = field(default_factory=lambda: {
        label: Histogram() for label in dict.fromkeys(TIMED_ROUTES.values())})
    http: Counter[tuple[str, str]] = field(default_factory=Counter)


METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost, so it sees the status the error pages finally answered with."""
    start = time.perf_counter()
    status = "500"
    try:
        response = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as exc:
        status = str(exc.status)
        raise
    except asyncio.CancelledError:
        status = "499"  # the client went away
        raise
    finally:
        metrics = request.app[METRICS]
        route = _route(request)
        metrics.http[(route, status)] += 1
        label = TIMED_ROUTES.get(route)
        if label is not None:
            metrics.latency[label].observe(time.perf_counter() - start)


# -- exposition --------------------------------------------------------------------------


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return "NaN" if math.isnan(value) else repr(float(value))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        body = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{body}}} {_number(value)}" if body
                          else f"{name} {_number(value)}")

    def metric(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.family(name, kind, help_text)
        for labels, value in samples:
            self.sample(name, labels, value)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _requests(out: Exposition, metrics: Metrics) -> None:
    out.metric("tongjian_search_requests_total", "counter",
               "Searches and record views served, by route.",
               (({"route": label}, h.count) for label, h in metrics.latency.items()))
    name = "tongjian_search_latency_seconds"
    out.family(name, "histogram", "Time to answer a search or record request, in seconds.")
    for label, h in metrics.latency.items():
        running = 0
        for bound, n in zip(h.buckets, h.counts, strict=True):
            running += n
            out.sample(name + "_bucket", {"route": label, "le": _number(bound)}, running)
        out.sample(name + "_bucket", {"route": label, "le": "+Inf"}, h.count)
        out.sample(name + "_sum", {"route": label}, h.sum)
        out.sample(name + "_count", {"route": label}, h.count)
    out.metric("tongjian_http_requests_total", "counter",
               "HTTP requests by route template and status.",
               (({"route": r, "status": s}, n) for (r, s), n in sorted(metrics.http.items())))


def source_figures(store: RecordStore, config: Config) -> list[dict[str, Any]]:
    """Blocking: per configured source, what the harvest families report."""
    counts = store.counts()
    totals = run_totals(store)
    last = last_finished(store)
    out = []
    for source in config.sources:
        held = counts.get(source.name, {})
        total = totals.get(source.name, {})
        run = last.get(source.name)
        out.append({
            "labels": {"source": source.name, "library": source.library},
            "records": held.get("records", 0),
            "quarantined": held.get("quarantined", 0),
            "runs": total.get("runs", 0),
            "failures": total.get("failures", 0),
            "outcomes": total.get("records", {}),
            "last_success": total.get("last_success"),
            "last_duration": run["duration"] if run else None,
            "up": (0 if run["error"] else 1) if run else None,
            "held": held_deletions(run["error"]) if run else 0,
        })
    return out


def _sources(out: Exposition, figures: list[dict[str, Any]]) -> None:
    def each(key: str) -> Iterable[tuple[dict[str, str], float]]:
        return ((f["labels"], f[key]) for f in figures if f[key] is not None)

    out.metric("tongjian_source_records", "gauge", "Records held in the store, per source.",
               each("records"))
    out.metric("tongjian_source_quarantined", "gauge",
               "Records in quarantine (could not be read), per source.", each("quarantined"))
    out.metric("tongjian_harvest_last_success_timestamp_seconds", "gauge",
               "Unix time the last successful harvest run finished.", each("last_success"))
    out.metric("tongjian_harvest_last_duration_seconds", "gauge",
               "Duration of the last finished harvest run.", each("last_duration"))
    out.metric("tongjian_harvest_runs_total", "counter", "Finished harvest runs.", each("runs"))
    out.metric("tongjian_harvest_failures_total", "counter",
               "Finished harvest runs that ended in an error.", each("failures"))
    out.metric("tongjian_harvest_records_total", "counter",
               "Records by outcome over all harvest runs.",
               (({**f["labels"], "outcome": o}, f["outcomes"].get(o, 0)) for f in figures
                for o in ("new", "updated", "deleted", "quarantined")))
    out.metric("tongjian_harvest_deletions_held", "gauge",
               "Records the last full harvest would have deleted but held back (more than "
               "the source's max_delete_share, or it saw nothing): confirm or fix.",
               each("held"))
    out.metric("tongjian_source_up", "gauge",
               "1 when the last finished harvest run succeeded, 0 when it failed.", each("up"))


def _scheduler(out: Exposition, app: web.Application) -> None:
    scheduler = app.get(SCHEDULER)
    if scheduler is None:
        return
    states = sorted(scheduler.states.items())
    out.metric("tongjian_harvest_paused", "gauge", "1 while scheduled harvests are paused.",
               (({"source": n}, int(s.paused)) for n, s in states))
    out.metric("tongjian_harvest_running", "gauge", "1 while a harvest of the source runs.",
               (({"source": n}, int(s.running)) for n, s in states))


# -- access and wiring -------------------------------------------------------------------


def _loopback(request: web.Request) -> bool:
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


async def metrics_page(request: web.Request) -> web.Response:
    who = principal(request)
    if who.refusal is Refusal.THROTTLED:
        return web.Response(status=429, text="too many failed attempts\n")
    # Without a token, the host itself; that path is never throttled, so somebody else's
    # wrong guesses from this host cannot blind the local Prometheus.
    ok = (who.via in (Via.METRICS, Via.TOKEN)
          or (who.refusal is None and _loopback(request)))
    if not ok:
        return web.Response(status=403, text="metrics: loopback or a bearer token only\n",
                            content_type="text/plain")
    out = Exposition()
    _requests(out, request.app[METRICS])
    figures = await blocking(request, source_figures, request.app[STORE], request.app[CONFIG])
    _sources(out, figures)
    _scheduler(out, request.app)
    return web.Response(body=out.text().encode("utf-8"), headers={
        "Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


def setup_metrics(app: web.Application) -> None:
    app[METRICS] = Metrics()
    app.middlewares.insert(0, metrics_middleware)
    app.router.add_get("/metrics", metrics_page)
