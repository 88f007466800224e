"""Search-as-you-type and 你是不是要找 through the real portal (issue 12): the JSON API,
the result page's links, and the combobox in a real browser, by keyboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from tests.conftest import ONE_LIBRARY, MakeWorld, World

CONFIG = ONE_LIBRARY


def _book(sid: str, title: str, author: str) -> Record:
    return Record(source="sxpl", source_id=sid, library="SXPL", title=title,
                  authors=[Author(author)], language="chi", material_type="book",
                  holdings=[Holding("SXPL", "", f"I{sid}/1")])


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world(CONFIG, {
        "c1": [_book("1", "红楼梦", "曹雪芹")],
        "c2": [_book("2", "红楼梦研究", "俞平伯")],
        "c3": [_book("3", "红色<i>家书</i>", "佚名")],
    })


async def test_api_suggest_by_characters_pinyin_initials(client: TestClient) -> None:
    for q in ("红楼", "hongl", "hlm", "紅樓"):
        data = await (await client.get("/api/suggest", params={"q": q})).json()
        assert data["suggestions"][0]["text"] == "红楼梦", q
        url = data["suggestions"][0]["url"]
        assert dict(parse_qsl(urlsplit(url).query)) == {"q": "红楼梦", "field": "title"}
    authors = (await (await client.get("/api/suggest", params={"q": "caoxue"})).json())
    assert [s["text"] for s in authors["suggestions"]] == ["曹雪芹"]
    assert authors["suggestions"][0]["field"] == "author"


async def test_api_suggest_input_rules(client: TestClient) -> None:
    empty = await client.get("/api/suggest", params={"q": "！！"})
    assert empty.status == 200 and (await empty.json())["suggestions"] == []
    long = await client.get("/api/suggest", params={"q": "长" * 300})
    assert long.status == 400 and "过长" in (await long.json())["error"]
    unknown = await client.get("/api/suggest", params={"q": "红", "x": "1"})
    assert unknown.status == 400 and "只接受 q" in (await unknown.json())["error"]


async def test_did_you_mean_links_when_little_is_found(client: TestClient) -> None:
    api = await (await client.get("/api/search", params={"q": "红楼孟"})).json()
    assert [d["q"] for d in api["did_you_mean"]] == ["红楼梦"]
    body = await (await client.get("/search", params={"q": "红楼孟"})).text()
    assert "你是不是要找" in body and 'href="/search?q=%E7%BA%A2%E6%A5%BC%E6%A2%A6"' in body
    typo = await (await client.get("/api/search", params={"q": "hongloumen"})).json()
    assert [d["q"] for d in typo["did_you_mean"]] == ["红楼梦"]
    # the title asked for is found: nothing to suggest
    exact = await (await client.get("/api/search", params={"q": "红楼梦"})).json()
    assert exact["total"] == 2 and exact["did_you_mean"] == []
    assert "你是不是要找" not in await (await client.get("/search", params={"q": "红楼梦"})).text()


async def test_combobox_by_keyboard_in_a_browser(client: TestClient, browser: Any) -> None:
    base = str(client.make_url("/"))
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(base)
    box = page.locator("#q")
    assert await box.get_attribute("role") == "combobox"
    await box.type("红")
    options = page.locator("#q-suggest [role=option]")
    await options.first.wait_for(timeout=5_000)
    assert await box.get_attribute("aria-expanded") == "true"
    texts = await options.all_inner_texts()
    assert texts[0].startswith("红楼梦") and any(t.startswith("红色<i>家书</i>") for t in texts)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    second = await options.nth(1).get_attribute("id")
    assert await box.get_attribute("aria-activedescendant") == second
    assert await options.nth(1).get_attribute("aria-selected") == "true"
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Escape")
    assert await box.get_attribute("aria-expanded") == "false"
    await page.keyboard.press("ArrowDown")  # opens again
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search?q=*")
    assert "红楼梦" in await page.locator("ol.hits").inner_text()
    assert errors == []


async def test_without_javascript_the_box_is_a_plain_form(client: TestClient,
                                                          browser: Any) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(str(client.make_url("/")))
    assert await page.locator("#q").get_attribute("role") is None
    await page.fill("#q", "hlm")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search?*q=hlm*")
    assert "红楼梦" in await page.locator("ol.hits").inner_text()
    await context.close()
