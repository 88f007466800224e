"""A real OAI-PMH 2.0 data provider on loopback, for the demo and the tests.

pyoai's server (``oaipmh.server``) writes the protocol — envelopes, headers, argument
validation, error elements, the oai_dc writer — over an item table kept here, served by
wsgiref in a background thread.  Two pieces of pyoai are replaced, each for a reason:

* resumption: pyoai 2.5 decodes tokens with ``cgi.parse_qs``, which Python 3.8 removed,
  so every request with a token fails.  Tokens here are keyset tokens (the last identifier
  served), so items added, changed or deleted during a harvest never shift a page and make
  a harvester skip a record, as cursor tokens do;
* day granularity: pyoai always writes seconds; a ``YYYY-MM-DD`` repository writes days
  and, as §3.3.1 asks, refuses a finer ``from``/``until`` with badArgument.

It also serves the digitized objects its records link to (``/objects/<id>.pdf|jpg|png``),
made in memory: the id is looked up in the item table, nothing from the request ever
reaches the filesystem.

Failure switches for tests: ``fail_next`` (HTTP 503 + Retry-After), ``break_record``
(escaped XML instead of a metadata element, in an otherwise good page), ``expire_tokens``
(badResumptionToken for every token issued so far), ``stop()`` at any moment.

``local_documents(seed, n)`` makes a seeded collection of Shaanxi 地方文献 — county
gazetteers old and new, local histories, 族谱, 碑刻拓片, Republican newspapers, old
photographs.  Realistic, not authoritative: people's names and ISBNs are invented (ISBNs
with the publishers' real registrant prefixes and valid check digits, a few deliberately
wrong, as in real catalogues).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree

with warnings.catch_warnings():  # pyoai imports cgi (deprecated; only parse_qs was used)
    warnings.simplefilter("ignore", DeprecationWarning)
    from oaipmh import common, error, metadata
    from oaipmh.server import NS_OAIDC, NS_XSI, ServerBase, XMLTreeServer, nsoai, oai_dc_writer

DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_FIELDS = ("title", "creator", "subject", "description", "publisher", "contributor",
             "date", "type", "format", "identifier", "source", "language", "relation",
             "coverage", "rights")

# prefix → (schema, namespace); MARC items are offered under both names repositories use.
FORMATS: dict[str, tuple[str, str]] = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", NS_OAIDC),
    "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS),
    "marcxml": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS),
}
OBJECT_TYPES: dict[str, str] = {"pdf": "application/pdf", "jpg": "image/jpeg",
                                "png": "image/png"}
_OBJECT_PATH = re.compile(r"/objects/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.(pdf|jpg|png)")
_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


# -- items --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One record in the repository.  ``metadata`` is a Dublin Core dict (element name →
    values) or MARCXML bytes; None for an item known only as deleted.  ``objects`` are
    the file types of its digitized object (``("pdf", "jpg")``), linked from its DC."""

    identifier: str
    datestamp: datetime  # naive UTC, as pyoai wants it
    sets: tuple[str, ...] = ()
    deleted: bool = False
    metadata: Mapping[str, tuple[str, ...]] | bytes | None = None
    objects: tuple[str, ...] = ()

    @property
    def object_id(self) -> str:
        local = self.identifier.rsplit(":", 1)[-1]
        if _OBJECT_ID.fullmatch(local):
            return local
        return "x" + hashlib.sha1(self.identifier.encode()).hexdigest()[:16]  # noqa: S324

    def formats(self) -> tuple[str, ...]:
        if self.metadata is None:
            return ()
        if isinstance(self.metadata, bytes):
            return ("oai_dc", "marc21", "marcxml")  # oai_dc for every item (§3.4)
        return ("oai_dc",)


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    text = value.strip().rstrip("Z")
    return datetime.fromisoformat(text if "T" in text else text + "T00:00:00")


