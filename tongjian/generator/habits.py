"""Cataloguing habits of the union catalogue's members, for the demo of the cataloguing
centre (issue 16).

The provincial union catalogue's records (PROV.cnmarc.utf8.iso) are handed out to the
members that share the Symphony server: each record gets its cataloguing member's 801
(original cataloguing, or modifying after an NLC record), a date — a share of them in the
last twelve months, so the monthly summary and its trend have something to show — and
that member's habits: 礼泉 is excellent (every field, pinyin always), 乾县 is sloppy
(missing 215$a, 101 and pinyin, # in 100$a, class numbers without their dot, a wrong
indicator), the others as generated.  Each record also names the person who catalogued
it in a local field, 998 $a (the demo's config.yaml says so under
`cataloguing.cataloguers`; no standard field carries a name), picked from the member's
cataloguers by the record's bytes, so the draw of everything else stays as it was.
`fix` is what a member does after review: the record as it should have been, with a
modifying 801 of its own and, when given, the fixing person in 998 $b.

Deterministic for a seed and a "today"; works on ISO 2709 bytes through the harvest's own
reader and writer.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from harvest.iso2709 import write
from harvest.marc import Field, Marc, decode_iso2709

# Symphony library key → (801 $b agency code, habit, share of the union catalogue's
# records).  The agency codes are what config.yaml's cataloguing.agencies maps.
MEMBERS: dict[str, tuple[str, str, float]] = {
    "PROV": ("PROV", "careful", 0.36),
    "LIQUAN": ("LQLIB", "excellent", 0.16),
    "SANYUAN": ("SYLIB", "average", 0.16),
    "QIANXIAN": ("QXLIB", "sloppy", 0.16),
    "YANGLING": ("YLLIB", "average", 0.16),
}
RECENT_SHARE = 0.45  # records catalogued in the last twelve months
#: Symphony library key → its cataloguers (invented names for the demo).
CATALOGUERS: dict[str, tuple[str, ...]] = {
    "PROV": ("陈静", "刘卫东", "赵敏"),
    "LIQUAN": ("王秀兰", "李建国"),
    "SANYUAN": ("张丽",),
    "QIANXIAN": ("杨勇", "周芳"),
    "YANGLING": ("孙红梅",),
}
CATALOGUER_TAG = "998"  # $a who catalogued the record, $b who changed it (repeatable)


@dataclass
class Catalogued:
    data: bytes  # as the member catalogued it
    member: str  # Symphony library key
    holders: list[str]  # Symphony libraries with copies, the member first
    clean: bytes  # the same record without the member's faults (what a fix makes)
    damaged: bool
    cataloguer: str = ""  # the person named in 998 $a


def _fields(marc: Marc) -> list[tuple[str, str, list[tuple[str, str]] | str]]:
    return [(f.tag, "", f.value) if f.value is not None
            else (f.tag, f.ind1 + f.ind2, list(f.subfields)) for f in marc.fields]


def _encode(marc: Marc) -> bytes:
    return write(marc.leader, _fields(marc), "utf-8")


def _sub(f: Field, drop: str) -> Field:
    return Field(f.tag, f.ind1, f.ind2, [(c, v) for c, v in f.subfields if c not in drop])


def _stamp(day: date) -> str:
    return day.strftime("%Y%m%d")


def union_catalogue(records: Sequence[bytes], seed: int = 16,
                    today: date | None = None) -> list[Catalogued]:
    today = today or date.today()
    rng = random.Random(seed)  # noqa: S311 - demo data
    keys = list(MEMBERS)
    weights = [MEMBERS[k][2] for k in keys]
    out = []
    for data in records:
        member = rng.choices(keys, weights)[0]
        agency, habit, _ = MEMBERS[member]
        marc = decode_iso2709(data, "utf-8", "cnmarc")
        when = today - timedelta(days=rng.randrange(365)) if rng.random() < RECENT_SHARE \
            else None
        person = _cataloguer(member, data)
        clean = _assign(marc, agency, when, habit, rng, person)
        damaged = _damage(clean, habit, rng)
        others = [k for k in keys if k != member]
        holders = [member] + (rng.sample(others, 1) if rng.random() < 0.3 else [])
        out.append(Catalogued(_encode(damaged), member, holders, _encode(clean),
                              damaged is not clean, person))
    return out


def _cataloguer(member: str, data: bytes) -> str:
    names = CATALOGUERS[member]
    return names[zlib.crc32(data) % len(names)]


def _assign(marc: Marc, agency: str, when: date | None, habit: str,
            rng: random.Random, cataloguer: str) -> Marc:
    """The record with this member's 801 (after NLC's, if it was copied) and date, and
    its cataloguer's name in 998 $a."""
    nlc = [f for f in marc.get("801") if f.get("b") == "NLC" and f.ind2 == "0"]
    old = [f for f in marc.get("801") if f not in nlc]
    stamp = _stamp(when) if when else (old[0].get("c") if old else "20150101")
    own = Field("801", " ", "2" if nlc else "0", [("a", "CN"), ("b", agency), ("c", stamp)])
    fields = []
    for f in marc.fields:
        if f.tag in ("801", CATALOGUER_TAG):
            continue
        if habit == "excellent" and f.tag == "200" and not f.get("A") and not f.get("9"):
            f = Field(f.tag, f.ind1, f.ind2, [*f.subfields, ("A", "pin yin")])
        if habit == "excellent" and f.tag == "100":  # no # placeholders in coded data
            f = Field(f.tag, f.ind1, f.ind2, [(c, v.replace("#", " ")) for c, v in f.subfields])
        fields.append(f)
    fields += [*nlc, own, Field(CATALOGUER_TAG, " ", " ", [("a", cataloguer)])]
    return Marc(marc.leader, fields, "utf-8")


