"""The mass-deletion guard: a complete full run that would wipe a source holds its sweep.

A full harvest deletes every stored record it did not see.  When the source answers with
nothing (Symphony's `totalResults: 0` for `GENERAL:*`, an OAI-PMH list cut short) or far
less than before, that is more likely a broken server than a library that withdrew its
catalogue: past the source's `max_delete_share` (default 10 %), or when the run saw no
record at all, nothing is deleted, the run says so (run table, admin page, /metrics), and
`tongjian harvest NAME --full --confirm-deletions` (or 确认删除 on /admin) deletes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base import Checkpoint, RawRecord, Unreachable
from core.config import ConfigError, Source, load
from harvest import iso2709
from harvest.pipeline import HarvestStats, harvest_source, held_deletions
from harvest.scheduler import Scheduler
from harvest.store import RecordStore
from tests.conftest import MakeClient, MakeWorld, World
from tests.test_admin import CONFIG as ADMIN_CONFIG
from tests.test_admin import logged_in, origin, use_credentials
from tests.test_metrics import parse, value
from tongjian.commands import print_table
from tongjian.zebra import ZebraServer

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Source(name="s", library="L", protocol="z3950", address="127.0.0.1:9/Default")


def marc(n: int) -> bytes:
    return iso2709.write("00000nam a2200000 a 4500", [
        ("001", "", f"rec{n:04d}"),
        ("245", "10", [("a", f"书名 {n}")]),
    ])


class ListConnector:
    """A source that holds `ids` (record numbers) and cannot say what changed — or, with
    `incremental`, answers a run after a complete one with `changed` only."""

    name = "list"

    def __init__(self, ids: range | list[int], incremental: bool = False,
                 changed: list[int] | None = None) -> None:
        self.ids, self.incremental, self.changed = list(ids), incremental, changed or []

    def harvest(self, state: dict[str, Any] | None = None,
                on_error: Any = None) -> Iterator[RawRecord | Checkpoint]:
        ids = self.changed if state and self.incremental else self.ids
        for position, n in enumerate(ids, 1):
            yield RawRecord("s", position, marc(n), "usmarc")
        yield Checkpoint({"total": len(ids)}, final=True)

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    with RecordStore(tmp_path / "store.db") as s:
        yield s


def run(store: RecordStore, ids: range | list[int], source: Source = SOURCE,
        **options: Any) -> HarvestStats:
    return harvest_source(source, ListConnector(ids), store, show_progress=False, **options)


def last_error(store: RecordStore) -> str:
    return str(store.harvest_runs("s", 1)[0]["error"] or "")


def held_source(store: RecordStore, remaining: range | list[int]) -> HarvestStats:
    """A source that held 100 records, then answers a full run with `remaining`."""
    assert run(store, range(100)).new == 100
    return run(store, remaining, full=True)


def test_a_run_that_sees_nothing_deletes_nothing(store: RecordStore,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    stats = held_source(store, [])
    assert stats.complete and stats.mode == "full"
    assert (stats.deleted, stats.held_deletions) == (0, 100)
    assert store.counts()["s"]["records"] == 100
    assert "would delete 100 of 100 records (100 %)" in stats.notice
    assert "saw no records" in stats.notice and "nothing deleted" in stats.notice
    assert "tongjian harvest s --full --confirm-deletions" in stats.notice
    assert "确认删除" in stats.notice
    assert last_error(store) == stats.notice and held_deletions(last_error(store)) == 100
    print_table([stats])
    out, err = capsys.readouterr()
    assert "0+100?" in out.splitlines()[2]
    assert "NEEDS CONFIRMATION: s: deletions held: would delete 100 of 100" in err


def test_losing_15_percent_is_held(store: RecordStore) -> None:
    stats = held_source(store, range(85))
    assert (stats.unchanged, stats.deleted, stats.held_deletions) == (85, 0, 15)
    assert "would delete 15 of 100 records (15 %) — more than the 10 % allowed" in stats.notice
    assert store.counts()["s"]["records"] == 100
    assert not stats.emptied  # nothing for the index to drop either


def test_losing_5_percent_is_deleted_as_before(store: RecordStore) -> None:
    stats = held_source(store, range(95))
    assert (stats.deleted, stats.held_deletions, stats.notice) == (5, 0, "")
    assert store.counts()["s"]["records"] == 95
    assert last_error(store) == ""


def test_exactly_the_share_is_allowed_and_the_share_is_configurable(store: RecordStore) -> None:
    assert held_source(store, range(90)).deleted == 10  # 10 % is not more than 10 %
    lenient = replace(SOURCE, max_delete_share=0.5)
    assert run(store, range(50), lenient).deleted == 40
    strict = replace(SOURCE, max_delete_share=0.0)
    assert run(store, range(49), strict).held_deletions == 1
    anything = replace(SOURCE, max_delete_share=1.0)  # a run that saw nothing, still held
    assert run(store, [], anything).held_deletions == 50


def test_confirmed_full_run_deletes(store: RecordStore) -> None:
    held_source(store, range(85))
    confirmed = run(store, range(85), confirm_deletions=True)  # implies a full run
    assert (confirmed.mode, confirmed.deleted, confirmed.held_deletions) == ("full", 15, 0)
    assert store.counts()["s"]["records"] == 85 and last_error(store) == ""
    held_source_again = run(store, [], confirm_deletions=True)  # even everything, confirmed
    assert held_source_again.deleted == 85 and "s" not in store.counts()


def test_a_source_that_recovers_clears_the_hold(store: RecordStore) -> None:
    held_source(store, [])
    again = run(store, range(100), full=True)
    assert (again.deleted, again.held_deletions, again.notice) == (0, 0, "")
    assert last_error(store) == ""


def test_hold_outlives_incremental_runs_until_confirmed(store: RecordStore) -> None:
    def inc(ids: range | list[int], **options: Any) -> HarvestStats:
        conn = ListConnector(ids, incremental=True, changed=[3])
        return harvest_source(SOURCE, conn, store, show_progress=False, **options)

    assert inc(range(100)).new == 100
    held = inc(range(80), full=True)
    assert held.held_deletions == 20
    later = inc(range(80))  # incremental: sees one change, cannot sweep
    assert later.mode == "incremental" and later.unchanged == 1
    assert later.held_deletions == 20 and later.notice == held.notice
    assert held_deletions(last_error(store)) == 20  # still on the admin page and /metrics

    class Down(ListConnector):
        def harvest(self, state: dict[str, Any] | None = None,
                    on_error: Any = None) -> Iterator[RawRecord | Checkpoint]:
            raise Unreachable("s", "connection refused")

    failed = harvest_source(SOURCE, Down([]), store, show_progress=False)
    assert failed.errors and failed.held_deletions == 0  # a failed run says it failed …
    assert inc(range(80)).held_deletions == 20  # … and the hold is not forgotten
    done = inc(range(80), confirm_deletions=True)
    assert (done.deleted, done.held_deletions) == (20, 0) and last_error(store) == ""


def test_max_delete_share_is_validated(tmp_path: Path) -> None:
    def config(share: object) -> Path:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump({
            "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
            "sources": [{"name": "s", "library": "L", "protocol": "z3950",
                         "address": "127.0.0.1:9/Default", "max_delete_share": share}],
        }, allow_unicode=True), encoding="utf-8")
        return path

    assert load(config(0.25)).source("s").max_delete_share == 0.25
    for bad in (1.5, -0.1, "10%", True):
        with pytest.raises(ConfigError, match="max_delete_share"):
            load(config(bad))


# -- the admin page, its button and /metrics ----------------------------------------------


@pytest.fixture
def world(make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch) -> World:
    use_credentials(monkeypatch)
    return make_world(ADMIN_CONFIG)


async def _no_reindex(stats: list[HarvestStats]) -> None:
    return None


async def test_admin_and_metrics_show_the_hold_and_the_button_confirms(
        world: World, make_client: MakeClient) -> None:
    source = world.config.source("xylib-z3950")  # unscheduled: no run of its own
    store = world.store
    first = harvest_source(source, ListConnector(range(1, 21)), store, show_progress=False)
    empty = harvest_source(source, ListConnector([]), store, show_progress=False)
    assert (first.new, empty.held_deletions) == (20, 20)
    confirmed = threading.Event()

    def confirmer(src: Source, own: RecordStore) -> HarvestStats:
        try:
            return harvest_source(src, ListConnector([]), own, show_progress=False,
                                  confirm_deletions=True)
        finally:
            confirmed.set()

    scheduler = Scheduler(world.config, lambda s, st: HarvestStats(s.name), _no_reindex,
                          confirmer=confirmer)
    client = await make_client(scheduler=scheduler)

    _, samples = parse(await (await client.get("/metrics")).text())
    xy = {"source": "xylib-z3950", "library": "XYLIB"}
    assert value(samples, "tongjian_harvest_deletions_held", **xy) == 20
    assert value(samples, "tongjian_harvest_deletions_held", source="sxpl-z3950",
                 library="SXPL") == 0

    csrf = await logged_in(client)
    page = await (await client.get("/admin")).text()
    assert "待确认删除 20 条" in page
    assert 'action="/admin/sources/xylib-z3950/confirm-deletions"' in page
    assert "/admin/sources/sxpl-z3950/confirm-deletions" not in page
    forged = await client.post("/admin/sources/xylib-z3950/confirm-deletions",
                               data={"csrf": "wrong"}, headers=origin(client))
    assert forged.status in (400, 403)
    assert not confirmed.is_set() and store.counts()["xylib-z3950"]["records"] == 20

    resp = await client.post("/admin/sources/xylib-z3950/confirm-deletions",
                             data={"csrf": csrf}, headers=origin(client))
    assert resp.status == 200 and "确认删除" in await resp.text()
    await asyncio.wait_for(asyncio.to_thread(confirmed.wait, 5), 6)
    while scheduler.states["xylib-z3950"].running:
        await asyncio.sleep(0.01)
    assert "xylib-z3950" not in store.counts()
    _, samples = parse(await (await client.get("/metrics")).text())
    assert value(samples, "tongjian_harvest_deletions_held", **xy) == 0
    assert "待确认删除" not in await (await client.get("/admin")).text()


# -- end to end: a real Z39.50 server and the command line ---------------------------------


def test_cli_holds_then_confirms_against_zebra(tmp_path: Path) -> None:
    first, second = tmp_path / "first.mrc", tmp_path / "second.mrc"
    first.write_bytes(b"".join(marc(n) for n in range(10)))
    second.write_bytes(b"".join(marc(n) for n in range(8)))  # 20 % gone: held
    config_path = tmp_path / "c.yaml"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tongjian.cli", "--config",
                               str(config_path), "harvest", "z", "--no-index", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    def stored() -> int:
        with RecordStore(tmp_path / "store.db") as s:
            return s.counts()["z"]["records"]

    with ZebraServer(tmp_path / "z1", "marc21", [first]) as zebra:
        config_path.write_text(yaml.safe_dump({
            "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
            "sources": [{"name": "z", "library": "L", "protocol": "z3950",
                         "address": zebra.address, "record_syntax": "usmarc"}],
            "store": {"path": "store.db"}, "index": {"path": "index"},
        }, allow_unicode=True), encoding="utf-8")
        done = cli()
        assert done.returncode == 0, done.stderr
    assert stored() == 10
    port = int(load(config_path).source("z").address.split(":")[1].split("/")[0])
    with ZebraServer(tmp_path / "z2", "marc21", [second], port=port):
        held = cli("--full")
        assert held.returncode == 1
        assert "NEEDS CONFIRMATION: z: deletions held: would delete 2 of 10 records (20 %)" \
            in held.stderr
        assert stored() == 10
        confirmed = cli("--full", "--confirm-deletions")
        assert confirmed.returncode == 0, confirmed.stderr
    assert stored() == 8
