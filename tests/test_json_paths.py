"""The store's JSON through orjson (match keys written and read, records read) gives what
`json` gave: the same match-key text byte for byte, the same clusters, the same index
documents — on generated catalogues and the real records of ../shared/data."""

from __future__ import annotations

import json
import sqlite3

from core.model import Record
from harvest.matching import MatchRecord
from harvest.merge import merge_store
from harvest.store import RecordStore
from index.documents import cluster_document


def test_orjson_paths_give_what_json_gave(tmp_path):
    from bench.matching_data import build

    records = [item.record for item in build(size=300, seed=13).items]
    assert len(records) > 700
    store = RecordStore(tmp_path / "s.db")
    for r in records:
        store.put(r, b"raw", "usmarc")
    store.commit()
    merge_store(store, processes=1)
    db = sqlite3.connect(tmp_path / "s.db")
    by_cluster: dict[str, list[Record]] = {}
    for key, match, data, cluster in db.execute(
            "SELECT key, match, data, cluster FROM records ORDER BY cluster, key"):
        parsed = json.loads(match)
        assert json.dumps(parsed, ensure_ascii=False, separators=(",", ":")) == match, key
        assert MatchRecord.from_json(match).to_json() == match
        by_cluster.setdefault(cluster, []).append(Record.from_dict(json.loads(data)))
    assert len(by_cluster) < len(records)  # records merged: clusters of several
    libraries: dict = {}
    seen = 0
    for cluster, group in store.clusters():
        assert group == by_cluster[cluster]
        assert cluster_document(cluster, group, libraries) == cluster_document(
            cluster, by_cluster[cluster], libraries)
        seen += 1
    assert seen == len(by_cluster)
