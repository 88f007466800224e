"""Live availability: each holding's current status asked of its own system, on demand.

The index knows what a library's system said at the last harvest; a reader standing up to
go to the library wants to know what it says now.  So the record page (and the ILL view)
asks the member systems directly, through each connector's ``item_statuses(key)``
(`connectors.base.StatusConnector`, VuFind's ``getStatuses``): how a system is asked and
how its words map to the common vocabulary (`core.status`) lives in that system's
connector — Symphony per barcode, Koha per biblio, Z39.50 by the OPAC record of the
local number (`connectors.symphony`, `connectors.koha`, `connectors.z3950`).  A connector
without ``item_statuses`` (OAI-PMH) offers none; one that cannot answer on this server
(no OPAC syntax, SRU) says ``NotOffered``.  This module only plans the questions (per
item or per record, as the connector's ``status_by`` says), keeps the cache, the threads
and the deadlines, and assembles the answers into one status per harvested holding.

Rules, and why:

* Sources are asked concurrently, each with its own timeout (3 s by default; ``timeouts``
  or a source's ``availability_timeout`` override it), so the answer comes after the
  slowest source's timeout at worst — never the sum — and a dead county server costs the
  reader at most that.  A source that fails shows its last known (harvested) status,
  mapped through `core.status.common_status`, with the reason (超时, 连接失败, 查询出错,
  不提供实时状态) and the time that status dates from.
* Every blocking call runs in a bounded thread pool, and a source holds at most
  ``per_source`` threads at a time (the slot is freed when the *thread* ends, not when we
  stop waiting), so a hanging server cannot eat the pool or pile up connections.  The
  threads end on their own: connectors are opened with the availability timeout as their
  socket/ZOOM timeout, and workers check the deadline before each request.
* Answers are cached per (source, item) or (source, record) for ``ttl`` seconds (60): a
  page reload or a second reader does not hit the county server again.  A source that
  timed out or refused the connection is not asked again for ``failure_ttl`` (15 s), and
  one without live status for ``not_offered_ttl``.
* Connectors whose class says ``keep_alive`` (a Symphony session, a Koha token) are kept
  in a small idle pool per source for reuse; the others (Z39.50) are opened per check,
  since an idle Z39.50 session is closed by most servers and a dead one would be mistaken
  for a dead server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeGuard

from connectors.base import (
    ConnectorError,
    Diagnostic,
    LiveItem,
    NotOffered,
    StatusConnector,
    Unreachable,
)
from connectors.registry import ConnectorFactory, open_connector, status_by
from core.config import Config, Source
from core.entry import DERIVED, EntryHolding, record_holdings
from core.model import Holding, Record
from core.status import ONLINE, UNKNOWN, best, common_status, label

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
DEFAULT_TTL = 60.0
FAILURE_TTL = 15.0
NOT_OFFERED_TTL = 600.0
PER_SOURCE = 2
MAX_THREADS = 16
CACHE_SIZE = 20_000
POOL_IDLE = 120.0  # seconds an idle HTTP connector (session, token) is kept for reuse

# reason code → what the reader sees next to the last known status
REASONS: dict[str, str] = {
    "timeout": "超时",
    "unreachable": "连接失败",
    "error": "查询出错",
    "not_offered": "不提供实时状态",
    "not_found": "源系统中未找到",
    "no_barcode": "无条码，无法实时查询",
    "skipped": "未实时查询",
    "no_items": "来源未提供单册信息",
    "online": "数字资源，可在线阅读",
}
# Failures that describe the server, not one record: remembered for the whole source.
_SOURCE_FAILURES = {"timeout": "failure", "unreachable": "failure", "not_offered": "not_offered"}


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingStatus:
    """The status to show for one harvested Holding (``record`` key, ``index`` in its
    holdings).  ``live`` False means ``status`` is the harvested one, from ``as_of``, and
    ``reason`` says why no live answer was had."""

    record: str
    index: int
    source: str
    library: str
    barcode: str
    call_number: str
    location: str
    status: str
    due_date: str
    raw_status: str
    harvested_status: str
    as_of: float | None
    live: bool
    reason_code: str = ""
    reason: str = ""
    copies: int = 1
    available_copies: int = 0

    @property
    def label(self) -> str:
        return label(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


@dataclass(frozen=True)
class _Answer:
    """What a source said about one unit (a barcode or a biblio), or why it said nothing."""

    at: float
    items: tuple[LiveItem, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class _Unit:
    kind: str  # the connector's status_by: "item" (a barcode) | "bib" (the record's id)
    key: str

    def cache_key(self, source: str) -> tuple[str, str, str]:
        return (source, self.kind, self.key)


class _Cache:
    """A small TTL cache, safe across the event loop and the worker threads."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        self.size, self.clock = size, clock
        self._data: OrderedDict[tuple[str, str, str], tuple[float, _Answer]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> _Answer | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._data[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, str, str], answer: _Answer, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self.clock() + ttl, answer)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def drop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._data.pop(key, None)


