"""A decoded MARC record (text, not bytes), and how bytes become one.

Every input — ISO 2709 in UTF-8, MARC-8 or GB18030, MARCXML in any of its namespaces, a
record inside an SRU response — ends up as a `Marc`, so the crosswalks deal with one shape.
The hard part is the character set: leader/09 and CNMARC 100$a/26-29 are hints that real
exports get wrong, so the bytes decide (see `detect_encoding`), unless the source's config
names an encoding, in which case a record that contradicts it is refused with the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from harvest import iso2709, marc8


class RecordError(ValueError):
    """This record cannot be read; the message is the quarantine reason."""


@dataclass
class Field:
    tag: str
    ind1: str = " "
    ind2: str = " "
    subfields: list[tuple[str, str]] = field(default_factory=list)
    value: str | None = None  # control fields only

    def get(self, code: str) -> str:
        for c, v in self.subfields:
            if c == code:
                return v
        return ""

    def all(self, *codes: str) -> list[str]:
        return [v for c, v in self.subfields if c in codes]


@dataclass
class Marc:
    leader: str
    fields: list[Field]
    encoding: str = ""  # what the bytes were decoded from

    def get(self, *tags: str) -> list[Field]:
        """Fields with any of these tags, in record order."""
        if len(tags) == 1:
            return list(self._by_tag.get(tags[0], ()))
        found = [self._by_tag[t] for t in tags if t in self._by_tag]
        if len(found) == 1:
            return list(found[0])
        return [f for f in self.fields if f.tag in tags] if found else []

    @cached_property
    def _by_tag(self) -> dict[str, list[Field]]:
        """Fields by tag: a crosswalk asks for some twenty tags, and scanning the record for
        each was a tenth of its time.  `fields` is not changed once the Marc is built."""
        index: dict[str, list[Field]] = {}
        for f in self.fields:
            if f.tag in index:
                index[f.tag].append(f)
            else:
                index[f.tag] = [f]
        return index

    def control(self, tag: str) -> str:
        for f in self._by_tag.get(tag, ()):
            if f.value is not None:
                return f.value
        return ""

    def first(self, tag: str, code: str) -> str:
        for f in self._by_tag.get(tag, ()):
            v = f.get(code)
            if v:
                return v
        return ""

    @property
    def flavour(self) -> str:
        """'marc21' or 'cnmarc' from the record's shape: 245 is MARC21, 200 is UNIMARC."""
        tags = {f.tag for f in self.fields}
        if "245" in tags:
            return "marc21"
        if "200" in tags:
            return "cnmarc"
        return "marc21"


# -- ISO 2709 -------------------------------------------------------------------------

ENCODINGS = ("utf-8", "gb18030", "marc-8")


def _first_bad_utf8(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return None


RawFields = list[tuple[str, bytes]]  # (tag, data) as `iso2709.parse_fields` splits them


def detect_encoding(leader: bytes, fields: RawFields, chunk: bytes, flavour: str) -> str:
    """Pick the charset from the bytes: ESC means MARC-8, valid UTF-8 means UTF-8,
    valid GB18030 in a CNMARC record means GB18030, and so it does in a MARC 21 record with
    a blank leader/09 when its high bytes are CJK text (`looks_like_gb_text`) — otherwise
    such a record is MARC-8 without escapes; anything else is refused."""
    if b"\x1b" in chunk:
        return "marc-8"
    if chunk.isascii():  # no evidence either way: believe the leader
        return "marc-8" if flavour == "marc21" and leader[9:10] != b"a" else "utf-8"
    bad = _first_bad_utf8(chunk)
    if bad is None:
        return "utf-8"
    try:
        chunk.decode("gb18030")
    except UnicodeDecodeError:
        gb = False
    else:
        gb = True
        if flavour == "cnmarc":
            return "gb18030"
    if flavour == "marc21" and leader[9:10] != b"a":
        # Blank leader/09 says MARC-8, but GBK exports leave it blank too.  No escape
        # sequence came before, so the bytes decide: Chinese text is high bytes in pairs
        # (GBK characters), MARC-8 without escapes is ANSEL — a high byte (a diacritic)
        # before an ASCII letter — which GB18030 may also accept but never as mostly CJK.
        if gb and looks_like_gb_text(chunk):
            return "gb18030"
        return "marc-8"
    field_tag = _field_at(fields, chunk, bad)
    raise RecordError(
        f"invalid UTF-8 at byte {bad}{field_tag}: the record claims UTF-8 (leader/09 'a') "
        "but is not; if this source exports GBK set `encoding: gb18030` for it"
        if flavour == "marc21"
        else f"invalid UTF-8 at byte {bad}{field_tag} and not valid GB18030 either: "
        "the text is damaged; check the export settings of this source"
    )


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x3000 <= o <= 0x30FF
            or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x2FFFF or 0xF900 <= o <= 0xFAFF)


