"""Entry-lineage benchmark: what the lineage adds to a merge (issue 15).

    python bench/bench_lineage.py --records 200000

Builds a store of synthetic records (one entry each, two holdings), then times, in the
same run: the floor — one SQLite scan of every record's cluster, key and digest, which any
comparison must read — and `harvest.lineage.refresh` over every entry three ways: the
first fill, a second run with nothing changed (what every `rebuild_index` and bulk import
pays), and an incremental one for 1 % of entries changed (what `update_index` pays after
a harvest).  Printed: seconds, records per second, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Library  # noqa: E402
from core.model import Holding, Record  # noqa: E402
from harvest import lineage  # noqa: E402
from harvest.store import RecordStore, stored_row  # noqa: E402

LIBRARIES = {code: Library(code, code, region, "city")
             for code, region in (("SXPL", "西安市"), ("XYLIB", "咸阳市"), ("BJLIB", "宝鸡市"))}


def build(store: RecordStore, n: int) -> None:
    codes = list(LIBRARIES)
    rows = []
    for i in range(n):
        lib = codes[i % 3]
        record = Record(source=lib.lower(), source_id=str(i), library=lib, title=f"书名 {i}",
                        clc_top="IKT"[i % 3], holdings=[Holding(lib, call_number=f"I{i}"),
                                                        Holding(lib, barcode=f"B{i}")])
        row = stored_row(record, b"", "test", lone_cluster=True)
        rows.append(row)
        if len(rows) == 5000:
            store.write_rows(rows, stored={})
            rows.clear()
    store.write_rows(rows, stored={})
    store.commit()


def timed(fn: object, *args: object) -> float:
    started = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RecordStore(Path(tmp) / "bench.db")
        build(store, args.records)
        db = store._db  # the floor reads the table directly, as a comparison must

        def floor() -> None:
            for _ in db.execute("SELECT cluster, key, digest FROM records ORDER BY cluster"):
                pass

        base = timed(floor)
        first = timed(lineage.refresh, store, LIBRARIES)
        again = timed(lineage.refresh, store, LIBRARIES)
        entries = store.entry_ids()[: max(1, args.records // 100)]
        for entry in entries:
            key = store.lineage(entry).keys[0]  # type: ignore[union-attr]
            record = store.get(key)
            assert record is not None
            record.summary = "changed"
            store.put(record, b"", "test")
        store.commit()
        step = timed(lineage.refresh, store, LIBRARIES, entries)
        store.close()
    n = args.records
    print(f"lineage over {n:,} records / entries (python bench/bench_lineage.py "
          f"--records {n})")
    print(f"  floor: scan cluster, key, digest   {base:7.2f} s  {n / base:10,.0f}/s")
    for name, took in (("first fill", first), ("full, nothing changed", again)):
        print(f"  {name:<34}{took:7.2f} s  {n / took:10,.0f}/s  {took / base:5.1f}× floor")
    print(f"  incremental, {len(entries):,} entries changed  {step:7.2f} s  "
          f"{len(entries) / step:10,.0f}/s")


if __name__ == "__main__":
    main()
