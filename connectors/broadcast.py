"""Broadcast search: one query to every live source at once, the way pazpar2 does it.

Some member systems can only be searched, not harvested (config ``mode: live``).  A
broadcast sends the reader's query to all of them concurrently.  Each source is a
*target* with its own state (queued → connecting → searching → fetching → done / failed
/ timeout, or skipped while its circuit breaker is open) and its own deadline, so one
slow or broken server never holds the others.  Records are normalized as they arrive by
the function the caller passes — the portal passes ``harvest.crosswalk.from_raw``, the
harvest's own path, so live and harvested records are read identically (connectors do
not import the crosswalks, hence the injection).

Pieces:

* ``Broadcaster`` is long-lived (one per portal).  It owns the worker threads, one
  circuit breaker and one politeness semaphore per source, so those survive searches.
* ``Broadcaster.start(terms, field)`` returns a ``LiveSearch`` at once; its targets run
  as asyncio tasks that hand the blocking ZOOM work to the pool and race it against the
  target's deadline.
* Every change is a ``BroadcastEvent`` (``status``, ``records``, ``done``) appended to the
  search's log and pushed to subscribers; late readers replay the log.

Threads and sockets.  ZOOM blocks and a connection belongs to one thread, so a target's
whole conversation (connect, search, present, close) is one job on one pool thread, and
the job destroys its connection in ``finally`` whatever happened.  A target that misses
its deadline is reported as timed out *at* the deadline; its thread cannot be killed but
is bounded: the connector is created with ZOOM's ``timeout`` set to the time left (whole
seconds, rounded up), so each ZOOM call returns by then, and the job checks a cancel flag
between calls.  The source's politeness slot is only given back when the thread has
really finished, so a hanging county server never sees more than ``max_concurrent``
connections from us, and the pool never needs more threads than the sum of those slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import Any, Literal, Protocol

from connectors.base import ConnectorError, Diagnostic, RawRecord, Unreachable
from connectors.registry import ConnectorFactory, live_searchable, open_connector
from connectors.z3950 import USE_ATTRIBUTES
from core.config import Source

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 20  # records fetched per source: a first page, not a harvest
MAX_THREADS = 256  # hard cap on worker threads, whatever the configuration adds up to
LIVE_FIELDS: tuple[str, ...] = tuple(USE_ATTRIBUTES)  # what a live search can search by

Normalizer = Callable[[RawRecord, Source], Any]
"""raw record + its source → the record model (``harvest.crosswalk.from_raw``)."""


class State(StrEnum):
    QUEUED = "queued"  # waiting for a politeness slot or a worker thread
    CONNECTING = "connecting"
    SEARCHING = "searching"
    FETCHING = "fetching"
    DONE = "done"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # circuit breaker open: not even tried
    CANCELLED = "cancelled"  # the search was abandoned (session expired, shutdown)


FINAL = frozenset({State.DONE, State.FAILED, State.TIMEOUT, State.SKIPPED, State.CANCELLED})

ErrorKind = Literal["", "unreachable", "timeout", "diagnostic", "protocol", "unsupported",
                    "query", "busy", "circuit-open", "internal"]


@dataclass(frozen=True)
class TargetStatus:
    """One source's progress in one search; immutable so events can share snapshots."""

    source: str
    library: str
    state: State = State.QUEUED
    hits: int | None = None  # the server's hit count, once it answered
    records: int = 0  # records fetched and normalized
    rejected: int = 0  # records fetched but unreadable (garbage, broken MARC)
    error: ErrorKind = ""
    reason: str = ""  # the technical message, for the API and the log
    elapsed: float = 0.0  # seconds from the start of the search to this state
    answered: float | None = None  # seconds from the start to the hit count
    retry_in: float | None = None  # skipped: seconds until the breaker allows a try

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True)
class BroadcastEvent:
    """``status``: a target changed; ``records``: a batch arrived; ``done``: all settled."""

    seq: int
    kind: Literal["status", "records", "done"]
    status: TargetStatus | None = None
    records: tuple[Any, ...] = ()


