"""Merged entries out: MARC 21, UNIMARC (CNMARC) and Dublin Core, for other systems.

The crosswalks in `harvest.crosswalk` read many systems' records into one model; this is
the way back, for the systems that search or harvest the union catalogue (SRU, OAI-PMH,
Z39.50 through Zebra).  An entry is written as its best record's description (the one the
portal shows) with every library's holdings: MARC 21 852 and CNMARC 906, one field per
holding row of `core.entry` (library code, location, call number, barcode), so a harvester
learns who holds the book — which is what a union catalogue is for.

The MARC is `harvest.marc_write`'s crosswalk (tables, shared with the portal's download of
one record) with this module's union policy; the records are MARCXML (slim) elements, and
ISO 2709 for Zebra comes from the same module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from core.config import Library
from core.entry import entry_holdings
from core.model import Record
from harvest import marc_write
from harvest.marc import Marc
from index.documents import best_record

MARC_NS = marc_write.MARC_NS
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass
class Entry:
    """One merged entry as exported: its id, its records, when it last changed."""

    id: str
    records: list[Record]
    changed: float


def _holding_rows(entry: Entry) -> list[dict[str, str]]:
    return [{"library": h.library, "location": h.location, "call_number": h.call_number,
             "barcode": h.barcode, "status": h.status, "note": h.note or h.online_url}
            for h in entry_holdings(entry.records)]


def entry_marc(entry: Entry, libraries: Mapping[str, Library], flavour: str) -> Marc:
    """The union policy: the best record's description under the entry's id and date, the
    ISBNs of every record when the best has none, every record's link, every holding."""
    best = best_record(entry.records, libraries)
    return marc_write.from_record(best, flavour, marc_write.Extras(
        id=entry.id, changed=entry.changed,
        isbn=best.isbn or sorted({i for r in entry.records for i in r.isbn}),
        urls=sorted({r.online_url for r in entry.records if r.online_url}),
        holdings=_holding_rows(entry)))


def marc21(entry: Entry, libraries: Mapping[str, Library]) -> etree._Element:
    """The entry as a MARC 21 bibliographic record (MARCXML) with an 852 per holding."""
    return marc_write.marcxml(entry_marc(entry, libraries, "marc21"))


def unimarc(entry: Entry, libraries: Mapping[str, Library]) -> etree._Element:
    """The entry as a UNIMARC/CNMARC record (MARCXML container) with a 906 per holding."""
    return marc_write.marcxml(entry_marc(entry, libraries, "unimarc"))


def dublin_core(entry: Entry, libraries: Mapping[str, Library]) -> etree._Element:
    """The entry as oai_dc: the description, ISBNs as URNs, the holding libraries named in
    dc:relation is not DC's job — holdings travel in MARC; DC carries the book."""
    best = best_record(entry.records, libraries)
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS,
                                                      "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation",
             f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")

    def add(name: str, value: str) -> None:
        if value:
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = marc_write.xml_safe(value)

    add("title", best.title)
    for author in best.authors:
        add("creator", author.name)
    for subject in [*best.subjects, *best.clc]:
        add("subject", subject)
    add("description", best.summary)
    add("publisher", best.publisher)
    add("date", str(best.year) if best.year else "")
    add("type", best.material_type or "text")
    add("format", "")
    for isbn in best.isbn:
        add("identifier", f"urn:isbn:{isbn}")
    for url in sorted({r.online_url for r in entry.records if r.online_url}):
        add("identifier", url)
    add("language", best.language)
    for place in best.places:
        add("coverage", place)
    return root


FORMATS = {"marc21": marc21, "unimarc": unimarc, "dc": dublin_core}
