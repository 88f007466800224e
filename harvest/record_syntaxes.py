"""Z39.50 record syntaxes that are not plain MARC: OPAC and SUTRS.

Some member servers answer only in OPAC syntax (a bibliographic record plus holdings with
circulation data) or in SUTRS (plain text).  An OPAC record is read for its bibliographic
part — the ISO 2709 bytes exactly as the server sent them, so encoding detection works on
them as on any MARC record — and its holdings become the record's copies when the MARC
itself has none.  A SUTRS record is text for people, not a catalogue record: it is a record
error that says which syntax to configure instead, never "bad leader".

YAZ renders an OPAC record raw as ``<opacRecord><bibliographicRecord>`` + the record in its
own syntax (ISO 2709, or XML) + ``</bibliographicRecord><holdings>…</holdings>``; the ISO
2709 part is cut out by its own length, so bytes that look like markup inside it are safe.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from connectors.base import LiveItem, RawRecord
from connectors.z3950 import parse_opac
from core.model import Holding
from harvest.marc import RecordError

_BIB_OPEN = b"<bibliographicRecord>"
_BIB_CLOSE = b"</bibliographicRecord>"


def sutrs_reason(source: str, raw: RawRecord) -> str:
    """Why a SUTRS record cannot be harvested, and what to do about it."""
    rid = raw.record_id or f"#{raw.position}"
    return (f"source {source}, record {rid}: the server sent SUTRS (plain text), which is "
            "not a catalogue record Tongjian can read; set the source's `record_syntax:` to "
            "one this server offers (usmarc, unimarc, marcxml or opac — `tongjian source "
            "probe ADDRESS` lists them) and harvest again")


def split_opac(data: bytes) -> tuple[bytes, tuple[LiveItem, ...]]:
    """An OPAC record → (its bibliographic record's bytes, its copies); RecordError when it
    has no bibliographic part or its holdings cannot be read."""
    start = data.find(_BIB_OPEN)
    if start < 0:
        raise RecordError("OPAC record without a bibliographic part (<bibliographicRecord>)")
    start += len(_BIB_OPEN)
    while start < len(data) and data[start] in b" \t\r\n":
        start += 1
    if data[start:start + 1] == b"<":  # the bibliographic record came as XML
        end = data.find(_BIB_CLOSE, start)
        if end < 0:
            raise RecordError("OPAC record: its XML bibliographic part is not closed")
        bib = data[start:end].rstrip()
    else:
        head = data[start:start + 5]
        if not head.isdigit():
            raise RecordError(f"OPAC record: bibliographic part starts with {head!r}, "
                              "neither ISO 2709 (a 5-digit record length) nor XML")
        bib = data[start:start + int(head)]
        end = start + len(bib)
    rest = data[end:]
    lo, hi = rest.find(b"<holdings>"), rest.rfind(b"</holdings>")
    if lo < 0 or hi < lo:
        return bib, ()
    try:
        items = parse_opac(b"<opacRecord>" + rest[lo:hi + len(b"</holdings>")] + b"</opacRecord>")
    except (ParseError, DefusedXmlException) as e:
        raise RecordError(f"OPAC record: its holdings are not readable XML ({e})") from None
    return bib, items


def holdings(items: tuple[LiveItem, ...], library: str) -> list[Holding]:
    """OPAC copies as holdings; the status in words `core.status` reads back (the English
    code, with the due date of a copy on loan)."""
    out = []
    for item in items:
        status = item.status.code.replace("_", " ")
        if item.status.due_date:
            status += f", due {item.status.due_date}"
        out.append(Holding(library=library, location=item.location,
                           call_number=item.call_number, barcode=item.barcode, status=status))
    return out
