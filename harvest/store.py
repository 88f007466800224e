"""The record store (SQLite): every normalized record beside its raw original, and quarantine.

The index is disposable; this is not.  Everything the portal shows can be rebuilt from
here alone (`tongjian index --rebuild`), and a record that failed to parse is kept
byte-for-byte with its reason so a cataloguer can look at it and nothing is lost.

This module is the only one that speaks SQL to the store.  A record reaches the `records`
table one way whichever path brings it — a harvest's `RecordStore.put` or the bulk
import's workers: `stored_row` builds its row and `RecordStore.write_rows` writes it, so
the two paths cannot drift apart.  The portal, the merge and the quality report read and
write through the named methods below (the cataloguing centre's in the mixin
`harvest.cataloguing_store`); a worker process that needs its own connection
opens one with `RecordStore.open_read_only`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from core.config import Config
from core.model import Author, Holding, Record
from harvest.cataloguing_history import compare
from harvest.cataloguing_schema import TABLES as CATALOGUING_TABLES
from harvest.cataloguing_store import CataloguingQueries
from harvest.matching import MatchRecord, lone_cluster_id
from harvest.schema import (
    LINEAGE_SQL,
    StoreVersionError,
    check_openable,
    prepare,
    version_of,
)


def work_key(m: MatchRecord) -> str:
    """Same title proper, first author and volume = the same work (other editions of it);
    without an author a title alone (诗经, 年鉴) names too many works to link."""
    return f"{m.title}|{m.author}|{m.volume}" if m.title and m.author else ""


# -- the one row a record becomes ------------------------------------------------------------

_RECORD_FIELDS = tuple(f.name for f in fields(Record))
_AUTHOR_FIELDS = tuple(f.name for f in fields(Author))
_HOLDING_FIELDS = tuple(f.name for f in fields(Holding))


# Fields added to the model after records were first stored: left out of the JSON while
# empty, so a record that has none keeps the digest it had and an upgrade does not make
# every stored record "updated" (re-written, re-merged) on the next harvest.
_OMITTED_WHEN_EMPTY = ("cataloguer", "modifier")


def record_dict(record: Record) -> dict[str, Any]:
    """`record.to_dict()` without `dataclasses.asdict`'s deep copy, which was a third of a
    bulk import worker's time; the JSON is the same."""
    out = {name: getattr(record, name) for name in _RECORD_FIELDS}
    for name in _OMITTED_WHEN_EMPTY:
        if not out[name]:
            del out[name]
    out["authors"] = [{n: getattr(a, n) for n in _AUTHOR_FIELDS} for a in record.authors]
    out["holdings"] = [{n: getattr(h, n) for n in _HOLDING_FIELDS} for h in record.holdings]
    return out