# -- pairing live copies with harvested holdings ---------------------------------------------


def _fold(code: str) -> str:
    return "".join(code.split()).casefold()


def match_items(holdings: Sequence[Holding], items: Sequence[LiveItem]
                ) -> list[tuple[LiveItem, ...] | None]:
    """Pair a record's harvested holdings with the copies its system reports now: by
    barcode; then a holding without barcode (a summary: call number, copies) takes the
    unclaimed copies of its call number, or all of them when it is the only such holding;
    finally, when the system reports no barcodes at all, one lone unmatched holding takes
    the unclaimed copies.
    None = no live copy for that holding."""
    out: list[tuple[LiveItem, ...] | None] = [None] * len(holdings)
    by_barcode: dict[str, LiveItem] = {}
    for item in items:
        if item.barcode:
            by_barcode.setdefault(_fold(item.barcode), item)
    claimed: set[int] = set()
    for i, h in enumerate(holdings):
        found = by_barcode.get(_fold(h.barcode)) if h.barcode else None
        if found is not None:
            out[i] = (found,)
            claimed.add(id(found))
    rest = [it for it in items if id(it) not in claimed]
    loose = [i for i, h in enumerate(holdings) if out[i] is None and not h.barcode]
    for i in loose:
        mine = tuple(it for it in rest if it.call_number
                     and _fold(it.call_number) == _fold(holdings[i].call_number))
        if not mine and len(loose) == 1:
            mine = tuple(rest)
        if mine:
            out[i] = mine
            claimed.update(id(it) for it in mine)
    rest = [it for it in items if id(it) not in claimed]
    unmatched = [i for i in range(len(holdings)) if out[i] is None]
    if len(unmatched) == 1 and rest and not any(it.barcode for it in items):
        out[unmatched[0]] = tuple(rest)
    return out


# -- the service ------------------------------------------------------------------------------


