"""Search-as-you-type latency: `SearchBackend.suggest` on what readers type, keystroke by
keystroke, over a kept store and index.

    python bench/bench_ingest.py --records 1000000 --keep    # builds the store + index
    python bench/bench_suggest.py --records 1000000

Prefixes are drawn (seeded) from the store's own titles and names, as a reader types them:
the first 1–4 characters of a title, the first 2–10 letters of its joined pinyin, the
first 2–4 of its initials, and the same for authors' names.  Each is looked up on the
index in this process, one at a time (the portal adds its HTTP and thread hand-off, the
same for every request: bench_search.py measures those); printed: p50/p95/p99 per kind
and overall, and how many prefixes offered nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import describe  # noqa: E402


def prefixes(store: Path, n: int, seed: int) -> list[tuple[str, str]]:
    """(kind, prefix) pairs from `n` records of the store."""
    from index import text

    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    total = db.execute("SELECT MAX(rowid) FROM records").fetchone()[0]
    out: list[tuple[str, str]] = []
    for rowid in rng.sample(range(1, total + 1), min(n, total)):
        row = db.execute("SELECT data FROM records WHERE rowid = ?", (rowid,)).fetchone()
        if not row:
            continue
        record = json.loads(row[0])
        names = [a["name"] for a in record.get("authors", []) if a.get("name")]
        for kind, value in (("title", record.get("title") or ""),
                            ("author", names[0] if names else "")):
            value = text.title_parts(value)[-1] if kind == "title" else value
            if not value or value.isascii():
                continue
            forms = text.pinyin_forms(value)
            out.append((f"{kind} characters", value[: rng.randint(1, 4)]))
            if forms.whole:
                out.append((f"{kind} pinyin", forms.whole[0][: rng.randint(2, 10)]))
            if forms.initials and len(forms.initials[0]) >= 2:
                out.append((f"{kind} initials",
                            forms.initials[0][: rng.randint(2, min(4, len(forms.initials[0])))]))
    db.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, help="store and index (default: "
                        "/tmp/tongjian-bench/work-N, as bench_ingest.py --keep leaves it)")
    parser.add_argument("--samples", type=int, default=2_000, help="records drawn")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.gettempdir()) / "tongjian-bench" / f"work-{args.records}"
    print(f"# python bench/bench_suggest.py {' '.join(argv or sys.argv[1:])}")
    print(f"machine: {describe()}")

    from index.tantivy_backend import TantivyBackend

    backend = TantivyBackend(work / "index", cache_entries=0)
    mix = prefixes(work / "store.db", args.samples, seed=7)
    for _, q in mix[:50]:  # warm the term dictionary pages, as a serving portal has them
        backend.suggest(q)
    times: dict[str, list[float]] = {}
    empty = 0
    for kind, q in mix:
        t0 = time.perf_counter()
        found = backend.suggest(q)
        times.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        empty += not found
    every = [t for ts in times.values() for t in ts]
    print(f"{backend.count():,} entries; {len(every):,} prefixes, {empty / len(every):.1%} "
          "offered nothing\n")
    print(f"{'kind':<20} {'n':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for kind, ts in [*sorted(times.items()), ("overall", every)]:
        q = statistics.quantiles(ts, n=100)
        print(f"{kind:<20} {len(ts):>6} {q[49]:>7.2f} {q[94]:>7.2f} {q[98]:>7.2f}")
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
