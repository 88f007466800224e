"""The portal as readers and librarians meet it, in Debian's Chromium (desktop 1366×768 and
a 390×844 phone): axe-core finds no serious or critical accessibility problem on any page,
the phone layout keeps every page readable (the ILL matrix included), the language switch
works and is remembered, and without JavaScript the record page still speaks Chinese.

axe-core is vendored in tests/axe (from the npm registry; see its README) and injected into
each page.  Screenshots go to var/screenshots/ (git-ignored; CI keeps them as artifacts);
two of them are in docs/screenshots/ for the README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from portal.auth import hash_password
from tests.conftest import AXE, MakeClient, MakeWorld, World, axe_violations

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "var" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser-test-password-1"  # noqa: S105 -- a test's own made-up password

CONFIG = {
    "consortium": {"name": "陕西省公共图书馆联合目录"},
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province",
         "address": "西安市长安路18号", "contact": "029-85360000"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
        {"code": "SYLIB", "name": "三原县图书馆", "region": "咸阳市", "county": "三原县",
         "level": "county"},
        {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
         "level": "county"},
    ],
    "sources": [
        {"name": name, "library": lib, "protocol": "oaipmh",
         "address": "http://127.0.0.1:9/oai", "metadata_prefix": "oai_dc"}
        for name, lib in (("sxpl", "SXPL"), ("xylib", "XYLIB"), ("sylib", "SYLIB"),
                          ("smlib", "SMLIB"), ("dfwx", "SXPL"))
    ],
}
HONGLOU = dict(title="红楼梦", authors=[Author("曹雪芹", "著"), Author("高鹗", "续")],
               publisher="人民文学出版社", place="北京", year=1982, isbn=["9787020002207"],
               clc=["I242.4"], clc_top="I", language="chi", material_type="book",
               subjects=["章回小说"])


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world(CONFIG, {
        "c1": [
            Record("sxpl", "1001", "SXPL", responsibility="曹雪芹著", summary="中国古典长篇小说。",
                   **HONGLOU, holdings=[
                       Holding("SXPL", "中文图书借阅区", "I242.4/12", "SX00012345", "ON-SHELF"),
                       Holding("SXPL", "保存本库", "I242.4/12:2", "SX00012346", "不外借")]),
            Record("xylib", "77", "XYLIB", **HONGLOU,
                   holdings=[Holding("XYLIB", "外借部", "I242.4/3", "XY00000777", "借出")]),
            Record("sylib", "5", "SYLIB", **HONGLOU,
                   holdings=[Holding("SYLIB", "", "I242.4/9", "SY5", "在馆")]),
        ],
        "c2": [Record("dfwx", "oai:dfwx:1", "SXPL", title="三原县志", year=1990,
                      publisher="陕西人民出版社", language="chi", material_type="book",
                      online_url="http://127.0.0.1:9/objects/1.pdf")],
        "c3": [Record("smlib", "e1", "SMLIB", title="Pride and Prejudice",
                      authors=[Author("Austen, Jane", "")], publisher="Penguin", year=2003,
                      isbn=["9780141439518"], language="eng", material_type="book",
                      holdings=[Holding("SMLIB", "外文书库", "I561.44/1", "SM9", "CHECKOUT")])],
    }, run="all")


@pytest.fixture
async def client(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    # the admin login is configured, so /ill is for librarians, as in production
    monkeypatch.setenv("TONGJIAN_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
    return await make_client()


async def _shot(page: Any, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


async def _login(page: Any, base: str) -> None:
    await page.goto(base + "ill")  # a reader is sent to the login, and back after it
    await page.wait_for_url("**/admin/login**")
    await page.fill("#password", PASSWORD)
    await page.click("form[action^='/admin/login'] button[type=submit]")
    await page.wait_for_url("**/ill")


async def _ill_result(page: Any, base: str) -> None:
    await page.fill("#ill-lines", "978-7-02-000220-7\n三原县志\nPride and Prejudice\n"
                                  "7-02-000220-6\n没有这本书")
    await page.click(".ill-form button[type=submit]")
    await page.wait_for_selector("table.ill-matrix", timeout=15_000)


async def test_no_serious_accessibility_problem_on_any_page(client: TestClient,
                                                            browser: Any) -> None:
    """axe-core 4.14 on every kind of page, each with one h1, landmarks and a skip link."""
    base = str(client.make_url("/"))
    context = await browser.new_context(viewport=DESKTOP, bypass_csp=True)  # to inject axe
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, Any] = {}

    async def check(name: str) -> None:
        found[name] = await axe_violations(page)
        assert await page.locator("h1").count() == 1, name
        assert await page.locator("main#main").count() == 1, name
        assert await page.locator("header.site").count() == 1, name
        assert await page.locator("a.skip-link[href='#main']").count() == 1, name
        await _shot(page, "desktop-" + name)

    for name, path in (("home", ""), ("search", "search?q=红楼梦"),
                       ("filtered", "search?q=红楼梦&library=SXPL"),
                       ("no-results", "search?q=没有这本书啊"), ("record", "record/c1"),
                       ("digitized", "record/c2"), ("sources", "sources"),
                       ("not-found", "record/gone"), ("bad-request", "search?page=abc")):
        await page.goto(base + path)
        if name == "record":  # after the live status has answered (or given up)
            await page.locator("section.holdings .hint:not([aria-busy])").wait_for()
        await check(name)
        if name == "search":
            await _shot(page, "desktop-search-screen", full_page=False)
    await page.goto(base + "admin/login")
    await check("admin-login")
    await _login(page, base)
    await check("ill-form")
    await _ill_result(page, base)
    await check("ill-result")
    for name, path in (("english-search", "search?q=Pride&lang=en"),
                       ("english-record", "record/c3"), ("english-ill", "ill")):
        await page.goto(base + path)
        await check(name)
    assert {k: v for k, v in found.items() if v} == {}
    assert errors == []
    await context.close()


async def test_skip_link_and_focus_are_visible_to_keyboard_users(client: TestClient,
                                                                 browser: Any) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await page.goto(str(client.make_url("/search?q=红楼梦")))
    await page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert await skip.evaluate("e => e === document.activeElement")
    box = await skip.bounding_box()
    assert box is not None and box["y"] >= 0  # moved into view when focused
    outline = await skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    await page.keyboard.press("Tab")  # the next stop is inside the main content
    assert await page.evaluate("document.getElementById('main')"
                               ".contains(document.activeElement)")


async def _fits(page: Any) -> None:
    """Nothing wider than the phone: no sideways scrolling for the page."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


