"""Scheduled harvests under `tongjian serve`: failing sources back off, others go on."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from core.config import parse
from harvest.scheduler import FIRST_RETRY, MAX_RETRY, Scheduler, backoff
from harvest.store import RecordStore
from tests.conftest import shared_data
from tongjian.commands import harvest_one
from tongjian.zebra import ZebraServer


def test_backoff_grows_then_caps():
    hour = 3600.0
    assert backoff(0, hour) == hour
    assert [backoff(n, hour) for n in (1, 2, 3)] == [FIRST_RETRY, 2 * FIRST_RETRY,
                                                      4 * FIRST_RETRY]
    assert backoff(30, hour) == MAX_RETRY
    assert backoff(30, 24 * hour) == 24 * hour  # never more rarely than the schedule


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_failing_source_is_reported_and_others_are_harvested(tmp_path: Path):
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    with ZebraServer(tmp_path / "z", "unimarc", [data]) as zebra:
        config = parse({
            "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
            "sources": [
                {"name": "up", "library": "L", "protocol": "z3950", "address": zebra.address,
                 "record_syntax": "unimarc", "schedule": 60},
                {"name": "down", "library": "L", "protocol": "z3950", "timeout": 1,
                 "address": f"127.0.0.1:{_closed_port()}/Default", "schedule": 60},
                {"name": "manual", "library": "L", "protocol": "z3950", "address": "x:1/D"},
            ],
            "store": {"path": str(tmp_path / "s.db")},
        }, tmp_path / "c.yaml")
        reindexed: list[str] = []

        async def reindex(stats):
            reindexed.extend(s.source for s in stats)

        scheduler = Scheduler(config, lambda src, st: harvest_one(src, st, show_progress=False),
                              reindex)
        assert set(scheduler.states) == {"up", "down"}  # no schedule, no background harvest
        up, down = config.source("up"), config.source("down")
        results = await asyncio.gather(scheduler.run_once(down), scheduler.run_once(up),
                                       scheduler.run_once(down))
        # the third call came while `down` was still running: it did not start a second run
        assert results[2].seen == 0 and not results[2].errors
        await scheduler.run_once(down)
        await scheduler.stop()
    assert results[1].new == 10 and reindexed == ["up"]
    assert scheduler.states["down"].failures == 2
    assert "Connect failed" in scheduler.states["down"].last_error
    assert scheduler.states["up"].failures == 0
    with RecordStore(tmp_path / "s.db") as store:
        runs = store.last_harvests()
    assert runs["down"]["error"] and not runs["up"]["error"]


async def test_pause_resume_and_trigger(tmp_path: Path):
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    with ZebraServer(tmp_path / "z", "unimarc", [data]) as zebra:
        config = parse({
            "libraries": [{"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}],
            "sources": [{"name": "up", "library": "L", "protocol": "z3950",
                         "address": zebra.address, "record_syntax": "unimarc",
                         "schedule": 600}],
            "store": {"path": str(tmp_path / "s.db")},
        }, tmp_path / "c.yaml")
        done = asyncio.Event()

        async def reindex(stats):
            done.set()

        scheduler = Scheduler(config, lambda src, st: harvest_one(src, st, show_progress=False),
                              reindex)
        scheduler.pause("up")
        scheduler.start()
        await asyncio.sleep(0.3)
        assert scheduler.states["up"].runs == 0  # paused: the first scheduled run is skipped
        scheduler.resume("up")  # resuming wakes the loop at once
        await asyncio.wait_for(done.wait(), timeout=10)
        assert scheduler.states["up"].runs == 1
        await scheduler.stop()
