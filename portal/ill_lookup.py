"""Looking the lines up: each line matched to catalogue entries, then their holdings' status.

Matching: a line that is an ISBN is looked up exactly in the index's ISBN field; anything
else is searched as a title and only entries whose title equals the line (letters and
digits, width/case/script folded: `core.fold.title_key`) count — a near miss is kept as a
suggestion, never counted as held.  Matching reads the store and index, so it runs on the
portal's worker thread, MATCH_BATCH lines a trip, letting pages interleave.

Availability: the first LIVE_LINES lines that found something get live status from the
member systems (`connectors.availability`, each source with its own timeout), as long as
live checking has taken less than LIVE_BUDGET seconds; every other cell shows the
harvested status and is marked so.  That keeps 1,000 lines to well under a minute even when
county servers are slow, and keeps one librarian's list from becoming a load test of them.

A lookup is a job in this process's memory (`LookupJobs`): the page polls its progress,
the JSON twin waits for it a little, a restart forgets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.availability import AvailabilityService, HoldingStatus
from core.config import Library
from core.fold import title_key
from core.model import Record
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from portal.availability import AVAILABILITY, harvest_times
from portal.core import BACKEND, CONFIG, LIVE_CATALOGUE, STORE, on_worker
from portal.i18n import N_
from portal.ill_export import library_json, library_sort
from portal.ill_input import Query
from portal.query import LiveRecords
from portal.records import iso_time
from portal.views import record_url

log = logging.getLogger("portal.ill")  # one logger for the whole view

MATCH_BATCH = 25  # lines per trip to the portal's worker thread (pages interleave)
LIVE_LINES = 100
LIVE_BATCH = 10  # lines whose holdings are checked live together
LIVE_BUDGET = 30.0
MAX_MATCHES = 5  # entries one line may match (one ISBN in a few unmerged entries)
TITLE_CANDIDATES = 10
SUGGESTIONS = 3
JOB_TTL = 3600.0
MAX_JOBS = 50
MAX_RUNNING = 2


# -- matching (blocking: the portal's worker thread) ------------------------------------------


@dataclass
class Match:
    query: Query
    clusters: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    suggestions: list[dict[str, str]] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)


NOT_FOUND = N_("未找到")  # translated where shown (the page; the CSV stays Chinese)


def match_query(store: RecordStore, backend: SearchBackend, query: Query,
                live: LiveRecords | None = None) -> Match:
    match = Match(query)
    if query.problem:
        return match
    if query.isbn:
        result = backend.search(SearchRequest(q=query.isbn, field="isbn",
                                              page_size=MAX_MATCHES))
        hits = [h for h in result.hits if query.isbn in (h.doc.get("isbn") or [])]
    else:
        wanted = title_key(query.title)
        if not wanted:
            return match
        result = backend.search(SearchRequest(q=query.title, field="title",
                                              page_size=TITLE_CANDIDATES))
        hits = [h for h in result.hits if title_key(str(h.doc.get("title") or "")) == wanted]
        if not hits:
            match.suggestions = [{"id": h.id, "title": str(h.doc.get("title") or ""),
                                  "url": record_url(h.id)}
                                 for h in result.hits[:SUGGESTIONS]]
    for hit in hits[:MAX_MATCHES]:
        records = store.cluster(hit.id)
        if records:
            match.clusters.append(hit.id)
            match.titles.append(str(hit.doc.get("title") or records[0].title))
            match.records.extend(records)
    match.seen = harvest_times(store, [r.key for r in match.records])
    # The live copies recent live searches joined to these entries count here as on
    # every other page that shows the entry.
    joined = live(match.clusters) if live is not None and match.clusters else {}
    for cid in match.clusters:
        match.records.extend(joined.get(cid, ()))
    return match


def match_batch(store: RecordStore, backend: SearchBackend, queries: Sequence[Query],
                live: LiveRecords | None = None) -> list[Match]:
    return [match_query(store, backend, q, live) for q in queries]


def item_json(match: Match, statuses: Sequence[HoldingStatus],
              libraries: dict[str, Library]) -> dict[str, Any]:
    """One line of the list with its holdings summed per library, in region order."""
    q = match.query
    per: dict[str, dict[str, Any]] = {}
    for s in statuses:
        entry = per.setdefault(s.library, {
            **library_json(s.library, libraries), "copies": 0, "available": 0,
            "live": True, "reasons": [], "as_of": None, "statuses": {}})
        entry["copies"] += s.copies
        entry["available"] += s.available_copies
        entry["statuses"][s.label] = entry["statuses"].get(s.label, 0) + s.copies
        if not s.live:
            entry["live"] = False
            if s.reason and s.reason not in entry["reasons"]:
                entry["reasons"].append(s.reason)
            if s.as_of and (entry["as_of"] is None or s.as_of < entry["as_of"]):
                entry["as_of"] = s.as_of
    holdings = []
    for code in library_sort(per, libraries):
        entry = per[code]
        entry["as_of"] = iso_time(entry["as_of"])
        holdings.append(entry)
    return {
        "line": q.line, "query": q.text, "kind": "isbn" if q.isbn else "title",
        "isbn": q.isbn, "matched": match.clusters, "titles": match.titles,
        "title": match.titles[0] if match.titles else "",
        "holdings": holdings,
        "libraries": len(holdings),
        "copies": sum(h["copies"] for h in holdings),
        "available": sum(h["available"] for h in holdings),
        "live": bool(holdings) and all(h["live"] for h in holdings),
        "problem": q.problem or ("" if match.clusters else NOT_FOUND),
        "suggestions": match.suggestions,
    }


# -- jobs -------------------------------------------------------------------------------------


@dataclass
class LookupJob:
    id: str
    queries: list[Query]
    created: float
    state: str = "running"  # running | done | failed
    done: int = 0
    live_lines: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    finished: float | None = None
    task: asyncio.Task[None] | None = None

    @property
    def total(self) -> int:
        return len(self.queries)

    def progress(self) -> dict[str, Any]:
        return {"job": self.id, "state": self.state, "done": self.done, "total": self.total,
                "error": self.error}

    def result(self, libraries: dict[str, Library]) -> dict[str, Any]:
        codes = library_sort((h["library"] for item in self.items for h in item["holdings"]),
                             libraries)
        return {
            **self.progress(),
            "live_lines": self.live_lines, "live_limit": LIVE_LINES,
            "libraries": [library_json(c, libraries) for c in codes],
            "items": self.items,
            "unmatched": [{"line": i["line"], "query": i["query"], "reason": i["problem"],
                           "suggestions": i["suggestions"]}
                          for i in self.items if not i["matched"]],
        }


class Busy(Exception):
    """Too many lookups are running."""


class LookupJobs:
    """Lookups in this process's memory: a restart forgets them, which for a result a
    librarian downloads right away is fine."""

    def __init__(self, max_jobs: int = MAX_JOBS, max_running: int = MAX_RUNNING,
                 ttl: float = JOB_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_jobs, self.max_running, self.ttl, self.clock = max_jobs, max_running, ttl, clock
        self._jobs: dict[str, LookupJob] = {}

    def get(self, job_id: str) -> LookupJob | None:
        self._prune()
        return self._jobs.get(job_id)

    def running(self) -> list[LookupJob]:
        return [j for j in self._jobs.values() if j.state == "running"]

    def create(self, queries: list[Query]) -> LookupJob:
        self._prune()
        if len(self.running()) >= self.max_running:
            raise Busy
        while len(self._jobs) >= self.max_jobs:
            oldest = min((j for j in self._jobs.values() if j.state != "running"),
                         key=lambda j: j.created, default=None)
            if oldest is None:
                raise Busy
            del self._jobs[oldest.id]
        job = LookupJob(secrets.token_urlsafe(12), queries, self.clock())
        self._jobs[job.id] = job
        return job

    def _prune(self) -> None:
        now = self.clock()
        for job_id, job in list(self._jobs.items()):
            if job.state != "running" and now - (job.finished or job.created) > self.ttl:
                del self._jobs[job_id]

    async def cancel_all(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task and not j.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


ILL_JOBS = web.AppKey("ill_jobs", LookupJobs)


async def run_job(app: web.Application, job: LookupJob) -> None:
    """Match in batches on the worker thread, then ask for live status line group by line
    group until LIVE_LINES lines or LIVE_BUDGET seconds; `done` moves as lines finish."""
    service: AvailabilityService = app[AVAILABILITY]
    libraries = app[CONFIG].libraries
    live_spent = 0.0
    try:
        for start in range(0, job.total, MATCH_BATCH):
            batch = job.queries[start:start + MATCH_BATCH]
            matches = await on_worker(app, match_batch, app[STORE], app[BACKEND], batch,
                                      app[LIVE_CATALOGUE].entries_with_live)
            for first in range(0, len(matches), LIVE_BATCH):
                group = matches[first:first + LIVE_BATCH]
                held = [m for m in group if m.records]
                room = LIVE_LINES - job.live_lines if live_spent < LIVE_BUDGET else 0
                live_part, rest = held[:max(room, 0)], held[max(room, 0):]
                began = time.monotonic()
                found = await _statuses(service, live_part, live=True)
                if live_part:
                    live_spent += time.monotonic() - began
                    job.live_lines += len(live_part)
                found.update(await _statuses(service, rest, live=False))
                for m in group:
                    job.items.append(item_json(m, found.get(id(m), []), libraries))
                job.done += len(group)
        job.state = "done"
    except asyncio.CancelledError:
        job.state, job.error = "failed", "服务正在停止，查询已中断。"
        raise
    except Exception:
        log.exception("ill: lookup %s failed", job.id)
        job.state, job.error = "failed", "查询过程中出错，已记录。请稍后重试。"
    finally:
        job.finished = time.monotonic()


async def _statuses(service: AvailabilityService, matches: list[Match], *, live: bool
                    ) -> dict[int, list[HoldingStatus]]:
    """Statuses of each match's holdings (keyed by id(match)), with one check for all of
    them: two lines may find the same entry, and each record is asked about once."""
    if not matches:
        return {}
    records = list({r.key: r for m in matches for r in m.records}.values())
    seen = {k: v for m in matches for k, v in m.seen.items()}
    by_record: dict[str, list[HoldingStatus]] = {}
    for s in await service.check(records, as_of=seen, live=live):
        by_record.setdefault(s.record, []).append(s)
    return {id(m): [s for key in dict.fromkeys(r.key for r in m.records)
                    for s in by_record.get(key, [])] for m in matches}


def start_job(app: web.Application, queries: list[Query]) -> LookupJob:
    job = app[ILL_JOBS].create(queries)
    job.task = asyncio.get_running_loop().create_task(run_job(app, job))
    return job


__all__ = ["ILL_JOBS", "LIVE_LINES", "Busy", "LookupJob", "LookupJobs", "Match", "match_query",
           "start_job"]
