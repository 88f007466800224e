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

from harvest.cataloguing_schema import TABLES as CATALOGUING_TABLES

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


LINEAGE_SQL = """
CREATE TABLE IF NOT EXISTS entry_lineage (
    entry       TEXT PRIMARY KEY,      -- merged entry (cluster) id, as URLs and OAI-PMH name it
    keys        TEXT NOT NULL,         -- JSON list of its record keys (kept when it goes)
    digest      TEXT NOT NULL,         -- of those keys and their records' digests
    changed     REAL NOT NULL,         -- when it last changed: its OAI-PMH datestamp
    deleted     INTEGER NOT NULL DEFAULT 0,
    successors  TEXT NOT NULL DEFAULT '[]', -- JSON: the entries its records went to
    sets        TEXT NOT NULL DEFAULT ''    -- its OAI-PMH setSpecs, space-separated
);
CREATE INDEX IF NOT EXISTS entry_lineage_changed ON entry_lineage(changed, entry);
"""


def _entry_lineage(db: sqlite3.Connection) -> None:
    """Every entry of the store as it is now, changed when its newest record was; the
    empty digest tells the next merge to fill digest and sets without moving that time."""
    for statement in _statements(LINEAGE_SQL):
        db.execute(statement)
    db.execute("INSERT OR IGNORE INTO entry_lineage (entry, keys, digest, changed) "
               "SELECT cluster, json_group_array(key), '', MAX(updated_at) FROM records "
               "WHERE cluster IS NOT NULL AND cluster != '' GROUP BY cluster")


def _cataloguing_tables(db: sqlite3.Connection) -> None:
    """Version 3 (issue 16): change history, copies added, reviewer accounts, reviews and
    their audit.  New tables only: nothing of another version's tables is read."""
    for statement in _statements(CATALOGUING_TABLES):
        db.execute(statement)


def _incremental_merge_tables(db: sqlite3.Connection) -> None:
    """New tables only (`match_blocks`, `merge_pending`, `merge_state`), which the schema
    script creates after the steps; an older store has no block table yet, so its next
    merge is a full one and fills it (`harvest.merge.merge_store`)."""


def _change_person(db: sqlite3.Connection) -> None:
    """Version 5 (issue 16): who changed a record, by name (`record_changes.person`),
    for the 优秀编目员 ranking.  A store that got the cataloguing tables from this
    release's script (an older store migrating through step 3) has the column already."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(record_changes)")}
    if "person" not in columns:
        db.execute("ALTER TABLE record_changes ADD COLUMN person TEXT NOT NULL DEFAULT ''")


def _block_rows_with_fields(db: sqlite3.Connection) -> None:
    """Version 6 (issue 20): the block table's rows carry the record's year, flags and
    signature hash, and the table is clustered on (block, key).  Its rows cannot be
    filled without the match keys, so it is dropped (the schema script creates the new
    one) and forgotten: the next merge is a full one, which rebuilds it and says why."""
    db.execute("DROP TABLE IF EXISTS match_blocks")
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'merge_state'").fetchone():
        db.execute("DELETE FROM merge_state WHERE name = 'blocks'")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "record the schema version of a store made before versions (0.1.0)",
              _stamp_unversioned),
    Migration(2, "entry lineage: each merged entry's records, last change and successors "
              "(OAI-PMH datestamps and deletions, permalinks)", _entry_lineage),
    Migration(3, "cataloguing history, reviewer accounts, reviews and their audit",
              _cataloguing_tables),
    Migration(4, "incremental merge: block table, pending changes, merge state",
              _incremental_merge_tables),
    Migration(5, "who changed a record, by name, in the cataloguing history",
              _change_person),
    Migration(6, "incremental merge: block rows with year, flags and signature (rebuilt by "
              "the next merge, a full one)", _block_rows_with_fields),
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


__all__ = ["LINEAGE_SQL", "MIGRATIONS", "SCHEMA_VERSION", "Migration", "StoreVersionError",
           "check_openable", "prepare", "version_of"]
