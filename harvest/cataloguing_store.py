"""The record store's SQL for the cataloguing centre: quantity per member and month,
quality problems by the month a record was made, reviewer accounts, reviews, audit.

A mixin of `harvest.store.RecordStore` (the one place that speaks SQL to the store),
kept in its own file because it is one concern with its own tables
(`harvest.cataloguing_schema`).  Months are Beijing time, YYYY-MM.  A record's month is
the date its source gives for its making (`created`), else the day a harvest first saw
it: a catalogue counted since 2007 must not put fifteen years of retro-conversion into
the month of the first harvest.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

_LOCAL = "'unixepoch', '+8 hours'"
RECORD_MONTH = (f"substr(COALESCE(NULLIF(json_extract(r.data, '$.created'), ''), "
                f"date(r.first_seen, {_LOCAL})), 1, 7)")
MEMBER = "COALESCE(NULLIF(json_extract(r.data, '$.catalogued_by'), ''), r.library)"
CATALOGUER = "COALESCE(json_extract(r.data, '$.cataloguer'), '')"

#: (member, month, count) rows.
Counts = list[tuple[str, str, int]]
#: A review as stored: (id, key, month, reviewer, member, verdict, rule, note, digest,
#: state, at).
ReviewRow = tuple[int, str, str, str, str, str, str, str, str, str, float]
_REVIEW = ("SELECT id, key, month, reviewer, member, verdict, rule, note, digest, state, at "
           "FROM reviews")


class CataloguingQueries:
    _db: sqlite3.Connection

    # -- quantity --------------------------------------------------------------------

    def cataloguing_version(self) -> tuple[Any, ...]:
        """Changes whenever a figure of the summary or a review list may have: a harvest
        or import run (started or finished), a quality run, any review action (all are
        audited).  Cheap: the portal keys its cached summaries with it."""
        row: tuple[Any, ...] = self._db.execute(
            "SELECT (SELECT MAX(id) FROM harvests), (SELECT MAX(finished) FROM harvests), "
            "(SELECT MAX(computed) FROM quality_snapshots), (SELECT MAX(id) FROM review_audit)"
        ).fetchone()
        return row

    def new_records_by_month(self, since: str) -> Counts:
        return self._db.execute(
            f"SELECT {MEMBER} AS member, {RECORD_MONTH} AS month, COUNT(*) FROM records r "
            "GROUP BY member, month HAVING month >= ? ORDER BY member, month",
            (since,)).fetchall()

    def modified_records_by_month(self, since: str) -> Counts:
        return self._db.execute(
            f"SELECT library, strftime('%Y-%m', at, {_LOCAL}) AS month, COUNT(DISTINCT key) "
            "FROM record_changes GROUP BY library, month HAVING month >= ? "
            "ORDER BY library, month", (since,)).fetchall()

    def new_items_by_month(self, since: str) -> Counts:
        """Copies by their own date, never before their record's month (a copy dated
        before its record joined the union catalogue is a migration's date, not work);
        a copy that appeared on a record already stored counts in the month a harvest
        saw it."""
        rows: dict[tuple[str, str], int] = {}
        for member, month, n in self._db.execute(
                "SELECT COALESCE(NULLIF(json_extract(h.value, '$.library'), ''), r.library), "
                f"MAX(COALESCE(substr(NULLIF(json_extract(h.value, '$.created'), ''), 1, 7), "
                f"''), {RECORD_MONTH}) AS month, "
                "SUM(MAX(COALESCE(json_extract(h.value, '$.copies'), 1), 1)) "
                "FROM records r, json_each(r.data, '$.holdings') h GROUP BY 1, 2"):
            rows[member, month] = rows.get((member, month), 0) + int(n)
        for member, counted, seen in self._db.execute(
                f"SELECT a.library, {RECORD_MONTH}, strftime('%Y-%m', a.at, {_LOCAL}) "
                "FROM item_additions a JOIN records r ON r.key = a.key WHERE a.created = ''"):
            rows[member, counted] = rows.get((member, counted), 0) - 1
            rows[member, seen] = rows.get((member, seen), 0) + 1
        return sorted((m, mo, n) for (m, mo), n in rows.items() if mo >= since and n > 0)

    # -- per cataloguer (a person, where the source's records name one) ---------------

    def new_records_by_cataloguer(self, since: str) -> list[tuple[str, str, str, int]]:
        """(member, cataloguer, month, records) of the records that name who made them."""
        return self._db.execute(
            f"SELECT {MEMBER} AS member, {CATALOGUER} AS person, {RECORD_MONTH} AS month, "
            "COUNT(*) FROM records r WHERE person != '' GROUP BY member, person, month "
            "HAVING month >= ?", (since,)).fetchall()

    def modified_records_by_cataloguer(self, since: str) -> list[tuple[str, str, str, int]]:
        """(member, person, month, records) of the changes that name who made them."""
        return self._db.execute(
            f"SELECT library, person, strftime('%Y-%m', at, {_LOCAL}) AS month, "
            "COUNT(DISTINCT key) FROM record_changes WHERE person != '' "
            "GROUP BY library, person, month HAVING month >= ?", (since,)).fetchall()

    def problems_by_cataloguer(self, month: str) -> list[tuple[str, str, int]]:
        """(member, cataloguer, problems) of the latest quality run in the records the
        cataloguer made in `month` (counted as per member: one per record and rule)."""
        return self._db.execute(
            f"SELECT q.library, {CATALOGUER} AS person, COUNT(*) FROM quality_problems q "
            f"JOIN records r ON r.key = q.key WHERE {RECORD_MONTH} = ? AND person != '' "
            "GROUP BY q.library, person", (month,)).fetchall()

    def problems_by_month(self, since: str) -> list[tuple[str, str, str, int]]:
        """(member, month the record was made, rule, records) of the latest quality run."""
        return self._db.execute(
            f"SELECT q.library, {RECORD_MONTH} AS month, q.kind, COUNT(*) FROM "
            "quality_problems q JOIN records r ON r.key = q.key "
            "GROUP BY q.library, month, q.kind HAVING month >= ?", (since,)).fetchall()

    def month_problems(self, library: str, month: str, limit: int = 500
                       ) -> list[tuple[str, str, str, str, str]]:
        """(key, rule, cluster, title, detail) of the latest quality run's problems of
        `library` in records made in `month`: the member's own list to work through."""
        return self._db.execute(
            "SELECT q.key, q.kind, q.cluster, q.title, q.detail FROM quality_problems q "
            f"JOIN records r ON r.key = q.key WHERE q.library = ? AND {RECORD_MONTH} = ? "
            "ORDER BY q.key, q.id LIMIT ?", (library, month, limit)).fetchall()

    def new_record_keys(self, month: str, members: list[str]
                        ) -> list[tuple[str, str, str, str]]:
        """(key, member, title, cataloguer) of the records the members made in `month`,
        by key (cataloguer '' where the record names none)."""
        if not members:
            return []
        marks = ",".join("?" * len(members))
        return self._db.execute(
            f"SELECT r.key, {MEMBER} AS member, COALESCE(json_extract(r.data, '$.title'), ''), "
            f"{CATALOGUER} FROM records r WHERE {RECORD_MONTH} = ? AND member IN ({marks}) "
            "ORDER BY r.key", (month, *members)).fetchall()

    def record_digest(self, key: str) -> str | None:
        row = self._db.execute("SELECT digest FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def record_changes_of(self, key: str) -> list[tuple[float, str, str]]:
        """(when, member, stamp) of every change a harvest saw, oldest first."""
        return self._db.execute("SELECT at, library, stamp FROM record_changes WHERE key = ? "
                                "ORDER BY at", (key,)).fetchall()

    # -- the quality scan's MARC findings (harvest.quality) ---------------------------

    def stage_marc_findings(self, rows: list[tuple[str, str, str]]) -> None:
        """(key, digest, findings JSON) of records the scan read again, into a temporary
        table (no lock on the store while the scan runs); saved with the report."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS marc_findings_new "
                         "(key TEXT PRIMARY KEY, digest TEXT, findings TEXT)")
        self._db.executemany("INSERT OR REPLACE INTO temp.marc_findings_new VALUES (?,?,?)",
                             rows)

    def _save_marc_findings(self) -> None:
        """Inside the report's write transaction: the staged findings replace the old,
        and findings of records no longer stored go."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS marc_findings_new "
                         "(key TEXT PRIMARY KEY, digest TEXT, findings TEXT)")
        self._db.execute("INSERT OR REPLACE INTO marc_findings SELECT key, digest, findings "
                         "FROM temp.marc_findings_new")
        self._db.execute("DROP TABLE temp.marc_findings_new")
        self._db.execute("DELETE FROM marc_findings WHERE key NOT IN (SELECT key FROM records)")

    # -- accounts --------------------------------------------------------------------

    def add_account(self, name: str, role: str, library: str, password_hash: str) -> None:
        self._db.execute(
            "INSERT INTO accounts (name, role, library, password, created) VALUES (?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET role = excluded.role, library = excluded.library, "
            "password = excluded.password, disabled = 0", (name, role, library, password_hash,
                                                          time.time()))
        self._db.commit()

    def account(self, name: str) -> tuple[str, str, str, str] | None:
        """(name, role, library, password hash) of an enabled account."""
        row = self._db.execute("SELECT name, role, library, password FROM accounts "
                               "WHERE name = ? AND disabled = 0", (name,)).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def accounts(self) -> list[tuple[str, str, str]]:
        return self._db.execute("SELECT name, role, library FROM accounts WHERE disabled = 0 "
                                "ORDER BY name").fetchall()

    # -- reviews ---------------------------------------------------------------------

    def save_review(self, key: str, month: str, reviewer: str, member: str, verdict: str,
                    rule: str, note: str, digest: str) -> None:
        state = "ok" if verdict == "ok" else "open"
        self._db.execute(
            "INSERT INTO reviews (key, month, reviewer, member, verdict, rule, note, digest, "
            "state, at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key, reviewer, month) DO "
            "UPDATE SET verdict = excluded.verdict, rule = excluded.rule, note = excluded.note, "
            "digest = excluded.digest, state = excluded.state, at = excluded.at",
            (key, month, reviewer, member, verdict, rule, note, digest, state, time.time()))

    def reviews(self, *, reviewer: str = "", member: str = "", month: str = "",
                states: tuple[str, ...] = ()) -> list[ReviewRow]:
        where, args = [], []
        for column, value in (("reviewer", reviewer), ("member", member), ("month", month)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        sql = _REVIEW + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return self._db.execute(sql, args).fetchall()

    def review(self, review_id: int) -> ReviewRow | None:
        row: ReviewRow | None = self._db.execute(_REVIEW + " WHERE id = ?",
                                                 (review_id,)).fetchone()
        return row

    def set_review_state(self, review_id: int, state: str, digest: str | None = None) -> None:
        if digest is None:
            self._db.execute("UPDATE reviews SET state = ? WHERE id = ?", (state, review_id))
        else:
            self._db.execute("UPDATE reviews SET state = ?, digest = ? WHERE id = ?",
                             (state, digest, review_id))

    def changed_open_reviews(self) -> list[tuple[int, str]]:
        """(review id, record key) of open problems whose record is no longer the one
        reviewed (its digest moved on): the fix to confirm."""
        return self._db.execute(
            "SELECT v.id, v.key FROM reviews v JOIN records r ON r.key = v.key "
            "WHERE v.state = 'open' AND r.digest != v.digest").fetchall()

    def review_counts(self) -> list[tuple[str, str, int]]:
        """(member, state, reviews) over every problem review."""
        return self._db.execute("SELECT member, state, COUNT(*) FROM reviews WHERE "
                                "verdict = 'problem' GROUP BY member, state").fetchall()

    def audit(self, account: str, action: str, target: str = "", detail: str = "") -> None:
        """One line of the audit trail; committed with whatever the action wrote."""
        self._db.execute("INSERT INTO review_audit (at, account, action, target, detail) "
                         "VALUES (?,?,?,?,?)", (time.time(), account, action, target, detail))
        self._db.commit()

    def audit_trail(self, limit: int = 200) -> list[tuple[Any, ...]]:
        return self._db.execute("SELECT at, account, action, target, detail FROM review_audit "
                                "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
