"""Broadcast search over 50 real targets on loopback: how soon, how settled, how much faster.

Run:  python bench/bench_broadcast.py [--profile lan|wan] [--deadline 5] [--runs 5]

Targets: 48 Zebra servers, each over a slice of one of the three demo exports (GB18030 and
UTF-8 CNMARC, MARC 21), one server that accepts and never answers, one refused port.
Delays are added by a TCP proxy in a separate process (so its work does not share this
process's interpreter), holding back every server response by the target's delay:

* ``lan``  — the brief's mix: 40 Zebras answer directly, 8 are slow (0.4–1.2 s per response,
  i.e. 1.2–3.6 s for Init + Search + Present).
* ``wan``  — as a province looks from the portal: every Zebra pays a network/server delay
  (40 at 0.1–0.9 s per response, 8 slow at 1.0–1.3 s), still all inside the deadline.

Reported, per profile: time to the first live records (engine) and to the first ``hits``
server-sent event (portal, what a reader's page receives), each against the fastest
target's answer; time until every answering target is done; time until all 50 are settled
(the hanging one at its deadline); the same 50 queried one after another with the same
deadline; fds and threads before, during and after.  The circuit breaker is set not to
trip, so every run pays for the hanging and the refusing target (the worst case).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from connectors.broadcast import Broadcaster, LiveSearch, State  # noqa: E402
from core.config import Config, parse  # noqa: E402
from harvest.crosswalk import from_raw  # noqa: E402
from harvest.store import RecordStore  # noqa: E402
from index.backend import SearchRequest  # noqa: E402
from index.tantivy_backend import TantivyBackend  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.live import LIVE  # noqa: E402
from tongjian.zebra import RecordFile, ZebraServer  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
EXPORTS = (  # file, Zebra flavour, charset, record_syntax, format
    ("SXPL.cnmarc.utf8.iso", "unimarc", "utf-8", "unimarc", "cnmarc"),
    ("XYLIB.cnmarc.gb18030.iso", "unimarc", "gb18030", "unimarc", "cnmarc"),
    ("SMLIB.marc21.utf8.mrc", "marc21", "utf-8", "usmarc", "marc21"),
)
ZEBRAS = 48
SLOW = 8
QUERY = "中国"


# -- the delaying proxy (runs as a child process) --------------------------------------


async def _serve_proxies(spec: list[dict[str, Any]]) -> None:
    """One listener per entry: forward to ``upstream`` holding each response ``delay`` s;
    ``hang`` entries accept and never answer.  Prints the ports as one JSON line."""

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
        try:
            while data := await src.read(65536):
                if delay:
                    await asyncio.sleep(delay)
                dst.write(data)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    def handler(entry: dict[str, Any]) -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if entry.get("hang"):
                await reader.read()  # until the client gives up
                writer.close()
                return
            try:
                up_r, up_w = await asyncio.open_connection("127.0.0.1", entry["upstream"])
            except OSError:
                writer.close()
                return
            await asyncio.gather(pump(reader, up_w, 0.0), pump(up_r, writer, entry["delay"]))
        return handle

    servers = [await asyncio.start_server(handler(e), "127.0.0.1", 0, backlog=256)
               for e in spec]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.Event().wait()


class ProxyProcess:
    def __init__(self, spec: list[dict[str, Any]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-proxies"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.close()
        self.ports: list[int] = json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


# -- the consortium --------------------------------------------------------------------


def _slices(work: Path) -> list[tuple[RecordFile, tuple[str, ...]]]:
    """48 record files: 16 slices of each export, each a small member library."""
    out = []
    per_file = ZEBRAS // len(EXPORTS)
    for name, flavour, charset, syntax, fmt in EXPORTS:
        records = [c + b"\x1d" for c in (DEMO / name).read_bytes().split(b"\x1d") if c.strip()]
        for k in range(per_file):
            part = records[k * len(records) // per_file:(k + 1) * len(records) // per_file]
            path = work / f"{Path(name).stem}-{k:02d}.iso"
            path.write_bytes(b"".join(part))
            out.append((RecordFile(path, charset), (flavour, syntax, fmt, charset)))
    return out


def start_zebras(work: Path) -> tuple[list[ZebraServer], list[tuple[str, ...]]]:
    slices = _slices(work)
    servers = [ZebraServer(work / f"z{i:02d}", info[0], [rf])  # type: ignore[arg-type]
               for i, (rf, info) in enumerate(slices)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda s: s.start(), servers))
    return servers, [info for _, info in slices]


def delays(profile: str, rng: random.Random) -> list[float]:
    """Per-response delay of each Zebra target; the last SLOW ones are the slow ones."""
    if profile == "lan":
        normal = [0.0] * (ZEBRAS - SLOW)
        slow = [rng.uniform(0.4, 1.2) for _ in range(SLOW)]
    else:
        normal = [rng.uniform(0.1, 0.9) for _ in range(ZEBRAS - SLOW)]
        slow = [rng.uniform(1.0, 1.3) for _ in range(SLOW)]
    return normal + slow


def build_config(work: Path, addresses: list[str], infos: list[tuple[str, ...]],
                 hang: str, refused: str, deadline: float) -> Config:
    libraries, sources = [], []
    for i in range(ZEBRAS + 2):
        code = f"L{i:02d}"
        libraries.append({"code": code, "name": f"第{i:02d}县图书馆", "region": "测试市",
                          "level": "county"})
    for i, (address, info) in enumerate(zip(addresses, infos, strict=True)):
        _, syntax, fmt, charset = info
        sources.append({"name": f"z{i:02d}", "library": f"L{i:02d}", "protocol": "z3950",
                        "address": address, "mode": "live", "timeout": deadline,
                        "record_syntax": syntax, "format": fmt, "encoding": charset})
    for name, address, i in (("hanging", hang, ZEBRAS), ("refused", refused, ZEBRAS + 1)):
        sources.append({"name": name, "library": f"L{i:02d}", "protocol": "z3950",
                        "address": address, "mode": "live", "timeout": deadline})
    raw = {"libraries": libraries, "sources": sources,
           "store": {"path": str(work / "store.db")}}
    return parse(raw, work / "config.yaml")


# -- measuring -------------------------------------------------------------------------


def resources() -> tuple[int, int]:
    return len(os.listdir("/proc/self/fd")), threading.active_count()


def figures(search: LiveSearch, settled: float) -> dict[str, float]:
    answered = [s.answered for s in search.statuses if s.answered is not None]
    done = [s.elapsed for s in search.statuses if s.state == State.DONE]
    first_records = next(e.status.elapsed for e in search.events
                         if e.kind == "records" and e.status is not None)
    return {"fastest_answer": min(answered), "first_records": first_records,
            "all_answered": max(done), "settled": settled,
            "done": len(done)}


async def concurrent_runs(engine: Broadcaster, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        started = time.monotonic()
        search = engine.start(QUERY)
        await search.wait(60)
        out.append(figures(search, time.monotonic() - started))
        await engine.idle(10)
    return out


async def sequential_run(config: Config) -> float:
    """The same sources, one after another, same deadline: a client without broadcast."""
    total = 0.0
    for source in [s for s in config.sources if s.mode == "live"]:
        engine = Broadcaster([source], from_raw, breaker_threshold=10**9)
        try:
            started = time.monotonic()
            search = engine.start(QUERY)
            await search.wait(60)
            total += time.monotonic() - started
        finally:
            await engine.aclose()
    return total


async def portal_run(config: Config, engine: Broadcaster,
                     work: Path) -> dict[str, float]:
    """One search through the HTTP API: when does the reader's page get the first hits?"""
    store = RecordStore(work / "portal.db")
    backend = TantivyBackend(None)  # an empty index: every live hit is a new hit
    # The reader's page has already searched the index: jieba's dictionary (~1 s to load
    # on the first query of a process) is warm when live.js starts the live search.
    backend.search(SearchRequest(q=QUERY))
    client = TestClient(TestServer(create_app(config, store, backend)))
    await client.start_server()
    try:
        registry = client.app[LIVE]
        registry.broadcaster, original = engine, registry.broadcaster
        await original.aclose()
        started = time.monotonic()
        created = await (await client.post("/api/live-searches", json={"q": QUERY})).json()
        first_hits = None
        resp = await client.get(created["links"]["events"])
        async for line in resp.content:
            if line.startswith(b"event: hits") and first_hits is None:
                first_hits = time.monotonic() - started
            if line.startswith(b"event: done"):
                break
        settled = time.monotonic() - started
        session = registry.sessions[created["id"]]
        assert session.search is not None
        answered = min(s.answered for s in session.search.statuses if s.answered is not None)
        return {"first_hits": first_hits or float("nan"), "fastest_answer": answered,
                "settled": settled}
    finally:
        registry.broadcaster = original  # the shared engine is closed by the caller
        await client.close()
        backend.close()
        store.close()


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


