"""MARC for other library systems: ISO 2709 (UTF-8, or GB18030 for Chinese systems that
still expect it) and MARCXML.

What a receiving system needs, and so what this does:

* **Its own flavour.** A record catalogued in CNMARC goes out as UNIMARC (CNMARC is a
  UNIMARC profile), MARC 21 as MARC 21 — never crosswalked, which would lose what the
  cataloguer wrote.  A record harvested as MARC goes out as harvested (decoded the way the
  harvest decoded it); one that came as Dublin Core or vendor JSON is written from the
  canonical record in the flavour its source declares.
* **An honest encoding declaration.** MARC 21 leader/09 'a' for UTF-8 (blank for GB18030,
  which MARC 21 has no code for); UNIMARC 100$a/26-29 "50  " (ISO 10646) for UTF-8, and
  "0120" for GB18030, what dp2 and CALIS-era systems write on a non-Unicode export.  Lengths
  in the leader and directory are counted in bytes of the encoding written.
* **No other library's items.** Holdings and item fields (852, 876–878, every 9XX: 905/906,
  949, 952, 999 …, and a system's non-numeric local tags such as Aleph's AVA/OWN) are the
  source library's shelves: a system importing them would create items it does not own,
  so they are left out; 035 names where the record came from.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from core.model import Record
from harvest.iso2709 import write as write_iso2709
from harvest.marc import Field, Marc
from portal.export.items import ExportItem

ENCODINGS = ("utf-8", "gb18030")
MARCXML_NS = "http://www.loc.gov/MARC21/slim"
UNIMARC_CHARSET = {"utf-8": "50  ", "gb18030": "0120"}
_MARC21_TYPES = {"book": "am", "serial": "as", "map": "em", "score": "cm", "sound": "jm",
                 "video": "gm", "electronic": "mm", "manuscript": "tm", "visual": "km",
                 "image": "km", "kit": "om", "mixed": "pc"}


def is_holdings_tag(tag: str) -> bool:
    """Items and the source system's own local fields (Aleph's AVA/OWN are not numeric)."""
    return (tag == "852" or tag in ("876", "877", "878") or tag.startswith("9")
            or not tag.isdigit())


def flavour(item: ExportItem) -> str:
    if item.marc is not None:
        return "cnmarc" if item.marc.flavour == "cnmarc" else "marc21"
    return "cnmarc" if item.record.format in ("cnmarc", "unimarc") else "marc21"


def to_marc(item: ExportItem) -> Marc:
    """The record to send: the source's MARC without its items, with its provenance."""
    kind = flavour(item)
    base = item.marc if item.marc is not None else build(item.record, kind)
    fields = [f for f in base.fields if not is_holdings_tag(f.tag)]
    provenance = f"({item.record.source}){item.record.source_id}"
    if not any(f.tag == "035" and f.get("a") == provenance for f in fields):
        at = next((i for i, f in enumerate(fields) if f.tag > "035"), len(fields))
        fields.insert(at, Field("035", " ", " ", [("a", provenance)]))
    return Marc(leader=base.leader.ljust(24)[:24], fields=fields, encoding=base.encoding)


