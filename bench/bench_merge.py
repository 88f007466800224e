"""Merge benchmark: a harvest that changes k records, at a million, incremental vs full.

    python bench/bench_ingest.py --records 1000000 --keep --skip-floors   # store + index
    python bench/bench_merge.py --work /tmp/tongjian-bench/work-1000000 --changes 1000

Over a kept bench_ingest store and index, this applies one harvest's worth of changes
through the harvest's own write path (`RecordStore.put` / `delete`, a seeded draw: 80 %
updates — a year, a title typed anew, an ISBN dropped, a summary — 10 % deletions, 10 %
new copies of held books under another source), then times what a harvest does after
them: `pipeline.update_index` (the merge, `merge.merge_store`, incremental here; then the
entries that changed, re-indexed).  Beside it, in the same run: the full re-merge every
harvest used to do (`merge_store(full=True)`), whose result must equal the incremental one
(it finds nothing to move), and the matcher alone over the whole store
(`assign_store_clusters`, what the full merge costs before writing).

The store is changed: run it on a copy you can throw away, or rebuild after.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import ForeignLoad, describe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from core.config import load
    from harvest import merge
    from harvest.pipeline import reindex_entries
    from harvest.store import RecordStore
    from index.tantivy_backend import TantivyBackend

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True,
                        help="a bench_ingest --keep work directory (store.db, index, config)")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-full", action="store_true",
                        help="no full re-merge for comparison (and no equality check)")
    args = parser.parse_args(argv)
    print("# python bench/bench_merge.py " + " ".join(argv if argv is not None
                                                       else sys.argv[1:]))
    print(f"machine: {describe()}")
    config = load(args.work / "config.yaml")
    store = RecordStore(args.work / "store.db")
    backend = TantivyBackend(config.resolve(config.index.path))
    try:
        total = store.record_count()
        print(f"store: {total:,} records; index: {backend.count():,} entries")
        if store.blocks_version() != merge.BLOCK_TABLE_VERSION:
            t = time.monotonic()
            done = merge.merge_store(store, full=True)
            print(f"block table missing ({done.why or 'older store'}): built by a full merge "
                  f"in {time.monotonic() - t:.1f} s")
        rng = random.Random(args.seed)  # noqa: S311 - a reproducible draw
        keys = sorted(store.cluster_map())
        picked = rng.sample(keys, args.changes)
        n_del = n_add = args.changes // 10
        touched: set[str] = set()
        emptied: set[str] = set()
        with ForeignLoad() as foreign:
            t = time.monotonic()
            for n, key in enumerate(picked):
                record = store.get(key)
                assert record is not None
                if n < n_del:
                    cluster = store.delete(key)
                    if cluster:
                        emptied.add(cluster)
                    continue
                if n < n_del + n_add:  # the same book in another library
                    record.source, record.source_id = "bench", f"copy{n}"
                    record.library = next(iter(config.libraries), "")
                else:
                    kind = n % 4
                    if kind == 0:
                        record.year = (record.year or 2000) + 1
                    elif kind == 1:
                        record.title = record.title + "（修订本）"
                    elif kind == 2 and record.isbn:
                        record.isbn = []
                    else:
                        record.summary = f"changed by bench_merge {n}"
                if store.put(record, b"bench", "usmarc") != "unchanged":
                    touched.add(record.key)
            store.commit()
            writes = time.monotonic() - t
            t, cpu = time.monotonic(), time.process_time()
            outcome = merge.merge_store(store)
            merge_cpu = time.process_time() - cpu
            entries = reindex_entries(store, backend, config, outcome, touched, emptied)
            after = time.monotonic() - t
        print(f"changes: {len(picked):,} records ({n_del} deleted, {n_add} added, "
              f"{len(picked) - n_del - n_add} updated) written in {writes:.1f} s")
        print(f"after the harvest (merge + index update, as update_index): {after:.2f} s  "
              f"[{foreign.line()}]")
        print(f"  merge: {'full' if outcome.full else 'incremental'} in "
              f"{outcome.seconds:.2f} s ({merge_cpu:.2f} s of CPU), {outcome.changes:,} changes, "
              f"{outcome.rejudged:,} records re-judged, {len(outcome.moved):,} moved, "
              f"{len(outcome.entries()):,} entries changed {outcome.why}")
        print(f"  index: {entries:,} entries rewritten or removed in "
              f"{after - outcome.seconds:.2f} s")
        if args.skip_full:
            return 0
        with ForeignLoad() as foreign:
            t = time.monotonic()
            merge.assign_store_clusters(store)
            matcher = time.monotonic() - t
            t, cpu = time.monotonic(), time.process_time()
            full = merge.merge_store(store, full=True)
            full_seconds, full_cpu = time.monotonic() - t, time.process_time() - cpu
        print(f"full re-merge (what every harvest did before): {full_seconds:.1f} s "
              f"({full_cpu:.1f} s of CPU in this process, the other one not counted), of which "
              f"the matcher alone ~{matcher:.1f} s  [{foreign.line()}]")
        same = not full.moved
        print(f"equal to the incremental result: {'yes' if same else 'NO'} "
              f"({len(full.moved):,} records moved by the full re-merge)")
        print(f"speed-up: {full_seconds / outcome.seconds:,.0f}× for the merge")
        return 0 if same else 1
    finally:
        backend.close()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
