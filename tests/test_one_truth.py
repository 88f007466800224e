"""One truth per book, on the demo consortium itself: every view counts the same holdings.

The whole demo of config.yaml runs here on free loopback ports — five Zebra servers, the
Symphony and Koha simulators, the OAI-PMH repository and the live-only county library —
and is harvested and indexed as `tongjian demo` does.  Then live searches run (so live
copies join catalogue entries), and every entry of the catalogue is read through each
view a reader or librarian uses: the result list (`/api/search`), the record page
(`/api/records/{id}`), "other editions" on other entries' record pages, and the ILL
matrix (`/api/holdings/lookup`).  They must agree on which libraries hold the book and
how many copies each has.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from core.config import Config, parse
from harvest.store import RecordStore
from index.tantivy_backend import TantivyBackend
from portal import ill_lookup
from portal.app import create_app
from tests.conftest import free_port
from tongjian.demo import harvest_all, member_systems

ROOT = Path(__file__).resolve().parents[1]
LIVE_QUERIES = ("陕西", "红楼梦", "长安志", "白鹿原")

pytestmark = pytest.mark.skipif(
    not (shutil.which("zebraidx") and shutil.which("zebrasrv")),
    reason="Zebra (idzebra-2.0) is not installed",
)


def demo_config(tmp: Path) -> Config:
    """config.yaml with every member system moved to a free port and the store and index
    in `tmp`, so the test never meets a running demo."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    # The one live source here is the county library: the university searched over SRU
    # (another system's books, many not in the catalogue) has tests of its own.
    raw["sources"] = [s for s in raw["sources"] if s["name"] != "xjtu-sru"]
    for source in raw["sources"]:
        source["address"] = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{free_port()}",
                                   source["address"])
    raw["store"] = {"path": str(tmp / "store.db")}
    raw["index"] = {**raw.get("index", {}), "path": str(tmp / "index")}
    raw.pop("admin", None)  # the ILL view is open to the test without a login
    return parse(raw, tmp / "config.yaml")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Config, RecordStore, TantivyBackend]]:
    config = demo_config(tmp_path_factory.mktemp("one-truth"))
    with member_systems(config) as started:
        assert {s.name for s in started} >= {"sxpl-z3950", "union-symphony", "bjlib-koha",
                                             "sxpl-dfwx", "cwlib-live"}
        assert harvest_all(config, started)
        store = RecordStore(config.resolve(config.store_path))
        backend = TantivyBackend(config.resolve(config.index.path))
        try:
            yield config, store, backend
        finally:
            backend.close()
            store.close()


@pytest.fixture
async def client(demo: tuple[Config, RecordStore, TantivyBackend]
                 ) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(*demo)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def live_search(client: TestClient, q: str, page: int = 1) -> dict[str, Any]:
    resp = await client.post("/api/live-searches", json={"q": q, "page": page})
    assert resp.status == 201, await resp.text()
    url = (await resp.json())["links"]["self"]
    for _ in range(200):
        state = await (await client.get(url)).json()
        if state["done"]:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"live search {q!r} did not finish")


