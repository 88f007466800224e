"""Shared test helpers: where the real data lives, and skipping cleanly without it; and a
small world — config, record store, tantivy index — with the real portal app over it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.config import Config, parse
from core.model import Record
from harvest.pipeline import rebuild_index
from harvest.store import RecordStore
from index.documents import cluster_document
from index.tantivy_backend import TantivyBackend
from portal.app import create_app

# ../shared/data beside the repository; TONGJIAN_SHARED_DATA points elsewhere (mutation
# runs work in a copy of the tree: bench/mutation.py)
SHARED_DATA = Path(os.environ.get("TONGJIAN_SHARED_DATA")
                   or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def shared_data(relative: str = "") -> Path:
    """Path into ../shared/data; skips the calling test when the folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real test data not present: {path} (../shared/data beside the repo)")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_data()


def free_port() -> int:
    """A loopback port that was free a moment ago (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_ztest(*options: str) -> Iterator[str]:
    """yaz-ztest (with its command-line `options`) on a free loopback port, ready for
    connections: "host:port"; stopped on exit."""
    exe = shutil.which("yaz-ztest")
    if exe is None:
        pytest.skip("yaz-ztest (package yaz) is not installed")
    port = free_port()
    proc = subprocess.Popen([exe, *options, f"tcp:127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def ztest() -> Iterator[str]:
    """yaz-ztest, YAZ's own test server (a second server implementation): "host:port"."""
    with running_ztest() as address:
        yield address


class HangServer:
    """Accepts TCP connections and never says a word — a member server that hangs."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


CHROMIUM = Path("/usr/bin/chromium")
# Flags this machine needs: no sandbox as root, and no calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
async def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`: no downloads).
    `./run test` installs it; without it the browser tests skip, saying so."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; ./run test "
                    "installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


AXE = Path(__file__).parent / "axe" / "axe.min.js"  # axe-core from npm, tests/axe/README.md


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on a Playwright page as it is now (the
    page's context needs bypass_csp=True: the portal's CSP rightly refuses injected code)."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, "
                                 "{resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"],
             "nodes": [n["html"][:160] for n in v["nodes"][:3]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


# -- a small world: config, store, index, app ----------------------------------------------


#: One library with one (never contacted) Z39.50 source: enough for a search page's tests.
ONE_LIBRARY: dict[str, Any] = {
    "consortium": {"name": "测试联合目录"},
    "libraries": [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                   "level": "province"}],
    "sources": [{"name": "sxpl", "library": "SXPL", "protocol": "z3950",
                 "address": "127.0.0.1:21001/Default"}],
}

#: Two libraries in two regions, each with a (never contacted) Z39.50 source: the smallest
#: consortium the union catalogue's outward services (OAI-PMH, SRU, lineage) can show.
TWO_LIBRARIES: dict[str, Any] = {
    "consortium": {"name": "测试联合目录"},
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
    ],
    "sources": [
        {"name": "sx", "library": "SXPL", "protocol": "z3950", "address": "127.0.0.1:1/D"},
        {"name": "xy", "library": "XYLIB", "protocol": "z3950", "address": "127.0.0.1:2/D"},
    ],
}


@dataclass
class World:
    """What the portal runs on, in a test's tmp folder: the real store and the real
    (in-memory) tantivy index, never a mock of the engine."""

    config: Config
    store: RecordStore
    backend: TantivyBackend

    def app(self, **options: Any) -> web.Application:
        """The real app over this world.  `options` go to `create_app` (scheduler=,
        availability=); `backend=` puts another engine in the index's place."""
        backend = options.pop("backend", self.backend)
        return create_app(self.config, self.store, backend, **options)

    def close(self) -> None:
        self.backend.close()
        self.store.close()


Clusters = Mapping[str, Sequence[Record]]


def build_world(tmp_path: Path, config: Mapping[str, Any] | Config,
                clusters: Clusters | None = None, *, records: Sequence[Record] = (),
                run: str | None = None, raw: bytes = b"raw") -> World:
    """A world holding the test's own records.  `clusters` (entry id → records) are entries
    as the test states them; `records` are merged by the harvest's own matcher, as a
    harvest would.  With `run`, the records arrive in one finished harvest run of that
    name, so they have a harvest time (the "as of" of harvested statuses).  A config given
    as a dict is read as if from tmp_path/config.yaml, so the store (and the covers cache
    beside it) land in tmp_path unless it says otherwise."""
    clusters = clusters or {}
    if not isinstance(config, Config):
        config = parse(dict(config), tmp_path / "config.yaml")
    store = RecordStore(config.resolve(config.store_path))
    backend = TantivyBackend(None)
    harvest = store.start_harvest(run) if run is not None else None
    for entry_id, members in clusters.items():
        for record in members:
            store.put(record, raw, "test", run=harvest)
        store.set_clusters([(r.key, entry_id) for r in members])
    for record in records:
        store.put(record, raw, "test", run=harvest)
    if harvest is not None:
        store.finish_harvest(harvest, {}, None)
    store.commit()
    if records:
        rebuild_index(store, backend, config, show_progress=False)
    elif clusters:
        backend.add(cluster_document(cid, list(recs), config.libraries)
                    for cid, recs in clusters.items())
        backend.commit()
    return World(config, store, backend)


MakeWorld = Callable[..., World]
Serve = Callable[[web.Application], Awaitable[TestClient]]
MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[MakeWorld]:
    """`make_world(config, clusters, records=…, run=…)`: `build_world` in this test's tmp
    folder, closed at teardown.  A test module defines its `world` fixture with it."""
    worlds: list[World] = []

    def make(config: Mapping[str, Any] | Config, clusters: Clusters | None = None,
             **options: Any) -> World:
        worlds.append(build_world(tmp_path, config, clusters, **options))
        return worlds[-1]

    yield make
    for world in worlds:
        world.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """A started test client for an app; every one closed at teardown, even when a test
    fails half-way."""
    clients: list[TestClient] = []

    async def start(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
def make_client(world: World, serve: Serve) -> MakeClient:
    """Clients of the app over the test module's `world`, with `create_app`'s options."""

    async def make(**options: Any) -> TestClient:
        return await serve(world.app(**options))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    """The app over the test module's `world`, as it is made for `tongjian serve`."""
    return await make_client()


# -- a run without the real data must say so ------------------------------------------------

_NO_SHARED = "real test data not present"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Count the skipped tests by reason at the end of every run, and say loudly when the
    real data of ../shared is missing: a green run without it is not the full suite."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(_NO_SHARED):
            reason = f"{_NO_SHARED}: {SHARED_DATA} is missing"
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section(f"{len(skipped)} tests skipped", sep="=", yellow=True)
    missing = reasons.get(f"{_NO_SHARED}: {SHARED_DATA} is missing", 0)
    if missing:
        terminalreporter.write_line(
            f"{missing} TESTS SKIPPED because the real data ({SHARED_DATA}, ../shared/data "
            "beside the repository) is missing: this run is NOT the full suite", red=True,
            bold=True)
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{n:5}  {reason}")
