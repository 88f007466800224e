"""Who catalogued a record, and who changed it last (联合编目的著录馆与修改馆).

In a union catalogue every record sits in the provincial server, so "the source's
library" credits the province with the counties' work.  The record itself usually knows
better:

* CNMARC 801 (记录来源): $b the agency, $c the date, indicator 2 its role — 0 original
  cataloguing, 1 transcribing, 2 modifying, 3 issuing (UNIMARC's meanings; real exports
  show 0 and 2, see ../shared/notes/cnmarc.md §9).  A member that copies an NLC record
  writes 801 #0 NLC then 801 #2 itself: the member did the union-catalogue work, so the
  first agency that is a *member* wins, original before transcribing before modifying.
* MARC 21 040: $a original cataloguing agency, $c transcribing agency, $d modifying
  agency (repeatable, in order: the last is the last to change it).
* The system's own metadata: Symphony Web Services gives a bib's ``createDate`` and
  ``modifiedDate`` (and each item's ``createdDate`` and ``library``), but no creating or
  modifying user or library in any documented or observed field (notes:
  symphony-ilsws.md), so from Symphony come the dates and, through the holdings rule, the
  library of the copies.

A source's `attribution` (config.yaml) orders the rules — ``record``, ``holdings`` (the
library whose copy came first), ``source`` (its owner, always the last resort) — and the
agency table maps 801 $b / 040 codes to member libraries (each library's own code and
name map to it without being listed).

The cataloguer as a person: 801 and 040 name agencies, and Symphony's Web Services show
no creating or modifying user (notes: symphony-ilsws.md; the vendor's published field
lists and every client we found give dates only).  Some systems write the cataloguer's
name into a local field (a 9XX); which one, and whether at all, differs by system and
library, so it is configured per source (`cataloguing.cataloguers`: the subfield naming
who made the record, and the repeatable one naming who changed it, the last being the
latest) and never guessed.  Without it the record's credit stays with the library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.cataloguing import NO_FIELD, Attribution, Subfield
from core.model import Record
from harvest.marc import Marc

#: MARC 21 040 subfield → the 801 role it plays.
_ROLE_040 = {"a": "0", "c": "1", "d": "2"}
_DIGITS = re.compile(r"\d{8}")


@dataclass
class Agencies:
    """What a record says about its making: (role, agency, YYYYMMDD date) in record order
    (role 0 original, 1 transcribing, 2 modifying), when it was entered on file, and its
    latest-transaction stamp (005)."""

    entries: list[tuple[str, str, str]] = field(default_factory=list)
    entered: str = ""  # YYYY-MM-DD: CNMARC 100$a/0-7, MARC 21 008/00-05
    stamp: str = ""  # 005, as written
    cataloguer: str = ""  # the person who made it, from the configured local field
    modifier: str = ""  # the person who changed it last, likewise


def read_agencies(marc: Marc, kind: str, rule: Attribution | None = None) -> Agencies:
    """The record's agencies and dates; with `rule`, also the persons its source's
    configured local fields name."""
    out = Agencies(stamp=marc.control("005").strip())
    if rule is not None:
        out.cataloguer = _named(marc, rule.cataloguer_field, first=True)
        out.modifier = _named(marc, rule.modifier_field, first=False)
    if kind == "cnmarc":
        for f in marc.get("801"):
            agency = f.get("b").strip()
            if agency and f.ind2 in "012":
                out.entries.append((f.ind2, agency, f.get("c").strip()))
        out.entered = iso_date(marc.first("100", "a")[:8])
    else:
        for f in marc.get("040"):
            for code, value in f.subfields:
                if code in _ROLE_040 and value.strip():
                    out.entries.append((_ROLE_040[code], value.strip(), ""))
        yymmdd = marc.control("008")[:6]
        if yymmdd.isdigit():
            century = "19" if int(yymmdd[:2]) > 50 else "20"
            out.entered = iso_date(century + yymmdd)
    return out


def _named(marc: Marc, where: Subfield, *, first: bool) -> str:
    """The first (or last) non-empty value of a configured subfield ('' when none)."""
    if where == NO_FIELD:
        return ""
    tag, code = where
    values = [" ".join(v.split()) for f in marc.get(tag) for v in f.all(code) if v.strip()]
    if not values:
        return ""
    return values[0] if first else values[-1]


def iso_date(text: str) -> str:
    """YYYYMMDD (or YYYY-MM-DD) → YYYY-MM-DD; '' for anything that is not a real date
    (00010101, 2019####)."""
    digits = text.replace("-", "")[:8]
    if not _DIGITS.fullmatch(digits):
        return ""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def attribute(record: Record, agencies: Agencies, rule: Attribution, *,
              source_created: str = "", source_modified: str = "") -> None:
    """Set `record`'s catalogued_by, modified_by, agencies, created and modified.
    `source_created`/`source_modified`: the system's own dates (Symphony createDate,
    modifiedDate), which beat the MARC's 100$a and 005."""
    making = [e for e in agencies.entries if e[0] in "01"]
    changes = [e for e in agencies.entries if e[0] == "2"]
    record.catalogue_agency = (making or changes)[0][1] if (making or changes) else ""
    record.modify_agency = changes[-1][1] if changes else ""
    by, how, when = "", "", ""
    for name in rule.order:
        if name == "record":
            for _, agency, date in making + changes:
                by = rule.library_for(agency)
                if by:
                    when = date
                    break
        elif name == "holdings":
            by = first_holder(record)
        elif name == "source":
            by = record.library
        if by:
            how = name
            break
    modified_by = ""
    if "record" in rule.order:
        for _, agency, _ in reversed(changes):
            modified_by = rule.library_for(agency)
            if modified_by:
                break
    record.catalogued_by, record.attributed_from = by, how
    record.modified_by = modified_by or by
    record.cataloguer = agencies.cataloguer
    record.modifier = agencies.modifier or agencies.cataloguer
    record.created = (iso_date(when) or iso_date(source_created)
                      or next((iso_date(d) for _, _, d in making if iso_date(d)), "")
                      or agencies.entered)
    record.modified = source_modified or agencies.stamp


def first_holder(record: Record) -> str:
    """The library whose copy was added first (by the copies' own dates when the system
    gives them, else the first listed)."""
    dated = sorted((h.created, n) for n, h in enumerate(record.holdings)
                   if h.library and h.created)
    if dated:
        return record.holdings[dated[0][1]].library
    return next((h.library for h in record.holdings if h.library), "")
