"""Two languages: the English catalogue covers every marked text, `?lang=` chooses and a
cookie remembers, pages and messages made in Python follow the request's language, and the
catalogue data stays as catalogued.

The completeness check is a real one: a consortium whose data is all in English is served
in English, and no Chinese character may be left on any page — so a text that was never
marked `_()` (or marked and not translated) fails here, whichever page it is on.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from portal import catalogues
from portal.auth import METRICS_TOKEN_ENV, PASSWORD_ENV, TOKEN_ENV
from portal.i18n import COOKIE, js_msgids, translations
from tests.conftest import MakeClient, MakeWorld, World
from tests.test_admin import hidden_csrf, login, origin, use_credentials

HAN = re.compile(r"[\u3400-\u9fff]")

CONFIG = {
    "consortium": {"name": "Test Consortium"},
    "portal": {"title": "Union Search"},
    "libraries": [
        {"code": "PROV", "name": "Provincial Library", "region": "Capital", "level": "province",
         "address": "18 Chang'an Road", "contact": "029-85360000"},
        {"code": "CITY", "name": "City Library", "region": "Riverside", "level": "city"},
        {"code": "CNTY", "name": "County Library", "region": "Riverside", "county": "Hill",
         "level": "county"},
    ],
    "sources": [
        {"name": "prov", "library": "PROV", "protocol": "oaipmh",
         "address": "http://127.0.0.1:9/oai", "metadata_prefix": "oai_dc"},
        {"name": "city", "library": "CITY", "protocol": "oaipmh",
         "address": "http://127.0.0.1:9/oai", "metadata_prefix": "oai_dc"},
    ],
}

BOOK = dict(title="Pride and Prejudice", authors=[Author("Austen, Jane", "")],
            publisher="Penguin", place="London", year=2003, isbn=["9780141439518"],
            language="eng", material_type="book", subjects=["Courtship"], clc=["I561.44"],
            clc_top="I")


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world(CONFIG, {
        "e1": [
            Record("prov", "p1", "PROV", summary="A novel.", **BOOK, holdings=[
                Holding("PROV", "Stacks", "I561.44/1", "P0001", "ON-SHELF"),
                Holding("PROV", "Stacks", "I561.44/1", "P0002", "checked out")]),
            Record("city", "c1", "CITY", **BOOK, holdings=[
                Holding("CITY", "Lending", "I561.44/2", "C0001", "")]),
        ],
    })


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    return await make_client()


def test_every_text_shown_has_an_english_translation() -> None:
    """`python -m portal.catalogues check`: nothing marked in a template, in Python, in a
    script or in a label table lacks a reviewed (not fuzzy) English translation."""
    assert catalogues.missing("en") == []
    assert catalogues.main(["check"]) == 0


def test_extraction_finds_every_kind_of_source() -> None:
    found = {m if isinstance(m, str) else m[0]: path for m, path, _ in catalogues.messages()}
    assert found["跳到正文"] == "portal/templates/base.html"      # a template
    assert found["暂无馆藏信息"] == "portal/views.py"               # Python, _()
    assert found["请求有误。请返回检索页重新输入。"] == "portal/app.py"  # Python, N_()
    assert "实时检索完成" in js_msgids()                             # a script, T()
    assert found["在架可借"] == "portal/labels.py"                  # a label table


def test_the_catalogue_compiles_and_fuzzy_entries_stay_chinese(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    assert translations("en").gettext("检索") == "Search"
    assert translations("zh").gettext("检索") == "检索"
    po = catalogues.po_path("en").read_text(encoding="utf-8")
    fuzzy = po.replace('msgid "检索"\nmsgstr "Search"', '#, fuzzy\nmsgid "检索"\nmsgstr "Search"')
    assert fuzzy != po
    target = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    target.write_text(fuzzy, encoding="utf-8")
    monkeypatch.setattr("portal.i18n.LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        assert translations("en").gettext("检索") == "检索"  # fuzzy: not shown until reviewed
        assert catalogues.missing("en") == ["检索"]
    finally:
        monkeypatch.undo()
        translations.cache_clear()


def _visible_text(html: str) -> str:
    """The page as a reader meets it, less what is Chinese on purpose: the switch back to
    中文, written in its own language, the ILL form's example lines, and the scripts'
    message table (keyed by the Chinese msgids), and the matcher's evidence on the record
    page, which the harvest writes bilingual already ("ISBN … 相同 (same ISBN)")."""
    html = re.sub(r'<ul class="evidence">.*?</ul>', "", html, flags=re.S)
    html = re.sub(r'<script type="application/json" id="i18n">.*?</script>', "", html)
    html = re.sub(r'<a href="\?[^"]*" lang="zh-CN"[^>]*>中文</a>', "", html)
    html = re.sub(r'placeholder="[^"]*"', "", html)
    html = re.sub(r'<a class="sample"[^>]*>[^<]*</a>', "", html)  # sample queries: data
    return html


@pytest.mark.parametrize(("path", "status"), [
    ("/", 200), ("/search?q=pride", 200), ("/search?q=pride&language=eng&clc_top=I", 200),
    ("/search?q=zzzzqqq", 200), ("/record/e1", 200), ("/sources", 200), ("/ill", 200),
    ("/record/nothing-here", 404), ("/no/such/page", 404), ("/search?page=x", 400),
    ("/search?colour=red", 400),
])
async def test_english_pages_have_no_chinese_left(client: TestClient, path: str,
                                                  status: int) -> None:
    sep = "&" if "?" in path else "?"
    response = await client.get(path + sep + "lang=en")
    assert response.status == status
    html = await response.text()
    assert '<html lang="en">' in html
    left = HAN.findall(_visible_text(html))
    assert not left, (path, "".join(left), [line for line in html.splitlines()
                                            if HAN.search(_visible_text(line))][:5])


async def test_the_choice_is_remembered_and_can_be_undone(client: TestClient) -> None:
    first = await client.get("/search?q=pride&lang=en")
    assert first.cookies[COOKIE].value == "en"
    assert first.cookies[COOKIE]["httponly"] and first.cookies[COOKIE]["samesite"] == "Lax"
    html = await first.text()
    assert "Results for “pride”" in html
    # the switch keeps the page and its query, and says 中文 in Chinese
    assert '<a href="?q=pride&amp;lang=zh" lang="zh-CN"' in html
    later = await (await client.get("/record/e1")).text()  # no ?lang: the cookie decides
    assert "Call number" in later and "On the shelf" in later and "索书号" not in later
    assert "Pride and Prejudice" in later and "Provincial Library" in later  # data as is
    back = await client.get("/record/e1?lang=zh")
    assert back.cookies[COOKIE].value == "zh"
    assert "索书号" in await back.text()
    assert "索书号" in await (await client.get("/record/e1")).text()


async def test_chinese_by_default_and_unknown_languages_ignored(client: TestClient) -> None:
    response = await client.get("/search?q=pride&lang=fr")
    assert response.status == 200 and COOKIE not in response.cookies
    html = await response.text()
    assert '<html lang="zh-CN">' in html and "“pride”的检索结果" in html
    client.session.cookie_jar.update_cookies({COOKIE: "xx"})
    assert '<html lang="zh-CN">' in await (await client.get("/")).text()


async def test_messages_made_in_python_follow_the_language(client: TestClient) -> None:
    """Errors raised while parsing the query, the JSON API's errors and the harvested
    status labels are translated per request — including on the portal's worker threads."""
    bad = await client.get("/api/search?q=pride&page=0&lang=en")
    assert bad.status == 400
    error = (await bad.json())["error"]
    assert error.startswith("Page number “0” is not valid: it must be a whole number between")
    assert not HAN.search(error)
    chinese = await (await client.get("/api/search?q=pride&page=0&lang=zh")).json()
    assert chinese["error"].startswith("页码“0”无效")
    gone = await (await client.get("/api/records/nothing?lang=en")).json()
    assert gone["error"].startswith("There is no entry “nothing”")
    availability = await client.get("/api/records/e1/availability?lang=en")
    labels = {h["label"] for h in (await availability.json())["holdings"]}
    assert labels <= {"On the shelf", "On loan", "Status unknown"} and "On the shelf" in labels
    search = await (await client.get("/api/search?q=pride&lang=en")).json()
    assert {"value": "I", "label": "I Literature", "count": 1} in search["facets"]["clc_top"]