def looks_like_gb_text(chunk: bytes, share: float = 0.6) -> bool:
    """True when the record's high bytes read as text in GB18030 and not as ANSEL (MARC-8
    without escapes).  It must decode, hold a CJK character, and at least `share` of its
    high bytes must be in characters ANSEL cannot produce: a pair with a high trail byte
    (ANSEL puts an ASCII letter after a diacritic), a pair led by 0x81-0xA0 (no ANSEL
    characters there), or a four-byte GB18030 sequence.  A pair of a high byte and an
    ASCII byte is what ANSEL looks like, so it counts for neither."""
    try:
        text = chunk.decode("gb18030")
    except UnicodeDecodeError:
        return False
    high = sum(1 for b in chunk if b >= 0x80)
    evidence = 0
    cjk = False
    for ch in text:
        if ord(ch) < 0x80:
            continue
        cjk = cjk or _is_cjk(ch)
        enc = ch.encode("gb18030")
        if len(enc) == 4 or (len(enc) == 2 and (enc[1] >= 0x80 or enc[0] <= 0xA0)):
            evidence += 2  # a four-byte sequence has two high bytes too
    return cjk and evidence >= share * high


def _field_at(fields: RawFields, chunk: bytes, offset: int) -> str:
    for tag, data in fields:
        pos = chunk.find(data)
        if pos != -1 and pos <= offset < pos + len(data):
            return f" (field {tag})"
    return ""


def _check_declared(chunk: bytes, fields: RawFields, encoding: str) -> None:
    """A configured encoding is a promise; a record that breaks it is quarantined, named."""
    if encoding == "utf-8":
        bad = _first_bad_utf8(chunk)
        if bad is not None:
            raise RecordError(
                f"invalid UTF-8 at byte {bad}{_field_at(fields, chunk, bad)} although the "
                "source is configured `encoding: utf-8`; set `encoding: auto` (or gb18030) if "
                "this library exports GBK"
            )
    elif encoding == "gb18030":
        if not chunk.isascii() and _first_bad_utf8(chunk) is None:
            raise RecordError(
                "record is UTF-8 although the source is configured `encoding: gb18030` — "
                "reading it as GB18030 would garble every Chinese character; set "
                "`encoding: auto` or `utf-8`"
            )
        try:
            chunk.decode("gb18030")
        except UnicodeDecodeError as e:
            raise RecordError(
                f"invalid GB18030 at byte {e.start} although the source is configured "
                "`encoding: gb18030`; try `encoding: auto`"
            ) from None


def _decoder(encoding: str) -> Callable[[bytes], str]:
    if encoding == "marc-8":
        def dec(b: bytes) -> str:
            try:
                return marc8.decode(b)
            except marc8.Marc8Error as e:
                raise RecordError(str(e)) from None
        return dec
    codec = "utf-8" if encoding == "utf-8" else "gb18030"

    def text(b: bytes) -> str:
        try:
            return _clean(b.decode(codec))
        except UnicodeDecodeError as e:
            # The record as a whole decodes, so the directory cuts a field inside a
            # character: its lengths were counted in characters, not bytes.
            raise RecordError(
                f"a field starts or ends inside a {encoding} character (byte {e.start} of "
                f"{b[:40]!r}): the directory's field lengths do not count bytes; fix the "
                "export (lengths must be in bytes) and harvest again"
            ) from None
    return text


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def _clean(text: str) -> str:
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def decode_iso2709(chunk: bytes, encoding: str = "auto", flavour: str = "auto") -> Marc:
    """Bytes of one ISO 2709 record → `Marc`, or RecordError with the reason."""
    try:
        leader, raw_fields = iso2709.parse_fields(chunk)
    except iso2709.MarcStructureError as e:
        raise RecordError(str(e)) from None
    shape = flavour if flavour in ("marc21", "cnmarc") else _shape(raw_fields)
    if encoding in ("auto", ""):
        encoding = detect_encoding(leader, raw_fields, chunk, shape)
    else:
        _check_declared(chunk, raw_fields, encoding)
    return Marc(leader=leader.decode("latin-1"), fields=_decode_fields(raw_fields, encoding),
                encoding=encoding)


def _shape(raw_fields: RawFields) -> str:
    tags = {tag for tag, _ in raw_fields}
    return "marc21" if "245" in tags else "cnmarc" if "200" in tags else "marc21"


def _decode_fields(raw_fields: RawFields, encoding: str) -> list[Field]:
    """UTF-8 and GB18030: the whole record's fields are decoded at once and split into
    fields and subfields as text (see `_text_fields`).  MARC-8 goes subfield by subfield,
    as an escape sequence's effect ends with the subfield."""
    dec = _decoder(encoding)
    if encoding != "marc-8":
        joined = b"\x1e".join(data for _, data in raw_fields)
        try:
            texts = joined.decode("utf-8" if encoding == "utf-8" else "gb18030").split("\x1e")
        except UnicodeDecodeError:
            texts = []  # a field cut inside a character: the subfield-by-subfield path decides
        if len(texts) == len(raw_fields):  # no field holds a stray 0x1E of its own
            return _text_fields(raw_fields, texts, _plain(joined), dec)
    return [_bytes_field(tag, data, dec) for tag, data in raw_fields]