class AvailabilityService:
    """Live status for the holdings of records, one short-lived answer per source.

    ``open_connector(source, timeout=…)`` builds a connector (`connectors.registry`'s,
    or a test's wrapper of it); it is given the availability timeout in place of the
    source's own, so every socket read gives up in time.  ``timeouts``
    maps source names to their own timeout (seconds).  ``clock`` is monotonic (deadlines,
    cache); ``wall`` stamps answers (the "as of" a reader sees).
    """

    def __init__(self, config: Config, open_connector: ConnectorFactory = open_connector, *,
                 timeout: float = DEFAULT_TIMEOUT, ttl: float = DEFAULT_TTL,
                 failure_ttl: float = FAILURE_TTL, not_offered_ttl: float = NOT_OFFERED_TTL,
                 per_source: int = PER_SOURCE, max_threads: int = MAX_THREADS,
                 timeouts: Mapping[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        if timeout <= 0 or per_source < 1 or max_threads < 1:
            raise ValueError("timeout, per_source and max_threads must be positive")
        self.config = config
        self._open = open_connector
        self.timeout, self.ttl = timeout, ttl
        self.failure_ttl, self.not_offered_ttl = failure_ttl, not_offered_ttl
        self.per_source = per_source
        self.timeouts = dict(timeouts or {})
        self._clock, self._wall = clock, wall
        self._cache = _Cache(CACHE_SIZE, clock)
        self._executor = ThreadPoolExecutor(max_workers=max_threads,
                                            thread_name_prefix="availability")
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._idle: dict[str, list[tuple[StatusConnector, float]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- configuration -------------------------------------------------------------------
    def now(self) -> float:
        """Wall-clock time as the service stamps answers (the "as of" of live ones)."""
        return self._wall()

    def source(self, name: str) -> Source | None:
        return next((s for s in self.config.sources if s.name == name), None)

    def timeout_for(self, source: Source) -> float:
        own = self.timeouts.get(source.name) or source.availability_timeout
        return float(own) if own and own > 0 else self.timeout

    def live_capable(self, source: Source | None) -> TypeGuard[Source]:
        return source is not None and status_by(source.protocol) is not None

    # -- the check -----------------------------------------------------------------------
    async def check(self, records: Sequence[Record], *, as_of: Mapping[str, float] | None = None,
                    live: bool = True) -> list[HoldingStatus]:
        """One HoldingStatus per row of `records` (`core.entry.record_holdings`: their
        holdings, then the rows made from the records themselves), record by record.  ``as_of`` maps
        record keys to when their harvested status was seen (shown for fallbacks);
        ``live=False`` skips the sources entirely (harvested statuses, labelled so)."""
        as_of = as_of or {}
        live = live and not self._closed
        answers: dict[tuple[str, str, str], _Answer] = {}
        failures: dict[str, _Answer] = {}
        plan: dict[str, dict[_Unit, None]] = {}  # an ordered set of units per source
        if live:
            for record in records:
                source = self.source(record.source)
                if not self.live_capable(source) or record.source in failures:
                    continue
                known = self._cache.get((record.source, "source", "*"))
                if known is not None:
                    failures[record.source] = known
                    continue
                for unit in self._units(source, record):
                    key = unit.cache_key(source.name)
                    cached = self._cache.get(key)
                    if cached is not None:
                        answers[key] = cached
                    else:
                        plan.setdefault(source.name, {})[unit] = None
            sources = {s.name: s for s in self.config.sources}
            outcomes = await asyncio.gather(*(
                self._ask(sources[name], list(units)) for name, units in plan.items()))
            for got, failed in outcomes:
                answers.update(got)
                failures.update(failed)
        out: list[HoldingStatus] = []
        for record in records:
            out.extend(self._statuses(record, answers, failures, as_of.get(record.key), live))
            out.extend(_derived(row, as_of.get(record.key))
                       for row in record_holdings(record) if row.index == DERIVED)
        return out

    def _units(self, source: Source, record: Record) -> list[_Unit]:
        if status_by(source.protocol) == "item":
            return [_Unit("item", h.barcode.strip()) for h in record.holdings
                    if h.barcode.strip()]
        return [_Unit("bib", record.source_id)] if record.holdings else []

    def _semaphore(self, name: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(name)
        if sem is None:
            sem = self._semaphores[name] = asyncio.Semaphore(self.per_source)
        return sem

    async def _ask(self, source: Source, units: list[_Unit]
                   ) -> tuple[dict[tuple[str, str, str], _Answer], dict[str, _Answer]]:
        """All of one source's units, split over its thread slots, within its timeout."""
        timeout = self.timeout_for(source)
        deadline = self._clock() + timeout
        # A source asked item by item (Symphony): spread the items over its slots.
        chunks = [units[i::self.per_source] for i in range(self.per_source)] \
            if status_by(source.protocol) == "item" else [units]
        outcomes = await asyncio.gather(*(self._ask_chunk(source, c, deadline)
                                          for c in chunks if c))
        answers: dict[tuple[str, str, str], _Answer] = {}
        reasons: list[str] = []
        for got, reason in outcomes:
            answers.update(got)
            if reason:
                reasons.append(reason)
        failures: dict[str, _Answer] = {}
        if reasons:
            if not answers:
                failure = _Answer(self._wall(), reason=reasons[0])
                failures[source.name] = failure
                self._remember_failure(source.name, failure)
                log.info("availability: %s gave no live status (%s)", source.name, reasons[0])
            else:  # part answered: the rest of this check only is marked
                for unit in units:
                    answers.setdefault(unit.cache_key(source.name),
                                       _Answer(self._wall(), reason=reasons[0]))
        return answers, failures

    async def _ask_chunk(self, source: Source, units: list[_Unit], deadline: float
                         ) -> tuple[dict[tuple[str, str, str], _Answer], str]:
        """Run one worker thread over `units`; ('', answers) or the failure reason."""
        results: dict[tuple[str, str, str], _Answer] = {}
        sem = self._semaphore(source.name)
        try:  # every slot busy (hung threads of earlier checks): give up at the deadline
            await asyncio.wait_for(sem.acquire(), max(0.0, deadline - self._clock()))
        except TimeoutError:
            return results, "timeout"
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        try:
            future = self._executor.submit(self._work, source, units, deadline, results,
                                           cancel)
        except RuntimeError:  # shut down
            sem.release()
            return results, "error"
        future.add_done_callback(lambda _f: _release_soon(loop, sem))
        try:
            reason = await asyncio.wait_for(asyncio.wrap_future(future),
                                            max(0.0, deadline - self._clock()))
        except TimeoutError:
            cancel.set()
            reason = "timeout"
        return dict(results), reason or ""

    def _remember_failure(self, source: str, failure: _Answer) -> None:
        kind = _SOURCE_FAILURES.get(failure.reason)
        if kind == "failure":
            self._cache.put((source, "source", "*"), failure, self.failure_ttl)
        elif kind == "not_offered":
            self._cache.put((source, "source", "*"), failure, self.not_offered_ttl)

    # -- worker threads ------------------------------------------------------------------
    def _work(self, source: Source, units: list[_Unit], deadline: float,
              results: dict[tuple[str, str, str], _Answer], cancel: threading.Event) -> str:
        """Ask the source about each unit until done, cancelled or past the deadline;
        returns a failure reason ('' when every unit got an answer)."""
        if cancel.is_set() or self._clock() >= deadline:
            return "timeout"
        timeout = self.timeout_for(source)
        started = self._clock()
        try:
            with self._connector(source, timeout) as conn:
                for unit in units:
                    if not self._going(deadline, cancel):
                        break
                    self._store(source, unit, self._answer(source, conn, unit), results)
        except NotOffered:
            return "not_offered"
        except Unreachable as e:
            slow = self._clock() - started >= 0.9 * timeout
            timed_out = slow or "timed out" in e.message or "within" in e.message
            return "timeout" if timed_out else "unreachable"
        except TimeoutError:
            return "timeout"
        except (ConnectorError, OSError, ValueError) as e:
            log.warning("availability: %s: %s", source.name, e)
            return "error"
        except Exception:  # a bug must not take the page down: that source shows harvested
            log.exception("availability: %s failed", source.name)
            return "error"
        done = sum(1 for u in units if u.cache_key(source.name) in results)
        return "" if done == len(units) else "timeout"

    def _answer(self, source: Source, conn: StatusConnector, unit: _Unit) -> _Answer:
        try:
            items = conn.item_statuses(unit.key)
        except Diagnostic as e:  # this request failed, not the server: ask about the next
            log.warning("availability: %s: %s", source.name, e)
            return _Answer(self._wall(), reason="error")
        if items is None:
            return _Answer(self._wall(), reason="not_found")
        return _Answer(self._wall(), tuple(items))

    def _store(self, source: Source, unit: _Unit, answer: _Answer,
               results: dict[tuple[str, str, str], _Answer]) -> None:
        key = unit.cache_key(source.name)
        results[key] = answer
        if answer.reason != "error":  # an error is about one request: ask again next time
            self._cache.put(key, answer, self.ttl)

    def _going(self, deadline: float, cancel: threading.Event) -> bool:
        return not cancel.is_set() and self._clock() < deadline

    # -- connector pool ------------------------------------------------------------------
    @contextlib.contextmanager
    def _connector(self, source: Source, timeout: float) -> Iterator[StatusConnector]:
        """An idle connector of this source, or a new one; back to the pool only after a
        clean run (an error may have left it mid-session), and only when its class keeps
        sessions alive."""
        conn = None
        stale = []
        with self._lock:
            idle = self._idle.setdefault(source.name, [])
            while idle and conn is None:
                candidate, since = idle.pop()
                if self._clock() - since < POOL_IDLE:
                    conn = candidate
                else:
                    stale.append(candidate)
        for old in stale:
            _close_quietly(old)
        if conn is None:
            conn = self._open(source, timeout=timeout)
        healthy = False
        try:
            yield conn
            healthy = True
        finally:
            with self._lock:
                pool = self._idle.setdefault(source.name, [])
                keep = (healthy and not self._closed and len(pool) < self.per_source
                        and getattr(conn, "keep_alive", False))
                if keep:
                    pool.append((conn, self._clock()))
            if not keep:
                _close_quietly(conn)

    def forget(self, source: str | None = None) -> None:
        """Drop cached answers (all, or one source's failure) — for admins and tests."""
        if source is None:
            self._cache = _Cache(CACHE_SIZE, self._clock)
        else:
            self._cache.drop((source, "source", "*"))

    def close(self) -> None:
        """Stop taking work; hung threads end at their own socket timeout.  Idle
        connectors are closed in the background (a Symphony logout is a request)."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            idle = [c for pool in self._idle.values() for c, _ in pool]
            self._idle.clear()
        if idle:
            def close_all() -> None:
                for conn in idle:
                    _close_quietly(conn)

            threading.Thread(target=close_all, name="availability-close", daemon=True).start()

    # -- assembling ----------------------------------------------------------------------
    def _statuses(self, record: Record, answers: Mapping[tuple[str, str, str], _Answer],
                  failures: Mapping[str, _Answer], seen: float | None,
                  live: bool) -> Iterable[HoldingStatus]:
        source = self.source(record.source)

        def fallback(i: int, h: Holding, reason: str) -> HoldingStatus:
            status = common_status(h.status)
            return HoldingStatus(
                record=record.key, index=i, source=record.source, library=h.library or
                record.library, barcode=h.barcode, call_number=h.call_number,
                location=h.location, status=status.code, due_date=status.due_date,
                raw_status=h.status, harvested_status=h.status, as_of=seen, live=False,
                reason_code=reason, reason=REASONS[reason], copies=h.copies,
                available_copies=h.copies if status.available else 0)

        def current(i: int, h: Holding, items: tuple[LiveItem, ...], at: float
                    ) -> HoldingStatus:
            status = items[0].status if len(items) == 1 else best([it.status for it in items])
            raw = "; ".join(dict.fromkeys(it.raw for it in items if it.raw))
            return HoldingStatus(
                record=record.key, index=i, source=record.source, library=h.library or
                record.library, barcode=h.barcode, call_number=h.call_number or
                items[0].call_number, location=h.location or items[0].location,
                status=status.code, due_date=status.due_date, raw_status=raw[:300],
                harvested_status=h.status, as_of=at, live=True, copies=h.copies,
                available_copies=sum(1 for it in items if it.status.available))

        if not live:
            return [fallback(i, h, "skipped") for i, h in enumerate(record.holdings)]
        if not self.live_capable(source):
            return [fallback(i, h, "not_offered") for i, h in enumerate(record.holdings)]
        failed = failures.get(record.source)
        if failed is not None:
            return [fallback(i, h, failed.reason) for i, h in enumerate(record.holdings)]
        out = []
        if status_by(source.protocol) == "item":
            for i, h in enumerate(record.holdings):
                if not h.barcode.strip():
                    out.append(fallback(i, h, "no_barcode"))
                    continue
                answer = answers.get((source.name, "item", h.barcode.strip()))
                if answer is None or answer.reason or not answer.items:
                    out.append(fallback(i, h, answer.reason if answer and answer.reason
                                        else "timeout"))
                else:
                    out.append(current(i, h, answer.items, answer.at))
            return out
        answer = answers.get((source.name, "bib", record.source_id))
        if answer is None or answer.reason:
            reason = answer.reason if answer and answer.reason else "timeout"
            return [fallback(i, h, reason) for i, h in enumerate(record.holdings)]
        for i, (h, items) in enumerate(zip(record.holdings,
                                           match_items(record.holdings, answer.items),
                                           strict=True)):
            out.append(current(i, h, items, answer.at) if items
                       else fallback(i, h, "not_found"))
        return out


# -- helpers ----------------------------------------------------------------------------------


def _derived(row: EntryHolding, seen: float | None) -> HoldingStatus:
    """The status of a row made from the record itself (`core.entry`): an online copy
    is there to read now; a record without items has no status to ask about."""
    online = row.online
    return HoldingStatus(
        record=row.record, index=row.index, source=row.source, library=row.library,
        barcode="", call_number="", location=row.location,
        status=ONLINE if online else UNKNOWN, due_date="", raw_status="",
        harvested_status="", as_of=seen, live=False,
        reason_code="online" if online else "no_items",
        reason=REASONS["online" if online else "no_items"], copies=row.copies,
        available_copies=row.copies if online else 0)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing a connector to a dead server must not raise anywhere
        log.debug("availability: closing %r failed", conn, exc_info=True)


def _release_soon(loop: asyncio.AbstractEventLoop, sem: asyncio.Semaphore) -> None:
    """Free a source slot from the worker thread's side, when the thread is done."""
    with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
        loop.call_soon_threadsafe(sem.release)


__all__ = [
    "DEFAULT_TIMEOUT", "DEFAULT_TTL", "REASONS", "AvailabilityService", "HoldingStatus",
    "LiveItem", "match_items",
]

