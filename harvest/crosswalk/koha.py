"""Koha REST envelope (``connectors.koha``) → Record.

The bibliographic part is ordinary MARC — MARC 21 on most Koha installs, UNIMARC on some
(Chinese and French ones among them) — so it goes through the same crosswalk as every other
MARC record, with the source's ``format`` deciding the flavour.  Two things differ:

* The record id is Koha's ``biblio_id`` (biblionumber), never 001: deletion notices name
  records by biblio_id, and 001 in a Koha catalogue is often another agency's control
  number (copy cataloguing), so it is neither stable nor unique.
* Holdings come from the item objects when there are any — they are the live item table,
  with circulation state the MARC never has (Koha's API serves MARC without 952s).  Only a
  record without items falls back to holdings fields in the MARC (952/852 …).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from connectors.base import RawRecord
from connectors.koha import status_summary
from core.config import Source
from core.model import Holding, Record
from harvest.crosswalk import to_record as marc_to_record
from harvest.crosswalk.common import load_json
from harvest.marc import Field, Marc, RecordError, decode_marcxml, parse_xml

# Holding attribute → item attribute (definitions/item.yaml), kept raw: codes such as the
# shelving location stay Koha's authorised values until a vocabulary mapping exists.
ITEM_TO_HOLDING: dict[str, str] = {
    "location": "location",
    "call_number": "callnumber",
    "barcode": "external_id",
}


def to_record(raw: RawRecord, source: Source) -> Record:
    """One envelope → Record; RecordError names what is wrong with it."""
    envelope = _envelope(raw.data)
    biblio_id = str(envelope["biblio_id"])
    marc = _marc(envelope)
    record = marc_to_record(marc, source.name, source.library, biblio_id, source.format,
                            source.holdings, source.attribution)
    record.source_id = biblio_id
    items = envelope.get("items") or []
    if not isinstance(items, list):
        raise RecordError(f"biblio {biblio_id}: 'items' is not a list")
    holdings = [item_holding(i, source) for i in items if isinstance(i, Mapping)]
    if holdings:
        record.holdings = holdings
    return record


def item_holding(item: Mapping[str, Any], source: Source) -> Holding:
    """One Koha item → one Holding.  A shared Koha (several branches) maps its branch codes
    through the source's ``members``; the branch code itself goes into the note."""
    home = str(item.get("home_library_id") or "")
    def value(attr: str) -> str:
        return str(item.get(ITEM_TO_HOLDING[attr]) or "").strip()

    return Holding(library=(source.member_library(home) if home else "") or source.library,
                   location=value("location"), call_number=value("call_number"),
                   barcode=value("barcode"), status=status_summary(item), note=home)


def marc_of_envelope(data: bytes) -> Marc:
    """The MARC of a stored Koha envelope (the quality scan's field checks read it)."""
    return _marc(_envelope(data))


def _envelope(data: bytes) -> dict[str, Any]:
    envelope = load_json(data, "Koha envelope")
    if not isinstance(envelope, dict):
        raise RecordError("Koha envelope is not a JSON object")
    if not isinstance(envelope.get("biblio_id"), int | str) or envelope["biblio_id"] == "":
        raise RecordError("Koha envelope has no biblio_id")
    if "marcxml" not in envelope and "marc_in_json" not in envelope:
        raise RecordError(f"biblio {envelope['biblio_id']}: envelope has neither 'marcxml' "
                          "nor 'marc_in_json'")
    return envelope


def _marc(envelope: Mapping[str, Any]) -> Marc:
    biblio_id = envelope["biblio_id"]
    if "marcxml" in envelope:
        text = envelope["marcxml"]
        if not isinstance(text, str):
            raise RecordError(f"biblio {biblio_id}: 'marcxml' is not a string")
        # surrogatepass: a lone surrogate from a JSON \ud800 escape makes invalid UTF-8,
        # which the XML parser refuses (a RecordError), instead of UnicodeEncodeError here
        elements = _records(text.encode("utf-8", "surrogatepass"), biblio_id)
        if len(elements) != 1:
            raise RecordError(f"biblio {biblio_id}: expected one MARCXML <record>, found "
                              f"{len(elements)}")
        return decode_marcxml(elements[0])
    return _from_mij(envelope["marc_in_json"], biblio_id)


def _records(data: bytes, biblio_id: Any) -> list[ET.Element]:
    """The <record>s of Koha's MARCXML (one, MARC21slim namespace even for UNIMARC); an
    unreadable document (malformed, an encoding expat cannot read) is a RecordError."""
    root = parse_xml(data, f"biblio {biblio_id}")
    return [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "record"
            and any(c.tag.rsplit("}", 1)[-1] == "leader" for c in el)]


def _from_mij(mij: Any, biblio_id: Any) -> Marc:
    """MARC-in-JSON (what MARC::Record::MiJ writes): {"leader", "fields": [{tag: value}]}."""
    if not isinstance(mij, dict) or not isinstance(mij.get("fields"), list):
        raise RecordError(f"biblio {biblio_id}: MARC-in-JSON has no 'fields' list")
    fields: list[Field] = []
    for entry in mij["fields"]:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise RecordError(f"biblio {biblio_id}: MARC-in-JSON field {entry!r} is not "
                              "{tag: value}")
        (tag, value), = entry.items()
        if isinstance(value, str):
            fields.append(Field(tag, value=value))
        elif isinstance(value, dict) and isinstance(value.get("subfields"), list):
            subs = [(code, str(text)) for sub in value["subfields"] if isinstance(sub, dict)
                    for code, text in sub.items()]
            fields.append(Field(tag, (str(value.get("ind1") or " "))[:1],
                                (str(value.get("ind2") or " "))[:1], subs))
        else:
            raise RecordError(f"biblio {biblio_id}: MARC-in-JSON field {tag} is malformed")
    if not fields:
        raise RecordError(f"biblio {biblio_id}: MARC-in-JSON record has no fields")
    leader = str(mij.get("leader") or "")
    return Marc(leader=leader.ljust(24)[:24], fields=fields, encoding="utf-8")
