"""Live search through the portal: the JSON API, server-sent events, the search page.

A real consortium in miniature: 陕西省图书馆 is harvested into the store and the tantivy
index; 咸阳市图书馆 can only be searched live (a real Zebra over the GB18030 demo export);
神木市图书馆's live server hangs and 扶风县图书馆's refuses connections.  Both provincial
and city libraries hold 红楼梦 (ISBN 9787020022076), so the index hit must come back once,
with both libraries' holdings.  Live deadlines are 1 s (config ``deadline: 1``).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from connectors.base import RawRecord
from core.config import parse
from harvest.pipeline import HarvestStats, ingest, rebuild_index
from harvest.store import RecordStore
from index.tantivy_backend import TantivyBackend
from portal.live import LIVE
from tests.conftest import Serve, World, axe_violations
from tests.test_broadcast import DEMO, free_port, hanging_server, iso_records
from tongjian.zebra import RecordFile, ZebraServer

pytestmark = pytest.mark.skipif(
    not (shutil.which("zebraidx") and shutil.which("zebrasrv")),
    reason="Zebra (idzebra-2.0) is not installed",
)

HONGLOU_ISBN = "9787020022076"
TITLES = ("红楼梦", "三体", "平凡的世界", "白鹿原")


def _libraries() -> list[dict[str, str]]:
    return [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
        {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "level": "county"},
        {"code": "FFLIB", "name": "扶风县图书馆", "region": "宝鸡市", "level": "county"},
    ]


def _sxpl_subset() -> list[bytes]:
    """The famous titles plus some long tail: enough index for merging, quick to build."""
    records = iso_records(DEMO / "SXPL.cnmarc.utf8.iso")
    wanted = [t.encode() for t in TITLES]
    return records[:40] + [r for r in records[40:] if any(w in r for w in wanted)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("live-portal")
    files = [RecordFile(DEMO / "XYLIB.cnmarc.gb18030.iso", "gb18030")]
    with ZebraServer(tmp / "xylib", "unimarc", files) as xylib, hanging_server() as hang:
        live = {"protocol": "z3950", "mode": "live", "deadline": 1, "record_syntax": "unimarc",
                "format": "cnmarc"}
        raw = {
            "libraries": _libraries(),
            "sources": [
                {"name": "sxpl", "library": "SXPL", "protocol": "z3950",
                 "address": "127.0.0.1:1/Default", "record_syntax": "unimarc",
                 "format": "cnmarc"},
                {"name": "xylib-live", "library": "XYLIB", "address": xylib.address,
                 "encoding": "gb18030", **live},
                {"name": "smlib-live", "library": "SMLIB", "address": hang, **live},
                {"name": "fflib-live", "library": "FFLIB",
                 "address": f"127.0.0.1:{free_port()}/Default", **live},
            ],
            "index": {"path": str(tmp / "index")},
            "store": {"path": str(tmp / "store.db")},
        }
        config = parse(raw, tmp / "config.yaml")
        store = RecordStore(config.resolve(config.store_path))
        sxpl = config.source("sxpl")
        raws = [RawRecord("sxpl", n, data, "unimarc")
                for n, data in enumerate(_sxpl_subset(), 1)]
        ingest(sxpl, raws, store, HarvestStats("sxpl"))
        backend = TantivyBackend(config.resolve(config.index.path))
        rebuild_index(store, backend, config, show_progress=False)
        try:
            yield World(config, store, backend)
        finally:
            backend.close()
            store.close()


async def start(client: TestClient, **body: Any) -> ClientResponse:
    return await client.post("/api/live-searches", json={"q": "红楼梦", **body})


async def read_events(resp: ClientResponse, clock: float | None = None) -> list[dict[str, Any]]:
    """Parse a text/event-stream until the server ends it; ``at`` = seconds since clock."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for raw in resp.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if "event" in current:
                current["data"] = json.loads(current["data"])
                current["id"] = int(current["id"])
                if clock is not None:
                    current["at"] = time.monotonic() - clock
                events.append(current)
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = value
    return events


def by_source(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["source"]: s for s in snapshot["sources"]}


# -- the JSON API ----------------------------------------------------------------------


