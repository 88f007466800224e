"""Harvest history from the store's `harvests` table, for the admin pages and /metrics.

Operations want more than "the latest run of each source": how long runs take, how often
they fail, totals since the store began.  The store answers with its runs and aggregates
(`RecordStore.harvest_runs`, `harvest_totals`, `last_finished_harvests`); here they get
their durations and the dashboard's summary.  Blocking (SQLite): call through the
portal's worker thread.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from harvest.store import RecordStore


def _timed(run: dict[str, Any]) -> dict[str, Any]:
    run["duration"] = (run["finished"] - run["started"]) if run["finished"] else None
    return run


def recent_runs(store: RecordStore, source: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last `limit` runs of one source, newest first, each with its duration."""
    return [_timed(run) for run in store.harvest_runs(source, limit)]


def run_totals(store: RecordStore) -> dict[str, dict[str, Any]]:
    """Per source, over finished runs: counts, failures, record outcomes, last success."""
    return {source: {"runs": t["runs"], "failures": t["failures"],
                     "last_success": t["last_success"],
                     "records": {k: t[k] for k in ("new", "updated", "deleted", "quarantined")}}
            for source, t in store.harvest_totals().items()}


def last_finished(store: RecordStore) -> dict[str, dict[str, Any]]:
    """The latest finished run of each source (a run in progress has no duration yet)."""
    return {source: _timed(run) for source, run in store.last_finished_harvests().items()}


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
