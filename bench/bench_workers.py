"""Portal processes benchmark: `tongjian serve --workers N` against one process, same run.

    python bench/bench_ingest.py --records 1000000 --skip-floors --keep    # store + index
    python bench/bench_workers.py --work /tmp/tongjian-bench/work-1000000 --workers 1 2 4

For each N in turn, over the same kept store and index: the portal as N processes
(`tongjian.workers`, ports P … P+N-1), 20 clients pinned to workers by client number as
nginx's `hash $binary_remote_addr` pins readers, bench_search's query mix, the same
duration.  Printed per N: throughput, p50/p95, the servers' CPU seconds, and the ratio to
N = 1 measured in this run (the floor).  The clients run on this machine too, and so does
whatever else the machine is doing (reported): on a 2-core box the server processes and
the clients share two cores, so the ratio says how much of the second core a second
process wins, not what a 4- or 8-core server would do.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import ForeignLoad, _children, describe, hwm_kb  # noqa: E402
from bench_search import free_port, pct, query_mix, server_config  # noqa: E402


def _cpu(pid: int) -> float:
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def start(config: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tongjian.cli", "--config", str(config), "serve",
           "--port", str(port), "--no-schedule"]
    if workers > 1:
        cmd[-1:] = ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    waiting = set(range(port, port + workers))
    while waiting and time.monotonic() < deadline:
        for p in list(waiting):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    waiting.discard(p)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}"
                             if proc.stderr else "server exited")
        time.sleep(0.2)
    if waiting:
        proc.kill()
        raise SystemExit("the workers did not start within 300 s")
    return proc


async def pinned_load(ports: list[int], mix: list[tuple[str, dict[str, Any]]], clients: int,
                      duration: float, warmup: float) -> list[tuple[str, float, int, int]]:
    """bench_search's clients, client i talking to worker i mod N (a pinned reader)."""
    from bench_search import load

    per: dict[int, int] = {}
    for i in range(clients):
        per[ports[i % len(ports)]] = per.get(ports[i % len(ports)], 0) + 1
    runs = [load(f"http://127.0.0.1:{port}", mix[k::len(per)], n, duration, warmup)
            for k, (port, n) in enumerate(per.items())]
    results: list[tuple[str, float, int, int]] = []
    for part in await asyncio.gather(*runs):
        results += part
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--cache-entries", type=int, default=0,
                        help="the servers' search cache (default 0: every request searches)")
    args = parser.parse_args(argv)
    print("# python bench/bench_workers.py " + " ".join(argv or sys.argv[1:]))
    print(f"machine: {describe()}")
    mix = query_mix(args.work / "store.db")
    config = server_config(args.work, args.cache_entries)
    floor = 0.0
    for n in args.workers:
        port = free_port()
        while any(socket.socket().connect_ex(("127.0.0.1", port + i)) == 0 for i in range(n)):
            port = free_port()
        proc = start(config, port, n)
        try:
            pids = _tree(proc.pid)
            cpu0 = sum(_cpu(p) for p in pids)
            with ForeignLoad() as foreign:
                t0 = time.monotonic()
                results = asyncio.run(pinned_load(list(range(port, port + n)), mix,
                                                  args.clients, args.duration, args.warmup))
                elapsed = time.monotonic() - t0 - args.warmup
                cpu = sum(_cpu(p) for p in pids) - cpu0
            foreign.exclude(cpu)
            peak = sum(hwm_kb(p) for p in pids)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        ok = [r[1] * 1000 for r in results if r[2] == 200]
        rate = len(results) / elapsed
        floor = floor or rate
        print(f"workers {n}: {rate:,.0f} requests/s ({len(results):,}, "
              f"{len(results) - len(ok)} errors), p50 {pct(ok, 50):.1f} ms, "
              f"p95 {pct(ok, 95):.1f} ms; servers' CPU {cpu:.0f} s in "
              f"{elapsed + args.warmup:.0f} s, RSS peaks summed {peak / 1024:,.0f} MB; "
              f"ratio to the first {rate / floor:.2f}  [{foreign.line()}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