async def test_live_hits_merge_into_index_hits(client: TestClient) -> None:
    resp = await start(client)
    assert resp.status == 201
    created = await resp.json()
    assert resp.headers["Location"] == created["links"]["self"]
    assert created["query"]["q"] == "红楼梦" and created["index_total"] >= 2
    assert {s["source"] for s in created["sources"]} == {"xylib-live", "smlib-live",
                                                         "fflib-live"}
    events = await read_events(await client.get(created["links"]["events"]))
    assert events[-1]["event"] == "done"
    final = await (await client.get(created["links"]["self"])).json()
    assert final["done"] is True

    status = by_source(final)
    assert status["xylib-live"]["state"] == "done" and status["xylib-live"]["hits"] == 2
    assert status["xylib-live"]["name"] == "咸阳市图书馆"
    assert status["xylib-live"]["text"] == "2 条"
    assert status["smlib-live"]["state"] == "timeout"
    assert status["smlib-live"]["text"] == "超时"
    assert status["fflib-live"]["state"] == "failed"
    assert status["fflib-live"]["text"] == "无法连接"

    # The edition both libraries hold shows once, with both holdings.
    honglou = [h for h in final["hits"] if HONGLOU_ISBN in h["isbn"]]
    assert len(honglou) == 1
    hit = honglou[0]
    assert hit["origin"] == "index" and hit["url"] == f"/record/{hit['id']}"
    assert [(h["library"], h["live"]) for h in hit["holdings"]] == [("SXPL", False),
                                                                    ("XYLIB", True)]
    assert hit["summary"] == "2 馆收藏：陕西省图书馆、咸阳市图书馆"
    assert hit["live_sources"] == ["xylib-live"]
    # The city library's 红楼梦 without an ISBN is the catalogue's 1982 edition (title,
    # author, year and publisher agree): the harvest's matcher joins it, so it is not
    # shown a second time as a live-only hit.
    assert [h for h in final["hits"] if h["origin"] == "live"] == []
    no_isbn = [h for h in final["hits"] if h["title"] == "红楼梦" and not h["isbn"]]
    assert len(no_isbn) == 1
    assert ("XYLIB", True) in [(h["library"], h["live"]) for h in no_isbn[0]["holdings"]]
    assert final["live"] == {"records": 2, "live_hits": 0, "merged": 2, "elsewhere": 0}


async def test_live_hits_keep_a_readers_nearest_first_order(client: TestClient) -> None:
    """A reader of 咸阳市图书馆 (home-library cookie, issue 14): live updates of a hit list
    their own library first, as the page did, not back in province-first order."""
    client.session.cookie_jar.update_cookies({"tongjian_home": "XYLIB"})
    created = await (await start(client)).json()
    await read_events(await client.get(created["links"]["events"]))
    final = await (await client.get(created["links"]["self"])).json()
    hit = next(h for h in final["hits"] if HONGLOU_ISBN in h["isbn"])
    assert [h["library"] for h in hit["holdings"]] == ["XYLIB", "SXPL"]
    assert hit["summary"] == "2 馆收藏：咸阳市图书馆、陕西省图书馆"


async def test_events_arrive_progressively_and_replay(client: TestClient) -> None:
    clock = time.monotonic()
    created = await (await start(client)).json()
    resp = await client.get(created["links"]["events"])
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-store"
    events = await read_events(resp, clock)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    first_hits = next(e for e in events if e["event"] == "hits")
    done = events[-1]
    # The city library's records are on the page long before the hanging server's
    # deadline settles the search.
    assert first_hits["at"] < 0.6 and done["at"] >= 0.9
    assert [h["origin"] for h in first_hits["data"]["changed"]].count("index") == 2
    lines = [e["data"]["text"] for e in events
             if e["event"] == "status" and e["data"]["source"] == "smlib-live"]
    assert lines[0] == "连接中…" and lines[-1] == "超时"
    assert done["data"]["done"] is True and len(done["data"]["sources"]) == 3
    # A reconnecting EventSource sends Last-Event-ID and gets only what it missed.
    again = await read_events(await client.get(created["links"]["events"],
                                                headers={"Last-Event-ID": "3"}))
    assert [e["id"] for e in again] == [e["id"] for e in events[3:]]


async def test_bad_requests_are_refused_with_reasons(client: TestClient) -> None:
    url = "/api/live-searches"
    form = await client.post(url, data={"q": "红楼梦"})
    assert form.status == 415 and "JSON" in (await form.json())["error"]
    broken = await client.post(url, data="{not json",
                               headers={"Content-Type": "application/json"})
    assert broken.status == 400
    cases = [
        ([], "JSON 对象"),
        ({"q": ""}, "检索词"),
        ({"q": "红楼梦", "library": "SXPL"}, "筛选"),
        ({"q": "I242", "field": "call_number"}, "索书号"),
        ({"q": "红楼梦", "page": "x"}, "页"),
        ({"q": ["红楼梦"]}, "文字或整数"),
    ]
    for body, words in cases:
        resp = await client.post(url, json=body)
        assert resp.status == 400, body
        assert words in (await resp.json())["error"], body
    missing = await client.get("/api/live-searches/nope")
    assert missing.status == 404 and "过期" in (await missing.json())["error"]
    assert (await client.get("/api/live-searches/nope/events")).status == 404


