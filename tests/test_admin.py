"""Admin pages: shut without credentials, refuse anonymous and forged requests, and work.

The real app over a real store and the real (in-memory) tantivy index, with credentials
set the way an operator sets them — in the environment — and a real Scheduler whose
harvester is a stub, so "harvest now" and "pause" are seen to arrive where they should.
"""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from core.model import Holding, Record
from harvest.pipeline import HarvestStats
from harvest.scheduler import Scheduler
from harvest.store import RecordStore
from portal.admin import ADMIN
from portal.admin_quarantine import decode_for_display, download_name
from portal.auth import (
    METRICS_TOKEN_ENV,
    PASSWORD_ENV,
    TOKEN_ENV,
    AuthSettings,
    hash_password,
    parse_hash,
    verify,
)
from tests.conftest import MakeClient, MakeWorld, World

PASSWORD = "正确的马 battery staple"
TOKEN = "t0ken-for-scripts-0123456789abcdef"
FAST_HASH = hash_password(PASSWORD, n=2**10)  # cheap for tests; production uses 2**14

CONFIG = {
    "consortium": {"name": "测试联合目录"},
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
    ],
    "sources": [
        {"name": "sxpl-z3950", "library": "SXPL", "protocol": "z3950",
         "address": "127.0.0.1:9/Default", "schedule": 60},
        {"name": "xylib-z3950", "library": "XYLIB", "protocol": "z3950",
         "address": "127.0.0.1:9/Default"},
    ],
}


def admin_world(make_world: MakeWorld) -> World:
    """One book, a harvest that worked then one that failed, and a quarantined record
    whose raw bytes carry markup (the admin tests, /metrics and the quality report)."""
    world = make_world(CONFIG, {"c1": [
        Record(source="sxpl-z3950", source_id="1", library="SXPL", title="红楼梦",
               holdings=[Holding("SXPL", "", "I242.4/12", "B1")])]})
    store = world.store
    run = store.start_harvest("sxpl-z3950")
    store.finish_harvest(run, {"new": 1}, None)
    run = store.start_harvest("sxpl-z3950")
    store.finish_harvest(run, {}, "连接 127.0.0.1:9 超时")
    store.quarantine("sxpl-z3950", 7, "leader: <b>bad</b> record length",
                     b"00042nam<script>alert(1)</script>\x1e\x1f\xd6\xd0\xce\xc4\x1d",
                     record_id="r7", offset=1234)
    store.commit()
    return world


