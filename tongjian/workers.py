"""`tongjian serve --workers N`: the portal as N processes over one store and one index.

Python serves one request's Python work at a time per process (the GIL), so a busy portal
runs several processes, each a complete `tongjian serve` on its own port (port, port+1,
…), behind nginx (`deploy/nginx-tongjian-workers.conf`).  What they share and how:

* **The record store**: SQLite in WAL mode, opened by each process; readers never block
  each other, and the one writer (harvests) does not block readers.
* **The index**: each process opens the same index directory read-mostly.  Only worker 0
  runs the harvest schedules, so only it writes the index (tantivy allows one writer per
  directory; a separate `tongjian harvest` from cron is a writer too, one at a time).  A
  worker's searcher reloads when the index's `meta.json` changes — tantivy rewrites it on
  every commit — so a commit by any process is seen by every worker at its next search;
  with Meilisearch the server is shared and there is nothing to reload.  The parent
  checks the index format marker and rebuilds a stale index *before* any worker starts,
  so N workers never race to rebuild it.
* **State that lives in one process** — a running live search (its connections to member
  servers and the events it streams), an ILL lookup job, the live catalogue's 30-minute
  memory of live holdings, admin sessions — is **pinned per client**, not shared: the
  proxy sends every request of one client address to the same worker (`hash
  $binary_remote_addr consistent`), and /admin always to worker 0, which runs the
  scheduler.  Sharing them would mean moving running searches between processes or a
  broker between them; pinning keeps each where it runs, and a reader's follow-up
  requests (events, the next page, the CSV of an ILL job) reach it.

The parent only starts, watches and stops: a worker that dies is started again (after a
second, so a worker that cannot start does not spin), and Ctrl-C or SIGTERM stops all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from core.config import Config


def worker_command(config: Config, host: str, port: int, index: int,
                   schedule: bool = True) -> list[str]:
    """Worker `index`'s command line: only worker 0 may run the harvest schedules."""
    cmd = [sys.executable, "-m", "tongjian.cli", "--config", str(config.path), "serve",
           "--host", host, "--port", str(port + index)]
    return cmd if index == 0 and schedule else [*cmd, "--no-schedule"]


def upstream_block(host: str, port: int, workers: int) -> str:
    """The nginx upstream that pins each client to one worker (printed at start)."""
    servers = "\n".join(f"    server {host}:{port + i};" for i in range(workers))
    return f"upstream tongjian {{\n    hash $binary_remote_addr consistent;\n{servers}\n}}"


def run_workers(config: Config, host: str, port: int, workers: int,
                schedule: bool = True, poll: float = 0.5) -> int:
    """Start `workers` portal processes on port … port+workers-1 and keep them running."""
    procs: dict[int, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, stop)
    root = Path(__file__).resolve().parents[1]
    harvests = "worker 0 runs the harvest schedules" if schedule else "no harvest schedules"
    print(f"portal: {workers} workers on {host}:{port}–{port + workers - 1}; {harvests}. "
          f"Put them behind nginx with:\n"
          f"{upstream_block(host, port, workers)}", flush=True)
    try:
        for i in range(workers):
            procs[i] = subprocess.Popen(worker_command(config, host, port, i, schedule), cwd=root)
        while not stopping:
            time.sleep(poll)
            for i, proc in list(procs.items()):
                code = proc.poll()
                if code is not None and not stopping:
                    print(f"portal: worker {i} (port {port + i}) exited with {code}; "
                          "starting it again", file=sys.stderr, flush=True)
                    time.sleep(1.0)
                    procs[i] = subprocess.Popen(worker_command(config, host, port, i, schedule),
                                                cwd=root)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0
