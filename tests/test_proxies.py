"""Forwarded headers are believed from the configured proxies only, and only as far as
the chain goes through them: a client cannot name its own address by sending them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from aiohttp import web

from portal.proxies import reader_address
from tests.conftest import MakeWorld, Serve

LIBRARIES = [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"}]
NETS = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")]


def test_the_reader_is_the_right_most_untrusted_hop() -> None:
    assert reader_address("127.0.0.1", "203.0.113.9", NETS) == "203.0.113.9"
    # the client wrote "1.1.1.1" itself; nginx appended the real peer
    assert reader_address("127.0.0.1", "1.1.1.1, 203.0.113.9", NETS) == "203.0.113.9"
    assert reader_address("127.0.0.1", "203.0.113.9, 10.1.2.3", NETS) == "203.0.113.9"
    assert reader_address("127.0.0.1", "10.1.2.3", NETS) == "127.0.0.1"
    assert reader_address("127.0.0.1", "not-an-ip", NETS) == "127.0.0.1"


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"remote": request.remote, "scheme": request.scheme,
                              "host": request.host, "secure": request.secure})


@pytest.mark.parametrize(("trusted", "expected"), [
    ([], {"remote": "127.0.0.1", "scheme": "http", "secure": False}),
    (["127.0.0.1"], {"remote": "203.0.113.9", "scheme": "https", "secure": True,
                     "host": "catalogue.example.org"}),
])
async def test_forwarded_headers_only_from_trusted_proxies(
        make_world: MakeWorld, serve: Serve, trusted: list[str],
        expected: dict[str, Any]) -> None:
    world = make_world({"libraries": LIBRARIES, "sources": [],
                        "portal": {"trusted_proxies": trusted}})
    app = world.app()
    app.router.add_get("/whoami", whoami)
    client = await serve(app)
    seen = await (await client.get("/whoami", headers={
        "X-Forwarded-For": "1.1.1.1, 203.0.113.9", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "catalogue.example.org"})).json()
    assert {k: seen[k] for k in expected} == expected
    if not trusted:
        assert seen["host"] != "catalogue.example.org"
