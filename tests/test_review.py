"""The review workflow and the summary pages (issue 16), through the real portal: reviewer
accounts made by the CLI, logins through the admin form, monthly lists following the
hierarchy of config.yaml, a problem marked by the centre landing on the county's list,
the next harvest noticing the county's fix, the centre confirming it, every step audited;
and the monthly summary in Chromium (the README's screenshot).

The union catalogue is the Symphony simulator with the members' habits, as in
test_cataloguing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from core.model import Record
from harvest import cataloguing_review
from harvest import quality_report as qr
from harvest.cataloguing_review import review_list
from harvest.cataloguing_summary import months_back, summarize
from harvest.pipeline import rebuild_index
from index.tantivy_backend import TantivyBackend
from tests.conftest import World
from tests.test_cataloguing import MONTH, TODAY, harvest, union  # noqa: F401 - fixture
from tongjian import reviewers
from tongjian.generator.habits import fix

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "cataloguing-summary.png"
ACCOUNTS = {  # name: (role, library)
    "zhongxin": ("centre", "SXPL"),
    "xianyang": ("city", "XYLIB"),
    "qianxian": ("member", "QXLIB"),
    "yangling": ("member", "YLLIB"),
}
PASSWORD = "pw-reviewer-0001"


@pytest.fixture
def centre(union, monkeypatch, serve):  # noqa: F811 - the fixture imported above
    """The union catalogue harvested and reviewed (quality run), the reviewer accounts,
    and the portal over it — with no admin password: reviewers alone open the gate."""
    sim, made, config, store = union
    for name in ("TONGJIAN_ADMIN_PASSWORD_HASH", "TONGJIAN_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REVIEWER_PW", PASSWORD)
    for name, (role, library) in ACCOUNTS.items():
        assert reviewers.add(config, name, role, library, "REVIEWER_PW") == 0
    harvest(config, store)
    qr.compute(store, config=config)
    world = World(config, store, TantivyBackend(None))

    async def client() -> TestClient:
        return await serve(world.app())

    return sim, made, config, store, client


def origin(client: TestClient) -> dict[str, str]:
    return {"Origin": f"http://{client.host}:{client.port}"}


def csrf(body: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', body)
    assert match, "no CSRF field"
    return match.group(1)


async def login(client: TestClient, account: str, password: str = PASSWORD) -> Any:
    body = await (await client.get("/admin/login")).text()
    return await client.post("/admin/login", headers=origin(client), allow_redirects=False,
                             data={"csrf": csrf(body), "account": account,
                                   "password": password, "next": "/admin/review"})


async def review_page(client: TestClient, month: str = MONTH) -> str:
    resp = await client.get(f"/admin/review?month={month}")
    assert resp.status == 200
    return await resp.text()


async def mark(client: TestClient, token: str, key: str, verdict: str, rule: str = "",
               note: str = "", month: str = MONTH) -> None:
    resp = await client.post("/admin/review/mark", headers=origin(client),
                             allow_redirects=False,
                             data={"csrf": token, "key": key, "month": month,
                                   "verdict": verdict, "rule": rule, "note": note})
    assert resp.status == 303


def test_accounts_are_hashed_and_checked(centre):
    sim, made, config, store, _ = centre
    name, role, library, encoded = store.account("qianxian")
    assert (role, library) == ("member", "QXLIB")
    assert encoded.startswith("scrypt$") and PASSWORD not in encoded
    assert reviewers.check(config, "x1", "city", "QXLIB").startswith("a city reviewer")
    assert "is not defined" in reviewers.check(config, "x1", "member", "NOSUCH")
    assert ("cli", "account.add", "qianxian") in [r[1:4] for r in store.audit_trail()]


def test_lists_follow_the_hierarchy(centre):
    sim, made, config, store, _ = centre
    seen: set[str] = set()
    for month in months_back(MONTH, 12):
        everything = review_list(store, config, "centre", "SXPL", month)
        seen |= {r[1] for r in everything}
        counties = {"LQLIB", "SYLIB", "QXLIB", "YLLIB"}  # the counties of 咸阳市
        assert review_list(store, config, "city", "XYLIB", month) == [
            r for r in everything if r[1] in counties]
        assert review_list(store, config, "member", "QXLIB", month) == [
            r for r in everything if r[1] == "YLLIB"]  # its peer only
        assert review_list(store, config, "member", "LQLIB", month) == [
            r for r in everything if r[1] == "SYLIB"]
    assert {"SXPL", "QXLIB", "LQLIB", "YLLIB", "SYLIB"} <= seen


def made_in(store, key: str) -> str:
    return store.get(key).created[:7]


async def test_problem_fix_and_confirmation_round_trip(centre):
    sim, made, config, store, make_client = centre
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    target = max((k for k, c in by_key.items() if c.member == "QIANXIAN" and c.damaged),
                 key=lambda k: made_in(store, f"union:{k}"))
    key = f"union:{target}"
    month = made_in(store, key)  # the list the record is on: the month it was made
    other = next(f"union:{k}" for k, c in by_key.items() if c.member == "LIQUAN")

    client = await make_client()
    assert (await client.get("/admin", allow_redirects=False)).status == 200  # disabled page
    assert (await login(client, "zhongxin", "wrong password")).status == 401
    resp = await login(client, "zhongxin")
    assert resp.status == 303 and resp.headers["Location"] == "/admin/review"
    body = await review_page(client, month)
    assert key in body and "编目中心" in body
    # the row names who catalogued it (998 $a, configured): the centre knows whom to tell
    row = body.split(f'id="r-{key}"')[1].split("</tr>")[0]
    assert f'<span class="extra cataloguer">{by_key[target].cataloguer}</span>' in row
    await mark(client, csrf(body), key, "problem", "field_215a", "请补页数", month)
    await mark(client, csrf(body), other, "ok", month=made_in(store, other))
    # the reviewer's session opens the review and summary pages, nothing of the admin's
    assert (await client.get("/admin/quality", allow_redirects=False)).status == 403
    assert (await client.get(f"/admin/cataloguing?month={MONTH}")).status == 200

    county = await make_client()
    assert (await login(county, "qianxian")).status == 303
    body = await review_page(county)
    own = body.split("本馆待改的问题")[1].split("本月待审记录")[0]
    assert key in own and "请补页数" in own and "按书著录页数" in own  # the rule's fix
    # a county marks only its peer's records: 礼泉 is not 乾县's peer
    await mark(county, csrf(body), other, "problem", "no_clc")
    assert [r for r in store.reviews(reviewer="qianxian")] == []

    # 乾县 fixes the record in Symphony; the next harvest asks the centre to confirm
    sim.replace_marc(target, fix(by_key[target].clean, "QXLIB", TODAY))
    harvest(config, store, full=True)
    (row,) = store.reviews(reviewer="zhongxin", states=("changed",))
    assert row[1] == key
    body = await review_page(client)
    assert "待确认的改正" in body and key in body.split("待确认的改正")[1].split("</ul>")[0]
    resp = await client.post(f"/admin/review/{row[0]}/confirm", headers=origin(client),
                             data={"csrf": csrf(body), "fixed": "1"}, allow_redirects=False)
    assert resp.status == 303
    assert store.review(row[0])[9] == "fixed"
    qx = summarize(store, config, MONTH).member("QXLIB")
    assert (qx.fixed_problems, qx.open_problems) == (1, 0)
    actions = [(a[1], a[2], a[3]) for a in store.audit_trail()]
    for step in (("zhongxin", "review.problem", key), ("zhongxin", "review.ok", other),
                 ("harvest", "review.changed", key), ("zhongxin", "review.fixed", key),
                 ("qianxian", "login", "")):
        assert step in actions, step
    audit = await client.get("/admin/review/audit")
    assert audit.status == 200 and "review.fixed" in await audit.text()
    assert (await county.get("/admin/review/audit")).status == 403
    body = await review_page(county)
    out = await county.post("/admin/logout", headers=origin(county), allow_redirects=False,
                            data={"csrf": csrf(body)})
    assert out.status == 303
    assert ("qianxian", "logout", "") in [(a[1], a[2], a[3]) for a in store.audit_trail()]


async def test_summary_page_exports_and_escaping(centre):
    sim, made, config, store, make_client = centre
    client = await make_client()
    anonymous = await client.get(f"/admin/cataloguing?month={MONTH}", allow_redirects=False)
    assert anonymous.status in (302, 303)  # to the login form
    assert (await login(client, "xianyang")).status == 303
    resp = await client.get(f"/admin/cataloguing?month={MONTH}")
    body = await resp.text()
    qx = summarize(store, config, MONTH).member("QXLIB")
    row = body.split("乾县图书馆</a>")[1].split("</tr>")[0]
    assert f"<td>{qx.month.new_records}</td>" in row and f">{qx.month.rate}</td>" in row
    assert body.count("<svg") >= 2 and "<script" not in body.split("</header>")[1]
    # the page is cached until the store changes: a review mark shows at once
    key = next(r.key for r in store.records() if r.catalogued_by == "QXLIB")
    cataloguing_review.mark(store, "zhongxin", key, made_in(store, key), "QXLIB", "problem",
                            "no_clc")
    again = await (await client.get(f"/admin/cataloguing?month={MONTH}")).text()
    cells = again.split("乾县图书馆</a>")[1].split("</tr>")[0].split("<td>")
    assert cells[-2].startswith("0") and cells[-3].startswith("1")  # 已改 0, 待改 1
    assert (await client.get("/admin/cataloguing?month=2026-13")).status == 400
    csv_resp = await client.get(f"/admin/cataloguing.csv?month={MONTH}")
    assert csv_resp.headers["Content-Type"].startswith("text/csv")
    assert "乾县图书馆" in (await csv_resp.read()).decode("utf-8-sig")
    xlsx = await client.get(f"/admin/cataloguing.xlsx?month={MONTH}")
    assert (await xlsx.read())[:2] == b"PK"
    # the cataloguers: ranked on the page, their own CSV; a name is text, never markup
    store.put(Record("union", "x-1", "SXPL", format="cnmarc", title="书",
                     catalogued_by="QXLIB", cataloguer="<i>某</i>", created=f"{MONTH}-01"),
              b"", "test")
    store.audit("test", "record.put")  # the summary's cache follows harvests and actions
    page = await (await client.get(f"/admin/cataloguing?month={MONTH}")).text()
    assert "优秀编目员" in page and "&lt;i&gt;某&lt;/i&gt;" in page and "<i>某" not in page
    people = await client.get(f"/admin/cataloguing.csv?month={MONTH}&part=cataloguers")
    text = (await people.read()).decode("utf-8-sig")
    assert text.startswith("月份,馆代码,馆名,编目员") and "<i>某</i>" in text
    assert (await client.get(f"/admin/cataloguing.csv?part=x&month={MONTH}")).status == 400
    member = await client.get(f"/admin/cataloguing/QXLIB?month={MONTH}")
    text = await member.text()
    assert member.status == 200 and "缺载体形态（215$a）" in text and "近12个月" in text
    # the county's own list: its records of the month that the quality run found faulty
    faulty = {p.key for _, p in qr.problems(store, "QXLIB", limit=10_000)}
    shown = max(store.get(key).created[:7] for key in faulty)
    text = await (await client.get(f"/admin/cataloguing/QXLIB?month={shown}")).text()
    listed = text.split("本月新编记录的问题")[1]
    expected = {key for key in faulty if store.get(key).created[:7] == shown}
    assert expected and all(key in listed for key in expected)
    assert not any(key in listed for key in faulty - expected)


async def test_browser_monthly_summary_prints_and_is_the_readme_screenshot(
        centre, browser, tmp_path):
    """With TONGJIAN_SCREENSHOTS=1 the picture replaces the README's (docs/), else it goes
    to the test's folder, so a test run leaves the working tree clean."""
    sim, made, config, store, make_client = centre
    shot = SCREENSHOT if os.environ.get("TONGJIAN_SCREENSHOTS") == "1" else (
        tmp_path / SCREENSHOT.name)
    client = await make_client()
    base = str(client.make_url("/")).rstrip("/")
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(base + "/admin/login?next=/admin/cataloguing")
    await page.fill("#account", "zhongxin")
    await page.fill("#password", PASSWORD)
    await page.click(".admin-login button[type=submit]")
    await page.wait_for_url("**/admin/cataloguing")
    # the busiest of the last twelve months: the README's picture
    trend = summarize(store, config, MONTH).members
    shown = max(months_back(MONTH, 12), key=lambda m: sum(
        f.new_records for member in trend for f in member.trend if f.month == m))
    eligible = sum(m.eligible for m in summarize(store, config, shown).members)
    await page.goto(f"{base}/admin/cataloguing?month={shown}")
    heading = await page.locator("h1").inner_text()
    assert "联合编目工作质量数量汇总" in heading and shown in heading
    assert await page.locator("svg.chart").count() >= 2
    assert eligible and await page.locator("ol.ranking li").count() == min(
        eligible, config.cataloguing.rank_top)
    people = summarize(store, config, shown).cataloguers  # 优秀编目员, by the same bar
    best = sum(c.eligible for c in people)
    assert best and await page.locator("ol.cataloguer-ranking li").count() == min(
        best, config.cataloguing.rank_top_cataloguers)
    first = min((c for c in people if c.rank), key=lambda c: c.rank)
    assert first.person in await page.locator("ol.cataloguer-ranking li").first.inner_text()
    await page.screenshot(path=str(shot), full_page=True,
                          clip={"x": 0, "y": 0, "width": 1200, "height": 1500})
    assert shot.stat().st_size > 10_000
    await page.emulate_media(media="print")
    assert not await page.locator("nav.admin-nav").is_visible()
    assert not await page.locator("form.month-picker").is_visible()
    assert await page.locator("table.cataloguing-table").is_visible()


