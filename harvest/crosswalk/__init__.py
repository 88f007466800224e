"""Crosswalks: a decoded `Marc` → the canonical `Record`.

One normalization path for harvest and live search alike: `to_record` picks the crosswalk
by the record's flavour (config `format`, else its shape) and adds holdings through the
source's holdings maps (or the flavour's defaults in `holdings.DEFAULTS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from connectors.base import LiveItem, RawRecord
from core.cataloguing import Attribution
from core.config import HoldingsMap, Source
from core.model import Record
from harvest import record_syntaxes
from harvest.attribution import attribute, read_agencies
from harvest.crosswalk import cnmarc, marc21
from harvest.crosswalk.holdings import DEFAULTS as DEFAULT_HOLDINGS
from harvest.crosswalk.holdings import extract_holdings
from harvest.marc import Marc, RecordError
from harvest.readers import read_one

__all__ = ["DEFAULT_HOLDINGS", "from_raw", "to_record"]

# Record syntaxes that are not MARC → the crosswalk module with `to_record(raw, source)`.
NON_MARC = {
    "oai_dc": "harvest.crosswalk.dublin_core",
    "symphony": "harvest.crosswalk.symphony",
    "koha": "harvest.crosswalk.koha",
}


def from_raw(raw: RawRecord, source: Source) -> Record:
    """A raw record as a connector delivered it → Record; RecordError when unreadable."""
    module = NON_MARC.get(raw.syntax)
    if module:
        record: Record = importlib.import_module(module).to_record(raw, source)
        return record
    if raw.syntax == "sutrs":
        raise RecordError(record_syntaxes.sutrs_reason(source.name, raw))
    data = raw.data
    items: tuple[LiveItem, ...] = ()
    if raw.syntax == "opac":  # its bibliographic part; its copies when the MARC has none
        data, items = record_syntaxes.split_opac(raw.data)
    marc = read_one(data, raw.syntax, source.encoding, source.format)
    record = to_record(marc, source.name, source.library, raw.record_id or f"#{raw.position}",
                       source.format, source.holdings, source.attribution)
    if items and not record.holdings:
        record.holdings = record_syntaxes.holdings(items, source.library)
    if source.members:  # a union catalogue's items name their member library (852$a …)
        for holding in record.holdings:
            if local := source.member_library(holding.note):
                holding.library, holding.note = local, ""
    return record


def to_record(marc: Marc, source: str, library: str, record_id: str = "",
              flavour: str = "auto", holdings: Sequence[HoldingsMap] = (),
              attribution: Attribution | None = None) -> Record:
    """`attribution`: the source's rule for who catalogued the record (the default rule
    without an agency table when not given)."""
    kind = flavour if flavour in ("marc21", "cnmarc") else marc.flavour
    crosswalk = cnmarc if kind == "cnmarc" else marc21
    rid = marc.control("001").strip() or record_id
    record = Record(source=source, source_id=rid, library=library, format=kind,
                    encoding=marc.encoding)
    crosswalk.fill(marc, record)
    record.holdings = extract_holdings(marc, kind, library, holdings)
    rule = attribution or Attribution()
    attribute(record, read_agencies(marc, kind, rule), rule)
    return record