async def bench(profile: str, deadline: float, runs: int, work: Path,
                servers: list[ZebraServer], infos: list[tuple[str, ...]]) -> dict[str, Any]:
    rng = random.Random(20240611)  # noqa: S311 - reproducible delays, not secrets
    per_target = delays(profile, rng)
    spec: list[dict[str, Any]] = [{"upstream": s.port, "delay": d}
                                  for s, d in zip(servers, per_target, strict=True) if d]
    spec.append({"hang": True})
    proxies = ProxyProcess(spec)
    try:
        ports = iter(proxies.ports)
        addresses = [f"127.0.0.1:{next(ports)}/Default" if d else s.address
                     for s, d in zip(servers, per_target, strict=True)]
        hang = f"127.0.0.1:{next(ports)}/Default"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            refused = f"127.0.0.1:{s.getsockname()[1]}/Default"
        config = build_config(work / profile, addresses, infos, hang, refused, deadline)
        live = [s for s in config.sources if s.mode == "live"]
        before = resources()
        engine = Broadcaster(live, from_raw, breaker_threshold=10**9)
        rows = await concurrent_runs(engine, 1)
        after_first = resources()
        rows += await concurrent_runs(engine, runs - 1)
        after_runs = resources()
        portal = await portal_run(config, engine, work / profile)
        await engine.aclose()
        after_close = resources()
        sequential = await sequential_run(config)
    finally:
        proxies.stop()
    return {"profile": profile, "delays": per_target, "rows": rows, "portal": portal,
            "sequential": sequential, "before": before, "after_first": after_first,
            "after_runs": after_runs, "after_close": after_close}