def _text_fields(raw_fields: RawFields, texts: list[str], plain: bool,
                 dec: Callable[[bytes], str]) -> list[Field]:
    """Fields from their decoded texts, the same as decoding each subfield: bytes 0x1D-0x1F
    never occur inside a UTF-8 or GB18030 character, so every delimiter and terminator is a
    character boundary, and ASCII (indicators, subfield codes) decodes to itself."""
    fields: list[Field] = []
    for (tag, data), text in zip(raw_fields, texts, strict=True):
        if tag < "010" and tag.isdigit():
            fields.append(Field(tag, value=_clean(text)))
            continue
        ind = text[:2]
        if "\x1f" in ind or not ind.isascii():  # not two indicator bytes: go byte by byte
            fields.append(_bytes_field(tag, data, dec))
            continue
        pieces = text.split("\x1f")
        del pieces[0]  # the indicators, and any text before the first delimiter
        subs = [(p[0], p[1:]) for p in pieces if p] if plain else _subfields(pieces)
        ind = ind.ljust(2)
        fields.append(Field(tag, ind[0], ind[1], subs))
    return fields


# Control bytes other than the delimiter, and a delimiter not followed by a subfield code
# (nor by another delimiter or a field's end: those make empty pieces, which are dropped).
_CONTROL_BYTES = bytes(range(0x1E)) + b"\x7f"
_STRAY = re.compile(rb"\x1f[^!-~\x1e\x1f]")


def _plain(joined: bytes) -> bool:
    """True when no subfield needs `_clean` or the stray-delimiter rule: one check of the
    record's field bytes, joined with 0x1E (which none of them holds), instead of one per
    subfield."""
    return (len(joined.translate(None, _CONTROL_BYTES)) == len(joined)
            and _STRAY.search(joined) is None)


def _subfields(pieces: list[str]) -> list[tuple[str, str]]:
    """`iso2709.RawField.subfields` on a field's text split at its delimiters (the piece
    before the first one left out), each value cleaned."""
    out: list[tuple[str, str]] = []
    for piece in pieces:
        if piece and "!" <= piece[0] <= "~":
            out.append((piece[0], piece[1:]))
        elif out:  # stray delimiter: the text runs on
            code, value = out[-1]
            out[-1] = (code, value + piece)
    return [(code, _clean(value)) for code, value in out]


def _bytes_field(tag: str, data: bytes, dec: Callable[[bytes], str]) -> Field:
    """One field split as bytes and decoded subfield by subfield."""
    f = iso2709.RawField(tag, data)
    if f.is_control:
        return Field(tag, value=dec(data))
    ind = f.indicators.decode("latin-1").ljust(2)
    return Field(tag, ind[0], ind[1], [(code, dec(value)) for code, value in f.subfields()])


# -- MARCXML ----------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_XML_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")


def declared_xml_encoding(data: bytes) -> str:
    """The encoding an XML declaration names ('' when there is none)."""
    m = _XML_DECLARED.match(data.lstrip(b"\xef\xbb\xbf")[:512])
    return m.group(1).decode("ascii", "replace") if m else ""


def parse_xml(data: bytes, what: str = "") -> ET.Element:
    """An XML document's root, or RecordError with the reason — never another exception.

    Expat reads only single-byte encodings and UTF-8/16: a declared `encoding="GBK"` raises
    ValueError, an unknown name LookupError, and absurd nesting RecursionError; each is this
    record's problem, not the harvest's, so each becomes the quarantine reason."""
    prefix = f"{what}: " if what else ""
    try:
        root: ET.Element = SafeET.fromstring(data)
        return root
    except (ET.ParseError, DefusedXmlException) as e:
        raise RecordError(f"{prefix}not well-formed XML: {e}") from None
    except (ValueError, LookupError) as e:
        declared = declared_xml_encoding(data)
        raise RecordError(
            f"{prefix}XML declares encoding {declared or '?'!r}, which cannot be read ({e}); "
            "MARCXML must be UTF-8 (ask the library to export UTF-8)"
        ) from None
    except RecursionError:
        raise RecordError(f"{prefix}XML nested too deeply to read") from None


def marcxml_records(data: bytes) -> Iterator[ET.Element]:
    """Every <record> with a <leader> in a document: a MARCXML collection, a single record,
    UNIMARC/CNMARC slim, marcxchange, or records wrapped in an SRU or OAI-PMH response."""
    root = parse_xml(data)
    for el in root.iter():
        if _local(el.tag) == "record" and any(_local(c.tag) == "leader" for c in el):
            yield el


def decode_marcxml(el: ET.Element) -> Marc:
    leader = ""
    fields: list[Field] = []
    for child in el:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            fields.append(Field(child.get("tag", ""), value=_clean(child.text or "")))
        elif name == "datafield":
            subs = [(s.get("code", ""), _clean(s.text or "")) for s in child
                    if _local(s.tag) == "subfield"]
            fields.append(Field(child.get("tag", ""), (child.get("ind1") or " ")[:1],
                                (child.get("ind2") or " ")[:1], subs))
    if not fields:
        raise RecordError("MARCXML record has no fields")
    return Marc(leader=leader.replace("-", " ").ljust(24)[:24], fields=fields,
                encoding="utf-8")