def _damage(marc: Marc, habit: str, rng: random.Random) -> Marc:
    """The member's faults (the same Marc when it made none)."""
    if habit == "sloppy":
        odds = {"215": 0.35, "101": 0.2, "pinyin": 0.55, "100": 0.3, "690": 0.2, "ind": 0.15}
    elif habit == "average":
        odds = {"pinyin": 0.08, "215": 0.03}
    else:
        return marc
    hit = {k for k, p in odds.items() if rng.random() < p}
    if not hit:
        return marc
    fields = []
    for f in marc.fields:
        if f.tag == "101" and "101" in hit:
            continue
        if f.tag == "215" and "215" in hit:
            f = _sub(f, "a")
        elif f.tag == "200":
            if "pinyin" in hit:
                f = _sub(f, "A9")
            if "ind" in hit:
                f = Field(f.tag, "2", f.ind2, f.subfields)
        elif f.tag == "100" and "100" in hit:
            f = Field(f.tag, f.ind1, f.ind2,
                      [(c, v[:13] + v[13:].replace(" ", "#") if c == "a" else v)
                       for c, v in f.subfields])
        elif f.tag == "690" and "690" in hit:
            f = Field(f.tag, f.ind1, f.ind2,
                      [(c, v.replace(".", "") if c == "a" else v) for c, v in f.subfields])
        fields.append(f)
    return Marc(marc.leader, fields, "utf-8")


def fix(clean: bytes, agency: str, today: date | None = None, person: str = "") -> bytes:
    """The corrected record a member saves after review: the clean description with its
    own modifying 801 (ind2 2) dated today, and `person` as the latest 998 $b."""
    marc = decode_iso2709(clean, "utf-8", "cnmarc")
    stamp = _stamp(today or date.today())
    marc.fields.append(Field("801", " ", "2", [("a", "CN"), ("b", agency), ("c", stamp)]))
    if person:
        marc.fields = [Field(f.tag, f.ind1, f.ind2, [*f.subfields, ("b", person)])
                       if f.tag == CATALOGUER_TAG else f for f in marc.fields]
    return _encode(marc)
