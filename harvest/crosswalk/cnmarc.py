"""CNMARC / UNIMARC → Record.

Field meanings follow ../shared/notes/cnmarc.md (dp2's marcdef, NLC practice, real BNU
records).  Pinyin comes in two conventions — `$9` (NLC, dp2) or uppercase twins `$A`,
`$F` (other exports) — and both are read.  CNMARC role words (著, 主编, 译) are kept as
written; UNIMARC numeric relator codes are turned into the same words.
"""

from __future__ import annotations

from core.model import Author, Record
from harvest.crosswalk.common import (
    add_clc,
    add_isbns,
    add_unique,
    material_type,
    tidied,
    tidy,
    year,
)
from harvest.marc import Field, Marc

# UNIMARC relator codes (Appendix C) → the role words CNMARC cataloguers write.
RELATORS = {
    "070": "著", "340": "编", "651": "主编", "730": "译", "440": "绘", "100": "原著",
    "205": "撰稿", "220": "编纂", "080": "序", "075": "后记", "557": "整理",
}

# 7XX tag → default role when $4 is absent (700 main entry, 701/711 alternative, 702 secondary).
AUTHOR_TAGS = ("700", "701", "702", "710", "711", "712")
SUBJECT_TAGS = ("600", "601", "606", "607", "610")
# Every tag `fill` reads — `tongjian source test` flags the others as not mapped.
MAPPED_TAGS = frozenset({
    "010", "011", "101", "200", "205", "210", "214", "225", "330", "331", "500", "510", "512",
    "513", "514", "515", "516", "517", "540", "690", *AUTHOR_TAGS, *SUBJECT_TAGS,
    "102", "105", "106", "215", "300", "320",  # read by people, not needed for search
})


def _pinyin(f: Field, code: str) -> str:
    return f.get(code.upper()) or f.get("9")


def _author(f: Field) -> Author | None:
    name = tidy(f.get("a"))
    if not name:
        return None
    rest = tidy(f.get("b"))
    if rest:
        # Inverted western names: 斯迈尔斯, 塞缪尔 → keep the order the cataloguer chose.
        name = f"{name}, {rest}" if f.ind2 == "1" else f"{name}{rest}"
    role = tidy(f.get("4"))
    role = RELATORS.get(role, role)
    return Author(name=name, role=role, pinyin=tidy(_pinyin(f, "a")))


def fill(marc: Marc, r: Record) -> None:
    for f in marc.get("200")[:1]:
        titles = tidied(f.all("a"))
        r.title = "；".join(titles) if titles else ""
        r.title_pinyin = tidy(f.get("A") or f.get("9"))
        add_unique(r.title_alt, *f.all("d", "e"))
        r.volume = " ".join(p for p in (tidy(f.get("h")), tidy(f.get("i"))) if p)
        r.responsibility = "；".join(tidied(f.all("f", "g")))
    for f in marc.get("500", "510", "512", "513", "514", "515", "516", "517", "540"):
        add_unique(r.title_alt, f.get("a"))
    for f in marc.get("205")[:1]:
        r.edition = tidy(f.get("a"))
    for f in marc.get("210", "214")[:1]:
        r.place = tidy(f.get("a"))
        r.publisher = tidy(f.get("c"))
        r.year = year(f.get("d"))
    if r.year is None:
        r.year = year(marc.first("100", "a")[9:13])
    add_isbns(r, [f.get("a") for f in marc.get("010") if f.get("a")],
              [z for f in marc.get("010") for z in f.all("z")])
    for f in marc.get("011"):
        add_unique(r.issn, f.get("a"))
    add_clc(r, [a for f in marc.get("690") for a in f.all("a")])
    for f in marc.get(*AUTHOR_TAGS):
        a = _author(f)
        if a and all(a.name != b.name for b in r.authors):
            r.authors.append(a)
    for f in marc.get(*SUBJECT_TAGS):
        heading = "--".join(tidied(v for c, v in f.subfields if c in "axyzj"))
        add_unique(r.subjects, heading)
    r.language = tidy(marc.first("101", "a"))[:3]
    r.material_type = material_type(marc.leader, unimarc=True)
    for f in marc.get("225"):
        series = tidy(f.get("a"))
        number = tidy(f.get("v"))
        add_unique(r.series, f"{series} ; {number}" if series and number else series)
    for f in marc.get("330", "331")[:1]:
        r.summary = f.get("a").strip()
