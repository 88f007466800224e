"""Librarians see why records were merged and split a wrong merge; the split outlives
re-harvesting and re-merging, and the index follows at once."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from harvest.pipeline import update_index
from index.backend import SearchRequest
from portal.auth import TOKEN_ENV
from tests.conftest import MakeWorld, World

TOKEN = "t0ken-for-scripts-0123456789abcdef"
CONFIG = {
    "libraries": [{"code": "A", "name": "甲馆", "region": "西安市", "level": "province"},
                  {"code": "B", "name": "乙馆", "region": "咸阳市", "level": "city"}],
    "sources": [{"name": "a", "library": "A", "protocol": "z3950", "address": "x:1/D"},
                {"name": "b", "library": "B", "protocol": "z3950", "address": "x:2/D"}],
}


def _records() -> list[Record]:
    common = dict(title="平凡的世界", authors=[Author("路遥", "著")],
                  publisher="北京十月文艺出版社", year=2012, language="chi",
                  material_type="book")
    return [
        Record(source="a", source_id="1", library="A", isbn=["9787530212004"],
               holdings=[Holding("A", call_number="I247.5/1", barcode="A1")], **common),
        # no ISBN: merged by title + author + year + publisher
        Record(source="b", source_id="7", library="B",
               holdings=[Holding("B", call_number="I247.5/9", barcode="B7")], **common),
    ]


@pytest.fixture
def world(make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return make_world(CONFIG, records=_records())


async def test_evidence_shown_and_split_survives_reharvest(world: World,
                                                         client: TestClient) -> None:
    config, store, backend = world.config, world.store, world.backend
    assert store.cluster_of("a:1") == store.cluster_of("b:7")  # merged without a shared ISBN
    entry = store.cluster_of("a:1")
    page = await (await client.get(f"/record/{entry}")).text()
    assert "合并依据" in page and "路遥" in page
    api = await (await client.get(f"/api/records/{entry}")).json()
    assert api["merge"] and any("题名" in line for line in api["merge"][0]["evidence"])

    # anonymous and forged requests are refused and change nothing
    resp = await client.post(f"/admin/records/{entry}/split", data={"key": "b:7"},
                             allow_redirects=False)
    assert resp.status in (302, 303, 401, 403)
    assert store.cluster_of("a:1") == store.cluster_of("b:7")

    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.get(f"/admin/records/{entry}/merge", headers=auth)
    assert resp.status == 200 and "从本条目拆出" in await resp.text()
    resp = await client.post(f"/admin/records/{entry}/split", headers=auth,
                             data={"key": "b:7", "reason": "不同印次"},
                             allow_redirects=False)
    assert resp.status == 303
    assert store.cluster_of("a:1") != store.cluster_of("b:7")
    hits = backend.search(SearchRequest(q="平凡的世界")).hits
    assert len(hits) == 2  # the index followed at once

    # a re-harvest delivers both records again (changed data): the split holds
    for r in _records():
        r.summary = "再次采集"
        assert store.put(r, b"raw2", "test") == "updated"
    store.commit()
    update_index(store, backend, config, touched={"a:1", "b:7"})
    assert store.cluster_of("a:1") != store.cluster_of("b:7")
    assert len(backend.search(SearchRequest(q="平凡的世界")).hits) == 2

    # undoing the split merges them again
    store.remove_link("a:1", "b:7")
    update_index(store, backend, config, touched={"a:1", "b:7"})
    assert store.cluster_of("a:1") == store.cluster_of("b:7")
    assert len(backend.search(SearchRequest(q="平凡的世界")).hits) == 1