class LiveConnector(Protocol):
    """What a broadcast needs from a connector whose class says ``live_search = True``
    (``Z3950Connector`` does; a vendor API connector for live search implements the same
    three calls and sets the flag)."""

    def search(self, terms: str, field: Any = "any") -> int: ...

    def fetch(self, start: int = 1, count: int | None = None,
              on_error: Callable[[int, str], None] | None = None) -> list[RawRecord]: ...

    def close(self) -> None: ...


class NotSearchable(ConnectorError):
    """The source's protocol has no live-search connector."""


def deadline_for(source: Source) -> float:
    """Seconds a live search waits for this source (config `deadline`, default 5)."""
    return float(source.deadline)


def max_concurrent_for(source: Source) -> int:
    """Searches sent to this server at once (config `max_concurrent`): county servers are
    small, so politeness is per source, not global."""
    return max(1, int(source.max_concurrent))


# -- circuit breaker -------------------------------------------------------------------


class CircuitBreaker:
    """Closed; after ``threshold`` consecutive failures open for ``cooldown`` seconds; then
    half-open, letting one trial search through: success closes it, failure reopens it
    with the cool-down doubled (up to ``max_cooldown``).

    Why: a county server that is down should cost each search nothing — not a connect
    attempt, a thread and a "超时" line every time.  Only the server's fault counts
    (unreachable, timed out, garbage); a diagnostic proves the server is alive, and our
    own congestion (waiting for a slot) says nothing about it.  Used on the event loop
    only, so it needs no lock.
    """

    def __init__(self, threshold: int = 3, cooldown: float = 30.0, max_cooldown: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, threshold)
        self.base_cooldown = cooldown
        self.max_cooldown = max(cooldown, max_cooldown)
        self.clock = clock
        self.failures = 0
        self.cooldown = cooldown
        self.open_until: float | None = None
        self._trial = False

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        if self.open_until is None:
            return "closed"
        return "open" if self.clock() < self.open_until else "half-open"

    def retry_in(self) -> float:
        return 0.0 if self.open_until is None else max(0.0, self.open_until - self.clock())

    def allow(self) -> bool:
        """May a search go to this source now?  In half-open state only one at a time."""
        if self.open_until is None:
            return True
        if self.clock() < self.open_until or self._trial:
            return False
        self._trial = True
        return True

    def success(self) -> None:
        self.failures, self.open_until, self._trial = 0, None, False
        self.cooldown = self.base_cooldown

    def failure(self) -> None:
        self.failures += 1
        if self._trial:  # the trial failed: stay away longer
            self._trial = False
            self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self.open_until = self.clock() + self.cooldown
        elif self.open_until is None and self.failures >= self.threshold:
            self.open_until = self.clock() + self.cooldown

    def release(self) -> None:
        """The attempt ended without a verdict (cancelled, our own congestion)."""
        self._trial = False


# -- worker threads --------------------------------------------------------------------


