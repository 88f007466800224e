"""SirsiDynix Symphony Web Services (ILSWS): the provincial union catalog as a source.

One Symphony server holds the CNMARC bibs of the province and the items of every member
(county) library, so one connector harvests the whole union catalog; each item names its
Symphony library, which config.yaml's ``members`` maps to our library codes.

What the connector relies on, and how sure we are (facts and sources in
/work/shared/notes/symphony-ilsws.md; [D] published documentation, [C] seen in public
client code — libilsws, uvalib ils-connector-ws, psu myaccount, SearchWorks —, [?] our
assumption):

* [D] every call carries ``x-sirs-clientID`` (SymWS SDK; "Bad Client ID" when wrong).
* [C] ``SD-Originating-App-Id``, ``Accept: application/json``, ``x-sirs-sessionToken``;
  ``POST /user/staff/login {"login","password"}`` → ``sessionToken``; failure is a
  messageList ``unableToLogin``; an expired token is HTTP 401 ``sessionTimedOut`` and the
  cure is to log in again and repeat the call.  The session lifetime is not published;
  UVA re-logs in after one hour, we after ``session_max_age`` (50 minutes by default).
* [C] the resource model ``{resource, key, fields}``; ``includeFields`` with nested
  braces fetches the bib, its MARC (``fields.bib``), call numbers and items in ONE
  request; ``/catalog/bib/search`` with ``q=INDEX:term``, ``rw`` (1-based row), ``ct``
  and the ``totalResults``/``result`` envelope; ``"1{CKEY} OR 2{CKEY}"`` finds bibs by
  key (UVA); deleted bibs come back as ``null`` entries that still count (libilsws);
  ``systemModifiedDate`` on bibs, calls and items; errors as ``messageList``.
* [C] status is the item's current location policy key (VuFind, UVA): an item at its
  home location is on the shelf, anything else is where it went — see `location_status`;
  the location keys' meanings are in the common vocabulary (``core.status.SYMPHONY``).
* [?] that ``GENERAL:*`` matches every bib.  Sites differ; ``query:`` in config.yaml
  replaces it with any query that matches the whole catalogue on that server.
* [?] whether editing an item bumps its bib's ``systemModifiedDate`` is unknown, so the
  change listing reads the stamps of calls and items too.  A shadowed bib is treated as
  withdrawn from the public catalogue (a deletion notice), as UVA hides shadowed calls.
* [?] the HTTP ``Date`` header is the server's clock (it is on a standard deployment,
  Web Services and Symphony on one host); used only to start the next incremental run.

Harvest.  A full harvest pages through the harvest query with ``rw``/``ct``
(``batch_size`` rows a page, MARC and items included), checkpointing ``{"row": next rw,
"since": …}`` after every page.  No change feed or date-modified search index is known
for ILSWS, so an incremental run (``state`` from a final checkpoint) first lists the
whole catalogue cheaply — keys and ``systemModifiedDate`` of bib, calls and items, 1000
rows a request, no MARC — then fetches only the bibs changed since the last run (by
``{CKEY}`` searches, ``batch_size`` a request) and sends deletion notices for keys that
were delivered last time and are now gone or shadowed.  The key set is kept in the
final checkpoint, delta-encoded and compressed (3 KB for a million sequential keys, about
130 KB when a tenth of them are missing at random).  A bib that could not be delivered
stays out of the key set, so the next run tries it again.  Limits: an item deleted with
nothing else changing is only seen at the next full harvest (``state=None``); when a
full harvest is resumed, the rows before the checkpoint are re-listed to rebuild the key
set, and a bib deleted during the interruption is not noticed until a full run.

Errors: connection refused / timeout / 502-504 without a body → ``Unreachable``;
credentials refused → ``ConnectorError`` naming the environment variables to check;
other HTTP errors → ``Diagnostic`` with the messageList code.  A page the server cannot
render (5xx) is retried bib by bib so one damaged record is reported to ``on_error``
and skipped instead of ending the harvest.

Threading: blocking stdlib HTTP (urllib), one instance per thread; the harvester runs
connectors in worker threads.  The password is read from the environment at login and
never kept; neither it nor the session token appears in messages, logs or ``repr``.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from connectors.base import (
    Checkpoint,
    ConnectorError,
    Diagnostic,
    LiveItem,
    RawRecord,
    Unreachable,
)
from connectors.httplimits import Limits, deadline_error, read_bounded
from core.status import (
    AVAILABLE,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    UNKNOWN,
    Status,
    common_status,
    due_date,
    location_use_only,
)

if TYPE_CHECKING:  # config is only a type here; connectors stay importable on their own
    from core.config import Source

log = logging.getLogger(__name__)

APP_ID = "Tongjian"
DEFAULT_HARVEST_QUERY = "GENERAL:*"
SYNTAX = "symphony"

HARVEST_FIELDS = (
    "shadowed,title,author,titleControlNumber,catalogFormat,createDate,modifiedDate,"
    "systemModifiedDate,bib,"
    "callList{callNumber,dispCallNumber,volumetric,shadowed,systemModifiedDate,"
    "library{description},classification,"
    "itemList{barcode,copyNumber,shadowed,createdDate,systemModifiedDate,itemType,"
    "library{description},"
    "homeLocation{description},currentLocation{description}}}"
)
"""One request per page brings bib, MARC, call numbers and items (UVA's availability call
asks for the same shape)."""

LISTING_FIELDS = ("shadowed,systemModifiedDate,"
                  "callList{systemModifiedDate,itemList{systemModifiedDate}}")
"""What an incremental run reads of every bib: enough to see a change, no MARC."""

SEARCH_FIELDS = "title,author,createDate,systemModifiedDate"
ITEM_FIELDS = ("barcode,library,itemType,homeLocation{description},"
               "currentLocation{description},circRecord{dueDate},call{callNumber},bib")

_RETRYABLE = {502, 503, 504}  # gateway/proxy answers when Web Services is down
_INDEX = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_QUERY_SPECIALS = re.compile(r'[,:;{}()\[\]"\\|/=<>]')
_OPERATORS = {"AND", "OR", "NOT", "XOR", "SAME", "WITH", "NEAR"}
_ITEM_KEY = re.compile(r"\d+:\d+:\d+")

ErrorCallback = Callable[[int, str], None]


def location_status(current: str, home: str = "", description: str = "",
                    due: str = "") -> Status:
    """An item's state from where it is: at home = on the shelf (reading-room shelves:
    library use only); elsewhere = what the current location's key, or failing that its
    description, says in the common vocabulary.  ``due`` is the circulation record's due
    date, kept only for a loan."""
    if current and current == home:
        return Status(LIBRARY_USE_ONLY if location_use_only(description) else AVAILABLE)
    status = common_status(current)
    if status.code == UNKNOWN and description:
        status = common_status(description)
    if status.code == ON_LOAN:
        return Status(ON_LOAN, due_date(due))
    return status


def clean_terms(terms: str) -> str:
    """User text as one ILSWS search term: characters that structure a query (``,`` joins
    clauses, ``:`` names an index, braces qualify, quotes group) and boolean/positional
    operator words are removed, so the text cannot change the query (as libilsws'
    prepareSearch does)."""
    words = [w for w in _QUERY_SPECIALS.sub(" ", terms).split() if w.upper() not in _OPERATORS]
    if not words:
        raise ValueError(f"nothing searchable in {terms!r}")
    return " ".join(words)


# -- key sets in checkpoint state ---------------------------------------------------------


def _order(key: str) -> tuple[int, int, str]:
    """Catalogue keys sort as numbers (Symphony's are), anything else after them."""
    if key.isascii() and key.isdigit():
        return (0, int(key), "")
    return (1, 0, key)


def pack_keys(keys: Iterable[str]) -> str:
    """A key set as short ASCII: sorted, delta-encoded when numeric, zlib, base64."""
    ordered = sorted(set(keys), key=_order)
    if all(k.isascii() and k.isdigit() and str(int(k)) == k for k in ordered):
        previous, deltas = 0, []
        for k in ordered:
            deltas.append(str(int(k) - previous))
            previous = int(k)
        payload = "n" + ",".join(deltas)
    else:
        payload = "s" + "\n".join(ordered)
    return base64.b64encode(zlib.compress(payload.encode("utf-8"), 9)).decode("ascii")


def unpack_keys(packed: str) -> set[str]:
    try:
        payload = zlib.decompress(base64.b64decode(packed.encode("ascii"))).decode("utf-8")
    except (ValueError, zlib.error, UnicodeError) as e:
        raise ValueError(f"damaged key set in harvest state: {e}") from None
    kind, body = payload[:1], payload[1:]
    if not body:
        return set()
    if kind == "s":
        return set(body.split("\n"))
    total, out = 0, set()
    for delta in body.split(","):
        total += int(delta)
        out.add(str(total))
    return out


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPage:
    """One page of a bib search: ``rows`` as returned, ``None`` for deleted bibs."""

    total: int
    start: int
    rows: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def hits(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r is not None]

    @property
    def keys(self) -> list[str]:
        return [_key(r) for r in self.hits]


def _key(resource: Mapping[str, Any]) -> str:
    return str(resource.get("key") or resource.get("@key") or "")


def _link_key(value: Any) -> str:
    return _key(value) if isinstance(value, Mapping) else ""


def _fields(resource: Any) -> Mapping[str, Any]:
    if isinstance(resource, Mapping):
        f = resource.get("fields")
        if isinstance(f, Mapping):
            return f
    return {}


def _description(link: Any) -> str:
    return str(_fields(link).get("description") or "")


def _parse_stamp(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def change_stamp(bib: Mapping[str, Any]) -> datetime | None:
    """The latest systemModifiedDate of a bib, its call numbers and items (None when any
    is missing or unreadable: then the bib counts as changed)."""
    fields = _fields(bib)
    stamps = [fields.get("systemModifiedDate")]
    for call in fields.get("callList") or []:
        stamps.append(_fields(call).get("systemModifiedDate"))
        stamps.extend(_fields(item).get("systemModifiedDate")
                      for item in _fields(call).get("itemList") or [])
    parsed = [_parse_stamp(s) for s in stamps]
    if not parsed or any(p is None for p in parsed):
        return None
    return max(p for p in parsed if p is not None)


class _HttpDiagnostic(Diagnostic):
    """A Diagnostic that remembers the HTTP status, so 5xx pages can be retried per bib."""

    def __init__(self, source: str, code: int | str, message: str, addinfo: str,
                 status: int) -> None:
        super().__init__(source, code, message, addinfo)
        self.status = status


# -- the connector ------------------------------------------------------------------------


class SymphonyConnector:
    """The union catalog over ILSWS: search, bib lookup, item status, harvest.

    ``base_url`` includes the webapp (``https://host/symws``).  The staff login and
    password are read from the environment variables ``user_env``/``password_env`` at
    each login, so a rotated password is picked up without a restart and never sits in
    this object.  The session is renewed when Symphony says it timed out, and
    proactively after ``session_max_age`` seconds.
    """

    incremental = True
    status_by = "item"  # live status per barcode: one request per copy (no batch lookup known)
    keep_alive = True  # an idle session is renewed on its own when Symphony times it out

    def __init__(self, name: str, base_url: str, *, client_id: str, user_env: str,
                 password_env: str, environ: Mapping[str, str] | None = None,
                 timeout: float = 10.0, batch_size: int = 50,
                 harvest_query: str = DEFAULT_HARVEST_QUERY, listing_size: int = 1000,
                 session_max_age: float = 3000.0, overlap: float = 600.0,
                 app_id: str = APP_ID, limits: Limits | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConnectorError(name, f"address must be the Web Services URL including the "
                                 f"webapp, like https://host/symws — not {base_url!r}")
        if not client_id:
            raise ConnectorError(name, "no x-sirs-clientID: set auth.client_id to the client "
                                 "id the Symphony administrator registered for Tongjian")
        if not 1 <= batch_size <= 1000 or not 1 <= listing_size <= 1000:
            raise ValueError("batch_size and listing_size must be 1–1000")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.user_env = user_env
        self.password_env = password_env
        self.timeout = timeout
        self.batch_size = batch_size
        self.listing_size = listing_size
        self.harvest_query = harvest_query
        self.session_max_age = session_max_age
        self.overlap = overlap
        self.app_id = app_id
        self.limits = limits or Limits()
        self._environ = environ
        self._token: str | None = None
        self._token_time = 0.0
        self._staff_key = ""
        self._server_date: datetime | None = None  # Date header of the latest answer
        self._opener = urllib.request.build_opener(_NoRedirect)

    @classmethod
    def from_source(cls, source: Source, environ: Mapping[str, str] | None = None, *,
                    timeout: float | None = None) -> Self:
        """The connector for a ``protocol: symphony`` source of config.yaml; ``timeout``
        overrides the source's (see `connectors.registry`)."""
        auth = source.auth
        client_id = auth.client_id
        if not client_id and auth.client_id_env:
            client_id = auth.resolve("client_id", environ)
            if not client_id:
                raise ConnectorError(source.name, f"environment variable "
                                     f"{auth.client_id_env} (auth.client_id_env) is not set; "
                                     "export it with the Symphony client id")
        if not auth.user_env or not auth.password_env:
            raise ConnectorError(source.name, "set auth.user_env and auth.password_env to the "
                                 "names of the environment variables holding the Symphony "
                                 "staff login and password")
        return cls(source.name, source.address, client_id=client_id, user_env=auth.user_env,
                   password_env=auth.password_env, environ=environ,
                   timeout=source.timeout if timeout is None else timeout,
                   batch_size=source.batch_size,
                   harvest_query=source.query or DEFAULT_HARVEST_QUERY,
                   limits=Limits(source.request_deadline, source.max_response_bytes,
                                 source.max_pages))

    def __repr__(self) -> str:  # no credentials, no token
        return (f"SymphonyConnector(name={self.name!r}, base_url={self.base_url!r}, "
                f"client_id={self.client_id!r}, logged_in={self._token is not None})")

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """End the session (best effort: a dead server must not make closing fail)."""
        if self._token is None:
            return
        try:
            self._send("POST", "/user/staff/logout", body={})
        except ConnectorError:
            pass
        finally:
            self._token = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- session ---------------------------------------------------------------------
    def _credentials(self) -> tuple[str, str]:
        env = os.environ if self._environ is None else self._environ
        values = []
        for what, name in (("login", self.user_env), ("password", self.password_env)):
            value = env.get(name, "") if name else ""
            if not value:
                raise ConnectorError(self.name, f"environment variable {name or '(unnamed)'} "
                                     f"is not set — export it with the Symphony staff {what} "
                                     "(config.yaml names it in auth.user_env/password_env)")
            values.append(value)
        return values[0], values[1]

    def login(self) -> None:
        """POST /user/staff/login; keeps the session token for the following calls."""
        user, password = self._credentials()
        self._token = None
        status, data = self._send("POST", "/user/staff/login",
                                  body={"login": user, "password": password}, auth=False)
        code, message = _message(data)
        if not 200 <= status < 300:
            if code == "unableToLogin" or (status == 401 and not _is_client_id(code)):
                raise ConnectorError(self.name, f"Symphony refused the staff login "
                                     f"({code or status}: {message or 'unable to log in'}); "
                                     f"check the login in ${self.user_env} and the password "
                                     f"in ${self.password_env}")
            raise self._error(status, data, "/user/staff/login")
        token = data.get("sessionToken") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ConnectorError(self.name, "the login answer has no sessionToken")
        self._token = token
        self._token_time = time.monotonic()
        self._staff_key = str(data.get("staffKey") or "")
        log.info("%s: logged in to Symphony Web Services", self.name)

    def _session(self) -> None:
        if self._token is None or time.monotonic() - self._token_time > self.session_max_age:
            self.login()

    # -- HTTP ------------------------------------------------------------------------
    def _send(self, method: str, path: str, params: Mapping[str, Any] | None = None,
              body: Any = None, *, auth: bool = True) -> tuple[int, Any]:
        """One HTTP exchange: (status, parsed JSON or None).  Network failures raise
        Unreachable; HTTP errors are returned for the caller to interpret."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"x-sirs-clientID": self.client_id, "SD-Originating-App-Id": self.app_id,
                   "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if auth and self._token:
            headers["x-sirs-sessionToken"] = self._token
        # The scheme was checked in __init__: only http(s) URLs reach here.
        request = urllib.request.Request(url, data=data, headers=headers,  # noqa: S310
                                         method=method)
        log.debug("%s: %s %s", self.name, method, path)
        # One deadline for the whole request (connect + every read) and a size cap: the
        # body is read in chunks (each returns after one network read, waiting at most the
        # timeout), and the time left is checked before every read.
        ends_at = time.monotonic() + self.limits.request_deadline
        where = f"{method} {self.base_url}{path}"

        def read_all(response: Any) -> bytes:
            return read_bounded(response.read1, name=self.name, where=where,
                                limits=self.limits, ends_at=ends_at)

        try:
            wait = min(self.timeout, self.limits.request_deadline)
            with self._opener.open(request, timeout=wait) as response:  # noqa: S310
                status, raw, date = response.status, read_all(response), response.headers["Date"]
        except urllib.error.HTTPError as e:
            with e:
                status, raw, date = e.code, read_all(e), e.headers.get("Date")
        except TimeoutError:
            if time.monotonic() >= ends_at - 0.05:
                raise deadline_error(self.name, where, self.limits) from None
            raise Unreachable(self.name, f"no answer within {self.timeout:g} s "
                              f"({self.base_url})") from None
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
            reason = getattr(e, "reason", e)
            raise Unreachable(self.name, f"{reason or type(e).__name__} ({self.base_url})"
                              ) from None
        if date:
            try:
                self._server_date = email.utils.parsedate_to_datetime(date)
            except (TypeError, ValueError):
                pass
        if not raw.strip():
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            if not 200 <= status < 300:
                return status, None
            raise ConnectorError(self.name, f"{path} answered with something that is not JSON "
                                 f"({raw[:60]!r})") from None

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """An authenticated call: logs in when needed, and once more when Symphony says
        the session timed out."""
        self._session()
        status, data = self._send(method, path, params)
        if status == 401 and _message(data)[0] == "sessionTimedOut":
            log.info("%s: session timed out; logging in again", self.name)
            self.login()
            status, data = self._send(method, path, params)
            if status == 401 and _message(data)[0] == "sessionTimedOut":
                raise ConnectorError(self.name, "Symphony rejected a session it had just "
                                     "opened (sessionTimedOut right after login)")
        if not 200 <= status < 300:  # 3xx too: redirects are refused, see _NoRedirect
            raise self._error(status, data, path)
        return data

    def _error(self, status: int, data: Any, path: str) -> ConnectorError:
        code, message = _message(data)
        if _is_client_id(code):
            return ConnectorError(self.name, f"Symphony refused the client id "
                                  f"{self.client_id!r} ({code}: {message}); set auth.client_id "
                                  "to the x-sirs-clientID registered for Tongjian")
        if not code:
            if status in _RETRYABLE:
                return Unreachable(self.name, f"HTTP {status} from {self.base_url}: "
                                   "Web Services unavailable")
            return _HttpDiagnostic(self.name, f"HTTP {status}",
                                   http.client.responses.get(status, "error"), path, status)
        return _HttpDiagnostic(self.name, code, message, f"HTTP {status} {path}", status)

    # -- catalogue -------------------------------------------------------------------
    def search(self, terms: str, index: str = "GENERAL", start: int = 1, count: int = 20,
               include_fields: str = SEARCH_FIELDS) -> SearchPage:
        """Search user text in one index (GENERAL, TITLE, AUTHOR, SUBJECT …)."""
        idx = index.upper()
        if not _INDEX.fullmatch(idx):
            raise ValueError(f"not a Symphony search index name: {index!r}")
        return self.search_query(f"{idx}:{clean_terms(terms)}", start, count, include_fields)

    def search_query(self, q: str, start: int = 1, count: int = 20,
                     include_fields: str = SEARCH_FIELDS) -> SearchPage:
        """Run a raw ILSWS ``q`` (trusted text, e.g. from config)."""
        if start < 1 or count < 1:
            raise ValueError("start and count must be at least 1")
        params = {"q": q, "rw": start, "ct": count, "includeFields": include_fields}
        data = self._call("GET", "/catalog/bib/search", params)
        if not isinstance(data, dict):
            raise ConnectorError(self.name, "bib search answered without a result envelope")
        rows = data.get("result") or []
        if not isinstance(rows, list):
            raise ConnectorError(self.name, "bib search: 'result' is not a list")
        try:
            total = int(data.get("totalResults") or 0)
        except (TypeError, ValueError):
            raise ConnectorError(self.name, "bib search: totalResults is not a number") from None
        clean = [r if isinstance(r, dict) and _key(r) else None for r in rows]
        return SearchPage(total=total, start=start, rows=clean)

    def bib(self, key: str, include_fields: str = HARVEST_FIELDS) -> dict[str, Any]:
        """One bib with its MARC, call numbers and items (Diagnostic recordNotFound if
        there is no such key)."""
        path = "/catalog/bib/key/" + urllib.parse.quote(key, safe="")
        data = self._call("GET", path, {"includeFields": include_fields})
        if not isinstance(data, dict) or not _key(data):
            raise ConnectorError(self.name, f"bib {key}: the answer is not a bib resource")
        return data

    def item_statuses(self, key: str) -> tuple[LiveItem, ...] | None:
        """The copy with barcode (or item key "123:1:2") ``key`` as circulation sees it
        now; None when Symphony has no such item."""
        kind = "key" if _ITEM_KEY.fullmatch(key) else "barcode"
        path = f"/catalog/item/{kind}/" + urllib.parse.quote(key, safe="")
        try:
            data = self._call("GET", path, {"includeFields": ITEM_FIELDS})
        except _HttpDiagnostic as e:
            if e.status == 404:
                return None
            raise
        f = _fields(data)
        current = _link_key(f.get("currentLocation"))
        description = _description(f.get("currentLocation"))
        status = location_status(current, _link_key(f.get("homeLocation")), description,
                                 str(_fields(f.get("circRecord")).get("dueDate") or ""))
        raw = f"{current} {description}".strip()
        return (LiveItem(status, raw, str(f.get("barcode") or ""),
                         str(_fields(f.get("call")).get("callNumber") or ""), description),)

    # -- harvest ---------------------------------------------------------------------
    def harvest(self, state: dict[str, Any] | None = None,
                on_error: ErrorCallback | None = None) -> Iterator[RawRecord | Checkpoint]:
        """Full harvest (``state`` None or from a ``full`` checkpoint) or the changes since
        a final checkpoint, as described in the module docstring."""
        state = dict(state or {})
        mode = state.get("mode", "full")
        report = on_error or self._log_error
        if mode == "full":
            yield from self._full(state, report)
        elif mode in ("done", "changes") and "keys" in state and "since" in state:
            yield from self._changes(state, report)
        else:
            raise ValueError(f"{self.name}: not a Symphony harvest state: {sorted(state)}")

    def _log_error(self, position: int, reason: str) -> None:
        log.warning("%s: record %d skipped: %s", self.name, position, reason)

    def _since(self, moment: datetime | None = None) -> str:
        """Where the next incremental run starts: the server's clock at the start of this
        run (the latest answer's Date header by default), minus the overlap."""
        now = moment or self._server_date or datetime.now(UTC)
        return (now - timedelta(seconds=self.overlap)).isoformat()

    def _raw(self, entry: dict[str, Any], position: int) -> RawRecord:
        f = _fields(entry)
        return RawRecord(source=self.name, position=position, syntax=SYNTAX,
                         record_id=_key(entry),
                         data=json.dumps(entry, ensure_ascii=False,
                                         separators=(",", ":")).encode("utf-8"),
                         datestamp=str(f.get("systemModifiedDate") or f.get("modifiedDate")
                                       or ""))

    def _deletion(self, key: str, position: int) -> RawRecord:
        return RawRecord(source=self.name, position=position, data=b"", syntax=SYNTAX,
                         record_id=key, deleted=True)

    def _full(self, state: dict[str, Any], report: ErrorCallback
              ) -> Iterator[RawRecord | Checkpoint]:
        query = str(state.get("query") or self.harvest_query)
        row = int(state.get("row", 1))
        since = state.get("since")
        delivered: set[str] = set()
        failed = set(state.get("failed", []))  # kept out of the key set: retried next run
        if row > 1:  # resumed: rebuild the key set of the rows already delivered
            listed, _ = self._listing(query, last_row=row - 1)
            delivered = {k for k, (_, shadowed) in listed.items() if not shadowed} - failed
        while True:
            page, failures = self._page(query, row)
            if since is None:
                since = self._since()
            for offset, entry in enumerate(page.rows):
                position = row + offset
                if offset in failures:
                    report(position, failures[offset][1])
                    failed.add(failures[offset][0])
                if entry is None or _fields(entry).get("shadowed") is True:
                    continue  # deleted (a null that still counts) or hidden from the public
                key = _key(entry)
                if key in delivered:
                    continue  # rows shifted under us: already delivered once
                delivered.add(key)
                yield self._raw(entry, position)
            row += len(page.rows)
            if row > page.total:
                break
            if not page.rows:
                raise ConnectorError(self.name, f"the server returned an empty page at row "
                                     f"{row} of {page.total}; resume later")
            yield Checkpoint({"mode": "full", "row": row, "since": since, "query": query,
                              "failed": sorted(failed, key=_order)})
        yield Checkpoint({"mode": "done", "since": since, "query": query,
                          "keys": pack_keys(delivered)}, final=True)

    def _page(self, query: str, row: int) -> tuple[SearchPage, dict[int, tuple[str, str]]]:
        """A harvest page; when the server cannot render it (5xx), the page's keys are
        listed without MARC and each bib fetched alone: failures as row offset → (key,
        reason)."""
        try:
            return self.search_query(query, row, self.batch_size, HARVEST_FIELDS), {}
        except _HttpDiagnostic as e:
            if e.status < 500:
                raise
            log.warning("%s: page at row %d failed (%s); fetching its bibs one by one",
                        self.name, row, e.message)
        listing = self.search_query(query, row, self.batch_size, "key")
        rows: list[dict[str, Any] | None] = []
        failures: dict[int, tuple[str, str]] = {}
        for offset, entry in enumerate(listing.rows):
            if entry is None:
                rows.append(None)
                continue
            key = _key(entry)
            try:
                rows.append(self.bib(key))
            except _HttpDiagnostic as e:
                rows.append(None)
                if e.status != 404:
                    failures[offset] = (key, f"bib {key}: {e.code}: {e.diag_message}")
        return SearchPage(total=listing.total, start=row, rows=rows), failures

    def _listing(self, query: str, last_row: int | None = None
                 ) -> tuple[dict[str, tuple[datetime | None, bool]], datetime | None]:
        """key → (change stamp, shadowed) for every bib the query finds (up to last_row),
        and the server's Date when the listing started."""
        out: dict[str, tuple[datetime | None, bool]] = {}
        started: datetime | None = None
        row = 1
        while last_row is None or row <= last_row:
            count = self.listing_size if last_row is None else min(self.listing_size,
                                                                   last_row - row + 1)
            page = self.search_query(query, row, count, LISTING_FIELDS)
            if started is None:
                started = self._server_date
            for entry in page.hits:
                out[_key(entry)] = (change_stamp(entry), _fields(entry).get("shadowed") is True)
            row += len(page.rows)
            if row > page.total:
                break
            if not page.rows:
                raise ConnectorError(self.name, f"the server returned an empty page at row "
                                     f"{row} of {page.total}; resume later")
        return out, started

    def _changes(self, state: dict[str, Any], report: ErrorCallback
                 ) -> Iterator[RawRecord | Checkpoint]:
        query = str(state.get("query") or self.harvest_query)
        previous = unpack_keys(str(state["keys"]))
        since = _parse_stamp(state["since"])
        if since is None:
            raise ValueError(f"{self.name}: harvest state has an unreadable since "
                             f"{state['since']!r}")
        listing, started = self._listing(query)
        next_since = state.get("next_since") or self._since(started)
        live = {k for k, (_, shadowed) in listing.items() if not shadowed}
        floor: datetime = since  # narrowed for the generator below
        changed = sorted((k for k in live if k not in previous or (stamp := listing[k][0])
                          is None or stamp >= floor), key=_order)
        after = state.get("after")
        if after is not None:
            changed = [k for k in changed if _order(k) > _order(str(after))]
        resume = {"mode": "changes", "since": state["since"], "keys": state["keys"],
                  "next_since": next_since, "query": query}
        position = 0
        if not state.get("deletions_done"):
            for key in sorted(previous - live, key=_order):
                position += 1
                yield self._deletion(key, position)
        failed = set(state.get("failed", []))
        for start in range(0, len(changed), self.batch_size):
            batch = changed[start : start + self.batch_size]
            found, failures = self._fetch(batch)
            for key in batch:
                position += 1
                entry = found.get(key)
                if key in failures:
                    report(position, failures[key])
                    failed.add(key)
                elif entry is None or _fields(entry).get("shadowed") is True:
                    live.discard(key)  # deleted or shadowed since the listing
                    if key in previous:
                        yield self._deletion(key, position)
                else:
                    yield self._raw(entry, position)
            yield Checkpoint({**resume, "after": batch[-1], "deletions_done": True,
                              "failed": sorted(failed, key=_order)})
        yield Checkpoint({"mode": "done", "since": next_since, "query": query,
                          "keys": pack_keys(live - failed)}, final=True)

    def _fetch(self, keys: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Full bibs by catalogue key: one ``{CKEY}`` search, or one request per bib when
        the keys are not plain numbers or the server cannot render the batch."""
        if all(k.isascii() and k.isdigit() for k in keys):
            q = 'GENERAL:"' + " OR ".join(f"{k}{{CKEY}}" for k in keys) + '"'
            try:
                page = self.search_query(q, 1, len(keys), HARVEST_FIELDS)
                return {_key(e): e for e in page.hits}, {}
            except _HttpDiagnostic as e:
                if e.status < 500:
                    raise
        found: dict[str, dict[str, Any]] = {}
        failures: dict[str, str] = {}
        for key in keys:
            try:
                found[key] = self.bib(key)
            except _HttpDiagnostic as e:
                if e.status != 404:
                    failures[key] = f"bib {key}: {e.code}: {e.diag_message}"
        return found, failures


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the session token to wherever it points: refuse."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


def _message(data: Any) -> tuple[str, str]:
    """(code, message) of the first entry of a messageList, or ('', '')."""
    if isinstance(data, dict):
        entries = data.get("messageList")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            return str(entries[0].get("code") or ""), str(entries[0].get("message") or "")
    return "", ""


def _is_client_id(code: str) -> bool:
    return "clientid" in code.casefold()
