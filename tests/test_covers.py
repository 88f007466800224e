"""Covers (issue 11): fetched by the portal from a real HTTP server on loopback, checked,
cached on disk and served from the portal's own origin — or a placeholder.

The "member server" here is a real aiohttp server that counts every request it gets, so
"cached" and "never contacted" are measured where they happen, not inferred from the
portal's side.  It serves the demo repository's own PNG and JPEG covers, an HTML page
claiming to be a JPEG, an endless and an over-long image, a server that never answers,
and redirects to its own host and to another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.config import ConfigError, parse
from core.model import Holding, Record
from peers.oai_repository import jpeg_bytes, png_bytes
from portal.core import LIVE_CATALOGUE
from portal.covers import COVERS, PLACEHOLDER_DIR, image_type, source_host
from tests.conftest import MakeWorld, Serve, build_world

PNG = png_bytes("cover-1")
JPEG = jpeg_bytes("cover-2")
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
MiB = 1024 * 1024


# -- the member server --------------------------------------------------------------------


@dataclass
class Origin:
    server: TestServer
    counts: Counter[str]
    release: asyncio.Event
    state: dict[str, Any]

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def origin_app(counts: Counter[str], release: asyncio.Event,
               state: dict[str, Any]) -> web.Application:
    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        counts[request.path] += 1
        return await handler(request)

    async def cover_png(request: web.Request) -> web.Response:
        if state.get("broken"):
            return web.Response(status=500, text="database error")
        return web.Response(body=PNG, content_type="image/png")

    async def cover_jpg(request: web.Request) -> web.Response:
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def slowish(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def fake(request: web.Request) -> web.Response:
        return web.Response(body=HTML, headers={"Content-Type": "image/jpeg"})

    async def endless(request: web.Request) -> web.StreamResponse:
        """A PNG that never ends (chunked, no length): only a limit while reading stops it."""
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        await resp.prepare(request)
        await resp.write(PNG[:16])
        chunk = b"\0" * 65536
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            for _ in range(20_000):  # 1.25 GiB, far beyond any timeout used here
                await resp.write(chunk)
        return resp

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=PNG[:16] + b"\0" * (3 * MiB), content_type="image/png")

    async def slow(request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 30)
        return web.Response(body=PNG, content_type="image/png")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="not found")

    async def redirect_same(request: web.Request) -> web.Response:
        raise web.HTTPFound("/cover.jpg")

    async def redirect_away(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{request.url.port}/cover.png")

    app = web.Application(middlewares=[count])
    for path, handler in (("/cover.png", cover_png), ("/cover.jpg", cover_jpg),
                          ("/slowish.jpg", slowish), ("/fake.jpg", fake),
                          ("/endless.png", endless), ("/declared.png", declared),
                          ("/slow.png", slow), ("/missing.png", missing),
                          ("/redirect-same", redirect_same), ("/redirect-away", redirect_away)):
        app.router.add_get(path, handler)
    return app


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    counts: Counter[str] = Counter()
    release = asyncio.Event()
    state: dict[str, Any] = {}
    server = TestServer(origin_app(counts, release, state), host="127.0.0.1",
                        handler_cancellation=True)
    await server.start_server()
    yield Origin(server, counts, release, state)
    release.set()
    await server.close()


# -- the portal -------------------------------------------------------------------------------

# cluster id → (cover path on the origin, or a whole URL; material type)
COVERS_OF = {
    "png": ("/cover.png", "book"),
    "jpg": ("/redirect-same", "book"),
    "slowish": ("/slowish.jpg", "book"),
    "fake": ("/fake.jpg", "book"),
    "endless": ("/endless.png", "book"),
    "declared": ("/declared.png", "book"),
    "slow": ("/slow.png", "book"),
    "missing": ("/missing.png", "map"),
    "away": ("/redirect-away", "book"),
    "otherhost": ("http://localhost:{port}/cover.png", "book"),
    "script": ("javascript:alert(1)", "book"),
    "file": ("file:///etc/passwd", "book"),
    "data": ("data:image/png;base64,iVBORw0KGgo=", "book"),
    "map": ("", "map"),
    "gazetteer": ("", "manuscript"),
}


def config_for(origin: Origin, tmp_path: Path, cover_hosts: tuple[str, ...] = ()) -> Any:
    raw = {
        "libraries": [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                       "level": "province"}],
        "sources": [
            {"name": "sxpl-dfwx", "library": "SXPL", "protocol": "oaipmh",
             "address": origin.url("/oai"), "metadata_prefix": "oai_dc"},
            {"name": "sxpl-z3950", "library": "SXPL", "protocol": "z3950",
             "address": "10.9.8.7:210/Default"},
        ],
        "portal": {"cover_hosts": list(cover_hosts)},
    }
    return parse(raw, tmp_path / "config.yaml")  # the cache lands in tmp_path/var/covers


def covers_of(origin: Origin) -> dict[str, list[Record]]:
    """One digitized document per entry of COVERS_OF, its cover on the origin server."""
    clusters = {}
    for n, (cid, (where, kind)) in enumerate(COVERS_OF.items()):
        cover = (origin.url(where) if where.startswith("/")
                 else where.format(port=origin.port))
        clusters[cid] = [Record(
            source="sxpl-dfwx", source_id=f"oai:dfwx:{n}", library="SXPL",
            title=f"礼泉县志 {cid}", year=1999, material_type=kind, cover_url=cover,
            online_url=origin.url(f"/objects/{n}.pdf"),
            holdings=[Holding("SXPL", "地方文献阅览室", f"K29/{n}", f"SX{n}", "在架")])]
    return clusters


@dataclass
class Portal:
    client: TestClient
    app: web.Application
    cache: Path


@contextlib.asynccontextmanager
async def portal(origin: Origin, tmp_path: Path, cover_hosts: tuple[str, ...] = (),
                 **limits: Any) -> AsyncIterator[Portal]:
    world = build_world(tmp_path, config_for(origin, tmp_path, cover_hosts), covers_of(origin),
                        raw=b"")
    app = world.app()
    for name, value in limits.items():
        setattr(app[COVERS], name, value)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Portal(client, app, tmp_path / "var" / "covers")
    finally:
        await client.close()
        world.close()


@pytest.fixture
async def site(origin: Origin, tmp_path: Path) -> AsyncIterator[Portal]:
    async with portal(origin, tmp_path) as p:
        yield p


async def get(site: Portal, cover_id: str) -> tuple[int, dict[str, str], bytes]:
    resp = await site.client.get(f"/covers/{cover_id}")
    return resp.status, dict(resp.headers), await resp.read()


def is_placeholder(status: int, headers: dict[str, str], body: bytes) -> bool:
    return (status == 200 and headers.get("X-Cover") == "placeholder"
            and headers["Content-Type"] == "image/svg+xml" and body.startswith(b"<svg"))


# -- served, cached -------------------------------------------------------------------------


async def test_cover_is_served_from_our_origin_with_its_bytes_and_type(
        site: Portal, origin: Origin) -> None:
    status, headers, body = await get(site, "png")
    assert status == 200 and body == PNG
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "X-Cover" not in headers
    # a redirect within the allowed host is followed; the type is the bytes', a JPEG
    status, headers, body = await get(site, "jpg")
    assert (status, headers["Content-Type"], body) == (200, "image/jpeg", JPEG)
    assert origin.counts["/redirect-same"] == 1 and origin.counts["/cover.jpg"] == 1


async def test_cover_is_fetched_once_then_served_from_disk(site: Portal, origin: Origin) -> None:
    for _ in range(3):
        assert (await get(site, "png"))[2] == PNG
    assert origin.counts["/cover.png"] == 1
    # named by the URL's hash, nothing from the remote side in any file name
    key = hashlib.sha256(origin.url("/cover.png").encode()).hexdigest()
    files = [p for p in site.cache.rglob("*") if p.is_file()]
    assert [p.relative_to(site.cache).as_posix() for p in files] == [f"{key[:2]}/{key}.img"]
    assert files[0].read_bytes() == PNG


async def test_concurrent_requests_share_one_fetch(site: Portal, origin: Origin) -> None:
    results = await asyncio.gather(*(get(site, "slowish") for _ in range(8)))
    assert all(body == JPEG for _, _, body in results)
    assert origin.counts["/slowish.jpg"] == 1


async def test_expired_cover_is_fetched_again_and_kept_while_its_server_fails(
        site: Portal, origin: Origin) -> None:
    assert (await get(site, "png"))[2] == PNG
    (cached,) = site.cache.rglob("*.img")
    week_ago = time.time() - 8 * 86400
    os.utime(cached, (week_ago, week_ago))
    assert (await get(site, "png"))[2] == PNG
    assert origin.counts["/cover.png"] == 2  # past its TTL: asked again
    os.utime(cached, (week_ago, week_ago))
    origin.state["broken"] = True
    for _ in range(2):  # the stale cover beats a placeholder; the failure is remembered
        status, headers, body = await get(site, "png")
        assert (status, body) == (200, PNG) and "X-Cover" not in headers
    assert origin.counts["/cover.png"] == 3


async def test_failure_is_remembered_then_retried(site: Portal, origin: Origin) -> None:
    for _ in range(3):
        assert is_placeholder(*await get(site, "missing"))
    assert origin.counts["/missing.png"] == 1  # a dead link is not asked on every view
    (failed,) = site.cache.rglob("*.fail")
    hours_ago = time.time() - 2 * 3600
    os.utime(failed, (hours_ago, hours_ago))
    assert is_placeholder(*await get(site, "missing"))
    assert origin.counts["/missing.png"] == 2


# -- refused ----------------------------------------------------------------------------------


async def test_html_claiming_to_be_a_jpeg_gets_the_placeholder(
        site: Portal, origin: Origin) -> None:
    status, headers, body = await get(site, "fake")
    assert is_placeholder(status, headers, body)
    assert b"<script>" not in body and origin.counts["/fake.jpg"] == 1
    assert not list(site.cache.rglob("*.img"))


async def test_oversize_image_is_cut_off_while_streaming(
        origin: Origin, tmp_path: Path) -> None:
    async with portal(origin, tmp_path, timeout=30.0) as site:
        started = time.monotonic()
        assert is_placeholder(*await get(site, "endless"))
        assert time.monotonic() - started < 5  # stopped at the limit, not at the timeout
        assert is_placeholder(*await get(site, "declared"))  # Content-Length says 3 MiB
    assert origin.counts["/endless.png"] == 1 and origin.counts["/declared.png"] == 1


async def test_slow_server_times_out_to_the_placeholder(origin: Origin, tmp_path: Path) -> None:
    async with portal(origin, tmp_path, timeout=0.5) as site:
        started = time.monotonic()
        assert is_placeholder(*await get(site, "slow"))
        assert time.monotonic() - started < 3
        assert is_placeholder(*await get(site, "slow"))  # remembered: not waited for again
    assert origin.counts["/slow.png"] == 1


async def test_host_not_configured_is_never_contacted(origin: Origin, tmp_path: Path) -> None:
    async with portal(origin, tmp_path) as site:
        assert is_placeholder(*await get(site, "otherhost"))  # same server, as "localhost"
        assert is_placeholder(*await get(site, "away"))  # a redirect to it
    assert origin.counts["/redirect-away"] == 1
    assert origin.counts["/cover.png"] == 0
    # once the consortium lists the host in portal.cover_hosts, the cover is served
    async with portal(origin, tmp_path / "listed", cover_hosts=("LocalHost",)) as site:
        assert (await get(site, "otherhost"))[2] == PNG
        assert (await get(site, "away"))[2] == PNG


async def test_urls_other_than_http_get_the_placeholder(
        site: Portal, origin: Origin) -> None:
    for cover_id in ("script", "file", "data"):
        status, headers, body = await get(site, cover_id)
        assert is_placeholder(status, headers, body), cover_id
        assert b"alert" not in body and b"passwd" not in body
    assert sum(origin.counts.values()) == 0


async def test_placeholder_per_material_type(site: Portal) -> None:
    status, headers, body = await get(site, "map")
    assert is_placeholder(status, headers, body)
    assert body == (PLACEHOLDER_DIR / "map.svg").read_bytes() and "地图" in body.decode()
    assert "地方文献" in (await get(site, "gazetteer"))[2].decode()
    assert "X-Content-Type-Options" in headers and "sandbox" in headers[
        "Content-Security-Policy"]
    # an entry merged away since the page was made still gets an image, not an error page
    status, headers, body = await get(site, "no-such-entry")
    assert is_placeholder(status, headers, body)
    assert body == (PLACEHOLDER_DIR / "other.svg").read_bytes()
    assert "礼泉县志" not in body.decode()  # nothing from the records in any placeholder


async def test_live_only_entries_take_their_cover_from_the_live_records(
        origin: Origin, tmp_path: Path, make_world: MakeWorld, serve: Serve) -> None:
    world = make_world(config_for(origin, tmp_path), covers_of(origin), raw=b"")
    app = world.app()
    live = Record(source="live", source_id="1", library="SXPL", title="一本只在县馆的书",
                  material_type="book", cover_url=origin.url("/cover.png"))
    entry = app[LIVE_CATALOGUE].resolve([live], world.backend, world.store)[live.key]
    assert entry.startswith("live-")
    client = await serve(app)
    resp = await client.get(f"/covers/{entry}")
    assert resp.status == 200 and await resp.read() == PNG
    resp = await client.get("/covers/live-0000000000000000")
    assert resp.headers["X-Cover"] == "placeholder"


# -- pages --------------------------------------------------------------------------------


async def test_pages_link_covers_on_our_origin_only(site: Portal, origin: Origin) -> None:
    body = await (await site.client.get("/record/png")).text()
    assert '<img src="/covers/png" alt="礼泉县志 png 封面"' in body
    assert f"127.0.0.1:{origin.port}/cover.png" not in body
    assert f'src="http://127.0.0.1:{origin.port}' not in body
    # the "read online" link still goes to the member's viewer, as before
    assert f'href="{origin.url("/objects/0.pdf")}"' in body
    body = await (await site.client.get("/search", params={"q": "礼泉县志"})).text()
    assert 'src="/covers/png"' in body and 'src="/covers/map"' in body
    assert 'loading="lazy"' in body
    assert f"127.0.0.1:{origin.port}/cover" not in body
    assert sum(origin.counts.values()) == 0  # rendering pages fetches nothing


# -- configuration and helpers -------------------------------------------------------------


def test_cover_hosts_config(tmp_path: Path) -> None:
    raw: dict[str, Any] = {
        "libraries": [{"code": "A", "name": "A", "region": "R", "level": "city"}],
        "sources": [{"name": "a", "library": "A", "protocol": "z3950", "address": "h:210/D"}],
    }
    assert parse(raw, tmp_path / "c.yaml").portal.cover_hosts == ()
    raw["portal"] = {"cover_hosts": ["IMG.Example.CN.", "10.0.0.5"]}
    assert parse(raw, tmp_path / "c.yaml").portal.cover_hosts == ("img.example.cn", "10.0.0.5")
    for bad in (["http://img.example.cn/"], ["img.example.cn:8080"], "img.example.cn", [3]):
        raw["portal"] = {"cover_hosts": bad}
        with pytest.raises(ConfigError, match="cover_hosts"):
            parse(raw, tmp_path / "c.yaml")


@pytest.mark.parametrize(("address", "host"), [
    ("http://127.0.0.1:21012/oai", "127.0.0.1"),
    ("127.0.0.1:21001/Default", "127.0.0.1"),
    ("tcp:Z3950.SXLIB.org.cn:210/Default", "z3950.sxlib.org.cn"),
    ("https://dfwx.例子.中国/oai", "dfwx.xn--fsqu00a.xn--fiqs8s"),
])
def test_source_host(address: str, host: str) -> None:
    assert source_host(address) == host


def test_image_type_reads_magic_bytes() -> None:
    assert image_type(PNG) == "image/png" and image_type(JPEG) == "image/jpeg"
    assert image_type(b"GIF89a....") == "image/gif"
    assert image_type(b"RIFF\x10\0\0\0WEBPVP8 ") == "image/webp"
    for not_image in (HTML, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"", b"RIFF"):
        assert image_type(not_image) is None
