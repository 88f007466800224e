"""`tongjian demo`: a small consortium of real member systems on this machine.

Starts one real Zebra Z39.50/SRU server per demo source in config.yaml (on the loopback
port its address names), loads it with that library's records, harvests every one through
the Z39.50 connector exactly as a production harvest would, indexes, and serves the portal.
Everything started here is stopped on Ctrl-C.

The records come from the seeded generator (committed under tongjian/demo_data/) plus the
10 real CNMARC records of ../shared/data when that folder is present.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path

from harvest.pipeline import rebuild_index
from tongjian import commands
from tongjian.commands import harvest_one, open_backend, open_store, print_table
from tongjian.config import Config, ConfigError
from tongjian.zebra import RecordFile, ZebraServer

DEMO_DATA = Path(__file__).parent / "demo_data"

# source name → (Zebra flavour, record files with their charset).  A file named
# "shared:<path>" is read from ../shared/data (or $TONGJIAN_SHARED_DATA); a source whose
# data is absent is skipped.
DEMO_SOURCES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "sxpl-z3950": ("unimarc", (("SXPL.cnmarc.utf8.iso", "utf-8"),)),
    "sxpl-retro": ("unimarc", (("shared:derived/dp2_cnmarc_10recs.utf8.iso", "utf-8"),)),
    "xylib-z3950": ("unimarc", (("XYLIB.cnmarc.gb18030.iso", "gb18030"),)),
    "smlib-z3950": ("marc21", (("SMLIB.marc21.utf8.mrc", "utf-8"),)),
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


def _port(address: str, source: str) -> int:
    host_port = address.split("/", 1)[0].removeprefix("tcp:")
    host, _, port = host_port.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise ConfigError(f"demo source {source}: address {address!r} must be "
                          "127.0.0.1:PORT/Database — the demo only starts servers on loopback")
    return int(port)


def run_demo(config: Config, port: int | None = None, serve_portal: bool = True) -> int:
    workdir = config.resolve("var/demo")
    harvested = []
    with ExitStack() as stack:
        for source in config.sources:
            if source.name not in DEMO_SOURCES:
                continue
            flavour, entries = DEMO_SOURCES[source.name]
            files = _files(entries)
            if files is None:
                names = ", ".join(name for name, _ in entries)
                print(f"demo: {source.name}: data not found ({names}), skipped",
                      file=sys.stderr)
                continue
            server = ZebraServer(workdir / source.name, flavour, files,
                                 port=_port(source.address, source.name))
            stack.enter_context(server)
            print(f"demo: Zebra for {source.name} ({config.libraries[source.library].name}) "
                  f"on {server.address}", file=sys.stderr)
            harvested.append(source)
        if not harvested:
            print("demo: no demo data found — nothing to serve", file=sys.stderr)
            return 1
        with open_store(config) as store:
            stats = [harvest_one(s, store, full=True) for s in harvested]
            print_table(stats)
            backend = open_backend(config)
            try:
                n = rebuild_index(store, backend, config)
            finally:
                backend.close()
            print(f"index: {n} entries from {sum(s.seen for s in stats)} records")
        if any(s.errors for s in stats):
            return 1
        if serve_portal:
            return commands.serve(config, port=port)
    return 0
