"""HTTP peers that misbehave, each in exactly one way (issue 13): a repository that hands
out the same resumptionToken forever, servers that trickle their answer a byte at a time,
an answer far larger than the cap, and a list that ends before its completeListSize.

Each peer is a real server on loopback (http.server in a thread); the connectors must end
with their typed errors, in bounded time and bytes, never by running on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.base import Checkpoint, ConnectorError, RawRecord, Unreachable
from connectors.httplimits import Limits, TooLarge
from connectors.koha import KohaConnector
from connectors.oaipmh import OAIPMHConnector
from connectors.symphony import SymphonyConnector
from core.config import ConfigError, parse

Handler = Callable[[BaseHTTPRequestHandler], None]


class Peer:
    """A loopback HTTP server whose every request is answered by ``handle``."""

    def __init__(self, handle: Handler) -> None:
        self.requests: list[str] = []
        self.sent = 0  # body bytes written so far
        peer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                peer.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                try:
                    handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer() -> Iterator[Callable[[Handler], Peer]]:
    started: list[Peer] = []

    def start(handle: Handler) -> Peer:
        started.append(Peer(handle))
        return started[-1]

    yield start
    for p in started:
        p.close()


def trickle(seconds: float, content_type: str = "application/json") -> Handler:
    """Announce a 10 kB body, then send one byte every 0.1 s for ``seconds`` and hang up:
    every single read succeeds, so only a total deadline can stop the client early."""
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", "10000")
        h.end_headers()
        h.wfile.flush()
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)
        h.close_connection = True
    return handle


OAI_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            b"<responseDate>2026-01-01T00:00:00Z</responseDate>"
            b'<request verb="ListRecords">x</request><ListRecords>')


def oai_record(n: int) -> bytes:
    return (f"<record><header><identifier>oai:x:{n}</identifier>"
            f"<datestamp>2025-01-01</datestamp></header><metadata>"
            f'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t{n}</dc:title>'
            f"</oai_dc:dc></metadata></record>").encode()


def oai_page(records: range, token: str, size: int | None = None) -> bytes:
    attr = f' completeListSize="{size}"' if size is not None else ""
    return (OAI_HEAD + b"".join(oai_record(n) for n in records)
            + f"<resumptionToken{attr}>{token}</resumptionToken>".encode()
            + b"</ListRecords></OAI-PMH>")


def send(h: BaseHTTPRequestHandler, body: bytes, content_type: str = "text/xml") -> None:
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def oai(peer: Peer, **limits: Any) -> OAIPMHConnector:
    return OAIPMHConnector("hostile-oai", peer.url + "/oai", timeout=3,
                           limits=Limits(**limits), max_retries=0)


def drain(stream: Iterator[RawRecord | Checkpoint], most: int = 200) -> list[Any]:
    """The stream's items; fails the test instead of running forever."""
    items = []
    for item in stream:
        items.append(item)
        if len(items) > most:
            pytest.fail(f"still harvesting after {most} items")
    return items


# -- OAI-PMH ------------------------------------------------------------------------------


def test_a_repeated_resumption_token_stops_the_harvest(peer: Callable[[Handler], Peer]
                                                       ) -> None:
    counter = iter(range(10_000))
    p = peer(lambda h: send(h, oai_page(range(next(counter), next(counter) + 1), "same")))
    with pytest.raises(ConnectorError) as e:
        drain(oai(p).harvest())
    assert "resumptionToken 'same' again" in str(e.value)
    assert e.value.source == "hostile-oai"
    assert len(p.requests) <= 3  # the first answer, then at most two repeats


def test_max_pages_bounds_a_list_that_never_ends(peer: Callable[[Handler], Peer]) -> None:
    counter = iter(range(10_000))
    p = peer(lambda h: send(h, oai_page(range(1), f"t{next(counter)}")))
    with pytest.raises(ConnectorError, match="still going after 5 pages"):
        drain(oai(p, max_pages=5).harvest())
    assert len(p.requests) == 5


def test_an_answer_larger_than_the_cap_is_not_read_to_the_end(
        peer: Callable[[Handler], Peer]) -> None:
    total = 64 * 1024 * 1024

    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/xml")
        h.send_header("Content-Length", str(len(OAI_HEAD) + total))
        h.end_headers()
        h.wfile.write(OAI_HEAD)
        pad = b" " * 65536
        while p.sent < total:
            h.wfile.write(pad)
            p.sent += len(pad)

    p = peer(huge)
    with pytest.raises(TooLarge, match="max_response_bytes"):
        drain(oai(p, max_response_bytes=1024 * 1024).harvest())
    time.sleep(0.3)
    assert p.sent < total // 4  # socket buffers hold a few MB; the rest was never read


