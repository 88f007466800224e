"""Merged entries out: MARC 21, UNIMARC (CNMARC) and Dublin Core, for other systems.

The crosswalks in `harvest.crosswalk` read many systems' records into one model; this is
the way back, for the systems that search or harvest the union catalogue (SRU, OAI-PMH,
Z39.50 through Zebra).  An entry is written as its best record's description (the one the
portal shows) with every library's holdings: MARC 21 852 and CNMARC 906, one field per
holding row of `core.entry` (library code, location, call number, barcode), so a harvester
learns who holds the book — which is what a union catalogue is for.

Tags and subfields are tables below, not code; the records are built as MARCXML (slim)
elements, which YAZ turns into ISO 2709 where a binary record is needed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from core.config import Library
from core.entry import entry_holdings
from core.model import Record
from index.documents import best_record

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: Where holdings go.  MARC 21 852: $a the holding library's code (MARC organization code
#: position), $b location, $h call number, $p barcode, $z note.  CNMARC 906 (the common
#: Chinese item field): $a barcode, $b location, $c call number, $s status, $f library code.
HOLDING_SUBFIELDS = {
    "marc21": ("852", (("a", "library"), ("b", "location"), ("h", "call_number"),
                       ("p", "barcode"), ("z", "note"))),
    "unimarc": ("906", (("f", "library"), ("a", "barcode"), ("b", "location"),
                        ("c", "call_number"), ("s", "status"))),
}


@dataclass
class Entry:
    """One merged entry as exported: its id, its records, when it last changed."""

    id: str
    records: list[Record]
    changed: float


def _subfields(parent: etree._Element, pairs: Sequence[tuple[str, str]]) -> None:
    for code, value in pairs:
        if value:
            sub = etree.SubElement(parent, f"{{{MARC_NS}}}subfield", code=code)
            sub.text = _xml_safe(value)


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (a harvested record may hold control bytes)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


class _Builder:
    def __init__(self, leader: str) -> None:
        self.root = etree.Element(f"{{{MARC_NS}}}record", nsmap={None: MARC_NS})
        etree.SubElement(self.root, f"{{{MARC_NS}}}leader").text = leader

    def control(self, tag: str, value: str) -> None:
        if value:
            etree.SubElement(self.root, f"{{{MARC_NS}}}controlfield", tag=tag).text = \
                _xml_safe(value)

    def data(self, tag: str, pairs: Sequence[tuple[str, str]], ind1: str = " ",
             ind2: str = " ") -> None:
        if not any(v for _, v in pairs):
            return
        field = etree.SubElement(self.root, f"{{{MARC_NS}}}datafield", tag=tag,
                                 ind1=ind1, ind2=ind2)
        _subfields(field, pairs)


def _holding_rows(entry: Entry) -> list[dict[str, str]]:
    return [{"library": h.library, "location": h.location, "call_number": h.call_number,
             "barcode": h.barcode, "status": h.status, "note": h.note or h.online_url}
            for h in entry_holdings(entry.records)]


def _stamp(ts: float) -> str:
    return time.strftime("%Y%m%d%H%M%S.0", time.gmtime(ts))


def marc21(entry: Entry, libraries: Mapping[str, Library]) -> etree._Element:
    """The entry as a MARC 21 bibliographic record (MARCXML) with an 852 per holding."""
    best = best_record(entry.records, libraries)
    b = _Builder("00000nam a2200000 a 4500")
    b.control("001", entry.id)
    b.control("003", "Tongjian")
    b.control("005", _stamp(entry.changed))
    year = f"{best.year:04d}" if best.year else "    "
    lang = (best.language or "und")[:3].ljust(3)
    b.control("008", time.strftime("%y%m%d", time.gmtime(entry.changed)) + "s" + year
              + "    " + "cc " + " " * 17 + lang + "  ")
    for isbn in best.isbn or sorted({i for r in entry.records for i in r.isbn}):
        b.data("020", [("a", isbn)])
    for issn in best.issn:
        b.data("022", [("a", issn)])
    for clc in best.clc:
        b.data("084", [("a", clc), ("2", "clc")])
    authors = best.authors
    if authors:
        b.data("100", [("a", authors[0].name), ("e", authors[0].role)], "1")
    b.data("245", [("a", best.title), ("n", best.volume), ("c", best.responsibility)],
           "1" if authors else "0", "0")
    for alt in best.title_alt:
        b.data("246", [("a", alt)], "3", "3")
    b.data("250", [("a", best.edition)])
    b.data("260", [("a", best.place), ("b", best.publisher),
                   ("c", str(best.year) if best.year else "")])
    for series in best.series:
        b.data("490", [("a", series)], "0")
    b.data("520", [("a", best.summary)])
    for subject in best.subjects:
        b.data("650", [("a", subject)], " ", "4")
    for author in authors[1:]:
        b.data("700", [("a", author.name), ("e", author.role)], "1")
    for url in sorted({r.online_url for r in entry.records if r.online_url}):
        b.data("856", [("u", url)], "4", "0")
    _holdings(b, "marc21", entry)
    return b.root


def unimarc(entry: Entry, libraries: Mapping[str, Library]) -> etree._Element:
    """The entry as a UNIMARC/CNMARC record (MARCXML container) with a 906 per holding."""
    best = best_record(entry.records, libraries)
    b = _Builder("00000nam0 2200000   450 ")
    b.control("001", entry.id)
    b.control("005", _stamp(entry.changed))
    for isbn in best.isbn or sorted({i for r in entry.records for i in r.isbn}):
        b.data("010", [("a", isbn)])
    for issn in best.issn:
        b.data("011", [("a", issn)])
    year = f"{best.year:04d}" if best.year else "    "
    b.data("100", [("a", time.strftime("%Y%m%d", time.gmtime(entry.changed)) + "d" + year
                    + "    " + "em y0chiy50      ea")])
    b.data("101", [("a", best.language)], "0")
    b.data("200", [("a", best.title), ("h", best.volume), ("f", best.responsibility)], "1")
    b.data("205", [("a", best.edition)])
    b.data("210", [("a", best.place), ("c", best.publisher),
                   ("d", str(best.year) if best.year else "")])
    for series in best.series:
        b.data("225", [("a", series)], "2")
    b.data("330", [("a", best.summary)])
    for alt in best.title_alt:
        b.data("517", [("a", alt)], "1")
    for subject in best.subjects:
        b.data("606", [("a", subject)], "0")
    for clc in best.clc:
        b.data("690", [("a", clc)])
    for i, author in enumerate(best.authors):
        b.data("701" if i == 0 else "702", [("a", author.name), ("4", author.role)], " ", "0")
    for url in sorted({r.online_url for r in entry.records if r.online_url}):
        b.data("856", [("u", url)], "4")
    _holdings(b, "unimarc", entry)
    return b.root


def _holdings(b: _Builder, flavour: str, entry: Entry) -> None:
    tag, codes = HOLDING_SUBFIELDS[flavour]
    for row in _holding_rows(entry):
        b.data(tag, [(code, row[name]) for code, name in codes])


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
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = _xml_safe(value)

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
