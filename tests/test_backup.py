"""Backup under load, restore to an identical store, and the checks before a restore.

A writer thread keeps storing records (through the store's own write path, committing
as a harvest does) while `tongjian backup` copies the store: the copy must be whole and
be the store as of one instant; restoring it must give a store identical to the backup,
row for row; a damaged or newer backup must be refused before anything is replaced.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from core.config import Config, parse
from core.model import Holding, Record
from harvest.backup import BackupError, backup, restore
from harvest.schema import SCHEMA_VERSION
from harvest.store import RecordStore
from index import marker


def config_in(folder: Path) -> Config:
    raw = {"libraries": [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                          "level": "province"}],
           "sources": [{"name": "sx", "library": "SXPL", "protocol": "koha",
                        "address": "http://127.0.0.1:1", "auth": {
                            "client_id_env": "TJ_TEST_KOHA_ID",
                            "client_secret_env": "TJ_TEST_KOHA_SECRET"}}],
           "store": {"path": "var/store.db"}, "index": {"path": "var/index"}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(json.dumps(raw), encoding="utf-8")
    return parse(raw, folder / "config.yaml")


def record(n: int) -> Record:
    return Record(source="sx", source_id=str(n), library="SXPL", title=f"书名{n}",
                  year=2000 + n % 20, isbn=[], holdings=[Holding("SXPL", barcode=f"SX{n:08}")])


def store_with(config: Config, *numbers: int) -> None:
    store = RecordStore(config.resolve(config.store_path))
    for n in numbers:
        store.put(record(n), b"raw", "test")
    store.commit()
    store.close()


def count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    finally:
        db.close()


def dump(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_backup_under_write_load_restores_to_an_identical_store(tmp_path: Path) -> None:
    config = config_in(tmp_path / "live")
    store = RecordStore(config.resolve(config.store_path))
    for n in range(300):
        store.put(record(n), b"raw", "test")
    store.commit()
    before = 300
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        own = RecordStore(config.resolve(config.store_path))
        n = 1000
        while not stop.is_set():
            own.put(record(n), b"raw" * 200, "test")
            n += 1
            if n % 5 == 0:
                own.commit()
                written[0] = n - 1000
        own.commit()
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.3)
        done = backup(config, tmp_path / "backup")
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0  # the store really was being written during the backup
    assert before <= done.records < before + written[0] + 10
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == SCHEMA_VERSION and manifest["records"] == done.records
    assert manifest["secrets"]["names"][:2] == ["TJ_TEST_KOHA_ID", "TJ_TEST_KOHA_SECRET"]
    assert "TONGJIAN_ADMIN_PASSWORD_HASH" in manifest["secrets"]["names"]
    assert (tmp_path / "backup" / "config.yaml").read_bytes() == config.path.read_bytes()
    store.close()

    # A second site restores it: the result is the backup, row for row.
    other = config_in(tmp_path / "other")
    (config.resolve(config.index.path)).mkdir(parents=True, exist_ok=True)
    marker.write(other.resolve(other.index.path))
    restored = restore(other, tmp_path / "backup")
    assert restored.records == done.records
    assert dump(restored.path) == dump(tmp_path / "backup" / "store.db")
    # the index no longer claims to be current: it is rebuilt from the restored store
    assert marker.stale_reason(other.resolve(other.index.path))


def test_restore_keeps_the_store_it_replaces(tmp_path: Path) -> None:
    config = config_in(tmp_path / "site")
    store_with(config, 1)
    backup(config, tmp_path / "b")
    store_with(config, 2)
    restore(config, tmp_path / "b")
    kept = list(config.resolve(config.store_path).parent.glob("store.db.before-restore-*"))
    assert len(kept) == 1
    assert count(kept[0]) == 2 and count(config.resolve(config.store_path)) == 1


def test_restore_refuses_damaged_and_newer_backups_without_touching_the_store(
        tmp_path: Path) -> None:
    config = config_in(tmp_path / "site")
    store_with(config, 1)
    backup(config, tmp_path / "b")
    original = dump(config.resolve(config.store_path))

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    data = bytearray((tmp_path / "b" / "store.db").read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    (damaged / "store.db").write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged|not a readable"):
        restore(config, damaged)

    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "store.db").write_bytes((tmp_path / "b" / "store.db").read_bytes())
    db = sqlite3.connect(newer / "store.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(Exception, match="newer release"):
        restore(config, newer)
    with pytest.raises(BackupError, match="made by `tongjian backup`"):
        restore(config, tmp_path / "nothing-here")
    portal = RecordStore(config.resolve(config.store_path))  # the portal still running
    try:
        with pytest.raises(BackupError, match="in use — stop the portal"):
            restore(config, tmp_path / "b")
    finally:
        portal.close()
    assert dump(config.resolve(config.store_path)) == original
    assert not list(config.resolve(config.store_path).parent.glob("*.before-restore-*"))