def test_a_trickling_repository_ends_at_the_deadline(peer: Callable[[Handler], Peer]) -> None:
    p = peer(trickle(8, "text/xml"))
    started = time.monotonic()
    with pytest.raises(Unreachable, match="request deadline of 1 s"):
        drain(oai(p, request_deadline=1).harvest())
    assert time.monotonic() - started < 3


def test_a_list_shorter_than_its_complete_list_size_is_not_final(
        peer: Callable[[Handler], Peer]) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        if "resumptionToken=p2" in h.path:
            send(h, oai_page(range(2, 3), "", size=5))  # the list ends at 3 of 5
        else:
            send(h, oai_page(range(2), "p2", size=5))

    p = peer(handle)
    items = drain(oai(p).harvest())
    records = [i for i in items if isinstance(i, RawRecord)]
    checkpoints = [i for i in items if isinstance(i, Checkpoint)]
    assert len(records) == 3
    assert not any(c.final for c in checkpoints)
    assert checkpoints[-1].state["short_list"] == [3, 5]
    # The next run asks for the whole window again, from its start.
    again = drain(oai(p).harvest(state=checkpoints[-1].state))
    assert p.requests[-2] == "/oai?verb=ListRecords&metadataPrefix=oai_dc"
    assert not any(isinstance(c, Checkpoint) and c.final for c in again)


def test_a_list_as_long_as_announced_is_final(peer: Callable[[Handler], Peer]) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        if "resumptionToken=p2" in h.path:
            send(h, oai_page(range(2, 3), "", size=3))
        else:
            send(h, oai_page(range(2), "p2", size=3))

    items = drain(oai(peer(handle)).harvest())
    assert isinstance(items[-1], Checkpoint) and items[-1].final


# -- Koha and Symphony ----------------------------------------------------------------------


def test_a_trickling_koha_ends_at_the_deadline(peer: Callable[[Handler], Peer]) -> None:
    p = peer(trickle(8))
    conn = KohaConnector("hostile-koha", p.url, user="u", password="p", timeout=3,
                         incremental=False, limits=Limits(request_deadline=1))
    started = time.monotonic()
    with pytest.raises(Unreachable, match="hostile-koha: .*request deadline of 1 s"):
        drain(conn.harvest())
    assert time.monotonic() - started < 3
    conn.close()


def test_an_oversized_koha_answer_is_refused(peer: Callable[[Handler], Peer]) -> None:
    body = b"[" + b" " * 200_000 + b"]"
    p = peer(lambda h: send(h, body, "application/json"))
    conn = KohaConnector("hostile-koha", p.url, user="u", password="p", incremental=False,
                         limits=Limits(max_response_bytes=100_000))
    with pytest.raises(TooLarge, match="max_response_bytes"):
        drain(conn.harvest())
    conn.close()


def test_a_trickling_symphony_ends_at_the_deadline(peer: Callable[[Handler], Peer]) -> None:
    p = peer(trickle(8))
    conn = SymphonyConnector("hostile-sym", p.url + "/symws", client_id="c", user_env="U",
                             password_env="P", environ={"U": "u", "P": "p"}, timeout=3,
                             limits=Limits(request_deadline=1))
    started = time.monotonic()
    with pytest.raises(Unreachable, match="hostile-sym: .*request deadline of 1 s"):
        drain(conn.harvest())
    assert time.monotonic() - started < 3


# -- configuration ----------------------------------------------------------------------------


def _config(**extra: Any) -> dict[str, Any]:
    return {"libraries": [{"code": "L", "name": "n", "region": "r", "level": "city"}],
            "sources": [{"name": "s", "library": "L", "protocol": "oaipmh",
                         "address": "http://x/oai", **extra}]}


def test_limits_are_configurable_per_source_with_defaults(tmp_path: Any) -> None:
    source = parse(_config(), tmp_path / "c.yaml").sources[0]
    assert (source.request_deadline, source.max_response_bytes, source.max_pages) == \
        (60.0, 50 * 1024 * 1024, 100_000)
    source = parse(_config(request_deadline=5, max_response_bytes=2048, max_pages=10),
                   tmp_path / "c.yaml").sources[0]
    conn = OAIPMHConnector.from_source(source)
    assert conn.limits == Limits(5.0, 2048, 10)
    for bad in ({"request_deadline": 0}, {"max_response_bytes": "big"}, {"max_pages": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            parse(_config(**bad), tmp_path / "c.yaml")