async def test_phone_layout_of_search_record_and_ill(client: TestClient, browser: Any) -> None:
    base = str(client.make_url("/"))
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                        device_scale_factor=2)
    page = await context.new_page()
    for name, path in (("home", ""), ("filtered", "search?q=红楼梦&library=SXPL"),
                       ("no-results", "search?q=没有这本书啊"), ("digitized", "record/c2"),
                       ("sources", "sources"), ("not-found", "record/gone"),
                       ("admin-login", "admin/login"), ("english-record", "record/c3?lang=en")):
        await page.goto(base + path)
        await _fits(page)
        await _shot(page, "phone-" + name)
    await page.goto(base + "search?q=红楼梦&lang=zh")
    await _fits(page)
    await _shot(page, "phone-search")

    await page.goto(base + "record/c1")
    await page.locator("section.holdings .hint:not([aria-busy])").wait_for()
    await _fits(page)
    # each holding is a card whose cells say what they are
    call = page.locator("td[data-label='索书号']").first
    label = await call.evaluate("e => getComputedStyle(e, '::before').content")
    assert "索书号" in label
    assert await page.locator("thead").first.is_hidden()
    await _shot(page, "phone-record")
    # what docs/screenshots shows: the phone's screen at the holdings
    await page.evaluate("window.scrollTo(0, document.querySelector('section.holdings')"
                        ".getBoundingClientRect().top + window.scrollY - 8)")
    await _shot(page, "phone-record-holdings", full_page=False)

    page = await context.new_page()
    await _login(page, base)
    await _fits(page)
    await _ill_result(page, base)
    await _fits(page)
    cells = page.locator("td.ill-cell")
    assert await cells.count() >= 4
    for i in range(await cells.count()):
        cell = cells.nth(i)
        before = await cell.evaluate("e => getComputedStyle(e, '::before').content")
        name = await cell.get_attribute("data-label")
        assert name and name.split("（")[0] in before  # the library's name, not ": 3 / 0 *"
        assert (await cell.bounding_box())["width"] > 300  # a full-width line of the card
    # why a cell is from the last harvest: a tap away, not in a hover tooltip
    stale = page.locator("td.ill-stale details").first
    detail = stale.locator(".ill-detail")
    assert await detail.is_hidden()
    await stale.locator("summary").tap()
    assert await detail.is_visible()
    assert "同步记录" in await detail.inner_text() or "不提供实时状态" in await detail.inner_text()
    assert await page.locator("td.ill-cell[title]").count() == 0
    await _shot(page, "phone-ill")
    await context.close()


