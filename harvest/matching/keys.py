"""The record's match keys: `MatchRecord`, what the matcher needs of a record, normalized.

Built once per record at harvest time (`MatchRecord.from_record`, through the
normalizers of `normalize`) and kept as compact JSON in the store's `match` column
(`to_json`), so re-clustering a million records never decodes a full `Record`.  The
JSON carries `MATCH_VERSION`: a stored key written under other normalization rules is
refused by `from_json` and rebuilt from the record, never compared with a new one.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.fold import squash
from harvest.matching.normalize import (
    _TITLE_TAIL_VOLUME,
    _fold,
    _responsibility_key,
    _split_title,
    edition_key,
    person_key,
    publisher_key,
    title_key,
    volume_key,
)

#: Bump when a normalization rule changes (a table or function of `normalize`, or
#: `from_record`): stored MatchRecord JSON of another version must be rebuilt from the
#: full record (the store keeps it in a column next to `data`).
MATCH_VERSION = 1

#: Share of symbols above which a title is mojibake (MARC-8 escapes read as text,
#: "$1!2H!?5!T2!2/!X((B"): it is treated as absent, so an ISBN can still match it.
GARBLED_SYMBOL_SHARE = 0.3
_SYMBOL = re.compile(r"[!$%&*+<>?@\\^`|~#]")


def _garbled(text: str) -> bool:
    if not text or len(text) < 6:
        return False
    return len(_SYMBOL.findall(text)) / len(text) > GARBLED_SYMBOL_SHARE


def _clean(text: str | None) -> str:
    """The field, or "" when it is mojibake: nothing to compare is better than noise."""
    return "" if not text or _garbled(text) else text


_TRAILING_NON_WORD = re.compile(r"[\W_]+$")
_DIGITS = re.compile(r"[0-9]+")


def _intern(text: str) -> str:
    """One string object per distinct value: a million records share a few thousand
    publishers, authors and titles, which is most of their memory."""
    return sys.intern(text) if text else ""


@dataclass(slots=True)
class MatchRecord:
    """What the matcher needs of a record, already normalized (see `normalize`).

    Built once per record at harvest time (`from_record`) and kept as compact JSON in the
    store, so re-clustering a million records never decodes a full `Record`.
    """

    key: str
    isbns: tuple[str, ...] = ()  # valid ISBN-13s
    stems: tuple[str, ...] = ()  # first 12 digits of every ISBN incl. bad check digits
    title: str = ""  # title proper, normalized (title_key)
    title_full: str = ""  # whole title incl. other title information, if different
    volume: str = ""  # volume_key()
    volume_text: str = ""  # the volume designation squashed, to find it in a title
    author: str = ""  # first author, person_key()
    authors: tuple[str, ...] = ()  # every author, person_key(), first included
    resp: str = ""  # statement of responsibility, squashed (author found in it)
    year: int | None = None
    publisher: str = ""  # publisher_key()
    edition: str = ""  # edition_key()
    material: str = ""
    language: str = ""
    _numbers: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.isbns and not self.stems:  # built from (key, ISBNs) alone
            self.stems = tuple(sorted({i[:12] for i in self.isbns}))

    @property
    def numbers(self) -> tuple[str, ...]:
        """Digit runs of the title proper: '94 and '95 中国发展报告 are different books."""
        if self._numbers is None:
            self._numbers = tuple(_DIGITS.findall(self.title))
        return self._numbers

    @classmethod
    def from_record(cls, record: Any) -> MatchRecord:
        """From a `core.model.Record` (duck-typed, so this module needs no store)."""
        main, whole = _split_title(_clean(record.title))
        if _garbled(main):
            main = whole = ""
        volume = _clean(record.volume)
        title, full = title_key(main), title_key(whole)
        if not volume:  # the part typed at the end of the title proper, or of it all
            folded = _TRAILING_NON_WORD.sub("", _fold(main))
            m = _TITLE_TAIL_VOLUME.search(folded)
            head = title_key(folded[: m.start()]) if m else ""
            if m and head:
                volume = m.group(1)
                full = head + full[len(title):] if full.startswith(title) else full
                title = head
            elif full != title:
                folded = _TRAILING_NON_WORD.sub("", _fold(whole))
                m = _TITLE_TAIL_VOLUME.search(folded)
                head = title_key(folded[: m.start()]) if m else ""
                if m and head.startswith(title) and head != title:
                    volume, full = m.group(1), head
        authors: list[str] = []
        for a in record.authors:
            for name in (a.name, getattr(a, "romanized", "") or ""):
                k = person_key(_clean(name))
                if k and k not in authors:
                    authors.append(k)
        stems: list[str] = [i[:12] for i in record.isbn]
        for raw in record.isbn_invalid:
            digits = re.sub(r"[^0-9Xx]", "", raw)
            if len(digits) == 13 and digits[:3] in ("978", "979") and digits.isdigit():
                stems.append(digits[:12])
            elif len(digits) == 10 and digits[:9].isdigit():
                stems.append("978" + digits[:9])
        vkey = volume_key(volume)
        names = tuple(_intern(a) for a in authors)
        return cls(
            key=record.key,
            isbns=tuple(sorted(set(record.isbn))),
            stems=tuple(sorted(set(stems))),
            title=_intern(title),
            title_full=_intern(full) if full != title else "",
            volume=_intern(vkey),
            volume_text=_intern(squash(_fold(volume))) if vkey else "",
            author=names[0] if names else "",
            authors=names,
            resp=_intern(_responsibility_key(_clean(record.responsibility))),
            year=record.year,
            publisher=_intern(publisher_key(_clean(record.publisher))),
            edition=_intern(edition_key(_clean(record.edition))),
            material=_intern(record.material_type or ""),
            language=_intern((record.language or "").lower()[:3]),
        )

    # Short JSON names: a million of these sit in the store.
    _JSON_FIELDS = (("k", "key"), ("i", "isbns"), ("s", "stems"), ("t", "title"),
                    ("tf", "title_full"), ("v", "volume"), ("vt", "volume_text"),
                    ("a", "authors"), ("r", "resp"), ("y", "year"), ("p", "publisher"),
                    ("e", "edition"), ("m", "material"), ("l", "language"))

    def to_json(self) -> str:
        """Compact JSON (empty fields left out) with the rule version, for a store column."""
        out: dict[str, Any] = {"_": MATCH_VERSION}
        for short, name in self._JSON_FIELDS:
            value = getattr(self, name)
            if value or (name == "year" and value is not None):
                out[short] = list(value) if isinstance(value, tuple) else value
        try:  # orjson writes exactly what json.dumps does with these options, faster
            return orjson.dumps(out).decode("utf-8")
        except orjson.JSONEncodeError:  # a lone surrogate: json keeps it as it is
            return json.dumps(out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MatchRecord:
        """Inverse of `to_json`; ValueError when written by another rule version (the
        store must then rebuild it from the record)."""
        try:
            data = orjson.loads(text)  # a merge decodes a million: twice as fast as json
        except orjson.JSONDecodeError:  # a lone surrogate, which to_json wrote with json
            data = json.loads(text)
        if data.get("_") != MATCH_VERSION:
            raise ValueError(f"MatchRecord JSON version {data.get('_')!r}, "
                             f"expected {MATCH_VERSION}: rebuild it from the record")
        authors = tuple(_intern(a) for a in data.get("a", ()))
        return cls(key=data["k"], isbns=tuple(data.get("i", ())),
                   stems=tuple(data.get("s", ())), title=_intern(data.get("t", "")),
                   title_full=_intern(data.get("tf", "")), volume=_intern(data.get("v", "")),
                   volume_text=_intern(data.get("vt", "")),
                   author=authors[0] if authors else "", authors=authors,
                   resp=_intern(data.get("r", "")), year=data.get("y"),
                   publisher=_intern(data.get("p", "")), edition=_intern(data.get("e", "")),
                   material=_intern(data.get("m", "")), language=_intern(data.get("l", "")))