async def test_running_searches_are_limited(client: TestClient) -> None:
    registry = client.app[LIVE]
    registry.max_running, registry.max_per_client = 1, 1
    first = await start(client)
    assert first.status == 201
    busy = await start(client, q="三体")
    assert busy.status == 429 and busy.headers["Retry-After"]
    registry.max_per_client = 5
    busy = await start(client, q="三体")
    assert busy.status == 503 and "正忙" in (await busy.json())["error"]
    await read_events(await client.get((await first.json())["links"]["events"]))
    assert (await start(client, q="三体")).status == 201  # the first one has finished


async def test_sessions_expire_and_can_be_deleted(client: TestClient) -> None:
    registry = client.app[LIVE]
    registry.ttl = 0.2
    created = await (await start(client)).json()
    session = registry.sessions[created["id"]]
    await asyncio.sleep(0.3)
    assert (await client.get(created["links"]["self"])).status == 404
    registry.sweep()
    assert created["id"] not in registry.sessions
    await asyncio.wait_for(session.search.wait(), 1)  # its broadcast was cancelled
    assert session.search.status("smlib-live").state == "cancelled"
    registry.ttl = 300
    created = await (await start(client)).json()
    assert (await client.delete(created["links"]["self"])).status == 204
    assert (await client.get(created["links"]["self"])).status == 404


async def test_shutdown_ends_streams_and_threads(world: World) -> None:
    client = TestClient(TestServer(world.app()))  # closed by the test itself
    await client.start_server()
    engine = client.app[LIVE].broadcaster
    created = await (await start(client)).json()
    await client.get(created["links"]["events"])  # a reader is following the search
    started = time.monotonic()
    await client.close()  # while the hanging source is still being waited for
    # The open stream did not hold the shutdown; the hung thread ended by ZOOM's timeout
    # (a timed-out call can take up to ~3 × the 1 s deadline; an unbounded one never ends).
    assert time.monotonic() - started < 4.0
    assert engine.pool.threads == 0 and engine.running == 0
    assert client.app[LIVE].sessions == {}


# -- the search page -------------------------------------------------------------------


async def test_search_page_offers_live_search_without_inline_script(client: TestClient) -> None:
    resp = await client.get("/search", params={"q": "红楼梦"})
    body = await resp.text()
    assert "script-src" not in resp.headers["Content-Security-Policy"]  # default-src 'self'
    box = re.search(r'<section id="live"[^>]*>', body)
    assert box and " hidden" in box.group(0) and 'data-q="红楼梦"' in box.group(0)
    assert '<script src="/static/live.js" defer></script>' in body
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)  # nothing inline
    assert 'href="/record/' in body  # the index results are there without any script
    script = await client.get("/static/live.js")
    assert script.status == 200 and "EventSource" in await script.text()
    for params in ({"q": "红楼梦", "library": "SXPL"}, {"q": "I242", "field": "call_number"},
                   {}):
        page = await (await client.get("/search", params=params)).text()
        assert 'id="live"' not in page and "live.js" not in page, params


async def test_no_live_sources_no_live_box(world: World, tmp_path: Path,
                                          serve: Serve) -> None:
    raw = {"libraries": _libraries(),
           "sources": [{"name": "sxpl", "library": "SXPL", "protocol": "z3950",
                        "address": "127.0.0.1:1/Default"}]}
    config = parse(raw, tmp_path / "config.yaml")
    client = await serve(replace(world, config=config).app())
    page = await (await client.get("/search", params={"q": "红楼梦"})).text()
    assert 'id="live"' not in page
    created = await (await start(client)).json()
    assert created["done"] is True and created["sources"] == []


