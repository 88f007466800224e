"""OAI-PMH 2.0 harvesting connector over sickle.

Digital-library systems (DSpace, CONTENTdm, 方正/超星/TRS repositories) and modern ILSs
(Alma, FOLIO, Koha) publish their records as OAI-PMH; one connector covers them all.
sickle is the HTTP client (requests, its retry on 503 + Retry-After, auth, timeouts);
paging, parsing and errors are done here, because sickle's iterator hides the page
boundaries our checkpoints need, parses with ``recover=True`` (a broken page silently
loses records), and maps ``noMetadataFormats`` and unknown codes to a plain ``OAIError``
without the code.

What follows the OAI-PMH 2.0 specification
(http://www.openarchives.org/OAI/openarchivesprotocol.html):

* the verbs Identify, ListMetadataFormats, ListSets and ListRecords with ``metadataPrefix``,
  ``set``, ``from``, ``until``; a ``resumptionToken`` is sent alone with the verb, and an
  absent or empty token ends the list (§3.5);
* ``from``/``until`` in the repository's granularity from Identify; ``YYYY-MM-DD`` is
  what every repository must accept (§3.3.1);
* datestamps and ``responseDate`` are UTC on the repository's clock (§3.3);
* a header with ``status="deleted"`` is a deletion notice without metadata (§2.5.1);
* the error codes of §3.6, each a ``Diagnostic`` subclass named after it; ``noRecordsMatch``
  is how a repository says "the list is empty", so it is a successful empty harvest;
* HTTP 503 with ``Retry-After``: wait, then ask again (§3.1.2.2).

What is our choice, not the specification's:

* checkpoints: after each page ``{"token", "from", "until", "harvest_started",
  "position"}``; at the end ``{"from": <responseDate of the harvest's first request>}``;
* an expired or unknown token (``badResumptionToken``) restarts the same window from its
  ``from`` (at most ``MAX_RESTARTS`` times per call); records already delivered by this
  call are not delivered twice;
* a record element that cannot be a record (no identifier, no or the wrong metadata
  element) goes to ``on_error(position, reason)`` and the page goes on;
* Retry-After is capped at ``max_retry_after`` seconds, with ``max_retries`` tries;
  429 is treated like 503; a repository still refusing afterwards, a timeout, a refused
  connection, HTTP 404 and 5xx are ``Unreachable``; 401/403 are a ``ConnectorError``;
* when Identify cannot be used, ``from`` is sent as ``YYYY-MM-DD`` (always legal);
* every request has the source's total deadline and size cap (`connectors.httplimits`);
  a list stops with a ``ConnectorError`` after ``max_pages`` pages or when a
  resumptionToken comes back a second time; a list that ends with fewer records than its
  ``completeListSize`` announced ends with a non-final checkpoint (the run is incomplete,
  the next one harvests the window again);
* characters XML 1.0 forbids (C0 controls, often copied from MARC data) are dropped from
  a page that is otherwise unreadable, instead of failing the whole harvest;
* ``record_id`` is the OAI identifier; ``syntax`` is ``oai_dc`` for Dublin Core and
  ``marcxml`` for any MARC record (``data`` is then the MARCXML ``<record>``), else the
  metadata prefix.

Threading: every call blocks on the network; one instance per thread, like the Z39.50
connector.
"""

from __future__ import annotations

import copy
import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import requests
import urllib3
from lxml import etree
from sickle import Sickle

from connectors.base import Checkpoint, ConnectorError, Diagnostic, RawRecord, Unreachable
from connectors.httplimits import Limits, read_bounded
from core.config import Source

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
MARC_NS = "http://www.loc.gov/MARC21/slim"
DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
MAX_RESTARTS = 3
"""badResumptionToken restarts per harvest call before giving up (a token that expires
faster than we can fetch a page would otherwise loop forever)."""

# Metadata prefixes repositories use for MARC 21 in MARCXML; all go to the MARC path.
MARC_PREFIXES = frozenset({"marc21", "marcxml", "marc", "MARC21", "usmarc", "marc21_slim",
                           "slim", "MARC21slim", "marcxchange"})

