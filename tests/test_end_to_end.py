"""Harvest → store → merge → index → JSON API, over real Zebra servers started here.

Three member libraries: the real dp2 CNMARC records in UTF-8 (province), the same records
re-encoded as GB18030 (city — so every book is held twice), and real MARC 21 records with
880 vernacular fields (county).  One source points at a closed port: it must show as
failing, and must not stop the others.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.registry import open_connector
from core.config import parse
from harvest import iso2709
from harvest.marc import decode_iso2709
from harvest.pipeline import harvest_source, rebuild_index
from harvest.store import RecordStore
from index.tantivy_backend import TantivyBackend
from portal.app import create_app
from tests.conftest import shared_data
from tongjian.zebra import RecordFile, ZebraServer


def _gb18030_copy(src: Path, dst: Path) -> Path:
    out = bytearray()
    for _, chunk in iso2709.split_records(src.read_bytes()):
        m = decode_iso2709(chunk)
        fields = [(f.tag, "", f.value) if f.value is not None
                  else (f.tag, f.ind1 + f.ind2, f.subfields) for f in m.fields]
        out += iso2709.write(m.leader, fields, "gb18030")
    dst.write_bytes(bytes(out))
    return dst


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    cnmarc = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    marc21 = shared_data("marc21_cjk/yaz/marccol1.u8.marc")
    gb = _gb18030_copy(cnmarc, tmp / "xy.gb18030.iso")
    servers = [
        ZebraServer(tmp / "z1", "unimarc", [cnmarc]),
        ZebraServer(tmp / "z2", "unimarc", [RecordFile(gb, "gb18030")]),
        ZebraServer(tmp / "z3", "marc21", [marc21]),
    ]
    for s in servers:
        s.start()
    try:
        raw = {
            "libraries": [
                {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
                {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
                {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
                 "level": "county"},
            ],
            "sources": [
                {"name": "sx", "library": "SXPL", "protocol": "z3950",
                 "address": servers[0].address, "record_syntax": "unimarc",
                 "holdings": [{"tag": "905", "call_number": "s"},
                              {"tag": "906", "barcode": "b", "call_number": "d/e"}]},
                {"name": "xy", "library": "XYLIB", "protocol": "z3950",
                 "address": servers[1].address, "record_syntax": "unimarc",
                 "encoding": "gb18030", "batch_size": 3},
                {"name": "sm", "library": "SMLIB", "protocol": "z3950",
                 "address": servers[2].address, "record_syntax": "usmarc"},
                {"name": "dead", "library": "SMLIB", "protocol": "z3950",
                 "address": f"127.0.0.1:{_closed_port()}/Default", "timeout": 2},
            ],
            "index": {"path": str(tmp / "index")},
            "store": {"path": str(tmp / "store.db")},
        }
        config = parse(raw, tmp / "config.yaml")
        store = RecordStore(config.resolve(config.store_path))
        stats = {s.name: harvest_source(s, open_connector(s), store, show_progress=False)
                 for s in config.sources}
        backend = TantivyBackend(config.resolve(config.index.path))
        entries = rebuild_index(store, backend, config, show_progress=False)
        yield config, store, backend, stats, entries
        backend.close()
        store.close()
    finally:
        for s in servers:
            s.stop()


def test_harvest_counts_and_failing_source(consortium):
    _, store, _, stats, _ = consortium
    assert (stats["sx"].new, stats["xy"].new, stats["sm"].new) == (10, 10, 19)
    assert all(stats[n].quarantined == 0 for n in ("sx", "xy", "sm"))
    assert stats["dead"].errors and "dead" in stats["dead"].errors[0]
    assert store.last_harvests()["dead"]["error"]
    # GB18030 bytes were decoded into the same text as the UTF-8 originals
    sx = {r.isbn[0]: r.title for r in store.records("sx") if r.isbn}
    xy = {r.isbn[0]: r.title for r in store.records("xy") if r.isbn}
    assert sx and sx == xy
    # the raw original is kept byte-for-byte
    raw, fmt = store.raw(next(iter(store.keys("xy"))))
    assert fmt == "unimarc" and raw.decode("gb18030")


def test_reharvest_is_idempotent(consortium):
    config, store, _, _, _ = consortium
    again = harvest_source(config.source("sx"), open_connector(config.source("sx")), store,
                           show_progress=False)
    assert (again.new, again.updated, again.unchanged, again.deleted) == (0, 0, 10, 0)


async def test_search_api_merges_libraries(consortium):
    config, store, backend, _, entries = consortium
    # the xy records all join sx clusters (same ISBNs); two sx records share an ISBN
    sx_clusters = {r.isbn[0] if r.isbn else r.key for r in store.records("sx")}
    assert entries == len(sx_clusters) + 19
    async with TestClient(TestServer(create_app(config, store, backend))) as client:
        resp = await client.get("/api/search", params={"q": "中国发展报告"})
        assert resp.status == 200
        body = await resp.json()
        assert body["total"] >= 1
        hit = body["hits"][0]
        assert "中国发展报告" in hit["title"]
        assert {h["library"] for h in hit["holdings"]} == {"SXPL", "XYLIB"}
        libraries = {v["value"]: v["count"] for v in body["facets"]["library"]}
        assert libraries.get("SXPL") and libraries.get("XYLIB")

        resp = await client.get(f"/api/records/{hit['id']}")
        record = await resp.json()
        barcodes = {h["barcode"] for h in record["holdings"] if h["library"] == "SXPL"}
        sx_key = next(f"sx:{s['source_id']}" for s in record["sources"] if s["source"] == "sx")
        raw906b = {f.get("b") for f in decode_iso2709(store.raw(sx_key)[0]).get("906")}
        assert barcodes and barcodes == raw906b  # 906$b through the per-source holdings map
        assert {s["source"] for s in record["sources"]} == {"sx", "xy"}

        resp = await client.get("/search", params={"q": "半田"})  # an 880 vernacular title
        assert resp.status == 200
        assert "半田" in await resp.text()

        resp = await client.get("/api/sources")
        sources = {s["name"]: s for s in await resp.json()}
        assert sources["dead"]["status"] == "failing"
        assert sources["sx"]["status"] == "ok"


def test_index_rebuilds_from_store_alone(consortium, tmp_path):
    config, store, backend, _, entries = consortium
    fresh = TantivyBackend(tmp_path / "rebuilt")
    try:
        assert rebuild_index(store, fresh, config, show_progress=False) == entries
        assert fresh.count() == backend.count() == entries
    finally:
        fresh.close()