def report(r: dict[str, Any], deadline: float, runs: int) -> None:
    rows = r["rows"]
    ms = 1000.0
    first_gap = _median(rows, "first_records") - _median(rows, "fastest_answer")
    portal_gap = r["portal"]["first_hits"] - r["portal"]["fastest_answer"]
    settled = max(x["settled"] for x in rows)
    answered = _median(rows, "all_answered")
    delays_ = [d for d in r["delays"] if d]
    print(f"\n== profile {r['profile']}: {ZEBRAS} Zebra ({ZEBRAS - len(delays_)} direct, "
          f"{len(delays_)} delayed {min(delays_, default=0):.2f}–{max(delays_, default=0):.2f}"
          f" s per response), 1 hanging, 1 refusing; deadline {deadline:g} s; "
          f"query {QUERY!r}; {runs} runs (median)")
    print(f"  fastest target answered     {_median(rows, 'fastest_answer') * ms:8.0f} ms")
    print(f"  first live records (engine) {_median(rows, 'first_records') * ms:8.0f} ms  "
          f"(+{first_gap * ms:.0f} ms after the fastest answer)")
    print(f"  first hits event (portal)   {r['portal']['first_hits'] * ms:8.0f} ms  "
          f"(+{portal_gap * ms:.0f} ms after the fastest answer)")
    print(f"  targets done                {rows[0]['done']:8.0f}  of {ZEBRAS + 2}")
    print(f"  all answering targets done  {answered * ms:8.0f} ms")
    print(f"  all 50 settled              {_median(rows, 'settled') * ms:8.0f} ms  "
          f"(worst run {settled * ms:.0f} ms)")
    print(f"  one after another           {r['sequential'] * ms:8.0f} ms")
    print(f"  speed-up: {r['sequential'] / _median(rows, 'settled'):.1f}× (settled)  "
          f"{r['sequential'] / answered:.1f}× (all answered)")
    print(f"  fds/threads: before {r['before']}, after 1 search {r['after_first']}, "
          f"after {runs} {r['after_runs']}, after close {r['after_close']}")
    goals = [
        ("first hits within 300 ms of the fastest answer", max(first_gap, portal_gap) <= 0.3),
        ("everything settled by the deadline (+100 ms)", settled <= deadline + 0.1),
        ("at least 20× faster than sequential (settled)",
         r["sequential"] / _median(rows, "settled") >= 20),
        ("same fds and threads after 1 and after all runs", r["after_first"] == r["after_runs"]),
    ]
    for name, ok in goals:
        print(f"  [{'met' if ok else 'MISSED'}] {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=("lan", "wan", "both"), default="both")
    parser.add_argument("--deadline", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve-proxies", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxies:
        asyncio.run(_serve_proxies(json.loads(sys.stdin.readline())))
        return 0
    print(f"command: python bench/bench_broadcast.py --profile {args.profile} "
          f"--deadline {args.deadline:g} --runs {args.runs}; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        servers, infos = start_zebras(work)
        print(f"{len(servers)} Zebra servers started in {time.monotonic() - started:.1f} s")
        try:
            profiles = ("lan", "wan") if args.profile == "both" else (args.profile,)
            for profile in profiles:
                (work / profile).mkdir()
                result = asyncio.run(bench(profile, args.deadline, max(1, args.runs), work,
                                           servers, infos))
                report(result, args.deadline, max(1, args.runs))
        finally:
            for server in servers:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
