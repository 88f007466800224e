"""Koha connector: harvest a county library's Koha over its REST API v1.

What follows Koha's published API (``api/v1/swagger`` in Koha-Community/Koha, read with the
controllers behind it):

* OAuth2 client credentials — ``POST /api/v1/oauth/token`` with a form-encoded
  ``grant_type=client_credentials&client_id=…&client_secret=…`` answers ``access_token``,
  ``token_type``, ``expires_in`` (paths/oauth.yaml); or HTTP Basic.  Either must be enabled
  in Koha (sysprefs RESTOAuth2ClientCredentials / RESTBasicAuth), and the API key's patron
  needs the ``catalogue`` permission.
* ``GET /biblios`` (list, ``application/json``), ``GET /biblios/{id}`` with
  ``Accept: application/marcxml+xml`` (or ``application/marc-in-json``), ``GET /items``,
  ``GET /biblios/{id}/items``, ``GET /checkouts`` and ``/biblios/{id}/checkouts``
  (``due_date``; these need the ``circulate`` permission), ``GET /deleted/biblios``
  (newer Koha; ``deleted_on``), ``GET /libraries``.
* Reserved parameters ``_page``, ``_per_page``, ``_order_by``, and ``q`` — a JSON filter,
  repeatable and ANDed, with ``>``/``>=``/``<`` operators, arrays meaning "any of", and
  ``me.`` to name the main table's column where joins make a name ambiguous.
* Errors: ``{"error", "error_code"}``; schema violations ``{"errors": [{"message",
  "path"}]}``; a query parameter a route does not declare is refused with 400 (Koha's Auth.pm),
  so this connector sends only declared parameters (``/items?biblio_id=`` is *not* one — it
  filters with ``q`` instead).
* Items carry no due date, but Koha's AddIssue stores the due date in ``items.onloan``,
  which the API calls ``checked_out_date``; the exact ``due_date`` comes from /checkouts.

What is our own design or an assumption:

* Paging is by key, not by page number: every request asks for the first page of
  ``biblio_id > last one delivered``, ordered by ``+me.biblio_id``.  Page numbers shift when
  records are added or deleted during a harvest (records skipped or sent twice); a key does
  not, and it is what a checkpoint stores.  ``X-Total-Count`` / ``Link: rel="next"`` end the
  loop early when present — newer Koha's ``Biblios#list`` sends neither, so a short page
  ends it too.
* Incremental harvests (`incremental`): deletions from ``/deleted/biblios`` (``deleted_on``),
  records whose biblio row changed (``me.timestamp``), and records whose *items* changed
  (``/items`` by ``timestamp``: checkouts, returns, losses) — Koha's biblio timestamp does
  not move for those.  ``since`` is the server's own clock (the HTTP ``Date`` of the run's
  first answer) minus `overlap` seconds, sent as RFC 3339 UTC; whether an old Koha compares
  it in the right time zone is unverified, hence the overlap.  Not seen incrementally: a
  MARC edit that leaves every biblio column unchanged (only ``biblio_metadata`` moves), and
  deleted items (no REST route for deleteditems) — a periodic full harvest catches both.
  ``incremental`` is probed once (one request) because ``/deleted/biblios`` only exists in
  newer Koha: without it deletions are invisible and every run must be a full harvest.
* Per page: one list request, one MARCXML request per record (a record Koha cannot
  serialise fails alone, and is retried as MARC-in-JSON before it is reported), one bulk
  items request (``q={"biblio_id": [ids]}``) and, when items are on loan, one checkouts
  request.  Patron ids in checkouts are dropped: they have no place in a union catalogue.

A record goes out as ``RawRecord(syntax="koha")`` whose data is a JSON envelope
``{"biblio_id", "timestamp", "marcxml" | "marc_in_json", "items": [item + "checkout"]}``;
``harvest.crosswalk.koha`` reads it.  Threading: calls block; use one instance per thread.
Secrets (API secret, password, access token) never appear in messages, ``repr`` or logs.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlencode, urlsplit

from connectors.base import (
    Checkpoint,
    ConnectorError,
    Diagnostic,
    LiveItem,
    RawRecord,
    Unreachable,
)
from connectors.httplimits import Limits, deadline_error, read_bounded
from core.status import ON_LOAN, Status, common_status
from core.status import due_date as calendar_date

if TYPE_CHECKING:
    from core.config import Source

ErrorCallback = Callable[[int, str], None]

API = "/api/v1"
SYNTAX = "koha"
JSON_TYPE = "application/json"
MARCXML_TYPE = "application/marcxml+xml"
MIJ_TYPE = "application/marc-in-json"
USER_AGENT = "Tongjian/0.1 (union catalogue harvester)"
ITEMS_PER_REQUEST = 1000  # items and checkouts are fetched in bulk, many per record
# Ids per q list: 200 six-digit ids URL-encode to ~2 KB, well under the 8 KB request line
# Apache (Koha's usual front end) allows.
IDS_PER_QUERY = 200
TOKEN_MARGIN = 30.0  # renew this many seconds before Koha says the token expires

# Item columns that take an item off the shelf, in the order a status summary names them;
# values are authorised-value codes (0 = not set), kept raw for a later vocabulary mapping.
ITEM_FLAGS: tuple[tuple[str, str], ...] = (
    ("withdrawn", "withdrawn"),
    ("lost_status", "lost"),
    ("damaged_status", "damaged"),
    ("effective_not_for_loan_status", "not for loan"),
    ("restricted_status", "restricted"),
)
# Checkout fields worth keeping in a union catalogue (patron and issuer ids are not).
CHECKOUT_KEEP = ("checkout_id", "item_id", "due_date", "checkout_date", "library_id",
                 "renewals_count", "onsite_checkout")
# Hints for refusals whose cause is a Koha setting rather than the credentials themselves.
REFUSAL_HINTS: dict[str, str] = {
    "Basic authentication disabled": "enable the system preference RESTBasicAuth in Koha, "
                                     "or use an API key (OAuth2)",
    "Unimplemented grant type": "enable the system preference RESTOAuth2ClientCredentials "
                                "in Koha, or use HTTP Basic",
}


# ---------------------------------------------------------------------------- item status


def _flag(item: Mapping[str, Any], name: str) -> Any:
    value = item.get(name)
    if name == "effective_not_for_loan_status" and not value:
        value = item.get("not_for_loan_status")
    return None if value in (None, 0, "0", "", False) else value


def due_date(item: Mapping[str, Any]) -> str:
    """The due date (YYYY-MM-DD) of an item on loan, '' when it is not out.

    The checkout's ``due_date`` when we have it; else ``checked_out_date``, which holds the
    due date (Koha's AddIssue writes it into items.onloan) despite its name."""
    checkout = item.get("checkout") or {}
    value = checkout.get("due_date") or item.get("checked_out_date") or ""
    return str(value)[:10]


def is_checked_out(item: Mapping[str, Any]) -> bool:
    return bool(item.get("checkout") or item.get("checked_out_date"))


def status_summary(item: Mapping[str, Any]) -> str:
    """The item's state in Koha's own terms: "checked out, due 2026-12-01", "lost (2)",
    "not for loan (-1)" … joined by "; ", or "available".  Codes stay raw on purpose."""
    parts = []
    if is_checked_out(item):
        due = due_date(item)
        parts.append(f"checked out, due {due}" if due else "checked out")
    for name, label in ITEM_FLAGS:
        value = _flag(item, name)
        if value is not None:
            parts.append(f"{label} ({value})")
    return "; ".join(parts) or "available"


def live_item(item: Mapping[str, Any]) -> LiveItem:
    """An item (with its checkout attached) as live status: Koha's summary read through the
    common vocabulary, with the exact due date of a loan."""
    summary = status_summary(item)
    status = common_status(summary)
    if status.code == ON_LOAN:
        status = Status(ON_LOAN, calendar_date(due_date(item)) or status.due_date)
    return LiveItem(status, summary, str(item.get("external_id") or ""),
                    str(item.get("callnumber") or ""), str(item.get("location") or ""))


# ---------------------------------------------------------------------------- HTTP plumbing


@dataclass
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""

    @property
    def date(self) -> datetime | None:
        """The server's clock (HTTP Date header)."""
        try:
            return parsedate_to_datetime(self.header("Date")).astimezone(UTC)
        except (TypeError, ValueError, IndexError):
            return None

    @property
    def total(self) -> int | None:
        value = self.header("X-Total-Count").strip()
        return int(value) if value.isdigit() else None

    @property
    def links(self) -> set[str]:
        """The rel values of the Link headers (Koha sends one header per relation)."""
        text = ",".join(self.headers.get_all("Link") or [])
        return set(re.findall(r'rel="?([a-z]+)"?', text))

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class _Http:
    """One keep-alive connection to the server, reopened when the server drops it."""

    def __init__(self, name: str, base_url: str, timeout: float,
                 limits: Limits | None = None) -> None:
        parts = urlsplit(base_url)
        self.name, self.base_url, self.timeout = name, base_url, timeout
        self.limits = limits or Limits()
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, False
        if self.https:
            self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                     context=ssl.create_default_context())
        else:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn, True

    def request(self, method: str, path: str, headers: Mapping[str, str],
                body: bytes | None = None) -> _Response:
        ends_at = time.monotonic() + self.limits.request_deadline
        where = f"{method} {self.base_url}{path.split('?', 1)[0]}"
        while True:
            conn, fresh = self._connection()
            try:
                # Every blocking step waits at most the per-read timeout and never past the
                # request's deadline; the body is read in chunks against both bounds.
                conn.timeout = self._wait(ends_at, where)
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                conn.request(method, self.prefix + path, body=body, headers=dict(headers))
                if conn.sock is not None:
                    conn.sock.settimeout(self._wait(ends_at, where))
                resp = conn.getresponse()
                sock = conn.sock
                data = read_bounded(resp.read1, name=self.name, where=where,
                                    limits=self.limits, ends_at=ends_at, per_read=self.timeout,
                                    set_timeout=sock.settimeout if sock is not None else None)
                resp.close()  # read1 leaves a fully read answer open; free the connection
            except ConnectorError:  # deadline or size: the connection is mid-answer
                self.close()
                raise
            except (http.client.RemoteDisconnected, http.client.BadStatusLine,
                    BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as e:
                self.close()
                if not fresh:
                    continue  # a kept-alive connection the server had closed: retry once
                raise Unreachable(self.name, f"{self.base_url} closed the connection "
                                  f"({type(e).__name__})") from None
            except TimeoutError:
                self.close()
                if time.monotonic() >= ends_at - 0.05:
                    raise deadline_error(self.name, where, self.limits) from None
                raise Unreachable(self.name, f"no answer from {self.base_url} within "
                                  f"{self.timeout:g} s") from None
            except ssl.SSLError as e:
                self.close()
                raise ConnectorError(self.name, f"TLS failed with {self.base_url}: "
                                     f"{e.reason or e}") from None
            except (OSError, http.client.HTTPException) as e:
                self.close()
                reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                if isinstance(e, socket.gaierror):
                    reason = f"cannot resolve host {self.host!r}"
                raise Unreachable(self.name, f"{reason} ({self.base_url})") from None
            if resp.will_close:
                self.close()
            return _Response(resp.status, resp.headers, data)

    def _wait(self, ends_at: float, where: str) -> float:
        """How long the next blocking step may wait: the per-read timeout, cut to the time
        left before the request's deadline (`Unreachable` when none is left)."""
        left = ends_at - time.monotonic()
        if left <= 0:
            self.close()
            raise deadline_error(self.name, where, self.limits)
        return min(self.timeout, left)


def _error_text(resp: _Response) -> tuple[str, str]:
    """(message, detail) from any of Koha's error bodies: {"error", "error_code"},
    {"errors": [...]}, a bare list of {"path", "message"}, or a bare string."""
    body = resp.json()
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        body = body["errors"]
    if isinstance(body, list):
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body]
        paths = [str(e["path"]) for e in body if isinstance(e, dict) and e.get("path")]
        return "; ".join(messages) or "error", ", ".join(paths)
    if isinstance(body, dict) and "error" in body:
        detail = str(body.get("error_code") or "")
        if body.get("required_permissions"):
            detail = "missing permission " + json.dumps(body["required_permissions"])
        return str(body["error"]), detail
    if isinstance(body, str):
        return body, ""
    text = resp.body.decode("utf-8", "replace").strip()
    text = re.sub(r"<[^>]+>", " ", text)  # a proxy's HTML error page
    return (" ".join(text.split())[:200] or f"HTTP {resp.status}"), ""


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- connector