class WorkerPool:
    """A bounded set of reusable threads for blocking connector jobs.

    Not ``ThreadPoolExecutor``: that one marks a thread idle only *after* the job's future
    has completed, so a caller woken by the future can submit before the thread is free
    and a new thread appears; over many searches the pool creeps to its maximum.  Here a
    thread is counted idle before the result is published, so sequential searches reuse
    the same threads and the thread count is a function of concurrency, not of history.
    Threads are daemons: a call stuck in C must never keep the process from exiting.
    """

    def __init__(self, max_workers: int, name: str = "broadcast") -> None:
        self.max_workers = max(1, max_workers)
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0  # queued jobs no idle thread has been promised to
        self._closed = False

    @property
    def threads(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._threads) - self._idle

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool is shut down")
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._worker, daemon=True,
                                          name=f"{self.name}-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            else:
                self._pending += 1
            self._jobs.put((future, fn))
        return future

    def _worker(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn = job
            if future.set_running_or_notify_cancel():
                try:
                    result, error = fn(), None
                except BaseException as exc:  # handed to the caller, never lost
                    result, error = None, exc
            else:
                result, error = None, None
            with self._lock:
                if self._pending:
                    self._pending -= 1  # the next queued job is ours: stay busy
                else:
                    self._idle += 1
            if future.cancelled():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
            del future, fn, job, result, error  # drop references before blocking again

    def shutdown(self) -> None:
        """Ask every thread to exit once its current job is done; does not wait."""
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._jobs.put(None)


# -- one search ------------------------------------------------------------------------

Subscriber = Callable[[BroadcastEvent], None]


class LiveSearch:
    """One broadcast: per-target status, the records so far, and the event log.

    Lives on the event loop; worker threads only reach it through
    ``loop.call_soon_threadsafe``.  A report that arrives after its target has settled
    (a timed-out server answering late) is dropped, so what a reader saw stays true.
    """

    def __init__(self, terms: str, field: str, sources: Iterable[Source],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.terms = terms
        self.field = field
        self.loop = loop
        self.started = time.monotonic()
        self._status = {s.name: TargetStatus(s.name, s.library) for s in sources}
        self.records: list[Any] = []
        self.events: list[BroadcastEvent] = []
        self.done = False
        self._subscribers: list[Subscriber] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- reading ---------------------------------------------------------------------
    @property
    def statuses(self) -> list[TargetStatus]:
        return list(self._status.values())

    def status(self, source: str) -> TargetStatus:
        return self._status[source]

    def subscribe(self, callback: Subscriber, replay: bool = True) -> Callable[[], None]:
        """Call ``callback`` on the loop for every event (past ones first when ``replay``);
        returns the function that unsubscribes.  A failing subscriber is logged, never
        allowed to break the search."""
        if replay:
            for event in list(self.events):
                self._deliver(callback, event)
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers \
            else None

    async def stream(self, start: int = 0) -> AsyncIterator[BroadcastEvent]:
        """Events from index ``start`` of the log, then live ones, ending after ``done``."""
        position = start
        while True:
            changed = self._changed
            while position < len(self.events):
                position += 1
                yield self.events[position - 1]
            if self.done:
                return
            await changed.wait()

    async def wait(self, timeout: float | None = None) -> None:
        """Until every target has settled."""
        async with asyncio.timeout(timeout):
            while not self.done:
                await self._changed.wait()

    def cancel(self) -> None:
        """Abandon the search: unsettled targets become ``cancelled``, threads wind down."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # -- writing (event loop only) ---------------------------------------------------
    def _deliver(self, callback: Subscriber, event: BroadcastEvent) -> None:
        try:
            callback(event)
        except Exception:
            log.exception("live search subscriber failed on %s", event.kind)

    def _emit(self, kind: Literal["status", "records", "done"], status: TargetStatus | None,
              records: tuple[Any, ...] = ()) -> None:
        event = BroadcastEvent(len(self.events) + 1, kind, status, records)
        self.events.append(event)
        for callback in list(self._subscribers):
            self._deliver(callback, event)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _update(self, source: str, at: float | None = None, **changes: Any) -> None:
        old = self._status[source]
        if old.final:
            return
        moment = (at if at is not None else time.monotonic()) - self.started
        if "answered" in changes:
            changes["answered"] = moment
        new = replace(old, elapsed=moment, **changes)
        self._status[source] = new
        self._emit("status", new)

    def _add_records(self, source: str, records: list[Any], rejected: int) -> None:
        old = self._status[source]
        if old.final:
            return
        self._status[source] = replace(old, records=old.records + len(records),
                                       rejected=old.rejected + rejected,
                                       elapsed=time.monotonic() - self.started)
        if records:
            self.records.extend(records)
            self._emit("records", self._status[source], tuple(records))

    def _finish(self) -> None:
        for name, status in self._status.items():
            if not status.final:  # only if a target task died without settling
                self._update(name, state=State.CANCELLED, reason="search ended")
        self.done = True
        self._emit("done", None)

    def _post(self, method: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """From a worker thread: run ``method`` on the loop (dropped once the loop is gone)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(partial(method, *args, **kwargs))


# -- the engine ------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveTarget:
    source: Source
    deadline: float
    max_concurrent: int


class Broadcaster:
    """Sends each search to every given source; see the module docstring for the model.

    ``sources`` are the live sources (config ``mode: live``); ``normalize`` turns a raw
    record into the record model; ``connector_factory`` is `connectors.registry`'s
    (tests wrap it).  Per source, ``deadline`` and ``max_concurrent`` come
    from the source when config has them (see ``deadline_for``); ``max_records`` records
    are fetched from each source's result set.
    """

    def __init__(
        self,
        sources: Iterable[Source],
        normalize: Normalizer,
        *,
        max_records: int = DEFAULT_MAX_RECORDS,
        breaker_threshold: int = 3,
        cooldown: float = 30.0,
        max_cooldown: float = 600.0,
        connector_factory: ConnectorFactory = open_connector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.targets = [LiveTarget(s, deadline_for(s), max_concurrent_for(s))
                        for s in sources]
        names = [t.source.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("live source names must be unique")
        self.normalize = normalize
        self.max_records = max(1, max_records)
        self.connector_factory = connector_factory
        self.breakers = {n: CircuitBreaker(breaker_threshold, cooldown, max_cooldown, clock)
                         for n in names}
        self._slots = {t.source.name: asyncio.Semaphore(t.max_concurrent) for t in self.targets}
        # Every running job holds a slot, so this many threads are never a bottleneck.
        threads = min(MAX_THREADS, sum(t.max_concurrent for t in self.targets) or 1)
        self.pool = WorkerPool(threads)
        # Crosswalks are pure Python: run by fifty threads at once they only fight for the
        # GIL, and every thread that waits on I/O (the event loop, the portal's index
        # worker) then waits in that queue too — a convoy that delayed the first hits on
        # the page by most of a second in the benchmark.  One at a time, first come first
        # served, the first target's records are ready as soon as they are read.
        self._crosswalk = threading.Lock()
        self._searches: set[LiveSearch] = set()
        self._closed = False

    # -- public ----------------------------------------------------------------------
    def start(self, terms: str, field: str = "any", *,
              deadline: float | None = None) -> LiveSearch:
        """Begin a broadcast (call on the event loop); returns before any server answers.

        ``deadline`` overrides every source's own (tests, benchmarks)."""
        if self._closed:
            raise RuntimeError("broadcaster is closed")
        loop = asyncio.get_running_loop()
        search = LiveSearch(terms, field, (t.source for t in self.targets), loop)
        self._searches.add(search)
        search._task = loop.create_task(self._run(search, deadline))
        return search

    @property
    def running(self) -> int:
        return sum(not s.done for s in self._searches)

    def health(self) -> dict[str, dict[str, Any]]:
        """Breaker state per source, for status pages."""
        return {name: {"state": b.state, "failures": b.failures,
                       "retry_in": round(b.retry_in(), 1)}
                for name, b in self.breakers.items()}

    async def idle(self, timeout: float = 10.0) -> bool:
        """Wait until no worker thread is busy (timed-out jobs included); False on timeout."""
        end = time.monotonic() + timeout
        while self.pool.busy:
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(0.01)
        return True

    async def aclose(self, grace: float = 3.0) -> None:
        """Cancel running searches and stop the threads; a thread stuck in a ZOOM call is
        given ``grace`` seconds (its own timeout ends it) and then left to die as a daemon."""
        self._closed = True
        searches = [s for s in self._searches if s._task is not None]
        for s in searches:
            s.cancel()
        await asyncio.gather(*(s._task for s in searches if s._task), return_exceptions=True)
        for s in searches:  # a task cancelled before it ever ran never reached its `finally`
            if not s.done:
                s._finish()
            self._searches.discard(s)
        await self.idle(grace)
        self.pool.shutdown()
        end = time.monotonic() + 0.5
        while self.pool.threads and time.monotonic() < end:
            await asyncio.sleep(0.01)

    # -- one search ------------------------------------------------------------------
    async def _run(self, search: LiveSearch, deadline: float | None) -> None:
        tasks = [asyncio.create_task(self._target(search, t, deadline)) for t in self.targets]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            search._finish()
            self._searches.discard(search)

    async def _target(self, search: LiveSearch, target: LiveTarget,
                      deadline: float | None) -> None:
        name = target.source.name
        breaker = self.breakers[name]
        if not breaker.allow():
            search._update(name, state=State.SKIPPED, error="circuit-open",
                           reason=f"{breaker.failures} consecutive failures; paused",
                           retry_in=round(breaker.retry_in(), 1))
            return
        budget = deadline if deadline is not None else target.deadline
        loop = asyncio.get_running_loop()
        ends_at = search.started + budget  # time.monotonic() is the loop's clock too
        cancel = threading.Event()
        verdict: bool | None = None  # True: the server is fine, False: its fault, None: neither
        try:
            async with asyncio.timeout_at(loop.time() + (ends_at - time.monotonic())):
                slot = self._slots[name]
                await slot.acquire()
                try:
                    job = self.pool.submit(partial(self._work, search, target, cancel, ends_at))
                except BaseException:
                    slot.release()
                    raise
                job.add_done_callback(partial(self._release, loop, slot))
                hits = await asyncio.wrap_future(job)
            search._update(name, state=State.DONE, hits=hits)
            verdict = True
        except TimeoutError:
            waited = search.status(name).state == State.QUEUED
            search._update(
                name, state=State.TIMEOUT, error="busy" if waited else "timeout",
                reason=(f"no free connection within {budget:g} s" if waited
                        else f"no complete answer within {budget:g} s"))
            verdict = None if waited else False
        except asyncio.CancelledError:
            search._update(name, state=State.CANCELLED, reason="search cancelled")
            raise
        except Diagnostic as exc:  # the server is alive and said no
            search._update(name, state=State.FAILED, error="diagnostic", reason=exc.message)
            verdict = True
        except Unreachable as exc:
            search._update(name, state=State.FAILED, error="unreachable", reason=exc.message)
            verdict = False
        except NotSearchable as exc:
            search._update(name, state=State.FAILED, error="unsupported", reason=exc.message)
        except ConnectorError as exc:  # garbage, a broken PDU, an Init the server rejected
            search._update(name, state=State.FAILED, error="protocol", reason=exc.message)
            verdict = False
        except ValueError as exc:  # the query or the source's settings cannot be sent
            search._update(name, state=State.FAILED, error="query", reason=str(exc))
        except Exception as exc:
            log.exception("live search: source %s failed unexpectedly", name)
            search._update(name, state=State.FAILED, error="internal",
                           reason=f"{type(exc).__name__}: {exc}")
        finally:
            cancel.set()
            if verdict is True:
                breaker.success()
            elif verdict is False:
                breaker.failure()
            else:
                breaker.release()

    @staticmethod
    def _release(loop: asyncio.AbstractEventLoop, slot: asyncio.Semaphore,
                 _job: Future[Any]) -> None:
        """The job's thread is done with the server: give its politeness slot back."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for it
            loop.call_soon_threadsafe(slot.release)

    def _work(self, search: LiveSearch, target: LiveTarget, cancel: threading.Event,
              ends_at: float) -> int:
        """One target's conversation, in a worker thread; returns the hit count."""
        source = target.source
        name = source.name
        left = ends_at - time.monotonic()
        if cancel.is_set() or left <= 0:  # settled while queued: never touch the server
            raise TimeoutError(name)
        if not live_searchable(source.protocol):
            raise NotSearchable(name, f"protocol {source.protocol!r} cannot be searched live")
        search._post(search._update, name, state=State.CONNECTING, at=time.monotonic())
        conn: LiveConnector = self.connector_factory(source, timeout=float(math.ceil(left)))
        try:
            connect = getattr(conn, "connect", None)
            if callable(connect):  # connectors that connect apart from searching
                connect()
                search._post(search._update, name, state=State.SEARCHING, at=time.monotonic())
            hits = conn.search(search.terms, search.field)
            search._post(search._update, name, state=State.FETCHING, hits=hits,
                         answered=True, at=time.monotonic())
            wanted = min(hits, self.max_records)
            batch = max(1, min(source.batch_size, wanted))
            bad: list[str] = []  # reasons, per record the server or the crosswalk refused
            position = 1
            while position <= wanted and not cancel.is_set():
                count = min(batch, wanted - position + 1)
                before = len(bad)
                raws = conn.fetch(position, count, on_error=lambda _p, why: bad.append(why))
                records = []
                with self._crosswalk:
                    for raw in raws:
                        try:
                            records.append(self.normalize(raw, source))
                        except Exception as exc:  # one unreadable record never ends it
                            bad.append(str(exc))
                search._post(search._add_records, name, records, len(bad) - before)
                position += count
            return hits
        finally:
            conn.close()
