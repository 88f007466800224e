"""Incremental and resumable harvesting: kill the harvester mid-run, run it again, and
every record is stored exactly once; a source's deletions reach the store and the index."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from connectors.registry import open_connector
from core.config import load
from harvest import iso2709
from harvest.pipeline import harvest_source, rebuild_index, update_index
from harvest.store import RecordStore
from index.backend import SearchRequest
from index.tantivy_backend import TantivyBackend
from tests.conftest import shared_data
from tongjian.zebra import RecordFile, ZebraServer

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp: Path, address: str, batch: int) -> Path:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({
        "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
        "sources": [{"name": "jazz", "library": "L", "protocol": "z3950", "address": address,
                     "record_syntax": "usmarc", "batch_size": batch}],
        "store": {"path": "store.db"},
        "index": {"path": "index"},
    }, allow_unicode=True), encoding="utf-8")
    return path


def _checkpoint_position(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=0.2) as conn:
            row = conn.execute("SELECT state FROM checkpoints WHERE source='jazz'").fetchone()
    except sqlite3.Error:
        return 0
    return int(json.loads(row[0])["position"]) if row else 0


def test_killed_harvest_resumes_and_stores_every_record_once(tmp_path):
    jazz = shared_data("marc21_general/evergreen/jazz_1k.mrc")
    total = sum(1 for _ in iso2709.split_records(jazz.read_bytes()))
    with ZebraServer(tmp_path / "zebra", "marc21", [RecordFile(jazz, "marc-8")]) as zebra:
        config_path = _config(tmp_path, zebra.address, batch=2)
        cmd = [sys.executable, "-m", "tongjian.cli", "--config", str(config_path), "harvest",
               "jazz", "--no-index"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _checkpoint_position(tmp_path / "store.db") < 100:
            assert proc.poll() is None, "harvest ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at = _checkpoint_position(tmp_path / "store.db")
        assert 100 <= killed_at < total

        config = load(config_path)
        with RecordStore(config.resolve(config.store_path)) as store:
            stored_before = store.counts()["jazz"]["records"]
            assert killed_at <= stored_before < total
            stats = harvest_source(config.source("jazz"), open_connector(config.source("jazz")),
                                   store, show_progress=False)
            assert stats.mode == "resumed" and stats.complete
            # only what came after the last checkpoint was fetched again
            assert stats.seen == total - killed_at
            assert store.counts()["jazz"] == {"records": total, "quarantined": 0}
            assert stats.deleted == 0  # the sweep kept the records stored before the kill
            keys = [r.key for r in store.records("jazz")]
            assert len(keys) == len(set(keys)) == total


@pytest.fixture
def two_editions(tmp_path):
    """A Zebra whose content the test can change between harvests."""
    records = [c for _, c in iso2709.split_records(
        shared_data("derived/dp2_cnmarc_10recs.utf8.iso").read_bytes())]
    return tmp_path, records


def test_full_rerun_deletes_what_the_source_lost_and_index_follows(two_editions):
    tmp, records = two_editions
    first, second = tmp / "first.iso", tmp / "second.iso"
    first.write_bytes(b"".join(records))
    second.write_bytes(b"".join(records[:7]))  # three records withdrawn at the source
    config_path = tmp / "c.yaml"
    with ZebraServer(tmp / "z1", "unimarc", [first]) as zebra:
        config_path.write_text(yaml.safe_dump({
            "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
            # 3 of 10 withdrawn is past the default mass-deletion guard (10 %)
            "sources": [{"name": "s", "library": "L", "protocol": "z3950",
                         "address": zebra.address, "record_syntax": "unimarc",
                         "max_delete_share": 0.5}],
            "store": {"path": "store.db"}, "index": {"path": "index"},
        }, allow_unicode=True), encoding="utf-8")
        config = load(config_path)
        source = config.source("s")
        store = RecordStore(tmp / "store.db")
        first_run = harvest_source(source, open_connector(source), store, show_progress=False)
        backend = TantivyBackend(tmp / "index")
        entries = rebuild_index(store, backend, config, show_progress=False)
    gone = {r.source_id for r in store.records("s")}
    assert first_run.new == 10 and entries == backend.count()
    port = int(source.address.split(":")[1].split("/")[0])
    with ZebraServer(tmp / "z2", "unimarc", [second], port=port):
        again = harvest_source(source, open_connector(source), store, show_progress=False)
    assert (again.mode, again.unchanged, again.deleted) == ("full", 7, 3)
    gone -= {r.source_id for r in store.records("s")}
    assert len(gone) == 3
    rewritten = update_index(store, backend, config, again.touched, again.emptied)
    assert rewritten >= 1
    assert backend.count() == len({c for c, _ in store.clusters()})
    titles = {h.doc["title"] for h in backend.search(SearchRequest(page_size=100)).hits}
    assert titles == {r.title for r in store.records("s")}
    backend.close()
    store.close()
