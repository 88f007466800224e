"""Small text rules shared by the MARC21 and CNMARC crosswalks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from core.model import Record
from harvest import clc, isbn
from harvest.marc import RecordError

# ISBD punctuation left at the end of a subfield: " /", " :", " ;", ",", "." and Chinese
# forms; at the start, the same less the full-width slash and equals sign.  Runs of it and
# of whitespace are stripped (str.strip's whitespace, the same set as the regex \s).
_TRAILING = "/:;,=.，：；／＝"
_LEADING = "/:;,=.，：；"
_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")


def tidy(text: str) -> str:
    """Strip ISBD punctuation and brackets a cataloguer adds around transcribed text."""
    text = text.strip()
    if not text or (text[0] not in _LEADING and text[0] != "[" and text[-1] not in _TRAILING):
        return text  # most values: nothing to strip
    while (stripped := text.rstrip(_TRAILING).rstrip()) != text:
        text = stripped
    while (stripped := text.lstrip(_LEADING).lstrip()) != text:
        text = stripped
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    return text


def tidied(values: Iterable[str]) -> list[str]:
    """Each value tidied, the empty ones left out (one `tidy` per value)."""
    return [t for t in map(tidy, values) if t]


def year(*candidates: str) -> int | None:
    """First plausible year (1500–2099) in the candidates, in order."""
    for text in candidates:
        m = _YEAR.search(text or "")
        if m:
            return int(m.group(1))
    return None


def add_unique(items: list[str], *values: str) -> None:
    for v in values:
        v = tidy(v)
        if v and v not in items:
            items.append(v)


def add_isbns(record: Record, valid: list[str], invalid: list[str]) -> None:
    """Valid ISBNs as ISBN-13; anything failing its check digit is kept apart, as found."""
    for text in valid:
        good, raw = isbn.normalize(text)
        if good:
            add_unique(record.isbn, good)
        elif raw:
            add_unique(record.isbn_invalid, raw)
    for text in invalid:
        _, raw = isbn.normalize(text)
        if raw:
            add_unique(record.isbn_invalid, raw)


def add_clc(record: Record, values: list[str]) -> None:
    for v in values:
        for c in clc.split(v):
            add_unique(record.clc, c)
    record.clc_top = clc.top_class(record.clc)


# Leader/06 (type of record) → material type; shared by MARC21 and UNIMARC where they agree.
MATERIAL_BY_LEADER6 = {
    "a": "book", "t": "book", "b": "manuscript", "c": "score", "d": "score",
    "e": "map", "f": "map", "g": "video", "i": "sound", "j": "sound",
    "k": "image", "m": "electronic", "o": "kit", "p": "mixed", "r": "object",
}
MARC21_OVERRIDES = {"t": "manuscript", "m": "electronic"}
UNIMARC_OVERRIDES = {"l": "electronic", "m": "kit", "b": "manuscript"}
_MARC21_MATERIAL = {**MATERIAL_BY_LEADER6, **MARC21_OVERRIDES}
_UNIMARC_MATERIAL = {**MATERIAL_BY_LEADER6, **UNIMARC_OVERRIDES}


def material_type(leader: str, unimarc: bool) -> str:
    type6, level7 = leader[6:7], leader[7:8]
    table = _UNIMARC_MATERIAL if unimarc else _MARC21_MATERIAL
    kind = table.get(type6, "book" if not type6.strip() else "other")
    if kind == "book" and level7 == "s":
        return "serial"
    return kind


# -- vendor JSON ----------------------------------------------------------------------------

MAX_JSON_DEPTH = 64  # a bib is ~5 levels deep; Symphony's callList/itemList ~8


def load_json(data: bytes, what: str) -> Any:
    """A vendor's JSON document, or RecordError naming `what` and the reason.

    Bounded: a document nested deeper than MAX_JSON_DEPTH is refused before anything walks
    it (json itself raises RecursionError near 1,000 levels, and so would `str()` of one)."""
    if _open_depth(data) > MAX_JSON_DEPTH:
        raise RecordError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")
    codec = json.detect_encoding(data)
    try:
        # Strictly: json.loads(bytes) would decode with surrogatepass and let encoded
        # surrogates through, which fail later where the store encodes the text.
        doc = json.loads(data.decode(codec))
    except UnicodeDecodeError as e:
        raise RecordError(f"{what} is not {codec.upper()} ({e.reason} at byte {e.start})"
                          ) from None
    except ValueError as e:
        raise RecordError(f"{what} is not valid JSON: {e}") from None
    if _SURROGATE_ESCAPE.search(data):  # rare: only then pay for the check
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            # json accepts a lone \ud800; the text would pass the crosswalk and fail
            # where the store encodes it, stopping the harvest instead of this record.
            raise RecordError(f"{what} holds a lone surrogate escape ({e.object[e.start]!r}),"
                              " which is no character") from None
    return doc


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _open_depth(data: bytes | str) -> int:
    """The deepest nesting of [ and { in a JSON text, strings skipped (without parsing)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"[" not in raw and b"{" not in raw:
        return 0
    depth = deepest = 0
    for m in _JSON_TOKENS.finditer(raw):
        token = m.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def shape_error(what: str, path: str, expected: str, value: Any) -> RecordError:
    """RecordError for a JSON value of the wrong type, with its path in the document."""
    return RecordError(f"{what}: {path} is {type(value).__name__}, expected {expected}")