# `json.dumps` with options builds a new encoder per call; one serves every record.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def record_json(record_dict: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of a record (keys sorted, text as itself) and its digest, which
    tells an updated record from an unchanged one."""
    data = _JSON.encode(record_dict)
    return data, hashlib.sha1(data.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class StoredRow:
    """A record as the `records` table holds it (harvest bookkeeping aside: the run that
    last delivered it and the times are the writer's).  Built by `stored_row` alone."""

    key: str  # source:source_id
    source: str
    source_id: str
    library: str
    data: str  # the canonical Record JSON (`record_json`)
    digest: str  # of data
    isbn: str  # ISBN-13s, space-separated
    match: str  # the merge step's input: MatchRecord JSON
    work: str  # `work_key`: finds other editions
    raw: bytes  # the record as the source sent it
    raw_format: str  # usmarc | unimarc | marcxml | …
    # Written with a new record only (an update keeps the merge's word): None until the
    # merge, or the id the merge gives a record alone (`lone_cluster_id`) — a bulk load
    # writes that guess so the merge rewrites only the rows it got wrong.
    cluster: str | None = None

    def __reduce__(self) -> tuple[type[StoredRow], tuple[Any, ...]]:
        # As a tuple of fields: a bulk import's parse workers send a million rows to the
        # main process, and this unpickles in half the time of a slotted dataclass's state.
        return StoredRow, (self.key, self.source, self.source_id, self.library, self.data,
                           self.digest, self.isbn, self.match, self.work, self.raw,
                           self.raw_format, self.cluster)


def stored_row(record: Record, raw: bytes, raw_format: str, *,
               lone_cluster: bool = False) -> StoredRow:
    """The row `record` is stored as, beside its `raw` bytes.  `lone_cluster`: also the
    cluster id it would have alone, for a bulk load to write with it."""
    data, digest = record_json(record_dict(record))
    match = MatchRecord.from_record(record)
    return StoredRow(record.key, record.source, record.source_id, record.library, data, digest,
                     " ".join(record.isbn), match.to_json(), work_key(match), bytes(raw),
                     raw_format, lone_cluster_id(match) if lone_cluster else None)


def duplicate_reason(source_id: str) -> str:
    """Why a second record with the same id in one source is quarantined: the same words
    whether a harvest or a bulk import met it (the admin pages show both)."""
    return (f"duplicate record id {source_id!r} in this source — the first record with this "
            "id was kept; fix the record id (001) in the source")


@dataclass(slots=True)
class Rejected:
    """A record that goes to quarantine instead of the store: its bytes, where it was, why."""

    source: str
    position: int  # record number (1-based) in the file / result set
    reason: str
    raw: bytes
    record_id: str = ""
    offset: int | None = None  # byte offset in the file, when read from one


SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    key         TEXT PRIMARY KEY,      -- source:source_id
    source      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    library     TEXT NOT NULL,
    cluster     TEXT,                  -- merged entry this record belongs to
    isbn        TEXT NOT NULL DEFAULT '', -- ISBN-13s, space-separated
    match       TEXT,                  -- the merge step's input: harvest.matching.MatchRecord
    work        TEXT NOT NULL DEFAULT '', -- title|first author|volume: finds other editions
    seen_run    INTEGER,               -- last harvest run that delivered this record
    data        TEXT NOT NULL,         -- the canonical Record as JSON
    digest      TEXT NOT NULL,         -- of data, to tell updated from unchanged
    raw         BLOB NOT NULL,
    raw_format  TEXT NOT NULL,
    first_seen  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS records_cluster ON records(cluster);
CREATE INDEX IF NOT EXISTS records_source ON records(source);
CREATE INDEX IF NOT EXISTS records_work ON records(work) WHERE work != '';
-- Librarians' decisions about the merge: 'split' keeps two records apart, 'merge' joins
-- them.  Keyed by record keys (stable across re-harvests), so decisions outlive harvests.
CREATE TABLE IF NOT EXISTS match_links (
    key_a       TEXT NOT NULL,
    key_b       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
    librarian   TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL,
    PRIMARY KEY (key_a, key_b)
);
-- The incremental merge (harvest.merge.merge_store): every record's blocks as of the last
-- merge (harvest.matching.block_hashes), the records changed since, and whether the block
-- table is whole (merge_state 'blocks' = its version; absent: the next merge is a full one).
-- Beside each row, what the incremental merge reads of a block's members instead of their
-- match keys (harvest.merge.block_row): the record's year and flags, to skip members that
-- cannot be a candidate, and its signature hash, to count the block's representatives.
CREATE TABLE IF NOT EXISTS match_blocks (
    block       INTEGER NOT NULL,      -- a block's stable 64-bit hash
    key         TEXT NOT NULL,         -- a record filed under it
    year        INTEGER,               -- the record's year (match keys)
    flags       INTEGER NOT NULL,      -- matching.candidate_flags: has ISBN stems, a volume
    sig         INTEGER NOT NULL,      -- matching.signature_hash
    PRIMARY KEY (block, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merge_pending (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,         -- a record written, deleted or linked since the merge
    match       TEXT                   -- its match keys before that change (NULL: it was new)
);
CREATE TABLE IF NOT EXISTS merge_state (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    position    INTEGER NOT NULL,      -- record number (1-based) in the file / result set
    offset      INTEGER,               -- byte offset in the file, when read from one
    record_id   TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,
    raw         BLOB NOT NULL,
    at          REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_source ON quarantine(source);
CREATE TABLE IF NOT EXISTS checkpoints (
    source      TEXT PRIMARY KEY,
    state       TEXT NOT NULL,         -- the connector's own JSON state
    final       INTEGER NOT NULL,      -- 1: the run completed; state = "changed since"
    run         INTEGER NOT NULL,      -- the harvest run this checkpoint belongs to
    full        INTEGER NOT NULL,      -- 1: the run reads everything (sweep deletions after)
    updated_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS harvests (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    started     REAL NOT NULL,
    finished    REAL,
    new         INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS harvests_source ON harvests(source, id);
-- The monthly data-quality review (harvest.quality_report): counts per library and month
-- (the latest run of a month stands for it), and every problem record of the latest run.
CREATE TABLE IF NOT EXISTS quality_snapshots (
    library   TEXT NOT NULL,
    month     TEXT NOT NULL,            -- YYYY-MM, Beijing time
    computed  REAL NOT NULL,
    records   INTEGER NOT NULL,
    holdings  INTEGER NOT NULL,
    counts    TEXT NOT NULL,            -- JSON {kind: records with that problem}
    PRIMARY KEY (library, month)
);
CREATE TABLE IF NOT EXISTS quality_problems (   -- the latest run only
    id       INTEGER PRIMARY KEY,
    library  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    cluster  TEXT NOT NULL,
    title    TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quality_problems_library ON quality_problems(library, kind);
""" + LINEAGE_SQL + CATALOGUING_TABLES  # entry lineage (harvest.lineage); cataloguing (issue 16)

#: Host parameters per `… IN (?, …)` statement: well under SQLite's limit.
_PARAMS_PER_QUERY = 500
_RUN_COLUMNS = ("id, source, started, finished, new, updated, unchanged, deleted, "
                "quarantined, error")
_QUARANTINE_COLUMNS = "id, source, position, offset, record_id, reason"
#: Problems staged per INSERT while a quality scan runs.
_QUALITY_BATCH = 5000
_SNAPSHOT = "SELECT library, month, computed, records, holdings, counts FROM quality_snapshots"

#: A quality problem as stored: (library, kind, record key, cluster, title, detail).
ProblemRow = tuple[str, str, str, str, str, str]
#: A quality snapshot as stored: (library, month, computed, records, holdings, counts JSON).
SnapshotRow = tuple[str, str, float, int, int, str]
#: What a quality scan reads of each record: (rowid, key, source, library, cluster, isbn,
#: work, data JSON, digest, and the digest and findings of its last MARC check if any).
ScanRow = tuple[int, str, str, str, str | None, str, str, str, str, str | None, str | None]


@dataclass
class SavedCheckpoint:
    state: dict[str, object]
    final: bool
    run: int
    full: bool


@dataclass
class QuarantineEntry:
    id: int
    source: str
    position: int
    offset: int | None
    record_id: str
    reason: str
    raw: bytes
    at: float

    def summary(self) -> QuarantineSummary:
        return QuarantineSummary(self.id, self.source, self.position, self.offset,
                                 self.record_id, self.reason, len(self.raw), self.at)


@dataclass
class QuarantineSummary:
    """A quarantine entry without its bytes (a list page shows fifty, each maybe large)."""

    id: int
    source: str
    position: int
    offset: int | None
    record_id: str
    reason: str
    size: int  # of the raw bytes
    at: float


def _read_match_records(db: sqlite3.Connection,
                        stale: list[tuple[str, str, str]]) -> Iterator[MatchRecord]:
    """`RecordStore.match_records` on a connection: the records it had to rebuild go to
    `stale` as (match JSON, work key, record key)."""
    for key, match in db.execute("SELECT key, match FROM records"):
        try:
            yield MatchRecord.from_json(match)
        except (TypeError, ValueError):
            row = db.execute("SELECT data FROM records WHERE key = ?", (key,)).fetchone()
            fresh = MatchRecord.from_record(Record.from_dict(_loads(row[0])))
            stale.append((fresh.to_json(), work_key(fresh), key))
            yield fresh


class IsbnScratch:
    """(ISBN, rowid, work key) rows filed during one quality scan, in a temporary table of
    the scan's connection: SQLite sorts a million of them on disk, not in this process.
    Made by `RecordStore.isbn_scratch`, which drops the table afterwards."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add(self, rows: Sequence[tuple[str, int, str]]) -> None:
        self._db.executemany("INSERT INTO temp.quality_isbns VALUES (?,?,?)", rows)

    def disputed(self) -> Generator[tuple[str, int], None, None]:
        """(ISBN, rowid) for each ISBN whose records disagree on the work key, ordered by
        ISBN and rowid: the only groups worth judging.  Close it when done early: an open
        cursor keeps the table locked."""
        cur = self._db.execute(
            "SELECT isbn, rid FROM temp.quality_isbns WHERE isbn IN (SELECT isbn FROM "
            "temp.quality_isbns GROUP BY isbn HAVING COUNT(DISTINCT work) > 1) "
            "ORDER BY isbn, rid")
        try:
            yield from cur
        finally:
            cur.close()


def _loads(text: str) -> Any:
    """A stored record's JSON: orjson reads it in half the time of `json`, to the same
    objects; anything it refuses (an integer beyond 64 bits) goes through `json`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


#: A record's change noted for the next merge, with its match keys before the change.
_PENDING_FROM_RECORD = ("INSERT INTO merge_pending (key, match) "
                        "SELECT key, match FROM records WHERE key = ?")


#: A block table row: (block hash, record key, year, flags, signature hash).
BlockRow = tuple[int, str, int | None, int, int]
#: A query of `RecordStore.block_candidates`: (block, lowest year, highest year, mask, value).
CandidateQuery = tuple[int, int | None, int | None, int, int]


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _PARAMS_PER_QUERY):
        yield items[start:start + _PARAMS_PER_QUERY]


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def in_use(store: Path) -> IO[bytes]:
    """A shared lock on `<store>.lock` for as long as the store is open: every process
    using the store holds one, so `tongjian restore` (which needs it exclusively) can tell
    that the portal or a harvest is still running instead of pulling the file from under
    them."""
    store.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path(store), "ab")  # noqa: SIM115 - held until close()
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    return handle


class RecordStore(CataloguingQueries):
    def __init__(self, path: str | Path, *, read_only: bool = False, cache_kb: int = 0) -> None:
        """Open (and create) the store at `path`; `read_only`: see `open_read_only`."""
        self.path = Path(path)
        self._read_only = read_only
        self.migrated: list[str] = []  # what opening did to an older store, for the log
        self._lock = in_use(self.path) if str(path) != ":memory:" else None
        if read_only:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                       check_same_thread=False, timeout=60)
            self._refuse_newer()
        else:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # The portal reads and scheduled harvests write through separate connections.
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
            self._refuse_newer()  # before anything is written
            self._wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            # a store of an older release is migrated here, in one transaction
            self.migrated = prepare(self._db, SCHEMA, str(path))
        if cache_kb:
            self._db.execute(f"PRAGMA cache_size=-{int(cache_kb)}")

    def _refuse_newer(self) -> None:
        try:
            check_openable(version_of(self._db), str(self.path))
        except StoreVersionError:
            self.close()
            raise

    @classmethod
    def open_read_only(cls, path: str | Path, cache_kb: int = 0) -> RecordStore:
        """Another connection to the store at `path`, for a worker process (a share of the
        merge, a bulk index worker): it sees what was committed and can change nothing —
        match keys it has to rebuild are left for the parent to save.  `cache_kb`: its
        page cache, for a worker that reads much of the store."""
        return cls(path, read_only=True, cache_kb=cache_kb)

    def _wal(self) -> None:
        """Switch to WAL (persistent in the file).  The switch takes an exclusive lock and
        SQLite does not wait for it, so two processes opening a new store at once retry."""
        for attempt in range(50):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.close()  # releases the shared lock
            self._lock = None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing records ---------------------------------------------------------------

    def put(self, record: Record, raw: bytes, raw_format: str, run: int | None = None) -> str:
        """Insert or update one record (a harvest's path); returns 'new', 'updated' or
        'unchanged'."""
        return self.write_rows([stored_row(record, raw, raw_format)], run)[0]

    def write_rows(self, rows: Sequence[StoredRow], run: int | None = None,
                   stored: dict[str, str] | None = None, track: bool = True) -> list[str]:
        """Write rows, each as 'new' (inserted), 'updated' (its digest changed) or
        'unchanged' (only marked as delivered by harvest run `run`); returns those outcomes
        in the rows' order.  Every record reaches the table through here.

        The rows' keys must differ.  `stored`: {key: digest} of what the store holds, for
        at least these keys (`digests`) — a bulk load reads it once per source instead of
        once per record (and never writes a key twice).  Without it the digests are looked
        up.  `track`: note new and updated records for the next (incremental) merge
        (`merge_pending`); only a load into an empty store, whose merge is a full one,
        leaves that out.  Commit afterwards."""
        if stored is None:
            stored = self._digests_of([row.key for row in rows])
        now = time.time()
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        unchanged: list[tuple[Any, ...]] = []
        outcomes: list[str] = []
        for row in rows:
            old = stored.get(row.key)
            if old is None:
                inserts.append((row.key, row.source, row.source_id, row.library, row.cluster,
                                row.data, row.digest, row.isbn, row.match, row.work, run,
                                row.raw, row.raw_format, now, now))
                outcomes.append("new")
            elif old == row.digest:
                unchanged.append((run, row.key))
                outcomes.append("unchanged")
            else:
                updates.append((row.data, row.digest, row.isbn, row.match, row.work, run,
                                row.raw, row.raw_format, row.library, now, row.key))
                outcomes.append("updated")
        db = self._db
        if track:  # before the update: the pending row keeps the old match keys
            db.executemany(_PENDING_FROM_RECORD, [(u[-1],) for u in updates])
            db.executemany("INSERT INTO merge_pending (key) VALUES (?)",
                           [(i[0],) for i in inserts])
        elif inserts or updates:  # untracked: only a full merge can be right now
            db.execute("DELETE FROM merge_state WHERE name = 'blocks'")
        if inserts:
            db.executemany(
                "INSERT INTO records (key, source, source_id, library, cluster, data, digest, "
                "isbn, match, work, seen_run, raw, raw_format, first_seen, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
        if updates:
            self._note_changes([(u[-1], u[0]) for u in updates], now)
            db.executemany(
                "UPDATE records SET data = ?, digest = ?, isbn = ?, match = ?, work = ?, "
                "seen_run = ?, raw = ?, raw_format = ?, library = ?, updated_at = ? "
                "WHERE key = ?", updates)
        if unchanged:
            db.executemany("UPDATE records SET seen_run = ? WHERE key = ?", unchanged)
        return outcomes

    def _note_changes(self, updated: Sequence[tuple[str, str]], now: float) -> None:
        """Before (key, new data) rows replace what the store holds: file the description
        changes and the new copies a harvest saw (`harvest.cataloguing_history`)."""
        old: dict[str, str] = {}
        keys = [key for key, _ in updated]
        for start in range(0, len(keys), _PARAMS_PER_QUERY):
            chunk = keys[start:start + _PARAMS_PER_QUERY]
            old.update(self._db.execute(
                f"SELECT key, data FROM records WHERE key IN ({','.join('?' * len(chunk))})",
                chunk))
        changes: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        for key, data in updated:
            if key not in old:
                continue
            change = compare(json.loads(old[key]), json.loads(data))
            if change.modified:
                changes.append((key, now, change.library, change.stamp, change.person))
            items.extend((key, item, library, now, created)
                         for item, library, created in change.new_items)
        self._db.executemany("INSERT INTO record_changes (key, at, library, stamp, person) "
                             "VALUES (?,?,?,?,?)", changes)
        self._db.executemany("INSERT OR IGNORE INTO item_additions (key, item, library, at, "
                             "created) VALUES (?,?,?,?,?)", items)

    def _digests_of(self, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(keys), _PARAMS_PER_QUERY):
            chunk = keys[start:start + _PARAMS_PER_QUERY]
            out.update(self._db.execute(
                f"SELECT key, digest FROM records WHERE key IN ({','.join('?' * len(chunk))})",
                chunk))
        return out

    def digests(self, source: str) -> dict[str, str]:
        """{record key: digest} of every record of `source`: what a bulk load compares its
        rows with (`write_rows`), and what a full one deletes when the files lack it."""
        return dict(self._db.execute("SELECT key, digest FROM records WHERE source = ?",
                                     (source,)))

    def delete(self, key: str) -> str | None:
        """Remove a record; returns the cluster it was in (its index entry must change),
        or None when there was no such record."""
        self._db.execute(_PENDING_FROM_RECORD, (key,))
        row = self._db.execute("DELETE FROM records WHERE key = ? RETURNING cluster",
                               (key,)).fetchone()
        return None if row is None else (row[0] or "")

    def unseen(self, source: str, run: int) -> list[str]:
        """Records of `source` that harvest run `run` did not deliver."""
        return [k for (k,) in self._db.execute(
            "SELECT key FROM records WHERE source = ? AND (seen_run IS NULL OR seen_run != ?)",
            (source, run))]

    def save_checkpoint(self, source: str, state: dict[str, object], final: bool, run: int,
                        full: bool) -> None:
        """Kept in the same transaction as the records before it: commit after this."""
        self._db.execute(
            "INSERT INTO checkpoints (source, state, final, run, full, updated_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(source) DO UPDATE SET state = excluded.state, "
            "final = excluded.final, run = excluded.run, full = excluded.full, "
            "updated_at = excluded.updated_at",
            (source, json.dumps(state), int(final), run, int(full), time.time()),
        )

    def checkpoint(self, source: str) -> SavedCheckpoint | None:
        row = self._db.execute("SELECT state, final, run, full FROM checkpoints WHERE source = ?",
                               (source,)).fetchone()
        if row is None:
            return None
        return SavedCheckpoint(json.loads(row[0]), bool(row[1]), row[2], bool(row[3]))

    def commit(self) -> None:
        self._db.commit()

    # -- bulk loading ------------------------------------------------------------------

    def start_bulk_load(self, drop_indexes: bool = False) -> None:
        """Settings for a bulk import: no fsync per commit (a crash means importing again,
        never a corrupt store: WAL keeps committed transactions whole), a 256 MB page
        cache, temporary b-trees in memory, and fewer WAL checkpoints (each copies pages
        back into the database).  `drop_indexes`: for an empty store, drop the secondary
        indexes of `records` rather than maintain them row by row; `create_indexes`
        builds them once afterwards."""
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-256000")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA wal_autocheckpoint=20000")
        if drop_indexes:
            for (index,) in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                    "tbl_name = 'records' AND sql IS NOT NULL").fetchall():
                self._db.execute(f'DROP INDEX "{index}"')

    def create_indexes(self) -> None:
        """Build any index `start_bulk_load` dropped (the schema's own definitions)."""
        self._db.executescript(SCHEMA)

    def finish_bulk_load(self) -> None:
        """Back to the normal settings, the WAL folded into the database file."""
        self._db.execute("PRAGMA wal_autocheckpoint=1000")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- quarantine --------------------------------------------------------------------

    def quarantine(self, source: str, position: int, reason: str, raw: bytes,
                   record_id: str = "", offset: int | None = None) -> None:
        self.quarantine_many([Rejected(source, position, reason, raw, record_id, offset)])

    def quarantine_many(self, rejected: Iterable[Rejected]) -> None:
        """Keep records that cannot be stored, with their bytes and reasons."""
        now = time.time()
        self._db.executemany(
            "INSERT INTO quarantine (source, position, offset, record_id, reason, raw, at) "
            "VALUES (?,?,?,?,?,?,?)",
            [(r.source, r.position, r.offset, r.record_id, r.reason, r.raw, now)
             for r in rejected])

    def clear_quarantine(self, source: str) -> None:
        """A full re-harvest re-judges every record, so old entries would be duplicates."""
        self._db.execute("DELETE FROM quarantine WHERE source = ?", (source,))

    def quarantined(self, source: str | None = None, limit: int = 1000) -> list[QuarantineEntry]:
        """Entries with their bytes, oldest first."""
        sql = f"SELECT {_QUARANTINE_COLUMNS}, raw, at FROM quarantine"
        args: tuple[object, ...] = ()
        if source:
            sql, args = sql + " WHERE source = ?", (source,)
        rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit))
        return [QuarantineEntry(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), r[7])
                for r in rows]

    def quarantine_entry(self, entry_id: int) -> QuarantineEntry | None:
        row = self._db.execute(f"SELECT {_QUARANTINE_COLUMNS}, raw, at FROM quarantine "
                               "WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            return None
        return QuarantineEntry(row[0], row[1], row[2], row[3], row[4], row[5], bytes(row[6]),
                               row[7])

    def quarantine_summaries(self, source: str = "", limit: int = 50,
                             offset: int = 0) -> list[QuarantineSummary]:
        """A page of entries (of one source, or all), newest first, without their bytes."""
        where, args = ("WHERE source = ?", (source,)) if source else ("", ())
        rows = self._db.execute(
            f"SELECT {_QUARANTINE_COLUMNS}, length(raw), at FROM quarantine {where} "
            "ORDER BY id DESC LIMIT ? OFFSET ?", (*args, limit, offset))
        return [QuarantineSummary(*row) for row in rows]

    def quarantine_count(self, source: str = "") -> int:
        where, args = ("WHERE source = ?", (source,)) if source else ("", ())
        return int(self._db.execute(f"SELECT COUNT(*) FROM quarantine {where}",
                                    args).fetchone()[0])

    def quarantine_sources(self) -> list[str]:
        """Sources with entries in quarantine (a source since removed from config too)."""
        return [s for (s,) in self._db.execute("SELECT DISTINCT source FROM quarantine "
                                               "ORDER BY source")]

    # -- the merge ---------------------------------------------------------------------

    def match_records(self) -> Iterator[MatchRecord]:
        """Every record as the merge step sees it, without decoding full records — except
        where the stored form is missing or from older matching rules: rebuilt then, and
        saved (unless this connection is read-only)."""
        stale: list[tuple[str, str, str]] = []
        yield from _read_match_records(self._db, stale)
        if stale and not self._read_only:
            self._db.executemany("UPDATE records SET match = ?, work = ? WHERE key = ?", stale)
            self._db.commit()

    def clear_match_keys(self, keys: Iterable[str]) -> None:
        """Forget the stored match form of these records: the merge (and the quality scan)
        rebuild it from the record, as for a record stored under older matching rules."""
        keys = list(keys)
        self._db.executemany(_PENDING_FROM_RECORD, [(k,) for k in keys])
        self._db.executemany("UPDATE records SET match = NULL WHERE key = ?",
                             [(k,) for k in keys])

    def links(self) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
        """Librarians' (splits, merges) as record-key pairs, for the merge step."""
        split: set[frozenset[str]] = set()
        merge: set[frozenset[str]] = set()
        for a, b, kind in self._db.execute("SELECT key_a, key_b, kind FROM match_links"):
            (split if kind == "split" else merge).add(frozenset((a, b)))
        return split, merge

    def add_link(self, key_a: str, key_b: str, kind: str, librarian: str = "",
                 reason: str = "") -> None:
        a, b = sorted((key_a, key_b))
        self._db.executemany(_PENDING_FROM_RECORD, [(a,), (b,)])
        self._db.execute(
            "INSERT INTO match_links (key_a, key_b, kind, librarian, reason, at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(key_a, key_b) DO UPDATE SET kind = excluded.kind, "
            "librarian = excluded.librarian, reason = excluded.reason, at = excluded.at",
            (a, b, kind, librarian, reason, time.time()))
        self._db.commit()

    def remove_link(self, key_a: str, key_b: str) -> bool:
        a, b = sorted((key_a, key_b))
        gone = self._db.execute("DELETE FROM match_links WHERE key_a = ? AND key_b = ?",
                                (a, b)).rowcount > 0
        if gone:
            self._db.executemany(_PENDING_FROM_RECORD, [(a,), (b,)])
        self._db.commit()
        return gone

    def cluster_map(self) -> dict[str, str | None]:
        return dict(self._db.execute("SELECT key, cluster FROM records"))

    def set_clusters(self, assignment: Iterable[tuple[str, str]]) -> None:
        """Store (record key, cluster id) pairs computed by the merge step: through a
        temporary table and one UPDATE … FROM, a third faster than an UPDATE per record
        when a bulk import sets a million of them."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS new_clusters "
                         "(key TEXT PRIMARY KEY, cluster TEXT NOT NULL) WITHOUT ROWID")
        try:
            self._db.executemany("INSERT OR REPLACE INTO new_clusters VALUES (?, ?)",
                                 assignment)
            self._db.execute("UPDATE records SET cluster = new_clusters.cluster "
                             "FROM new_clusters WHERE new_clusters.key = records.key")
        finally:  # a failed call must not leave its pairs for the next one to apply
            self._db.execute("DROP TABLE new_clusters")

    # -- the incremental merge (harvest.merge.merge_store) ------------------------------

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        """One write transaction, taken at once (BEGIN IMMEDIATE): a merge's reads and its
        writes see one state of the store, and no harvest writes in between.  Commits at
        the end, rolls back on an exception."""
        self._db.commit()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def pending_summary(self) -> tuple[int, int]:
        """(changes noted since the last merge, the id of the latest): a merge handles the
        changes up to that id; later ones wait for the next merge."""
        count, last = self._db.execute("SELECT COUNT(*), MAX(id) FROM merge_pending").fetchone()
        return int(count), int(last or 0)

    def merge_pending(self, upto: int) -> list[tuple[str, str | None]]:
        """(record key, its match JSON before the change) of every change up to `upto`."""
        return self._db.execute("SELECT key, match FROM merge_pending WHERE id <= ? "
                                "ORDER BY id", (upto,)).fetchall()

    def merge_done(self, upto: int) -> None:
        """The changes up to `upto` are merged."""
        self._db.execute("DELETE FROM merge_pending WHERE id <= ?", (upto,))

    def blocks_version(self) -> str | None:
        """The version of the block table when it mirrors the last merge, else None."""
        row = self._db.execute("SELECT value FROM merge_state WHERE name = 'blocks'").fetchone()
        return None if row is None else str(row[0])

    def replace_match_blocks(self, rows: Iterable[BlockRow], version: str) -> None:
        """The whole block table (a full merge's): rows (block, key, year, flags, sig)
        appended to a scratch table, then copied in key order (the table is clustered on
        (block, key): sorted inserts only)."""
        db = self._db
        db.execute("DELETE FROM match_blocks")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS match_blocks_load "
                   "(block INTEGER, key TEXT, year INTEGER, flags INTEGER, sig INTEGER)")
        try:
            db.executemany("INSERT INTO match_blocks_load VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("INSERT INTO match_blocks (block, key, year, flags, sig) "
                       "SELECT block, key, year, flags, sig FROM match_blocks_load "
                       "ORDER BY block, key")
        finally:
            db.execute("DROP TABLE match_blocks_load")
        db.execute("INSERT INTO merge_state (name, value) VALUES ('blocks', ?) "
                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (version,))

    def update_match_blocks(self, remove: Iterable[tuple[int, str]],
                            add: Iterable[BlockRow]) -> None:
        """Rows (block, key) out, rows (block, key, year, flags, sig) in (or replaced)."""
        self._db.executemany("DELETE FROM match_blocks WHERE block = ? AND key = ?", remove)
        self._db.executemany("INSERT OR REPLACE INTO match_blocks (block, key, year, flags, "
                             "sig) VALUES (?, ?, ?, ?, ?)", add)

    def block_candidates(self, queries: Sequence[CandidateQuery]) -> list[tuple[int, str]]:
        """(query number, record key) of every row that passes its query (block, lowest
        year, highest year, mask, value): filed under the block, its year NULL or within
        the bounds (NULL bounds: any year), and its flags & mask != value.  One statement
        for all queries (a scratch table of them, joined to the block table)."""
        if not queries:
            return []
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS block_queries (n INTEGER PRIMARY KEY, "
                   "block INTEGER, lo INTEGER, hi INTEGER, mask INTEGER, value INTEGER)")
        try:
            db.executemany("INSERT INTO block_queries VALUES (?, ?, ?, ?, ?, ?)",
                           ((n, *q) for n, q in enumerate(queries)))
            return db.execute(
                "SELECT q.n, m.key FROM block_queries q CROSS JOIN match_blocks m "
                "ON m.block = q.block WHERE (m.flags & q.mask) != q.value "
                "AND (q.lo IS NULL OR m.year IS NULL OR m.year BETWEEN q.lo AND q.hi)"
            ).fetchall()
        finally:
            db.execute("DROP TABLE block_queries")

    def block_facts(self, blocks: Iterable[int]) -> dict[int, tuple[str, int, int]]:
        """{block: (its smallest record key, its rows, its distinct signature hashes)} for
        these blocks (absent: no row)."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS block_list (block INTEGER PRIMARY KEY)")
        try:
            db.executemany("INSERT OR IGNORE INTO block_list VALUES (?)",
                           ((b,) for b in blocks))
            return {b: (first, rows, sigs) for b, first, rows, sigs in db.execute(
                "SELECT q.block, MIN(m.key), COUNT(*), COUNT(DISTINCT m.sig) "
                "FROM block_list q CROSS JOIN match_blocks m ON m.block = q.block "
                "GROUP BY q.block")}
        finally:
            db.execute("DROP TABLE block_list")

    def block_repeats(self, block: int) -> list[tuple[int, str, int]]:
        """(signature hash, its smallest record key, rows) of every signature filed more
        than once under the block."""
        return self._db.execute(
            "SELECT sig, MIN(key), COUNT(*) FROM match_blocks WHERE block = ? "
            "GROUP BY sig HAVING COUNT(*) > 1", (block,)).fetchall()

    def block_members(self, blocks: Iterable[int]) -> set[str]:
        """Record keys filed under any of these blocks."""
        out: set[str] = set()
        for chunk in _chunks(list(blocks)):
            out.update(k for (k,) in self._db.execute(
                f"SELECT key FROM match_blocks WHERE block IN ({','.join('?' * len(chunk))})",
                chunk))
        return out

    def block_members_map(self, blocks: Iterable[int]) -> dict[int, list[str]]:
        """{block: record keys filed under it} for these blocks (absent: none)."""
        out: dict[int, list[str]] = {}
        for chunk in _chunks(list(blocks)):
            for block, key in self._db.execute(
                    "SELECT block, key FROM match_blocks WHERE block IN "
                    f"({','.join('?' * len(chunk))})", chunk):
                out.setdefault(block, []).append(key)
        return out

    def match_json(self, keys: Iterable[str]) -> dict[str, str | None]:
        """{record key: stored match JSON} of those of `keys` in the store."""
        return self._column_by_key("match", keys)

    def clusters_of(self, keys: Iterable[str]) -> dict[str, str | None]:
        """{record key: cluster id} of those of `keys` in the store."""
        return self._column_by_key("cluster", keys)

    def _column_by_key(self, column: Literal["match", "cluster"],
                       keys: Iterable[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for chunk in _chunks(list(keys)):
            out.update(self._db.execute(
                f"SELECT key, {column} FROM records WHERE key IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return out

    # -- harvest runs ------------------------------------------------------------------

    def start_harvest(self, source: str) -> int:
        cur = self._db.execute("INSERT INTO harvests (source, started) VALUES (?, ?)",
                               (source, time.time()))
        self._db.commit()
        return int(cur.lastrowid or 0)

    def finish_harvest(self, run_id: int, counts: dict[str, int], error: str | None) -> None:
        self._db.execute(
            "UPDATE harvests SET finished = ?, new = ?, updated = ?, unchanged = ?, "
            "deleted = ?, quarantined = ?, error = ? WHERE id = ?",
            (time.time(), counts.get("new", 0), counts.get("updated", 0),
             counts.get("unchanged", 0), counts.get("deleted", 0),
             counts.get("quarantined", 0), error, run_id),
        )
        self._db.commit()

    def _run_dicts(self, cur: sqlite3.Cursor) -> list[dict[str, Any]]:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def last_harvests(self) -> dict[str, dict[str, object]]:
        """The latest run of each source — the portal shows a dead server from this."""
        cur = self._db.execute(
            "SELECT h.source, h.started, h.finished, h.new, h.updated, h.unchanged, h.deleted, "
            "h.quarantined, h.error FROM harvests h JOIN (SELECT source, MAX(id) AS id FROM "
            "harvests GROUP BY source) last ON last.id = h.id"
        )
        return {run["source"]: run for run in self._run_dicts(cur)}

    def harvest_runs(self, source: str, limit: int = 10) -> list[dict[str, Any]]:
        """The last `limit` runs of one source, newest first: every column of `harvests`."""
        return self._run_dicts(self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM harvests WHERE source = ? ORDER BY id DESC LIMIT ?",
            (source, limit)))

    def last_finished_harvests(self) -> dict[str, dict[str, Any]]:
        """The latest finished run of each source (a run in progress has no duration)."""
        cur = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM harvests h JOIN (SELECT source AS s, MAX(id) AS last "
            "FROM harvests WHERE finished IS NOT NULL GROUP BY source) l ON h.id = l.last")
        return {run["source"]: run for run in self._run_dicts(cur)}

    def harvest_totals(self) -> dict[str, dict[str, Any]]:
        """Per source, over its finished runs: runs, failures, records new, updated,
        deleted and quarantined, and when the last successful one finished."""
        cur = self._db.execute(
            "SELECT source, COUNT(*), SUM(error IS NOT NULL), SUM(new), SUM(updated), "
            "SUM(deleted), SUM(quarantined), MAX(CASE WHEN error IS NULL THEN finished END) "
            "FROM harvests WHERE finished IS NOT NULL GROUP BY source")
        return {source: {"runs": runs, "failures": failures or 0, "new": new or 0,
                         "updated": updated or 0, "deleted": deleted or 0,
                         "quarantined": quarantined or 0, "last_success": last_ok}
                for source, runs, failures, new, updated, deleted, quarantined, last_ok
                in cur}

    def harvest_times(self, keys: Sequence[str]) -> dict[str, float]:
        """When each record's harvested item status was last seen: the start of the
        harvest run that last delivered it (or its last update)."""
        out: dict[str, float] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _PARAMS_PER_QUERY):
            chunk = unique[start:start + _PARAMS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT r.key, COALESCE(h.started, r.updated_at) FROM records r "
                f"LEFT JOIN harvests h ON h.id = r.seen_run WHERE r.key IN ({marks})", chunk)
            out.update({key: float(ts) for key, ts in rows if ts is not None})
        return out

    # -- reading -----------------------------------------------------------------------

    def get(self, key: str) -> Record | None:
        row = self._db.execute("SELECT data FROM records WHERE key = ?", (key,)).fetchone()
        return Record.from_dict(_loads(row[0])) if row else None

    def raw(self, key: str) -> tuple[bytes, str] | None:
        row = self._db.execute("SELECT raw, raw_format FROM records WHERE key = ?",
                               (key,)).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def cluster(self, cluster_id: str) -> list[Record]:
        rows = self._db.execute("SELECT data FROM records WHERE cluster = ? ORDER BY key",
                                (cluster_id,))
        return [Record.from_dict(_loads(r[0])) for r in rows]

    def entry_times(self, cluster_id: str) -> tuple[float, float]:
        """When the catalogue first had one of the entry's records, and when one last
        changed (0, 0 for no such entry) — what an Atom feed of a search calls "new"."""
        row = self._db.execute("SELECT MIN(first_seen), MAX(updated_at) FROM records "
                               "WHERE cluster = ?", (cluster_id,)).fetchone()
        return (float(row[0] or 0), float(row[1] or 0)) if row else (0.0, 0.0)

    def cluster_of(self, key: str) -> str | None:
        row = self._db.execute("SELECT cluster FROM records WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def other_editions(self, cluster_id: str, limit: int = 20) -> list[str]:
        """Clusters of the same work (title, first author, volume) — other editions."""
        rows = self._db.execute(
            "SELECT DISTINCT r2.cluster FROM records r1 JOIN records r2 ON r2.work = r1.work "
            # r2.work != '' lets SQLite use the partial index on work; without it the
            # planner scans every cluster (16 ms a record page at 4,000 records).
            "WHERE r1.cluster = ? AND r1.work != '' AND r2.work != '' AND r2.cluster != ? "
            "ORDER BY r2.cluster LIMIT ?", (cluster_id, cluster_id, limit))
        return [c for (c,) in rows if c]

    def records(self, source: str | None = None) -> Iterator[Record]:
        sql = "SELECT data FROM records"
        args: tuple[str, ...] = ()
        if source:
            sql, args = sql + " WHERE source = ?", (source,)
        for (data,) in self._db.execute(sql + " ORDER BY key", args):
            yield Record.from_dict(_loads(data))

    def stored_rows(self, source: str | None = None
                    ) -> Iterator[tuple[StoredRow, int | None]]:
        """Every record (of `source`) as `write_rows` wrote it, with the harvest run that
        last delivered it, by key: to compare two stores, or two ways of filling one."""
        sql = ("SELECT key, source, source_id, library, data, digest, isbn, match, work, raw, "
               "raw_format, cluster, seen_run FROM records")
        args: tuple[str, ...] = ()
        if source:
            sql, args = sql + " WHERE source = ?", (source,)
        for r in self._db.execute(sql + " ORDER BY key", args):
            yield StoredRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bytes(r[9]),
                            r[10], r[11]), r[12]

    def keys(self, source: str) -> set[str]:
        return {k for (k,) in self._db.execute("SELECT key FROM records WHERE source = ?",
                                               (source,))}

    def record_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def clusters(self, low: str | None = None, high: str | None = None
                 ) -> Iterator[tuple[str, list[Record]]]:
        """Every merged entry with its records, in cluster order (a full index build), or
        those with ids in [low, high) (one bulk index worker's share)."""
        where, args = ["cluster IS NOT NULL"], []
        if low is not None:
            where.append("cluster >= ?")
            args.append(low)
        if high is not None:
            where.append("cluster < ?")
            args.append(high)
        return records_by_cluster(self._db.execute(
            f"SELECT cluster, data FROM records WHERE {' AND '.join(where)} "
            "ORDER BY cluster, key", args))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per source: records held and records in quarantine."""
        out: dict[str, dict[str, int]] = {}
        for source, n in self._db.execute(
                "SELECT source, COUNT(*) FROM records GROUP BY source"):
            out.setdefault(source, {"records": 0, "quarantined": 0})["records"] = n
        for source, n in self._db.execute(
            "SELECT source, COUNT(*) FROM quarantine GROUP BY source"
        ):
            out.setdefault(source, {"records": 0, "quarantined": 0})["quarantined"] = n
        return out

    # -- entry lineage (harvest.lineage) ----------------------------------------------

    def entry_members(self, entries: Collection[str] | None = None
                      ) -> dict[str, list[MemberRow]]:
        """{entry: its records} now, for `entries` (every entry when None)."""
        sql = ("SELECT cluster, key, digest, library, COALESCE(json_extract(data, "
               "'$.clc_top'), ''), COALESCE(json_extract(data, '$.online_url'), '') != '', "
               "(SELECT group_concat(json_extract(value, '$.library'), ' ') FROM "
               "json_each(data, '$.holdings')) FROM records")
        out: dict[str, list[MemberRow]] = {}

        def collect(rows: Iterable[tuple[Any, ...]]) -> None:
            for cluster, key, digest, library, clc_top, online, held in rows:
                out.setdefault(cluster, []).append(MemberRow(
                    key, digest, library, clc_top or "", bool(online), (held or "").split()))

        if entries is None:
            collect(self._db.execute(sql + " WHERE cluster IS NOT NULL AND cluster != ''"))
            return out
        wanted = list(entries)
        for start in range(0, len(wanted), _PARAMS_PER_QUERY):
            chunk = wanted[start:start + _PARAMS_PER_QUERY]
            collect(self._db.execute(
                sql + f" WHERE cluster IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def lineage_rows(self, entries: Collection[str] | None = None) -> dict[str, LineageRow]:
        """The lineage of `entries` (of every entry not deleted, when None)."""
        if entries is None:
            return {r[0]: _lineage_row(r) for r in self._db.execute(
                f"SELECT {_LINEAGE_COLUMNS} FROM entry_lineage WHERE deleted = 0")}
        out: dict[str, LineageRow] = {}
        wanted = list(entries)
        for start in range(0, len(wanted), _PARAMS_PER_QUERY):
            chunk = wanted[start:start + _PARAMS_PER_QUERY]
            out.update((r[0], _lineage_row(r)) for r in self._db.execute(
                f"SELECT {_LINEAGE_COLUMNS} FROM entry_lineage WHERE entry IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return out

    def entry_ids(self) -> list[str]:
        """Every entry (cluster) id the records name now."""
        return [c for (c,) in self._db.execute(
            "SELECT DISTINCT cluster FROM records WHERE cluster IS NOT NULL AND cluster != ''")]

    def member_digests(self) -> Generator[tuple[str, str, str], None, None]:
        """(entry, record key, record digest) of every record, by entry: what a full
        lineage refresh compares, without decoding any record."""
        cur = self._db.execute("SELECT cluster, key, digest FROM records WHERE cluster IS NOT "
                               "NULL AND cluster != '' ORDER BY cluster")
        try:
            yield from cur
        finally:
            cur.close()

    def lineage_digests(self, entries: Sequence[str]) -> dict[str, str]:
        """{entry: its recorded digest} of those of `entries` the lineage holds as
        existing."""
        out: dict[str, str] = {}
        for start in range(0, len(entries), _PARAMS_PER_QUERY):
            chunk = entries[start:start + _PARAMS_PER_QUERY]
            out.update(self._db.execute(
                "SELECT entry, digest FROM entry_lineage WHERE deleted = 0 AND entry IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return out

    def vanished_entries(self) -> list[str]:
        """Entries the lineage holds as existing that no record names any more."""
        return [e for (e,) in self._db.execute(
            "SELECT entry FROM entry_lineage l WHERE deleted = 0 AND NOT EXISTS "
            "(SELECT 1 FROM records r WHERE r.cluster = l.entry)")]

    def lineage(self, entry: str) -> LineageRow | None:
        row = self._db.execute(f"SELECT {_LINEAGE_COLUMNS} FROM entry_lineage WHERE entry = ?",
                               (entry,)).fetchone()
        return _lineage_row(row) if row else None

    def save_lineage(self, rows: Iterable[LineageRow]) -> None:
        """Insert or replace lineage rows; commit afterwards."""
        self._db.executemany(
            f"INSERT OR REPLACE INTO entry_lineage ({_LINEAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
            [(r.entry, json.dumps(r.keys, ensure_ascii=False), r.digest, r.changed,
              int(r.deleted), json.dumps(r.successors, ensure_ascii=False), " ".join(r.sets))
             for r in rows])

    def entries_of(self, keys: Iterable[str]) -> set[str]:
        """The entries these records are in now (records gone since are skipped)."""
        return {c for c in self.clusters_of(keys).values() if c}

    @staticmethod
    def _lineage_where(since: float | None, until: float | None,
                       set_spec: str | None) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("changed >= ?")
            args.append(since)
        if until is not None:
            where.append("changed < ?")
            args.append(until)
        if set_spec:  # the set itself or, for a hierarchy's node, any set below it
            escaped = (set_spec.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_"))
            where.append("((' ' || sets || ' ') LIKE ? ESCAPE '\\' "
                         "OR (' ' || sets) LIKE ? ESCAPE '\\')")
            args += [f"% {escaped} %", f"% {escaped}:%"]
        return where, args

    def lineage_page(self, since: float | None, until: float | None, set_spec: str | None,
                     after: tuple[float, str] | None, limit: int) -> list[LineageRow]:
        """Entries changed in [since, until) (in `set_spec`), in (changed, entry) order from
        after `after`: the pages of an OAI-PMH list, stable while entries change."""
        where, args = self._lineage_where(since, until, set_spec)
        if after is not None:
            where.append("(changed > ? OR (changed = ? AND entry > ?))")
            args += [after[0], after[0], after[1]]
        sql = f"SELECT {_LINEAGE_COLUMNS} FROM entry_lineage"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_lineage_row(r) for r in self._db.execute(
            sql + " ORDER BY changed, entry LIMIT ?", (*args, limit))]

    def lineage_count(self, since: float | None, until: float | None,
                      set_spec: str | None) -> int:
        where, args = self._lineage_where(since, until, set_spec)
        sql = "SELECT COUNT(*) FROM entry_lineage"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return int(self._db.execute(sql, args).fetchone()[0])

    def lineage_span(self) -> tuple[float, float] | None:
        """(earliest, latest) change time: Identify's earliestDatestamp."""
        row = self._db.execute("SELECT MIN(changed), MAX(changed) FROM entry_lineage").fetchone()
        return None if row is None or row[0] is None else (float(row[0]), float(row[1]))

    # -- the quality review (harvest.quality, harvest.quality_report) -----------------

    def scan_records(self) -> Generator[ScanRow, None, None]:
        """Every record, one row at a time in table order, for the quality scan: never the
        whole table in memory.  Close it when stopping early: an open cursor keeps the
        table locked."""
        cur = self._db.execute(
            "SELECT r.rowid, r.key, r.source, r.library, r.cluster, r.isbn, r.work, r.data, "
            "r.digest, f.digest, f.findings FROM records r "
            "LEFT JOIN marc_findings f ON f.key = r.key")
        try:
            yield from cur
        finally:
            cur.close()

    @contextmanager
    def isbn_scratch(self) -> Iterator[IsbnScratch]:
        """An empty `IsbnScratch` for one quality scan, dropped when the scan ends."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS quality_isbns "
                         "(isbn TEXT, rid INTEGER, work TEXT)")
        self._db.execute("DELETE FROM temp.quality_isbns")
        try:
            yield IsbnScratch(self._db)
        finally:
            self._db.execute("DROP TABLE IF EXISTS temp.quality_isbns")

    def record_brief(self, rowid: int) -> tuple[str, str, str, str, str] | None:
        """(key, library, cluster, title, first author) of the record at `rowid` (a scan's
        handle on a record), read out of its JSON by SQLite: what a detail line names."""
        row = self._db.execute(
            "SELECT key, COALESCE(NULLIF(json_extract(data, '$.catalogued_by'), ''), library), "
            "cluster, json_extract(data, '$.title'), "
            "json_extract(data, '$.authors[0].name') FROM records WHERE rowid = ?",
            (rowid,)).fetchone()
        if row is None:
            return None
        key, library, cluster, title, author = row
        return key, library, cluster or "", title or "", author or ""

    def record_at(self, rowid: int) -> Record | None:
        row = self._db.execute("SELECT data FROM records WHERE rowid = ?", (rowid,)).fetchone()
        return Record.from_dict(_loads(row[0])) if row else None

    def match_rows(self, rowids: Sequence[int]) -> Iterator[tuple[int, str, str | None]]:
        """(rowid, key, stored match JSON) of the records at `rowids`, a few hundred per
        query."""
        for start in range(0, len(rowids), _PARAMS_PER_QUERY):
            chunk = rowids[start:start + _PARAMS_PER_QUERY]
            yield from self._db.execute(
                "SELECT rowid, key, match FROM records WHERE rowid IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall()

    def temp_tables(self) -> list[str]:
        """Temporary tables on this connection: none is left once a method returns."""
        return [name for (name,) in self._db.execute(
            "SELECT name FROM sqlite_temp_master WHERE type = 'table'")]

    def replace_quality_report(self, problems: Iterable[ProblemRow],
                               snapshots: Callable[[], Iterable[SnapshotRow]]) -> None:
        """Replace the stored problem list with `problems` and upsert `snapshots()` (called
        once `problems` is exhausted: the counts come from the scan behind it).

        Problems go to a temporary table while the scan reads (no lock on the store for
        the minute a big scan takes — harvests keep writing); the swap into the real table
        is one short write transaction at the end, so readers see the old run or the new,
        never half.  If `problems` raises, nothing is saved."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS quality_new (library TEXT, kind TEXT, "
                   "key TEXT, cluster TEXT, title TEXT, detail TEXT)")
        db.execute("DELETE FROM temp.quality_new")
        batch: list[ProblemRow] = []
        insert = "INSERT INTO temp.quality_new VALUES (?,?,?,?,?,?)"
        try:
            for problem in problems:
                batch.append(problem)
                if len(batch) >= _QUALITY_BATCH:
                    db.executemany(insert, batch)
                    batch.clear()
            db.executemany(insert, batch)
        except BaseException:
            db.rollback()
            db.execute("DROP TABLE IF EXISTS temp.quality_new")
            raise
        db.commit()  # ends the scan's read transaction: the write below must not upgrade it
        rows = list(snapshots())
        db.execute("BEGIN IMMEDIATE")
        try:
            self._save_marc_findings()
            db.execute("DELETE FROM quality_problems")
            db.execute("INSERT INTO quality_problems (library, kind, key, cluster, title, "
                       "detail) SELECT library, kind, key, cluster, title, detail FROM "
                       "temp.quality_new ORDER BY rowid")
            db.executemany(
                "INSERT INTO quality_snapshots (library, month, computed, records, holdings, "
                "counts) VALUES (?,?,?,?,?,?) ON CONFLICT(library, month) DO UPDATE SET "
                "computed = excluded.computed, records = excluded.records, "
                "holdings = excluded.holdings, counts = excluded.counts", rows)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.execute("DROP TABLE IF EXISTS temp.quality_new")

    def latest_quality_snapshots(self) -> list[SnapshotRow]:
        """Each library's most recent snapshot, by library."""
        return self._db.execute(
            _SNAPSHOT + " s WHERE month = (SELECT MAX(month) FROM quality_snapshots "
            "WHERE library = s.library) ORDER BY library").fetchall()

    def quality_history(self, library: str, months: int = 12) -> list[SnapshotRow]:
        """A library's last `months` snapshots, newest first."""
        return self._db.execute(_SNAPSHOT + " WHERE library = ? ORDER BY month DESC "
                                "LIMIT ?", (library, months)).fetchall()

    def quality_problems(self, library: str, kind: str | None = None, after: int = 0,
                         limit: int = 100) -> list[tuple[int, ProblemRow]]:
        """(id, problem) of the latest run in run order, from after the id `after`: a long
        export pages by key, not offset."""
        sql = ("SELECT id, library, kind, key, cluster, title, detail FROM quality_problems "
               "WHERE library = ? AND id > ?")
        args: tuple[Any, ...] = (library, after)
        if kind:
            sql, args = sql + " AND kind = ?", (*args, kind)
        return [(row[0], row[1:]) for row in self._db.execute(sql + " ORDER BY id LIMIT ?",
                                                              (*args, limit))]


@dataclass(slots=True)
class LineageRow:
    """One merged entry as the outside world has known it (`harvest.lineage`)."""

    entry: str
    keys: list[str]  # its record keys (the last ones, once deleted)
    digest: str
    changed: float  # when it last changed
    deleted: bool = False
    successors: list[str] = field(default_factory=list)  # where its records went
    sets: list[str] = field(default_factory=list)  # OAI-PMH setSpecs


@dataclass(slots=True)
class MemberRow:
    """What the lineage needs of one record of an entry, read by SQLite out of its JSON."""

    key: str
    digest: str
    library: str
    clc_top: str
    online: bool  # a digitized document (online_url)
    holding_libraries: list[str]


_LINEAGE_COLUMNS = "entry, keys, digest, changed, deleted, successors, sets"


def _lineage_row(row: tuple[Any, ...]) -> LineageRow:
    return LineageRow(row[0], json.loads(row[1]), row[2], float(row[3]), bool(row[4]),
                      json.loads(row[5]), row[6].split())


def records_by_cluster(rows: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[Record]]]:
    """(cluster id, records) from (cluster, record JSON) rows ordered by cluster."""
    current: str | None = None
    group: list[Record] = []
    for cluster, data in rows:
        if cluster != current and group:
            yield current or "", group
            group = []
        current = cluster
        group.append(Record.from_dict(_loads(data)))
    if group:
        yield current or "", group


def open_store(config: Config) -> RecordStore:
    """The store config.yaml names (`store.path`)."""
    return RecordStore(config.resolve(config.store_path))