def per_library(holdings: list[dict[str, Any]]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for h in holdings:
        out[h["library"]] += h["copies"]
    return dict(out)


async def all_entries(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every entry as the result list shows it, paging through a browse of everything."""
    entries: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        data = await (await client.get("/api/search",
                                       params={"page_size": 100, "page": page})).json()
        entries.update({h["id"]: h for h in data["hits"]})
        if page * 100 >= data["total"]:
            assert len(entries) == data["total"]
            return entries
        page += 1


@pytest.fixture
async def live_done(client: TestClient) -> list[dict[str, Any]]:
    """Live searches whose live copies join catalogue entries for the rest of the test."""
    return [await live_search(client, q) for q in LIVE_QUERIES]


async def test_live_hits_never_duplicate_a_catalogue_book(
        client: TestClient, live_done: list[dict[str, Any]]) -> None:
    sessions = {q: s for q, s in zip(LIVE_QUERIES, live_done, strict=True)}
    for q, session in sessions.items():
        assert [s["state"] for s in session["sources"]] == ["done"], (q, session["sources"])
        for hit in (h for h in session["hits"] if h["origin"] == "live"):
            for isbn in hit["isbn"]:
                found = await (await client.get("/api/search", params={
                    "q": isbn, "field": "isbn"})).json()
                assert found["total"] == 0, f"{q}: live-only {hit['title']} is in the catalogue"
    # 陕西: the county library's books are all in the catalogue already; they join
    # their entries (on this page or elsewhere) instead of being listed again.
    shaanxi = sessions["陕西"]
    assert shaanxi["live"]["records"] > 0
    assert shaanxi["live"]["live_hits"] == 0
    assert shaanxi["live"]["merged"] + shaanxi["live"]["elsewhere"] > 0
    # 白鹿原 9787020017775 is one entry, now with the live county library among its holders.
    bailu = await (await client.get("/api/search", params={
        "q": "9787020017775", "field": "isbn"})).json()
    assert bailu["total"] == 1
    assert ("CWLIB", True) in [(h["library"], h["live"]) for h in bailu["hits"][0]["holdings"]]
    # 红楼梦 1982, without an ISBN: joined by title, author, year and publisher.
    honglou = [h for h in sessions["红楼梦"]["hits"] if h["origin"] == "index"
               and h["title"] == "红楼梦" and h["year"] == 1982]
    assert honglou and "CWLIB" in {h["library"] for h in honglou[0]["holdings"]}


async def test_every_view_counts_the_same_holdings(
        client: TestClient, live_done: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Live status changes what is on the shelf, never how many copies: a few ILL lines
    # asked live are enough here, and keep the test from waiting on the simulators.
    monkeypatch.setattr(ill_lookup, "LIVE_LINES", 10)
    entries = await all_entries(client)
    assert len(entries) > 2000
    records: dict[str, dict[str, Any]] = {}
    for entry_id in entries:
        resp = await client.get(f"/api/records/{entry_id}")
        assert resp.status == 200, entry_id
        records[entry_id] = await resp.json()

    live_joined = 0
    for entry_id, hit in entries.items():
        shown = per_library(hit["holdings"])
        on_page = per_library(records[entry_id]["holdings"])
        assert shown == on_page, (entry_id, hit["title"])
        assert sum(shown.values()) > 0, (entry_id, hit["title"])
        live_joined += any(h["live"] for h in hit["holdings"])
        for edition in records[entry_id]["other_editions"]:
            assert edition["libraries"] == len(entries[edition["id"]]["holdings"]), edition
    assert live_joined > 0  # the live searches above joined live copies to entries

    by_isbn: dict[str, list[str]] = {}
    for entry_id, hit in entries.items():
        for isbn in hit["isbn"]:
            by_isbn.setdefault(isbn, []).append(entry_id)
    lines = [isbn for isbn, ids in by_isbn.items() if len(ids) == 1]
    checked = 0
    for start in range(0, len(lines), 500):
        resp = await client.post("/api/holdings/lookup", json={"lines": lines[start:start + 500]})
        result = await resp.json()
        while not result.get("items"):
            await asyncio.sleep(0.2)
            result = await (await client.get(f"/api/holdings/lookup/{result['job']}")).json()
        for item in result["items"]:
            if item["matched"] != [by_isbn[item["isbn"]][0]]:
                continue
            entry_id = item["matched"][0]
            assert per_library(item["holdings"]) == per_library(entries[entry_id]["holdings"]), \
                (entry_id, item["query"])
            checked += 1
    assert checked > 1000


async def test_digitized_documents_are_online_holdings_everywhere(client: TestClient) -> None:
    data = await (await client.get("/api/search", params={
        "material_type": "manuscript", "page_size": 100})).json()
    assert data["total"] > 0
    online = 0
    for hit in data["hits"]:
        record = await (await client.get(f"/api/records/{hit['id']}")).json()
        url = record["record"]["online_url"]
        assert [(h["library"], h["online"]) for h in hit["holdings"]] == [("SXPL", bool(url))]
        assert len(record["holdings"]) == 1
        row = record["holdings"][0]
        if url:
            online += 1
            assert row["location"] == "在线阅读" and row["online_url"] == url
        else:  # in the library's catalogue, without items and without a digital object
            assert row["note"] == "来源未提供单册信息" and row["online_url"] == ""
        page = await (await client.get(f"/record/{hit['id']}")).text()
        assert "这条书目没有馆藏信息" not in page and "馆藏（1 馆，1 条）" in page
        assert ('>在线阅读</a>' in page) == bool(url)
    assert online > 0
