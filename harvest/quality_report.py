"""Keeping the 审校 results: the latest list of problem records, and a snapshot per month.

The scan is too slow to run on every page view of a large store, so its result is kept
in the store itself: every problem record of the latest run (the pages, the CSV and the
JSON all read these rows, so they cannot disagree), and one row of counts per library and
month — the latest run of a month stands for that month, which is what month-over-month
trends compare.

The rows live in the store's `quality_snapshots` and `quality_problems` tables, read and
written through `RecordStore` methods; this module makes problems and snapshots of them.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from core.config import Config
from core.spreadsheet import safe_cell
from harvest.quality import KIND_CODES, KIND_LABELS, Problem, Scan
from harvest.store import ProblemRow, RecordStore, SnapshotRow

BEIJING = timezone(timedelta(hours=8))
BATCH = 5000  # problem rows per page of a CSV export


def month_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m")


@dataclass
class Snapshot:
    library: str
    month: str
    computed: float
    records: int
    holdings: int
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def compute(store: RecordStore, now: float | None = None,
            stop: threading.Event | None = None,
            config: Config | None = None) -> dict[str, Snapshot]:
    """Scan every record, replace the stored problem list, upsert this month's snapshots
    (`RecordStore.replace_quality_report`: readers see the old run or the new, never half;
    a stopped scan saves nothing)."""
    now = time.time() if now is None else now
    scan = Scan(store, stop, config)  # config: pinyin and barcode-range rules
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    snapshots: dict[str, Snapshot] = {}

    def problems() -> Iterator[ProblemRow]:
        for p in scan:
            counts[p.library][p.kind] += 1
            yield p.library, p.kind, p.key, p.cluster, p.title, p.detail

    def snapshot_rows() -> list[SnapshotRow]:
        month = month_of(now)
        snapshots.update({
            lib: Snapshot(lib, month, now, scan.records[lib], scan.holdings[lib],
                          {k: counts[lib][k] for k in KIND_CODES})
            for lib in sorted(set(scan.records) | set(scan.holdings) | set(counts))
        })
        return [(s.library, s.month, s.computed, s.records, s.holdings, json.dumps(s.counts))
                for s in snapshots.values()]

    store.replace_quality_report(problems(), snapshot_rows)
    return snapshots


# -- reading -----------------------------------------------------------------------------


def _snapshot(row: SnapshotRow) -> Snapshot:
    return Snapshot(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


def latest(store: RecordStore) -> dict[str, Snapshot]:
    """Each library's most recent snapshot."""
    return {row[0]: _snapshot(row) for row in store.latest_quality_snapshots()}


def history(store: RecordStore, library: str, months: int = 12) -> list[Snapshot]:
    """Newest first."""
    return [_snapshot(row) for row in store.quality_history(library, months)]


def trend(snapshots: list[Snapshot]) -> list[dict[str, Any]]:
    """Month rows, newest first, each kind with its change since the month before."""
    out = []
    for i, snap in enumerate(snapshots):
        before = snapshots[i + 1] if i + 1 < len(snapshots) else None
        out.append({
            "month": snap.month,
            "records": snap.records,
            "holdings": snap.holdings,
            "counts": {k: snap.count(k) for k in KIND_CODES},
            "change": {k: (snap.count(k) - before.count(k)) if before else None
                       for k in KIND_CODES},
        })
    return out


def problems(store: RecordStore, library: str, kind: str | None = None,
             after: int = 0, limit: int = 100) -> list[tuple[int, Problem]]:
    """(id, problem) in run order; `after` an id, so a long export pages by key, not offset."""
    return [(id_, Problem(*row))
            for id_, row in store.quality_problems(library, kind, after, limit)]


def examples(store: RecordStore, library: str, per_kind: int) -> dict[str, list[Problem]]:
    return {kind: [p for _, p in problems(store, library, kind, limit=per_kind)]
            for kind in KIND_CODES}


# -- export ------------------------------------------------------------------------------

CSV_HEADER = ("馆代码", "问题代码", "问题", "记录号", "题名", "说明", "链接")


def csv_chunk(rows: list[Problem], base_url: str, header: bool) -> bytes:
    """Rows as CSV bytes; the first chunk starts with a BOM so Excel reads UTF-8 Chinese."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for p in rows:
        writer.writerow([p.library, p.kind, KIND_LABELS.get(p.kind, p.kind), p.key,
                         safe_cell(p.title), safe_cell(p.detail),
                         base_url + p.url if p.url else ""])
    return (("\ufeff" if header else "") + buf.getvalue()).encode("utf-8")


