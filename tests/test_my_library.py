"""My library: reader-card ranges in config, nearness from the library hierarchy, the
home-library cookie, and the lists ordered and summarised for a reader of 三原县图书馆."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.config import ConfigError, parse
from core.model import Holding, Record
from core.nearness import CITY, COUNTY, HOME, PROVINCE, UNKNOWN, tier
from portal.my_library import COOKIE, availability, safe_next
from tests.conftest import MakeWorld, World

LIBRARIES = [
    {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city",
     "reader_ranges": ["61040000000001-61040000999999"]},
    {"code": "SYLIB", "name": "三原县图书馆", "region": "咸阳市", "county": "三原县",
     "level": "county", "reader_ranges": ["61042200000001-61042200999999"]},
    {"code": "SYTOWN", "name": "三原县城关镇图书室", "region": "咸阳市", "county": "三原县",
     "level": "town"},
    {"code": "QXLIB", "name": "乾县图书馆", "region": "咸阳市", "county": "乾县",
     "level": "county"},
    {"code": "BJLIB", "name": "宝鸡市图书馆", "region": "宝鸡市", "level": "city"},
]
CONFIG = {
    "libraries": LIBRARIES,
    "sources": [{"name": f"src-{lib['code'].lower()}", "library": lib["code"],
                 "protocol": "z3950", "address": f"127.0.0.1:{21100 + i}/Default"}
                for i, lib in enumerate(LIBRARIES)],
}


def config(libraries: list[dict[str, object]] = LIBRARIES):  # type: ignore[no-untyped-def]
    return parse({**CONFIG, "libraries": libraries}, Path("config.yaml"))


def copy(code: str, status: str, n: int = 1) -> Record:
    return Record(source=f"src-{code.lower()}", source_id="1", library=code, title="平凡的世界",
                  year=2012, material_type="book",
                  holdings=[Holding(code, "外借部", f"I247.5/{code}", f"{code}1", status, n)])


# -- config and nearness ----------------------------------------------------------------


def test_reader_card_names_its_home_library() -> None:
    cfg = config()
    assert cfg.reader_library("61042200000123").code == "SYLIB"  # type: ignore[union-attr]
    assert cfg.reader_library(" 61040000999999 ").code == "XYLIB"  # type: ignore[union-attr]
    assert cfg.reader_library("61042200999999").code == "SYLIB"  # type: ignore[union-attr]
    assert cfg.reader_library("61042201000000") is None  # past the range's end
    assert cfg.reader_library("6104220000012") is None  # a digit short: another number


def test_reader_ranges_are_validated() -> None:
    bad = [{**LIBRARIES[1], "reader_ranges": ["6104-610400"]}]
    with pytest.raises(ConfigError, match="same length"):
        config(bad)
    backwards = [{**LIBRARIES[1], "reader_ranges": ["61049-61040"]}]
    with pytest.raises(ConfigError, match="card-number range"):
        config(backwards)
    overlap = [LIBRARIES[1], {**LIBRARIES[2], "reader_ranges": ["61040000500000-61040000600000"]}]
    with pytest.raises(ConfigError, match="overlap"):
        config(overlap)


def test_nearness_follows_the_library_hierarchy() -> None:
    cfg = config()
    home = cfg.libraries["SYLIB"]
    tiers = {code: tier(home, code, cfg.libraries) for code in cfg.libraries}
    assert tiers == {"SYLIB": HOME, "SYTOWN": COUNTY, "XYLIB": CITY, "QXLIB": CITY,
                     "SXPL": PROVINCE, "BJLIB": PROVINCE}
    assert tier(home, "GONE", cfg.libraries) == UNKNOWN
    city_reader = cfg.libraries["XYLIB"]
    assert tier(city_reader, "SYLIB", cfg.libraries) == CITY  # a city has no county
    assert tier(None, "SYLIB", cfg.libraries) == PROVINCE


def test_availability_says_where_the_nearest_copy_on_the_shelf_is() -> None:
    cfg = config()
    home = cfg.libraries["SYLIB"]

    def line(code: str, available: int, online: bool = False) -> dict[str, object]:
        return {"library": code, "available": available, "online": online}

    libs = cfg.libraries
    assert availability([line("SYLIB", 1), line("XYLIB", 2)], home, libs)["kind"] == "home"
    assert availability([line("SYLIB", 0), line("SYTOWN", 1)], home, libs) == {
        "kind": "county", "n": 1}
    assert availability([line("XYLIB", 3), line("QXLIB", 1), line("SXPL", 1)], home, libs) \
        == {"kind": "city", "n": 2}
    assert availability([line("SXPL", 1), line("BJLIB", 1)], home, libs) == {"kind": "ill",
                                                                           "n": 2}
    assert availability([line("SYLIB", 0), line("SXPL", 0)], home, libs)["kind"] == "home_out"
    assert availability([line("SXPL", 0)], home, libs)["kind"] == "ill_none"
    assert availability([line("SXPL", 0, online=True)], home, libs)["kind"] == "online"
    assert availability([line("SXPL", 1), line("BJLIB", 1)], None, libs) == {"kind": "shelf",
                                                                           "n": 2}


def test_next_is_only_ever_a_path_on_this_site() -> None:
    assert safe_next("/search?q=%E7%BA%A2") == "/search?q=%E7%BA%A2"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x",
                 "", "/a\nb"):
        assert safe_next(evil) == "/"


# -- the portal --------------------------------------------------------------------------


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    """One book: on the shelf at the province library, in 乾县 and in a 三原县 town
    library; lent out at 三原县图书馆 itself; status unknown at 宝鸡."""
    return make_world(CONFIG, {"e1": [copy("SXPL", "在架"), copy("QXLIB", "在架", 2),
                                      copy("SYTOWN", "在馆"), copy("SYLIB", "借出"),
                                      copy("BJLIB", "")]})


def holdings_order(html: str) -> list[str]:
    summary = re.search(r'<p class="holdings-summary">([^<]*)</p>', html)
    assert summary is not None
    return summary.group(1).split("：", 1)[1].rstrip("…").split("、")


async def choose(client: TestClient, **form: str) -> str:
    resp = await client.post("/my-library", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp.headers["Location"]


async def test_search_without_a_home_library_counts_libraries_with_copies_on_the_shelf(
        client: TestClient) -> None:
    html = await (await client.get("/search?q=平凡的世界")).text()
    assert "3 馆在架可借" in html  # SXPL, QXLIB, SYTOWN; not the lent or unknown copies
    assert "选择我的图书馆" in html
    assert holdings_order(html)[0] == "陕西省图书馆"


async def test_reader_card_sets_the_home_library_and_orders_the_list(client: TestClient) -> None:
    where = await choose(client, card="61042200000123", next="/search?q=平凡的世界")
    assert where == "/search?q=平凡的世界"
    assert client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value == \
        "SYLIB"
    html = await (await client.get(where)).text()
    assert "我的图书馆：<strong>三原县图书馆</strong>" in html
    assert "同县 1 馆在架" in html  # the town library; 三原县图书馆's own copy is out
    assert 'href="/search?q=%E5%B9%B3%E5%87%A1%E7%9A%84%E4%B8%96%E7%95%8C&amp;library=SYLIB"' \
        in html  # 只看本馆收藏
    # nearest first: my library, my county, my city, the province (the list names three)
    assert holdings_order(html) == ["三原县图书馆", "三原县城关镇图书室", "乾县图书馆"]


async def test_record_page_groups_holdings_by_nearness(client: TestClient) -> None:
    await choose(client, library="SYLIB", next="/record/e1")
    html = await (await client.get("/record/e1")).text()
    groups = re.findall(r'<th colspan="6" scope="rowgroup">([^<]*)</th>', html)
    assert groups == ["本馆", "同县", "同市", "省内其他馆"]
    names = re.findall(r'<td data-label="馆藏单位">([^<]*)', html)
    assert names[:3] == ["三原县图书馆", "三原县城关镇图书室", "乾县图书馆"]
    # without a home library, the page groups by region as before
    client.session.cookie_jar.clear()
    plain = await (await client.get("/record/e1")).text()
    assert re.findall(r'<th colspan="6" scope="rowgroup">([^<]*)</th>', plain)[0] == "西安市"


async def test_home_library_in_the_province_needs_ill_elsewhere(client: TestClient) -> None:
    await choose(client, library="BJLIB")
    html = await (await client.get("/search?q=平凡的世界")).text()
    assert "需馆际互借（省内 3 馆在架）" in html


async def test_bad_choices_are_refused_with_a_reason_and_forget_works(client: TestClient) -> None:
    resp = await client.post("/my-library", data={"card": "99999999999999"})
    assert resp.status == 400 and "不属于任何成员馆" in await resp.text()
    resp = await client.post("/my-library", data={"library": "<script>"})
    assert resp.status == 400 and "<script>" not in await resp.text()
    assert await choose(client, library="SYLIB", next="//evil.example/") == "/"
    page = await (await client.get("/my-library?next=/record/e1")).text()
    assert 'value="SYLIB" selected' in page and "读者证号" in page
    await choose(client, clear="1", next="/")
    assert COOKIE not in client.session.cookie_jar.filter_cookies(client.make_url("/"))


async def test_browser_reader_card_then_nearest_copies_first(client: TestClient,
                                                           browser: Any) -> None:
    """A reader of 三原县图书馆 types their card number once; the list and the record page
    then answer "where is the nearest copy on the shelf" — without any JavaScript."""
    base = str(client.make_url("/"))
    context = await browser.new_context(java_script_enabled=False,
                                        viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(base + "search?q=平凡的世界")
    assert await page.locator(".availability").inner_text() == "3 馆在架可借"
    await page.locator(".my-library-bar a").click()
    await page.fill("#reader-card", "61042200000123")
    await page.locator(".my-library-form button[type=submit]").first.click()
    await page.wait_for_url("**/search?q=*")
    assert "三原县图书馆" in await page.locator(".my-library-bar").inner_text()
    assert await page.locator(".availability").inner_text() == "同县 1 馆在架"
    await page.locator("li.hit h2 a").click()
    await page.wait_for_url("**/record/e1")
    groups = await page.locator("th[scope=rowgroup]").all_inner_texts()
    assert groups == ["本馆", "同县", "同市", "省内其他馆"]
    first = page.locator("tbody tr:not(.region)").first
    assert "三原县图书馆" in await first.inner_text() and "借出" in await first.inner_text()
    await context.close()
