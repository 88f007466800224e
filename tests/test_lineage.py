"""Entry lineage: each merged entry's records, when it last changed, and where a vanished
entry's records went — what OAI-PMH datestamps and deletions and lasting permalinks read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.config import parse
from core.model import Holding, Record
from harvest import lineage
from harvest.pipeline import update_index
from harvest.schema import SCHEMA_VERSION, version_of
from harvest.store import RecordStore
from index.tantivy_backend import TantivyBackend
from tests.conftest import TWO_LIBRARIES

CONFIG = TWO_LIBRARIES


def rec(source: str, sid: str, isbn: str = "", **fields: object) -> Record:
    library = "SXPL" if source == "sx" else "XYLIB"
    return Record(source=source, source_id=sid, library=library, title=f"书 {sid}",
                  isbn=[isbn] if isbn else [], holdings=[Holding(library, call_number="I247")],
                  **fields)  # type: ignore[arg-type]


def merged(tmp_path: Path, records: list[Record]):
    config = parse(dict(CONFIG), tmp_path / "config.yaml")
    store = RecordStore(tmp_path / "s.db")
    backend = TantivyBackend(None)
    for r in records:
        store.put(r, b"raw", "test")
    store.commit()
    update_index(store, backend, config, touched={r.key for r in records})
    return config, store, backend


def test_new_entries_get_sets_and_a_change_time(tmp_path: Path) -> None:
    _, store, backend = merged(tmp_path, [
        rec("sx", "1", "9787020002207", clc_top="I"),
        rec("xy", "1", "9787020002207", online_url="http://example.org/a.pdf"),
    ])
    [entry] = {store.cluster_of("sx:1"), store.cluster_of("xy:1")}
    row = store.lineage(entry)
    assert row is not None and not row.deleted and row.keys == ["sx:1", "xy:1"]
    assert row.sets == ["clc:I", "digitized", "library:SXPL", "library:XYLIB",
                        "region:xianshi", "region:xianyangshi"]
    assert lineage.resolve(store, entry) == [entry]
    assert lineage.resolve(store, "never-was") is None
    store.close()
    backend.close()


def test_a_changed_record_moves_the_entry_time_an_unchanged_harvest_does_not(
        tmp_path: Path) -> None:
    config, store, backend = merged(tmp_path, [rec("sx", "1", "9787020002207")])
    entry = store.cluster_of("sx:1")
    assert entry
    store.save_lineage([row for row in [store.lineage(entry)] if row and
                        setattr(row, "changed", 1000.0) is None])
    store.commit()
    store.put(rec("sx", "1", "9787020002207"), b"raw", "test")  # same record again
    update_index(store, backend, config, touched={"sx:1"})
    assert store.lineage(entry).changed == 1000.0  # type: ignore[union-attr]
    store.put(rec("sx", "1", "9787020002207", summary="新的提要"), b"raw", "test")
    update_index(store, backend, config, touched={"sx:1"})
    assert store.lineage(entry).changed > 1000.0  # type: ignore[union-attr]
    store.close()
    backend.close()


def test_a_vanished_entry_is_a_tombstone_naming_where_its_records_went(
        tmp_path: Path) -> None:
    config, store, backend = merged(tmp_path, [rec("sx", "1", "9787020002207"),
                                               rec("xy", "1", "9787536692930")])
    a, b = store.cluster_of("sx:1"), store.cluster_of("xy:1")
    assert a and b and a != b
    # xy:1 gains sx:1's ISBN: the two entries become one, one id vanishes
    store.put(Record(source="xy", source_id="1", library="XYLIB", title="书 1",
                     isbn=["9787536692930", "9787020002207"]), b"raw", "test")
    update_index(store, backend, config, touched={"xy:1"})
    now = store.cluster_of("sx:1")
    assert now == store.cluster_of("xy:1")
    gone = b if now == a else a
    row = store.lineage(gone)
    assert row is not None and row.deleted and row.successors == [now]
    assert lineage.resolve(store, gone) == [now]
    # a librarian splits them again: the merged entry's id stays with one, the other
    # record gets an entry of its own, and the vanished id now offers both
    store.add_link("sx:1", "xy:1", "split")
    update_index(store, backend, config, touched={"sx:1", "xy:1"})
    assert store.cluster_of("sx:1") != store.cluster_of("xy:1")
    now_both = {store.cluster_of("sx:1"), store.cluster_of("xy:1")}
    found = lineage.resolve(store, gone)
    assert found and set(found) <= now_both
    # every record of an entry deleted: a tombstone without successors
    only = store.cluster_of("xy:1")
    assert only
    store.delete("xy:1")
    update_index(store, backend, config, emptied={only})
    if only != store.cluster_of("sx:1"):
        assert store.lineage(only).deleted  # type: ignore[union-attr]
        assert lineage.resolve(store, only) == []
    store.close()
    backend.close()


def test_migration_2_fills_the_lineage_of_an_older_store(tmp_path: Path) -> None:
    config, store, backend = merged(tmp_path, [rec("sx", "1", "9787020002207")])
    entry = store.cluster_of("sx:1")
    store.close()
    backend.close()
    raw = sqlite3.connect(tmp_path / "s.db")
    raw.execute("DROP TABLE entry_lineage")
    raw.execute("UPDATE records SET updated_at = 12345.0")
    raw.execute("PRAGMA user_version = 1")
    raw.commit()
    raw.close()
    store = RecordStore(tmp_path / "s.db")
    assert store.migrated and f"→ {SCHEMA_VERSION}" in store.migrated[0]
    row = store.lineage(entry or "")
    assert row is not None and row.changed == 12345.0 and row.digest == ""
    # the next merge fills digest and sets without moving the time it had
    lineage.refresh(store, config.libraries)
    row = store.lineage(entry or "")
    assert row is not None and row.digest and row.changed == 12345.0
    assert "library:SXPL" in row.sets
    assert version_of(sqlite3.connect(tmp_path / "s.db")) == SCHEMA_VERSION
    store.close()


def test_a_full_refresh_in_small_steps_finds_changes_and_vanished_entries(
        tmp_path: Path, monkeypatch) -> None:
    config, store, backend = merged(tmp_path, [rec("sx", str(n), f"97870200{n:05d}")
                                               for n in range(1, 6)])
    before = {k: store.cluster_of(k) for k in ("sx:1", "sx:2", "sx:3")}
    times = {e: store.lineage(e or "").changed for e in before.values()}  # type: ignore[union-attr]
    store.delete("sx:1")
    store.put(rec("sx", "2", "9787020000002", summary="改了"), b"raw", "test")
    store.commit()
    monkeypatch.setattr(lineage, "CHUNK", 1)
    changes = lineage.refresh(store, config.libraries, now=times[before["sx:3"]] + 100)
    assert (changes.changed, changes.deleted) == (1, 1)
    assert store.lineage(before["sx:1"] or "").deleted  # type: ignore[union-attr]
    assert store.lineage(before["sx:2"] or "").changed > times[before["sx:2"]]  # type: ignore[union-attr]
    assert store.lineage(before["sx:3"] or "").changed == times[before["sx:3"]]  # type: ignore[union-attr]
    store.close()
    backend.close()
