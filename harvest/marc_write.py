"""The way back to MARC: the canonical record as MARC 21 or UNIMARC (CNMARC), and any MARC
record as MARCXML (slim) or ISO 2709.

One crosswalk and one serialisation serve every consumer: the union catalogue served
onward (harvest.export: SRU, OAI-PMH, Z39.50 through Zebra) and the portal's download of
one record (portal.export.marc_out).  What differs between them is policy, passed in as
`Extras`: the union entry's id, date, every library's ISBNs, links and holdings; a single
record as catalogued gets its own id and nothing else.

The fields are the tables `MARC21` and `UNIMARC` below (data, not code): each row names a
tag, its indicators, which of the record's values it repeats over, and which value goes in
each subfield.  The fixed-length positions (leader/06-07, MARC 21 008, UNIMARC 100$a) are
the few lines of code that remain, because they are positions, not subfields.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from core.model import Record
from harvest.iso2709 import write as _write_iso2709
from harvest.marc import Field, Marc

MARC_NS = "http://www.loc.gov/MARC21/slim"

#: Leader/06-07 (type of record, bibliographic level) by `Record.material_type`.
LEADER_TYPES = {"book": "am", "serial": "as", "map": "em", "score": "cm", "sound": "jm",
                "video": "gm", "electronic": "mm", "manuscript": "tm", "visual": "km",
                "image": "km", "kit": "om", "mixed": "pc"}
#: Leaders with {type} for leader/06-07; leader/09 is set again by `declare` per encoding.
LEADERS = {"marc21": "00000n{type} a2200000 i 4500", "unimarc": "00000n{type}0 2200000   450 "}


@dataclass(frozen=True)
class Rule:
    """One row of a crosswalk: a field per value of `each` ("" = one field for the record),
    subfields as (code, key); a field with no non-empty subfield is not written.  An
    indicator "@authors" is "1" when the record has authors, else "0" (245 ind1)."""

    tag: str
    ind1: str
    ind2: str
    each: str
    subfields: tuple[tuple[str, str], ...]


#: MARC 21: RDA-style 264 (leader/18 'i'), 084 with $2 clc for 中图法, holdings in 852.
MARC21 = (
    Rule("020", " ", " ", "isbn", (("a", "value"),)),
    Rule("022", " ", " ", "issn", (("a", "value"),)),
    Rule("041", " ", " ", "", (("a", "language"),)),
    Rule("084", " ", " ", "clc", (("a", "value"), ("2", "=clc"))),
    Rule("100", "1", " ", "first_author", (("a", "name"), ("e", "role"))),
    Rule("245", "@authors", "0", "", (("a", "title"), ("n", "volume"),
                                      ("c", "responsibility"))),
    Rule("246", "3", "3", "title_alt", (("a", "value"),)),
    Rule("250", " ", " ", "", (("a", "edition"),)),
    Rule("264", " ", "1", "", (("a", "place"), ("b", "publisher"), ("c", "year"))),
    Rule("490", "0", " ", "series", (("a", "value"),)),
    Rule("520", " ", " ", "", (("a", "summary"),)),
    Rule("650", " ", "4", "subjects", (("a", "value"),)),
    Rule("700", "1", " ", "other_authors", (("a", "name"), ("e", "role"))),
    Rule("856", "4", "0", "urls", (("u", "value"),)),
)

#: UNIMARC/CNMARC: 690 for 中图法, 701 for the first author and 702 for the others.
UNIMARC = (
    Rule("010", " ", " ", "isbn", (("a", "value"),)),
    Rule("011", " ", " ", "issn", (("a", "value"),)),
    Rule("101", "0", " ", "", (("a", "language"),)),
    Rule("200", "1", " ", "", (("a", "title"), ("h", "volume"), ("f", "responsibility"))),
    Rule("205", " ", " ", "", (("a", "edition"),)),
    Rule("210", " ", " ", "", (("a", "place"), ("c", "publisher"), ("d", "year"))),
    Rule("225", "2", " ", "series", (("a", "value"),)),
    Rule("330", " ", " ", "", (("a", "summary"),)),
    Rule("517", "1", " ", "title_alt", (("a", "value"),)),
    Rule("606", "0", " ", "subjects", (("a", "value"),)),
    Rule("690", " ", " ", "clc", (("a", "value"),)),
    Rule("701", " ", "0", "first_author", (("a", "name"), ("4", "role"))),
    Rule("702", " ", "0", "other_authors", (("a", "name"), ("4", "role"))),
    Rule("856", "4", "0", "urls", (("u", "value"),)),
)

#: Where holdings go.  MARC 21 852: $a the holding library's code (MARC organization code
#: position), $b location, $h call number, $p barcode, $z note.  CNMARC 906 (the common
#: Chinese item field): $a barcode, $b location, $c call number, $s status, $f library code.
HOLDINGS = {
    "marc21": Rule("852", " ", " ", "holdings", (("a", "library"), ("b", "location"),
                                                 ("h", "call_number"), ("p", "barcode"),
                                                 ("z", "note"))),
    "unimarc": Rule("906", " ", " ", "holdings", (("f", "library"), ("a", "barcode"),
                                                  ("b", "location"), ("c", "call_number"),
                                                  ("s", "status"))),
}
CROSSWALKS = {"marc21": MARC21, "unimarc": UNIMARC}


@dataclass(frozen=True)
class Extras:
    """The caller's policy.  `changed` set: 003 Tongjian and 005 are written and dated
    008/100; `isbn`/`urls` None: the record's own; `holdings`: rows keyed as `HOLDINGS`."""

    id: str
    changed: float | None = None
    isbn: Sequence[str] | None = None
    urls: Sequence[str] | None = None
    holdings: Sequence[Mapping[str, str]] = field(default_factory=tuple)


