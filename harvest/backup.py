"""Backup and restore of the record store: consistent while the portal serves and harvests.

The store is the one thing that cannot be rebuilt (the index can, from it), so a backup is
the store copied through SQLite's online backup API in a single step: one read
transaction, so the copy is the store as of one instant even while a harvest writes (WAL
readers never block writers), never a torn file copy.  Beside it go the config file and
a manifest naming the environment variables that hold secrets — their names only: the
values stay in the environment (or the secrets file) of the machine.

A restore checks before it replaces anything: the backup is whole (integrity check), it
was made by this release or an older one (newer schemas are refused), and no process
holds the current store.  The current store is kept beside the restored one, and the
index is marked for a rebuild from the restored store at the next start.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.config import Config
from core.version import installed_version
from harvest.schema import check_openable, version_of
from harvest.store import lock_path
from index import marker

MANIFEST = "manifest.json"
STORE_FILE = "store.db"
# Secrets the portal reads from its environment (besides the sources' own, from config).
PORTAL_SECRETS = ("TONGJIAN_ADMIN_PASSWORD_HASH", "TONGJIAN_ADMIN_TOKEN",
                  "TONGJIAN_METRICS_TOKEN")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    path: Path
    records: int
    schema: int
    seconds: float
    size: int


def secret_names(config: Config) -> list[str]:
    names = {name for s in config.sources for name in (
        s.auth.user_env, s.auth.password_env, s.auth.client_id_env, s.auth.client_secret_env)
        if name}
    return sorted(names) + list(PORTAL_SECRETS)


def _integrity(path: Path) -> tuple[int, int]:
    """(schema version, records) of a store file, or BackupError when it is damaged."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{path}: the store file is damaged ({result})")
        records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        return version_of(db), int(records)
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path}: not a readable Tongjian store ({e})") from None
    finally:
        db.close()


def _copy(src: Path, dst: Path) -> None:
    """`src` into the new file `dst` through the online backup API in one step: one read
    transaction, so the copy is `src` as of one instant even while others write to it."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def backup(config: Config, dest: Path) -> Summary:
    """Copy the store (consistently, while it is in use), the config and a manifest into
    the folder `dest`; an earlier backup there is replaced only once the new one is whole."""
    store = config.resolve(config.store_path)
    if not store.exists():
        raise BackupError(f"{store}: no store to back up (config {config.path}: store.path)")
    dest.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    partial = dest / (STORE_FILE + ".partial")
    partial.unlink(missing_ok=True)
    _copy(store, partial)
    schema, records = _integrity(partial)
    os.replace(partial, dest / STORE_FILE)
    shutil.copyfile(config.path, dest / "config.yaml")
    manifest = {
        "tongjian": installed_version(),
        "schema": schema,
        "records": records,
        "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "store": str(store),
        "config": str(config.path),
        "secrets": {"names": secret_names(config),
                    "note": "values are not in the backup: keep the secrets file"},
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                 encoding="utf-8")
    return Summary(dest / STORE_FILE, records, schema, time.monotonic() - started,
                   (dest / STORE_FILE).stat().st_size)


def _exclusive(store: Path) -> IO[bytes]:
    """The store's lock, exclusively: every process that has the store open holds it
    shared (`harvest.store.in_use`), so this fails while the portal or a harvest runs —
    and keeps them from starting until the restore is done."""
    handle = open(lock_path(store), "ab")  # noqa: SIM115 - held by the caller
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BackupError(f"{store}: the store is in use — stop the portal and any harvest "
                          "(systemctl stop tongjian) before restoring") from None
    return handle


def restore(config: Config, src: Path) -> Summary:
    """Replace the configured store with the backup in `src` after checking it; the store
    it replaces is kept as `<store>.before-restore-<time>`."""
    backup_file = src / STORE_FILE
    if not backup_file.exists():
        raise BackupError(f"{src}: no {STORE_FILE} here — is this a folder made by "
                          "`tongjian backup`?")
    started = time.monotonic()
    schema, records = _integrity(backup_file)
    check_openable(schema, str(backup_file))
    store = config.resolve(config.store_path)
    store.parent.mkdir(parents=True, exist_ok=True)
    lock = _exclusive(store)
    try:
        return _replace(store, backup_file, config, schema, records, started)
    finally:
        lock.close()


def _replace(store: Path, backup_file: Path, config: Config, schema: int, records: int,
             started: float) -> Summary:
    incoming = store.with_name(store.name + ".restoring")
    incoming.unlink(missing_ok=True)
    _copy(backup_file, incoming)
    if store.exists():
        _copy(store, store.with_name(
            f"{store.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}"))
        for suffix in ("-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
    os.replace(incoming, store)
    index_dir = config.resolve(config.index.path)
    (index_dir / marker.MARKER).unlink(missing_ok=True)  # rebuilt from this store next start
    return Summary(store, records, schema, time.monotonic() - started, store.stat().st_size)


__all__ = ["BackupError", "Summary", "backup", "restore", "secret_names"]
