"""The bulk import stores exactly what the one-record-at-a-time path stores.

Real files from ../shared/data (CNMARC, MARC 21 with CJK, MARCXML, and marc4j's file of
broken records), plus a CNMARC file with every kind of damage made here, go through
`import_sources` cut into many small chunks on two worker processes — and through a
sequential reference built from the same public steps (`readers.read`, `to_record`,
`RecordStore.put` / `quarantine`).  Both stores must hold the same rows, byte for byte, and
both indexes must answer the same.  And the harvest's own path (`pipeline.ingest`) stores
what the bulk import stores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import RawRecord
from core.config import Config, parse
from harvest import iso2709
from harvest.bulk import import_sources, raw_format
from harvest.crosswalk import to_record
from harvest.matching import MatchRecord, lone_cluster_id
from harvest.pipeline import HarvestStats, ingest, rebuild_index
from harvest.readers import looks_like_xml, read
from harvest.store import RecordStore, StoredRow, duplicate_reason
from index import marker
from index.backend import SearchRequest
from index.tantivy_backend import TantivyBackend
from tests.conftest import shared_data

LIBRARIES = [
    {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "level": "county"},
]


def _damaged_cnmarc(tmp: Path) -> Path:
    """dp2's ten real records with damage of every kind between them."""
    good = [c for _, c in iso2709.split_records(
        shared_data("derived/dp2_cnmarc_10recs.utf8.iso").read_bytes())]
    i = good[3].index("中国".encode())
    invalid_utf8 = good[3][:i] + b"\xff\xfe" + good[3][i + 2:]
    truncated = good[4][: len(good[4]) // 2]  # runs into the next record: resync splits it
    no_001 = _without_001(good[6])
    parts = [good[0], good[1], b"\r\n", invalid_utf8, good[2], truncated, good[5], good[1],
             no_001, good[7], b"0123garbage\x1d", good[8], good[9], no_001]
    path = tmp / "damaged.iso"
    path.write_bytes(b"".join(parts))
    return path


def _without_001(chunk: bytes) -> bytes:
    from harvest.marc import decode_iso2709

    m = decode_iso2709(chunk)
    fields = [(f.tag, "", f.value) if f.value is not None else (f.tag, f.ind1 + f.ind2,
              f.subfields) for f in m.fields if f.tag != "001"]
    return iso2709.write(m.leader, fields, "utf-8")


def _config(tmp: Path, name: str) -> Config:
    raw = {
        "libraries": LIBRARIES,
        "sources": [
            {"name": "cn", "library": "SXPL", "protocol": "z3950", "address": "x:1/D",
             "record_syntax": "unimarc", "format": "cnmarc",
             "holdings": [{"tag": "905", "call_number": "s"},
                          {"tag": "906", "barcode": "b", "call_number": "d/e"}]},
            {"name": "m21", "library": "SMLIB", "protocol": "z3950", "address": "x:1/D",
             "record_syntax": "usmarc", "format": "marc21"},
        ],
        "index": {"path": str(tmp / name / "index")},
        "store": {"path": str(tmp / name / "store.db")},
    }
    return parse(raw, tmp / "config.yaml")


def _sequential(config: Config, imports: dict[str, list[Path]]) -> RecordStore:
    """The reference: the normal path's rules, one record at a time in this process."""
    store = RecordStore(config.resolve(config.store_path))
    for name, files in imports.items():
        source = config.source(name)
        run = store.start_harvest(name)
        seen: set[str] = set()
        for path in files:
            data = path.read_bytes()
            fmt = raw_format(source, looks_like_xml(data))
            for p in read(data, source.encoding, source.format):
                if p.marc is None:
                    store.quarantine(name, p.position, p.error, p.raw, offset=p.offset)
                    continue
                record = to_record(p.marc, name, source.library, f"#{p.position}",
                                   source.format, source.holdings)
                if record.key in seen:
                    store.quarantine(name, p.position, duplicate_reason(record.source_id),
                                     p.raw, record.source_id, offset=p.offset)
                    continue
                seen.add(record.key)
                store.put(record, p.raw, fmt, run)
    store.commit()
    return store


def _rows(store: RecordStore) -> tuple[list[tuple[StoredRow, int | None]], list[tuple]]:
    records = list(store.stored_rows())
    quarantine = [(e.source, e.position, e.offset, e.record_id, e.reason, e.raw)
                  for e in store.quarantined(limit=1_000_000)]
    return records, quarantine


@pytest.fixture(scope="module")
def imports(tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    tmp = tmp_path_factory.mktemp("bulk")
    return tmp, {
        "cn": [_damaged_cnmarc(tmp)],
        "m21": [shared_data("marc21_cjk/blacklight/test_data.utf8.mrc"),
                shared_data("marc21_cjk/marc4j/pride-and-prejudice-with-many-errors.mrc"),
                shared_data("marc21_cjk/marc4j/chinese_mangled_multibyte.mrc"),
                shared_data("marc21_cjk/traject/test_data.utf8.marc.xml")],
    }


def test_bulk_stores_what_the_sequential_path_stores(imports):
    tmp, files = imports
    seq_config, bulk_config = _config(tmp, "seq"), _config(tmp, "bulk")
    seq = _sequential(seq_config, files)
    backend = TantivyBackend(seq_config.resolve(seq_config.index.path))
    rebuild_index(seq, backend, seq_config, show_progress=False)

    # Tiny chunks: most files are cut many times, so chunk seams are crossed everywhere.
    stats = import_sources(bulk_config, files, processes=2, chunk_bytes=3_000,
                           show_progress=False)
    bulk = RecordStore(bulk_config.resolve(bulk_config.store_path))
    seq_records, seq_quarantine = _rows(seq)
    bulk_records, bulk_quarantine = _rows(bulk)
    assert len(seq_records) > 100 and len(seq_quarantine) >= 5
    assert bulk_records == seq_records
    assert bulk_quarantine == seq_quarantine
    # The loader writes each record's lone cluster id; the merge must rewrite the rows
    # whose cluster turned out otherwise (records merged without a shared ISBN).
    rewritten = [row.key for row, _ in bulk_records
                 if row.cluster != lone_cluster_id(MatchRecord.from_json(row.match))]
    assert rewritten
    assert stats.new == len(seq_records) and stats.quarantined == len(seq_quarantine)
    assert stats.records == stats.new + stats.quarantined
    assert stats.index_mode == "rebuild"

    bulk_backend = TantivyBackend(bulk_config.resolve(bulk_config.index.path))
    assert bulk_backend.count() == backend.count() == stats.index_entries
    for q in ("", "中国", "Pride and prejudice", "Austen", "9787"):
        for filters in ({}, {"library": ["SMLIB"]}):
            a = backend.search(SearchRequest(q=q, filters=filters, page_size=500))
            b = bulk_backend.search(SearchRequest(q=q, filters=filters, page_size=500))
            assert (a.total, a.facets) == (b.total, b.facets), q
            assert sorted((h.id, round(h.score, 4)) for h in a.hits) == sorted(
                (h.id, round(h.score, 4)) for h in b.hits), q
    for s in (seq, bulk):
        s.close()
    for b in (backend, bulk_backend):
        b.close()


def test_a_rebuild_in_worker_processes_indexes_what_one_process_does(imports, monkeypatch):
    # What `tongjian index --rebuild` and an upgrade's rebuild do for a big store (worker
    # processes, as the bulk import's index stage), here on a small one.
    from harvest import bulk, pipeline

    tmp, files = imports
    config = _config(tmp, "workers")
    store = _sequential(config, files)
    one = TantivyBackend(None)
    workers = TantivyBackend(tmp / "workers-index")
    calls: list[int] = []
    index_in_workers = bulk.index_in_workers

    def spy(*args, **kwargs):
        calls.append(1)
        return index_in_workers(*args, **kwargs)

    monkeypatch.setattr(bulk, "index_in_workers", spy)
    monkeypatch.setattr(pipeline, "WORKERS_FROM_RECORDS", 10)  # the store holds more
    try:
        n_one = rebuild_index(store, one, config, show_progress=False, workers=False)
        assert not calls
        n_workers = rebuild_index(store, workers, config, show_progress=False)
        assert calls == [1]
        assert n_one == n_workers == workers.count() == one.count() > 100
        assert not marker.stale_reason(tmp / "workers-index")  # marked as this release's
        for q in ("", "中国", "Austen", "9787"):
            a = one.search(SearchRequest(q=q, page_size=500))
            b = workers.search(SearchRequest(q=q, page_size=500))
            assert (a.total, a.facets) == (b.total, b.facets), q
            assert sorted((h.id, round(h.score, 4), str(h.doc)) for h in a.hits) == sorted(
                (h.id, round(h.score, 4), str(h.doc)) for h in b.hits), q
    finally:
        store.close()
        for b in (one, workers):
            b.close()


def test_quarantine_keeps_raw_bytes_reason_and_place(imports):
    tmp, files = imports
    config = _config(tmp, "quarantine")
    import_sources(config, {"cn": files["cn"]}, processes=2, chunk_bytes=2_000,
                   reindex="none", show_progress=False)
    with RecordStore(config.resolve(config.store_path)) as store:
        entries = store.quarantined("cn")
        data = files["cn"][0].read_bytes()
        for e in entries:  # every entry is the exact bytes at its offset in the file
            assert data[e.offset:e.offset + len(e.raw)] == e.raw, e.reason
        reasons = [e.reason for e in entries]
        assert any("invalid UTF-8" in r for r in reasons)
        assert any(r.startswith(("truncated", "bad")) for r in reasons)
        assert any(r.startswith("duplicate record id") for r in reasons)
        # A record without 001 is keyed by its number in the file, as `from_raw` does;
        # its second copy is the same number-free record at another number, so kept too.
        keys = [k for k in store.keys("cn") if k.split(":", 1)[1].startswith("#")]
        assert len(keys) == 2


def test_reimport_is_unchanged_and_full_import_deletes_what_is_gone(imports):
    tmp, files = imports
    config = _config(tmp, "again")
    m21 = files["m21"][:1]
    first = import_sources(config, {"m21": m21}, processes=2, show_progress=False)
    again = import_sources(config, {"m21": m21}, processes=2, show_progress=False)
    assert (again.new, again.updated, again.unchanged) == (0, 0, first.new)
    assert again.index_mode == "update"

    records = [c for _, c in iso2709.split_records(m21[0].read_bytes())]
    fewer = tmp / "fewer.mrc"
    fewer.write_bytes(b"".join(records[:-3]))
    third = import_sources(config, {"m21": [fewer]}, processes=2, show_progress=False)
    assert third.deleted == 3 and third.unchanged == first.new - 3
    with RecordStore(config.resolve(config.store_path)) as store:
        assert store.counts()["m21"]["records"] == first.new - 3
        runs = sum(1 for r in store.harvest_runs("m21", limit=100)
                   if r["finished"] is not None and r["error"] is None)
        assert runs == 3
        clusters = len({c for c in store.cluster_map().values() if c is not None})
    backend = TantivyBackend(config.resolve(config.index.path))
    assert backend.count() == clusters  # the emptied entries left the index
    backend.close()


def _record_columns(row: StoredRow) -> tuple:
    """Everything a record's row holds but the merge's cluster and the run bookkeeping."""
    return (row.key, row.source, row.source_id, row.library, row.data, row.digest, row.isbn,
            row.match, row.work, row.raw, row.raw_format)


def test_harvest_and_bulk_paths_store_the_same_rows(tmp_path):
    """The same records through the checkpointed harvest's path (`pipeline.ingest`:
    `from_raw`, `RecordStore.put`) and through the bulk import: the same stored rows —
    data, digest, ISBNs, match keys, work key, raw bytes — and the same quarantine entries
    for a repeated id, whichever way a record without 001 or a duplicate arrives."""
    records = [c for _, c in iso2709.split_records(
        shared_data("marc21_cjk/blacklight/test_data.utf8.mrc").read_bytes())]
    no_001 = _without_001(records[1])
    chunks = [*records, records[0], no_001, records[2], no_001]
    config = _config(tmp_path, "paths")
    source = config.source("m21")

    harvested = RecordStore(tmp_path / "harvested.db")
    raws = [RawRecord("m21", n, chunk, raw_format(source, False))
            for n, chunk in enumerate(chunks, 1)]
    ingest(source, raws, harvested, HarvestStats("m21"))

    path = tmp_path / "export.mrc"
    path.write_bytes(b"".join(chunks))
    import_sources(config, {"m21": [path]}, processes=2, chunk_bytes=2_000, reindex="none",
                   show_progress=False)
    bulk = RecordStore(config.resolve(config.store_path))

    by_harvest = [_record_columns(row) for row, _ in harvested.stored_rows()]
    by_bulk = [_record_columns(row) for row, _ in bulk.stored_rows()]
    assert len(by_harvest) >= len(records) and any("#" in r[0] for r in by_harvest)
    assert by_bulk == by_harvest
    duplicates = [[(e.position, e.record_id, e.reason, e.raw) for e in store.quarantined()]
                  for store in (harvested, bulk)]
    assert len(duplicates[0]) == 2 and duplicates[1] == duplicates[0]
    harvested.close()
    bulk.close()
