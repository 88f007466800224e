"""`tongjian zserver`: the merged catalogue over Z39.50, served by Zebra.

Systems that speak only Z39.50 (older university and national union catalogues, ILL
clients) need a real Z39.50 server; YAZ's generic front-end server is C only, so the
server is Zebra (`tongjian.zebra`), which Tongjian keeps in step with the merged
catalogue: every entry is exported (`harvest.export`: MARC 21 with an 852 per holding,
or UNIMARC/CNMARC with a 906 per holding), written as ISO 2709 (`harvest.marc_write`),
indexed into a fresh Zebra register, and served.  When the entry lineage shows a change
after the export, the next register is built beside the running one and replaces it —
the server is down only for the moment between stopping the old zebrasrv and the new one
listening.

What it serves: Bib-1 use attributes 4 title, 1003 author, 7 ISBN, 21 subject,
20 local classification (CLC), 1016 any, 12 local number (the entry id), with Zebra's ICU
analysis of Chinese (tongjian/zebra_conf); record syntaxes USMARC and OPAC (marc21
flavour: YAZ's front end makes the OPAC holdings from the 852s through
tongjian-marcxml2opac.xsl) or UNIMARC and USMARC (unimarc flavour), XML (MARCXML); SRU on
the same port.  What it
cannot do is in the README ("Offer the union catalogue to other systems").
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from core.config import Config
from harvest import export, marc_write
from harvest.store import RecordStore
from tongjian.zebra import Flavour, RecordFile, ZebraError, ZebraServer

log = logging.getLogger(__name__)

DATABASE = "tongjian"


def export_catalogue(store: RecordStore, config: Config, flavour: Flavour,
                     folder: Path) -> tuple[Path, int]:
    """Every merged entry as one ISO 2709 file (UTF-8) in `folder`: (path, entries).

    An entry too large for ISO 2709 (99,999 bytes: hundreds of holdings) is left out of
    Zebra with a warning naming it; SRU and OAI-PMH still serve it as MARCXML."""
    folder.mkdir(parents=True, exist_ok=True)
    marc_path = folder / "catalogue.mrc"
    count = 0
    with open(marc_path, "wb") as target:
        for entry_id, records in store.clusters():
            row = store.lineage(entry_id)
            marc = export.entry_marc(export.Entry(entry_id, records, row.changed if row else 0.0),
                                     config.libraries, flavour)
            try:
                target.write(marc_write.iso2709(marc, "utf-8"))
            except ValueError as exc:
                log.warning("Z39.50 export: entry %s left out of Zebra: %s; it is still "
                            "served over SRU and OAI-PMH", entry_id, exc)
                continue
            count += 1
    return marc_path, count


class CatalogueServer:
    """Zebra serving the merged catalogue, rebuilt when the catalogue changes."""

    def __init__(self, store: RecordStore, config: Config, workdir: Path,
                 flavour: Flavour = "marc21", port: int = 0, host: str = "127.0.0.1") -> None:
        self.store, self.config, self.workdir = store, config, workdir
        self.flavour, self.port, self.host = flavour, port, host
        self.server: ZebraServer | None = None
        self.exported_at: float | None = None  # the lineage's newest change then
        self.entries = 0
        self._generation = 0

    def _latest(self) -> float:
        span = self.store.lineage_span()
        return span[1] if span else 0.0

    def _build(self) -> ZebraServer:
        self._generation += 1
        folder = self.workdir / f"register-{self._generation}"
        if folder.exists():
            shutil.rmtree(folder)
        latest = self._latest()
        path, self.entries = export_catalogue(self.store, self.config, self.flavour, folder)
        port = self.server.port if self.server else self.port
        server = ZebraServer(folder, self.flavour, [RecordFile(path)], port=port,
                             database=DATABASE, host=self.host, opac_from_852=True)
        server.prepare()
        self.exported_at = latest
        return server

    def start(self) -> ZebraServer:
        server = self._build()
        server.serve()
        self.server = server
        log.info("Z39.50: %d entries on %s", self.entries, server.address)
        return server

    def refresh(self) -> bool:
        """Rebuild and swap when the catalogue changed since the export; True if so."""
        if self.server is None or self._latest() == self.exported_at:
            return False
        old = self.server
        new = self._build()
        old.stop()
        new.serve()
        self.server = new
        shutil.rmtree(old.workdir, ignore_errors=True)
        log.info("Z39.50: catalogue changed, %d entries now served", self.entries)
        return True

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def zserver(config: Config, flavour: Flavour, host: str | None, port: int | None,
            refresh: float) -> int:
    """`tongjian zserver`: serve until interrupted; 2 when the endpoint is turned off."""
    import sys

    from harvest.store import open_store

    endpoint = config.offer.z3950
    if not endpoint.enabled:
        print(f"zserver: Z39.50 is turned off — set offer.z3950.enabled: true in "
              f"{config.path}", file=sys.stderr)
        return 2
    store = open_store(config)
    server = CatalogueServer(store, config, config.resolve("var/zserver"), flavour,
                             port if port is not None else endpoint.port,
                             host or "127.0.0.1")
    try:
        server.start()
        assert server.server is not None
        print(f"Z39.50 (and SRU) on {server.host}:{server.server.port}/{DATABASE}: "
              f"{server.entries} entries as {flavour}; re-exported when the catalogue "
              f"changes (checked every {refresh:g} s). Ctrl-C stops.")
        _loop(server, refresh)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        store.close()
    return 0


def _loop(server: CatalogueServer, interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            server.refresh()
        except ZebraError:
            log.exception("Z39.50: rebuilding the register failed; the old one stays in "
                          "service")