@dataclass(frozen=True)
class Credentials:
    """An API key (OAuth2 client credentials) or an HTTP Basic login; unused fields ''."""

    client_id: str = ""
    client_secret: str = ""
    user: str = ""
    password: str = ""


@dataclass
class _Cursor:
    """Where a harvest stands; its `state()` is what a checkpoint stores."""

    phases: list[str]
    phase: str
    since: str | None  # changes since this instant (incremental), None = everything
    started: str | None = None  # the server's clock at the first answer of the run
    after: int | None = None  # last biblio id delivered in this phase
    page: int = 0  # pages delivered so far in the whole run
    position: int = 0  # records (and deletion notices) delivered so far
    visited: set[int] = field(default_factory=set)  # ids sent this process (duplicate guard)

    def state(self) -> dict[str, Any]:
        return {"phase": self.phase, "page": self.page, "after": self.after,
                "since": self.since, "started": self.started, "position": self.position,
                "phases": self.phases}

    def next_phase(self) -> bool:
        index = self.phases.index(self.phase) + 1
        if index >= len(self.phases):
            return False
        self.phase, self.after = self.phases[index], None
        return True


class KohaConnector:
    """One Koha over its REST API: harvest (full, resumed, incremental) and item status.

    ``base_url`` is the staff interface's base URL (``http://koha.example.org:8080``; a
    trailing ``/api/v1`` is accepted).  Give ``client_id`` + ``client_secret`` (OAuth2) or
    ``user`` + ``password`` (Basic).  ``credentials_from`` names where they came from (the
    environment variables) so a refusal says what to check.  ``query`` is an optional Koha
    ``q`` object ANDed into every biblio listing (e.g. ``{"opac_suppressed": false}``).
    ``incremental=None`` probes the server once for ``/deleted/biblios``.
    """

    status_by = "bib"  # live status per biblio: every item (and checkout) in two requests
    keep_alive = True  # a keep-alive HTTP connection and a token, both renewed when stale

    def __init__(self, name: str, base_url: str, *, client_id: str = "",
                 client_secret: str = "", user: str = "", password: str = "",
                 credentials_from: str = "", timeout: float = 10.0, batch_size: int = 50,
                 query: Mapping[str, Any] | None = None, overlap: float = 60.0,
                 incremental: bool | None = None, marc_format: str = "marcxml",
                 limits: Limits | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if marc_format not in ("marcxml", "marc_in_json"):
            raise ValueError("marc_format must be 'marcxml' or 'marc_in_json'")
        self.name = name
        self.base_url = _normalise_base(name, base_url)
        self.timeout, self.batch_size, self.overlap = timeout, batch_size, overlap
        self.query = dict(query) if query else None
        self.marc_format = marc_format
        self.credentials_from = credentials_from or "the connector's credentials"
        if client_secret or client_id:
            if not (client_id and client_secret):
                raise ConnectorError(name, "OAuth2 needs both a client id and a client secret")
            self.auth_mode = "oauth2"
        elif user or password:
            if not (user and password):
                raise ConnectorError(name, "HTTP Basic needs both a user and a password")
            self.auth_mode = "basic"
        else:
            raise ConnectorError(name, "no credentials: give a Koha API key (client id and "
                                 "secret) or a user and password")
        self.__client_id, self.__client_secret = client_id, client_secret
        self.__basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii") \
            if self.auth_mode == "basic" else ""
        self.__token: str | None = None
        self._token_expires = 0.0
        self._incremental = incremental
        self._checkouts_allowed = True  # False once Koha says the key lacks `circulate`
        self._http = _Http(name, self.base_url, timeout, limits)
        self._first_date: datetime | None = None

    def __repr__(self) -> str:  # never the secret, password or token
        return (f"KohaConnector(name={self.name!r}, base_url={self.base_url!r}, "
                f"auth={self.auth_mode!r})")

    @classmethod
    def from_source(cls, source: Source, environ: Mapping[str, str] | None = None, *,
                    timeout: float | None = None) -> Self:
        """Build from config: credentials come from the environment variables that
        ``source.auth`` names; a missing one is an error naming the variable.  ``timeout``
        overrides the source's (see `connectors.registry`)."""
        env = os.environ if environ is None else environ
        auth = source.auth
        where = f"sources ({source.name}).auth"
        credentials = Credentials()
        if auth.client_id_env or auth.client_secret_env or auth.client_id:
            if not auth.client_secret_env:
                raise ConnectorError(source.name, f"{where}: set client_secret_env to the "
                                     "environment variable holding the Koha API key's secret")
            if not (auth.client_id or auth.client_id_env):
                raise ConnectorError(source.name, f"{where}: set client_id (or "
                                     "client_id_env) to the Koha API key's client id")
            names = [n for n in (auth.client_id_env, auth.client_secret_env) if n]
            credentials = Credentials(client_id=auth.client_id
                                      or env.get(auth.client_id_env, ""),
                                      client_secret=env.get(auth.client_secret_env, ""))
        elif auth.user_env or auth.password_env:
            if not (auth.user_env and auth.password_env):
                raise ConnectorError(source.name, f"{where}: HTTP Basic needs both user_env "
                                     "and password_env")
            names = [auth.user_env, auth.password_env]
            credentials = Credentials(user=env.get(auth.user_env, ""),
                                      password=env.get(auth.password_env, ""))
        else:
            raise ConnectorError(source.name, f"{where}: no credentials configured — add "
                                 "client_id_env and client_secret_env (a Koha API key; Koha "
                                 "syspref RESTOAuth2ClientCredentials) or user_env and "
                                 "password_env (HTTP Basic; syspref RESTBasicAuth)")
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise ConnectorError(source.name, f"environment variable{'s' * (len(missing) > 1)}"
                                 f" {', '.join(missing)} not set: export the Koha credentials "
                                 f"named in {where} before harvesting")
        query = None
        if source.query.strip():
            try:
                query = json.loads(source.query)
            except ValueError as e:
                raise ConnectorError(source.name, f"query must be a Koha q filter in JSON, "
                                     f"like {{\"opac_suppressed\": false}} ({e})") from None
            if not isinstance(query, dict):
                raise ConnectorError(source.name, "query must be a JSON object (a Koha q "
                                     "filter)")
        return cls(source.name, source.address,
                   timeout=source.timeout if timeout is None else timeout,
                   batch_size=source.batch_size, query=query,
                   credentials_from="environment variables " + ", ".join(names),
                   client_id=credentials.client_id, client_secret=credentials.client_secret,
                   user=credentials.user, password=credentials.password,
                   limits=Limits(source.request_deadline, source.max_response_bytes,
                                 source.max_pages))

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """Drop the connection and the access token; safe to call twice."""
        self._http.close()
        self.__token = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- auth ------------------------------------------------------------------------
    def _refused(self, resp: _Response, what: str) -> ConnectorError:
        message, detail = _error_text(resp)
        hint = REFUSAL_HINTS.get(message)
        if hint:
            return ConnectorError(self.name, f"Koha refused {what}: {message} — {hint}")
        if detail.startswith("missing permission"):
            return ConnectorError(self.name, f"Koha refused {what}: the account behind "
                                  f"{self.credentials_from} lacks a permission ({detail}); "
                                  "grant it to that patron in Koha")
        return ConnectorError(self.name, f"credentials were refused ({what}: HTTP "
                              f"{resp.status} {message}); check {self.credentials_from}")

    def _authorization(self) -> str:
        if self.auth_mode == "basic":
            return f"Basic {self.__basic}"
        if self.__token is None or time.monotonic() >= self._token_expires:
            self._fetch_token()
        return f"Bearer {self.__token}"

    def _fetch_token(self) -> None:
        body = urlencode({"grant_type": "client_credentials", "client_id": self.__client_id,
                          "client_secret": self.__client_secret}).encode("ascii")
        resp = self._http.request("POST", f"{API}/oauth/token", {
            "Accept": JSON_TYPE, "User-Agent": USER_AGENT,
            "Content-Type": "application/x-www-form-urlencoded"}, body)
        self._note_date(resp)
        if resp.status in (400, 401, 403):
            raise self._refused(resp, "the OAuth2 token request")
        if resp.status != 200:
            raise self._diagnostic(resp, "POST /oauth/token")
        data = resp.json()
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise ConnectorError(self.name, "the OAuth2 token answer has no access_token")
        try:
            lifetime = float(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self.__token = data["access_token"]
        self._token_expires = time.monotonic() + lifetime - min(TOKEN_MARGIN, lifetime / 10)

    # -- requests ----------------------------------------------------------------------
    def _note_date(self, resp: _Response) -> None:
        if self._first_date is None:
            self._first_date = resp.date

    def _send(self, path: str, params: Mapping[str, Any] | None = None,
              accept: str = JSON_TYPE) -> _Response:
        """GET with auth; an expired or revoked token is renewed once (Koha answers 401)."""
        url = f"{API}{path}" + (f"?{urlencode(params, doseq=True)}" if params else "")
        for attempt in (1, 2):
            headers = {"Accept": accept, "User-Agent": USER_AGENT,
                       "Authorization": self._authorization()}
            resp = self._http.request("GET", url, headers)
            self._note_date(resp)
            if resp.status == 401 and self.auth_mode == "oauth2" and attempt == 1:
                self.__token = None
                continue
            return resp
        return resp  # pragma: no cover - the loop always returns

    def _diagnostic(self, resp: _Response, what: str) -> ConnectorError:
        message, detail = _error_text(resp)
        addinfo = "; ".join(p for p in (detail, what) if p)
        return Diagnostic(self.name, resp.status, message, addinfo)

    def _check(self, resp: _Response, what: str) -> _Response:
        if resp.status in (401, 403):
            raise self._refused(resp, what)
        if resp.status != 200:
            raise self._diagnostic(resp, what)
        return resp

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any,
                                                                                     _Response]:
        resp = self._check(self._send(path, params), f"GET {path}")
        data = resp.json()
        if data is None:
            raise ConnectorError(self.name, f"GET {path}: the answer is not JSON")
        return data, resp

    def _get_all(self, path: str, query: Mapping[str, Any] | None = None,
                 order_by: str = "") -> Iterator[dict[str, Any]]:
        """Every object of a listing, page by page (_page/_per_page)."""
        page = 1
        while True:
            params: dict[str, Any] = {"_page": page, "_per_page": ITEMS_PER_REQUEST}
            if order_by:
                params["_order_by"] = order_by
            if query:
                params["q"] = json.dumps(query, separators=(",", ":"))
            rows, resp = self._get_json(path, params)
            if not isinstance(rows, list):
                raise ConnectorError(self.name, f"GET {path}: expected a JSON list")
            yield from (r for r in rows if isinstance(r, dict))
            if _last_page(resp, len(rows), ITEMS_PER_REQUEST, page):
                return
            page += 1

    # -- incremental support ------------------------------------------------------------
    @property
    def incremental(self) -> bool:
        """Whether ``harvest(state=<final state>)`` returns only changes and deletions.

        Needs ``GET /deleted/biblios`` (newer Koha).  Probed once with one cheap request;
        if the probe cannot tell (server down, credentials refused) the answer is True and
        the harvest itself reports the problem."""
        if self._incremental is None:
            try:
                resp = self._send("/deleted/biblios", {"_per_page": 1})
            except ConnectorError:
                return True
            if resp.status == 404:
                self._incremental = False
            elif resp.status == 200:
                self._incremental = True
            else:
                return True
        return self._incremental

    # -- harvest -----------------------------------------------------------------------
    def harvest(self, state: dict[str, Any] | None = None,
                on_error: ErrorCallback | None = None) -> Iterator[RawRecord | Checkpoint]:
        """Yield records, deletion notices and a checkpoint after every page.

        ``state=None``: every biblio.  A non-final checkpoint's state: continue after its
        last record.  A final one (``{"since": …}``): deletions, then biblios whose row
        changed, then biblios whose items changed — when `incremental`; else everything.
        """
        self._first_date = None
        cursor = self._cursor(state)
        while True:
            if cursor.phase == "deleted":
                yield from self._harvest_deleted(cursor)
            elif cursor.phase == "biblios":
                yield from self._harvest_biblios(cursor, on_error)
            elif cursor.phase == "items":
                yield from self._harvest_item_changes(cursor, on_error)
            if not cursor.next_phase():
                break
            yield self._checkpoint(cursor)
        self._checkpoint(cursor)  # makes sure `started` is set, even for an empty catalogue
        started = datetime.fromisoformat(str(cursor.started))
        yield Checkpoint({"since": _rfc3339(started - timedelta(seconds=self.overlap))},
                         final=True)

    def _checkpoint(self, cursor: _Cursor) -> Checkpoint:
        """The cursor's state, with the run's start fixed at the first checkpoint so that a
        resumed run still reports changes from when the interrupted one began."""
        if cursor.started is None:
            cursor.started = _rfc3339(self._first_date or datetime.now(UTC))
        return Checkpoint(cursor.state())

    def _cursor(self, state: dict[str, Any] | None) -> _Cursor:
        if state and state.get("phase"):
            phases = list(state.get("phases") or ["biblios"])
            if state["phase"] not in phases:
                raise ConnectorError(self.name, f"cannot resume from checkpoint {state!r}")
            return _Cursor(phases, state["phase"], state.get("since"), state.get("started"),
                           state.get("after"), int(state.get("page") or 0),
                           int(state.get("position") or 0))
        if state and state.get("since") and self.incremental:
            phases = ["deleted", "biblios", "items"]
            return _Cursor(phases, phases[0], str(state["since"]))
        return _Cursor(["biblios"], "biblios", None)

    def _listing_query(self, *filters: Mapping[str, Any]) -> list[str]:
        """q parameters (repeatable, ANDed by Koha): the configured filter plus ours."""
        parts: list[Mapping[str, Any]] = [self.query] if self.query else []
        parts += [f for f in filters if f]
        return [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in parts]

    def _list_page(self, path: str, cursor: _Cursor, *filters: Mapping[str, Any],
                   size: int | None = None) -> tuple[list[dict[str, Any]], bool]:
        """First page of ``biblio_id > cursor.after`` under `filters`; (rows, last page?)."""
        size = size or self.batch_size
        keyset = {"me.biblio_id": {">": cursor.after}} if cursor.after is not None else {}
        params = {"_page": 1, "_per_page": size, "_order_by": "+me.biblio_id",
                  "q": self._listing_query(*filters, keyset)}
        rows, resp = self._get_json(path, params)
        if not isinstance(rows, list):
            raise ConnectorError(self.name, f"GET {path}: expected a JSON list")
        rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("biblio_id"), int)]
        if cursor.after is not None and any(r["biblio_id"] <= cursor.after for r in rows):
            # a server ignoring the key filter would make this loop forever
            raise ConnectorError(self.name, f"GET {path} ignored the filter biblio_id > "
                                 f"{cursor.after}; this Koha's q support is not usable")
        return rows, _last_page(resp, len(rows), size)

    def _harvest_biblios(self, cursor: _Cursor,
                         on_error: ErrorCallback | None) -> Iterator[RawRecord | Checkpoint]:
        changed = {"me.timestamp": {">=": cursor.since}} if cursor.since else {}
        while True:
            rows, last = self._list_page("/biblios", cursor, changed)
            if rows:
                yield from self._deliver(rows, cursor, on_error)
            if last or not rows:
                return

    def _harvest_deleted(self, cursor: _Cursor) -> Iterator[RawRecord | Checkpoint]:
        since = {"me.deleted_on": {">=": cursor.since}}
        while True:
            try:
                rows, last = self._list_page("/deleted/biblios", cursor, since)
            except Diagnostic as e:
                if e.code != 404:
                    raise
                raise ConnectorError(self.name, "this Koha has no GET /api/v1/deleted/biblios"
                                     " (older release), so an incremental harvest cannot see "
                                     "deletions; harvest it in full (tongjian harvest --full)"
                                     ) from None
            for row in rows:
                cursor.position += 1
                yield RawRecord(self.name, cursor.position, b"", SYNTAX,
                                record_id=str(row["biblio_id"]), deleted=True,
                                datestamp=str(row.get("deleted_on") or ""))
            if rows:
                cursor.after = rows[-1]["biblio_id"]
                cursor.page += 1
                yield self._checkpoint(cursor)
            if last or not rows:
                return

    def _harvest_item_changes(self, cursor: _Cursor, on_error: ErrorCallback | None
                              ) -> Iterator[RawRecord | Checkpoint]:
        """Biblios whose items changed since, but whose own row did not (those went out in
        the biblios phase: sending them twice would look like a duplicate id)."""
        touched = sorted({int(i["biblio_id"]) for i in self._get_all(
            "/items", {"timestamp": {">=": cursor.since}}, "+item_id")
            if isinstance(i.get("biblio_id"), int)})
        pending = [b for b in touched if cursor.after is None or b > cursor.after]
        unchanged = {"me.timestamp": {"<": cursor.since}}
        for chunk in _chunks(pending, min(self.batch_size, IDS_PER_QUERY)):
            rows, _ = self._list_page("/biblios", cursor, unchanged, {"me.biblio_id": chunk},
                                      size=len(chunk))
            if rows:
                yield from self._deliver(rows, cursor, on_error)
            else:
                cursor.after = chunk[-1]

    def _deliver(self, rows: list[dict[str, Any]], cursor: _Cursor,
                 on_error: ErrorCallback | None) -> Iterator[RawRecord | Checkpoint]:
        """One page of biblios → records with MARC and items, then a checkpoint."""
        ids = [r["biblio_id"] for r in rows]
        items = self._items_of(ids)
        for row in rows:
            biblio_id = row["biblio_id"]
            cursor.position += 1
            if biblio_id in cursor.visited:
                continue
            marc = self._fetch_marc(biblio_id, cursor.position, on_error)
            if marc is None:
                continue
            cursor.visited.add(biblio_id)
            envelope = {"biblio_id": biblio_id, "timestamp": row.get("timestamp"),
                        "framework_id": row.get("framework_id"), marc[0]: marc[1],
                        "items": items.get(biblio_id, [])}
            data = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
            yield RawRecord(self.name, cursor.position, data, SYNTAX, record_id=str(biblio_id),
                            datestamp=str(row.get("timestamp") or ""))
        cursor.after = ids[-1]
        cursor.page += 1
        yield self._checkpoint(cursor)

    def _fetch_marc(self, biblio_id: int, position: int,
                    on_error: ErrorCallback | None) -> tuple[str, Any] | None:
        """(envelope key, MARC) or None: gone since the listing (404), or undeliverable in
        both MARCXML and MARC-in-JSON (reported to on_error)."""
        path = f"/biblios/{biblio_id}"
        formats = [("marcxml", MARCXML_TYPE), ("marc_in_json", MIJ_TYPE)]
        if self.marc_format == "marc_in_json":
            formats.reverse()
        reasons = []
        for key, media in formats:
            resp = self._send(path, accept=media)
            if resp.status == 404:
                return None  # deleted between listing and fetch: the next run says so
            if resp.status in (401, 403):
                raise self._refused(resp, f"GET {path}")
            if resp.status == 200:
                if key == "marcxml":
                    try:
                        return key, resp.body.decode("utf-8")
                    except UnicodeDecodeError as e:
                        reasons.append(f"{media}: not UTF-8 ({e.reason} at byte {e.start})")
                        continue
                data = resp.json()
                if isinstance(data, dict):
                    return key, data
                reasons.append(f"{media}: not a MARC-in-JSON object")
                continue
            message, _ = _error_text(resp)
            reasons.append(f"{media}: HTTP {resp.status} {message}")
        if on_error is not None:
            on_error(position, f"biblio {biblio_id}: " + "; ".join(reasons))
        return None

    # -- items -------------------------------------------------------------------------
    def _items_of(self, biblio_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Items of many biblios in one go (q on biblio_id), with their checkouts."""
        by_biblio: dict[int, list[dict[str, Any]]] = {}
        items = [item for chunk in _chunks(biblio_ids, IDS_PER_QUERY)
                 for item in self._get_all("/items", {"biblio_id": chunk}, "+item_id")]
        self._attach_checkouts(items, lambda ids: (
            c for chunk in _chunks(ids, IDS_PER_QUERY)
            for c in self._get_all("/checkouts", {"item_id": chunk}, "+checkout_id")))
        for item in items:
            by_biblio.setdefault(int(item.get("biblio_id") or 0), []).append(item)
        return by_biblio

    def _attach_checkouts(self, items: list[dict[str, Any]],
                          fetch: Callable[[list[int]], Iterable[dict[str, Any]]]) -> None:
        """Add ``checkout`` (due date …) to items on loan, as x-koha-embed would; without
        the circulate permission the due date stays the one in checked_out_date."""
        out = [i["item_id"] for i in items if i.get("checked_out_date") and "item_id" in i]
        if not out or not self._checkouts_allowed:
            return
        try:
            checkouts = {c.get("item_id"): c for c in fetch(out)}
        except ConnectorError as e:
            if "lacks a permission" in e.message or "HTTP 403" in e.message:
                self._checkouts_allowed = False
                return
            raise
        for item in items:
            found = checkouts.get(item.get("item_id"))
            if found:
                item["checkout"] = {k: found.get(k) for k in CHECKOUT_KEEP if k in found}

    def item_statuses(self, key: str) -> tuple[LiveItem, ...] | None:
        """Every item of biblio ``key`` with its current status and due date; None when
        Koha has no such biblio (or ``key`` is not a biblio number)."""
        try:
            path = f"/biblios/{int(key)}"
        except ValueError:
            return None
        try:
            items = list(self._get_all(f"{path}/items", order_by="+item_id"))
            self._attach_checkouts(items, lambda ids: self._get_all(f"{path}/checkouts"))
        except Diagnostic as e:
            if e.code == 404:
                return None
            raise
        return tuple(live_item(i) for i in items)

    def libraries(self) -> dict[str, str]:
        """Koha's library (branch) codes and names — what item library ids refer to."""
        return {str(r.get("library_id")): str(r.get("name") or "")
                for r in self._get_all("/libraries", order_by="+library_id")}


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _last_page(resp: _Response, count: int, size: int, page: int = 1) -> bool:
    """Whether a listing is exhausted: X-Total-Count or Link when Koha sends them, else a
    short page (Biblios#list in newer Koha sends no paging headers)."""
    if count < size:
        return True
    total = resp.total
    if total is not None:
        return total <= page * size
    links = resp.links
    if links:
        return "next" not in links
    return False


def _normalise_base(name: str, address: str) -> str:
    base = address.strip().rstrip("/")
    if base.endswith(API):
        base = base[: -len(API)]
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(name, f"address {address!r} must be the Koha staff URL, like "
                             "http://koha.example.org:8080")
    return base


__all__ = ["KohaConnector", "due_date", "is_checked_out", "live_item", "status_summary"]
