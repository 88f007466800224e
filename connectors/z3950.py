"""Z39.50 and SRU connector on top of YAZ's ZOOM (``connectors.zoom``).

Most Chinese library systems (Interlib, Huiwen, ALEPH, Horizon, Libsys …) still offer
Z39.50 and sometimes SRU; YAZ speaks both through one API, so one connector covers both:
``protocol="sru"`` only changes the transport (ZOOM sends the PQF query as SRU's
``x-pquery`` extension, or CQL via ``search_cql``).

Threading: every call blocks on the network (ZOOM runs synchronously).  Async callers
run methods in a worker thread (``await asyncio.to_thread(conn.search, "中国")``), and a
connector instance is used by one thread at a time; use one instance per concurrent
session.

Errors are typed for the harvester and portal:

* ``Unreachable`` — connect failed, connection lost, timed out (ZOOM 10000/10004/10007):
  retry later, show the source as down.
* ``Diagnostic`` — the server answered "no": Bib-1 diagnostics keep their numeric
  code (114 unsupported use attribute, 109 database unavailable, 238 record syntax
  unavailable …); SRU/HTTP ones get ``"<diagset>/<code>"`` (``info:srw/diagnostic/1/16``).
* ``ConnectorError`` — anything else ZOOM reports (init rejected, decode errors …).

A bad record inside a present (a surrogate diagnostic, or nothing sent for a position)
does not abort a fetch or harvest: the position is skipped and reported to
``on_error(position, reason)`` so the caller can quarantine it.

Live item status (`connectors.base.StatusConnector`, by record): the record by its local
number (Bib-1 use 12) in the OPAC record syntax, whose holdings carry circulation data
(availableNow, availabilityDate, itemId), read into the common vocabulary
(`core.status`).  It goes over a second connection of its own, since the syntax is set
per connection.  A server without OPAC records (Zebra answers Bib-1 239) honestly "does not
offer live status" (``NotOffered``); so does SRU, which has no OPAC syntax.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from connectors import zoom
from connectors.base import (
    Checkpoint,
    ConnectorError,
    Diagnostic,
    LiveItem,
    NotOffered,
    RawRecord,
    Unreachable,
)
from core.status import (
    AVAILABLE,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    UNAVAILABLE,
    UNKNOWN,
    Status,
    common_status,
    due_date,
)

if TYPE_CHECKING:  # config is only a type here; connectors stay importable on their own
    from core.config import Source

ALL_RECORDS_PQF = '@attr 1=_ALLRECORDS @attr 2=103 ""'
"""Zebra's "every record" query; real ILS servers rarely allow it, so it is configurable."""

USE_ATTRIBUTES: dict[str, int] = {"any": 1016, "title": 4, "author": 1003, "isbn": 7,
                                  "subject": 21}
"""Bib-1 use attributes for ``search(field=…)``."""

Field = Literal["any", "title", "author", "isbn", "subject"]
ErrorCallback = Callable[[int, str], None]

# Our syntax names -> (ZOOM preferredRecordSyntax, ZOOM_record_get type).  MARCXML is
# fetched with record_get("xml"), which passes XML through and converts ISO 2709 for
# servers that ignore the XML request.
_SYNTAXES: dict[str, tuple[str, str]] = {
    "usmarc": ("usmarc", "raw"),
    "marc21": ("usmarc", "raw"),
    "unimarc": ("unimarc", "raw"),
    "cnmarc": ("unimarc", "raw"),
    "marcxml": ("xml", "xml"),
    "xml": ("xml", "raw"),
    # Not MARC: an OPAC record is read for its bibliographic part and holdings
    # (`harvest.record_syntaxes`); SUTRS is plain text, offered so the probe can say so.
    "opac": ("opac", "raw"),
    "sutrs": ("sutrs", "raw"),
}
_XML_SYNTAXES = {"marcxml", "xml"}
_UNREACHABLE_CODES = {zoom.ERROR_CONNECT, zoom.ERROR_CONNECTION_LOST, zoom.ERROR_TIMEOUT}
# Bib-1 diagnostics meaning "no such record syntax here": the server has no OPAC records.
_NO_OPAC = {238, 239}
# Our encodings → YAZ charset names for rendering OPAC holdings text as UTF-8.
_YAZ_CHARSETS = {"gb18030": "gb18030", "marc-8": "marc8"}


