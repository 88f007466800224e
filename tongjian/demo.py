"""`tongjian demo`: a small consortium of real member systems on this machine.

Starts every demo member system of config.yaml on the loopback port its address names —
real Zebra Z39.50/SRU servers loaded with each library's records, the Symphony union
catalog and a Koha library (simulators of the vendors' APIs, from `peers/`), and a
local-documents OAI-PMH repository (pyoai's server) — harvests every one through its
connector exactly as a production harvest would (sources in mode `live` are left to be
searched at query time), indexes, and serves the portal.
Everything started here is stopped on Ctrl-C.

The records come from the seeded generator (committed under tongjian/demo_data/) plus the
10 real CNMARC records of ../shared/data when that folder is present.  The simulators'
credentials are made up at start and handed to the connectors through the environment
variables config.yaml names, exactly as a production secret would be.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

from core.config import Config, ConfigError, Source
from harvest.iso2709 import split_records
from harvest.store import open_store
from tongjian import commands
from tongjian.commands import harvest_one, print_table, rebuild_from_store
from tongjian.demo_cataloguing import SOURCE, cataloguing_round
from tongjian.generator.habits import Catalogued, union_catalogue
from tongjian.zebra import RecordFile, ZebraServer

DEMO_DATA = Path(__file__).parent / "demo_data"

# Zebra sources: source name → (Zebra flavour, record files with their charset).  A file
# named "shared:<path>" is read from ../shared/data (or $TONGJIAN_SHARED_DATA); a source
# whose data is absent is skipped.
ZEBRA_SOURCES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "sxpl-z3950": ("unimarc", (("SXPL.cnmarc.utf8.iso", "utf-8"),)),
    "sxpl-retro": ("unimarc", (("shared:derived/dp2_cnmarc_10recs.utf8.iso", "utf-8"),)),
    "xylib-z3950": ("unimarc", (("XYLIB.cnmarc.gb18030.iso", "gb18030"),)),
    "smlib-z3950": ("marc21", (("SMLIB.marc21.utf8.mrc", "utf-8"),)),
    "cwlib-live": ("unimarc", (("CWLIB.cnmarc.gb18030.iso", "gb18030"),)),
    # another system: a university library's MARC 21 catalogue, searched live over SRU
    "xjtu-sru": ("marc21", (("BJLIB.marc21.utf8.mrc", "utf-8"),)),
}


def shared_data() -> Path:
    env = os.environ.get("TONGJIAN_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _files(entries: tuple[tuple[str, str], ...]) -> list[RecordFile] | None:
    out = []
    for name, encoding in entries:
        path = shared_data() / name[7:] if name.startswith("shared:") else DEMO_DATA / name
        if not path.is_file():
            return None
        out.append(RecordFile(path, encoding))
    return out


def _iso_records(name: str) -> list[bytes]:
    return [chunk for _, chunk in split_records((DEMO_DATA / name).read_bytes())]


def _port(address: str, source: str) -> int:
    host_port = address.removeprefix("http://").split("/", 1)[0].removeprefix("tcp:")
    host, _, port = host_port.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise ConfigError(f"demo source {source}: address {address!r} must be on "
                          "127.0.0.1 with a port — the demo only starts servers on loopback")
    return int(port)


def _secret(source: Source, field: str) -> str:
    """Make up a credential for a simulator and publish it where the connector looks."""
    name = getattr(source.auth, f"{field}_env")
    value = os.environ.get(name) or secrets.token_urlsafe(12)
    os.environ[name] = value
    return value


def _zebra(source: Source, workdir: Path) -> AbstractContextManager[Any] | None:
    flavour, entries = ZEBRA_SOURCES[source.name]
    files = _files(entries)
    if files is None:
        return None
    return ZebraServer(workdir / source.name, flavour, files,  # type: ignore[arg-type]
                       port=_port(source.address, source.name))


# The union catalogue as its members catalogued it (`generator.habits`), kept for the
# cataloguing centre's round after the first harvest (`demo_cataloguing`).
UNION: dict[str, list[Catalogued]] = {}
RUNNING: dict[str, Any] = {}  # source name → its running server, while the demo runs


def _symphony(source: Source, workdir: Path) -> AbstractContextManager[Any]:
    from peers.symphony import SymphonySimulator

    user, password = _secret(source, "user"), _secret(source, "password")
    made = UNION[source.name] = union_catalogue(_iso_records("PROV.cnmarc.utf8.iso"))
    return SymphonySimulator([c.data for c in made],
                             port=_port(source.address, source.name),
                             client_id=source.auth.client_id or "TONGJIAN",
                             users={user: password},
                             webapp=source.address.rstrip("/").rsplit("/", 1)[-1],
                             holders=[c.holders for c in made])


def _koha(source: Source, workdir: Path) -> AbstractContextManager[Any]:
    from peers.koha import KohaSimulator

    client_id, secret = _secret(source, "client_id"), _secret(source, "client_secret")
    return KohaSimulator(_iso_records("BJLIB.marc21.utf8.mrc"),
                         port=_port(source.address, source.name), clients={client_id: secret},
                         libraries={"BJLIB": "宝鸡市图书馆"})


def _oai(source: Source, workdir: Path) -> AbstractContextManager[Any]:
    from peers.oai_repository import OAIRepository, local_documents

    return OAIRepository(local_documents(seed=1, n=60), port=_port(source.address, source.name),
                         page_size=10)


PEERS: dict[str, Callable[[Source, Path], AbstractContextManager[Any] | None]] = {
    **{name: _zebra for name in ZEBRA_SOURCES},
    "union-symphony": _symphony,
    "bjlib-koha": _koha,
    "sxpl-dfwx": _oai,
}


@contextmanager
def member_systems(config: Config) -> Iterator[list[Source]]:
    """Every demo member system of `config` running on loopback, stopped on exit; yields
    the sources started (a source whose data is absent is skipped, and says so)."""
    workdir = config.resolve("var/demo")
    started: list[Source] = []
    with ExitStack() as stack:
        for source in config.sources:
            make = PEERS.get(source.name)
            if make is None:
                continue
            server = make(source, workdir)
            if server is None:
                print(f"demo: {source.name}: its data is not here, skipped", file=sys.stderr)
                continue
            RUNNING[source.name] = stack.enter_context(server)
            stack.callback(RUNNING.pop, source.name, None)
            print(f"demo: {source.name} ({config.libraries[source.library].name}, "
                  f"{source.protocol}) at {source.address}", file=sys.stderr)
            started.append(source)
        yield started


def harvest_all(config: Config, started: list[Source]) -> bool:
    """Harvest every started source in mode `harvest` and build the index; True when
    every harvest went without errors."""
    with open_store(config) as store:
        stats = [harvest_one(s, store, full=True) for s in started if s.mode == "harvest"]
        print_table(stats)
        n = rebuild_from_store(config, store)
        print(f"index: {n} entries from {sum(s.seen for s in stats)} records")
    return not any(s.errors for s in stats)


def run_demo(config: Config, port: int | None = None, serve_portal: bool = True) -> int:
    with member_systems(config) as started:
        if not started:
            print("demo: no demo member system in config.yaml — nothing to serve",
                  file=sys.stderr)
            return 1
        if not harvest_all(config, started):
            return 1
        if SOURCE in RUNNING and SOURCE in UNION:  # the cataloguing centre's month
            with open_store(config) as store:
                cataloguing_round(config, store, RUNNING[SOURCE], UNION[SOURCE])
        if serve_portal:
            return commands.serve(config, port=port)
    return 0
