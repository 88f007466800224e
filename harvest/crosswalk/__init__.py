"""Crosswalks: a decoded `Marc` → the canonical `Record`.

One normalization path for harvest and live search alike: `to_record` picks the crosswalk
by the record's flavour (config `format`, else its shape) and adds holdings through the
source's holdings maps (or the flavour's defaults in `holdings.DEFAULTS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from harvest.crosswalk import cnmarc, marc21
from harvest.crosswalk.holdings import extract_holdings
from harvest.marc import Marc
from harvest.model import Record
from tongjian.config import HoldingsMap


def to_record(marc: Marc, source: str, library: str, record_id: str = "",
              flavour: str = "auto", holdings: Sequence[HoldingsMap] = ()) -> Record:
    kind = flavour if flavour in ("marc21", "cnmarc") else marc.flavour
    crosswalk = cnmarc if kind == "cnmarc" else marc21
    rid = marc.control("001").strip() or record_id
    record = Record(source=source, source_id=rid, library=library, format=kind,
                    encoding=marc.encoding)
    crosswalk.fill(marc, record)
    record.holdings = extract_holdings(marc, kind, library, holdings)
    return record