async def test_scripts_get_their_messages_in_the_page(client: TestClient) -> None:
    html = await (await client.get("/record/e1?lang=en")).text()
    table = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html)
    assert table is not None and '"实时检索完成": "Live search finished"' in table.group(1)
    chinese = await (await client.get("/record/e1?lang=zh")).text()
    assert 'id="i18n"' not in chinese  # Chinese is the scripts' own text


async def test_favicon(client: TestClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status == 200 and response.content_type == "image/x-icon"
    body = await response.read()
    assert body[:4] == b"\x00\x00\x01\x00" and b"PNG" in body[:40]
    html = await (await client.get("/")).text()
    assert '<link rel="icon" href="/favicon.ico"' in html


async def test_ill_is_linked_from_every_public_page(client: TestClient) -> None:
    for path in ("/", "/search?q=pride", "/record/e1", "/sources", "/no/such/page"):
        html = await (await client.get(path)).text()
        assert '<a href="/ill">馆际互借查询</a>' in html, path


async def test_values_in_translated_sentences_are_escaped(client: TestClient) -> None:
    """A translated sentence is trusted markup, what is put into it never is."""
    for lang, sentence in (("en", "Results for “{}”"), ("zh", "“{}”的检索结果")):
        html = await (await client.get("/search", params={"q": "<b>x</b>", "lang": lang})).text()
        assert sentence.format("&lt;b&gt;x&lt;/b&gt;") in html and "<b>x</b>" not in html


def _no_chinese_left(path: str, html: str) -> None:
    assert '<html lang="en">' in html, path
    left = HAN.findall(_visible_text(html))
    assert not left, (path, "".join(left), [line for line in html.splitlines()
                                            if HAN.search(_visible_text(line))][:5])


async def test_english_admin_pages_have_no_chinese_left(world: World, make_client: MakeClient,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The staff's pages too — sources, quarantine, quality, merge — with what the Python
    behind them says (flash messages, the decoding label, the quality kinds' names)."""
    use_credentials(monkeypatch)
    store = world.store
    run = store.start_harvest("prov")
    store.finish_harvest(run, {"new": 1}, None)
    run = store.start_harvest("prov")
    store.finish_harvest(run, {}, "connection to 127.0.0.1:9 timed out")
    store.quarantine("prov", 7, "leader: bad record length", b"00042nam\x1e\xff\x1d",
                     record_id="r7", offset=1234)
    store.commit()
    client = await make_client()
    assert (await login(client)).status == 303
    csrf = hidden_csrf(await (await client.get("/admin?lang=en")).text())
    # a harvest asked for without a scheduler: the flash message says why nothing happened
    page = await client.post("/admin/sources/prov/harvest", data={"csrf": csrf},
                             headers=origin(client))
    html = await page.text()
    assert "The background harvest scheduler is not running; nothing was done." in html
    _no_chinese_left("/admin", html)
    for _ in range(200):  # the first visit of the month starts the review; wait for it
        job = (await (await client.get("/api/admin/quality")).json())["job"]
        if not job["running"] and job.get("finished"):
            break
        await asyncio.sleep(0.05)
    paths = ["/admin", "/admin/quarantine", "/admin/quarantine?source=prov",
             "/admin/quality", "/admin/quality/PROV", "/admin/quality/PROV?kind=no_isbn",
             "/admin/records/e1/merge"]
    quarantined = re.search(r'href="/admin/quarantine/(\d+)"',
                            await (await client.get("/admin/quarantine")).text())
    assert quarantined is not None
    paths.append(f"/admin/quarantine/{quarantined.group(1)}")
    for path in paths:
        response = await client.get(path + ("&" if "?" in path else "?") + "lang=en")
        assert response.status == 200, path
        _no_chinese_left(path, await response.text())
    quality = await (await client.get("/admin/quality/PROV?lang=en")).text()
    assert "Holding without call number" in quality and "Provincial Library" in quality
    raw = await (await client.get(paths[-1] + "?lang=en")).text()
    assert "Raw record (decoded as UTF-8 (bytes that cannot be decoded are shown as �))" in raw
    sources = await (await client.get("/admin?lang=en")).text()
    assert "Failing: 1 in a row" in sources and "Harvest now" in sources
    # a split: its flash message and the librarians' splits listed on the entry's page
    page = await client.post("/admin/records/e1/split", headers=origin(client),
                             data={"csrf": csrf, "key": "city:c1", "reason": "another edition"})
    assert page.status == 200
    html = await page.text()
    assert "Split: city:c1 is no longer merged" in html and "Splits made by librarians" in html
    _no_chinese_left(str(page.url.path), html)


async def test_english_admin_setup_page(make_client: MakeClient,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without credentials the admin pages explain how to set them up — in English too,
    with what was set and ignored."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(METRICS_TOKEN_ENV, raising=False)
    monkeypatch.setenv(TOKEN_ENV, "short")
    client = await make_client()
    response = await client.get("/admin?lang=en")
    assert response.status == 200
    html = await response.text()
    _no_chinese_left("/admin", html)
    assert "Administration is not enabled" in html
    assert f"{TOKEN_ENV} is too short (at least" in html and "How to enable it" in html
