"""The 中图分类 facet as a hierarchy with labels, browsable from the home page, and class
numbers as queries (issue 12) — through the real portal over a real index."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from tests.conftest import ONE_LIBRARY, MakeWorld, World

CONFIG = ONE_LIBRARY


def _book(sid: str, title: str, clc: str) -> Record:
    return Record(source="sxpl", source_id=sid, library="SXPL", title=title,
                  authors=[Author("某")], clc=[clc], clc_top=clc[0], language="chi",
                  material_type="book", holdings=[Holding("SXPL", "", f"{clc}/{sid}")])


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world(CONFIG, {
        "c1": [_book("1", "红楼梦", "I242.47")],
        "c2": [_book("2", "平凡的世界", "I247.57")],
        "c3": [_book("3", "唐诗选", "I222.742")],
        "c4": [_book("4", "长安志", "K294.11")],
        "c5": [_book("5", "C程序设计", "TP312")],
    })


def facet_links(body: str) -> dict[str, str]:
    """label → the clc_top value its link chooses ('' when it removes the choice)."""
    section = body.split('<h2 class="facet-title">中图分类</h2>')[1].split("</section>")[0]
    out = {}
    for url, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', section):
        label = re.sub(r'<span class="visually-hidden">.*?</span>', "", text)  # 取消此筛选
        query = dict(parse_qsl(urlsplit(url.replace("&amp;", "&")).query))
        out[label] = query.get("clc_top", "")
    return out


async def test_class_facet_browses_down_the_hierarchy(client: TestClient) -> None:
    home = facet_links(await (await client.get("/")).text())
    assert home == {"I 文学": "I", "K 历史、地理": "K", "T 工业技术": "T"}
    under_i = facet_links(await (await client.get("/search", params={"clc_top": "I"})).text())
    assert under_i == {"I 文学": "", "I2 中国文学": "I2"}
    under_i2 = await (await client.get("/search", params={"clc_top": "I2"})).text()
    assert facet_links(under_i2) == {"I 文学": "I", "I2 中国文学": "I", "I22 诗歌、韵文": "I22",
                                     "I24 小说": "I24"}
    novels = await (await client.get("/api/search", params={"clc_top": "I24"})).json()
    assert {h["title"] for h in novels["hits"]} == {"红楼梦", "平凡的世界"}
    assert "中图分类：I24 小说" in await (
        await client.get("/search", params={"clc_top": "I24"})).text()


async def test_class_filter_input_is_checked(client: TestClient) -> None:
    bad = await client.get("/api/search", params={"clc_top": "I24x"})
    assert bad.status == 400 and "I24（小说）" in (await bad.json())["error"]
    deep = await client.get("/api/search", params={"clc_top": "I242"})
    assert deep.status == 400 and "请直接在检索框中输入" in (await deep.json())["error"]
    lower = await (await client.get("/api/search", params={"clc_top": "i24"})).json()
    assert sorted(h["title"] for h in lower["hits"]) == ["平凡的世界", "红楼梦"]


async def test_class_and_call_numbers_as_queries(client: TestClient) -> None:
    for q, titles in (("I242", ["红楼梦"]), ("I24", ["平凡的世界", "红楼梦"]),
                      ("I242.47/1", ["红楼梦"]), ("K294", ["长安志"])):
        data = await (await client.get("/api/search", params={"q": q})).json()
        assert sorted(h["title"] for h in data["hits"]) == sorted(titles), q


async def test_third_level_labels_come_from_the_clc_table(client: TestClient) -> None:
    """TP3 has no hand-written label: its caption is the 中图法 table's (harvest.clc); in
    English, where the table is not translated, the number alone."""
    under_tp = facet_links(await (await client.get("/search", params={"clc_top": "TP"})).text())
    assert under_tp == {"T 工业技术": "T", "TP 自动化技术、计算机技术": "T",
                        "TP3 计算技术、计算机技术": "TP3"}
    english = await (await client.get("/search", params={"clc_top": "TP", "lang": "en"})).text()
    assert ">TP3<" in english and "计算技术" not in english.split("facet-title")[1]


def test_translated_subclasses_say_what_the_table_says() -> None:
    """portal.clc_tree.SUBCLASSES repeats captions of harvest/data/clc_levels.tsv so the
    catalogues can translate them, some shortened for a facet (A7 生平和传记): each must
    still be the table's caption or a part of it, so the two copies cannot drift apart."""
    from harvest.clc import caption
    from portal.clc_tree import SUBCLASSES

    differ = {code: (name, caption(code)) for code, name in SUBCLASSES.items()
              if caption(code) and name not in caption(code)}
    assert not differ
