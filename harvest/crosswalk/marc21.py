"""MARC 21 → Record, vernacular first.

A Chinese book in a MARC 21 catalogue usually has its title, author and publisher in
romanized pinyin in 245/100/260 and the characters only in an 880 linked by $6
("245-01" ↔ "880 $6 245-01/$1").  Patrons search and read characters, so the linked
880 becomes the displayed value and the romanized form stays as an alternate, searchable.
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

AUTHOR_TAGS = ("100", "110", "111", "700", "710", "711")
SUBJECT_TAGS = ("600", "610", "611", "630", "650", "651")
# Every tag `fill` reads — `tongjian source test` flags the others as not mapped.
MAPPED_TAGS = frozenset({
    "020", "022", "041", "084", "093", "130", "240", "245", "246", "250", "260", "264", "440",
    "490", "520", "730", "740", "830", "880", *AUTHOR_TAGS, *SUBJECT_TAGS,
    "050", "082", "300", "500", "504", "066",  # read by people, not needed for search
})
# Relator codes commonly found in $4 → role words shown in the portal.
RELATORS = {"aut": "著", "edt": "编", "trl": "译", "ill": "绘", "cmp": "作曲", "ctb": "合著"}


def _linked(marc: Marc) -> dict[tuple[str, str], Field]:
    """880s keyed by (tag they stand for, occurrence number) from their $6."""
    out: dict[tuple[str, str], Field] = {}
    for f in marc.get("880"):
        link = f.get("6")
        if len(link) >= 6 and link[3] == "-":
            out[(link[:3], link[4:6])] = f
    return out


def _vernacular(f: Field, linked: dict[tuple[str, str], Field]) -> Field | None:
    link = f.get("6")
    if len(link) >= 6 and link[:3] == "880" and link[3] == "-" and link[4:6] != "00":
        return linked.get((f.tag, link[4:6]))
    return None


def _title(f: Field) -> str:
    parts = [tidy(f.get("a"))]
    sub = tidy(f.get("b"))
    if sub:
        parts.append(sub)
    return " : ".join(p for p in parts if p)


def _author(f: Field) -> Author:
    name = tidy(" ".join(f.all("a", "b", "c", "d")) if f.tag.endswith("11") else
                " ".join(f.all("a", "b")) if f.tag[1] == "1" else f.get("a"))
    relator = tidy(f.get("4"))
    role = tidy(f.get("e")) or RELATORS.get(relator, relator)
    return Author(name=name, role=role)


def fill(marc: Marc, r: Record) -> None:
    linked = _linked(marc)
    used: set[int] = set()

    def vern(f: Field) -> Field | None:
        v = _vernacular(f, linked)
        if v is not None:
            used.add(id(v))
        return v

    for f in marc.get("245")[:1]:
        v = vern(f)
        roman = _title(f)
        r.title = _title(v) if v is not None else roman
        if v is not None:
            add_unique(r.title_alt, roman)
            r.responsibility = tidy(v.get("c"))
        r.responsibility = r.responsibility or tidy(f.get("c"))
        r.volume = " ".join(tidied((v or f).all("n", "p")))
    for f in marc.get("130", "240", "246", "730", "740"):
        add_unique(r.title_alt, f.get("a"))
        v = vern(f)
        if v is not None:
            add_unique(r.title_alt, v.get("a"))
    for f in marc.get(*AUTHOR_TAGS):
        a = _author(f)
        v = vern(f)
        if v is not None:
            native = _author(v)
            a = Author(name=native.name, role=native.role or a.role, romanized=a.name)
        if a.name and all(a.name != b.name for b in r.authors):
            r.authors.append(a)
    for f in marc.get("250")[:1]:
        v = vern(f)
        r.edition = tidy((v or f).get("a"))
    pub = next((f for f in marc.get("264") if f.ind2 == "1"), None) or next(
        iter(marc.get("260", "264")), None)
    if pub is not None:
        v = vern(pub)
        r.place = tidy((v or pub).get("a"))
        r.publisher = tidy((v or pub).get("b"))
        if v is not None:
            add_unique(r.publisher_alt, pub.get("b"))
    f008 = marc.control("008")
    r.year = year(f008[7:11]) if f008[7:11].isdigit() else None
    if r.year is None and pub is not None:
        r.year = year(pub.get("c"))
    add_isbns(r, [f.get("a") for f in marc.get("020") if f.get("a")],
              [z for f in marc.get("020") for z in f.all("z")])
    for f in marc.get("022"):
        add_unique(r.issn, f.get("a"))
    add_clc(r, [a for f in marc.get("084", "093")
                if f.tag == "093" or f.get("2").lower().startswith(("clc", "zhong"))
                for a in f.all("a")])
    for f in marc.get(*SUBJECT_TAGS):
        v = vern(f)
        src = v if v is not None else f
        heading = "--".join(tidied(x for c, x in src.subfields if c in "abcdvxyz"))
        add_unique(r.subjects, heading)
    r.language = f008[35:38].strip() if len(f008) >= 38 else ""
    if not r.language or r.language in ("|||", "und"):
        r.language = tidy(marc.first("041", "a"))[:3]
    r.material_type = material_type(marc.leader, unimarc=False)
    for f in marc.get("490", "830", "440"):
        v = vern(f)
        add_unique(r.series, (v or f).get("a"))
    for f in marc.get("520")[:1]:
        v = vern(f)
        r.summary = (v or f).get("a").strip()
    # 880s not linked from a regular field (e.g. "245-00") still carry searchable text.
    for f in marc.get("880"):
        if id(f) not in used and f.get("6")[:3] in ("245", "246", "240"):
            add_unique(r.title_alt, f.get("a"))
