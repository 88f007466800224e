"""From the records of one merged entry (cluster) to the one document the index holds.

A cluster is one book held by several libraries, each with its own catalogue record.  The
hit shows one description — the `best_record` — while everything a reader might search by
(every ISBN, call number, subject, alternate title, holding library) is the union over
all records, so the book is found however any one library catalogued it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from core.entry import entry_holdings, library_copies
from core.model import Record
from index.text import folded as _fold

# `_fold`: NFKC + OpenCC through index.text's cache.  Names, subjects, series and
# publishers repeat across a catalogue, and the analysis folds the same titles again.

# Descriptive fields counted for completeness.  Housekeeping (source, format, encoding),
# holdings and failed ISBNs say nothing about how well the book itself is described.
COMPLETENESS_FIELDS: tuple[str, ...] = (
    "title", "title_alt", "title_pinyin", "volume", "responsibility", "authors",
    "publisher", "publisher_alt", "place", "year", "edition", "isbn", "issn", "clc",
    "clc_top", "subjects", "language", "material_type", "series", "summary",
)  # fmt: skip


def _attr(obj: Any, name: str, default: str = "") -> str:
    """Library attributes from config objects or plain dicts (tests, JSON dumps)."""
    if obj is None:
        return default
    value = obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)
    return str(value) if value is not None else default


def completeness(record: Record) -> int:
    """How many descriptive fields the record fills (a list counts once, however long)."""
    return sum(1 for name in COMPLETENESS_FIELDS if getattr(record, name) not in (None, "", []))


def _is_province(record: Record, libraries: Mapping[str, Any]) -> bool:
    return _attr(libraries.get(record.library), "level") == "province"


_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_STRAY_SPACE = re.compile(rf"[{_HAN}]\s+[{_HAN}]")


def _traditional(title: str) -> bool:
    """Written in traditional script (紅樓夢): the fold's t2s changes it."""
    plain = unicodedata.normalize("NFKC", title).lower()
    return not plain.isascii() and _fold(title) != plain


def display_flaws(record: Record) -> tuple[bool, bool]:
    """(traditional script, a stray space between characters) in the record's title: what
    makes one library's description a worse face for the entry than another's."""
    title = record.title or ""
    return _traditional(title), bool(_STRAY_SPACE.search(title))


def best_record(records: list[Record], libraries: Mapping[str, Any]) -> Record:
    """The record whose description represents the cluster.

    Rule, in order: a title in simplified script (readers here read simplified; the
    traditional form stays searchable, the index folding scripts); a title without a
    stray space between characters (红楼 梦, a typing slip); the most complete record
    (count of filled descriptive fields, see `COMPLETENESS_FIELDS`); among equally
    complete ones, a record from a province-level library (the provincial library
    catalogues to the fullest standard, and its record is the one most others were copied
    from); then the smallest source key, so the choice is stable across rebuilds whatever
    order the records arrive in.
    """
    if not records:
        raise ValueError("a cluster needs at least one record")
    if len(records) == 1:  # most entries: one library's record, nothing to weigh
        return records[0]
    return min(
        records,
        key=lambda r: (display_flaws(r), -completeness(r), not _is_province(r, libraries),
                       r.key),
    )


def _unique(values: Iterable[str], *, fold: bool = False) -> list[str]:
    """First-seen order, blanks dropped; `fold` also merges 紅樓夢/红楼梦 and case variants."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = (value or "").strip()
        key = _fold(value) if fold else value
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _holdings(records: list[Record], libraries: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Copies per holding library, counted by `core.entry` as every other view does."""
    rows = [
        {
            "library": lc.library,
            "name": _attr(libraries.get(lc.library), "name", lc.library) or lc.library,
            "region": _attr(libraries.get(lc.library), "region"),
            "copies": lc.copies,
            "online": lc.online,
            "available": lc.available,
        }
        for lc in library_copies(entry_holdings(records))
    ]
    # Province library first (the reader's fallback for inter-library loan), then by code.
    rows.sort(key=lambda r: (_attr(libraries.get(str(r["library"])), "level") != "province",
                             str(r["library"])))
    return rows


def cluster_document(
    cluster_id: str, records: list[Record], libraries: Mapping[str, Any]
) -> dict[str, Any]:
    """The index document for one cluster, in the shape `index.backend` documents."""
    best = best_record(records, libraries)
    ordered = [best] + [r for r in records if r is not best]

    title = best.title or _first(r.title for r in ordered) or ""
    title_alt = _unique(
        [alt for r in ordered for alt in r.title_alt] + [r.title for r in ordered], fold=True
    )
    title_norm = _fold(title)
    title_alt = [t for t in title_alt if _fold(t) != title_norm]
    authors = _unique((a.name for r in ordered for a in r.authors), fold=True)
    holdings = _holdings(ordered, libraries)
    library_codes = [h["library"] for h in holdings]
    regions = _unique(h["region"] for h in holdings)
    call_numbers = _unique(h.call_number for r in ordered for h in r.holdings)
    clc = _unique(c for r in ordered for c in r.clc)
    clc_top = best.clc_top or _first(r.clc_top for r in ordered) or ""
    if not clc_top and clc and clc[0][:1].isalpha():
        clc_top = clc[0][:1].upper()
    year = best.year if best.year is not None else _first(r.year for r in ordered)
    isbn = _unique(i for r in ordered for i in r.isbn)
    publisher = best.publisher or _first(r.publisher for r in ordered) or ""
    best_authors = [a.name for a in best.authors if a.name] or authors

    return {
        "id": cluster_id,
        "title": title,
        "title_alt": title_alt,
        "title_pinyin": best.title_pinyin or _first(r.title_pinyin for r in ordered) or "",
        "authors": authors,
        "responsibility": best.responsibility or _first(r.responsibility for r in ordered) or "",
        "publisher": publisher,
        "place": best.place or _first(r.place for r in ordered) or "",
        "subjects": _unique((s for r in ordered for s in r.subjects), fold=True),
        "series": _unique((s for r in ordered for s in r.series), fold=True),
        "summary": best.summary or _first(r.summary for r in ordered) or "",
        "isbn": isbn,
        "isbn_invalid": _unique(i for r in ordered for i in r.isbn_invalid),
        "issn": _unique(i for r in ordered for i in r.issn),
        "call_number": call_numbers,
        "clc": clc,
        "clc_top": clc_top,
        "year": year,
        "language": best.language or _first(r.language for r in ordered) or "",
        "material_type": best.material_type or _first(r.material_type for r in ordered) or "",
        "library": library_codes,
        "region": regions,
        "summary_doc": {
            "id": cluster_id,
            "title": title,
            "authors": best_authors,
            "year": year,
            "isbn": isbn,
            "publisher": publisher,
            "material_type": best.material_type or _first(r.material_type for r in ordered) or "",
            "holdings": holdings,
        },
    }
