"""Keeping the 审校 results: the latest list of problem records, and a snapshot per month.

The scan is too slow to run on every page view of a large store, so its result is kept
in the store itself: every problem record of the latest run (the pages, the CSV and the
JSON all read these rows, so they cannot disagree), and one row of counts per library and
month — the latest run of a month stands for that month, which is what month-over-month
trends compare.

Tables are created here, on whatever connection is passed, with IF NOT EXISTS: the
record store's schema stays the store's business.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from harvest.quality import KIND_CODES, KIND_LABELS, Problem, Scan

BEIJING = timezone(timedelta(hours=8))
BATCH = 5000

TABLES = (
    """CREATE TABLE IF NOT EXISTS quality_snapshots (
        library   TEXT NOT NULL,
        month     TEXT NOT NULL,            -- YYYY-MM, Beijing time
        computed  REAL NOT NULL,
        records   INTEGER NOT NULL,
        holdings  INTEGER NOT NULL,
        counts    TEXT NOT NULL,            -- JSON {kind: records with that problem}
        PRIMARY KEY (library, month))""",
    """CREATE TABLE IF NOT EXISTS quality_problems (   -- the latest run only
        id       INTEGER PRIMARY KEY,
        library  TEXT NOT NULL,
        kind     TEXT NOT NULL,
        key      TEXT NOT NULL,
        cluster  TEXT NOT NULL,
        title    TEXT NOT NULL,
        detail   TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS quality_problems_library ON quality_problems(library, kind)",
)
_NEW = ("CREATE TEMP TABLE IF NOT EXISTS quality_new (library TEXT, kind TEXT, key TEXT, "
        "cluster TEXT, title TEXT, detail TEXT)")


def ensure_tables(db: sqlite3.Connection) -> None:
    for statement in TABLES:
        db.execute(statement)


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


def compute(db: sqlite3.Connection, now: float | None = None,
            stop: threading.Event | None = None) -> dict[str, Snapshot]:
    """Scan every record, replace the stored problem list, upsert this month's snapshots.

    Problems go to a temporary table while the scan reads (no lock on the store for the
    minute a big scan takes — harvests keep writing); the swap into the real table is one
    short write transaction at the end, so readers see the old run or the new, never half.
    """
    ensure_tables(db)
    now = time.time() if now is None else now
    db.execute(_NEW)
    db.execute("DELETE FROM temp.quality_new")
    scan = Scan(db, stop)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    batch: list[tuple[str, ...]] = []
    try:
        for p in scan:
            counts[p.library][p.kind] += 1
            batch.append((p.library, p.kind, p.key, p.cluster, p.title, p.detail))
            if len(batch) >= BATCH:
                _insert_new(db, batch)
        _insert_new(db, batch)
    except BaseException:
        db.rollback()
        db.execute("DROP TABLE IF EXISTS temp.quality_new")
        raise
    db.commit()  # ends the scan's read transaction: the write below must not upgrade it
    month = month_of(now)
    snapshots = {
        lib: Snapshot(lib, month, now, scan.records[lib], scan.holdings[lib],
                      {k: counts[lib][k] for k in KIND_CODES})
        for lib in sorted(set(scan.records) | set(scan.holdings) | set(counts))
    }
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM quality_problems")
        db.execute("INSERT INTO quality_problems (library, kind, key, cluster, title, detail) "
                   "SELECT library, kind, key, cluster, title, detail FROM temp.quality_new "
                   "ORDER BY rowid")
        db.executemany(
            "INSERT INTO quality_snapshots (library, month, computed, records, holdings, "
            "counts) VALUES (?,?,?,?,?,?) ON CONFLICT(library, month) DO UPDATE SET "
            "computed = excluded.computed, records = excluded.records, "
            "holdings = excluded.holdings, counts = excluded.counts",
            [(s.library, s.month, s.computed, s.records, s.holdings, json.dumps(s.counts))
             for s in snapshots.values()])
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.execute("DROP TABLE IF EXISTS temp.quality_new")
    return snapshots


def _insert_new(db: sqlite3.Connection, batch: list[tuple[str, ...]]) -> None:
    db.executemany("INSERT INTO temp.quality_new VALUES (?,?,?,?,?,?)", batch)
    batch.clear()


# -- reading -----------------------------------------------------------------------------

_SNAPSHOT = "SELECT library, month, computed, records, holdings, counts FROM quality_snapshots"


def _snapshot(row: tuple[Any, ...]) -> Snapshot:
    return Snapshot(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


def latest(db: sqlite3.Connection) -> dict[str, Snapshot]:
    """Each library's most recent snapshot."""
    ensure_tables(db)
    rows = db.execute(_SNAPSHOT + " s WHERE month = (SELECT MAX(month) FROM quality_snapshots "
                      "WHERE library = s.library) ORDER BY library")
    return {row[0]: _snapshot(row) for row in rows}


def history(db: sqlite3.Connection, library: str, months: int = 12) -> list[Snapshot]:
    """Newest first."""
    ensure_tables(db)
    rows = db.execute(_SNAPSHOT + " WHERE library = ? ORDER BY month DESC LIMIT ?",
                      (library, months))
    return [_snapshot(row) for row in rows]


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


def problems(db: sqlite3.Connection, library: str, kind: str | None = None,
             after: int = 0, limit: int = 100) -> list[tuple[int, Problem]]:
    """(id, problem) in run order; `after` an id, so a long export pages by key, not offset."""
    ensure_tables(db)
    sql = ("SELECT id, library, kind, key, cluster, title, detail FROM quality_problems "
           "WHERE library = ? AND id > ?")
    args: tuple[Any, ...] = (library, after)
    if kind:
        sql, args = sql + " AND kind = ?", (*args, kind)
    rows = db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit))
    return [(row[0], Problem(*row[1:])) for row in rows]


def examples(db: sqlite3.Connection, library: str, per_kind: int) -> dict[str, list[Problem]]:
    return {kind: [p for _, p in problems(db, library, kind, limit=per_kind)]
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
                         _cell(p.title), _cell(p.detail), base_url + p.url if p.url else ""])
    return (("\ufeff" if header else "") + buf.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    """A cell starting with = + - @ is a formula to Excel: neutralise it (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
