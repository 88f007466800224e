"""/healthz and /readyz as monitoring polls them, over the real store and index: a source
whose last harvest failed is listed but leaves the portal ready; an index built by
another release makes it not ready, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from core.model import Record
from index import marker
from index.tantivy_backend import TantivyBackend
from tests.conftest import MakeWorld, Serve, World

CONFIG = {
    "libraries": [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                   "level": "province"}],
    "sources": [{"name": "sx", "library": "SXPL", "protocol": "z3950",
                 "address": "127.0.0.1:1/Default"},
                {"name": "dead", "library": "SXPL", "protocol": "z3950",
                 "address": "127.0.0.1:2/Default"}],
}


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    world = make_world(CONFIG, records=[
        Record(source="sx", source_id=str(n), library="SXPL", title=f"书{n}") for n in range(3)],
        run="sx")
    run = world.store.start_harvest("dead")
    world.store.finish_harvest(run, {}, "连接 127.0.0.1:2 被拒绝")
    world.store.commit()
    return world


async def test_healthz_answers(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


async def test_readyz_is_ready_and_names_the_failing_source(client: TestClient) -> None:
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ready" and body["problems"] == []
    assert body["index"]["entries"] == 3
    assert body["failing_sources"] == ["dead"]
    by_name = {s["name"]: s for s in body["sources"]}
    assert by_name["sx"]["failing"] is False and by_name["sx"]["last_harvest"]
    assert by_name["dead"]["error"] == "连接 127.0.0.1:2 被拒绝"


async def test_readyz_is_503_for_an_index_of_another_release(
        world: World, serve: Serve, tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    try:
        client = await serve(world.app(backend=backend))
        body = await (resp := await client.get("/readyz")).json()
        assert resp.status == 503 and body["status"] == "not ready"
        assert "index needs a rebuild" in body["problems"][0]
        marker.write(backend.path)
        assert (await client.get("/readyz")).status == 200
    finally:
        backend.close()
