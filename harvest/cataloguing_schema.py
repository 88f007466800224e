"""The store's tables for the cataloguing centre (schema version 3): what harvests saw
change, reviewer accounts, review marks and their audit trail.

Kept as one SQL script that both the migration (`harvest.schema`, version 3) and the
current schema (`harvest.store.SCHEMA`) run, so an upgraded store and a new one cannot
differ.  A record's first-seen time is `records.first_seen` (there since version 1);
these tables add what a single row cannot hold: every change, and copies added to a
record that was already there.
"""

TABLES = """
-- A bibliographic change a harvest saw (harvest.cataloguing_history): the record, when,
-- the member credited with it (modified_by), the person where the record names one
-- (modifier; column added by schema 5) and the source's own change stamp.
CREATE TABLE IF NOT EXISTS record_changes (
    id       INTEGER PRIMARY KEY,
    key      TEXT NOT NULL,
    at       REAL NOT NULL,
    library  TEXT NOT NULL,
    stamp    TEXT NOT NULL DEFAULT '',
    person   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS record_changes_key ON record_changes(key, at);
CREATE INDEX IF NOT EXISTS record_changes_at ON record_changes(at);
-- A copy (item, 册) that appeared on a record already in the store; the copies a record
-- arrived with are first seen with it (records.first_seen).
CREATE TABLE IF NOT EXISTS item_additions (
    key      TEXT NOT NULL,
    item     TEXT NOT NULL,            -- barcode, else library|call number|n
    library  TEXT NOT NULL,
    at       REAL NOT NULL,
    created  TEXT NOT NULL DEFAULT '', -- the source's own date for the copy
    PRIMARY KEY (key, item)
);
-- What the quality scan's MARC checks found in each record version (harvest.quality):
-- reading the raw MARC again is most of a scan, so only new or changed records are read.
CREATE TABLE IF NOT EXISTS marc_findings (
    key       TEXT PRIMARY KEY,
    digest    TEXT NOT NULL,           -- records.digest when checked
    findings  TEXT NOT NULL            -- JSON [[rule code, detail], …]
);
-- Reviewer accounts (portal.auth): passwords only as scrypt hashes, made by
-- `tongjian reviewer add`; never in config.yaml.
CREATE TABLE IF NOT EXISTS accounts (
    name      TEXT PRIMARY KEY,
    role      TEXT NOT NULL CHECK (role IN ('centre', 'city', 'member')),
    library   TEXT NOT NULL,
    password  TEXT NOT NULL,
    created   REAL NOT NULL,
    disabled  INTEGER NOT NULL DEFAULT 0
);
-- One reviewer's mark on one record in one month's list (portal.review).  state: ok,
-- open (a problem the member must fix), changed (the record changed since: the reviewer
-- is asked to confirm), fixed (confirmed).
CREATE TABLE IF NOT EXISTS reviews (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL,
    month     TEXT NOT NULL,
    reviewer  TEXT NOT NULL,
    member    TEXT NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('ok', 'problem')),
    rule      TEXT NOT NULL DEFAULT '',
    note      TEXT NOT NULL DEFAULT '',
    digest    TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('ok', 'open', 'changed', 'fixed')),
    at        REAL NOT NULL,
    UNIQUE (key, reviewer, month)
);
CREATE INDEX IF NOT EXISTS reviews_member ON reviews(member, state);
CREATE TABLE IF NOT EXISTS review_audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    account  TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT ''
);
"""
