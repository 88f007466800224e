"""Cataloguing habits of the union catalogue's members, for the demo of the cataloguing
centre (issue 16).

The provincial union catalogue's records (PROV.cnmarc.utf8.iso) are handed out to the
members that share the Symphony server: each record gets its cataloguing member's 801
(original cataloguing, or modifying after an NLC record), a date — a share of them in the
last twelve months, so the monthly summary and its trend have something to show — and
that member's habits: 礼泉 is excellent (every field, pinyin always), 乾县 is sloppy
(missing 215$a, 101 and pinyin, # in 100$a, class numbers without their dot, a wrong
indicator), the others as generated.  `fix` is what a member does after review: the
record as it should have been, with a modifying 801 of its own.

Deterministic for a seed and a "today"; works on ISO 2709 bytes through the harvest's own
reader and writer.
"""

from __future__ import annotations

import random
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


@dataclass
class Catalogued:
    data: bytes  # as the member catalogued it
    member: str  # Symphony library key
    holders: list[str]  # Symphony libraries with copies, the member first
    clean: bytes  # the same record without the member's faults (what a fix makes)
    damaged: bool


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
        clean = _assign(marc, agency, when, habit, rng)
        damaged = _damage(clean, habit, rng)
        others = [k for k in keys if k != member]
        holders = [member] + (rng.sample(others, 1) if rng.random() < 0.3 else [])
        out.append(Catalogued(_encode(damaged), member, holders, _encode(clean),
                              damaged is not clean))
    return out


def _assign(marc: Marc, agency: str, when: date | None, habit: str,
            rng: random.Random) -> Marc:
    """The record with this member's 801 (after NLC's, if it was copied) and date."""
    nlc = [f for f in marc.get("801") if f.get("b") == "NLC" and f.ind2 == "0"]
    old = [f for f in marc.get("801") if f not in nlc]
    stamp = _stamp(when) if when else (old[0].get("c") if old else "20150101")
    own = Field("801", " ", "2" if nlc else "0", [("a", "CN"), ("b", agency), ("c", stamp)])
    fields = []
    for f in marc.fields:
        if f.tag == "801":
            continue
        if habit == "excellent" and f.tag == "200" and not f.get("A") and not f.get("9"):
            f = Field(f.tag, f.ind1, f.ind2, [*f.subfields, ("A", "pin yin")])
        if habit == "excellent" and f.tag == "100":  # no # placeholders in coded data
            f = Field(f.tag, f.ind1, f.ind2, [(c, v.replace("#", " ")) for c, v in f.subfields])
        fields.append(f)
    fields += nlc + [own]
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


def fix(clean: bytes, agency: str, today: date | None = None) -> bytes:
    """The corrected record a member saves after review: the clean description with its
    own modifying 801 (ind2 2) dated today."""
    marc = decode_iso2709(clean, "utf-8", "cnmarc")
    stamp = _stamp(today or date.today())
    marc.fields.append(Field("801", " ", "2", [("a", "CN"), ("b", agency), ("c", stamp)]))
    return _encode(marc)