async def test_record_page_names_the_cataloguing_member(centre, serve):
    sim, made, config, store, _ = centre
    backend = TantivyBackend(None)
    rebuild_index(store, backend, config, show_progress=False)
    client = await serve(World(config, store, backend).app())
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    key = next(f"union:{k}" for k, c in by_key.items() if c.member == "QIANXIAN")
    resp = await client.get("/record/" + quote(store.cluster_of(key), safe=""))
    sources = (await resp.text()).split("来源记录")[1]
    line = next(li for li in sources.split("<li>") if key.split(":")[1] in li)
    assert "编目：乾县图书馆" in line
    api = await client.get("/api/records/" + quote(store.cluster_of(key), safe=""))
    data = await api.json()
    listed = {s["source_id"]: s for s in data["sources"]}
    assert listed[key.split(":")[1]]["catalogued_by"] == "QXLIB"
    # the cataloguer's name (998 $a, configured) is the centre's business, not the public's
    assert store.get(key).cataloguer and "cataloguer" not in data["record"]
    assert store.get(key).cataloguer not in await resp.text()
    backend.close()


async def test_marks_refuse_unknown_records_and_foreign_forms(centre):
    sim, made, config, store, make_client = centre
    client = await make_client()
    assert (await login(client, "zhongxin")).status == 303
    token = csrf(await review_page(client))
    evil = "union:1\r\nSet-Cookie: x=1"
    await mark(client, token, evil, "problem", "no_clc")
    body = await review_page(client)
    assert "不在库中，未标记" in body and store.reviews() == []
    key = next(store.records()).key
    await mark(client, token, key, "problem")  # a problem needs its rule
    assert "须选择问题规则" in await review_page(client) and store.reviews() == []
    forged = await client.post("/admin/review/mark", allow_redirects=False,
                               headers={"Origin": "http://evil.example"},
                               data={"csrf": token, "key": key, "month": MONTH,
                                     "verdict": "ok"})
    assert forged.status == 403 and store.reviews() == []