def use_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """As an operator would: a password hash and a token in the service's environment."""
    monkeypatch.setenv(PASSWORD_ENV, FAST_HASH)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.delenv(METRICS_TOKEN_ENV, raising=False)


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return admin_world(make_world)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Credentials set before any app is made (the admin gate reads them at setup)."""
    use_credentials(monkeypatch)
    return monkeypatch


def origin(client: TestClient) -> dict[str, str]:
    return {"Origin": f"http://{client.host}:{client.port}"}


def hidden_csrf(body: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', body)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def login(client: TestClient, password: str = PASSWORD,
                next_url: str = "/admin") -> ClientResponse:
    body = await (await client.get("/admin/login")).text()
    return await client.post("/admin/login", headers=origin(client), allow_redirects=False,
                             data={"csrf": hidden_csrf(body), "password": password,
                                   "next": next_url})


async def logged_in(client: TestClient) -> str:
    """Log in; the session's CSRF token, as the dashboard's forms carry it."""
    resp = await login(client)
    assert resp.status == 303, await resp.text()
    return hidden_csrf(await (await client.get("/admin")).text())


# -- passwords ---------------------------------------------------------------------------


def test_hash_is_self_describing_and_verifies() -> None:
    encoded = hash_password("secret pass", n=2**10)
    scheme, params, salt, key = parse_hash(encoded)
    assert scheme == "scrypt" and params == {"n": 1024, "r": 8, "p": 1}
    assert "secret pass" not in encoded and len(salt) == 16 and len(key) == 32
    assert verify("secret pass", encoded) and not verify("secret pas", encoded)
    assert encoded != hash_password("secret pass", n=2**10)  # salted
    assert not verify("x", "plain-text-password") and not verify("x", "scrypt$n=3$a$b")


def test_plain_password_or_short_token_in_env_is_ignored() -> None:
    settings = AuthSettings.from_env({PASSWORD_ENV: "hunter2hunter2", TOKEN_ENV: "short"})
    assert not settings.enabled and len(settings.problems) == 2
    assert all("hunter2" not in p for p in settings.problem_texts())


# -- shut when not configured ------------------------------------------------------------


async def test_without_credentials_admin_is_disabled(make_client: MakeClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (PASSWORD_ENV, TOKEN_ENV, METRICS_TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    client = await make_client()
    resp = await client.get("/admin")
    body = await resp.text()
    assert resp.status == 200 and "管理功能未启用" in body
    assert PASSWORD_ENV in body and "python -m portal.auth" in body
    assert "<form" not in body.split("</header>")[1]  # nothing to log in with
    for url in ("/admin/login", "/admin/quarantine", "/admin/quality", "/api/admin/sources",
                "/admin/quarantine/1/raw"):
        assert (await client.get(url, allow_redirects=False)).status == 403, url
    resp = await client.post("/admin/login", data={"password": ""}, headers=origin(client))
    assert resp.status == 403
    resp = await client.get("/api/admin/sources", headers={"Authorization": "Bearer x"})
    assert resp.status == 403


# -- anonymous and forged requests -------------------------------------------------------

ADMIN_PAGES = ["/admin", "/admin/quarantine", "/admin/quarantine/1", "/admin/quarantine/1/raw",
               "/admin/quality", "/admin/quality/SXPL", "/admin/quality/SXPL/problems.csv"]
ADMIN_APIS = ["/api/admin/sources", "/api/admin/quality", "/api/admin/quality?library=SXPL"]
ADMIN_POSTS = ["/admin/sources/sxpl-z3950/pause", "/admin/sources/sxpl-z3950/harvest",
               "/admin/sources/sxpl-z3950/resume", "/admin/quality/run", "/admin/logout",
               "/api/admin/sources/sxpl-z3950/pause", "/api/admin/quality/run"]


async def test_anonymous_is_refused_everywhere(client: TestClient) -> None:
    for url in ADMIN_PAGES:
        resp = await client.get(url, allow_redirects=False)
        assert resp.status == 303, url
        assert resp.headers["Location"].startswith("/admin/login?next="), url
    for url in ADMIN_APIS:
        resp = await client.get(url)
        assert resp.status == 401 and "error" in await resp.json(), url
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    for url in ADMIN_POSTS:
        resp = await client.post(url, data={"csrf": "x"}, headers=origin(client),
                                 allow_redirects=False)
        assert resp.status in (401, 403), url


async def test_login_with_right_password_wrong_one_fails(client: TestClient) -> None:
    resp = await login(client, password="wrong password")
    assert resp.status == 401 and "口令不正确" in await resp.text()
    assert (await client.get("/admin", allow_redirects=False)).status == 303
    resp = await login(client, next_url="/admin/quarantine")
    assert resp.status == 303 and resp.headers["Location"] == "/admin/quarantine"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    resp = await client.get("/admin")
    body = await resp.text()
    assert resp.status == 200 and "sxpl-z3950" in body and "陕西省图书馆" in body
    assert resp.headers["Cache-Control"] == "no-store"


async def test_login_refuses_open_redirects_and_forged_forms(client: TestClient) -> None:
    resp = await login(client, next_url="//evil.example/steal")
    assert resp.headers["Location"] == "/admin"
    await client.post("/admin/logout", data={"csrf": hidden_csrf(
        await (await client.get("/admin")).text())}, headers=origin(client))
    # the login form itself: without its token, or posted from another site
    resp = await client.post("/admin/login", data={"password": PASSWORD},
                             headers=origin(client), allow_redirects=False)
    assert resp.status == 403
    body = await (await client.get("/admin/login")).text()
    resp = await client.post("/admin/login", allow_redirects=False,
                             data={"csrf": hidden_csrf(body), "password": PASSWORD},
                             headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await client.get("/admin", allow_redirects=False)).status == 303


async def test_login_is_throttled_per_address(client: TestClient) -> None:
    for _ in range(5):
        assert (await login(client, password="guess")).status == 401
    resp = await login(client)  # even the right password waits now
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert (await client.get("/admin", allow_redirects=False)).status == 303


async def test_forged_posts_change_nothing(world: World, make_client: MakeClient) -> None:
    scheduler = Scheduler(world.config, lambda s, st: HarvestStats(s.name), _no_reindex)
    client = await make_client(scheduler=scheduler)
    csrf = await logged_in(client)
    url = "/admin/sources/sxpl-z3950/pause"
    forged = [
        ({}, origin(client)),  # no token
        ({"csrf": "0" * len(csrf)}, origin(client)),  # wrong token
        ({"csrf": csrf}, {"Origin": "https://evil.example"}),  # right token, foreign site
        ({"csrf": csrf}, {"Referer": "https://evil.example/page"}),
        ({"csrf": csrf}, {}),  # neither Origin nor Referer
    ]
    for data, headers in forged:
        resp = await client.post(url, data=data, headers=headers, allow_redirects=False)
        assert resp.status == 403, (data, headers)
        assert "操作未执行" in await resp.text()
        assert not scheduler.states["sxpl-z3950"].paused
    resp = await client.post(url, data={"csrf": csrf}, headers=origin(client),
                             allow_redirects=False)
    assert resp.status == 303 and scheduler.states["sxpl-z3950"].paused


async def test_sessions_expire(client: TestClient) -> None:
    sessions = client.server.app[ADMIN].sessions
    now = [1000.0]
    sessions.clock = lambda: now[0]
    await logged_in(client)
    now[0] += sessions.idle - 1  # still active: each request restarts the idle clock
    assert (await client.get("/admin", allow_redirects=False)).status == 200
    now[0] += sessions.idle + 1
    assert (await client.get("/admin", allow_redirects=False)).status == 303
    await logged_in(client)  # absolute limit: even a busy session ends
    start = now[0]
    while now[0] - start <= sessions.absolute:
        assert (await client.get("/api/admin/sources")).status == 200
        now[0] += sessions.idle - 1
    assert (await client.get("/api/admin/sources")).status == 401


async def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = await logged_in(client)
    cookies = {c.key: c.value for c in client.session.cookie_jar}
    resp = await client.post("/admin/logout", data={"csrf": csrf}, headers=origin(client),
                             allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/admin", allow_redirects=False)).status == 303
    # the old cookie, replayed, is dead server-side
    resp = await client.get("/admin", cookies=cookies, allow_redirects=False)
    assert resp.status == 303


async def test_bearer_token_for_scripts(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.get("/api/admin/sources", headers=auth)
    data = await resp.json()
    assert resp.status == 200 and data["scheduler"] is False
    assert {s["name"] for s in data["sources"]} == {"sxpl-z3950", "xylib-z3950"}
    resp = await client.get("/api/admin/sources", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401
    resp = await client.get("/admin", headers=auth)  # HTML pages too, for curl
    assert resp.status == 200


# -- scheduler ---------------------------------------------------------------------------


async def _no_reindex(stats: list[HarvestStats]) -> None:
    return None


async def _scheduled_run_over(scheduler: Scheduler, name: str) -> None:
    """Until the source's loop has finished its run and waits for the next one."""
    while not scheduler.states[name].next_run:
        await asyncio.sleep(0.01)