async def test_the_stale_reason_opens_from_the_keyboard(client: TestClient,
                                                        browser: Any) -> None:
    base = str(client.make_url("/"))
    page = await browser.new_page(viewport=DESKTOP)
    await _login(page, base)
    await _ill_result(page, base)
    summary = page.locator("td.ill-stale details summary").first
    await summary.focus()
    await page.keyboard.press("Enter")
    assert await page.locator("td.ill-stale .ill-detail").first.is_visible()


async def test_language_switch_is_a_link_and_is_remembered(client: TestClient,
                                                           browser: Any) -> None:
    base = str(client.make_url("/"))
    page = await browser.new_page(viewport=DESKTOP)
    await page.goto(base + "search?q=红楼梦")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await page.click("nav.site-nav a[hreflang='en']")
    await page.wait_for_url("**lang=en")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator("h1").inner_text() == "Results for “红楼梦”"
    assert "Libraries holding it (3)" in await page.locator(".holdings-summary").first.inner_text()
    await page.click("ol.hits h2 a")  # no ?lang= in the link: the cookie remembers
    await page.wait_for_url("**/record/c1")
    await page.locator("section.holdings .hint:not([aria-busy])").wait_for()
    body = await page.locator("main").inner_text()
    assert "Call number" in body and "红楼梦" in body and "曹雪芹" in body  # data as is
    hint = await page.locator("section.holdings .hint").inner_text()
    assert hint and "收藏馆" not in hint  # written by availability.js, in English
    await _shot(page, "desktop-record-english")
    await page.click("nav.site-nav a[hreflang='zh-CN']")
    await page.wait_for_url("**lang=zh")
    assert "索书号" in await page.locator("main").inner_text()


async def test_record_page_without_javascript(client: TestClient, browser: Any) -> None:
    """The harvested status in the common vocabulary's words, not the source's codes."""
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(str(client.make_url("/record/c1")))
    statuses = await page.locator("td[data-status]").all_inner_texts()
    assert statuses == ["在架可借", "仅限馆内阅览", "已借出", "在架可借"], statuses
    body = await page.locator("main").inner_text()
    assert "ON-SHELF" not in body and "不外借" not in body
    await page.goto(str(client.make_url("/record/c3")))
    assert "CHECKOUT" not in await page.locator("main").inner_text()
    await context.close()


def test_axe_is_the_vendored_release() -> None:
    head = AXE.read_text(encoding="utf-8")[:40]
    assert head.startswith("/*! axe v4.14"), head
    assert (AXE.parent / "LICENSE").read_text(encoding="utf-8").startswith("Mozilla Public")
    json.dumps(head)
