"""Broadcast search against real peers: Zebra, yaz-ztest and servers that misbehave.

The misbehaving servers are real sockets too: a listener that accepts and never answers
(hanging), a port nobody listens on (refused), a server that answers with random bytes
(garbage), and a proxy in front of Zebra that hangs up in the middle of the records
(mid-record).  Deadlines are 1 s — ZOOM's timeout is whole seconds — so no single test
waits much longer than that.  The Zebras serve the committed demo data: the same editions
catalogued by three libraries, in GB18030 CNMARC, UTF-8 CNMARC and MARC 21.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connectors.broadcast import (
    Broadcaster,
    BroadcastEvent,
    CircuitBreaker,
    LiveConnector,
    LiveSearch,
    State,
    WorkerPool,
    deadline_for,
    max_concurrent_for,
)
from connectors.registry import open_connector
from connectors.z3950 import Z3950Connector
from core.config import Source, parse
from core.model import Record
from harvest.crosswalk import from_raw
from tests.conftest import free_port
from tongjian.zebra import RecordFile, ZebraServer

pytestmark = pytest.mark.skipif(
    not (shutil.which("zebraidx") and shutil.which("zebrasrv")),
    reason="Zebra (idzebra-2.0) is not installed",
)

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"


# -- peers -------------------------------------------------------------------------------


def iso_records(path: Path) -> list[bytes]:
    return [c + b"\x1d" for c in path.read_bytes().split(b"\x1d") if c.strip()]


@pytest.fixture(scope="module")
def xylib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    """咸阳市图书馆: CNMARC in GB18030, as many domestic systems export it."""
    files = [RecordFile(DEMO / "XYLIB.cnmarc.gb18030.iso", "gb18030")]
    with ZebraServer(tmp_path_factory.mktemp("xylib"), "unimarc", files) as server:
        yield server


@pytest.fixture(scope="module")
def smlib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    """神木市图书馆: MARC 21 with 880 vernacular fields."""
    with ZebraServer(tmp_path_factory.mktemp("smlib"), "marc21",
                     [DEMO / "SMLIB.marc21.utf8.mrc"]) as server:
        yield server


@contextlib.contextmanager
def hanging_server() -> Iterator[str]:
    """Accepts connections (the kernel completes the handshake) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield f"127.0.0.1:{listener.getsockname()[1]}/Default"


@contextlib.asynccontextmanager
async def garbage_server(seed: int = 5) -> AsyncIterator[str]:
    """Answers like a misconfigured port (an HTTP error page, then random bytes) and hangs
    up.  Pure random bytes can look like the start of a huge BER element, and then the
    client rightly waits for the rest: that case is the hanging server's."""
    junk = b"HTTP/1.0 400 Bad Request\r\n\r\n" + random.Random(seed).randbytes(4096)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(junk)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}/Default"


def ber_pdu_length(buf: bytes) -> int | None:
    """Total length of the BER element at the start of ``buf`` (definite lengths only)."""
    if len(buf) < 2:
        return None
    i = 1
    if buf[0] & 0x1F == 0x1F:  # multi-byte tag
        while i < len(buf) and buf[i] & 0x80:
            i += 1
        i += 1
    if i >= len(buf):
        return None
    first = buf[i]
    i += 1
    if first < 0x80:
        return i + first
    n = first & 0x7F
    if len(buf) < i + n:
        return None
    return i + n + int.from_bytes(buf[i:i + n], "big")


