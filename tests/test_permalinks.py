"""Record URLs that last (issue 14, item 7): an entry id that a re-merge or a split took
away leads to the entry now holding its records, or to a choice when it was split."""

from __future__ import annotations

import pytest

from core.model import Holding, Record
from harvest.pipeline import update_index
from tests.conftest import TWO_LIBRARIES, World

CONFIG = TWO_LIBRARIES


def book(source: str, sid: str, title: str, *isbn: str) -> Record:
    library = "SXPL" if source == "sx" else "XYLIB"
    return Record(source=source, source_id=sid, library=library, title=title, isbn=list(isbn),
                  year=1982, holdings=[Holding(library, call_number="I242")])


@pytest.fixture
def world(make_world) -> World:
    return make_world(CONFIG, records=[book("sx", "1", "红楼梦", "9787020002207"),
                                       book("xy", "1", "红楼梦", "9787020002207")])


async def test_a_split_entry_offers_a_choice_and_a_merged_one_redirects(client,
                                                                       world: World) -> None:
    store = world.store
    entry = store.cluster_of("sx:1")
    assert entry == store.cluster_of("xy:1")
    # a librarian splits the two: the old id offers both halves
    store.add_link("sx:1", "xy:1", "split")
    update_index(store, world.backend, world.config, touched={"sx:1", "xy:1"})
    a, b = store.cluster_of("sx:1"), store.cluster_of("xy:1")
    assert a != b
    # split apart, neither keeps the shared ISBN as its own: both get new ids
    assert entry not in (a, b)
    response = await client.get(f"/record/{entry}", allow_redirects=False)
    assert response.status == 300
    page = await response.text()
    assert f'href="/record/{a}"' in page and f'href="/record/{b}"' in page
    assert "这条书目已拆分" in page and "陕西省图书馆" in page
    api = await client.get(f"/api/records/{entry}", allow_redirects=False)
    assert api.status == 300
    assert {c["id"] for c in (await api.json())["choices"]} == {a, b}


async def test_a_re_merged_entry_redirects_permanently(client, world: World) -> None:
    store = world.store
    store.put(book("xy", "9", "水浒传", "9787020015016"), b"raw", "test")
    update_index(store, world.backend, world.config, touched={"xy:9"})
    old = store.cluster_of("xy:9")
    # the record gains the ISBN of 红楼梦's entry: joins it, or takes a new id
    store.put(book("xy", "9", "水浒传", "9787020015016", "9787000000001"), b"raw", "test")
    update_index(store, world.backend, world.config, touched={"xy:9"})
    new = store.cluster_of("xy:9")
    assert new and old and new != old
    response = await client.get(f"/record/{old}", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == f"/record/{new}"
    api = await client.get(f"/api/records/{old}", allow_redirects=False)
    assert api.status == 301 and api.headers["Location"] == f"/api/records/{new}"
    followed = await client.get(f"/record/{old}")
    assert followed.status == 200 and "水浒传" in await followed.text()
    never = await client.get("/record/0000000000000000", allow_redirects=False)
    assert never.status == 404


async def test_an_entry_whose_records_are_all_gone_stays_not_found(client, world: World) -> None:
    entry = world.store.cluster_of("sx:1")
    for key in ("sx:1", "xy:1"):
        world.store.delete(key)
    update_index(world.store, world.backend, world.config, emptied={entry or ""})
    assert world.store.lineage(entry or "").deleted  # type: ignore[union-attr]
    response = await client.get(f"/record/{entry}", allow_redirects=False)
    assert response.status == 404
