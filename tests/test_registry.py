"""Connectors are built in one place (`connectors.registry`), and what a source configures
reaches the server on every path.

The lint reads every product module with `ast` (connectors, harvest, index, portal,
tongjian — not tests, peers or bench, which may build connectors for their peers) and
fails on a call of a connector class or its ``from_source`` anywhere but the registry,
and on ``zoom.Connection(`` outside the Z39.50 connector and the binding.  Imports are
followed, so ``from connectors.z3950 import Z3950Connector as Z; Z(…)`` is caught too.

The login tests run yaz-ztest with its APDU log on: the Init request as the server
decoded it shows whether the configured user and password were sent, so a path that drops
them (as the Z39.50 harvest once did) fails here.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from connectors.availability import AvailabilityService
from connectors.base import ConnectorError
from connectors.broadcast import Broadcaster, State
from connectors.registry import (
    CONNECTORS,
    connector_class,
    live_searchable,
    open_connector,
    status_by,
)
from core.config import PROTOCOLS, Config, parse
from core.model import Holding, Record
from harvest.crosswalk import from_raw
from harvest.store import RecordStore
from tests.conftest import running_ztest
from tongjian.commands import harvest_one

USER, PASSWORD = "tj-county", "pw-Zq8-never-dropped"
ENV = {"TJTEST_Z_USER": USER, "TJTEST_Z_PASSWORD": PASSWORD}
ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("connectors", "harvest", "index", "portal", "tongjian")
BUILDER = "connectors/registry.py"
ZOOM_OWNERS = {"connectors/z3950.py", "connectors/zoom.py"}
ZOOM_CONNECTION = "connectors.zoom.Connection"


# -- nothing but the registry builds a connector ----------------------------------------------


def connector_classes(root: Path = ROOT) -> set[str]:
    """Qualified names of the concrete connector classes: every class named *Connector in
    connectors/ that is not a Protocol."""
    found = set()
    for path in sorted((root / "connectors").glob("*.py")):
        for node in ast.parse(path.read_text("utf-8")).body:
            bases = {ast.unparse(b) for b in node.bases} if isinstance(node, ast.ClassDef) \
                else set()
            if isinstance(node, ast.ClassDef) and node.name.endswith("Connector") \
                    and not bases & {"Protocol", "typing.Protocol"}:
                found.add(f"connectors.{path.stem}.{node.name}")
    return found


def _module_name(relpath: str) -> str:
    return relpath.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _aliases(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name → what it names, qualified: from imports and the module's own classes."""
    out = {n.name: f"{module}.{n.name}" for n in tree.body if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    out[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{base}" if base else package
            for a in node.names:
                out[a.asname or a.name] = f"{base}.{a.name}"
    return out


def _qualified(func: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(func, ast.Name):
        return aliases.get(func.id)
    if isinstance(func, ast.Attribute):
        inner = _qualified(func.value, aliases)
        return f"{inner}.{func.attr}" if inner else None
    return None


def violations(text: str, relpath: str, classes: set[str]) -> list[str]:
    """Where module ``relpath`` builds a connector (or a raw ZOOM connection) itself."""
    tree = ast.parse(text, relpath)
    aliases = _aliases(tree, _module_name(relpath))
    short = {c.rsplit(".", 1)[1] for c in classes}
    builders = classes | {f"{c}.from_source" for c in classes}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, aliases)
        terminal = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
        where = f"{relpath}:{node.lineno}: {ast.unparse(node.func)}("
        if relpath != BUILDER and (name in builders or terminal in short):
            found.append(where + " builds a connector: use connectors.registry.open_connector")
        if relpath not in ZOOM_OWNERS and name == ZOOM_CONNECTION:
            found.append(where + " opens a raw ZOOM connection: go through Z3950Connector")
    return found


def product_violations(root: Path = ROOT) -> list[str]:
    classes = connector_classes(root)
    out = []
    for folder in PRODUCT:
        for path in sorted((root / folder).rglob("*.py")):
            relpath = path.relative_to(root).as_posix()
            out += violations(path.read_text("utf-8"), relpath, classes)
    return out


def test_only_the_registry_builds_connectors() -> None:
    assert product_violations() == []


def test_the_lint_knows_every_connector_and_catches_each_way_around_it() -> None:
    classes = connector_classes()
    assert {f"connectors.{t.replace(':', '.').split('.', 1)[1]}" for t in CONNECTORS.values()} \
        <= classes
    assert "connectors.base.StatusConnector" not in classes  # a Protocol, not a connector
    sneaky = {
        "direct": "from connectors.z3950 import Z3950Connector\nZ3950Connector('a', 'b')\n",
        "renamed": "from connectors.z3950 import Z3950Connector as Z\nZ('a', 'b')\n",
        "module": "import connectors.koha as k\nk.KohaConnector('a', 'http://x')\n",
        "from_source": "from connectors import symphony\n"
                       "symphony.SymphonyConnector.from_source(s)\n",
        "zoom": "from connectors import zoom\nzoom.Connection({}).connect('h:1/D')\n",
        "zoom renamed": "from connectors.zoom import Connection as C\nC({})\n",
    }
    for what, text in sneaky.items():
        assert violations(text, "portal/x.py", classes), what
    assert violations(sneaky["zoom"], "connectors/z3950.py", classes) == []
    assert violations(sneaky["renamed"], BUILDER, classes) == []
    assert violations("def f(cls, s):\n    return cls(s)\n", "connectors/koha.py",
                      classes) == []


# -- the registry -----------------------------------------------------------------------------


def test_every_configurable_protocol_has_a_connector_built_from_its_source() -> None:
    assert set(CONNECTORS) == set(PROTOCOLS)
    for protocol in PROTOCOLS:
        cls = connector_class(protocol)
        assert cls is not None and callable(getattr(cls, "from_source", None)), protocol
    assert live_searchable("z3950") and live_searchable("sru")
    assert not any(live_searchable(p) for p in ("oaipmh", "symphony", "koha", "gopher"))
    assert connector_class("gopher") is None
    assert [status_by(p) for p in ("symphony", "koha", "z3950", "oaipmh", "gopher")] == \
        ["item", "bib", "bib", None, None]


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
    folder = tmp_path / "ztest"
    folder.mkdir()
    with running_ztest("-a", str(folder / "apdu"), "-l", str(folder / "ztest.log")) as address:
        for stale in folder.glob("apdu*"):  # the readiness probe's empty session
            stale.unlink()
        yield LoggedZtest(f"{address}/Default", folder)


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


async def test_item_status_sends_the_configured_login(env: None,
                                                      logged_ztest: LoggedZtest) -> None:
    config = make_config(logged_ztest.address)
    record = Record(source="county", source_id="11224466", library="L", title="ztest",
                    holdings=[Holding("L", barcode="1226176", status="借出")])
    service = AvailabilityService(config)
    try:
        (got,) = await service.check([record])
    finally:
        service.close()
    assert got.live and got.status == "available"  # the OPAC record, over its own session
    assert_logged_in(logged_ztest)
