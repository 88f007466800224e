"""What every export format is written from: one entry as its best record (the description
the record page shows), the source record's own MARC when it came as MARC, its holding
libraries with call numbers, and the entry's address on this portal."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from core.config import Config
from core.model import Record
from harvest.marc import Marc, RecordError
from harvest.readers import read_one
from harvest.store import RecordStore
from index.documents import best_record
from portal.records import holdings_rows

MAX_ITEMS = 200  # a marked list; more is a bulk export, which is the harvest's business
MARC_SYNTAXES = ("usmarc", "unimarc", "marcxml")  # raw formats read as MARC


@dataclass(frozen=True)
class Shelf:
    """One holding library of the entry: its name and the call numbers it shelves it under."""

    library: str
    name: str
    call_numbers: tuple[str, ...] = ()


@dataclass
class ExportItem:
    entry_id: str
    record: Record  # the best record: the entry's description
    url: str  # the record page, absolute
    shelves: list[Shelf] = field(default_factory=list)
    marc: Marc | None = None  # the best record's source MARC, when it was harvested as MARC
    first_seen: float = 0.0  # when the catalogue first had any of the entry's records
    updated: float = 0.0  # the latest change to any of them


def record_url(base: str, entry_id: str) -> str:
    return f"{base.rstrip('/')}/record/{quote(entry_id, safe='')}"


def source_marc(store: RecordStore, config: Config, record: Record) -> Marc | None:
    """The record's MARC as harvested, decoded as the harvest decoded it; None for Dublin
    Core, vendor JSON or a record whose bytes no longer read."""
    raw = store.raw(record.key)
    if raw is None or raw[1] not in MARC_SYNTAXES or not raw[0]:
        return None
    try:
        source = config.source(record.source)
        encoding, flavour = source.encoding, source.format
    except Exception:  # a source removed from config since: detect from the bytes
        encoding, flavour = "auto", "auto"
    try:
        return read_one(raw[0], raw[1], encoding, flavour)
    except RecordError:
        return None


def load_items(store: RecordStore, config: Config, entry_ids: list[str],
               base: str) -> list[ExportItem]:
    """The entries that still exist, in the order asked (blocking: the store)."""
    out = []
    for entry_id in list(dict.fromkeys(entry_ids))[:MAX_ITEMS]:
        records = store.cluster(entry_id)
        if not records:
            continue
        best = best_record(records, config.libraries)
        shelves: dict[str, Shelf] = {}
        for row in holdings_rows(records, config.libraries):
            had = shelves.get(row["library"])
            numbers = had.call_numbers if had else ()
            if row["call_number"] and row["call_number"] not in numbers:
                numbers = (*numbers, row["call_number"])
            shelves[row["library"]] = Shelf(row["library"], row["name"], numbers)
        seen, changed = store.entry_times(entry_id)
        out.append(ExportItem(entry_id, best, record_url(base, entry_id), list(shelves.values()),
                              source_marc(store, config, best), seen, changed))
    return out


__all__ = ["MAX_ITEMS", "ExportItem", "Shelf", "load_items", "record_url", "source_marc"]
