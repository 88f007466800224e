"""An upgrade in place: a store and index made by release 0.1.0 opened by this release.

The fixture (tests/fixtures/release-0.1.0, made by its make.py on a 0.1.0 checkout) is a
deployment's data as 0.1.0 left it, with what 0.1.0 itself read back from it.  Opening
the store migrates it (0 → current, in one transaction) and every record, cluster,
librarian's split, checkpoint, quarantined record and harvest run must come through; the
index, made before indexes carried a format marker, must be rebuilt from the store
before it is served; a store from a newer release must be refused and left untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.config import load
from harvest.schema import SCHEMA_VERSION, StoreVersionError, version_of
from harvest.store import RecordStore
from index import marker
from index.backend import SearchRequest
from index.tantivy_backend import TantivyBackend
from tongjian.commands import current_index

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1.0"


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(FIXTURE, site)
    return site


def test_a_release_010_store_survives_the_upgrade(deployment: Path) -> None:
    expected = json.loads((deployment / "expected.json").read_text(encoding="utf-8"))
    raw = sqlite3.connect(deployment / "store.db")
    assert version_of(raw) == 0  # 0.1.0 stores carry no version
    raw.close()

    store = RecordStore(deployment / "store.db")
    try:
        assert store.migrated and f"store schema 0 → {SCHEMA_VERSION}" in store.migrated[0]
        rows = {row.key: row for row, _ in store.stored_rows()}
        assert {k: {"cluster": r.cluster, "digest": r.digest} for k, r in rows.items()} \
            == expected["records"]
        splits, _ = store.links()
        assert splits == {frozenset(pair) for pair in expected["splits"]}
        for source, saved in expected["checkpoints"].items():
            checkpoint = store.checkpoint(source)
            assert checkpoint is not None
            assert (checkpoint.state, checkpoint.final) == (saved["state"], saved["final"])
        assert [[q.source, q.position, q.reason] for q in store.quarantined()] == \
            expected["quarantine"]
        runs = [[r["source"], r["new"]] for s in ("sxpl", "xylib")
                for r in store.harvest_runs(s)]
        assert runs == expected["harvests"]
    finally:
        store.close()
    again = RecordStore(deployment / "store.db")  # a second open has nothing to migrate
    assert again.migrated == []
    again.close()
    assert version_of(sqlite3.connect(deployment / "store.db")) == SCHEMA_VERSION


def test_the_release_010_index_is_rebuilt_before_it_is_served(deployment: Path) -> None:
    config = load(deployment / "config.yaml")
    store = RecordStore(config.resolve(config.store_path))
    backend = TantivyBackend(config.resolve(config.index.path))
    try:
        assert "no format marker" in marker.stale_reason(backend.path)
        done = current_index(store, backend, config)
        assert done.startswith("index rebuilt:")
        assert marker.stale_reason(backend.path) == ""
        clusters = {row.cluster for row, _ in store.stored_rows()}
        assert backend.count() == len(clusters)
        a, b = next(iter(store.links()[0]))
        assert store.cluster_of(a) != store.cluster_of(b)  # the librarian's split held
        assert current_index(store, backend, config) == ""  # current now: nothing to do
        hits = backend.search(SearchRequest(q="红楼梦")).hits
        assert hits and all(h.id in clusters for h in hits)
    finally:
        backend.close()
        store.close()


def test_a_store_from_a_newer_release_is_refused_untouched(deployment: Path) -> None:
    path = deployment / "store.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreVersionError, match=r"newer release.*not changed"):
        RecordStore(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-wal").exists()


def test_the_command_says_so_instead_of_a_traceback(deployment: Path) -> None:
    import subprocess
    import sys

    raw = sqlite3.connect(deployment / "store.db")
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    done = subprocess.run([sys.executable, "-m", "tongjian.cli", "--config",
                           str(deployment / "config.yaml"), "index", "--rebuild"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("store: ") and "Traceback" not in done.stderr
