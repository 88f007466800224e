"""OAI-PMH 2.0 provider at /oai: the merged catalogue for other systems to harvest.

Items are merged entries (one per book, every library's holdings in its MARC), identified
`oai:tongjian:<entry id>`; an entry's datestamp is its last change in the entry lineage
(`harvest.lineage`), and an entry that vanished in a re-merge, a split or a deletion stays
listed as deleted for good (deletedRecord: persistent), with the entries its records went
to in `about` (dcterms:isReplacedBy).  Resumption tokens carry the list's arguments and
the position — the (datestamp, id) of the last item sent — signed with a key kept beside
the store, so they survive restarts and stay valid while the catalogue changes (a list is
ordered by datestamp, and a changed entry moves to its end).

Written from the protocol specification (openarchives.org/OAI/openarchivesprotocol.html);
every error code is its own small branch, tested in tests/test_oai_provider.py.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from lxml import etree

from core.config import Config
from harvest import export
from harvest.clc import TOP_CLASSES
from harvest.lineage import DIGITIZED_SET, clc_spec, library_spec, region_spec
from harvest.store import LineageRow, RecordStore
from portal.core import CONFIG, STORE, blocking
from portal.offer_access import Gate

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DCTERMS_NS = "http://purl.org/dc/terms/"
ID_PREFIX = "oai:tongjian:"
PAGE_SIZE = 100
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"

#: metadataPrefix → (schema, namespace, exporter name in `harvest.export.FORMATS`).
FORMATS: dict[str, tuple[str, str, str]] = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", export.OAI_DC_NS, "dc"),
    "marcxml": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", export.MARC_NS,
                "marc21"),
    "unimarc": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", export.MARC_NS,
                "unimarc"),
}

#: The arguments each verb takes: (required, optional, exclusive).
VERBS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    "Identify": (frozenset(), frozenset(), ""),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), ""),
    "ListSets": (frozenset(), frozenset(), "resumptionToken"),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), ""),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                        "resumptionToken"),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                    "resumptionToken"),
}

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ListState:
    """Everything a list request means, as a resumption token carries it."""

    verb: str
    prefix: str
    set: str | None
    since: float | None
    until: float | None  # exclusive
    after: tuple[float, str] | None = None
    cursor: int = 0


# -- resumption tokens ------------------------------------------------------------------


class Tokens:
    """Signed, self-contained resumption tokens: nothing is kept per harvester, so a
    restart (or another portal process) continues any list."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def beside(cls, store_path: Path) -> Tokens:
        """With the key kept in `<store>.oai-key` (made on first use, mode 0600)."""
        if str(store_path) == ":memory:":
            return cls(secrets.token_bytes(32))
        path = store_path.with_name(store_path.name + ".oai-key")
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except (FileNotFoundError, ValueError):
            key = secrets.token_bytes(32)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(key.hex())
            return cls(key)

    def _sign(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()[:32]

    def encode(self, state: ListState) -> str:
        body = json.dumps([state.verb, state.prefix, state.set, state.since, state.until,
                           list(state.after) if state.after else None, state.cursor],
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        packed = base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")
        return f"{packed}.{self._sign(body)}"

    def decode(self, token: str, verb: str) -> ListState:
        bad = OAIError("badResumptionToken",
                       "the resumptionToken is not one this repository issued (or was "
                       "altered); start the list again without it")
        packed, _, signature = token.partition(".")
        try:
            body = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        except ValueError:
            raise bad from None
        if not hmac.compare_digest(signature, self._sign(body)):
            raise bad
        try:
            v, prefix, set_spec, since, until, after, cursor = json.loads(body)
        except (ValueError, TypeError):
            raise bad from None
        if v != verb:
            raise OAIError("badResumptionToken", f"this resumptionToken continues {v}, "
                           f"not {verb}")
        return ListState(v, prefix, set_spec, since, until,
                         (float(after[0]), str(after[1])) if after else None, int(cursor))


# -- dates --------------------------------------------------------------------------------


def datestamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _parse_date(value: str, name: str) -> tuple[float, bool]:
    """(seconds since the epoch, day granularity?) or badArgument."""
    try:
        if _DAY.fullmatch(value):
            return float(calendar.timegm(time.strptime(value, "%Y-%m-%d"))), True
        if _SECOND.fullmatch(value):
            return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))), False
    except ValueError:
        pass
    raise OAIError("badArgument", f"{name}={value!r} is not a date of this repository's "
                   f"granularity ({GRANULARITY} or YYYY-MM-DD)")


