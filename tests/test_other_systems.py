"""Another system's library in our search (issue 15): a university library on Zebra
(MARC 21), a live member searched over SRU with the ordinary `protocol: sru` source —
config.yaml's `xjtu-sru`, which the demo starts the same way."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from core.config import parse
from tests.test_sru import CONFIG, RECORDS
from tongjian.demo import DEMO_DATA
from tongjian.zebra import RecordFile, ZebraServer


@pytest.fixture
def university(tmp_path: Path):
    if shutil.which("zebrasrv") is None:
        pytest.skip("zebrasrv (package idzebra-2.0) is not installed")
    with ZebraServer(tmp_path / "xjtu", "marc21",
                     [RecordFile(DEMO_DATA / "BJLIB.marc21.utf8.mrc")]) as server:
        yield server


async def test_a_university_library_is_searched_live_over_sru(university, make_world, serve,
                                                             tmp_path: Path) -> None:
    raw = {**CONFIG,
           "libraries": [*CONFIG["libraries"],
                         {"code": "XJTULIB", "name": "西安交通大学图书馆", "region": "西安市",
                          "level": "other"}],
           "sources": [*CONFIG["sources"],
                       {"name": "xjtu-sru", "library": "XJTULIB", "protocol": "sru",
                        "address": university.sru_url, "record_syntax": "marcxml",
                        "format": "marc21", "mode": "live", "deadline": 5}]}
    world = make_world(parse(raw, tmp_path / "config.yaml"), records=RECORDS)
    client = await serve(world.app())
    created = await client.post("/api/live-searches", json={"q": "平凡的世界"})
    assert created.status == 201
    url = (await created.json())["links"]["self"]
    for _ in range(200):
        state = await (await client.get(url)).json()
        if state["done"]:
            break
        await asyncio.sleep(0.05)
    [source] = state["sources"]
    assert (source["source"], source["state"]) == ("xjtu-sru", "done"), source
    live = [h for h in state["hits"] if h["origin"] == "live"]
    assert live and all(("XJTULIB", True) in [(x["library"], x["live"]) for x in h["holdings"]]
                        for h in live)
    assert any("平凡的世界" in h["title"] for h in live)
