"""The record store (SQLite): every normalized record beside its raw original, and quarantine.

The index is disposable; this is not.  Everything the portal shows can be rebuilt from
here alone (`tongjian index --rebuild`), and a record that failed to parse is kept
byte-for-byte with its reason so a cataloguer can look at it and nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.model import Record
from harvest.matching import MatchRecord


def work_key(m: MatchRecord) -> str:
    """Same title proper, first author and volume = the same work (other editions of it);
    without an author a title alone (诗经, 年鉴) names too many works to link."""
    return f"{m.title}|{m.author}|{m.volume}" if m.title and m.author else ""

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
"""


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


def read_match_records(db: sqlite3.Connection,
                       stale: list[tuple[str, str, str]]) -> Iterator[MatchRecord]:
    """`RecordStore.match_records` on any connection (a merge worker's is read-only): the
    records it had to rebuild go to `stale` as (match JSON, work key, record key)."""
    for key, match in db.execute("SELECT key, match FROM records"):
        try:
            yield MatchRecord.from_json(match)
        except (TypeError, ValueError):
            row = db.execute("SELECT data FROM records WHERE key = ?", (key,)).fetchone()
            fresh = MatchRecord.from_record(Record.from_dict(json.loads(row[0])))
            stale.append((fresh.to_json(), work_key(fresh), key))
            yield fresh


class RecordStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # The portal reads and scheduled harvests write through separate connections.
        self.db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def _wal(self) -> None:
        """Switch to WAL (persistent in the file).  The switch takes an exclusive lock and
        SQLite does not wait for it, so two processes opening a new store at once retry."""
        for attempt in range(50):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------

    def put(self, record: Record, raw: bytes, raw_format: str, run: int | None = None) -> str:
        """Insert or update; returns 'new', 'updated' or 'unchanged'."""
        data = json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha1(data.encode("utf-8"), usedforsecurity=False).hexdigest()
        now = time.time()
        row = self.db.execute("SELECT digest FROM records WHERE key = ?", (record.key,)).fetchone()
        if row is not None and row[0] == digest:
            self.db.execute("UPDATE records SET seen_run = ? WHERE key = ?", (run, record.key))
            return "unchanged"
        isbn = " ".join(record.isbn)
        match = MatchRecord.from_record(record)
        work = work_key(match)
        if row is None:
            self.db.execute(
                "INSERT INTO records (key, source, source_id, library, data, digest, isbn, "
                "match, work, seen_run, raw, raw_format, first_seen, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.key, record.source, record.source_id, record.library, data, digest,
                 isbn, match.to_json(), work, run, raw, raw_format, now, now),
            )
            return "new"
        self.db.execute(
            "UPDATE records SET data = ?, digest = ?, isbn = ?, match = ?, work = ?, "
            "seen_run = ?, raw = ?, raw_format = ?, library = ?, updated_at = ? WHERE key = ?",
            (data, digest, isbn, match.to_json(), work, run, raw, raw_format, record.library,
             now, record.key),
        )
        return "updated"

    def delete(self, key: str) -> str | None:
        """Remove a record; returns the cluster it was in (its index entry must change),
        or None when there was no such record."""
        row = self.db.execute("DELETE FROM records WHERE key = ? RETURNING cluster",
                              (key,)).fetchone()
        return None if row is None else (row[0] or "")

    def unseen(self, source: str, run: int) -> list[str]:
        """Records of `source` that harvest run `run` did not deliver."""
        return [k for (k,) in self.db.execute(
            "SELECT key FROM records WHERE source = ? AND (seen_run IS NULL OR seen_run != ?)",
            (source, run))]

    def save_checkpoint(self, source: str, state: dict[str, object], final: bool, run: int,
                        full: bool) -> None:
        """Kept in the same transaction as the records before it: commit after this."""
        self.db.execute(
            "INSERT INTO checkpoints (source, state, final, run, full, updated_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(source) DO UPDATE SET state = excluded.state, "
            "final = excluded.final, run = excluded.run, full = excluded.full, "
            "updated_at = excluded.updated_at",
            (source, json.dumps(state), int(final), run, int(full), time.time()),
        )

    def checkpoint(self, source: str) -> SavedCheckpoint | None:
        row = self.db.execute("SELECT state, final, run, full FROM checkpoints WHERE source = ?",
                              (source,)).fetchone()
        if row is None:
            return None
        return SavedCheckpoint(json.loads(row[0]), bool(row[1]), row[2], bool(row[3]))

    def quarantine(self, source: str, position: int, reason: str, raw: bytes,
                   record_id: str = "", offset: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO quarantine (source, position, offset, record_id, reason, raw, at) "
            "VALUES (?,?,?,?,?,?,?)",
            (source, position, offset, record_id, reason, raw, time.time()),
        )

    def clear_quarantine(self, source: str) -> None:
        """A full re-harvest re-judges every record, so old entries would be duplicates."""
        self.db.execute("DELETE FROM quarantine WHERE source = ?", (source,))

    def match_records(self) -> Iterator[MatchRecord]:
        """Every record as the merge step sees it, without decoding full records — except
        where the stored form is missing or from older matching rules: rebuilt then."""
        stale: list[tuple[str, str, str]] = []
        yield from read_match_records(self.db, stale)
        if stale:
            self.db.executemany("UPDATE records SET match = ?, work = ? WHERE key = ?", stale)
            self.db.commit()

    def other_editions(self, cluster_id: str, limit: int = 20) -> list[str]:
        """Clusters of the same work (title, first author, volume) — other editions."""
        rows = self.db.execute(
            "SELECT DISTINCT r2.cluster FROM records r1 JOIN records r2 ON r2.work = r1.work "
            # r2.work != '' lets SQLite use the partial index on work; without it the
            # planner scans every cluster (16 ms a record page at 4,000 records).
            "WHERE r1.cluster = ? AND r1.work != '' AND r2.work != '' AND r2.cluster != ? "
            "ORDER BY r2.cluster LIMIT ?", (cluster_id, cluster_id, limit))
        return [c for (c,) in rows if c]

    def links(self) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
        """Librarians' (splits, merges) as record-key pairs, for the merge step."""
        split: set[frozenset[str]] = set()
        merge: set[frozenset[str]] = set()
        for a, b, kind in self.db.execute("SELECT key_a, key_b, kind FROM match_links"):
            (split if kind == "split" else merge).add(frozenset((a, b)))
        return split, merge

    def add_link(self, key_a: str, key_b: str, kind: str, librarian: str = "",
                 reason: str = "") -> None:
        a, b = sorted((key_a, key_b))
        self.db.execute(
            "INSERT INTO match_links (key_a, key_b, kind, librarian, reason, at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(key_a, key_b) DO UPDATE SET kind = excluded.kind, "
            "librarian = excluded.librarian, reason = excluded.reason, at = excluded.at",
            (a, b, kind, librarian, reason, time.time()))
        self.db.commit()

    def remove_link(self, key_a: str, key_b: str) -> bool:
        a, b = sorted((key_a, key_b))
        gone = self.db.execute("DELETE FROM match_links WHERE key_a = ? AND key_b = ?",
                               (a, b)).rowcount > 0
        self.db.commit()
        return gone

    def cluster_map(self) -> dict[str, str | None]:
        return dict(self.db.execute("SELECT key, cluster FROM records"))

    def set_clusters(self, assignment: Iterable[tuple[str, str]]) -> None:
        """Store (record key, cluster id) pairs computed by the merge step: through a
        temporary table and one UPDATE … FROM, a third faster than an UPDATE per record
        when a bulk import sets a million of them."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS new_clusters "
                        "(key TEXT PRIMARY KEY, cluster TEXT NOT NULL) WITHOUT ROWID")
        try:
            self.db.executemany("INSERT OR REPLACE INTO new_clusters VALUES (?, ?)",
                                assignment)
            self.db.execute("UPDATE records SET cluster = new_clusters.cluster "
                            "FROM new_clusters WHERE new_clusters.key = records.key")
        finally:  # a failed call must not leave its pairs for the next one to apply
            self.db.execute("DROP TABLE new_clusters")

    def commit(self) -> None:
        self.db.commit()

    # -- harvest runs ------------------------------------------------------------------

    def start_harvest(self, source: str) -> int:
        cur = self.db.execute("INSERT INTO harvests (source, started) VALUES (?, ?)",
                              (source, time.time()))
        self.db.commit()
        return int(cur.lastrowid or 0)

    def finish_harvest(self, run_id: int, counts: dict[str, int], error: str | None) -> None:
        self.db.execute(
            "UPDATE harvests SET finished = ?, new = ?, updated = ?, unchanged = ?, "
            "deleted = ?, quarantined = ?, error = ? WHERE id = ?",
            (time.time(), counts.get("new", 0), counts.get("updated", 0),
             counts.get("unchanged", 0), counts.get("deleted", 0),
             counts.get("quarantined", 0), error, run_id),
        )
        self.db.commit()

    def last_harvests(self) -> dict[str, dict[str, object]]:
        """The latest run of each source — the portal shows a dead server from this."""
        cur = self.db.execute(
            "SELECT h.source, h.started, h.finished, h.new, h.updated, h.unchanged, h.deleted, "
            "h.quarantined, h.error FROM harvests h JOIN (SELECT source, MAX(id) AS id FROM "
            "harvests GROUP BY source) last ON last.id = h.id"
        )
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur}

    # -- reading -----------------------------------------------------------------------

    def get(self, key: str) -> Record | None:
        row = self.db.execute("SELECT data FROM records WHERE key = ?", (key,)).fetchone()
        return Record.from_dict(json.loads(row[0])) if row else None

    def raw(self, key: str) -> tuple[bytes, str] | None:
        row = self.db.execute("SELECT raw, raw_format FROM records WHERE key = ?",
                              (key,)).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def cluster(self, cluster_id: str) -> list[Record]:
        rows = self.db.execute("SELECT data FROM records WHERE cluster = ? ORDER BY key",
                               (cluster_id,))
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def cluster_of(self, key: str) -> str | None:
        row = self.db.execute("SELECT cluster FROM records WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def records(self, source: str | None = None) -> Iterator[Record]:
        sql, args = "SELECT data FROM records", ()
        if source:
            sql, args = sql + " WHERE source = ?", (source,)
        for (data,) in self.db.execute(sql + " ORDER BY key", args):
            yield Record.from_dict(json.loads(data))

    def keys(self, source: str) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT key FROM records WHERE source = ?",
                                              (source,))}

    def clusters(self) -> Iterator[tuple[str, list[Record]]]:
        """Every merged entry with its records, in cluster order (for a full index build)."""
        return records_by_cluster(self.db.execute(
            "SELECT cluster, data FROM records WHERE cluster IS NOT NULL ORDER BY cluster, key"))

    def quarantined(self, source: str | None = None, limit: int = 1000) -> list[QuarantineEntry]:
        sql = "SELECT id, source, position, offset, record_id, reason, raw, at FROM quarantine"
        args: tuple[object, ...] = ()
        if source:
            sql, args = sql + " WHERE source = ?", (source,)
        rows = self.db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit))
        return [QuarantineEntry(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), r[7])
                for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per source: records held and records in quarantine."""
        out: dict[str, dict[str, int]] = {}
        for source, n in self.db.execute("SELECT source, COUNT(*) FROM records GROUP BY source"):
            out.setdefault(source, {"records": 0, "quarantined": 0})["records"] = n
        for source, n in self.db.execute(
            "SELECT source, COUNT(*) FROM quarantine GROUP BY source"
        ):
            out.setdefault(source, {"records": 0, "quarantined": 0})["quarantined"] = n
        return out


def records_by_cluster(rows: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[Record]]]:
    """(cluster id, records) from (cluster, record JSON) rows ordered by cluster."""
    current: str | None = None
    group: list[Record] = []
    for cluster, data in rows:
        if cluster != current and group:
            yield current or "", group
            group = []
        current = cluster
        group.append(Record.from_dict(json.loads(data)))
    if group:
        yield current or "", group


def open_store(config: Config) -> RecordStore:
    """The store config.yaml names (`store.path`)."""
    return RecordStore(config.resolve(config.store_path))