def _dc_dict(values: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in values.items():
        if key not in DC_FIELDS:
            raise ValueError(f"{key!r} is not a Dublin Core element ({', '.join(DC_FIELDS)})")
        out[key] = (value,) if isinstance(value, str) else tuple(value)
    return out


def as_item(value: Item | Mapping[str, Any]) -> Item:
    """An Item from an Item or a dict with the same keys (datestamps may be strings)."""
    item = value if isinstance(value, Item) else Item(**dict(value))
    meta = item.metadata
    if meta is not None and not isinstance(meta, bytes):
        meta = _dc_dict(meta)
    bad = [o for o in item.objects if o not in OBJECT_TYPES]
    if bad:
        raise ValueError(f"{item.identifier}: object types must be among {sorted(OBJECT_TYPES)}")
    return replace(item, datestamp=_utc(item.datestamp), sets=tuple(item.sets),
                   metadata=meta, objects=tuple(item.objects))


# -- metadata writers ---------------------------------------------------------------------


class _Metadata(common.Metadata):
    """What pyoai hands the writers: the DC map, plus the item and whether to break it."""

    def __init__(self, item: Item, dc: dict[str, list[str]], broken: bool) -> None:
        super().__init__(None, dc)
        self.item = item
        self.broken = broken


def dc_map(item: Item, root_url: str) -> dict[str, list[str]]:
    """The item's DC with links to its digitized objects, built from the URL it is served
    at (the same item gets new links when the repository moves to another port)."""
    meta = item.metadata
    dc = ({k: list(v) for k, v in meta.items()} if isinstance(meta, Mapping)
          else marc_to_dc(meta) if isinstance(meta, bytes) else {})
    for ext in item.objects:
        dc.setdefault("identifier", []).append(f"{root_url}/objects/{item.object_id}.{ext}")
    return dc


def dc_element(dc: Mapping[str, Iterable[str]]) -> etree._Element:
    """<oai_dc:dc> by pyoai's writer, with the schemaLocation it gets wrong (it names the DC
    elements namespace instead of oai_dc's)."""
    scratch = etree.Element("scratch")
    oai_dc_writer(scratch, common.Metadata(None, {k: list(v) for k, v in dc.items()}))
    el = scratch[0]
    el.set(f"{{{NS_XSI}}}schemaLocation",
           f"{NS_OAIDC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    return el


def dc_bytes(item: Item, root_url: str) -> bytes:
    """The oai_dc document the repository serves for ``item`` (tests, crosswalk demos)."""
    return etree.tostring(dc_element(dc_map(item, root_url)), encoding="UTF-8")


def _write_dc(element: etree._Element, meta: _Metadata) -> None:
    dc = dc_element(meta.getMap())
    if meta.broken:  # a repository that escaped its XML: text, not an element
        element.text = etree.tostring(dc, encoding="unicode")
    else:
        element.append(dc)


_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _marc_record(data: bytes) -> etree._Element:
    root = etree.fromstring(data, _SAFE)
    if root.tag == f"{{{MARC_NS}}}record":
        return root
    found = root.find(f".//{{{MARC_NS}}}record")
    if found is None:
        raise ValueError("no MARC21 slim <record> in the item's metadata")
    return found


def _write_marc(element: etree._Element, meta: _Metadata) -> None:
    data = meta.item.metadata
    assert isinstance(data, bytes)
    record = _marc_record(data)
    if meta.broken:
        element.text = etree.tostring(record, encoding="unicode")
    else:
        element.append(record)


# MARC 21 → simple DC for oai_dc, which every item must offer: (tag, codes, DC element).
MARC_TO_DC: tuple[tuple[str, str, str], ...] = (
    ("245", "ab", "title"), ("100", "a", "creator"), ("110", "a", "creator"),
    ("700", "a", "contributor"), ("260", "b", "publisher"), ("264", "b", "publisher"),
    ("260", "c", "date"), ("264", "c", "date"), ("020", "a", "identifier"),
    ("650", "a", "subject"), ("651", "a", "coverage"), ("520", "a", "description"),
    ("041", "a", "language"),
)


def marc_to_dc(data: bytes) -> dict[str, list[str]]:
    record = _marc_record(data)
    dc: dict[str, list[str]] = {}
    for tag, codes, element in MARC_TO_DC:
        for df in record.iterfind(f"{{{MARC_NS}}}datafield[@tag='{tag}']"):
            parts = [(sf.text or "").strip() for sf in df.iterfind(f"{{{MARC_NS}}}subfield")
                     if sf.get("code") in codes]
            text = " ".join(p for p in parts if p).strip(" /:;,.")
            if text:
                dc.setdefault(element, []).append(("ISBN " + text) if tag == "020" else text)
    dc.setdefault("type", ["Text"])
    return dc


# -- resumption tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """What the XML gets: the token text (empty on the last page) and its attributes."""

    text: str
    cursor: int
    size: int


def _encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, generation: int) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
        ok = isinstance(state, dict) and isinstance(state.get("a"), str)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise error.BadResumptionTokenError("This resumptionToken is invalid")
    if state.get("g") != generation:
        raise error.BadResumptionTokenError("This resumptionToken has expired")
    return state


def _stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


# -- pyoai glue -------------------------------------------------------------------------


class _Provider(common.ResumptionOAIPMH):
    """pyoai's resumption-capable server interface over the repository's item table."""

    def __init__(self, repo: OAIRepository) -> None:
        self.repo = repo

    def handleVerb(self, verb: str, kw: dict[str, Any]) -> Any:  # noqa: N802 - pyoai's name
        handler: Callable[[dict[str, Any]], Any] = {
            "Identify": self._identify, "ListMetadataFormats": self._formats,
            "ListSets": self._sets, "GetRecord": self._get_record,
            "ListRecords": self._list, "ListIdentifiers": self._list,
        }[verb]
        return handler(dict(kw, verb=verb))

    def _identify(self, _kw: dict[str, Any]) -> common.Identify:
        repo = self.repo
        items = repo.items
        earliest = min((i.datestamp for i in items), default=datetime(1970, 1, 1))
        ident = common.Identify(repo.repository_name, repo.base_url, "2.0",
                                [repo.admin_email], earliest, "persistent", repo.granularity,
                                ["identity"], toolkit_description=False)
        sample = items[0].identifier if items else f"oai:{repo.repository_id}:1"
        ident.add_description(
            '<oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier">'
            f"<scheme>oai</scheme><repositoryIdentifier>{repo.repository_id}"
            "</repositoryIdentifier><delimiter>:</delimiter>"
            f"<sampleIdentifier>{sample}</sampleIdentifier></oai-identifier>")
        return ident

    def _formats(self, kw: dict[str, Any]) -> list[tuple[str, str, str]]:
        identifier = kw.get("identifier")
        if identifier is None:
            prefixes: Iterable[str] = FORMATS
        else:
            prefixes = self._item(identifier).formats()
            if not prefixes:
                raise error.NoMetadataFormatsError(f"no formats for {identifier}")
        return [(p, *FORMATS[p]) for p in prefixes]

    def _item(self, identifier: str) -> Item:
        item = self.repo.get(identifier)
        if item is None:
            raise error.IdDoesNotExistError(f"{identifier} is not in this repository")
        return item

    def _get_record(self, kw: dict[str, Any]) -> tuple[common.Header, _Metadata, None]:
        item = self._item(kw["identifier"])
        prefix = kw["metadataPrefix"]
        if not item.deleted and prefix not in item.formats():
            raise error.CannotDisseminateFormatError(f"{item.identifier} has no {prefix}")
        return self._triple(item, prefix)

    def _triple(self, item: Item, prefix: str) -> tuple[common.Header, _Metadata, None]:
        header = common.Header(None, item.identifier, item.datestamp, list(item.sets),
                               item.deleted)
        broken = item.identifier in self.repo.broken
        meta = _Metadata(item, dc_map(item, self.repo.root_url), broken)
        return header, meta, None

    def _sets(self, kw: dict[str, Any]) -> tuple[list[tuple[str, str, None]], _Token | None]:
        specs = self.repo.set_specs()
        if not specs:
            raise error.NoSetHierarchyError("This repository does not support sets")
        after = ""
        if "resumptionToken" in kw:
            after = _decode_token(kw["resumptionToken"], self.repo.generation)["a"]
        rest = [s for s in specs if s > after]
        page = rest[: self.repo.page_size]
        token = self._token({"v": "ListSets"}, page[-1] if page else after, len(specs),
                            len(specs) - len(rest), more=len(rest) > len(page),
                            resumed="resumptionToken" in kw)
        return [(s, self.repo.set_name(s), None) for s in page], token

    def _list(self, kw: dict[str, Any]) -> tuple[list[Any], _Token | None]:
        if "resumptionToken" in kw:
            state = _decode_token(kw["resumptionToken"], self.repo.generation)
            if state.get("v") != kw["verb"]:
                raise error.BadResumptionTokenError("This resumptionToken is for another verb")
            prefix, set_spec = state["p"], state.get("s")
            from_ = _utc(state["f"]) if state.get("f") else None
            until = _utc(state["u"]) if state.get("u") else None
            after = state["a"]
        else:
            prefix, set_spec = kw["metadataPrefix"], kw.get("set")
            from_, until, after = kw.get("from_"), kw.get("until"), ""
        if prefix not in FORMATS:
            raise error.CannotDisseminateFormatError(f"unknown metadataPrefix {prefix}")
        if set_spec and not self.repo.set_specs():
            raise error.NoSetHierarchyError("This repository does not support sets")
        selected = [i for i in self.repo.items
                    if (i.deleted or prefix in i.formats())
                    and (not set_spec or _in_set(i, set_spec))
                    and (from_ is None or i.datestamp >= from_)
                    and (until is None or i.datestamp <= until)]
        rest = [i for i in selected if i.identifier > after]
        page = rest[: self.repo.page_size]
        state = {"v": kw["verb"], "p": prefix, "s": set_spec, "f": _stamp(from_),
                 "u": _stamp(until)}
        token = self._token(state, page[-1].identifier if page else after, len(selected),
                            len(selected) - len(rest), more=len(rest) > len(page),
                            resumed="resumptionToken" in kw)
        if kw["verb"] == "ListIdentifiers":
            return [self._triple(i, prefix)[0] for i in page], token
        return [self._triple(i, prefix) for i in page], token

    def _token(self, state: dict[str, Any], after: str, size: int, cursor: int, *,
               more: bool, resumed: bool) -> _Token | None:
        """The next page's token; an empty one ends a list that was resumed (§3.5)."""
        if more:
            text = _encode_token(dict(state, a=after, g=self.repo.generation))
            return _Token(text, cursor, size)
        return _Token("", cursor, size) if resumed else None


def _in_set(item: Item, spec: str) -> bool:
    """Set membership with hierarchy: an item in ``a:b`` is also in ``a`` (§2.7.2)."""
    return any(s == spec or s.startswith(spec + ":") for s in item.sets)


class _TreeServer(XMLTreeServer):
    """pyoai's XML writer with its broken token decoding replaced (see module docstring)
    and cursor/completeListSize written on the resumptionToken."""

    def _outputResuming(self, element: etree._Element, input_func: Callable[..., Any],  # noqa: N802
                        output_func: Callable[..., None], kw: dict[str, Any]) -> None:
        if "resumptionToken" in kw:
            result, token = input_func(resumptionToken=kw["resumptionToken"])
            state = _decode_token(kw["resumptionToken"], self._server.repo.generation)
            token_kw = {"metadataPrefix": state.get("p")}
        else:
            result, token = input_func(**kw)
            if not result:
                raise error.NoRecordsMatchError("No records match for request.")
            token_kw = kw
        output_func(element, result, token_kw)
        if token is not None:
            e_token = etree.SubElement(element, nsoai("resumptionToken"))
            e_token.set("completeListSize", str(token.size))
            e_token.set("cursor", str(token.cursor))
            e_token.text = token.text or None


class _Server(ServerBase):
    """pyoai's request handling, writing datestamps in the repository's granularity."""

    def __init__(self, provider: _Provider, registry: metadata.MetadataRegistry,
                 granularity: str) -> None:
        super().__init__(provider, registry)
        self._tree_server = _TreeServer(provider, registry)
        self.granularity = granularity

    def handleVerb(self, verb: str, kw: dict[str, Any]) -> bytes:  # noqa: N802 - pyoai's name
        tree = common.getMethodForVerb(self._tree_server, verb)(**kw)
        root = tree.getroot()
        if self.granularity == DAY:
            for el in root.iter(nsoai("datestamp"), nsoai("earliestDatestamp")):
                el.text = (el.text or "")[:10]
            request = root.find(nsoai("request"))
            for key in ("from", "until"):
                if request is not None and request.get(key):
                    request.set(key, request.get(key, "")[:10])
        return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)

    def error_response(self, exc: error.ErrorBase) -> bytes:
        return self.handleException({}, (type(exc), exc, None))


