"""Turn bytes (a file, or one record from a connector) into decoded records or reasons.

Like pymarc's permissive reader, a broken record never stops the stream: it comes out as
a `Parsed` with `error` set and its raw bytes, so the caller can quarantine it and go on.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from harvest import iso2709
from harvest.marc import Marc, RecordError, decode_iso2709, decode_marcxml, marcxml_records


@dataclass
class Parsed:
    position: int  # 1-based record number in the input
    offset: int | None  # byte offset in the input, for ISO 2709
    raw: bytes
    marc: Marc | None = None
    error: str = ""


def looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def read(data: bytes, encoding: str = "auto", flavour: str = "auto") -> Iterator[Parsed]:
    """Every record in `data` (ISO 2709 stream or an XML document holding MARCXML)."""
    if looks_like_xml(data):
        yield from _read_xml(data)
        return
    n = 0
    for offset, chunk in iso2709.split_records(data):
        n += 1
        try:
            yield Parsed(n, offset, chunk, decode_iso2709(chunk, encoding, flavour))
            continue
        except RecordError as e:
            parts = _resync(chunk)
            if len(parts) == 1:
                yield Parsed(n, offset, chunk, error=str(e))
                continue
        for k, (sub_offset, part) in enumerate(parts):
            try:
                marc = decode_iso2709(part, encoding, flavour)
                yield Parsed(n + k, offset + sub_offset, part, marc)
            except RecordError as e:
                yield Parsed(n + k, offset + sub_offset, part, error=str(e))
        n += len(parts) - 1


# A leader: 5-digit length, status, type, level, …, indicator/subfield counts, base address.
_LEADER = re.compile(rb"\d{5}[a-z ][a-z ][a-z ][a-z ]?.[0-9 ][0-9 ]\d{5}")


def _resync(chunk: bytes) -> list[tuple[int, bytes]]:
    """A truncated record runs into the next one (no terminator between them).  When a
    chunk fails to parse and a complete record starts inside it, split it there, so only
    the damaged record is quarantined and its neighbour goes through."""
    try:
        iso2709.parse(chunk)
        return [(0, chunk)]
    except iso2709.MarcStructureError:
        pass
    for m in _LEADER.finditer(chunk, 1):
        start = m.start()
        if int(chunk[start : start + 5]) == len(chunk) - start:
            try:
                iso2709.parse(chunk[start:])
            except iso2709.MarcStructureError:
                continue
            return [(0, chunk[:start]), (start, chunk[start:])]
    return [(0, chunk)]


def _read_xml(data: bytes) -> Iterator[Parsed]:
    try:
        elements = list(marcxml_records(data))
    except RecordError as e:
        yield Parsed(1, None, data, error=str(e))
        return
    if not elements:
        yield Parsed(1, None, data, error="XML document holds no MARCXML <record> with a <leader>")
    for n, el in enumerate(elements, start=1):
        raw = ET.tostring(el, encoding="utf-8")
        try:
            yield Parsed(n, None, raw, decode_marcxml(el))
        except RecordError as e:
            yield Parsed(n, None, raw, error=str(e))


def read_one(data: bytes, syntax: str, encoding: str = "auto",
             flavour: str = "auto") -> Marc:
    """One record as a connector returned it; RecordError if it cannot be read."""
    parsed = list(read(data, encoding, flavour))
    if len(parsed) != 1:
        raise RecordError(f"expected one {syntax} record, found {len(parsed)}")
    if parsed[0].marc is None:
        raise RecordError(parsed[0].error)
    return parsed[0].marc
