"""The loop closes: a second Tongjian harvests the first one's OAI-PMH provider and SRU
server as member sources, through its ordinary connectors and crosswalks, and every entry
arrives with its description and every library's holdings."""

from __future__ import annotations

import asyncio
from pathlib import Path

from connectors.registry import open_connector
from core.config import parse
from core.entry import entry_holdings
from harvest.pipeline import harvest_source
from harvest.store import RecordStore
from tests.test_sru import CONFIG, RECORDS


def second_instance(tmp_path: Path, base: str):
    union = {"library": "SXUC", "format": "marc21", "members": {"SXPL": "SXPL",
                                                                 "XYLIB": "XYLIB"},
             "holdings": [{"tag": "852", "library": "a", "location": "b",
                           "call_number": "h", "barcode": "p"}]}
    config = {
        "consortium": {"name": "邻省联合目录"},
        "libraries": [*CONFIG["libraries"],
                      {"code": "SXUC", "name": "陕西省联合目录", "region": "西安市",
                       "level": "province"}],
        "sources": [
            {"name": "sx-union-oai", "protocol": "oaipmh", "address": f"{base}/oai",
             "metadata_prefix": "marcxml", **union},
            {"name": "sx-union-sru", "protocol": "sru", "address": f"{base}/sru",
             "record_syntax": "marcxml", "query": "cql.allRecords = 1", "batch_size": 2,
             **union},
        ],
        "store": {"path": "second.db"},
    }
    return parse(config, tmp_path / "second" / "config.yaml")


def holdings_by_title(records) -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set[tuple[str, str, str]]] = {}
    for r in records:
        rows = {(h.library, h.call_number, h.barcode) for h in entry_holdings([r])}
        out.setdefault(r.title, set()).update(rows)
    return out


async def test_a_second_instance_harvests_the_first_over_oai_pmh_and_sru(
        make_world, serve, tmp_path: Path) -> None:
    first = make_world(CONFIG, records=RECORDS)
    client = await serve(first.app())
    base = str(client.make_url("")).rstrip("/")
    config = second_instance(tmp_path, base)
    store = RecordStore(config.resolve(config.store_path))
    try:
        for source in config.sources:
            stats = await asyncio.to_thread(harvest_source, source, open_connector(source),
                                            store, True, False)
            assert stats.errors == [] and stats.quarantined == 0, stats
            assert stats.new == 5  # six records, one book held twice: five entries
        expected = holdings_by_title(RECORDS)
        isbns = {r.title: r.isbn[0] for r in RECORDS}
        for source in ("sx-union-oai", "sx-union-sru"):
            got = list(store.records(source))
            assert holdings_by_title(got) == expected
            assert {r.title: (r.isbn or r.isbn_invalid)[0] for r in got} == isbns
            honglou = next(r for r in got if r.title == "红楼梦")
            assert [a.name for a in honglou.authors] == ["曹雪芹"] and honglou.year == 1982
            assert honglou.clc == ["I242.4"]
    finally:
        store.close()
