"""Search benchmark: the portal's JSON API under 20 concurrent clients, on a fixed query mix.

    python bench/bench_ingest.py --records 1000000 --keep     # builds the store + index
    python bench/bench_search.py --records 1000000            # 60 s, 20 clients

The server is `tongjian serve` itself (a subprocess, over the kept store and index); the
clients are aiohttp tasks in this process, so they share the machine's two cores with the
server — as a load test on one box does.  The query mix is drawn once, with a fixed seed,
from the store's own records: Chinese title words and phrases, authors, ISBNs (some
hyphenated), words with facet filters, facet-only browsing, and deep pages.  Printed:
throughput, p50/p95/p99 latency overall and per kind, errors, the server's peak resident
memory (VmHWM from /proc), and how much CPU other processes took meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import ForeignLoad, describe, hwm_kb, rss_kb  # noqa: E402

# kind -> share of the distinct queries of the mix
MIX = {
    "word": 0.20,  # one Chinese word from a title
    "phrase": 0.12,  # the first characters of a title, several words
    "author": 0.12,  # field=author
    "isbn": 0.10,  # ISBN-13, some hyphenated, some ISBN-10
    "word+facets": 0.14,  # a word with one or two facet filters
    "facet-heavy": 0.08,  # a common word or none, with three or four filters
    "browse+facets": 0.06,  # no words, filters only (every document counts)
    "broad": 0.08,  # one common character: a third of the catalogue matches
    "deep page": 0.05,  # page 50 or 250 of a common word
    "pinyin": 0.05,  # toneless pinyin of a title word
}
YEAR_RANGES = ["2020-", "2010-2019", "2000-2009", "1990-1999", "1980-1989", "-1979"]
# One-character queries readers type into a catalogue: each matches a large share of it.
BROAD = ["中", "国", "史", "学", "文", "论", "集", "书", "法", "学", "人", "新", "记", "志"]
#: How the requests repeat: the r-th most popular distinct query is asked ∝ 1/r^ZIPF_S,
#: as in search logs (a few head queries, a long tail asked once).
ZIPF_S = 0.9
DISTINCT = 60_000  # distinct queries the mix draws from


def _hyphenate(isbn: str) -> str:
    return f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12:]}"


def kept_mix(path: Path | None, store: Path, n: int = 100_000
             ) -> list[tuple[str, dict[str, Any]]]:
    """`query_mix(store)`, kept in `path` (JSON) on the first run and read back after: the
    mix is drawn with the version's own text analysis (which words a title has), so two
    versions of the code draw other queries from the same store — to compare them, make
    the mix once and give both the same file."""
    if path is not None and path.exists():
        kept = json.loads(path.read_text(encoding="utf-8"))
        return [(kind, params) for kind, params in kept[:n]]
    mix = query_mix(store, n=n)
    if path is not None:
        path.write_text(json.dumps(mix, ensure_ascii=False), encoding="utf-8")
    return mix


def query_mix(store: Path, n: int = 100_000, seed: int = 7,
              distinct: int = DISTINCT) -> list[tuple[str, dict[str, Any]]]:
    """(kind, query parameters) pairs, always the same for the same store.

    `distinct` different queries are drawn from 20,000 of the store's records (the kinds
    in the shares of `MIX`), then `n` requests: each picks a kind by the shares of `MIX`,
    then one of that kind's queries by popularity — the query of rank r with weight
    1/r^ZIPF_S.  So the head repeats — what a search cache is for — and most of the tail
    is asked once or never, as in a real catalogue's log, while every kind keeps its
    share; the run prints how often a request repeated an earlier one.
    """
    from index import text

    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    total = db.execute("SELECT MAX(rowid) FROM records").fetchone()[0]
    rows = []
    for rowid in sorted(rng.sample(range(1, total + 1), min(20_000, total))):
        row = db.execute("SELECT data, library FROM records WHERE rowid = ?",
                         (rowid,)).fetchone()
        if row:
            rows.append((json.loads(row[0]), row[1]))
    db.close()
    libraries = sorted({lib for _, lib in rows})
    clc = sorted({r["clc_top"] for r, _ in rows if r.get("clc_top")}) or ["I"]
    languages = sorted({r["language"] for r, _ in rows if r.get("language")}) or ["chi"]
    common = ["中国", "研究", "陕西", "历史", "文化", "发展", "经济", "小说", "教育", "西安"]

    def han_words(title: str) -> list[str]:
        return [w for w, _ in text.query_words(title) if len(w) >= 2 and not w.isascii()]

    pool: dict[str, tuple[str, dict[str, Any]]] = {}
    kinds = list(MIX)
    weights = list(MIX.values())
    tries = 0
    while len(pool) < distinct and tries < distinct * 20:
        tries += 1
        kind = rng.choices(kinds, weights=weights)[0]
        record, _ = rng.choice(rows)
        title = record.get("title") or "中国"
        words = han_words(title) or ["中国"]
        params: dict[str, Any]
        if kind == "word":
            params = {"q": rng.choice(words)}
        elif kind == "phrase":
            params = {"q": title[: rng.randint(4, 8)]}
        elif kind == "author":
            names = [a["name"] for a in record.get("authors", []) if a.get("name")]
            params = {"q": rng.choice(names) if names else "鲁迅", "field": "author"}
        elif kind == "isbn":
            isbn = next(iter(record.get("isbn") or []), "9787020002207")
            params = {"q": _hyphenate(isbn) if rng.random() < 0.3 else isbn}
        elif kind == "word+facets":
            params = {"q": rng.choice(words + common), "library": rng.choice(libraries)}
            if rng.random() < 0.5:
                params["year_range"] = rng.choice(YEAR_RANGES)
        elif kind == "facet-heavy":
            params = {"library": rng.choice(libraries), "clc_top": rng.choice(clc),
                      "year_range": rng.choice(YEAR_RANGES)}
            if rng.random() < 0.5:
                params["q"] = rng.choice(common + BROAD)
            if rng.random() < 0.5:
                params["language"] = rng.choice(languages)
        elif kind == "browse+facets":
            params = {"clc_top": rng.choice(clc), "year_range": rng.choice(YEAR_RANGES)}
        elif kind == "broad":
            params = {"q": rng.choice(BROAD)}
            if rng.random() < 0.3:
                params["page"] = rng.randint(2, 5)
        elif kind == "deep page":
            params = {"q": rng.choice(common), "page": rng.choice([50, 250])}
        else:
            pinyin = text.pinyin_tokens(rng.choice(words))
            params = {"q": max(pinyin, key=len) if pinyin else "zhongguo"}
        pool.setdefault(json.dumps(params, sort_keys=True, ensure_ascii=False), (kind, params))
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for kind, params in pool.values():
        by_kind.setdefault(kind, []).append((kind, params))
    popularity = {kind: list(itertools.accumulate(1 / (r + 1) ** ZIPF_S
                                                  for r in range(len(queries))))
                  for kind, queries in by_kind.items()}
    present = [k for k in kinds if k in by_kind]
    out = []
    for kind in rng.choices(present, weights=[MIX[k] for k in present], k=n):
        queries = by_kind[kind]
        out.append(rng.choices(queries, cum_weights=popularity[kind])[0])
    return out


def floor(work: Path, mix: list[tuple[str, dict[str, Any]]], threads: int,
          cache_entries: int | None, duration: float) -> tuple[float, list[float]]:
    """(requests/s, latencies in ms) of the same requests straight on the engine in this
    process: `TantivyBackend.search` (query building, the count-and-facet pass, the ranking
    pass, the page's stored documents) on as many threads as the server's search pool,
    each taking the next request of the mix — no HTTP, no JSON, no portal."""
    import threading

    from core.config import load as load_config
    from index.tantivy_backend import TantivyBackend
    from portal.query import parse_params

    config = load_config(work / "config.yaml")
    size = config.index.cache_entries if cache_entries is None else cache_entries
    backend = TantivyBackend(config.resolve(config.index.path), cache_entries=size)
    requests = [parse_params([(k, str(v)) for k, v in params.items()]) for _, params in mix]
    latencies: list[float] = []
    lock = threading.Lock()
    position = [0]
    stop = time.monotonic() + duration

    def run() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            with lock:
                i = position[0]
                position[0] += 1
            t = time.perf_counter()
            backend.search(requests[i % len(requests)])
            mine.append((time.perf_counter() - t) * 1000)
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    backend.close()
    return len(latencies) / elapsed, latencies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_config(work: Path, cache_entries: int | None) -> Path:
    """The kept config, or a copy beside it (relative paths still resolve) with the
    search cache set to `cache_entries`."""
    config = work / "config.yaml"
    if cache_entries is None:
        return config
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.setdefault("index", {})["cache_entries"] = cache_entries
    copy = work / "config-bench-search.yaml"
    copy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tongjian.cli", "--config", str(config),
           "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise SystemExit(f"server exited: {err}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start within 120 s")


async def load(base: str, mix: list[tuple[str, dict[str, Any]]], clients: int,
               duration: float, warmup: float) -> list[tuple[str, float, int, int]]:
    """Every client runs the mix from its own offset until the time is up; requests that
    start during the warm-up are not counted."""
    import aiohttp

    results: list[tuple[str, float, int, int]] = []  # kind, seconds, status, mix index
    started = time.monotonic()
    counting_from = started + warmup
    stop = counting_from + duration

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        k = i * len(mix) // clients
        while time.monotonic() < stop:
            kind, params = mix[k % len(mix)]
            sent = k % len(mix)
            k += 1
            t = time.monotonic()
            try:
                async with session.get(f"{base}/api/search?{urlencode(params)}") as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError:
                status = -1
            if t >= counting_from:
                results.append((kind, time.monotonic() - t, status, sent))

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    return results


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000,
                        help="which kept bench_ingest work directory to serve")
    parser.add_argument("--work", type=Path, help="store, index and config.yaml "
                        "(default: /tmp/tongjian-bench/work-N from bench_ingest --keep)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--cache-entries", type=int, help="the server's search cache "
                        "(index.cache_entries; 0: every request counts, facets and ranks "
                        "anew); default: the config's")
    parser.add_argument("--mix", type=Path, metavar="FILE",
                        help="keep the mix in FILE, or read it from there if it exists "
                        "(to ask two versions of the code the very same queries)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.gettempdir()) / "tongjian-bench" / f"work-{args.records}"
    if not (work / "store.db").exists():
        raise SystemExit(f"no store in {work}: run bench/bench_ingest.py --records "
                         f"{args.records} --keep first")
    command = "python bench/bench_search.py " + " ".join(argv if argv is not None
                                                         else sys.argv[1:])
    print(f"# {command.strip()}")
    print(f"machine: {describe()}")
    mix = kept_mix(args.mix, work / "store.db")
    threads = os.cpu_count() or 2  # the server's search pool (portal.app: SEARCHERS)
    with ForeignLoad() as foreign:
        floor_rate, floor_lat = floor(work, mix, threads, args.cache_entries,
                                      min(args.duration, 30.0))
    print(f"floor (the same requests on TantivyBackend.search in this process, {threads} "
          f"threads, no HTTP): {floor_rate:,.0f} requests/s, p50 {pct(floor_lat, 50):.1f} "
          f"p95 {pct(floor_lat, 95):.1f} ms  [{foreign.line()}]")
    port = free_port()
    server = start_server(server_config(work, args.cache_entries), port)
    try:
        idle_rss = rss_kb(server.pid)
        start_cpu = _cpu_seconds(server.pid)
        totals = _sanity(f"http://127.0.0.1:{port}", mix[:12])
        with ForeignLoad() as foreign:
            t0 = time.monotonic()
            results = asyncio.run(load(f"http://127.0.0.1:{port}", mix, args.clients,
                                       args.duration, args.warmup))
            elapsed = time.monotonic() - t0 - args.warmup
            server_cpu = _cpu_seconds(server.pid) - start_cpu
        peak = hwm_kb(server.pid)
        foreign.exclude(server_cpu)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = [r for r in results if r[2] == 200]
    asked = len({json.dumps(mix[r[3]][1], sort_keys=True) for r in results})
    errors = len(results) - len(ok)
    latencies = [r[1] * 1000 for r in ok]
    rate = len(results) / elapsed
    print(f"server: tongjian serve over {work} (index {_du(work / 'index') / 1e6:,.0f} MB); "
          f"{args.clients} clients for {args.duration:.0f} s after {args.warmup:.0f} s warm-up; "
          f"{len(set(map(str, mix)))} distinct requests in a mix of {len(mix):,}; "
          f"{_signatures([mix[r[3]] for r in results]):,} distinct counts+facets among "
          f"the {len(results):,} requests counted, {asked:,} "
          "distinct requests")
    print(f"throughput: {rate:,.0f} requests/s ({len(results):,} requests, {errors} errors)  "
          f"[{foreign.line()} — the clients are ours too]")
    repeats = len(results) - asked
    print(f"repeats: {repeats / max(1, len(results)):.0%} of the requests asked a query "
          "asked before in the run")
    print(f"ratio to the floor: {rate / floor_rate:.2f} of its requests/s")
    print(f"latency ms: p50 {pct(latencies, 50):.1f}  p95 {pct(latencies, 95):.1f}  "
          f"p99 {pct(latencies, 99):.1f}  max {max(latencies, default=0):.1f}")
    for kind in MIX:
        lat = [r[1] * 1000 for r in ok if r[0] == kind]
        if lat:
            print(f"  {kind:<14} n={len(lat):>6,}  p50 {pct(lat, 50):6.1f}  "
                  f"p95 {pct(lat, 95):6.1f}  p99 {pct(lat, 99):6.1f}  "
                  f"mean {statistics.fmean(lat):6.1f}")
    print(f"sanity: hits of the first queries of the mix: {totals}")
    print(f"server RSS: {idle_rss / 1024:,.0f} MB after start, peak {peak / 1024:,.0f} MB; "
          f"server CPU {server_cpu:.0f} s in {elapsed + args.warmup:.0f} s")
    p95 = pct(latencies, 95)
    cached = args.cache_entries != 0
    goal = 20 if cached else 50
    print(f"goals ({'cache on' if cached else 'cache off'}): p95 ≤ {goal} ms "
          f"{'met' if p95 <= goal else 'missed'} ({p95:.1f}); "
          f"≥ 300 requests/s {'met' if rate >= 300 else 'missed'} ({rate:,.0f}); "
          f"RSS ≤ 2 GB {'met' if peak <= 2 * 1024 * 1024 else 'missed'} "
          f"({peak / 1024:,.0f} MB)")
    return 1 if errors else 0


def _sanity(base: str, mix: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Totals of a few queries: a benchmark of empty answers would measure nothing."""
    from urllib.request import urlopen

    out = []
    for _, params in mix:
        with urlopen(f"{base}/api/search?{urlencode(params)}", timeout=60) as resp:  # noqa: S310
            out.append(int(json.load(resp)["total"]))
    return out


def _signatures(mix: list[tuple[str, dict[str, Any]]]) -> int:
    """Distinct (query, field, filters) among requests: what the server's count and facet
    cache can hold; the page is not part of it."""
    return len({str(sorted((k, v) for k, v in params.items() if k != "page"))
                for _, params in mix})


def _cpu_seconds(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


if __name__ == "__main__":
    sys.exit(main())