async def test_actions_reach_a_real_scheduler(world: World, make_client: MakeClient) -> None:
    harvested: list[str] = []
    ran = threading.Event()

    def harvester(source, store: RecordStore) -> HarvestStats:
        harvested.append(source.name)
        ran.set()
        return HarvestStats(source.name)

    scheduler = Scheduler(world.config, harvester, _no_reindex)
    client = await make_client(scheduler=scheduler)
    # The app started its scheduler, which harvests a scheduled source at once.
    await asyncio.wait_for(_scheduled_run_over(scheduler, "sxpl-z3950"), 5)
    assert harvested == ["sxpl-z3950"]
    harvested.clear()
    ran.clear()
    csrf = await logged_in(client)

    async def post(action: str, name: str = "sxpl-z3950") -> str:
        resp = await client.post(f"/admin/sources/{name}/{action}", data={"csrf": csrf},
                                 headers=origin(client))
        assert resp.status == 200
        return await resp.text()

    body = await post("harvest", "xylib-z3950")  # unscheduled: runs once in the background
    assert "已开始采集 xylib-z3950" in body
    await asyncio.wait_for(asyncio.to_thread(ran.wait, 5), 6)
    assert harvested == ["xylib-z3950"]
    body = await post("pause")
    assert scheduler.states["sxpl-z3950"].paused and "已暂停" in body
    assert "已暂停" in body and "/admin/sources/sxpl-z3950/resume" in body  # button swapped
    ran.clear()
    await post("resume")
    assert not scheduler.states["sxpl-z3950"].paused
    await asyncio.wait_for(asyncio.to_thread(ran.wait, 5), 6)
    assert harvested[-1] == "sxpl-z3950"
    resp = await client.post("/admin/sources/nosuch/pause", data={"csrf": csrf},
                             headers=origin(client))
    assert resp.status == 404