def pqf_quote(text: str) -> str:
    """Quote user text as one PQF term that cannot be read as an operator.

    YAZ's PQF lexer reads a double-quoted token up to the next unescaped quote and
    then un-escapes ``\\x`` sequences; a token starting with ``@`` plus a digit is
    taken as an attribute even inside quotes.  Escaping backslash, quote and ``@``
    makes the term arrive at the server exactly as typed.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("@", "\\@")
    return f'"{escaped}"'


def build_pqf(terms: str, field: str = "any") -> str:
    """One use-attribute clause per whitespace-separated word, ANDed (Bath keyword style).

    Only the use attribute is sent: structure/relation attributes are where servers
    differ most (and answer with diagnostics 117-123), while "use + term" works on
    every Z39.50 server we know.

    Splitting on whitespace (including the ideographic space U+3000) gives keyword
    semantics on every server; words are left whole for the server's own tokenizer,
    so 中国发展报告 stays one term and the server decides how to segment it.
    """
    try:
        use = USE_ATTRIBUTES[field]
    except KeyError:
        raise ValueError(f"field must be one of {sorted(USE_ATTRIBUTES)}, not {field!r}") \
            from None
    # Punctuation around a word (quotes, 《》, a trailing full stop) is not part of it,
    # and on servers whose tokenizer keeps removed punctuation as an empty position
    # (Zebra with ICU) it would make the word unfindable.  A word with no letter or
    # digit at all is dropped: servers reject it or, like Zebra, match everything.
    words = [w for w in (_trim_punctuation(w) for w in terms.split())
             if any(ch.isalnum() for ch in w)]
    if not words:
        raise ValueError(f"nothing searchable in {terms!r}")
    clauses = [f"@attr 1={use} {pqf_quote(w)}" for w in words]
    query = clauses[0]
    for clause in clauses[1:]:
        query = f"@and {query} {clause}"
    return query


def _trim_punctuation(word: str) -> str:
    start, end = 0, len(word)
    while start < end and unicodedata.category(word[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(word[end - 1]).startswith("P"):
        end -= 1
    return word[start:end]


class Z3950Connector:
    """One member system over Z39.50 (or SRU): search, fetch in batches, harvest.

    ``address`` is "host:port/Database" or "tcp:host:port/Database"; for SRU also
    "http://host:port/path".  ``user``/``password`` are passed to the server at Init
    and never appear in messages, ``repr`` or logs.  The connection is opened lazily
    on the first search and reopened after ``close()``.
    """

    live_search = True  # a reader's query can be sent to it (connectors.broadcast)
    status_by = "bib"  # live status: the OPAC record by local number, every copy at once
    keep_alive = False  # idle Z39.50 sessions are dropped by servers: one per check

    def __init__(
        self,
        name: str,
        address: str,
        syntax: str = "usmarc",
        *,
        timeout: float = 30.0,
        batch_size: int = 50,
        user: str | None = None,
        password: str | None = None,
        protocol: Literal["z3950", "sru"] = "z3950",
        sru_method: Literal["get", "post", "soap"] = "get",
        element_set: str | None = None,
        harvest_query: str = ALL_RECORDS_PQF,
        encoding: str = "auto",
    ) -> None:
        if syntax not in _SYNTAXES:
            raise ValueError(f"syntax must be one of {sorted(_SYNTAXES)}, not {syntax!r}")
        if protocol not in ("z3950", "sru"):
            raise ValueError(f"protocol must be 'z3950' or 'sru', not {protocol!r}")
        if protocol == "sru" and syntax not in _XML_SYNTAXES:
            raise ValueError("SRU delivers XML: use syntax 'marcxml' or 'xml'")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.name = name
        self.syntax = syntax
        self.protocol = protocol
        self.address = _normalise_address(address, protocol)
        self.timeout = timeout
        self.batch_size = batch_size
        self.element_set = element_set
        self.harvest_query = harvest_query
        self.encoding = encoding  # config's name of the records' charset (OPAC rendering)
        self._options = self._zoom_options(user, password, sru_method)
        self._conn: zoom.Connection | None = None
        self._rs: zoom.ResultSet | None = None
        self._opac: zoom.Connection | None = None

    @classmethod
    def from_source(cls, source: Source, *, timeout: float | None = None) -> Self:
        """The connector for a ``protocol: z3950`` or ``sru`` source of config.yaml: the
        login from the environment variables ``auth`` names (every path sends it: harvest,
        live search, item status), the harvest ``query`` when set.  ``timeout`` overrides
        the source's (see `connectors.registry`)."""
        return cls(
            source.name, source.address, source.record_syntax,
            timeout=source.timeout if timeout is None else timeout,
            batch_size=source.batch_size, protocol=source.protocol,  # type: ignore[arg-type]
            user=source.auth.resolve("user") or None,
            password=source.auth.resolve("password") or None,
            harvest_query=source.query or ALL_RECORDS_PQF, encoding=source.encoding,
        )

    def __repr__(self) -> str:  # no credentials here, ever
        return (f"Z3950Connector(name={self.name!r}, address={self.address!r}, "
                f"protocol={self.protocol!r}, syntax={self.syntax!r})")

    def _zoom_options(self, user: str | None, password: str | None,
                      sru_method: str) -> dict[str, str]:
        preferred, _ = _SYNTAXES[self.syntax]
        options = {
            "preferredRecordSyntax": preferred,
            # ZOOM's timeout is whole seconds; round up so 0.5 does not mean "none".
            "timeout": str(max(1, math.ceil(self.timeout))),
            "presentChunk": str(self.batch_size),
        }
        if self.protocol == "sru":
            options["sru"] = sru_method
            # SRU names the record format by recordSchema; "marcxml" is the name SRU
            # servers commonly register for MARC21slim.
            schema = self.element_set or ("marcxml" if self.syntax == "marcxml" else None)
            if schema:
                options["schema"] = schema
        elif self.element_set:
            options["elementSetName"] = self.element_set
        if user:
            options["user"] = user
        if password:
            options["password"] = password
        return options

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Release the result set and the connection; safe to call twice."""
        rs, self._rs = self._rs, None
        conn, self._conn = self._conn, None
        opac, self._opac = self._opac, None
        if rs is not None:
            rs.close()
        for c in (conn, opac):
            if c is not None:
                c.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- errors --------------------------------------------------------------------
    def _error(self, info: zoom.ErrorInfo) -> ConnectorError:
        """Map a ZOOM error triple to the connector error hierarchy."""
        if info.diagset in (zoom.ZOOM_DIAGSET, ""):
            if info.code in _UNREACHABLE_CODES:
                return Unreachable(self.name, f"{info.message} ({self.address})")
            detail = f" ({info.addinfo})" if info.addinfo else ""
            return ConnectorError(self.name, f"ZOOM error {info.code}: {info.message}{detail}")
        code: int | str = info.code if info.diagset == "Bib-1" else f"{info.diagset}/{info.code}"
        return Diagnostic(self.name, code, info.message, info.addinfo)

    def _connection(self) -> zoom.Connection:
        if self._conn is None:
            conn = zoom.Connection(self._options)
            try:
                conn.connect(self.address)
            except zoom.ZoomError as exc:
                conn.close()
                raise self._error(exc.info) from None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    # -- search --------------------------------------------------------------------
    def search_pqf(self, pqf: str) -> int:
        """Run a PQF query (trusted text, e.g. from config); return the hit count."""
        return self._search(pqf, cql=False)

    def search_cql(self, cql: str) -> int:
        """Run a CQL query (SRU's own language; Z39.50 servers need CQL support)."""
        return self._search(cql, cql=True)

    def search(self, terms: str, field: Field = "any") -> int:
        """Search user text in one field; the text is quoted so it cannot inject PQF."""
        return self._search(build_pqf(terms, field), cql=False)

    @property
    def hits(self) -> int:
        """Hit count of the last search (0 before any search)."""
        return len(self._rs) if self._rs is not None else 0

    def _search(self, query: str, *, cql: bool) -> int:
        conn = self._connection()
        if self._rs is not None:
            self._rs.close()
            self._rs = None
        try:
            self._rs = conn.search_cql(query) if cql else conn.search_pqf(query)
        except zoom.ZoomError as exc:
            err = self._error(exc.info)
            if isinstance(err, Unreachable):
                self.close()  # the connection is dead; reconnect on the next call
            raise err from None
        return len(self._rs)

    # -- retrieval -----------------------------------------------------------------
    def fetch(self, start: int = 1, count: int | None = None,
              on_error: ErrorCallback | None = None) -> list[RawRecord]:
        """Records ``start``..``start+count-1`` (1-based) of the last search.

        Fetched in presents of ``batch_size``; positions past the hit count are not
        requested.  Bad records are skipped and reported to ``on_error``.
        """
        if self._rs is None:
            raise ConnectorError(self.name, "fetch before search")
        if start < 1:
            raise ValueError("start is 1-based")
        end = self.hits if count is None else min(self.hits, start + count - 1)
        out: list[RawRecord] = []
        pos = start
        while pos <= end:
            n = min(self.batch_size, end - pos + 1)
            out.extend(self._present(pos, n, on_error))
            pos += n
        return out

    def _present(self, start: int, count: int,
                 on_error: ErrorCallback | None) -> list[RawRecord]:
        assert self._rs is not None
        _, render = _SYNTAXES[self.syntax]
        try:
            batch = self._rs.records(start - 1, count, render)
        except zoom.ZoomError as exc:
            err = self._error(exc.info)
            if isinstance(err, Unreachable):
                self.close()
            raise err from None
        self._rs.cache_reset()  # the data is copied out; don't let ZOOM keep it
        out: list[RawRecord] = []
        for rec in batch:
            position = rec.offset + 1
            if rec.data is None:
                if on_error is not None:
                    on_error(position, _describe(rec.error))
                continue
            out.append(RawRecord(self.name, position, rec.data, self._syntax_name(rec)))
        return out

    def _syntax_name(self, rec: zoom.RecordData) -> str:
        """Report the syntax the server actually used, in our vocabulary."""
        actual = rec.syntax.lower()  # ZOOM says "USmarc", "Unimarc", "XML" …
        if actual in ("", "xml", "text-xml", "application-xml"):
            return self.syntax if self.syntax in _XML_SYNTAXES else "xml"
        return actual

    # Z39.50 has no "changed since": every harvest reads the whole result set and the
    # harvester deletes what is gone, after a complete run.
    incremental = False

    def harvest(self, state: dict[str, Any] | None = None,
                on_error: ErrorCallback | None = None,
                query: str | None = None) -> Iterator[RawRecord | Checkpoint]:
        """Search ``query`` (default: ``harvest_query``) and yield every record in order,
        with a checkpoint after each batch.

        Positions are 1-based result-set positions, so a position that failed shows
        up as a gap and in ``on_error``.  The harvest's result set replaces the last
        search's and is kept between batches; ZOOM's record cache is emptied after
        each batch, so memory stays flat however large the source.  A state from an
        unfinished harvest ({"position": n}) continues after record n of a fresh search:
        right for servers whose result order is stable (Zebra, most ILS exports), and the
        harvester's key-based upserts make a shifted order harmless anyway.
        """
        done = 0
        if state and not state.get("complete"):
            done = int(state.get("position", 0))
        wanted = query or self.harvest_query
        # Over SRU a harvest query not in PQF (which starts with @) is CQL, e.g.
        # `cql.allRecords = 1` for a server without Zebra's x-pquery (Tongjian's /sru).
        cql = self.protocol == "sru" and not wanted.lstrip().startswith("@")
        hits = self.search_cql(wanted) if cql else self.search_pqf(wanted)
        for start in range(done + 1, hits + 1, self.batch_size):
            count = min(self.batch_size, hits - start + 1)
            yield from self._present(start, count, on_error)
            yield Checkpoint({"position": start + count - 1, "hits": hits})
        yield Checkpoint({"position": hits, "hits": hits, "complete": True}, final=True)

    # -- live item status ----------------------------------------------------------
    def item_statuses(self, key: str) -> tuple[LiveItem, ...] | None:
        """The copies of the record with local number ``key`` (Bib-1 use 12) as its OPAC
        record reports them now; None when the server has no such record."""
        if self.protocol != "z3950":
            raise NotOffered(self.name, "live status is read from Z39.50 OPAC records; "
                             "SRU has none")
        conn = self._opac_connection()
        rs = self._opac_call(conn.search_pqf, f"@attr 1=12 {pqf_quote(key)}")
        try:
            if len(rs) == 0:
                return None
            charset = _YAZ_CHARSETS.get(self.encoding.lower())
            render = f"opac; charset={charset},utf-8" if charset else "opac"
            rec = self._opac_call(rs.records, 0, 1, render)[0]
        finally:
            rs.close()
        if rec.data is not None:
            try:
                return parse_opac(rec.data)
            except (ParseError, DefusedXmlException) as e:
                raise ConnectorError(self.name, f"unreadable OPAC record: {e}") from None
        error = rec.error
        # A syntax refusal (or a record in another syntax, which ZOOM cannot render as
        # OPAC) means no live status on this server; a surrogate diagnostic is this record's.
        if error is None or error.code in _NO_OPAC or error.diagset in (zoom.ZOOM_DIAGSET, ""):
            raise NotOffered(self.name, f"no OPAC record: {_describe(error)}")
        raise Diagnostic(self.name, error.code, error.message, error.addinfo)

    def _opac_connection(self) -> zoom.Connection:
        if self._opac is None:
            options = {k: v for k, v in self._options.items()
                       if k in ("timeout", "user", "password")}
            conn = zoom.Connection({**options, "preferredRecordSyntax": "opac"})
            try:
                conn.connect(self.address)
            except zoom.ZoomError as exc:
                conn.close()
                raise self._opac_error(exc.info) from None
            except BaseException:
                conn.close()
                raise
            self._opac = conn
        return self._opac

    def _opac_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except zoom.ZoomError as exc:
            err = self._opac_error(exc.info)
            if isinstance(err, Unreachable | TimeoutError):
                opac, self._opac = self._opac, None  # dead: a later call reconnects
                if opac is not None:
                    opac.close()
            raise err from None

    def _opac_error(self, info: zoom.ErrorInfo) -> Exception:
        """ZOOM's error in the terms a status caller sorts into reasons: no OPAC syntax,
        a timeout (the server is slow, not gone), or the connector's usual errors."""
        if info.diagset == "Bib-1" and info.code in _NO_OPAC:
            return NotOffered(self.name, f"no OPAC record syntax ({info.message})")
        if info.diagset in (zoom.ZOOM_DIAGSET, "") and info.code == zoom.ERROR_TIMEOUT:
            return TimeoutError(f"{self.name}: no answer within {self.timeout:g} s")
        return self._error(info)


# -- OPAC records -----------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element) -> dict[str, str]:
    """Direct children as name → text (or the ``value`` attribute of flags)."""
    out: dict[str, str] = {}
    for child in element:
        value = child.get("value")
        out[_local(child.tag)] = (value if value is not None else (child.text or "")).strip()
    return out


def opac_status(circ: Mapping[str, str]) -> Status:
    """One OPAC circulation entry → Status.

    ``availableNow`` decides; the free-text ``restrictions``/``publicNote`` refine it
    (阅览 → library use only; 在途 → in transit); ``availabilityDate`` of a copy not
    available now is its due date.  Without availableNow, only the words count."""
    words = " ".join(v for k in ("restrictions", "publicNote", "temporaryLocation")
                     if (v := circ.get(k, "")))
    told = common_status(words) if words else Status(UNKNOWN)
    now = circ.get("availableNow", "")
    if now in ("1", "true", "y"):
        return Status(LIBRARY_USE_ONLY) if told.code == LIBRARY_USE_ONLY else Status(AVAILABLE)
    if now in ("0", "false", "n"):
        due = due_date(circ.get("availabilityDate", "")) or told.due_date
        if told.code not in (UNKNOWN, AVAILABLE, LIBRARY_USE_ONLY, ON_LOAN):
            return told
        if due or told.code == ON_LOAN:
            return Status(ON_LOAN, due)
        return Status(UNAVAILABLE)
    return told


def _parse_xml(data: bytes) -> Element:
    try:
        root: Element = SafeET.fromstring(data)
    except (ParseError, DefusedXmlException):
        # holdings text in the server's charset when YAZ was not told to convert it
        root = SafeET.fromstring(data.decode("gb18030", "replace").encode("utf-8"))
    return root


def parse_opac(data: bytes) -> tuple[LiveItem, ...]:
    """The holdings of an OPAC record as YAZ renders it (ZOOM_record_get "opac"):
    ``<opacRecord><holdings><holding>… <circulations><circulation>…``."""
    root = _parse_xml(data)
    items: list[LiveItem] = []
    for holding in (e for e in root.iter() if _local(e.tag) == "holding"):
        h = _children(holding)
        location = h.get("localLocation") or h.get("shelvingLocation") or ""
        call_number = h.get("callNumber", "")
        circs = [c for c in holding.iter() if _local(c.tag) == "circulation"]
        if not circs:
            items.append(LiveItem(common_status(h.get("publicNote", "")), "",
                                  call_number=call_number, location=location))
        for circ in circs:
            c = _children(circ)
            raw = "; ".join(f"{k}={c[k]}" for k in ("availableNow", "availabilityDate",
                                                     "restrictions", "onHold") if c.get(k))
            items.append(LiveItem(opac_status(c), raw, c.get("itemId", ""), call_number,
                                  location))
    return tuple(items)


def _describe(error: zoom.ErrorInfo | None) -> str:
    if error is None:
        return "no record returned"
    where = "" if error.diagset in (zoom.ZOOM_DIAGSET, "") else f"{error.diagset} "
    detail = f" ({error.addinfo})" if error.addinfo else ""
    return f"{where}diagnostic {error.code}: {error.message}{detail}"


def _normalise_address(address: str, protocol: str) -> str:
    """Accept the config's "host:port/db" forms; SRU needs an http(s) URL for ZOOM."""
    address = address.strip()
    if not address:
        raise ValueError("empty address")
    if protocol == "sru" and not address.startswith(("http://", "https://")):
        bare = address.removeprefix("tcp:")
        return f"http://{bare}"
    return address


# -- Explain ----------------------------------------------------------------------------

EXPLAIN_DATABASE = "IR-Explain-1"
EXPLAIN_QUERY = "@attr exp1 1=1 databaseinfo"


def explain_databases(conn: Z3950Connector) -> list[tuple[str, int | None]]:
    """The databases a server describes in its Explain database, with their record counts
    where given: [(name, count)].  ``conn`` is a connector on "host:port/IR-Explain-1"
    asking for SUTRS or XML (what Zebra and most servers serve Explain records as); it
    raises `Diagnostic` when the server has no Explain database (109)."""
    if not conn.search_pqf(EXPLAIN_QUERY):
        return []
    return [db for r in conn.fetch(1, 100) if (db := _explain_entry(r.data))]


def _explain_entry(data: bytes) -> tuple[str, int | None] | None:
    """(name, record count) of one databaseInfo Explain record, in SUTRS or XML."""
    text = data.decode("utf-8", "replace")
    if "databaseInfo" not in text and "databaseinfo" not in text.lower():
        return None
    name = re.search(r"^\s*name:\s*(\S.*?)\s*$|<name>([^<]+)</name>", text, re.M)
    if name is None:
        return None
    count = re.search(r"recordCountActual:?\s*>?\s*(\d+)", text)
    return (name.group(1) or name.group(2)).strip(), int(count.group(1)) if count else None