class Proxy:
    """A TCP proxy in front of a real server, with knobs for misbehaviour.

    ``cut_after``: pass that many whole server PDUs (Init and Search responses), then half
    of the next one (the records) and hang up.  ``delay``: wait before passing on each
    server chunk.  ``broken``: hang up at once.
    """

    def __init__(self, upstream: str, *, cut_after: int | None = None, delay: float = 0.0) -> None:
        host_port = upstream.split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        self.upstream = (host, int(port))
        self.cut_after = cut_after
        self.delay = delay
        self.broken = False
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}/Default"

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.broken:
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            try:
                await asyncio.gather(self._pump(reader, up_writer, False),
                                     self._pump(up_reader, writer, True))
            finally:
                up_writer.close()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    from_server: bool) -> None:
        buffered = b""
        passed = 0
        while data := await src.read(65536):
            if from_server and self.delay:
                await asyncio.sleep(self.delay)
            if from_server and self.cut_after is not None:
                buffered += data
                while (n := ber_pdu_length(buffered)) is not None and len(buffered) >= n:
                    if passed == self.cut_after:
                        dst.write(buffered[: n // 2])
                        await dst.drain()
                        dst.close()
                        return
                    dst.write(buffered[:n])
                    buffered = buffered[n:]
                    passed += 1
            else:
                dst.write(data)
            await dst.drain()
        dst.close()


# -- helpers ---------------------------------------------------------------------------


def source(name: str, address: str, library: str = "XYLIB", **kw: object) -> Source:
    defaults: dict[str, object] = {"protocol": "z3950", "record_syntax": "unimarc",
                                   "format": "cnmarc", "encoding": "gb18030"}
    defaults.update(kw)
    return Source(name=name, library=library, address=address, **defaults)  # type: ignore[arg-type]


def xy(server: ZebraServer, name: str = "xylib") -> Source:
    return source(name, server.address)


def sm(server: ZebraServer) -> Source:
    return source("smlib", server.address, "SMLIB", record_syntax="usmarc", format="marc21",
                  encoding="utf-8")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def by_source(search: LiveSearch) -> dict[str, object]:
    return {s.source: s for s in search.statuses}


# -- a broadcast that works --------------------------------------------------------------


async def test_every_source_answers_with_normalized_records(xylib: ZebraServer,
                                                            smlib: ZebraServer) -> None:
    engine = Broadcaster([xy(xylib), sm(smlib)], from_raw)
    try:
        search = engine.start("红楼梦")
        await search.wait(5)
        with Z3950Connector("check", xylib.address, "unimarc") as direct:
            expected = direct.search("红楼梦")
        status = by_source(search)
        assert status["xylib"].state == State.DONE and status["xylib"].hits == expected == 2
        assert status["smlib"].state == State.DONE and status["smlib"].hits == 2
        assert all(isinstance(r, Record) for r in search.records)
        assert {r.library for r in search.records} == {"XYLIB", "SMLIB"}
        # GB18030 CNMARC and MARC 21 came through the harvest's crosswalks alike
        assert {r.title for r in search.records} == {"红楼梦"}
        assert ["9787020022076"] in [r.isbn for r in search.records if r.library == "XYLIB"]
        assert all(r.holdings for r in search.records)
    finally:
        await engine.aclose()


async def test_yaz_ztest_and_sru(ztest: str, tmp_path: Path) -> None:
    """Another Z39.50 implementation, and SRU (MARCXML over HTTP) on Zebra's same port."""
    sxpl = iso_records(DEMO / "SXPL.cnmarc.utf8.iso")[:200]
    (tmp_path / "sx.iso").write_bytes(b"".join(sxpl))
    with ZebraServer(tmp_path / "z", "unimarc", [tmp_path / "sx.iso"]) as zebra:
        sources = [
            source("ztest", f"{ztest}/Default", "ZT", record_syntax="usmarc", format="marc21",
                   encoding="auto"),
            source("sru", zebra.sru_url, "SXPL", protocol="sru", record_syntax="marcxml",
                   encoding="utf-8"),
        ]
        engine = Broadcaster(sources, from_raw, max_records=5)
        try:
            search = engine.start("12")  # ztest: 12 hits; Zebra: records with a "12"
            await search.wait(5)
            status = by_source(search)
            assert status["ztest"].state == State.DONE and status["ztest"].hits == 12
            assert status["ztest"].records == 5
            assert status["sru"].state == State.DONE, status["sru"]
            assert status["sru"].records == min(5, status["sru"].hits)
            assert all(r.title for r in search.records)
        finally:
            await engine.aclose()


# -- robustness --------------------------------------------------------------------------


async def test_misbehaving_sources_never_hold_the_others(xylib: ZebraServer) -> None:
    baseline_fds = open_fds()
    with hanging_server() as hang:
        async with garbage_server() as garbage, Proxy(xylib.address, cut_after=2) as cutter:
            sources = [
                xy(xylib),
                source("hanging", hang),
                source("refused", f"127.0.0.1:{free_port()}/Default"),
                source("garbage", garbage),
                source("midrecord", cutter.address),
            ]
            engine = Broadcaster(sources, from_raw)
            try:
                started = time.monotonic()
                search = engine.start("中国", deadline=1.0)
                await search.wait(3)
                took = time.monotonic() - started
                s = by_source(search)
                assert s["xylib"].state == State.DONE and s["xylib"].records == 20
                assert s["xylib"].elapsed < 0.5  # did not wait for the hanging one
                assert s["refused"].state == State.FAILED
                assert s["refused"].error == "unreachable" and s["refused"].elapsed < 0.5
                assert s["garbage"].state == State.FAILED
                assert s["garbage"].error in ("protocol", "unreachable")
                assert s["midrecord"].state == State.FAILED  # hung up inside the records
                assert s["midrecord"].hits == s["xylib"].hits and s["midrecord"].records == 0
                assert s["hanging"].state == State.TIMEOUT and s["hanging"].error == "timeout"
                assert 0.95 <= s["hanging"].elapsed < 1.3
                assert took < 1.4  # settled by the deadline
                # The hanging target's thread ends by ZOOM's own timeout and its
                # connection is destroyed: nothing is left open.
                assert await engine.idle(3)
            finally:
                await engine.aclose()
    assert open_fds() == baseline_fds


async def test_late_answers_after_a_timeout_are_dropped(xylib: ZebraServer) -> None:
    """A target that answers after its deadline stays "timeout"; its records are not used."""
    async with Proxy(xylib.address, delay=0.6) as slow:
        engine = Broadcaster([source("slow", slow.address)], from_raw)
        try:
            search = engine.start("红楼梦", deadline=1.0)
            await search.wait(3)
            assert search.status("slow").state == State.TIMEOUT
            assert await engine.idle(3)
            await asyncio.sleep(0.05)  # let any late report reach the loop
            assert search.records == [] and search.status("slow").state == State.TIMEOUT
        finally:
            await engine.aclose()


async def test_events_reach_subscribers_in_order(xylib: ZebraServer) -> None:
    refused = source("refused", f"127.0.0.1:{free_port()}/Default")
    engine = Broadcaster([xy(xylib), refused], from_raw)
    try:
        search = engine.start("三体")
        pushed: list[BroadcastEvent] = []
        search.subscribe(pushed.append)
        await search.wait(5)
        late: list[BroadcastEvent] = []
        search.subscribe(late.append)  # replays the whole log
        streamed = [e async for e in search.stream()]
        assert pushed == late == streamed == search.events
        assert [e.seq for e in pushed] == list(range(1, len(pushed) + 1))
        assert pushed[-1].kind == "done"
        states = [e.status.state for e in pushed if e.kind == "status"
                  and e.status and e.status.source == "xylib"]
        assert states == [State.CONNECTING, State.FETCHING, State.DONE]
        records = [r for e in pushed if e.kind == "records" for r in e.records]
        assert records == search.records and len(records) == 3
        assert search.status("xylib").answered is not None
    finally:
        await engine.aclose()


async def test_a_failing_subscriber_does_not_break_the_search(xylib: ZebraServer) -> None:
    engine = Broadcaster([xy(xylib)], from_raw)
    try:
        search = engine.start("三体")

        def broken(_event: BroadcastEvent) -> None:
            raise RuntimeError("subscriber bug")

        search.subscribe(broken)
        await search.wait(5)
        assert search.status("xylib").state == State.DONE
    finally:
        await engine.aclose()


# -- circuit breaker ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_allows_one_trial() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=10, max_cooldown=25, clock=clock)
    breaker.failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.retry_in() == 10
    clock.now += 10
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failure()  # the trial failed: twice as long
    assert breaker.state == "open" and breaker.retry_in() == 20
    clock.now += 20
    assert breaker.allow()
    breaker.failure()
    assert breaker.retry_in() == 25  # capped
    clock.now += 25
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.failures == 0 and breaker.allow()


async def test_failing_source_is_skipped_for_a_cooldown_then_retried(xylib: ZebraServer) -> None:
    clock = FakeClock()
    async with Proxy(xylib.address) as flaky:
        flaky.broken = True
        engine = Broadcaster([source("flaky", flaky.address), xy(xylib)], from_raw,
                             breaker_threshold=2, cooldown=60, clock=clock)
        try:
            for _ in range(2):
                search = engine.start("三体")
                await search.wait(3)
                assert search.status("flaky").state == State.FAILED
            assert flaky.connections == 2
            search = engine.start("三体")
            await search.wait(3)
            skipped = search.status("flaky")
            assert skipped.state == State.SKIPPED and skipped.error == "circuit-open"
            assert skipped.retry_in == 60 and flaky.connections == 2  # not even tried
            assert search.status("xylib").state == State.DONE
            assert engine.health()["flaky"]["state"] == "open"
            clock.now += 60
            flaky.broken = False  # the county server is back
            search = engine.start("三体")
            await search.wait(3)
            assert search.status("flaky").state == State.DONE
            assert engine.health()["flaky"] == {"state": "closed", "failures": 0,
                                                "retry_in": 0.0}
        finally:
            await engine.aclose()


async def test_diagnostics_do_not_trip_the_breaker(ztest: str) -> None:
    """A server that says "no such database" is up; skipping it would hide a config bug."""
    wrong_db = source("ztest", f"{ztest}/NoSuchDb", "ZT", record_syntax="usmarc")
    engine = Broadcaster([wrong_db], from_raw, breaker_threshold=1)
    try:
        for _ in range(3):
            search = engine.start("7")
            await search.wait(3)
            status = search.status("ztest")
            assert status.state == State.FAILED and status.error == "diagnostic"
            assert "109" in status.reason or "atabase" in status.reason
    finally:
        await engine.aclose()


async def test_unsearchable_sources_and_fields_fail_cleanly(xylib: ZebraServer) -> None:
    oai = Source(name="oai", library="SXPL", protocol="oaipmh", address="http://127.0.0.1:1/")
    engine = Broadcaster([oai, xy(xylib)], from_raw, breaker_threshold=1)
    try:
        search = engine.start("I242", field="call_number")  # no Bib-1 use attribute
        await search.wait(3)
        assert search.status("oai").error == "unsupported"
        assert search.status("xylib").error == "query"
        assert engine.health()["xylib"]["state"] == "closed"  # our query, not its fault
    finally:
        await engine.aclose()


# -- politeness ------------------------------------------------------------------------


class CountingFactory:
    """Wraps the registry's ``open_connector`` to count connections open at the same
    moment."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.max_active = self.opened = 0

    def __call__(self, src: Source, *, timeout: float | None = None) -> LiveConnector:
        conn = open_connector(src, timeout=timeout)
        with self.lock:
            self.opened += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        counter = self

        class Counted:
            search, fetch = conn.search, conn.fetch

            def close(self) -> None:
                conn.close()
                with counter.lock:
                    counter.active -= 1

        return Counted()


@pytest.mark.parametrize("limit", [1, 2])
async def test_concurrency_per_source_is_limited(xylib: ZebraServer, limit: int) -> None:
    counting = CountingFactory()
    async with Proxy(xylib.address, delay=0.1) as county:
        engine = Broadcaster([source("county", county.address, max_concurrent=limit)],
                             from_raw, connector_factory=counting)
        try:
            searches = [engine.start("三体", deadline=3) for _ in range(4)]
            await asyncio.gather(*(s.wait(5) for s in searches))
            assert all(s.status("county").state == State.DONE for s in searches)
            assert counting.opened == 4 and counting.max_active == limit
        finally:
            await engine.aclose()


async def test_slot_is_held_until_a_hung_thread_really_ends() -> None:
    """Two searches, one slot, a hanging server: the second never opens a connection."""
    with hanging_server() as hang:
        engine = Broadcaster([source("county", hang, max_concurrent=1)], from_raw,
                             breaker_threshold=10)
        try:
            first = engine.start("三体", deadline=1.0)
            second = engine.start("三体", deadline=1.0)
            await asyncio.gather(first.wait(3), second.wait(3))
            assert first.status("county").error == "timeout"
            busy = second.status("county")
            assert busy.state == State.TIMEOUT and busy.error == "busy"
            assert engine.breakers["county"].failures == 1  # waiting is not the server's fault
            assert await engine.idle(3)
        finally:
            await engine.aclose()


# -- lifetime: cancel, close, leaks ------------------------------------------------------


async def test_cancel_settles_every_target(xylib: ZebraServer) -> None:
    with hanging_server() as hang:
        engine = Broadcaster([xy(xylib), source("hanging", hang)], from_raw)
        try:
            search = engine.start("三体", deadline=1.0)
            await asyncio.sleep(0.3)
            search.cancel()
            await search.wait(0.5)
            assert search.status("xylib").state == State.DONE
            assert search.status("hanging").state == State.CANCELLED
            assert search.events[-1].kind == "done"
            assert await engine.idle(3)  # ZOOM's timeout (the deadline) bounds the thread
        finally:
            await engine.aclose()
        assert engine.pool.threads == 0


def test_worker_pool_reuses_threads_for_sequential_jobs() -> None:
    pool = WorkerPool(8, name="test-pool")
    try:
        for i in range(50):
            assert pool.submit(lambda i=i: i * 2).result(timeout=2) == i * 2
        assert pool.threads == 1
        boom = pool.submit(lambda: 1 // 0)
        with pytest.raises(ZeroDivisionError):
            boom.result(timeout=2)
        gate = threading.Event()
        running = [pool.submit(gate.wait) for _ in range(8)]
        queued = pool.submit(lambda: "queued")
        assert pool.threads == 8 and not queued.done()
        gate.set()
        assert queued.result(timeout=2) == "queued" and all(f.result(2) for f in running)
    finally:
        pool.shutdown()


def test_deadline_and_politeness_come_from_the_source() -> None:
    plain = parse({"libraries": [{"code": "L", "name": "馆", "region": "r", "level": "county"}],
                   "sources": [{"name": "a", "library": "L", "protocol": "z3950",
                                "address": "h:1/D", "mode": "live"},
                               {"name": "b", "library": "L", "protocol": "z3950",
                                "address": "h:1/D", "mode": "live", "deadline": 8,
                                "max_concurrent": 1}]}, Path("c.yaml"))
    assert deadline_for(plain.source("a")) == 5.0  # not the harvest's 10 s timeout
    assert deadline_for(plain.source("b")) == 8
    assert max_concurrent_for(plain.source("a")) == 2
    assert max_concurrent_for(plain.source("b")) == 1


async def test_no_fd_or_thread_leak_after_1000_searches(xylib: ZebraServer,
                                                        smlib: ZebraServer) -> None:
    """fds and threads after 1,000 searches = after 10 (success and refusal paths)."""
    sources = [xy(xylib), sm(smlib), source("refused", f"127.0.0.1:{free_port()}/Default")]
    engine = Broadcaster(sources, from_raw, max_records=2, breaker_threshold=10**9)

    async def run(n: int) -> None:
        for _ in range(n):
            search = engine.start("三体")
            await search.wait(5)
            assert search.status("xylib").state == State.DONE
            assert search.status("refused").state == State.FAILED

    try:
        await run(10)
        assert await engine.idle(3)
        fds, threads = open_fds(), threading.active_count()
        await run(990)
        assert await engine.idle(3)
        assert (open_fds(), threading.active_count()) == (fds, threads)
    finally:
        await engine.aclose()
