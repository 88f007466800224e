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

The crosswalk (canonical record → MARC) and the MARCXML/ISO 2709 writing are
`harvest.marc_write`'s, shared with the union catalogue's SRU/OAI-PMH/Z39.50 output; this
module holds only the download's policy: the flavour as catalogued, no items, the declared
encoding.
"""

from __future__ import annotations

from dataclasses import replace

from core.model import Record
from harvest import marc_write
from harvest.marc import Field, Marc
from portal.export.items import ExportItem

ENCODINGS = ("utf-8", "gb18030")
UNIMARC_CHARSET = {"utf-8": "50  ", "gb18030": "0120"}


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


def build(r: Record, kind: str) -> Marc:
    """A MARC record written from the canonical record (for sources that sent none): the
    shared crosswalk under the record's own id, with no holdings."""
    return marc_write.from_record(r, kind, marc_write.Extras(id=r.source_id))


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
    return b"".join(marc_write.iso2709(declare(to_marc(item), flavour(item), encoding),
                                       encoding) for item in items)


def marcxml(items: list[ExportItem]) -> bytes:
    """A MARCXML collection (UTF-8, as XML is)."""
    return marc_write.collection([declare(to_marc(item), flavour(item), "utf-8")
                                  for item in items])


__all__ = ["ENCODINGS", "build", "declare", "iso2709", "marcxml", "to_marc"]