async def test_live_only_book_has_a_record_page(client: TestClient) -> None:
    """智能电网新论 is in 咸阳市图书馆's live catalogue only: a live-only hit, listed apart
    on the first page, with a record page built from the live record."""
    created = await (await start(client, q="智能电网新论")).json()
    await read_events(await client.get(created["links"]["events"]))
    final = await (await client.get(created["links"]["self"])).json()
    assert final["index_total"] == 0
    live_only = [h for h in final["hits"] if h["origin"] == "live"]
    assert [h["title"] for h in live_only] == ["智能电网新论"]
    hit = live_only[0]
    assert hit["id"].startswith("live-") and hit["url"] == f"/record/{hit['id']}"
    assert [(h["library"], h["live"]) for h in hit["holdings"]] == [("XYLIB", True)]
    assert final["live"] == {"records": 1, "live_hits": 1, "merged": 0, "elsewhere": 0}

    data = await (await client.get(f"/api/records/{hit['id']}")).json()
    assert data["live_only"] is True and data["record"]["title"] == "智能电网新论"
    assert [(h["library"], h["call_number"], h["live"]) for h in data["holdings"]] == [
        ("XYLIB", "TM/154", True)]
    assert [{k: s[k] for k in ("source", "source_id", "library", "live", "catalogued_by")}
            for s in data["sources"]] == [{"source": "xylib-live", "source_id": data[
                "sources"][0]["source_id"], "library": "XYLIB", "live": True,
                "catalogued_by": "XYLIB"}]
    page = await (await client.get(hit["url"])).text()
    assert "尚未收入联合目录" in page and "咸阳市图书馆" in page and "TM/154" in page
    gone = await client.get("/api/records/live-0000000000000000")
    assert gone.status == 404 and "过期" in (await gone.json())["error"]

    # On a later page the catalogue's numbering stays its own: no live-only hit is listed.
    later = await (await start(client, q="智能电网新论", page=2)).json()
    await read_events(await client.get(later["links"]["events"]))
    later = await (await client.get(later["links"]["self"])).json()
    assert [h for h in later["hits"] if h["origin"] == "live"] == []
    assert later["live"]["live_hits"] == 1


# -- in a real browser -------------------------------------------------------------------


async def test_browser_shows_live_copies_in_place_and_live_only_books_apart(
        client: TestClient, browser: Any) -> None:
    """What a reader sees: live.js puts a live library's copy on the catalogue hit it
    belongs to, and a book only a live library has in the live box's own list, linking to
    its record page; the catalogue's count stays the catalogue's."""
    base = str(client.make_url("/"))
    page = await (await browser.new_context(bypass_csp=True)).new_page()  # to inject axe
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(base + "search?q=红楼梦")
    count = await page.locator("p.count").inner_text()
    summary = page.locator(".live-summary")
    assert await summary.get_attribute("aria-live") == "polite"  # arrivals are announced
    await summary.filter(has_text="实时检索完成").wait_for(timeout=10_000)
    assert await axe_violations(page) == []  # (issue 14) with the live results in place
    notes = await page.locator("ol.hits:not(.live-hits) .live-note").all_inner_texts()
    assert notes and all("咸阳市图书馆" in n for n in notes)
    assert await page.locator("ol.live-hits li").count() == 0
    assert await page.locator("p.count").inner_text() == count

    await page.goto(base + "search?q=智能电网新论")
    item = page.locator("ol.live-hits li", has_text="智能电网新论")
    await item.wait_for(timeout=10_000)
    assert await page.locator(".live-hits-title").inner_text() == "仅见于实时检索的书（1 种）"
    assert await page.locator("ol.hits:not(.live-hits) li").count() == 0
    await item.locator("a").click()
    await page.wait_for_url("**/record/live-*")
    body = await page.locator("main").inner_text()
    assert "尚未收入联合目录" in body and "TM/154" in body and "实时" in body
    assert errors == []


async def test_live_search_refuses_other_sites_and_rapid_fire(client: TestClient) -> None:
    """Another site cannot make readers' browsers fan searches out to county servers, and
    one client cannot start searches back to back without limit."""
    evil = await client.post("/api/live-searches", json={"q": "红楼梦"},
                             headers={"Origin": "http://evil.example"})
    assert evil.status == 403 and "其他网站" in (await evil.json())["error"]
    own = await client.post("/api/live-searches", json={"q": "红楼梦"},
                            headers={"Origin": str(client.make_url("")).rstrip("/")})
    assert own.status == 201
    client.app[LIVE].per_minute = 3
    statuses = [(await client.post("/api/live-searches", json={"q": "三体"})).status
                for _ in range(3)]
    assert statuses == [201, 201, 429]  # the same-origin search above was the first
    refused = await client.post("/api/live-searches", json={"q": "三体"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "每分钟最多 3 次" in (await refused.json())["error"]