# -- tiny digitized objects ------------------------------------------------------------------


def pdf_bytes(object_id: str, title: str = "") -> bytes:
    """A one-page PDF naming the object; the title goes in the document info as UTF-16."""
    info_title = "<FEFF" + (title or object_id).encode("utf-16-be").hex().upper() + ">"
    text = f"Tongjian demo object {object_id}".encode("ascii")
    stream = b"BT /F1 16 Tf 40 540 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title " + info_title.encode("ascii") + b" /Producer (Tongjian) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, len(objects), xref))
    return bytes(out)


def _colour(object_id: str) -> tuple[int, int, int]:
    """A muted paper-like colour per object, so covers in the portal are told apart."""
    h = hashlib.sha256(object_id.encode()).digest()
    return 150 + h[0] % 80, 130 + h[1] % 80, 100 + h[2] % 70


def png_bytes(object_id: str, width: int = 60, height: int = 80) -> bytes:
    """A small cover: the object's colour inside a darker border."""
    r, g, b = _colour(object_id)
    inner, edge = bytes((r, g, b)), bytes((r // 2, g // 2, b // 2))
    rows = []
    for y in range(height):
        border_row = y < 3 or y >= height - 3
        row = b"".join(edge if border_row or x < 3 or x >= width - 3 else inner
                       for x in range(width))
        rows.append(b"\x00" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


# Standard luminance DC Huffman table (JPEG Annex K.3): code counts per length, symbols.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))


def _huffman(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    codes, code, k = {}, 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code, k = code + 1, k + 1
        code <<= 1
    return codes


def jpeg_bytes(object_id: str, width: int = 48, height: int = 64) -> bytes:
    """A baseline JPEG of one flat colour: every 8×8 block is its DC coefficient and an
    end-of-block, which is all a valid JPEG needs (no image library in the demo)."""
    r, g, b = _colour(object_id)
    ycc = (0.299 * r + 0.587 * g + 0.114 * b,
           128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
           128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
    dcs = [max(-1024, min(1016, round(8 * (v - 128)))) for v in ycc]  # quantizer 1
    dc_codes = _huffman(_DC_BITS, _DC_VALUES)
    acc, nbits, out = 0, 0, bytearray()

    def put(value: int, length: int) -> None:
        nonlocal acc, nbits
        acc, nbits = (acc << length) | (value & ((1 << length) - 1)), nbits + length
        while nbits >= 8:
            nbits -= 8
            byte = (acc >> nbits) & 0xFF
            out.append(byte)
            if byte == 0xFF:
                out.append(0)  # byte stuffing

    blocks = (width // 8) * (height // 8)
    for n in range(blocks):
        for dc in dcs:
            diff = dc if n == 0 else 0  # DC is coded as the difference to the last block
            size = abs(diff).bit_length()
            put(*dc_codes[size])
            if size:
                put(diff if diff >= 0 else diff + (1 << size) - 1, size)
            put(0, 1)  # EOB: the AC table's only code is "0"
    if nbits:
        put((1 << (8 - nbits)) - 1, 8 - nbits)  # pad with 1 bits

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    components = b"".join(bytes((c, 0x11, 0)) for c in (1, 2, 3))
    return (b"\xff\xd8"
            + segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xFFDB, b"\x00" + b"\x01" * 64)
            + segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 3) + components)
            + segment(0xFFC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES)
                      + b"\x10" + bytes((1,) + (0,) * 15) + b"\x00")
            + segment(0xFFDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
            + bytes(out) + b"\xff\xd9")


# -- HTTP ---------------------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class OAIRepository:
    """An OAI-PMH repository over ``items`` at ``base_url`` (``http://127.0.0.1:<port>/oai``).

    Use as a context manager, or ``start()``/``stop()``; ``start()`` after ``stop()``
    serves again on the same port (a repository that comes back).  Items change at
    runtime through ``add``/``modify``/``delete``, each with a new datestamp from the
    repository's clock, so incremental harvests and deletion notices can be exercised.
    """

    def __init__(self, items: Iterable[Item | Mapping[str, Any]] = (), port: int = 0,
                 page_size: int = 10, repository_name: str = "统检演示 · 陕西地方文献库",
                 granularity: str = SECONDS, *, repository_id: str = "sxlib.tongjian",
                 admin_email: str = "oai-admin@example.org",
                 set_names: Mapping[str, str] | None = None) -> None:
        if granularity not in (DAY, SECONDS):
            raise ValueError(f"granularity must be {DAY!r} or {SECONDS!r}")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.repository_name = repository_name
        self.repository_id = repository_id
        self.admin_email = admin_email
        self.granularity = granularity
        self.page_size = page_size
        self.set_names = dict(SET_NAMES if set_names is None else set_names)
        self.generation = 0
        self.broken: set[str] = set()
        self.requests: list[dict[str, str]] = []  # every OAI request's arguments, in order
        self.failures_served = 0  # answers fail_next() made
        self._items: dict[str, Item] = {}
        self._objects: dict[str, str] = {}  # object id → identifier
        self._failures: list[tuple[int, int | str | None]] = []
        self._lock = threading.RLock()
        self._port = port
        self._httpd: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._last_stamp = datetime(1970, 1, 1)
        for item in items:
            self._put(as_item(item))
        registry = metadata.MetadataRegistry()
        registry.registerWriter("oai_dc", _write_dc)
        registry.registerWriter("marc21", _write_marc)
        registry.registerWriter("marcxml", _write_marc)
        self._server = _Server(_Provider(self), registry, granularity)

    # -- lifetime ----------------------------------------------------------------------
    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._httpd = make_server("127.0.0.1", self._port, self._app,
                                  server_class=_ThreadingServer, handler_class=_QuietHandler)
        self._port = self._httpd.server_port
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"oai-repository:{self._port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; the port refuses connections until ``start()``."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/oai"

    # -- the item table ----------------------------------------------------------------
    @property
    def items(self) -> list[Item]:
        """A snapshot, in identifier order (the order lists are served in)."""
        with self._lock:
            return [self._items[k] for k in sorted(self._items)]

    def get(self, identifier: str) -> Item | None:
        with self._lock:
            return self._items.get(identifier)

    def _now(self) -> datetime:
        """The repository's clock, never going backwards between two changes."""
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self._last_stamp = max(now, self._last_stamp)
        return self._last_stamp

    def _put(self, item: Item) -> Item:
        with self._lock:
            owner = self._objects.get(item.object_id)
            if owner not in (None, item.identifier):
                raise ValueError(f"{item.identifier} and {owner} share object id "
                                 f"{item.object_id!r}")
            self._items[item.identifier] = item
            self._objects[item.object_id] = item.identifier
            return item

    def add(self, item: Item | Mapping[str, Any]) -> Item:
        """Add (or replace) an item, stamped now."""
        with self._lock:
            return self._put(replace(as_item(item), datestamp=self._now()))

    def modify(self, identifier: str, *, sets: Iterable[str] | None = None,
               objects: Iterable[str] | None = None, metadata: Any = None,
               **dc: str | Iterable[str]) -> Item:
        """Change an item, stamped now: DC elements by name (``title="新题名"``), or the
        whole ``metadata``, ``sets`` or ``objects``."""
        with self._lock:
            item = self._require(identifier)
            meta = item.metadata if metadata is None else metadata
            if dc:
                if not isinstance(meta, Mapping):
                    raise ValueError(f"{identifier} has no Dublin Core to change")
                meta = {**meta, **_dc_dict(dc)}
            changed = replace(item, metadata=meta, deleted=False,
                              sets=tuple(item.sets if sets is None else sets),
                              objects=tuple(item.objects if objects is None else objects))
            return self._put(replace(as_item(changed), datestamp=self._now()))

    def delete(self, identifier: str) -> Item:
        """Delete an item, stamped now; it stays as a deletion notice (deletedRecord
        persistent), and its objects are no longer served."""
        with self._lock:
            return self._put(replace(self._require(identifier), deleted=True,
                                     datestamp=self._now()))

    def _require(self, identifier: str) -> Item:
        item = self._items.get(identifier)
        if item is None:
            raise KeyError(identifier)
        return item

    def set_specs(self) -> list[str]:
        """Every set an item is in, with the ancestors of hierarchical ones."""
        specs: set[str] = set()
        for item in self.items:
            for spec in item.sets:
                parts = spec.split(":")
                specs.update(":".join(parts[:k]) for k in range(1, len(parts) + 1))
        return sorted(specs)

    def set_name(self, spec: str) -> str:
        return self.set_names.get(spec, spec)

    # -- failure switches ------------------------------------------------------------------
    def fail_next(self, status: int = 503, retry_after: int | str | None = 1,
                  count: int = 1) -> None:
        """Answer the next ``count`` OAI requests with ``status`` and Retry-After (seconds,
        or an HTTP-date string; None for no header)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def break_record(self, identifier: str) -> None:
        """Serve this record's metadata as escaped text inside an otherwise good page."""
        self._require(identifier)
        self.broken.add(identifier)

    def expire_tokens(self) -> None:
        """Every resumption token issued so far becomes badResumptionToken."""
        with self._lock:
            self.generation += 1

    # -- WSGI ------------------------------------------------------------------------------
    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/oai" and method in ("GET", "POST"):
            return self._oai(environ, start_response)
        m = _OBJECT_PATH.fullmatch(path)
        if m and method in ("GET", "HEAD"):
            return self._object(m.group(1), m.group(2), method, start_response)
        return _respond(start_response, "404 Not Found", "text/plain; charset=utf-8",
                        b"not found\n")

    def _oai(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            self.failures_served += failure is not None
        if failure is not None:
            status, retry_after = failure
            extra = [("Retry-After", str(retry_after))] if retry_after is not None else []
            return _respond(start_response, f"{status} Service Unavailable",
                            "text/plain; charset=utf-8", b"try again later\n", extra)
        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") == "POST":
            length = min(int(environ.get("CONTENT_LENGTH") or 0), 65536)
            query = environ["wsgi.input"].read(length).decode("utf-8", "replace")
        args = parse_qs(query, keep_blank_values=True)
        with self._lock:
            self.requests.append({k: v[0] for k, v in args.items()})
        body = self._handle(args)
        return _respond(start_response, "200 OK", "text/xml; charset=utf-8", body)

    def _handle(self, args: dict[str, list[str]]) -> bytes:
        repeated = [k for k, v in args.items() if len(v) > 1]
        if repeated:
            return self._server.error_response(
                error.BadArgumentError(f"repeated argument: {', '.join(repeated)}"))
        request = {k: v[0] for k, v in args.items()}
        if self.granularity == DAY and any("T" in request.get(k, "") for k in ("from", "until")):
            return self._server.error_response(error.BadArgumentError(
                "this repository's granularity is YYYY-MM-DD"))
        return self._server.handleRequest(request)

    def _object(self, object_id: str, ext: str, method: str,
                start_response: StartResponse) -> list[bytes]:
        with self._lock:
            identifier = self._objects.get(object_id)
            item = self._items.get(identifier) if identifier else None
        if item is None or item.deleted or ext not in item.objects:
            return _respond(start_response, "404 Not Found", "text/plain; charset=utf-8",
                            b"no such object\n")
        if ext == "pdf":
            titles = item.metadata.get("title", ()) if isinstance(item.metadata, Mapping) else ()
            body = pdf_bytes(object_id, titles[0] if titles else "")
        elif ext == "png":
            body = png_bytes(object_id)
        else:
            body = jpeg_bytes(object_id)
        headers = [("Cache-Control", "public, max-age=3600")]
        return _respond(start_response, "200 OK", OBJECT_TYPES[ext], body, headers,
                        head=method == "HEAD")


def _respond(start_response: StartResponse, status: str, content_type: str, body: bytes,
             extra: list[tuple[str, str]] | None = None, head: bool = False) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("X-Content-Type-Options", "nosniff"), *(extra or [])]
    start_response(status, headers)
    return [] if head else [body]


# -- Shaanxi local documents (地方文献) ------------------------------------------------


# county, city, county pinyin, city pinyin, the name Qing and Republican records use.
COUNTIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("礼泉县", "咸阳市", "liquan", "xianyang", "醴泉县"),
    ("三原县", "咸阳市", "sanyuan", "xianyang", ""),
    ("泾阳县", "咸阳市", "jingyang", "xianyang", ""),
    ("乾县", "咸阳市", "qianxian", "xianyang", "乾州"),
    ("神木县", "榆林市", "shenmu", "yulin", ""),
    ("米脂县", "榆林市", "mizhi", "yulin", ""),
    ("绥德县", "榆林市", "suide", "yulin", "绥德州"),
    ("凤翔县", "宝鸡市", "fengxiang", "baoji", "凤翔府"),
    ("韩城市", "渭南市", "hancheng", "weinan", "韩城县"),
    ("富平县", "渭南市", "fuping", "weinan", ""),
    ("蓝田县", "西安市", "lantian", "xian", ""),
)
CITIES: dict[str, str] = {"咸阳市": "xianyang", "榆林市": "yulin", "宝鸡市": "baoji",
                          "渭南市": "weinan", "西安市": "xian"}

# name, city, ISBN registrant prefixes after 7- with the first year used.
PUBLISHERS: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = (
    ("陕西人民出版社", "西安", (("224", 1987),)),
    ("三秦出版社", "西安", (("80546", 1987), ("5518", 2009))),
    ("陕西旅游出版社", "西安", (("5418", 1987),)),
    ("陕西师范大学出版社", "西安", (("5613", 1987), ("5695", 2013))),
    ("方志出版社", "北京", (("80122", 1995), ("5144", 2009))),
    ("中华书局", "北京", (("101", 1987),)),
)

# Qing reigns and the Republic: first year, so 乾隆四十九年 = 1736 + 49 - 1.
ERAS: tuple[tuple[str, int, int], ...] = (
    ("康熙", 1662, 61), ("雍正", 1723, 13), ("乾隆", 1736, 60), ("嘉庆", 1796, 25),
    ("道光", 1821, 30), ("咸丰", 1851, 11), ("同治", 1862, 13), ("光绪", 1875, 34),
    ("宣统", 1909, 3),
)
REPUBLIC = 1912

SURNAMES = tuple("赵王李张刘杨于郭马白高田党韩雷")
GIVEN = tuple("文武德明世永廷国光振兴书学敬鸿维希树立秉")

STELES: tuple[tuple[str, str, str], ...] = (  # stele, county, when it was carved
    ("昭陵李勣碑", "礼泉县", "唐仪凤二年"), ("昭陵温彦博碑", "礼泉县", "唐贞观十一年"),
    ("乾陵述圣纪碑", "乾县", "唐文明元年"), ("三原城隍庙重修碑记", "三原县", "明洪武年间"),
    ("泾阳郑国渠重修碑", "泾阳县", "清乾隆年间"), ("司马迁祠碑", "韩城市", "宋靖康年间"),
    ("凤翔东湖喜雨亭碑", "凤翔县", "宋嘉祐年间"), ("神木二郎山庙碑", "神木县", "明万历年间"),
)
NEWSPAPERS: tuple[tuple[str, str, int, int], ...] = (  # title, place, first, last year
    ("西京日报", "西安市", 1933, 1949), ("西北文化日报", "西安市", 1932, 1949),
    ("秦风日报", "西安市", 1936, 1949), ("三原县政府公报", "三原县", 1928, 1937),
    ("陕西教育周刊", "西安市", 1935, 1944),
)
PHOTOS: tuple[tuple[str, str], ...] = (
    ("三原县城东门", "三原县"), ("礼泉县城全景", "礼泉县"), ("神木县城南门", "神木县"),
    ("韩城党家村", "韩城市"), ("凤翔东湖", "凤翔县"), ("渭河咸阳渡口", "咸阳市"),
    ("蓝田县城关街景", "蓝田县"), ("米脂县城窑洞民居", "米脂县"),
)

SET_NAMES: dict[str, str] = {
    "xianzhi": "方志", "jiuzhi": "旧志", "difangshi": "地方史", "zupu": "族谱",
    "beike": "碑刻拓片", "baokan": "民国报刊", "zhaopian": "老照片",
    **{py: city for city, py in CITIES.items()},
    **{f"{c[3]}:{c[2]}": c[0] for c in COUNTIES},
}

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 元 (of a reign year), 2 → 二, 10 → 十, 24 → 二十四 (1–99)."""
    if n == 1:
        return "元"
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def _short(county: str) -> str:
    """礼泉县 → 礼泉; a one-character county keeps its suffix (乾县)."""
    return county[:-1] if len(county) > 2 else county


def _isbn(rng: random.Random, year: int) -> tuple[str, str] | None:
    """(publisher, ISBN as printed) for a book of ``year``; ISBN-10 before 2007."""
    if year < 1987:
        return None
    name, _city, prefixes = rng.choice(PUBLISHERS)
    usable = [p for p, first in prefixes if first <= year] or [prefixes[0][0]]
    registrant = usable[-1]
    number = "".join(str(rng.randrange(10)) for _ in range(8 - len(registrant)))
    body = "7" + registrant + number
    total = sum((10 - i) * int(d) for i, d in enumerate(body))
    check10 = (11 - total % 11) % 11
    if year < 2007:
        isbn = f"7-{registrant}-{number}-{'X' if check10 == 10 else check10}"
    else:
        core = "978" + body
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
        isbn = f"978-7-{registrant}-{number}-{check}"
    if rng.random() < 0.08:  # a misprinted check digit, as real records have
        last = isbn[-1]
        isbn = isbn[:-1] + ("0" if last in "X9" else str(int(last) + 1))
    return name, isbn


def _era(rng: random.Random, republic: bool) -> tuple[str, int]:
    if republic:
        n = rng.randint(2, 37)
        return f"民国{chinese_number(n)}年", REPUBLIC + n - 1
    era, first, length = rng.choice(ERAS)
    n = rng.randint(1, length)
    return f"清{era}{chinese_number(n)}年", first + n - 1


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def _place(county: str) -> tuple[str, str, str]:
    """(county, city, region set spec) for a county or a city name."""
    for row in COUNTIES:
        if row[0] == county:
            return row[0], row[1], f"{row[3]}:{row[2]}"
    return "", county, CITIES[county]


def _new_gazetteer(rng: random.Random, county: str) -> tuple[dict[str, Any], str]:
    name, city, _ = _place(county)
    year = rng.randint(1986, 2016)
    second_round = year >= 2005
    title = f"{county}志" + ("（1990-2010）" if second_round else "")
    dc: dict[str, Any] = {
        "title": [title], "creator": [f"{county}地方志编纂委员会 编"],
        "subject": [f"{county}—地方志", "K294.1"],
        "description": [f"本志记述{county}自然、政治、经济、文化、社会的历史与现状，"
                        f"上限追溯事物发端，下限断至{year - 3}年。"],
        "date": [str(year)], "type": ["Text", "地方志"], "format": ["印刷本", "16开"],
        "language": [rng.choice(("zh", "chi"))],
        "coverage": [f"陕西省{city}{name}" if name else f"陕西省{city}"],
    }
    published = _isbn(rng, year)
    if published:
        dc["publisher"] = [published[0]]
        dc["identifier"] = [f"ISBN {published[1]}"]
    return dc, "xianzhi"


def _old_gazetteer(rng: random.Random, county: str) -> tuple[dict[str, Any], str]:
    name, city, _ = _place(county)
    old = next((row[4] for row in COUNTIES if row[0] == county and row[4]), county)
    republic = rng.random() < 0.4
    era_text, year = _era(rng, republic)
    edition = "续修" if republic else ""
    title = f"（{era_text[1:3] if not republic else '民国'}）{edition}{old}志"
    dynasty = "民国" if republic else "清"
    fmt = "铅印本" if republic else rng.choice(("刻本", "刻本", "抄本"))
    dc: dict[str, Any] = {
        "title": [title],
        "creator": [f"({dynasty}){_person(rng)} 修", f"({dynasty}){_person(rng)} 纂"],
        "subject": [f"{county}—地方志", "K294.1"],
        "description": [f"{era_text}{fmt}。记{old}建置沿革、疆域、山川、田赋、职官、人物、艺文。"],
        "date": [era_text + (f"（{year}）" if rng.random() < 0.6 else "")],
        "type": ["古籍", "地方志"], "format": [fmt], "language": ["chi"],
        "coverage": [f"陕西省{city}{name}" if name else f"陕西省{city}"],
        "rights": ["公有领域"],
    }
    if old != county:
        dc["title"].append(f"{county}志（旧志）")
    return dc, "jiuzhi"


def _local_history(rng: random.Random, county: str) -> tuple[dict[str, Any], str]:
    name, city, _ = _place(county)
    short = _short(county)
    year = rng.randint(1982, 2020)
    dc: dict[str, Any] = {
        "subject": [f"{county}—地方史", "K294.1"], "type": ["Text"],
        "language": ["zh"], "coverage": [f"{city}{name}"], "date": [f"{year}年"],
    }
    if rng.random() < 0.5:
        series = f"{short}文史资料"
        dc.update(title=[f"{series} 第{rng.randint(1, 24)}辑"], relation=[series],
                  creator=[f"政协{county}委员会文史资料委员会 编"],
                  publisher=[f"政协{county}委员会"], format=["内部发行"])
    else:
        topic = rng.choice(("史话", "革命史", "古今", "历史文化概览", "大事记"))
        dc.update(title=[f"{short}{topic}"], creator=[f"{_person(rng)} 主编"],
                  contributor=[f"{_person(rng)} 副主编"])
        published = _isbn(rng, year)
        if published:
            dc["publisher"] = [published[0]]
            dc["identifier"] = [f"ISBN {published[1]}"]
    dc["description"] = [f"记述{county}历代沿革、重大事件与人物。"]
    return dc, "difangshi"


def _genealogy(rng: random.Random, county: str) -> tuple[dict[str, Any], str]:
    name, city, _ = _place(county)
    surname = rng.choice(SURNAMES)
    era_text, year = _era(rng, rng.random() < 0.5)
    fmt = rng.choice(("抄本", "石印本", "铅印本"))
    types = ["Text", "族谱"] + (["手稿"] if fmt == "抄本" else [])
    return {
        "title": [f"{_short(county)}{surname}氏族谱"],
        "creator": [f"{surname}{''.join(rng.sample(GIVEN, 2))} 纂修"],
        "subject": [f"{surname}氏—家谱", "K820.9"],
        "description": [f"{era_text}{fmt}。记{surname}氏迁居{county}以来世系、传记、家训。"],
        "date": [f"{era_text}（{year}）"], "type": types, "format": [fmt],
        "language": ["chi"], "coverage": [f"{city}{name}"],
    }, "zupu"


def _rubbing(rng: random.Random, _county: str) -> tuple[dict[str, Any], str]:
    stele, county, carved = rng.choice(STELES)
    name, city, _ = _place(county)
    era_text, year = _era(rng, True)
    return {
        "title": [f"{stele}拓片"], "contributor": ["佚名 拓"],
        "subject": [f"碑刻—{county}", "K877.42"],
        "description": [f"碑刻于{carved}，{era_text}拓。纸本墨拓。"],
        "date": [f"{era_text}（{year}）拓"], "type": ["Image", "拓片"],
        "format": [f"纸本墨拓 1幅 {rng.randint(90, 260)}×{rng.randint(60, 120)}cm"],
        "language": ["chi"], "coverage": [f"陕西省{city}{name}"],
    }, "beike"


def _newspaper(rng: random.Random, _county: str) -> tuple[dict[str, Any], str]:
    title, where, first, last = rng.choice(NEWSPAPERS)
    name, city, _ = _place(where) if where in {c[0] for c in COUNTIES} else ("", where, "")
    year = rng.randint(first, last)
    return {
        "title": [f"{title} {year}年{rng.randint(1, 12)}月合订本"],
        "publisher": [f"{title}社"], "relation": [title],
        "subject": ["报纸—陕西—民国"],
        "date": [f"民国{chinese_number(year - REPUBLIC + 1)}年（{year}）"],
        "type": ["Text", "报纸"], "language": ["chi"], "coverage": [f"{city}{name}"],
        "description": [f"{title}{year}年缩微数字化，含本地新闻、物价、广告。"],
    }, "baokan"


def _photo(rng: random.Random, _county: str) -> tuple[dict[str, Any], str]:
    subject, where = rng.choice(PHOTOS)
    name, city, _ = _place(where)
    decade, date = rng.choice((("民国时期", "1936"), ("1930年代", "约1935年"),
                               ("1950年代", "1956"), ("1960年代", "1962")))
    return {
        "title": [f"{subject}（{decade}）"],
        "creator": [rng.choice(("佚名 摄", f"{_person(rng)} 摄"))],
        "subject": [f"{where}—照片", "城市风貌"],
        "date": [date],
        "type": ["Image", "照片"], "format": ["黑白照片 1张"], "language": ["chi"],
        "coverage": [f"陕西省{city}{name}"],
    }, "zhaopian"


# kind → (maker, weight, objects)
KINDS: tuple[tuple[Callable[[random.Random, str], tuple[dict[str, Any], str]], float,
                   tuple[str, ...]], ...] = (
    (_new_gazetteer, 4.0, ("pdf", "jpg")), (_old_gazetteer, 2.0, ("pdf", "jpg")),
    (_local_history, 3.0, ("pdf", "png")), (_genealogy, 2.0, ("pdf", "jpg")),
    (_rubbing, 1.5, ("jpg", "pdf")), (_newspaper, 1.5, ("pdf", "png")),
    (_photo, 1.5, ("jpg",)),
)


def local_documents(seed: int, n: int) -> list[Item]:
    """``n`` seeded Shaanxi local documents in DC, about one in sixteen a deletion notice,
    some without a digitized object.  Gazetteers of the cities (《咸阳市志》) come first."""
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret
    places = [c[0] for c in COUNTIES]
    items: list[Item] = []
    for i in range(1, n + 1):
        if i <= 2:
            county = "咸阳市" if i == 1 else "榆林市"
            dc, kind = _new_gazetteer(rng, county)
            objects: tuple[str, ...] = ("pdf", "jpg")
        else:
            maker, _w, objects = rng.choices(KINDS, weights=[k[1] for k in KINDS])[0]
            county = rng.choice(places)
            dc, kind = maker(rng, county)
            if rng.random() < 0.15:
                objects = ()
        region = _region_set(dc)
        stamp = datetime(2019, 1, 1) + (datetime(2024, 1, 1) - datetime(2019, 1, 1)) * rng.random()
        items.append(as_item(Item(
            identifier=f"oai:sxlib.tongjian:dfwx-{i:04d}", datestamp=stamp,
            sets=(kind, region) if region else (kind,), deleted=rng.random() < 1 / 16,
            metadata=dc, objects=objects)))
    return items


def _region_set(dc: Mapping[str, Any]) -> str:
    coverage = "".join(dc.get("coverage", ()))
    for county, _city, cpy, citypy, _old in COUNTIES:
        if county in coverage:
            return f"{citypy}:{cpy}"
    return next((py for city, py in CITIES.items() if city in coverage), "")


# -- command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m peers.oai_repository",
        description="Serve seeded Shaanxi local documents over OAI-PMH on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=60, help="number of records")
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--granularity", choices=(SECONDS, DAY), default=SECONDS)
    args = parser.parse_args(argv)
    repo = OAIRepository(local_documents(args.seed, args.count), port=args.port,
                         page_size=args.page_size, granularity=args.granularity)
    with repo:
        print(f"OAI-PMH repository at {repo.base_url} ({args.count} records); "
              f"try {repo.base_url}?verb=Identify — Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()


__all__ = ["DAY", "SECONDS", "Item", "OAIRepository", "as_item", "dc_bytes", "dc_map",
           "jpeg_bytes", "local_documents", "marc_to_dc", "pdf_bytes", "png_bytes"]
