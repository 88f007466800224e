"""The one canonical record model every crosswalk produces and every later stage reads.

Harvested records, live-search hits and Dublin Core documents all become a `Record`, so the
store, the merge step, the index and the portal never look at MARC again.  The model is
flat and JSON-friendly on purpose: it is what `tongjian normalize` prints and what the store
keeps beside the raw original.

The dataclasses here have no `__post_init__` and no validation in `__init__`, and must
not get any: `Record.from_dict` skips `__init__` for complete rows (tests/test_crosswalk.py
checks this stays true).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Author:
    name: str
    role: str = ""  # 著, 编, 主编, 译 … or MARC relator term
    pinyin: str = ""  # CNMARC 7XX $9 / $A
    romanized: str = ""  # MARC21: the romanized heading when `name` came from an 880


@dataclass
class Holding:
    """One copy (or group of copies) on one library's shelf — 馆藏."""

    library: str  # library code from config.yaml
    location: str = ""  # 馆藏地 / shelving location
    call_number: str = ""  # 索书号
    barcode: str = ""  # 条码号
    status: str = ""  # as the source reported it, unmapped
    copies: int = 1
    note: str = ""
    created: str = ""  # YYYY-MM-DD the source says the copy was added (Symphony createdDate)


@dataclass
class Record:
    source: str  # source name from config.yaml
    source_id: str  # the record id in that source (001 or the server's position)
    library: str  # library code the source belongs to
    format: str = ""  # cnmarc | unimarc | marc21 | dc
    encoding: str = ""  # what the bytes were decoded from
    title: str = ""
    title_alt: list[str] = field(default_factory=list)  # other, parallel, romanized titles
    title_pinyin: str = ""
    volume: str = ""  # part number/name: CNMARC 200$h$i, MARC21 245$n$p
    responsibility: str = ""  # statement of responsibility, as transcribed
    authors: list[Author] = field(default_factory=list)
    publisher: str = ""
    publisher_alt: list[str] = field(default_factory=list)
    place: str = ""
    year: int | None = None
    edition: str = ""
    isbn: list[str] = field(default_factory=list)  # valid, as ISBN-13
    isbn_invalid: list[str] = field(default_factory=list)  # as found, failing the checksum
    issn: list[str] = field(default_factory=list)
    clc: list[str] = field(default_factory=list)  # 中图分类号
    clc_top: str = ""  # its top class letter, A–Z
    subjects: list[str] = field(default_factory=list)
    language: str = ""  # ISO 639-2/B, e.g. chi, eng
    material_type: str = ""  # book, serial, map, score, sound, video, electronic, manuscript, …
    series: list[str] = field(default_factory=list)
    summary: str = ""
    places: list[str] = field(default_factory=list)  # geographic coverage: dc:coverage, 607
    online_url: str = ""  # the digitized object (viewer, PDF); http(s) only
    cover_url: str = ""  # a cover or first-page image; http(s) only
    holdings: list[Holding] = field(default_factory=list)
    # Who catalogued the record (联合编目): library codes from config.yaml, found by
    # `harvest.attribution` (801 $b / 040, the holdings' library, the source's owner).
    catalogued_by: str = ""
    modified_by: str = ""  # the member that changed it last ('' = as catalogued_by)
    catalogue_agency: str = ""  # as the record names it: 801 $b (ind2 0/1/2), 040 $a
    modify_agency: str = ""  # 801 $b with ind2 2 (the last), 040 $d (the last)
    attributed_from: str = ""  # record | holdings | source: which rule decided
    # The person, where the source's records name one in a local field configured per
    # source (`cataloguing.cataloguers`); '' when they do not.
    cataloguer: str = ""  # who made the record
    modifier: str = ""  # who changed it last ('' = as cataloguer)
    created: str = ""  # YYYY-MM-DD: 801 $c of the cataloguing agency, createDate, 100$a/0-7
    modified: str = ""  # the source's last-change stamp: 005, Symphony modifiedDate

    @property
    def key(self) -> str:
        """Store key: unique per source record, stable across re-harvests."""
        return f"{self.source}:{self.source_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Unknown keys (from a newer or older model) are ignored, missing ones defaulted.

        A stored record has every field, and then the dataclass `__init__` (thirty keyword
        arguments, plus one call per author and holding) is skipped: 13 µs become 6 per
        record, and a full index rebuild reads every record.
        """
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        values["authors"] = [_build(Author, _AUTHOR_FIELDS, a)
                             for a in values.get("authors", ())]
        values["holdings"] = [_build(Holding, _HOLDING_FIELDS, h)
                              for h in values.get("holdings", ())]
        record: Record = _build(cls, _RECORD_FIELDS, values)
        return record


_RECORD_FIELDS = frozenset(f.name for f in fields(Record))
_AUTHOR_FIELDS = frozenset(f.name for f in fields(Author))
_HOLDING_FIELDS = frozenset(f.name for f in fields(Holding))


def _build(cls: type[Any], names: frozenset[str], values: dict[str, Any]) -> Any:
    """`cls(**values)`, without running `__init__` when `values` holds exactly every field
    (nothing to default or check)."""
    if len(values) == len(names) and names.issuperset(values):
        obj = object.__new__(cls)
        obj.__dict__.update(values)
        return obj
    return cls(**values)
