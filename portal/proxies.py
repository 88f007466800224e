"""A reverse proxy's word about the reader, believed only from the proxies config names.

Behind nginx every request comes from 127.0.0.1 over plain http: without this, login
throttling would count all readers as one, secure cookies would not be marked secure, and
links would name the wrong host.  `X-Forwarded-For`, `-Proto` and `-Host` fix that — but
anybody can send them, so they are read only when the TCP peer is one of
`portal.trusted_proxies`, and the reader is the right-most address in the chain that is
not a trusted proxy (the left part of the header is whatever the client claimed).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from aiohttp import web

from portal.core import CONFIG, Handler

_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,255}")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str | None, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


def reader_address(peer: str, forwarded_for: str, networks: list[Network]) -> str:
    """The right-most hop that is not one of our proxies (the peer when all are)."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: believe only the TCP peer
    return peer


@web.middleware
async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    networks = request.app[PROXIES]
    if networks and _trusted(request.remote, networks):
        changes: dict[str, str] = {}
        chain = request.headers.get("X-Forwarded-For", "")
        if chain:
            changes["remote"] = reader_address(request.remote or "", chain, networks)
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        if _HOST.fullmatch(host):
            changes["host"] = host
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


PROXIES = web.AppKey("trusted_proxies", list)


def setup_proxies(app: web.Application) -> None:
    app[PROXIES] = [ipaddress.ip_network(n) for n in app[CONFIG].portal.trusted_proxies]
