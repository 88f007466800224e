"""Harvest history read from the store's `harvests` table, for the admin pages and /metrics.

The store keeps one row per run and answers "the latest run of each source"; operations
need more — how long runs take, how often they fail, totals since the store began — and
these are plain aggregates over the same table, read here without changing the store.
Blocking (SQLite): call through the portal's worker thread.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from harvest.store import RecordStore

_RUN_COLUMNS = "id, source, started, finished, new, updated, unchanged, deleted, quarantined, error"


def _row(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    run = dict(zip(names, row, strict=True))
    run["duration"] = (run["finished"] - run["started"]) if run["finished"] else None
    return run


def recent_runs(store: RecordStore, source: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last `limit` runs of one source, newest first, each with its duration."""
    cur = store.db.execute(f"SELECT {_RUN_COLUMNS} FROM harvests WHERE source = ? "
                           "ORDER BY id DESC LIMIT ?", (source, limit))
    names = [d[0] for d in cur.description]
    return [_row(names, r) for r in cur]


def run_totals(store: RecordStore) -> dict[str, dict[str, Any]]:
    """Per source, over finished runs: counts, failures, record outcomes, last success."""
    cur = store.db.execute(
        "SELECT source, COUNT(*), SUM(error IS NOT NULL), SUM(new), SUM(updated), "
        "SUM(deleted), SUM(quarantined), MAX(CASE WHEN error IS NULL THEN finished END) "
        "FROM harvests WHERE finished IS NOT NULL GROUP BY source")
    out: dict[str, dict[str, Any]] = {}
    for source, runs, failures, new, updated, deleted, quarantined, last_ok in cur:
        out[source] = {"runs": runs, "failures": failures or 0, "last_success": last_ok,
                       "records": {"new": new or 0, "updated": updated or 0,
                                   "deleted": deleted or 0, "quarantined": quarantined or 0}}
    return out


def last_finished(store: RecordStore) -> dict[str, dict[str, Any]]:
    """The latest finished run of each source (a run in progress has no duration yet)."""
    cur = store.db.execute(
        f"SELECT {_RUN_COLUMNS} FROM harvests h JOIN (SELECT source AS s, MAX(id) AS last "
        "FROM harvests WHERE finished IS NOT NULL GROUP BY source) l ON h.id = l.last")
    names = [d[0] for d in cur.description]
    return {r[1]: _row(names, r) for r in cur}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the dashboard says about a source's recent runs (newest first)."""
    durations = [r["duration"] for r in runs if r["duration"] is not None]
    streak = 0
    for r in runs:
        if r["finished"] is None:
            continue
        if not r["error"]:
            break
        streak += 1
    return {
        "last_duration": durations[0] if durations else None,
        "median_duration": median(durations) if durations else None,
        "failed": sum(1 for r in runs if r["error"]),
        "failing_streak": streak,
    }