def _values(r: Record, extras: Extras) -> tuple[dict[str, str], dict[str, list[dict[str, str]]]]:
    one = {"title": r.title, "volume": r.volume, "responsibility": r.responsibility,
           "edition": r.edition, "place": r.place, "publisher": r.publisher,
           "year": str(r.year) if r.year else "", "summary": r.summary,
           "language": r.language}
    authors = [{"name": a.name, "role": a.role} for a in r.authors]
    urls = extras.urls if extras.urls is not None else [u for u in [r.online_url] if u]
    lists = {"isbn": extras.isbn if extras.isbn is not None else r.isbn, "issn": r.issn,
             "clc": r.clc, "title_alt": r.title_alt, "series": r.series,
             "subjects": r.subjects, "urls": urls}
    many = {name: [{"value": v} for v in values] for name, values in lists.items()}
    many["first_author"], many["other_authors"] = authors[:1], authors[1:]
    many["holdings"] = [dict(row) for row in extras.holdings]
    return one, many


def _fields(rule: Rule, one: Mapping[str, str], many: Mapping[str, list[dict[str, str]]],
            has_authors: bool) -> list[Field]:
    ind1 = ("1" if has_authors else "0") if rule.ind1 == "@authors" else rule.ind1
    out = []
    for row in (many[rule.each] if rule.each else [one]):
        subs = [(code, key[1:] if key.startswith("=") else row.get(key, ""))
                for code, key in rule.subfields]
        if any(v for (_, k), (_, v) in zip(rule.subfields, subs, strict=True)
               if not k.startswith("=")):
            out.append(Field(rule.tag, ind1, rule.ind2, [(c, v) for c, v in subs if v]))
    return out


def _fixed(r: Record, kind: str, extras: Extras) -> list[Field]:
    """The control fields and UNIMARC 100: positions, not subfields."""
    year = f"{r.year:04d}" if r.year else "    "
    out = [Field("001", value=extras.id)]
    if extras.changed is not None:
        if kind == "marc21":
            out.append(Field("003", value="Tongjian"))
        out.append(Field("005", value=time.strftime("%Y%m%d%H%M%S.0",
                                                    time.gmtime(extras.changed))))
    if kind == "marc21":
        entered = ("      " if extras.changed is None
                   else time.strftime("%y%m%d", time.gmtime(extras.changed)))
        lang = (r.language or "und")[:3].ljust(3)
        out.append(Field("008", value=entered + "s" + year + "    " + "cc " + " " * 17
                         + lang + "  "))
    else:
        entered = ("        " if extras.changed is None
                   else time.strftime("%Y%m%d", time.gmtime(extras.changed)))
        out.append(Field("100", subfields=[("a", entered + "d" + year + "    "
                                            + "em y0chiy50      ea")]))
    return out


def from_record(r: Record, kind: str, extras: Extras) -> Marc:
    """The canonical record as MARC 21 (`kind` "marc21") or UNIMARC/CNMARC ("unimarc" or
    "cnmarc"), fields in tag order (repeated tags keep the order of the record's values)."""
    kind = "unimarc" if kind in ("unimarc", "cnmarc") else "marc21"
    one, many = _values(r, extras)
    fields = _fixed(r, kind, extras)
    for rule in (*CROSSWALKS[kind], HOLDINGS[kind]):
        fields += _fields(rule, one, many, bool(r.authors))
    fields.sort(key=lambda f: f.tag)  # stable
    leader = LEADERS[kind].format(type=LEADER_TYPES.get(r.material_type, "am"))
    return Marc(leader=leader, fields=fields, encoding="utf-8")


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (a harvested record may hold control bytes)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def marcxml(marc: Marc) -> etree._Element:
    """One MARCXML (slim) <record>; UNIMARC uses the same schema, as Koha's UNIMARC
    installations store and exchange it."""
    root = etree.Element(f"{{{MARC_NS}}}record", nsmap={None: MARC_NS})
    etree.SubElement(root, f"{{{MARC_NS}}}leader").text = xml_safe(marc.leader)
    for f in marc.fields:
        if f.value is not None:
            etree.SubElement(root, f"{{{MARC_NS}}}controlfield", tag=f.tag).text = \
                xml_safe(f.value)
            continue
        df = etree.SubElement(root, f"{{{MARC_NS}}}datafield", tag=f.tag,
                              ind1=(f.ind1 or " ")[:1], ind2=(f.ind2 or " ")[:1])
        for code, value in f.subfields:
            etree.SubElement(df, f"{{{MARC_NS}}}subfield", code=code).text = xml_safe(value)
    return root


def collection(records: Sequence[Marc]) -> bytes:
    """A MARCXML <collection> document (UTF-8, as XML is)."""
    root = etree.Element(f"{{{MARC_NS}}}collection", nsmap={None: MARC_NS})
    root.extend(marcxml(m) for m in records)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def iso2709(marc: Marc, encoding: str = "utf-8") -> bytes:
    """One ISO 2709 record, lengths counted in bytes of `encoding`."""
    fields: list[tuple[str, str, list[tuple[str, str]] | str]] = [
        (f.tag, "", f.value) if f.value is not None
        else (f.tag, (f.ind1 or " ")[:1] + (f.ind2 or " ")[:1], f.subfields)
        for f in marc.fields]
    return _write_iso2709(marc.leader.ljust(24)[:24], fields, encoding)


__all__ = ["CROSSWALKS", "HOLDINGS", "MARC21", "MARC_NS", "UNIMARC", "Extras", "Rule",
           "collection", "from_record", "iso2709", "marcxml", "xml_safe"]
