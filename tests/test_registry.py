"""Connectors are built in one place (`connectors.registry`), and what a source configures
reaches the server on every path.

The login test runs yaz-ztest with its APDU log on: the Init request as the server
decoded it shows whether the configured user and password were sent, so a path that drops
them (as the Z39.50 harvest once did) fails here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.broadcast import Broadcaster, State
from connectors.registry import CONNECTORS, connector_class, live_searchable, open_connector
from harvest.crosswalk import from_raw
from harvest.store import RecordStore
from tests.conftest import free_port
from tongjian.commands import harvest_one
from tongjian.config import PROTOCOLS, Config, parse

USER, PASSWORD = "tj-county", "pw-Zq8-never-dropped"
ENV = {"TJTEST_Z_USER": USER, "TJTEST_Z_PASSWORD": PASSWORD}


# -- the registry -----------------------------------------------------------------------------


def test_every_configurable_protocol_has_a_connector_built_from_its_source() -> None:
    assert set(CONNECTORS) == set(PROTOCOLS)
    for protocol in PROTOCOLS:
        cls = connector_class(protocol)
        assert cls is not None and callable(getattr(cls, "from_source", None)), protocol
    assert live_searchable("z3950") and live_searchable("sru")
    assert not any(live_searchable(p) for p in ("oaipmh", "symphony", "koha", "gopher"))
    assert connector_class("gopher") is None


def test_unknown_protocol_is_a_connector_error() -> None:
    config = make_config("127.0.0.1:1/Default")
    source = config.sources[0]
    with pytest.raises(ConnectorError, match="no connector for protocol 'gopher'"):
        open_connector(replace(source, protocol="gopher"))


def test_timeout_overrides_the_sources_own() -> None:
    source = make_config("127.0.0.1:1/Default").sources[0]
    assert open_connector(source).timeout == source.timeout
    assert open_connector(source, timeout=2.0).timeout == 2.0


# -- the login reaches the server on every path -----------------------------------------------


@dataclass
class LoggedZtest:
    address: str
    folder: Path

    def inits(self, wait: float = 3.0) -> list[str]:
        """The Init requests the server decoded so far (one APDU log per session)."""
        deadline = time.monotonic() + wait
        while True:
            texts = [p.read_text("utf-8", "replace") for p in sorted(self.folder.glob("apdu*"))]
            inits = [t[t.index("initRequest"):] for t in texts if "initRequest" in t]
            if inits or time.monotonic() >= deadline:
                return inits
            time.sleep(0.05)


@pytest.fixture
def logged_ztest(tmp_path: Path) -> Iterator[LoggedZtest]:
    exe = shutil.which("yaz-ztest")
    if exe is None:
        pytest.skip("yaz-ztest (package yaz) is not installed")
    port = free_port()
    folder = tmp_path / "ztest"
    folder.mkdir()
    proc = subprocess.Popen([exe, "-a", str(folder / "apdu"), "-l", str(folder / "ztest.log"),
                             f"tcp:127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        for stale in folder.glob("apdu*"):  # the readiness probe's empty session
            stale.unlink()
        yield LoggedZtest(f"127.0.0.1:{port}/Default", folder)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def make_config(address: str, mode: str = "harvest") -> Config:
    source = {"name": "county", "library": "L", "protocol": "z3950", "address": address,
              "mode": mode, "query": "@attr 1=4 3",
              "auth": {"user_env": "TJTEST_Z_USER", "password_env": "TJTEST_Z_PASSWORD"}}
    return parse({"libraries": [{"code": "L", "name": "县馆", "region": "咸阳市",
                                 "level": "county"}], "sources": [source]}, Path("c.yaml"))


def assert_logged_in(server: LoggedZtest) -> None:
    inits = server.inits()
    assert inits, "the server saw no Init request"
    for init in inits:
        assert "idPass" in init, init[:400]
        assert f"userId '{USER}'" in init and f"password '{PASSWORD}'" in init, init[:400]


def test_harvest_sends_the_configured_login_and_query(env: None, logged_ztest: LoggedZtest,
                                                      tmp_path: Path) -> None:
    source = make_config(logged_ztest.address).sources[0]
    with RecordStore(tmp_path / "s.db") as store:
        stats = harvest_one(source, store, show_progress=False)
    assert stats.errors == [] and stats.new == 3  # the configured query: 3 hits on ztest
    assert_logged_in(logged_ztest)


async def test_live_search_sends_the_configured_login(env: None,
                                                      logged_ztest: LoggedZtest) -> None:
    source = make_config(logged_ztest.address, mode="live").sources[0]
    engine = Broadcaster([source], from_raw)
    try:
        search = engine.start("2")
        await search.wait(5)
        assert search.status("county").state == State.DONE
    finally:
        await engine.aclose()
    assert_logged_in(logged_ztest)