ErrorCallback = Callable[[int, str], None]
_Q = "{%s}%s"


def _oai(name: str) -> str:
    return _Q % (OAI_NS, name)


# -- errors ---------------------------------------------------------------------------


class OAIError(Diagnostic):
    """An OAI-PMH error (§3.6); ``code`` is the repository's code, ``response_date`` the
    responseDate of the answer that carried it (needed for noRecordsMatch)."""

    oai_code: ClassVar[str] = ""
    meaning: ClassVar[str] = "error reported by the repository"

    def __init__(self, source: str, message: str = "", addinfo: str = "", *,
                 code: str = "", response_date: str = "") -> None:
        super().__init__(source, code or self.oai_code, message or self.meaning, addinfo)
        self.response_date = response_date


class BadArgument(OAIError):
    oai_code = "badArgument"
    meaning = "illegal, missing or repeated argument"


class BadResumptionToken(OAIError):
    oai_code = "badResumptionToken"
    meaning = "the resumptionToken is invalid or expired"


class BadVerb(OAIError):
    oai_code = "badVerb"
    meaning = "not a legal OAI-PMH verb"


class CannotDisseminateFormat(OAIError):
    oai_code = "cannotDisseminateFormat"
    meaning = ("the repository does not offer this metadataPrefix — compare metadata_prefix "
               "in config.yaml with ListMetadataFormats")


class IdDoesNotExist(OAIError):
    oai_code = "idDoesNotExist"
    meaning = "unknown identifier"


class NoRecordsMatch(OAIError):
    oai_code = "noRecordsMatch"
    meaning = "no records match the from/until/set/metadataPrefix given"


class NoMetadataFormats(OAIError):
    oai_code = "noMetadataFormats"
    meaning = "no metadata formats available for this item"


class NoSetHierarchy(OAIError):
    oai_code = "noSetHierarchy"
    meaning = "the repository does not support sets — remove `set:` from config.yaml"


ERRORS: dict[str, type[OAIError]] = {
    cls.oai_code: cls
    for cls in (BadArgument, BadResumptionToken, BadVerb, CannotDisseminateFormat,
                IdDoesNotExist, NoRecordsMatch, NoMetadataFormats, NoSetHierarchy)
}


# -- plain results of the probe verbs ----------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What Identify says; ``granularity`` decides how ``from`` is written."""

    repository_name: str
    base_url: str
    protocol_version: str
    granularity: str  # YYYY-MM-DD | YYYY-MM-DDThh:mm:ssZ
    earliest_datestamp: str
    deleted_record: str  # no | transient | persistent
    admin_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class OAISet:
    spec: str
    name: str


# -- datestamps -----------------------------------------------------------------------

_STAMP = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?\s*$")


def parse_datestamp(text: str) -> datetime | None:
    """A UTC datetime from an OAI datestamp, tolerating what real repositories send
    (fractions, ``+08:00`` offsets, a missing ``Z``, taken as UTC); None if unreadable."""
    m = _STAMP.match(text or "")
    if not m:
        return None
    y, mo, d, hh, mi, ss, tz = m.groups()
    try:
        value = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                         tzinfo=UTC)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        value -= sign * (datetime(2000, 1, 1, int(digits[:2]), int(digits[2:]))
                         - datetime(2000, 1, 1))
    return value


def format_datestamp(value: str, granularity: str) -> str:
    """``value`` written in the repository's granularity.  Going from seconds to days
    rounds down, so a harvest may fetch a few records again but never misses one."""
    parsed = parse_datestamp(value)
    if parsed is None:
        raise ValueError(f"not an OAI datestamp: {value!r}")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ" if granularity == SECONDS else "%Y-%m-%d")


def _canonical(value: str) -> str | None:
    parsed = parse_datestamp(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


# -- XML --------------------------------------------------------------------------------

# The defusedxml policy (no DTD, no entity expansion, no network) applied to lxml: lxml is
# needed to serialize one record element with its namespace prefixes as the repository
# wrote them, and defusedxml's lxml module is deprecated.  A DOCTYPE is refused after the
# parse; with resolve_entities=False nothing declared in it was ever expanded.
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "remove_comments": True, "remove_pis": True, "collect_ids": False,
}
_ILLEGAL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")


