"""Live availability: the status vocabulary, and the service against real peers.

Peers started here, each on a free loopback port: the Symphony and Koha simulators
(`peers`), a Zebra server (no OPAC record syntax: "不提供实时状态"), yaz-ztest (which does
serve OPAC records with circulation data), a server that accepts connections and never
answers, and a Symphony whose next item request fails with HTTP 500.  Records are
harvested from the peers through the real connectors and crosswalks, then circulation
changes on the peer, so a live answer can be told from the harvested one.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.availability import AvailabilityService, HoldingStatus, match_items
from connectors.base import LiveItem, RawRecord
from connectors.registry import open_connector
from core.config import Config, parse
from core.model import Holding, Record
from core.status import (
    AVAILABLE,
    CODES,
    IN_TRANSIT,
    LABELS,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    UNAVAILABLE,
    UNKNOWN,
    VOCABULARIES,
    Status,
    common_status,
    location_use_only,
)
from harvest.crosswalk import from_raw
from peers.koha import KohaSimulator, demo_records
from peers.symphony import SymphonySimulator
from tests.conftest import HangServer, MakeWorld, Serve

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
SYM_CLIENT, SYM_USER, SYM_PASSWORD = "TONGJIAN-TEST", "TJ_LIVE", "pw-live-not-logged"
KOHA_ID, KOHA_SECRET = "tongjian-live", "koha-live-secret"
ENV = {"TJTEST_SYM_USER": SYM_USER, "TJTEST_SYM_PASSWORD": SYM_PASSWORD,
       "TJTEST_KOHA_ID": KOHA_ID, "TJTEST_KOHA_SECRET": KOHA_SECRET}
HAS_ZEBRA = bool(shutil.which("zebraidx") and shutil.which("zebrasrv"))
HANG_TIMEOUT = 1.0


# -- the vocabulary ---------------------------------------------------------------------------

MAPPING = [
    # Chinese ILS words
    ("在馆", AVAILABLE, ""), ("在架", AVAILABLE, ""), ("可借", AVAILABLE, ""),
    ("在架/可借", AVAILABLE, ""), ("借出", ON_LOAN, ""), ("已借出", ON_LOAN, ""),
    ("借出 应还日期:2024-05-01", ON_LOAN, "2024-05-01"),
    ("已借出（应还日期：2024年6月30日）", ON_LOAN, "2024-06-30"),
    ("已通还", IN_TRANSIT, ""), ("通借通还中", IN_TRANSIT, ""), ("在途", IN_TRANSIT, ""),
    ("待上架", IN_TRANSIT, ""), ("阅览", LIBRARY_USE_ONLY, ""),
    ("馆内阅览", LIBRARY_USE_ONLY, ""), ("不外借", LIBRARY_USE_ONLY, ""),
    ("剔除", UNAVAILABLE, ""), ("丢失", UNAVAILABLE, ""), ("遗失", UNAVAILABLE, ""),
    ("修补", UNAVAILABLE, ""), ("预约", UNAVAILABLE, ""), ("不可借", UNAVAILABLE, ""),
    ("在架；丢失", UNAVAILABLE, ""),  # the least available reading wins
    # Symphony current locations
    ("CHECKEDOUT", ON_LOAN, ""), ("INTRANSIT", IN_TRANSIT, ""), ("LOST-ASSUM", UNAVAILABLE, ""),
    ("ON-SHELF", AVAILABLE, ""), ("HOLDS", UNAVAILABLE, ""), ("STACKS", UNKNOWN, ""),
    # Koha status summaries
    ("available", AVAILABLE, ""), ("checked out, due 2026-12-01", ON_LOAN, "2026-12-01"),
    ("not for loan (1)", LIBRARY_USE_ONLY, ""), ("not for loan (-1)", UNAVAILABLE, ""),
    ("lost (2)", UNAVAILABLE, ""), ("withdrawn (1)", UNAVAILABLE, ""),
    ("restricted (1)", LIBRARY_USE_ONLY, ""),
    ("checked out, due 2026-12-01; damaged (1)", UNAVAILABLE, ""),
    # English / OPAC / MARC words
    ("Checked In", AVAILABLE, ""), ("On Shelf", AVAILABLE, ""), ("In transit", IN_TRANSIT, ""),
    ("Reference only", LIBRARY_USE_ONLY, ""), ("Missing", UNAVAILABLE, ""),
    ("DUE 05-12-24", ON_LOAN, ""), ("ＡＶＡＩＬＡＢＬＥ", AVAILABLE, ""),
]

# Text that must never read as available: unknown words, half-known phrases, negations,
# contradictions, and nothing at all.
NEVER_AVAILABLE = ["", "   ", "—", "xyz", "在架可预约", "在架 blah", "available soon",
                   "not on shelf", "可借？", "shelf", "STACKS", "CN-SOCSCI", "INTERNET",
                   "在架；未知", "available; mystery", "状态不明", "12345", "在架 ???"]


@pytest.mark.parametrize(("raw", "code", "due"), MAPPING)
def test_vocabulary_maps_each_systems_words(raw: str, code: str, due: str) -> None:
    assert common_status(raw) == Status(code, due)


@pytest.mark.parametrize("raw", NEVER_AVAILABLE)
def test_unknown_is_never_available(raw: str) -> None:
    status = common_status(raw)
    assert status.code != AVAILABLE and not status.available
    assert status.code in CODES


def test_vocabulary_tables_are_consistent_and_complete() -> None:
    assert set(LABELS) == set(CODES)
    for table in VOCABULARIES:
        assert set(table.values()) <= set(CODES)
    # (Symphony's special locations and Koha's summaries: tests/test_symphony.py and
    # tests/test_koha.py, next to the connectors that read them.)
    assert location_use_only("地方文献阅览室") and not location_use_only("中文图书借阅室")


def test_holdings_pair_with_live_copies() -> None:
    live = [LiveItem(Status(AVAILABLE), barcode="A1", call_number="I1"),
            LiveItem(Status(ON_LOAN, "2026-01-01"), barcode="A2", call_number="I2"),
            LiveItem(Status(AVAILABLE), barcode="", call_number="I3")]
    got = match_items([Holding("L", barcode="a1"), Holding("L", barcode="ZZ"),
                       Holding("L", call_number="I2", copies=2)], live)
    assert got[0] == (live[0],)  # barcodes compare without case
    assert got[1] is None  # a copy the system no longer reports
    assert got[2] == (live[1],)  # a summary holding takes its call number's copies
    # a lone summary holding takes every unclaimed copy
    assert match_items([Holding("L")], live) == [tuple(live)]


# -- peers ------------------------------------------------------------------------------------


def _split(path: Path, n: int) -> list[bytes]:
    return [c + b"\x1d" for c in path.read_bytes().split(b"\x1d") if c.strip()][:n]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def symphony() -> Iterator[SymphonySimulator]:
    records = _split(DEMO / "SXPL.cnmarc.utf8.iso", 8)
    with SymphonySimulator(records, client_id=SYM_CLIENT, users={SYM_USER: SYM_PASSWORD},
                           seed=3) as sim:
        yield sim


@pytest.fixture
def failing_symphony() -> Iterator[SymphonySimulator]:
    with SymphonySimulator(_split(DEMO / "SXPL.cnmarc.utf8.iso", 2), client_id=SYM_CLIENT,
                           users={SYM_USER: SYM_PASSWORD}, seed=5) as sim:
        yield sim


@pytest.fixture
def koha() -> Iterator[KohaSimulator]:
    sim = KohaSimulator(demo_records(15), first_biblio_id=500, clients={KOHA_ID: KOHA_SECRET},
                        libraries={"SMLIB": "神木市图书馆"}).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def zebra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not HAS_ZEBRA:
        pytest.skip("Zebra (idzebra-2.0) is not installed")
    from tongjian.zebra import ZebraServer

    with ZebraServer(tmp_path_factory.mktemp("zebra-live"), "unimarc",
                     [DEMO / "SXPL.cnmarc.utf8.iso"]) as server:
        yield server


@pytest.fixture
def hang() -> Iterator[HangServer]:
    server = HangServer()
    yield server
    server.close()


LIBRARIES = [
    {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    {"code": "LQLIB", "name": "礼泉县图书馆", "region": "咸阳市", "county": "礼泉县",
     "level": "county"},
    {"code": "SYLIB", "name": "三原县图书馆", "region": "咸阳市", "county": "三原县",
     "level": "county"},
    {"code": "YLLIB", "name": "杨凌示范区图书馆", "region": "咸阳市", "county": "杨陵区",
     "level": "county"},
    {"code": "QXLIB", "name": "乾县图书馆", "region": "咸阳市", "county": "乾县",
     "level": "county"},
    {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
     "level": "county"},
]
MEMBERS = {"PROV": "SXPL", "LIQUAN": "LQLIB", "SANYUAN": "SYLIB", "YANGLING": "YLLIB",
           "QIANXIAN": "QXLIB"}


def make_config(**peers: Any) -> Config:
    """Sources for whichever peers the test started (None = leave that source out)."""
    sym_auth = {"user_env": "TJTEST_SYM_USER", "password_env": "TJTEST_SYM_PASSWORD",
                "client_id": SYM_CLIENT}
    koha_auth = {"client_id_env": "TJTEST_KOHA_ID", "client_secret_env": "TJTEST_KOHA_SECRET"}
    sources = []
    if peers.get("symphony"):
        sources.append({"name": "prov", "library": "SXPL", "protocol": "symphony",
                        "address": peers["symphony"].base_url, "members": MEMBERS,
                        "auth": sym_auth})
    if peers.get("failing"):
        sources.append({"name": "prov2", "library": "SXPL", "protocol": "symphony",
                        "address": peers["failing"].base_url, "members": MEMBERS,
                        "auth": sym_auth})
    if peers.get("koha"):
        sources.append({"name": "smlib", "library": "SMLIB", "protocol": "koha",
                        "address": peers["koha"].base_url, "auth": koha_auth})
    if peers.get("zebra"):
        sources.append({"name": "sxpl-z", "library": "SXPL", "protocol": "z3950",
                        "address": peers["zebra"].address, "record_syntax": "unimarc"})
    if peers.get("ztest"):
        sources.append({"name": "ztest", "library": "SXPL", "protocol": "z3950",
                        "address": peers["ztest"]})
    if peers.get("hang"):
        port = peers["hang"].port
        sources.append({"name": "hang-http", "library": "SMLIB", "protocol": "koha",
                        "address": f"http://127.0.0.1:{port}", "auth": koha_auth})
        sources.append({"name": "hang-z", "library": "SMLIB", "protocol": "z3950",
                        "address": f"127.0.0.1:{port}/Default"})
    if peers.get("oai"):
        sources.append({"name": "oai", "library": "SXPL", "protocol": "oaipmh",
                        "address": "http://127.0.0.1:9/oai", "metadata_prefix": "oai_dc"})
    return parse({"libraries": LIBRARIES, "sources": sources}, Path("test.yaml"))


def harvest(config: Config, name: str) -> list[Record]:
    source = next(s for s in config.sources if s.name == name)
    with open_connector(source) as conn:
        return [from_raw(raw, source) for raw in conn.harvest()
                if isinstance(raw, RawRecord) and not raw.deleted]


def item_requests(sim: SymphonySimulator) -> int:
    with sim.lock:
        return sum(1 for r in sim.request_log if r["path"].startswith(
            f"/{sim.webapp}/catalog/item/barcode/"))


def by_barcode(statuses: list[HoldingStatus]) -> dict[str, HoldingStatus]:
    return {s.barcode: s for s in statuses}


def symphony_record(records: list[Record], sim: SymphonySimulator, n: int = 3) -> Record:
    """A harvested record with at least `n` items, all reset to 'on the shelf'."""
    record = next(r for r in records if len(r.holdings) >= n)
    for item in sim.items(record.source_id):
        sim.set_item_location(item.barcode, item.home)
    return record


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- Symphony ---------------------------------------------------------------------------------


async def test_symphony_loan_transit_reading_room_and_cache(env: None,
                                                            symphony: SymphonySimulator) -> None:
    config = make_config(symphony=symphony)
    record = symphony_record(harvest(config, "prov"), symphony)
    loaned, moving, reading = (h.barcode for h in record.holdings[:3])
    symphony.set_item_location(loaned, "CHECKEDOUT", due="2026-12-01")
    symphony.set_item_location(moving, "INTRANSIT")
    with symphony.lock:  # a copy shelved in a reading room (地方文献阅览室)
        item = next(i for i in symphony.items(record.source_id) if i.barcode == reading)
        item.home = item.current = "LOCAL-DOC"
    clock = FakeClock()
    service = AvailabilityService(config, clock=clock, ttl=60)
    try:
        got = by_barcode(await service.check([record], as_of={record.key: 1.0}))
        assert got[loaned].live and (got[loaned].status, got[loaned].due_date) == \
            (ON_LOAN, "2026-12-01")
        assert got[loaned].raw_status.startswith("CHECKEDOUT")
        assert got[moving].status == IN_TRANSIT
        assert got[reading].status == LIBRARY_USE_ONLY
        for s in got.values():
            assert s.live and s.reason == "" and s.as_of and s.as_of > 1.0
        asked = item_requests(symphony)
        assert asked == len(record.holdings)  # one request per item

        # within the TTL the cache answers: no request reaches Symphony
        clock.now += 59
        again = by_barcode(await service.check([record]))
        assert item_requests(symphony) == asked
        assert again[loaned].status == ON_LOAN and again[loaned].as_of == got[loaned].as_of

        # after it, Symphony is asked again and the return is seen
        symphony.set_item_location(loaned, next(i.home for i in symphony.items(
            record.source_id) if i.barcode == loaned))
        clock.now += 2
        fresh = by_barcode(await service.check([record]))
        assert item_requests(symphony) == 2 * asked
        assert fresh[loaned].status == AVAILABLE and fresh[loaned].due_date == ""
    finally:
        service.close()


async def test_symphony_error_is_reported_then_recovers(env: None,
                                                        failing_symphony: SymphonySimulator
                                                        ) -> None:
    config = make_config(failing=failing_symphony)
    record = harvest(config, "prov2")[0]
    failing_symphony.fail_next(len(record.holdings), status=500, path="/catalog/item")
    service = AvailabilityService(config)
    try:
        first = await service.check([record], as_of={record.key: 1700000000.0})
        assert {(s.live, s.reason, s.reason_code) for s in first} == {(False, "查询出错", "error")}
        for s, h in zip(first, record.holdings, strict=True):  # the harvested status, mapped
            assert s.status == common_status(h.status).code and s.as_of == 1700000000.0
        # an error is about that request, not the server: the next check asks again
        second = await service.check([record])
        assert all(s.live for s in second)
    finally:
        service.close()


# -- Koha -------------------------------------------------------------------------------------


async def test_koha_checkout_not_for_loan_lost(env: None, koha: KohaSimulator) -> None:
    config = make_config(koha=koha)
    records = harvest(config, "smlib")
    record = max(records, key=lambda r: len(r.holdings))
    items = {i["external_id"]: i for i in koha.items_of(int(record.source_id))}
    free = [b for b, i in items.items() if not i["checked_out_date"]]
    assert len(free) >= 4
    out, reading, lost, shelf = free[:4]
    koha.checkout(items[out]["item_id"], date(2026, 12, 1))
    koha.set_item(items[reading]["item_id"], not_for_loan_status=1)
    koha.set_item(items[lost]["item_id"], lost_status=1)
    service = AvailabilityService(config)
    try:
        got = by_barcode(await service.check([record]))
    finally:
        service.close()
    assert (got[out].status, got[out].due_date, got[out].live) == (ON_LOAN, "2026-12-01", True)
    assert got[reading].status == LIBRARY_USE_ONLY
    assert got[lost].status == UNAVAILABLE
    assert got[shelf].status == AVAILABLE and got[shelf].available_copies == 1
    for barcode, item in items.items():  # copies already out at harvest time keep their due
        if item["checked_out_date"] and barcode not in (out, reading, lost):
            assert (got[barcode].status, got[barcode].due_date) == \
                (ON_LOAN, item["checked_out_date"][:10])
    assert got[out].harvested_status == "available"  # what the index still says


# -- Z39.50 -----------------------------------------------------------------------------------


async def test_zebra_offers_no_live_status_and_falls_back(zebra: Any) -> None:
    config = make_config(zebra=zebra)
    records = harvest(config, "sxpl-z")
    record = next(r for r in records if any(h.status for h in r.holdings))
    service = AvailabilityService(config)
    try:
        started = time.monotonic()
        got = await service.check([record], as_of={record.key: 1700000000.0})
        again = await service.check([record])
        assert time.monotonic() - started < 2.0
    finally:
        service.close()
    for s, h in zip(got, record.holdings, strict=True):
        assert (s.live, s.reason, s.reason_code) == (False, "不提供实时状态", "not_offered")
        assert s.status == common_status(h.status).code and s.raw_status == h.status
        assert s.as_of == 1700000000.0
    assert any(s.status == AVAILABLE for s in got)  # 906 $s 在架, as harvested
    assert [s.reason_code for s in again] == ["not_offered"] * len(got)  # remembered


async def test_ztest_opac_record_gives_live_circulation(ztest: str) -> None:
    config = make_config(ztest=f"{ztest}/Default")
    # yaz-ztest's OPAC records carry one copy, itemId 1226176, available now
    record = Record(source="ztest", source_id="11224466", library="SXPL", title="ztest",
                    holdings=[Holding("SXPL", "书库", "MLCM 89/00602 (N)", "1226176", "借出")])
    service = AvailabilityService(config)
    try:
        (got,) = await service.check([record])
    finally:
        service.close()
    assert got.live and got.status == AVAILABLE and "availableNow=1" in got.raw_status
    assert got.harvested_status == "借出"


async def test_protocol_without_live_status(env: None) -> None:
    config = make_config(oai=True)
    record = Record(source="oai", source_id="x1", library="SXPL",
                    holdings=[Holding("SXPL", status="馆内阅览")])
    service = AvailabilityService(config)
    try:
        (got,) = await service.check([record])
    finally:
        service.close()
    assert (got.live, got.status, got.reason) == (False, LIBRARY_USE_ONLY, "不提供实时状态")


# -- slow and broken sources ------------------------------------------------------------------


@dataclass
class Cluster:
    config: Config
    records: dict[str, Record]


@pytest.fixture
def cluster(env: None, symphony: SymphonySimulator, failing_symphony: SymphonySimulator,
            koha: KohaSimulator, hang: HangServer, request: pytest.FixtureRequest) -> Cluster:
    peers: dict[str, Any] = {"symphony": symphony, "failing": failing_symphony, "koha": koha,
                             "hang": hang}
    if HAS_ZEBRA:
        peers["zebra"] = request.getfixturevalue("zebra")
    config = make_config(**peers)
    koha_record = harvest(config, "smlib")[0]
    records = {
        "prov": symphony_record(harvest(config, "prov"), symphony, 1),
        "prov2": harvest(config, "prov2")[0],
        "smlib": koha_record,
        # the same Koha record as if held by the two hanging servers
        "hang-http": replace(koha_record, source="hang-http"),
        "hang-z": replace(koha_record, source="hang-z", source_id="12345"),
    }
    if HAS_ZEBRA:
        records["sxpl-z"] = harvest(config, "sxpl-z")[1]
    return Cluster(config, records)


async def test_hanging_and_erroring_sources_do_not_delay_the_others(
        cluster: Cluster, failing_symphony: SymphonySimulator, hang: HangServer) -> None:
    failing_symphony.fail_next(50, status=500, path="/catalog/item")
    service = AvailabilityService(cluster.config, timeouts={"hang-http": HANG_TIMEOUT,
                                                            "hang-z": HANG_TIMEOUT})
    records = list(cluster.records.values())
    try:
        started = time.monotonic()
        got = await service.check(records)
        elapsed = time.monotonic() - started
        # bounded by the longest timeout that was hit (1 s), not the sum of all of them
        assert HANG_TIMEOUT * 0.9 <= elapsed < HANG_TIMEOUT + 0.8
        by_source: dict[str, set[tuple[bool, str]]] = {}
        for s in got:
            by_source.setdefault(s.source, set()).add((s.live, s.reason))
        assert by_source["prov"] == {(True, "")}
        assert by_source["smlib"] == {(True, "")}
        assert by_source["prov2"] == {(False, "查询出错")}
        assert by_source["hang-http"] == {(False, "超时")}
        assert by_source["hang-z"] == {(False, "超时")}
        if HAS_ZEBRA:
            assert by_source["sxpl-z"] == {(False, "不提供实时状态")}
        for s in got:  # a fallback is the harvested status, never an invented one
            if not s.live:
                assert s.status == common_status(s.harvested_status).code
        # a source that just timed out is not waited for again within failure_ttl
        started = time.monotonic()
        again = await service.check([cluster.records["hang-http"], cluster.records["smlib"]])
        assert time.monotonic() - started < 0.3
        assert {s.reason for s in again if s.source == "hang-http"} == {"超时"}
    finally:
        service.close()


async def test_a_hanging_source_holds_a_bounded_number_of_threads(
        cluster: Cluster, hang: HangServer) -> None:
    service = AvailabilityService(cluster.config, per_source=1, failure_ttl=0,
                                  timeouts={"hang-http": HANG_TIMEOUT})
    record = cluster.records["hang-http"]
    try:
        started = time.monotonic()
        results = await asyncio.gather(*(service.check([record]) for _ in range(6)))
        assert time.monotonic() - started < HANG_TIMEOUT + 0.8
        assert all(s.reason == "超时" for got in results for s in got)
        assert hang.accepted == 1  # one slot for the source: one connection, not six
    finally:
        service.close()
    deadline = time.monotonic() + 3 * HANG_TIMEOUT + 2
    while time.monotonic() < deadline and _availability_threads():
        await asyncio.sleep(0.05)
    assert _availability_threads() == []  # hung calls ended at their own socket timeout


def _availability_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("availability_")]


# -- the portal -------------------------------------------------------------------------------


async def test_record_page_and_availability_api(cluster: Cluster, tmp_path: Path,
                                                make_world: MakeWorld, serve: Serve,
                                                failing_symphony: SymphonySimulator) -> None:
    keep = ("prov", "smlib", "hang-http")
    # the config as if read from tmp_path, so the store lands there
    config = replace(cluster.config, path=tmp_path / "config.yaml")
    world = make_world(config, {"c1": [cluster.records[n] for n in keep]}, run="all")
    client = await serve(world.app(availability=AvailabilityService(
        config, timeouts={"hang-http": HANG_TIMEOUT})))
    page = await (await client.get("/record/c1")).text()
    assert '<script src="/static/availability.js" defer></script>' in page
    cells = re.findall(r'<td data-label="状态" data-status data-barcode="([^"]*)">', page)
    assert len(cells) == sum(len(cluster.records[n].holdings) for n in keep)

    started = time.monotonic()
    response = await client.get("/api/records/c1/availability")
    assert time.monotonic() - started < HANG_TIMEOUT + 0.8
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    data = await response.json()
    assert [h["barcode"] for h in data["holdings"]] == cells  # the page's row order
    live = {h["source"]: h["live"] for h in data["holdings"]}
    assert live == {"prov": True, "smlib": True, "hang-http": False}
    stale = [h for h in data["holdings"] if not h["live"]]
    assert {h["reason"] for h in stale} == {"超时"}
    assert all(h["as_of"] and h["as_of"].endswith("+08:00") for h in stale)
    assert all(h["label"] == LABELS[h["status"]] for h in data["holdings"])
    assert {s["source"]: s["live"] for s in data["sources"]} == live

    missing = await client.get("/api/records/nope/availability")
    assert missing.status == 404 and "error" in await missing.json()
    script = await client.get("/static/availability.js")
    assert script.status == 200 and "textContent" in await script.text()


def test_service_rejects_nonsense_settings() -> None:
    config = make_config()
    for bad in ({"timeout": 0}, {"per_source": 0}, {"max_threads": 0}):
        with pytest.raises(ValueError):
            AvailabilityService(config, **bad)