def _sub(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return [(c, v) for c, v in pairs if v]


def build(r: Record, kind: str) -> Marc:
    """A MARC record written from the canonical record (for sources that sent none)."""
    type67 = _MARC21_TYPES.get(r.material_type, "am")
    year = str(r.year or "")
    out: list[Field] = [Field("001", value=r.source_id)]
    if kind == "cnmarc":
        leader = f"00000n{type67}0 2200000   450 "
        out += [Field("010", " ", " ", [("a", i)]) for i in r.isbn]
        lang = (r.language or "chi")[:3].ljust(3)
        out.append(Field("100", " ", " ", [("a", f"{'':8}d{year:<4}{'':4}em y0{lang}y50{'':6}ea")]))
        out.append(Field("101", "0", " ", _sub(("a", r.language))))
        out.append(Field("200", "1", " ", _sub(("a", r.title), ("h", r.volume),
                                                ("f", r.responsibility))))
        out.append(Field("205", " ", " ", _sub(("a", r.edition))))
        out.append(Field("210", " ", " ", _sub(("a", r.place), ("c", r.publisher), ("d", year))))
        out += [Field("225", "2", " ", [("a", s)]) for s in r.series]
        out.append(Field("330", " ", " ", _sub(("a", r.summary))))
        out += [Field("606", "0", " ", [("a", s)]) for s in r.subjects]
        out += [Field("690", " ", " ", [("a", c)]) for c in r.clc]
        out += [Field("701" if i == 0 else "702", " ", "0", _sub(("a", a.name), ("4", a.role)))
                for i, a in enumerate(r.authors)]
    else:
        leader = f"00000n{type67} a2200000 i 4500"
        out += [Field("020", " ", " ", [("a", i)]) for i in r.isbn]
        out.append(Field("041", " ", " ", _sub(("a", r.language))))
        out += [Field("100" if i == 0 else "700", "1", " ", _sub(("a", a.name), ("e", a.role)))
                for i, a in enumerate(r.authors)]
        out.append(Field("245", "1" if r.authors else "0", "0",
                         _sub(("a", r.title), ("n", r.volume), ("c", r.responsibility))))
        out.append(Field("250", " ", " ", _sub(("a", r.edition))))
        out.append(Field("264", " ", "1", _sub(("a", r.place), ("b", r.publisher), ("c", year))))
        out += [Field("490", "0", " ", [("a", s)]) for s in r.series]
        out.append(Field("520", " ", " ", _sub(("a", r.summary))))
        out += [Field("650", " ", "4", [("a", s)]) for s in r.subjects]
    if r.online_url:
        out.append(Field("856", "4", "0", [("u", r.online_url)]))
    fields = [f for f in out if f.value or f.subfields]
    fields.sort(key=lambda f: f.tag)  # stable: repeated tags keep their order
    return Marc(leader=leader, fields=fields, encoding="utf-8")


def declare(marc: Marc, kind: str, encoding: str) -> Marc:
    """The record with its character set declared for `encoding`."""
    if kind == "marc21":
        return replace(marc, leader=marc.leader[:9] + ("a" if encoding == "utf-8" else " ")
                       + marc.leader[10:])
    fields = list(marc.fields)
    code = UNIMARC_CHARSET[encoding]
    for i, f in enumerate(fields):
        if f.tag == "100" and f.value is None:
            a = f.get("a").ljust(36)
            subs = [(c, a[:26] + code + a[30:] if c == "a" else v) for c, v in f.subfields]
            fields[i] = replace(f, subfields=subs if f.get("a") else [("a", a[:26] + code +
                                                                         a[30:]), *subs])
            break
    else:
        fields.append(Field("100", " ", " ", [("a", f"{'':26}{code}{'':4}ea")]))
        fields.sort(key=lambda f: f.tag)
    return replace(marc, fields=fields)


def iso2709(items: list[ExportItem], encoding: str = "utf-8") -> bytes:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
    out = bytearray()
    for item in items:
        marc = declare(to_marc(item), flavour(item), encoding)
        fields: list[tuple[str, str, list[tuple[str, str]] | str]] = [
            (f.tag, "", f.value) if f.value is not None
            else (f.tag, (f.ind1 or " ")[:1] + (f.ind2 or " ")[:1], f.subfields)
            for f in marc.fields]
        out += write_iso2709(marc.leader, fields, encoding)
    return bytes(out)


def marcxml(items: list[ExportItem]) -> bytes:
    """A MARCXML collection (UTF-8, as XML is).  UNIMARC records use the same slim schema,
    as Koha's UNIMARC installations store and exchange them."""
    ET.register_namespace("marc", MARCXML_NS)
    collection = ET.Element(f"{{{MARCXML_NS}}}collection")
    for item in items:
        marc = declare(to_marc(item), flavour(item), "utf-8")
        rec = ET.SubElement(collection, f"{{{MARCXML_NS}}}record")
        ET.SubElement(rec, f"{{{MARCXML_NS}}}leader").text = marc.leader
        for f in marc.fields:
            if f.value is not None:
                ET.SubElement(rec, f"{{{MARCXML_NS}}}controlfield",
                              attrib={"tag": f.tag}).text = f.value
                continue
            df = ET.SubElement(rec, f"{{{MARCXML_NS}}}datafield",
                               attrib={"tag": f.tag, "ind1": (f.ind1 or " ")[:1],
                                       "ind2": (f.ind2 or " ")[:1]})
            for code, value in f.subfields:
                ET.SubElement(df, f"{{{MARCXML_NS}}}subfield", code=code).text = value
    return bytes(ET.tostring(collection, encoding="utf-8", xml_declaration=True))


__all__ = ["ENCODINGS", "build", "declare", "iso2709", "marcxml", "to_marc"]
