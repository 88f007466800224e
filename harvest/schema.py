"""The store's schema version and the migrations that carry a store forward.

A deployment upgrades in place for years, so the store says which schema it has
(`PRAGMA user_version`) and every release carries the steps from each older version to
its own.  Opening a store runs the missing steps in one transaction — all or nothing,
with a line saying from → to and how long it took; a store from a newer release is
refused and left untouched, since an older program cannot know what the newer columns
mean.  A step is data (its version, what it does, its SQL or function), appended at the
end of `MIGRATIONS` and never edited once released.

Version 0 is a store made before stores had versions (release 0.1.0): its tables are the
version-1 tables, so step 1 only makes sure every table and index exists and records the
version.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class StoreVersionError(Exception):
    """The store cannot be opened by this release (made by a newer one)."""


@dataclass(frozen=True)
class Migration:
    version: int  # the schema version after this step
    summary: str
    apply: Callable[[sqlite3.Connection], None]


def _stamp_unversioned(db: sqlite3.Connection) -> None:
    """Release 0.1.0's tables are version 1's: nothing to change but the stamp (the
    CREATE … IF NOT EXISTS of the current schema runs after every migration)."""


def _incremental_merge_tables(db: sqlite3.Connection) -> None:
    """New tables only (`match_blocks`, `merge_pending`, `merge_state`), which the schema
    script creates after the steps; an older store has no block table yet, so its next
    merge is a full one and fills it (`harvest.merge.merge_store`)."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "record the schema version of a store made before versions (0.1.0)",
              _stamp_unversioned),
    Migration(4, "incremental merge: block table, pending changes, merge state",
              _incremental_merge_tables),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def version_of(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _has_tables(db: sqlite3.Connection) -> bool:
    tables: int = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                             ).fetchone()[0]
    return tables > 0


def check_openable(found: int, where: str) -> None:
    if found > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{where}: the store has schema version {found}, made by a newer release of "
            f"Tongjian; this release knows versions up to {SCHEMA_VERSION}. Install that "
            "release (or newer) again, or restore a backup made by this one. The store was "
            "not changed.")


def prepare(db: sqlite3.Connection, schema_sql: str, where: str) -> list[str]:
    """Bring the store at `db` to SCHEMA_VERSION; returns what was done, for the log.
    A new (empty) store gets the schema at once; an older one its missing steps."""
    found = version_of(db)
    check_openable(found, where)
    if found == SCHEMA_VERSION:
        db.executescript(schema_sql)  # IF NOT EXISTS: a no-op on a current store
        return []
    fresh = not _has_tables(db)
    started = time.monotonic()
    steps = [] if fresh else [m for m in MIGRATIONS if m.version > found]
    db.commit()
    level = db.isolation_level
    db.isolation_level = None  # explicit transaction: DDL included, all or nothing
    try:
        db.execute("BEGIN IMMEDIATE")
        for step in steps:
            step.apply(db)
        for statement in _statements(schema_sql):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.isolation_level = level
    if fresh:
        return []
    took = time.monotonic() - started
    done = [f"{where}: store schema {found} → {SCHEMA_VERSION} in {took:.2f} s: "
            + "; ".join(f"{m.version}: {m.summary}" for m in steps)]
    for line in done:
        log.warning(line)
    return done


def _statements(script: str) -> list[str]:
    """The schema script as single statements (executescript would commit first)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "StoreVersionError", "check_openable",
           "prepare", "version_of"]