def window(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """from/until as [start, end) in seconds; badArgument for mixed granularities or an
    empty window."""
    start = end = None
    day_from = day_until = None
    if since is not None:
        start, day_from = _parse_date(since, "from")
    if until is not None:
        last, day_until = _parse_date(until, "until")
        end = last + (86400 if day_until else 1)  # until is inclusive
    if day_from is not None and day_until is not None and day_from != day_until:
        raise OAIError("badArgument", "from and until must have the same granularity")
    if start is not None and end is not None and start >= end:
        raise OAIError("badArgument", "from is later than until")
    return start, end


# -- the repository -----------------------------------------------------------------------


def identifier(entry: str) -> str:
    return ID_PREFIX + entry


def entry_of(oai_id: str) -> str | None:
    return oai_id[len(ID_PREFIX):] if oai_id.startswith(ID_PREFIX) else None


def set_list(config: Config) -> list[tuple[str, str]]:
    """(setSpec, setName) of every set: the hierarchy's three roots, each library, each
    region, each CLC top class, and digitized local documents."""
    out = [("library", "成员馆"), ("region", "地区"), ("clc", "中图分类")]
    out += [(library_spec(code), lib.name) for code, lib in sorted(config.libraries.items())]
    regions = sorted({lib.region for lib in config.libraries.values() if lib.region})
    out += [(region_spec(r), r) for r in regions]
    out += [(clc_spec(top), f"{top} {name}") for top, name in TOP_CLASSES.items()]
    out.append((DIGITIZED_SET, "数字化地方文献"))
    return out


class Repository:
    """Answers one OAI-PMH request from the store (runs on the portal's store thread)."""

    def __init__(self, config: Config, store: RecordStore, tokens: Tokens,
                 page_size: int = PAGE_SIZE) -> None:
        self.config, self.store, self.tokens, self.page_size = config, store, tokens, page_size

    def answer(self, args: Mapping[str, str], base_url: str,
               repeated: frozenset[str] = frozenset()) -> bytes:
        """The response document; `repeated`: argument names the request gave twice."""
        root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation",
                 f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = datestamp(time.time())
        request = etree.SubElement(root, f"{{{OAI_NS}}}request")
        request.text = base_url
        try:
            if repeated:
                raise OAIError("badArgument", f"{', '.join(sorted(repeated))} given more "
                               "than once")
            verb = self._check(args)
            for name, value in args.items():
                request.set(name, value)
            getattr(self, verb)(root, args, base_url)
        except OAIError as e:
            if e.code in ("badVerb", "badArgument"):  # the spec: the base URL only then
                request.attrib.clear()
            error = etree.SubElement(root, f"{{{OAI_NS}}}error", code=e.code)
            error.text = e.message
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    @staticmethod
    def _check(args: Mapping[str, str]) -> str:
        verb = args.get("verb")
        if verb not in VERBS:
            raise OAIError("badVerb", "missing verb" if verb is None
                           else f"{verb!r} is not an OAI-PMH verb")
        required, optional, exclusive = VERBS[verb]
        given = set(args) - {"verb"}
        if exclusive and exclusive in given:
            if given != {exclusive}:
                raise OAIError("badArgument", f"{exclusive} is exclusive: send it alone")
            return verb
        unknown = given - required - optional
        if unknown:
            raise OAIError("badArgument", f"{verb} does not take "
                           f"{', '.join(sorted(unknown))}")
        missing = required - given
        if missing:
            raise OAIError("badArgument", f"{verb} needs {', '.join(sorted(missing))}")
        return verb

    def _element(self, parent: etree._Element, name: str, text: str | None = None
                 ) -> etree._Element:
        el = etree.SubElement(parent, f"{{{OAI_NS}}}{name}")
        if text is not None:
            el.text = text
        return el

    # -- verbs -------------------------------------------------------------------------

    def Identify(self, root: etree._Element, args: Mapping[str, str], base_url: str) -> None:  # noqa: N802
        out = self._element(root, "Identify")
        self._element(out, "repositoryName", self.config.name or "Tongjian")
        self._element(out, "baseURL", base_url)
        self._element(out, "protocolVersion", "2.0")
        host = urlsplit(base_url).hostname or "localhost"
        self._element(out, "adminEmail", self.config.offer.admin_email or f"webmaster@{host}")
        span = self.store.lineage_span()
        self._element(out, "earliestDatestamp", datestamp(span[0] if span else 0))
        self._element(out, "deletedRecord", "persistent")
        self._element(out, "granularity", GRANULARITY)

    def ListMetadataFormats(self, root: etree._Element, args: Mapping[str, str],  # noqa: N802
                            base_url: str) -> None:
        if "identifier" in args:
            self._lineage(args["identifier"])
        out = self._element(root, "ListMetadataFormats")
        for prefix, (schema, namespace, _) in FORMATS.items():
            fmt = self._element(out, "metadataFormat")
            self._element(fmt, "metadataPrefix", prefix)
            self._element(fmt, "schema", schema)
            self._element(fmt, "metadataNamespace", namespace)

    def ListSets(self, root: etree._Element, args: Mapping[str, str], base_url: str) -> None:  # noqa: N802
        if "resumptionToken" in args:
            raise OAIError("badResumptionToken", "the set list comes in one piece; no "
                           "resumptionToken belongs to it")
        out = self._element(root, "ListSets")
        for spec, name in set_list(self.config):
            item = self._element(out, "set")
            self._element(item, "setSpec", spec)
            self._element(item, "setName", name)

    def GetRecord(self, root: etree._Element, args: Mapping[str, str], base_url: str) -> None:  # noqa: N802
        prefix = self._prefix(args["metadataPrefix"])
        row = self._lineage(args["identifier"])
        self._record(self._element(root, "GetRecord"), row, prefix)

    def ListIdentifiers(self, root: etree._Element, args: Mapping[str, str],  # noqa: N802
                        base_url: str) -> None:
        self._list(root, "ListIdentifiers", args)

    def ListRecords(self, root: etree._Element, args: Mapping[str, str], base_url: str) -> None:  # noqa: N802
        self._list(root, "ListRecords", args)

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _prefix(prefix: str) -> str:
        if prefix not in FORMATS:
            raise OAIError("cannotDisseminateFormat", f"metadataPrefix {prefix!r} is not "
                           f"offered; use one of {', '.join(FORMATS)}")
        return prefix

    def _lineage(self, oai_id: str) -> LineageRow:
        entry = entry_of(oai_id)
        row = self.store.lineage(entry) if entry else None
        if row is None:
            raise OAIError("idDoesNotExist", f"{oai_id!r} is not an identifier of this "
                           f"repository (they look like {ID_PREFIX}<entry id>)")
        return row

    def _list(self, root: etree._Element, verb: str, args: Mapping[str, str]) -> None:
        if "resumptionToken" in args:
            state = self.tokens.decode(args["resumptionToken"], verb)
        else:
            since, until = window(args.get("from"), args.get("until"))
            state = ListState(verb, self._prefix(args["metadataPrefix"]), args.get("set"),
                              since, until)
        rows = self.store.lineage_page(state.since, state.until, state.set, state.after,
                                       self.page_size + 1)
        if not rows and state.cursor == 0:
            raise OAIError("noRecordsMatch", "no entries match these arguments")
        more = len(rows) > self.page_size
        rows = rows[:self.page_size]
        out = self._element(root, verb)
        for row in rows:
            if verb == "ListRecords":
                self._record(out, row, state.prefix)
            else:
                self._header(out, row)
        if more or state.cursor:
            total = self.store.lineage_count(state.since, state.until, state.set)
            token = self._element(out, "resumptionToken")
            token.set("completeListSize", str(total))
            token.set("cursor", str(state.cursor))
            if more:
                last = rows[-1]
                token.text = self.tokens.encode(ListState(
                    verb, state.prefix, state.set, state.since, state.until,
                    (last.changed, last.entry), state.cursor + len(rows)))

    def _header(self, parent: etree._Element, row: LineageRow) -> None:
        header = self._element(parent, "header")
        if row.deleted:
            header.set("status", "deleted")
        self._element(header, "identifier", identifier(row.entry))
        self._element(header, "datestamp", datestamp(row.changed))
        for spec in row.sets:
            self._element(header, "setSpec", spec)

    def _record(self, parent: etree._Element, row: LineageRow, prefix: str) -> None:
        record = self._element(parent, "record")
        self._header(record, row)
        if row.deleted:
            for successor in row.successors:
                about = self._element(record, "about")
                etree.SubElement(about, f"{{{DCTERMS_NS}}}isReplacedBy",
                                 nsmap={"dcterms": DCTERMS_NS}).text = identifier(successor)
            return
        records = self.store.cluster(row.entry)
        if not records:  # changed since the lineage was read: say so as deleted
            record[0].set("status", "deleted")  # the header
            return
        metadata = self._element(record, "metadata")
        exporter = export.FORMATS[FORMATS[prefix][2]]
        metadata.append(exporter(export.Entry(row.entry, records, row.changed),
                                 self.config.libraries))


# -- the route ----------------------------------------------------------------------------

REPOSITORY = web.AppKey("oai_repository", Repository)
GATE = web.AppKey("oai_gate", Gate)


async def oai(request: web.Request) -> web.Response:
    refusal = request.app[GATE].check(request)
    if refusal is not None:
        status = 503 if refusal.status == 429 else refusal.status  # OAI-PMH flow control
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else {}
        return web.Response(status=status, text=refusal.message, headers=headers)
    if request.method == "POST":
        if request.content_type != "application/x-www-form-urlencoded":
            return web.Response(status=415, text="POST OAI-PMH requests as "
                                "application/x-www-form-urlencoded")
        pairs = list((await request.post()).items())
    else:
        pairs = list(request.query.items())
    args: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in args:
            repeated.add(name)
        args[name] = str(value)
    base_url = str(request.url.with_query(None))
    body = await blocking(request, request.app[REPOSITORY].answer, args, base_url,
                          frozenset(repeated))
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


def setup_oai(app: web.Application) -> None:
    config = app[CONFIG]
    store = app[STORE]
    app[REPOSITORY] = Repository(config, store, Tokens.beside(store.path))
    app[GATE] = Gate("OAI-PMH", "oai", config.offer.oai)
    app.router.add_route("GET", "/oai", oai)
    app.router.add_route("POST", "/oai", oai)


__all__ = ["Repository", "Tokens", "setup_oai"]