async def test_without_scheduler_buttons_are_off(client: TestClient) -> None:
    csrf = await logged_in(client)
    body = await (await client.get("/admin")).text()
    assert "scheduler not running" in body and "disabled" in body
    resp = await client.post("/admin/sources/sxpl-z3950/harvest", data={"csrf": csrf},
                             headers=origin(client))
    assert resp.status == 200 and "操作未执行" in await resp.text()


async def test_dashboard_shows_history_and_failures(client: TestClient) -> None:
    await logged_in(client)
    body = await (await client.get("/admin")).text()
    assert "连续失败 1 次" in body and "连接 127.0.0.1:9 超时" in body
    assert body.count('class="run ok"') == 1 and body.count('class="run failed"') == 1
    assert "每 60 分钟" in body and "仅手动" in body
    assert 'href="/admin/quarantine?source=sxpl-z3950">1</a>' in body
    data = await (await client.get("/api/admin/sources")).json()
    sxpl = next(s for s in data["sources"] if s["name"] == "sxpl-z3950")
    assert [r["state"] for r in sxpl["runs"]] == ["failed", "ok"]
    assert sxpl["summary"]["failing_streak"] == 1 and sxpl["quarantined"] == 1


# -- quarantine --------------------------------------------------------------------------


async def test_quarantine_shows_raw_record_escaped(client: TestClient, world: World) -> None:
    await logged_in(client)
    body = await (await client.get("/admin/quarantine?source=sxpl-z3950")).text()
    assert "共 <strong>1</strong> 条" in body and "&lt;b&gt;bad&lt;/b&gt;" in body
    entry_id = re.search(r'href="/admin/quarantine/(\d+)"', body).group(1)
    resp = await client.get(f"/admin/quarantine/{entry_id}")
    body = await resp.text()
    assert resp.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert "␞" in body and "␟" in body and "␝" in body  # MARC separators made visible
    assert "中文" in body and "GB18030" in body  # not UTF-8, so read as GB18030
    assert "00000000  30 30 30 34 32" in body  # hex dump
    assert "第 7 条" in body and "1234" in body and "r7" in body
    resp = await client.get(f"/admin/quarantine/{entry_id}/raw")
    assert resp.status == 200 and resp.content_type == "application/octet-stream"
    assert await resp.read() == world.store.quarantined()[0].raw
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="quarantine-{entry_id}-sxpl-z3950.mrc"')
    assert (await client.get("/admin/quarantine/99999")).status == 404
    assert (await client.get("/admin/quarantine/abc")).status == 404


def test_display_decoding_and_names() -> None:
    assert decode_for_display("题名".encode())[1] == "UTF-8"
    text, how = decode_for_display(b"\xff\xfe\x00abc\x1b\xe2\x80\xae")
    assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text
    assert download_name(3, '../../etc/"x"', b"<?xml") == "quarantine-3-_etc_x_.xml"


def test_cookies_are_secure_over_https() -> None:
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from portal.auth import set_cookie

    for scheme, secure in (("https", True), ("http", False)):
        request = make_mocked_request("GET", "/admin").clone(scheme=scheme)
        response = web.Response()
        set_cookie(response, request, "tongjian_admin", "v")
        header = response.cookies["tongjian_admin"].output()
        assert ("Secure" in header) is secure
        assert "HttpOnly" in header and "SameSite=Strict" in header
