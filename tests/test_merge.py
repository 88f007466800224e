"""The first-cut merge: same ISBN-13 across libraries → one cluster, stable ids."""

from __future__ import annotations

from core.model import Record
from harvest import merge
from harvest.merge import assign_clusters, assign_store_clusters
from harvest.store import RecordStore


def rec(source: str, sid: str, *isbn: str) -> Record:
    return Record(source=source, source_id=sid, library=source.upper(), title="平凡的世界",
                  isbn=list(isbn))


def test_same_isbn_one_cluster_and_union_through_second_isbn():
    records = [
        rec("a", "1", "9787020002207"),
        rec("b", "9", "9787020002207"),
        rec("c", "5", "9787530212004", "9787020002207"),  # bridges two ISBNs
        rec("d", "7", "9787530212004"),
        rec("e", "2"),  # no ISBN: alone
        rec("f", "2"),
    ]
    c = assign_clusters((r.key, r.isbn) for r in records)
    assert c["a:1"] == c["b:9"] == c["c:5"] == c["d:7"]
    assert len({c["e:2"], c["f:2"], c["a:1"]}) == 3


def test_cluster_ids_are_stable_across_runs_and_order():
    records = [rec("a", "1", "9787020002207"), rec("b", "9", "9787020002207"), rec("e", "2")]
    pairs = [(r.key, r.isbn) for r in records]
    assert assign_clusters(pairs) == assign_clusters(list(reversed(pairs)))


def test_store_groups_clusters_and_reports_updates(tmp_path):
    store = RecordStore(tmp_path / "s.db")
    a, b = rec("a", "1", "9787020002207"), rec("b", "9", "9787020002207")
    assert store.put(a, b"raw-a", "usmarc") == "new"
    assert store.put(b, b"raw-b", "usmarc") == "new"
    assert store.put(a, b"raw-a", "usmarc") == "unchanged"
    a.summary = "changed"
    assert store.put(a, b"raw-a2", "usmarc") == "updated"
    store.set_clusters(assign_clusters(store.match_records()).items())
    store.commit()
    groups = list(store.clusters())
    assert len(groups) == 1 and {r.key for r in groups[0][1]} == {"a:1", "b:9"}
    assert store.raw("a:1") == (b"raw-a2", "usmarc")
    assert store.get("a:1").summary == "changed"


def test_store_clusters_in_two_processes_equal_one(tmp_path, monkeypatch):
    store = RecordStore(tmp_path / "s.db")
    for n in range(30):
        store.put(rec("a", str(n), f"978702000{n % 7:03d}"), b"raw", "usmarc")
        store.put(rec("b", str(n), f"978702000{n % 5:03d}"), b"raw", "usmarc")
    store.commit()
    single = assign_store_clusters(store, processes=1)
    monkeypatch.setattr(merge, "PARALLEL_MIN_RECORDS", 0)
    monkeypatch.setattr(merge.os, "cpu_count", lambda: 2)
    assert assign_store_clusters(store, processes=2) == single
    assert single == assign_clusters(store.match_records())