def _illegal_ref(m: re.Match[bytes]) -> bytes:
    ref = m.group(1)
    code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
    return b"" if code < 0x20 and code not in (0x09, 0x0A, 0x0D) else m.group(0)


def parse_xml(data: bytes, encoding: str | None = None) -> etree._Element:
    """Parse one response; XMLSyntaxError if it is not XML even without the characters
    XML 1.0 forbids, ValueError if it carries a DTD."""
    parser = etree.XMLParser(encoding=encoding, **_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: byte-level cleaning is unsafe
            raise
        cleaned = _CHAR_REF.sub(_illegal_ref, _ILLEGAL_BYTES.sub(b"", data))
        if cleaned == data:
            raise
        root = etree.fromstring(cleaned, etree.XMLParser(encoding=encoding,
                                                         **_PARSER_OPTIONS))
        log.warning("dropped control characters XML 1.0 forbids from an OAI-PMH response")
    if root.getroottree().docinfo.doctype:
        raise ValueError("response carries a DTD (refused: XML entity attacks)")
    return root


def _text(el: etree._Element | None, name: str) -> str:
    if el is None:
        return ""
    return (el.findtext(_oai(name)) or "").strip()


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _is_marc_record(el: etree._Element) -> bool:
    return _local(el.tag) == "record" and any(_local(c.tag) == "leader" for c in el)


# -- the client ----------------------------------------------------------------------------


class _Client(Sickle):
    """sickle with a capped, date-aware Retry-After and one pooled HTTP session.

    sickle reads Retry-After only as whole seconds (an HTTP-date raises ValueError) and
    sleeps as long as the server says; a repository answering "Retry-After: 86400"
    would hang the harvest for a day.
    """

    def __init__(self, endpoint: str, *, max_retry_after: float, name: str = "",
                 limits: Limits | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        self.max_retry_after = max_retry_after
        self.name = name
        self.limits = limits or Limits()
        self.session = requests.Session()

    def get_retry_after(self, http_response: requests.Response) -> float:
        header = (http_response.headers.get("Retry-After") or "").strip()
        wait: float = self.default_retry_after
        if header.isdigit():
            wait = int(header)
        elif header:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                wait = max(0.0, (when - datetime.now(UTC)).total_seconds())
        return min(wait, self.max_retry_after)

    def _request(self, kwargs: dict[str, str]) -> requests.Response:
        """One request under the source's deadline and size cap: streamed, read in chunks
        (each after one network read) so a trickling or endless answer is cut off."""
        ends_at = time.monotonic() + self.limits.request_deadline
        args = dict(self.request_args)
        timeout = args.pop("timeout", None) or self.limits.request_deadline
        args["timeout"] = min(float(timeout), self.limits.request_deadline)
        if self.http_method == "GET":
            response = self.session.get(self.endpoint, params=kwargs, stream=True, **args)
        else:
            response = self.session.post(self.endpoint, data=kwargs, stream=True, **args)
        where = f"{self.endpoint} ({kwargs.get('verb', '')}{_describe(kwargs, skip='verb')})"

        def read1(n: int) -> bytes:
            try:
                return bytes(response.raw.read1(n, decode_content=True))
            except urllib3.exceptions.ReadTimeoutError:
                raise TimeoutError from None

        try:
            data = read_bounded(read1, name=self.name, where=where, limits=self.limits,
                                ends_at=ends_at)
        except TimeoutError:
            raise requests.Timeout(f"no answer within {args['timeout']:g} s") from None
        except urllib3.exceptions.HTTPError as e:
            raise requests.ConnectionError(str(e)) from None
        finally:
            response.close()
        response._content = data  # what .content and .text give from now on
        return response


@dataclass
class _Page:
    response_date: str
    items: list[etree._Element]
    token: str | None
    complete_size: int | None = None  # the resumptionToken's completeListSize, if given


class OAIPMHConnector:
    """One OAI-PMH repository: probe it (Identify, formats, sets) and harvest it.

    ``base_url`` is the repository's base URL; ``metadata_prefix`` what to harvest (oai_dc,
    marc21, …); ``set_spec`` restricts the harvest to one set (and its subsets).
    Credentials (HTTP Basic) come from the environment through ``Source.auth`` and never
    appear in messages or ``repr``.
    """

    incremental = True

    def __init__(
        self,
        name: str,
        base_url: str,
        metadata_prefix: str = "oai_dc",
        set_spec: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_after: float = 120.0,
        encoding: str | None = None,
        user: str | None = None,
        password: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"an OAI-PMH base URL is http(s)://host/path, not {base_url!r}")
        if not metadata_prefix:
            raise ValueError("metadata_prefix must not be empty")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.name = name
        self.base_url = base_url.strip()
        self.metadata_prefix = metadata_prefix
        self.set_spec = set_spec or None
        self.timeout = timeout
        self.max_retries = max_retries
        self.encoding = encoding
        self.limits = limits or Limits()
        request_args: dict[str, Any] = {
            "timeout": timeout,
            "headers": {"User-Agent": "Tongjian-harvester/0.1 (OAI-PMH 2.0)"},
        }
        if user:
            request_args["auth"] = (user, password or "")
        self._client = _Client(self.base_url, max_retries=max_retries,
                               retry_status_codes=(429, 503), default_retry_after=10,
                               max_retry_after=max_retry_after, name=name,
                               limits=self.limits, **request_args)
        self._granularity: str | None = None

    @classmethod
    def from_source(cls, source: Source, *, timeout: float | None = None) -> Self:
        """The connector for a config.yaml source.  Without ``metadata_prefix`` it is
        ``marc21`` for ``record_syntax: marcxml``, else ``oai_dc``; ``batch_size`` does not
        apply (the repository decides the page size); an ``encoding`` other than auto
        overrides the XML declaration of repositories that lie about it.  ``timeout``
        overrides the source's (see `connectors.registry`)."""
        prefix = source.metadata_prefix or ("marc21" if source.record_syntax == "marcxml"
                                             else "oai_dc")
        encoding = source.encoding if source.encoding in ("utf-8", "gb18030") else None
        return cls(source.name, source.address, prefix, source.set or None,
                   timeout=source.timeout if timeout is None else timeout,
                   encoding=encoding,
                   user=source.auth.resolve("user") or None,
                   password=source.auth.resolve("password") or None,
                   limits=Limits(source.request_deadline, source.max_response_bytes,
                                 source.max_pages))

    def __repr__(self) -> str:  # no credentials here, ever
        return (f"OAIPMHConnector(name={self.name!r}, base_url={self.base_url!r}, "
                f"metadata_prefix={self.metadata_prefix!r}, set_spec={self.set_spec!r})")

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        """Close pooled connections; the connector stays usable (they reopen)."""
        self._client.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- one request ---------------------------------------------------------------------
    def _request(self, verb: str, **params: str | None) -> etree._Element:
        """One OAI-PMH request → the parsed OAI-PMH root; OAI errors raised typed."""
        args = {k: v for k, v in params.items() if v}
        where = f"{self.base_url} ({verb}{_describe(args)})"
        try:
            response = self._client.harvest(verb=verb, **args).http_response
        except requests.HTTPError as e:
            raise self._http_error(e.response, where) from None
        except requests.Timeout:
            raise Unreachable(self.name, f"{where}: no answer within {self.timeout:g} s") \
                from None
        except requests.ConnectionError as e:
            raise Unreachable(self.name, f"{where}: cannot connect ({_reason(e)})") from None
        except requests.RequestException as e:
            raise Unreachable(self.name, f"{where}: {_reason(e)}") from None
        root = self._parse(response.content, where)
        self._raise_for_error(root, where)
        return root

    def _parse(self, data: bytes, where: str) -> etree._Element:
        try:
            root = parse_xml(data, self.encoding)
        except etree.XMLSyntaxError as e:
            raise ConnectorError(self.name, f"{where}: response is not well-formed XML "
                                 f"({e})") from None
        except ValueError as e:
            raise ConnectorError(self.name, f"{where}: {e}") from None
        if root.tag != _oai("OAI-PMH"):
            raise ConnectorError(self.name, f"{where}: not an OAI-PMH 2.0 response (root "
                                 f"element <{_local(root.tag)}>) — check the base URL")
        return root

    def _raise_for_error(self, root: etree._Element, where: str) -> None:
        errors = root.findall(_oai("error"))
        if not errors:
            return
        first = errors[0]
        code = first.get("code", "") or "unknown"
        message = " ".join((first.text or "").split())
        others = ", ".join(e.get("code", "") for e in errors[1:])
        addinfo = where + (f"; also: {others}" if others else "")
        cls = ERRORS.get(code, OAIError)
        raise cls(self.name, message, addinfo, code=code,
                  response_date=_text(root, "responseDate"))

    def _http_error(self, response: requests.Response | None, where: str) -> ConnectorError:
        if response is None:
            return Unreachable(self.name, f"{where}: HTTP error")
        status = f"HTTP {response.status_code} {response.reason or ''}".strip()
        # Some repositories send their OAI error document with a 4xx status.
        try:
            root = parse_xml(response.content)
        except (etree.XMLSyntaxError, ValueError):
            root = None
        if root is not None and root.tag == _oai("OAI-PMH"):
            try:
                self._raise_for_error(root, where)
            except OAIError as e:
                return e
        if response.status_code in (401, 403):
            return ConnectorError(self.name, f"{where}: {status} — access denied; check "
                                  "auth.user_env/password_env for this source")
        if response.status_code in (429, 503):
            return Unreachable(self.name, f"{where}: {status}, still after "
                               f"{self.max_retries} retries")
        return Unreachable(self.name, f"{where}: {status}")

    def _pages(self, verb: str, params: dict[str, str | None],
               token: str | None = None) -> Iterator[_Page]:
        """Every page of a list verb, following resumption tokens (the only place that
        knows about them).  A token the repository already gave in this call, or more than
        ``max_pages`` pages, end it with a `ConnectorError`: a repository that hands out
        the same token again would otherwise be followed forever."""
        seen: set[str] = {token} if token else set()
        pages = 0
        while True:
            pages += 1
            if pages > self.limits.max_pages:
                raise ConnectorError(self.name, f"{self.base_url}: {verb} still going after "
                                     f"{self.limits.max_pages} pages (last resumptionToken "
                                     f"{token!r}); stopped — raise max_pages for this source "
                                     "in config.yaml if the list really is that long")
            root = (self._request(verb, resumptionToken=token) if token
                    else self._request(verb, **params))
            body = root.find(_oai(verb))
            if body is None:
                raise ConnectorError(self.name, f"{self.base_url}: {verb} answer has neither "
                                     f"<{verb}> nor <error>")
            items = [c for c in body if _local(c.tag) != "resumptionToken"]
            token_el = body.find(_oai("resumptionToken"))
            token = (token_el.text or "").strip() if token_el is not None else ""
            if token and token in seen:
                raise ConnectorError(self.name, f"{self.base_url}: {verb} gave the "
                                     f"resumptionToken {token!r} again; stopped, as following "
                                     "it would loop forever — the repository's paging is "
                                     "broken: report it to its administrator")
            if token:
                seen.add(token)
            size = token_el.get("completeListSize", "") if token_el is not None else ""
            yield _Page(_text(root, "responseDate"), items, token or None,
                        int(size) if size.strip().isdigit() else None)
            if not token:
                return

    # -- probe verbs ---------------------------------------------------------------------
    def identify(self) -> Identity:
        root = self._request("Identify")
        el = root.find(_oai("Identify"))
        if el is None:
            raise ConnectorError(self.name, f"{self.base_url}: Identify answer without "
                                 "<Identify>")
        identity = Identity(
            repository_name=_text(el, "repositoryName"),
            base_url=_text(el, "baseURL"),
            protocol_version=_text(el, "protocolVersion"),
            granularity=SECONDS if _text(el, "granularity") == SECONDS else DAY,
            earliest_datestamp=_text(el, "earliestDatestamp"),
            deleted_record=_text(el, "deletedRecord"),
            admin_emails=tuple((e.text or "").strip() for e in el.findall(_oai("adminEmail"))),
        )
        self._granularity = identity.granularity
        return identity

    def list_metadata_formats(self, identifier: str | None = None) -> list[MetadataFormat]:
        root = self._request("ListMetadataFormats", identifier=identifier)
        body = root.find(_oai("ListMetadataFormats"))
        return [MetadataFormat(_text(f, "metadataPrefix"), _text(f, "schema"),
                               _text(f, "metadataNamespace"))
                for f in ([] if body is None else body.findall(_oai("metadataFormat")))]

    def list_sets(self) -> list[OAISet]:
        return [OAISet(_text(s, "setSpec"), _text(s, "setName"))
                for page in self._pages("ListSets", {}) for s in page.items
                if _local(s.tag) == "set"]

    # -- harvest -------------------------------------------------------------------------
    def granularity(self) -> str:
        """The repository's datestamp granularity; YYYY-MM-DD when Identify is unusable
        (every repository must accept it for from/until)."""
        if self._granularity is None:
            try:
                self.identify()
            except Unreachable:
                raise
            except ConnectorError as e:
                log.warning("%s: Identify failed (%s); sending from/until as days", self.name, e)
                self._granularity = DAY
        return self._granularity or DAY

    def harvest(self, state: dict[str, Any] | None = None,
                on_error: ErrorCallback | None = None) -> Iterator[RawRecord | Checkpoint]:
        """ListRecords, page by page, with a checkpoint after each page.

        ``state=None``: everything.  A final checkpoint's state ``{"from": …}``: what changed
        since.  A page checkpoint's state: continue from its token — or, when the repository
        no longer knows the token (tokens expire, repositories restart), harvest its window
        again from its ``from``; the harvester stores records idempotently by identifier.

        The final checkpoint's ``from`` is the ``responseDate`` of this harvest's first
        request: the repository's own clock, the clock its datestamps are written in, so a
        difference between its clock and ours can never open a gap; and the *first*
        request, so a record changed while a long harvest ran is fetched again next time.
        """
        state = dict(state or {})
        window_from: str | None = state.get("from") or None
        until: str | None = state.get("until") or None
        started: str | None = state.get("harvest_started") or None
        token: str | None = state.get("token") or None
        position = int(state.get("position") or 0)
        delivered: set[str] = set()
        restarts = 0
        # position before the list's first record (a list resumed from a token: 0)
        list_start = position if token is None else 0
        announced: int | None = None  # completeListSize, when the repository gives it
        while True:
            # The window is only sent without a token; a resumed token needs no Identify.
            params = self._window(window_from, until) if token is None else {}
            try:
                for page in self._pages("ListRecords", params, token):
                    if page.complete_size is not None:
                        announced = page.complete_size
                    if started is None:
                        started = _canonical(page.response_date) or window_from or ""
                    for el in page.items:
                        position += 1
                        item = self._record(el, position, on_error)
                        if item is None:
                            continue
                        if restarts and item.record_id in delivered:
                            continue
                        delivered.add(item.record_id)
                        yield item
                    if page.token:
                        token = page.token
                        yield Checkpoint({"token": page.token, "from": window_from,
                                          "until": until, "harvest_started": started,
                                          "position": position})
            except NoRecordsMatch as e:
                # An empty list; after a token it is a repository ending a list badly.
                if started is None:
                    started = _canonical(e.response_date) or window_from or ""
            except BadResumptionToken:
                if restarts >= MAX_RESTARTS:
                    raise
                restarts += 1
                list_start, announced = position, None
                log.warning("%s: resumption token refused; harvesting the window from %s "
                            "again", self.name, window_from or "the beginning")
                token = None
                continue
            break
        received = position - list_start
        if announced is not None and received < announced:
            # The list ended early: not a complete harvest, so nothing may be swept on its
            # word.  The next run harvests the same window again from its start.
            log.warning("%s: the repository announced %d records (completeListSize) but the "
                        "list ended after %d; this run is incomplete", self.name, announced,
                        received)
            yield Checkpoint({"from": window_from, "until": until, "harvest_started": started,
                              "position": position, "short_list": [received, announced]})
            return
        yield Checkpoint({"from": started or window_from}, final=True)

    def _window(self, window_from: str | None, until: str | None) -> dict[str, str | None]:
        params: dict[str, str | None] = {"metadataPrefix": self.metadata_prefix,
                                         "set": self.set_spec}
        if window_from or until:
            granularity = self.granularity()
            params["from"] = format_datestamp(window_from, granularity) if window_from else None
            params["until"] = format_datestamp(until, granularity) if until else None
        return params

    def _record(self, el: etree._Element, position: int,
                on_error: ErrorCallback | None) -> RawRecord | None:
        """One <record> element → RawRecord, or None after reporting why it is unusable."""
        try:
            return self._to_raw(el, position)
        except _BadRecord as e:
            if on_error is not None:
                on_error(position, str(e))
            return None

    def _to_raw(self, el: etree._Element, position: int) -> RawRecord:
        if el.tag != _oai("record"):
            raise _BadRecord(f"<{_local(el.tag)}> where a <record> belongs")
        header = el.find(_oai("header"))
        identifier = _text(header, "identifier")
        if header is None or not identifier:
            raise _BadRecord("record without a header identifier")
        datestamp = _text(header, "datestamp")
        if header.get("status") == "deleted":
            return RawRecord(self.name, position, b"", self._deleted_syntax, identifier,
                             deleted=True, datestamp=datestamp)
        metadata = el.find(_oai("metadata"))
        if metadata is None:
            raise _BadRecord(f"{identifier}: record without <metadata> and not deleted")
        children = [c for c in metadata if isinstance(c.tag, str)]
        if len(children) != 1:
            what = ("text, not an XML element (escaped XML?)" if (metadata.text or "").strip()
                    else f"{len(children)} elements")
            raise _BadRecord(f"{identifier}: <metadata> holds {what}; OAI-PMH requires "
                             "exactly one element")
        element, syntax = self._metadata_element(children[0], identifier)
        # A copy without the envelope's namespace declarations it does not use.
        element = copy.deepcopy(element)
        etree.cleanup_namespaces(element)
        data = etree.tostring(element, encoding="UTF-8", xml_declaration=False, with_tail=False)
        return RawRecord(self.name, position, data, syntax, identifier, datestamp=datestamp)

    def _metadata_element(self, el: etree._Element,
                          identifier: str) -> tuple[etree._Element, str]:
        name = _local(el.tag)
        if name == "collection":
            records = [c for c in el if _is_marc_record(c)]
            if len(records) == 1:
                return records[0], "marcxml"
        if _is_marc_record(el):
            return el, "marcxml"
        if name == "dc" and _namespace(el.tag) == OAI_DC_NS:
            return el, "oai_dc"
        if self.metadata_prefix == "oai_dc":
            raise _BadRecord(f"{identifier}: expected <oai_dc:dc>, found <{el.tag}>")
        if self.metadata_prefix in MARC_PREFIXES:
            raise _BadRecord(f"{identifier}: expected one MARCXML <record> with a <leader>, "
                             f"found <{el.tag}>")
        return el, self.metadata_prefix

    @property
    def _deleted_syntax(self) -> str:
        """The syntax a deletion notice carries: what the prefix's records would have."""
        if self.metadata_prefix == "oai_dc":
            return "oai_dc"
        return "marcxml" if self.metadata_prefix in MARC_PREFIXES else self.metadata_prefix


class _BadRecord(Exception):
    """One record element that cannot become a RawRecord; the message is the reason."""


def _describe(args: dict[str, str], skip: str = "") -> str:
    shown = {k: (v if len(v) <= 40 else v[:37] + "…") for k, v in args.items() if k != skip}
    return "".join(f" {k}={v}" for k, v in shown.items())


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "host name not found"
    return text if len(text) <= 160 else text[:157] + "…"
