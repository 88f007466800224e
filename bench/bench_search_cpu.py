"""CPU per search request, in process: the portal's query path without HTTP or clients.

    python bench/bench_search_cpu.py --work /tmp/tongjian-bench/work-100000
    python bench/bench_search_cpu.py --work … --profile 25        # where the time goes
    python bench/bench_search_cpu.py --work … --dump responses.jsonl   # for comparing
                                                                       # two versions

On a shared machine, throughput and latency say more about the neighbours than about
the code; the CPU a request costs does not.  This runs the first `--requests` requests
of `bench_search.py`'s mix (same seed, so the same requests for the same store) through
what `/api/search` does between parsing and sending — `parse_params`, `run_search` with
the live catalogue joined, and the response encoding — on one thread, with the engine's
cache off unless asked, and prints the process's CPU milliseconds per request, overall
and per kind of query, beside the wall-clock p50/p95.  `--dump` writes every response
(orjson, keys sorted) one per line, so the responses of two versions of the code over
the same index can be compared byte for byte (`cmp`).

`--http C` sends the same requests to `tongjian serve` instead (a subprocess over the
same work directory, `C` clients at a time) and prints the server's CPU per request —
the whole HTTP path (aiohttp, middlewares, the hand-off to the search pool, the JSON) —
and how it splits between the event loop's thread and the others (the search pool).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import free_port, kept_mix, pct, server_config, start_server  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True,
                        help="a bench_ingest --keep work directory (store, index, config)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200,
                        help="requests run first and not counted (caches of the analyser)")
    parser.add_argument("--cache-entries", type=int, default=0,
                        help="the engine's search cache (default 0: every request "
                        "counts, facets and ranks anew)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="run under cProfile and print the N costliest functions")
    parser.add_argument("--dump", type=Path, help="write every response here, one a line")
    parser.add_argument("--http", type=int, default=0, metavar="C",
                        help="through `tongjian serve` with C concurrent clients instead")
    parser.add_argument("--mix", type=Path, metavar="FILE",
                        help="the mix kept by bench_search.py --mix (its first requests)")
    args = parser.parse_args(argv)
    if args.http:
        return over_http(args, argv)

    import orjson

    from core.config import load as load_config
    from index.tantivy_backend import TantivyBackend
    from portal.live_catalogue import LiveCatalogue
    from portal.query import parse_params, run_search

    config = load_config(args.work / "config.yaml")
    backend = TantivyBackend(config.resolve(config.index.path),
                             cache_entries=args.cache_entries)
    live = LiveCatalogue().entries_with_live
    mix = kept_mix(args.mix, args.work / "store.db", n=args.warmup + args.requests)
    pairs = [[(k, str(v)) for k, v in params.items()] for _, params in mix]

    def one(i: int) -> bytes:
        data = run_search(backend, parse_params(pairs[i]), config.libraries, live)
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)

    for i in range(args.warmup):
        one(i)
    dump = args.dump.open("wb") if args.dump else None
    # CPU time, not wall time: on a shared machine a profile of wall time shows the
    # neighbours (a call is charged for the time the process waited for a core).
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    cpu_by_kind: dict[str, list[float]] = {}
    wall: list[float] = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for i in range(args.warmup, len(mix)):
        c, t = time.thread_time(), time.perf_counter()
        body = one(i)
        wall.append((time.perf_counter() - t) * 1000)
        cpu_by_kind.setdefault(mix[i][0], []).append((time.thread_time() - c) * 1000)
        if dump is not None:
            dump.write(orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) + b"\n")
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - cpu0
    elapsed = time.perf_counter() - t0
    if dump is not None:
        dump.close()
    backend.close()
    n = args.requests
    print(f"# python bench/bench_search_cpu.py {' '.join(argv or sys.argv[1:])}")
    print(f"{n:,} requests in {elapsed:.1f} s: CPU {cpu / n * 1000:.2f} ms per request "
          f"(process), wall p50 {pct(wall, 50):.2f} p95 {pct(wall, 95):.2f} ms")
    for kind, values in sorted(cpu_by_kind.items()):
        print(f"  {kind:<14} n={len(values):>5}  CPU mean {statistics.fmean(values):6.2f} ms")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return 0


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of a process, by thread id."""
    import os

    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def over_http(args: argparse.Namespace, argv: list[str] | None) -> int:
    """The same requests through the portal's HTTP API; the server's CPU per request."""
    import asyncio
    from urllib.parse import urlencode

    import aiohttp
    import orjson

    mix = kept_mix(args.mix, args.work / "store.db", n=args.warmup + args.requests)
    port = free_port()
    server = start_server(server_config(args.work, args.cache_entries), port)
    base = f"http://127.0.0.1:{port}/api/search?"
    urls = [base + urlencode(params) for _, params in mix]
    bodies: dict[int, bytes] = {}

    async def run(first: int, last: int) -> None:
        queue = iter(range(first, last))

        async def client(session: aiohttp.ClientSession) -> None:
            for i in queue:
                async with session.get(urls[i]) as resp:
                    bodies[i] = await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"{resp.status} for {urls[i]}")

        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.http)) as session:
            await asyncio.gather(*(client(session) for _ in range(args.http)))

    try:
        asyncio.run(run(0, args.warmup))
        before = _thread_cpu(server.pid)
        t0 = time.perf_counter()
        asyncio.run(run(args.warmup, len(mix)))
        elapsed = time.perf_counter() - t0
        after = _thread_cpu(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = args.requests
    spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    total = sum(spent.values())
    loop = spent.get(server.pid, 0.0)
    print(f"# python bench/bench_search_cpu.py {' '.join(argv or sys.argv[1:])}")
    print(f"{n:,} requests over HTTP, {args.http} clients, in {elapsed:.1f} s: server CPU "
          f"{total / n * 1000:.2f} ms per request (event loop thread "
          f"{loop / n * 1000:.2f}, other threads {(total - loop) / n * 1000:.2f}; "
          f"clock ticks of 10 ms, so ± {len(spent) * 0.01 / n * 1000:.2f})")
    if args.dump:
        with args.dump.open("wb") as out:
            for i in range(args.warmup, len(mix)):
                out.write(orjson.dumps(orjson.loads(bodies[i]), option=orjson.OPT_SORT_KEYS)
                          + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
