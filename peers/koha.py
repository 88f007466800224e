"""A simulator of the Koha REST API v1, for the Koha connector's tests and the demo.

Koha cannot run here (Perl, MariaDB, Zebra/Elasticsearch, Plack), so this is the part of its
staff API a harvester touches, written from Koha's published OpenAPI files
(``api/v1/swagger/swagger.yaml`` and ``paths/{biblios,items,checkouts,deleted_biblios,
libraries,oauth}.yaml``, ``definitions/{item,checkout,error}.yaml``) and from the controllers
that implement them (``Koha/REST/V1/{Biblios,DeletedBiblios}.pm``, ``Koha/REST/Plugin/
{Objects,Query,Pagination,Exceptions}.pm``).  What it reproduces, and where it had to guess:

* Auth: ``POST /api/v1/oauth/token`` (form-encoded client-credentials grant → ``access_token``,
  ``token_type: Bearer``, ``expires_in``), then ``Authorization: Bearer``; or HTTP Basic.
  Error bodies as Koha's OAuth.pm/Auth.pm send them (``unauthorized_client``,
  ``access_denied``, ``Authentication failure.``, ``Basic authentication disabled``).
* Strict parameters: a query parameter the route does not declare → 400 with Koha's bare
  list ``[{"path": "/query/foo", "message": "Malformed query string"}]``; an
  ``x-koha-embed`` the route does not declare → 400 ``"Embedding objects is not allowed on
  this endpoint."`` (as in Koha's api tests).
* ``q`` (repeatable, ANDed; also the ``x-koha-query`` header): hash = AND, array = OR,
  ``-and``/``-or``, operators ``> < >= <= -like -not_like``, ``me.`` prefixes.  An operator
  outside that list → 400 ``{"error": "Invalid operator in query: …", "error_code":
  "invalid_query"}`` (Koha's Exceptions.pm).  *Assumption:* an unknown field or malformed
  JSON in ``q`` → 400 ``{"errors": [{"message", "path"}], "status": 400}`` (the
  Mojolicious::Plugin::OpenAPI shape); real Koha passes unknown columns to the database and
  typically answers 500.
* Paging: ``_page`` (1-based), ``_per_page`` (default 20 = RESTdefaultPageSize, ``-1`` =
  all), ``_order_by`` (``+field,-field``), ``X-Total-Count`` and RFC 5988 ``Link`` headers
  built like Koha's Pagination.pm.  Newer Koha's ``Biblios#list`` does *not* add these
  headers; ``biblios_paging_headers=False`` reproduces that.
* ``GET /biblios`` and ``/biblios/{id}`` content negotiation: ``application/json``,
  ``application/marcxml+xml``, ``application/marc-in-json``, ``application/marc``,
  ``text/plain``; anything else → 406 with the list of acceptable types.  The MARC Koha
  serves carries no 952 items (they live in the items table) and has 999 $c/$d
  (biblionumber/biblioitemnumber) — so the simulator moves the input's 952s into items.
* Items (``definitions/item.yaml`` field names).  Koha's checkout writes the *due date* into
  ``items.onloan``, exposed as ``checked_out_date`` (C4::Circulation::AddIssue); the full
  due date-time is in ``/checkouts`` (``due_date``), which needs the ``circulate``
  permission — ``circulate=False`` makes those routes answer 403 like Koha.
* ``GET /deleted/biblios`` (``deleted_on`` = the deletedbiblio row's timestamp).

Biblio and item timestamps start at the record's 005 (or a day ago) and move to "now" when a
helper (`modify_biblio`, `checkout`, `set_item` …) changes them, so incremental harvests can
be tested.  Only MARC 21 952 items are extracted; UNIMARC records are served as given.

Run standalone:  ``python -m peers.koha --port 8081 --client demo:secret`` (demo data).
Product code never imports this module.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import pymarc
from aiohttp import web

from peers.background import BackgroundServer

API = "/api/v1"
CHINA = timezone(timedelta(hours=8))
DEMO_FILE = Path(__file__).resolve().parent.parent / "tongjian" / "demo_data" / \
    "SMLIB.marc21.utf8.mrc"

# Koha MARC 21 default framework: 952 subfield → item attribute (items.* → to_api name).
ITEM_952: dict[str, tuple[str, type]] = {
    "0": ("withdrawn", int),
    "1": ("lost_status", int),
    "4": ("damaged_status", int),
    "7": ("not_for_loan_status", int),
    "8": ("collection_code", str),
    "a": ("home_library_id", str),
    "b": ("holding_library_id", str),
    "c": ("location", str),
    "d": ("acquisition_date", str),
    "g": ("purchase_price", float),
    "o": ("callnumber", str),
    "p": ("external_id", str),
    "q": ("checked_out_date", str),  # items.onloan: the due date of the current checkout
    "y": ("item_type_id", str),
    "z": ("public_notes", str),
}

# Every field of definitions/item.yaml that is a plain column (embeds left out).
ITEM_DEFAULTS: dict[str, Any] = {
    "item_id": None, "biblio_id": None, "external_id": None, "acquisition_date": None,
    "acquisition_source": None, "bookable": False, "home_library_id": None,
    "purchase_price": None, "replacement_price": None, "replacement_price_date": None,
    "last_checkout_date": None, "last_seen_date": None, "not_for_loan_status": 0,
    "effective_not_for_loan_status": 0, "damaged_status": 0, "damaged_date": None,
    "lost_status": 0, "lost_date": None, "withdrawn": 0, "withdrawn_date": None,
    "callnumber": None, "coded_location_qualifier": None, "checkouts_count": 0,
    "renewals_count": 0, "holds_count": 0, "restricted_status": None, "public_notes": None,
    "internal_notes": None, "holding_library_id": None, "timestamp": None, "location": None,
    "permanent_location": None, "checked_out_date": None, "call_number_source": None,
    "call_number_sort": None, "collection_code": None, "materials_notes": None, "uri": None,
    "item_type_id": None, "effective_item_type_id": None, "extended_subfields": None,
    "serial_issue_number": None, "copy_number": None, "inventory_number": None,
    "new_status": None, "exclude_from_local_holds_priority": False,
}

# Biblio JSON (Koha::Biblio->to_api merged with its biblioitem): field → MARC 21 source
# ("tag$code"), a subset of Koha's default framework mapping.
BIBLIO_MARC: dict[str, str] = {
    "title": "245a", "subtitle": "245b", "part_number": "245n", "part_name": "245p",
    "author": "100a", "series_title": "490a", "isbn": "020a", "issn": "022a",
    "publisher": "260b", "publication_place": "260a", "publication_year": "260c",
    "edition_statement": "250a", "pages": "300a", "size": "300c", "abstract": "520a",
    "uniform_title": "130a", "notes": "500a", "lccn": "010a",
}
BIBLIO_FIELDS = ("biblio_id", "biblioitem_id", "framework_id", "serial", "copyright_date",
                 "creation_date", "timestamp", "opac_suppressed", *BIBLIO_MARC)
CHECKOUT_FIELDS = ("checkout_id", "patron_id", "item_id", "booking_id", "external_id",
                   "due_date", "library_id", "issuer_id", "checkin_date",
                   "checkin_library_id", "last_renewed_date", "renewals_count",
                   "unseen_renewals", "auto_renew", "auto_renew_error", "timestamp",
                   "checkout_date", "onsite_checkout", "note", "note_date", "note_seen")
LIBRARY_FIELDS = ("library_id", "name", "address1", "address2", "address3", "postal_code",
                  "city", "state", "country", "phone", "fax", "email", "url", "notes",
                  "marc_org_code", "pickup_location", "public")
DELETED_FIELDS = tuple("deleted_on" if f == "timestamp" else f for f in BIBLIO_FIELDS)

MARC_TYPES = ("application/json", "application/marcxml+xml", "application/marc-in-json",
              "application/marc", "text/plain")
PAGING = ("_page", "_per_page", "_match", "_order_by", "q")
OPERATORS = (">", "<", ">=", "<=", "-like", "-not_like")


@dataclass(frozen=True)
class Route:
    """What swagger declares for one operation: its query parameters and embeds."""

    params: tuple[str, ...]
    embeds: tuple[str, ...] = ()
    permission: str = "catalogue"


ROUTES: dict[str, Route] = {
    "biblios": Route(PAGING),
    "biblio": Route(()),
    "biblio_items": Route(PAGING),
    "biblio_checkouts": Route((*PAGING, "checked_in"), ("issuer", "item", "patron", "library"),
                              "circulate"),
    "items": Route((*PAGING, "external_id"), ("+strings", "biblio")),
    "item": Route((), ("+strings",)),
    "checkouts": Route((*PAGING, "patron_id", "checked_in"), ("issuer", "renewals"),
                       "circulate"),
    "deleted_biblios": Route(PAGING),
    "deleted_biblio": Route(()),
    "libraries": Route((*PAGING, "name", "address1", "address2", "address3", "postal_code",
                        "city", "state", "country", "phone", "email", "url", "marc_org_code")),
}


class _ApiError(Exception):
    """A response Koha would send instead of the resource: status plus JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _errors(message: str, path: str, status: int = 400) -> _ApiError:
    return _ApiError(status, {"errors": [{"message": message, "path": path}], "status": status})


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------- q queries


def _fields_used(query: Any, fields: frozenset[str], path: str = "/query/q") -> None:
    """Refuse unknown fields and operators before evaluating anything (all or nothing)."""
    if isinstance(query, list):
        for part in query:
            _fields_used(part, fields, path)
        return
    if not isinstance(query, dict):
        raise _errors("Expected object or array - got " + type(query).__name__ + ".", path)
    for key, value in query.items():
        if key in ("-and", "-or"):
            for part in value if isinstance(value, list) else [value]:
                _fields_used(part, fields, path)
            continue
        name = key.removeprefix("me.")
        if name not in fields:
            raise _errors(f"Unknown field {key!r}; known: {', '.join(sorted(fields))}", path)
        for cond in value if isinstance(value, list) else [value]:
            if isinstance(cond, dict):
                for op in cond:
                    if op not in OPERATORS:
                        raise _ApiError(400, {"error": f"Invalid operator in query: {op}",
                                              "error_code": "invalid_query"})


def _like(actual: Any, pattern: Any) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                    for c in str(pattern))
    return re.fullmatch(regex, "" if actual is None else str(actual), re.S | re.I) is not None


def _compare(op: str, actual: Any, operand: Any) -> bool:
    if op == "-like":
        return _like(actual, operand)
    if op == "-not_like":
        return not _like(actual, operand)
    if actual is None or operand is None:
        return False
    left, right = actual, operand
    t1, t2 = _parse_time(actual), _parse_time(operand)
    if t1 is not None and t2 is not None and "T" in str(actual):
        left, right = t1, t2  # date-times compare as instants, whatever their offsets
    elif isinstance(actual, int | float) and not isinstance(operand, int | float):
        try:
            right = float(operand)
        except (TypeError, ValueError):
            left = str(actual)
    elif isinstance(operand, int | float) and not isinstance(actual, int | float):
        left, right = str(actual), str(operand)
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right}[op]


def _equal(actual: Any, value: Any) -> bool:
    if value is None:
        return actual is None
    return actual is not None and str(actual) == str(value)


def _matches(obj: Mapping[str, Any], query: Any) -> bool:
    if isinstance(query, list):
        return any(_matches(obj, part) for part in query)
    for key, value in query.items():
        if key == "-and":
            if not all(_matches(obj, p) for p in (value if isinstance(value, list) else [value])):
                return False
            continue
        if key == "-or":
            if not any(_matches(obj, p) for p in (value if isinstance(value, list) else [value])):
                return False
            continue
        actual = obj.get(key.removeprefix("me."))
        conds = value if isinstance(value, list) else [value]
        if not any(all(_compare(op, actual, v) for op, v in c.items()) if isinstance(c, dict)
                   else _equal(actual, c) for c in conds):
            return False
    return True


# ----------------------------------------------------------------------------- catalogue


class _Catalogue:
    """Koha's tables, in memory: biblios (+ their MARC), items, checkouts, deletions."""

    def __init__(self, records: Iterable[bytes | pymarc.Record], first_biblio_id: int,
                 tz: timezone, libraries: Mapping[str, str]) -> None:
        self.tz = tz
        self.biblios: dict[int, dict[str, Any]] = {}
        self.marc: dict[int, pymarc.Record] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.checkouts: dict[int, dict[str, Any]] = {}
        self.deleted: dict[int, tuple[dict[str, Any], pymarc.Record]] = {}
        self.library_names = dict(libraries)
        self._next_item = 1
        self._next_checkout = 1
        self._next_biblio = first_biblio_id
        for rec in records:
            self.add(rec)

    def now(self) -> datetime:
        return datetime.now(self.tz).replace(microsecond=0)

    def _initial_time(self, record: pymarc.Record) -> datetime:
        """A catalogued record was last touched when its 005 says (never in the future)."""
        ceiling = self.now() - timedelta(days=1)
        field005 = record.get("005")
        if field005 is not None and field005.data:
            try:
                stamp = datetime.strptime(field005.data[:14], "%Y%m%d%H%M%S")
            except ValueError:
                return ceiling
            return min(stamp.replace(tzinfo=self.tz), ceiling)
        return ceiling

    def add(self, rec: bytes | pymarc.Record) -> int:
        record = rec if isinstance(rec, pymarc.Record) else pymarc.Record(
            data=rec, to_unicode=True, force_utf8=True)
        biblio_id = self._next_biblio
        self._next_biblio += 1
        stamp = self._initial_time(record)
        for field in record.get_fields("952"):
            self._add_item(biblio_id, field, stamp)
            record.remove_field(field)
        if record.get("245") is not None:  # MARC 21: Koha keeps its ids in 999 $c/$d
            for old in record.get_fields("999"):
                record.remove_field(old)
            record.add_ordered_field(pymarc.Field(
                tag="999", indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield("c", str(biblio_id)),
                           pymarc.Subfield("d", str(biblio_id))]))
        self.marc[biblio_id] = record
        self.biblios[biblio_id] = {"biblio_id": biblio_id, "timestamp": stamp}
        return biblio_id

    def _add_item(self, biblio_id: int, field: pymarc.Field, stamp: datetime) -> None:
        item = dict(ITEM_DEFAULTS)
        for code, value in ((s.code, s.value) for s in field.subfields):
            if code in ITEM_952 and value != "":
                name, kind = ITEM_952[code]
                try:
                    item[name] = kind(value)
                except ValueError:
                    item[name] = value
        item_id = self._next_item
        self._next_item += 1
        item.update(item_id=item_id, biblio_id=biblio_id, timestamp=_rfc3339(stamp),
                    effective_not_for_loan_status=item["not_for_loan_status"],
                    effective_item_type_id=item["item_type_id"],
                    permanent_location=item["location"])
        for code in (item["home_library_id"], item["holding_library_id"]):
            if code:
                self.library_names.setdefault(code, code)
        self.items[item_id] = item
        due = item["checked_out_date"]
        if due:
            self._open_checkout(item, date.fromisoformat(due), stamp)

    def _open_checkout(self, item: dict[str, Any], due: date, when: datetime) -> None:
        checkout_id = self._next_checkout
        self._next_checkout += 1
        due_at = datetime.combine(due, datetime.min.time(), self.tz).replace(hour=23,
                                                                              minute=59)
        self.checkouts[checkout_id] = {
            **dict.fromkeys(CHECKOUT_FIELDS), "checkout_id": checkout_id,
            "patron_id": 1000 + checkout_id, "item_id": item["item_id"],
            "due_date": _rfc3339(due_at), "library_id": item["holding_library_id"],
            "renewals_count": 0, "unseen_renewals": 0, "auto_renew": False,
            "onsite_checkout": False, "timestamp": _rfc3339(when),
            "checkout_date": _rfc3339(min(when, due_at - timedelta(days=14))),
        }
        item["checked_out_date"] = due.isoformat()

    # -- API representations --------------------------------------------------------
    def biblio_json(self, biblio_id: int) -> dict[str, Any]:
        row = self.biblios[biblio_id]
        return self._describe(self.marc[biblio_id], biblio_id, _rfc3339(row["timestamp"]),
                              "timestamp")

    def _describe(self, record: pymarc.Record, biblio_id: int, stamp: str,
                  stamp_name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"biblio_id": biblio_id, "biblioitem_id": biblio_id,
                               "framework_id": "", "serial": False, "opac_suppressed": False,
                               stamp_name: stamp}
        for name, spec in BIBLIO_MARC.items():
            field = record.get(spec[:3])
            value = field.get(spec[3]) if field is not None else None
            out[name] = value.rstrip(" /:;,.") if isinstance(value, str) else None
        year = re.search(r"\d{4}", out.get("publication_year") or "")
        out["copyright_date"] = int(year.group()) if year else None
        field008 = record.get("008")
        created = field008.data[:6] if field008 is not None and field008.data else ""
        out["creation_date"] = (f"{'19' if created[:2] > '50' else '20'}{created[:2]}-"
                                f"{created[2:4]}-{created[4:6]}") if created.isdigit() else None
        return out

    def deleted_json(self, biblio_id: int) -> dict[str, Any]:
        row, record = self.deleted[biblio_id]
        return self._describe(record, biblio_id, _rfc3339(row["deleted_on"]), "deleted_on")

    def library_json(self, code: str) -> dict[str, Any]:
        return {**dict.fromkeys(LIBRARY_FIELDS), "library_id": code,
                "name": self.library_names[code], "marc_org_code": code,
                "pickup_location": True, "public": True}

    def checkout_for(self, item_id: int) -> dict[str, Any] | None:
        return next((c for c in self.checkouts.values() if c["item_id"] == item_id), None)


# ---------------------------------------------------------------------------- the server


class KohaSimulator:
    """Koha's REST API over `records` (ISO 2709 MARC 21 with 952 items, or pymarc Records),
    served on 127.0.0.1 from a background thread.

        with KohaSimulator(records, clients={"id": "secret"}) as sim:
            sim.base_url  # http://127.0.0.1:PORT — the staff base URL, /api/v1 below it

    ``clients`` are Koha API keys (client id → secret) for the OAuth2 client-credentials
    grant, ``users`` Basic-auth logins; both have the ``catalogue`` permission, and
    ``circulate`` too unless ``circulate=False``.  ``oauth``/``basic_auth`` mirror the
    RESTOAuth2ClientCredentials/RESTBasicAuth sysprefs.  Idle keep-alive connections are
    closed after ``keepalive_timeout`` seconds, as Apache in front of Koha does.  Helpers
    change the data the way cataloguing and circulation would, moving timestamps to now.
    """

    def __init__(self, records: Iterable[bytes | pymarc.Record] = (), port: int = 0, *,
                 clients: Mapping[str, str] | None = None,
                 users: Mapping[str, str] | None = None, token_seconds: int = 3600,
                 oauth: bool = True, basic_auth: bool = True, circulate: bool = True,
                 biblios_paging_headers: bool = True, deleted_endpoint: bool = True,
                 first_biblio_id: int = 1, libraries: Mapping[str, str] | None = None,
                 tz: timezone = CHINA, keepalive_timeout: float = 5.0) -> None:
        self.port = port
        self.clients = dict(clients or {})
        self.users = dict(users or {})
        self.token_seconds = token_seconds
        self.oauth, self.basic_auth, self.circulate = oauth, basic_auth, circulate
        self.biblios_paging_headers = biblios_paging_headers
        self.deleted_endpoint = deleted_endpoint
        self.keepalive_timeout = keepalive_timeout  # Apache's KeepAliveTimeout default
        self.catalogue = _Catalogue(records, first_biblio_id, tz, libraries or {})
        self.requests: list[tuple[str, str, int]] = []  # (method, path?query, status)
        # biblio id → media types whose rendering fails (500), like a record MARC::Record
        # cannot serialise; see `break_record`.
        self.broken: dict[int, set[str]] = {}
        self._tokens: dict[str, float] = {}  # access token → monotonic expiry
        self._lock = threading.RLock()
        self._server = BackgroundServer(f"koha-sim-{port}")

    @classmethod
    def demo(cls, count: int | None = None, **kwargs: Any) -> Self:
        """The committed SMLIB (神木市图书馆, Koha/MARC 21) demo records, or the first `count`."""
        return cls(demo_records(count), libraries={"SMLIB": "神木市图书馆"}, **kwargs)

    # -- lifetime ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.port = self._server.start(self._app, self.port, shutdown_timeout=0.2,
                                       keepalive_timeout=self.keepalive_timeout)
        return self

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post(f"{API}/oauth/token", self._token)
        r.add_get(f"{API}/biblios", self._list_biblios)
        r.add_get(f"{API}/biblios/{{biblio_id}}", self._get_biblio)
        r.add_get(f"{API}/biblios/{{biblio_id}}/items", self._biblio_items)
        r.add_get(f"{API}/biblios/{{biblio_id}}/checkouts", self._biblio_checkouts)
        r.add_get(f"{API}/items", self._list_items)
        r.add_get(f"{API}/items/{{item_id}}", self._get_item)
        r.add_get(f"{API}/checkouts", self._list_checkouts)
        r.add_get(f"{API}/libraries", self._list_libraries)
        if self.deleted_endpoint:
            r.add_get(f"{API}/deleted/biblios", self._list_deleted)
            r.add_get(f"{API}/deleted/biblios/{{biblio_id}}", self._get_deleted)
        return app

    def stop(self) -> None:
        """Stop serving: open connections are closed, new ones refused."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- helpers for tests and the demo -------------------------------------------------
    @property
    def biblio_ids(self) -> list[int]:
        with self._lock:
            return sorted(self.catalogue.biblios)

    def items_of(self, biblio_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(i) for i in self.catalogue.items.values()
                    if i["biblio_id"] == biblio_id]

    def token_requests(self) -> int:
        """Tokens issued so far (successful POST /oauth/token)."""
        return sum(1 for m, p, s in self.requests if p.endswith("/oauth/token") and s == 200)

    def revoke_tokens(self) -> None:
        """Forget every access token, as Koha does when they expire (rows deleted)."""
        with self._lock:
            self._tokens.clear()

    def modify_biblio(self, biblio_id: int,
                      edit: Callable[[pymarc.Record], None] | None = None) -> None:
        """Edit a record (ModBiblio): the biblio row's timestamp moves to now."""
        with self._lock:
            if edit is not None:
                edit(self.catalogue.marc[biblio_id])
            self.catalogue.biblios[biblio_id]["timestamp"] = self.catalogue.now()

    def set_title(self, biblio_id: int, title: str) -> None:
        """Retitle a record: 245 $a and its vernacular 880 twin (linked by $6 245-nn)."""
        def edit(record: pymarc.Record) -> None:
            for field in record.get_fields("245", "880"):
                if field.tag == "245" or (field.get("6") or "").startswith("245"):
                    field["a"] = title
        self.modify_biblio(biblio_id, edit)

    def delete_biblio(self, biblio_id: int) -> None:
        """Delete a record with its items (Koha refuses while items exist; the simulator
        deletes them first, as a cataloguer would) and keep it in deletedbiblio."""
        with self._lock:
            cat = self.catalogue
            for item_id in [i for i, it in cat.items.items() if it["biblio_id"] == biblio_id]:
                for cid in [c for c, co in cat.checkouts.items() if co["item_id"] == item_id]:
                    del cat.checkouts[cid]
                del cat.items[item_id]
            cat.biblios.pop(biblio_id)
            cat.deleted[biblio_id] = ({"deleted_on": cat.now()}, cat.marc.pop(biblio_id))

    def break_record(self, biblio_id: int,
                     media: Iterable[str] = ("application/marcxml+xml",)) -> None:
        """Make serialising this record in `media` fail with Koha's 500 body."""
        with self._lock:
            self.broken.setdefault(biblio_id, set()).update(media)

    def set_item(self, item_id: int, **fields: Any) -> None:
        """Change item columns (to_api names), e.g. ``lost_status=1``; timestamp → now."""
        with self._lock:
            item = self.catalogue.items[item_id]
            unknown = set(fields) - set(ITEM_DEFAULTS)
            if unknown:
                raise KeyError(f"not item fields: {sorted(unknown)}")
            item.update(fields)
            if "not_for_loan_status" in fields:
                item["effective_not_for_loan_status"] = fields["not_for_loan_status"]
            item["timestamp"] = _rfc3339(self.catalogue.now())

    def checkout(self, item_id: int, due: date) -> None:
        """Check an item out until `due` (AddIssue: items.onloan = due date)."""
        with self._lock:
            cat = self.catalogue
            item = cat.items[item_id]
            if cat.checkout_for(item_id) is not None:
                raise ValueError(f"item {item_id} is already checked out")
            now = cat.now()
            cat._open_checkout(item, due, now)
            item["checkouts_count"] = (item["checkouts_count"] or 0) + 1
            item["last_checkout_date"] = now.date().isoformat()
            item["timestamp"] = _rfc3339(now)

    def checkin(self, item_id: int) -> None:
        with self._lock:
            cat = self.catalogue
            checkout = cat.checkout_for(item_id)
            if checkout is not None:
                del cat.checkouts[checkout["checkout_id"]]
            item = cat.items[item_id]
            item["checked_out_date"] = None
            item["timestamp"] = _rfc3339(cat.now())

    # -- request plumbing ----------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            response = await handler(request)
        except _ApiError as e:
            response = web.json_response(e.body, status=e.status,
                                         dumps=lambda o: json.dumps(o, ensure_ascii=False))
        except web.HTTPNotFound:
            response = web.json_response(
                {"errors": [{"message": "Not Found", "path": "/"}], "status": 404}, status=404)
        except web.HTTPException:
            raise
        except Exception:  # noqa: BLE001 - Koha's unhandled_exception helper
            response = web.json_response(
                {"error": "Something went wrong, check Koha logs for details.",
                 "error_code": "internal_server_error"}, status=500)
        request_id = request.headers.get("x-koha-request-id")
        if request_id:
            response.headers["x-koha-request-id"] = request_id
        with self._lock:
            self.requests.append((request.method, request.path_qs, response.status))
        return response

    def _authenticate(self, request: web.Request, route: Route) -> None:
        """Koha's Auth.pm `under`: who is calling, may they, and are the parameters declared."""
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer":
            with self._lock:
                expiry = self._tokens.get(credentials.strip())
                if expiry is not None and expiry < time.monotonic():
                    del self._tokens[credentials.strip()]
                    expiry = None
            if expiry is None:
                raise _ApiError(401, {"error": "Authentication failure."})
        elif scheme.lower() == "basic":
            if not self.basic_auth:
                raise _ApiError(401, {"error": "Basic authentication disabled"})
            try:
                user, _, password = base64.b64decode(credentials).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise _ApiError(401, {"error": "Authentication failure."}) from None
            if user not in self.users or not secrets.compare_digest(self.users[user],
                                                                    password):
                raise _ApiError(401, {"error": "Authentication failure."})
        else:
            raise _ApiError(401, {"error": "Authentication failure."})
        if route.permission == "circulate" and not self.circulate:
            raise _ApiError(403, {
                "error": "Authorization failure. Missing required permission(s).",
                "required_permissions": {"circulate": "circulate_remaining_permissions"}})
        unknown = [p for p in request.query if p not in route.params]
        if unknown:
            raise _ApiError(400, [{"path": f"/query/{p}", "message": "Malformed query string"}
                                  for p in unknown])
        embed = request.headers.get("x-koha-embed")
        if embed:
            if not route.embeds:
                raise _ApiError(400, "Embedding objects is not allowed on this endpoint.")
            for part in (p.strip() for p in embed.split(",")):
                if part not in route.embeds:
                    raise _errors(f"Not in enum list: {', '.join(route.embeds)}.",
                                  "/x-koha-embed")

    def _query(self, request: web.Request) -> list[Any]:
        raw = list(request.query.getall("q", []))
        if request.headers.get("x-koha-query"):
            raw.append(request.headers["x-koha-query"])
        out = []
        for text in raw:
            if not text:
                continue  # Koha skips an empty q
            try:
                out.append(json.loads(text))
            except json.JSONDecodeError as e:
                raise _errors(f"Malformed JSON in q: {e.msg} at character {e.pos}",
                              "/query/q") from None
        return out

    def _int_param(self, request: web.Request, name: str, default: int) -> int:
        value = request.query.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise _errors("Expected integer - got string.", f"/{name}") from None

    def _search(self, request: web.Request, rows: list[dict[str, Any]], fields: Iterable[str],
                default_order: str, paging_headers: bool = True,
                filters: Mapping[str, Any] | None = None
                ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        """objects.search_rs + add_pagination_headers over rows in their API shape."""
        known = frozenset(fields)
        queries = self._query(request)
        for q in queries:
            _fields_used(q, known)
        match = request.query.get("_match", "contains")
        if match not in ("contains", "exact", "starts_with", "ends_with"):
            raise _errors("Not in enum list: contains, exact, starts_with, ends_with.",
                          "/_match")
        plain = dict(filters or {})
        selected = []
        for row in rows:
            if not all(_matches(row, q) for q in queries):
                continue
            if not all(self._plain_match(row.get(k), v, match) for k, v in plain.items()):
                continue
            selected.append(row)
        for spec in reversed(request.query.get("_order_by", default_order).split(",")):
            spec = spec.strip()
            if not spec:
                continue
            name = spec.lstrip("+- ").removeprefix("me.")
            if name not in known:
                raise _errors(f"Unknown field {spec!r} in _order_by", "/_order_by")
            def order(row: dict[str, Any], n: str = name) -> tuple[bool, Any]:
                return (row.get(n) is None, row.get(n))

            selected.sort(key=order, reverse=spec.startswith("-"))
        page = self._int_param(request, "_page", 1)
        per_page = self._int_param(request, "_per_page", 20)
        total = len(selected)
        if per_page != -1:
            page = max(page, 1)
            selected = selected[(page - 1) * per_page: page * per_page]
        headers: dict[str, list[str]] = {}
        if paging_headers:
            headers = self._pagination_headers(request, total, page, per_page)
        return selected, headers

    @staticmethod
    def _plain_match(actual: Any, wanted: str, match: str) -> bool:
        text = "" if actual is None else str(actual)
        return {"contains": wanted in text, "exact": text == wanted,
                "starts_with": text.startswith(wanted),
                "ends_with": text.endswith(wanted)}[match]

    @staticmethod
    def _pagination_headers(request: web.Request, total: int, page: int,
                            per_page: int) -> dict[str, list[str]]:
        """Koha::REST::Plugin::Pagination: prev/next when they exist, first/last always."""
        if per_page == -1:
            page, pages = 1, 1
        else:
            pages = total // per_page + (1 if total % per_page else 0) if per_page else 1

        def link(number: int, rel: str) -> str:
            params = [(k, v) for k, v in request.query.items() if k not in ("_page", "_per_page")]
            params += [("_page", str(number)), ("_per_page", str(per_page))]
            url = request.url.with_query(None)
            return f'<{url}?{urlencode(params)}>; rel="{rel}"'

        links = []
        if per_page != -1 and pages > 1 and page > 1:
            links.append(link(page - 1, "prev"))
        if per_page != -1 and pages > 1 and page < pages:
            links.append(link(page + 1, "next"))
        links += [link(1, "first"), link(pages, "last")]
        return {"Link": links, "X-Total-Count": [str(total)]}

    @staticmethod
    def _json(body: Any, headers: Mapping[str, list[str]] | None = None,
              status: int = 200) -> web.Response:
        response = web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                                content_type="application/json", charset="utf-8")
        for name, values in (headers or {}).items():
            for value in values:
                response.headers.add(name, value)
        return response

    @staticmethod
    def _accept(request: web.Request) -> str:
        """The first acceptable type the client lists (Koha matches the Accept header)."""
        header = request.headers.get("Accept", "")
        for part in header.split(","):
            media = part.split(";")[0].strip().lower()
            if media in MARC_TYPES:
                return media
            if media in ("*/*", "application/*", ""):
                return "application/json"  # [?] Mojolicious picks the first format
        return "application/json" if not header.strip() else ""

    @staticmethod
    def _render_marc(records: list[pymarc.Record], media: str, single: bool) -> web.Response:
        if media == "application/marcxml+xml":
            head = '<?xml version="1.0" encoding="UTF-8"?>\n'
            if single:
                body = head + pymarc.record_to_xml(records[0], namespace=True).decode("utf-8")
            else:
                inner = "".join(pymarc.record_to_xml(r).decode("utf-8") for r in records)
                body = (f'{head}<collection xmlns="http://www.loc.gov/MARC21/slim">{inner}'
                        "</collection>")
            return web.Response(body=body.encode("utf-8"), content_type=media)
        if media == "application/marc-in-json":
            data = [json.loads(r.as_json()) for r in records]
            return web.Response(text=json.dumps(data[0] if single else data, ensure_ascii=False),
                                content_type=media)
        if media == "application/marc":
            return web.Response(body=b"".join(r.as_marc() for r in records), content_type=media)
        return web.Response(text="\n".join(str(r) for r in records), content_type="text/plain")

    @staticmethod
    def _path_id(request: web.Request, name: str) -> int:
        try:
            return int(request.match_info[name])
        except ValueError:
            raise _errors("Expected integer - got string.", f"/{name}") from None

    # -- handlers --------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = form.get("grant_type")
        if not grant:
            raise _errors("Missing property.", "/grant_type")
        if grant != "client_credentials" or not self.oauth:
            raise _ApiError(400, {"error": "Unimplemented grant type"})
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if client_id not in self.clients:
            raise _ApiError(403, {"error": "unauthorized_client"})
        if not secrets.compare_digest(self.clients[client_id], secret):
            raise _ApiError(403, {"error": "access_denied"})
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_seconds
        return self._json({"access_token": token, "token_type": "Bearer",
                           "expires_in": self.token_seconds})

    async def _list_biblios(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["biblios"])
        media = self._accept(request)
        if media not in MARC_TYPES:
            return self._json(list(MARC_TYPES), status=406)
        with self._lock:
            rows = [self.catalogue.biblio_json(b) for b in self.catalogue.biblios]
            page, headers = self._search(request, rows, BIBLIO_FIELDS, "+biblio_id",
                                         self.biblios_paging_headers)
            if media == "application/json":
                return self._json(page, headers)
            records = [self.catalogue.marc[r["biblio_id"]] for r in page]
        response = self._render_marc(records, media, single=False)
        for name, values in headers.items():
            for value in values:
                response.headers.add(name, value)
        return response

    async def _get_biblio(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["biblio"])
        biblio_id = self._path_id(request, "biblio_id")
        with self._lock:
            if biblio_id not in self.catalogue.biblios:
                raise _ApiError(404, {"error": "Bibliographic record not found",
                                      "error_code": "not_found"})
            media = self._accept(request)
            if media == "application/json":
                return self._json(self.catalogue.biblio_json(biblio_id))
            if media not in MARC_TYPES:
                return self._json(list(MARC_TYPES), status=406)
            if media in self.broken.get(biblio_id, ()):
                raise RuntimeError(f"cannot serialise biblio {biblio_id} as {media}")
            record = self.catalogue.marc[biblio_id]
            return self._render_marc([record], media, single=True)

    def _items_page(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        filters = {}
        if "external_id" in request.query:
            filters["external_id"] = request.query["external_id"]
        page, headers = self._search(request, rows, ITEM_DEFAULTS, "+item_id", filters=filters)
        embed = {p.strip() for p in request.headers.get("x-koha-embed", "").split(",")}
        out = []
        for item in page:
            item = dict(item)
            if "biblio" in embed:
                item["biblio"] = self.catalogue.biblio_json(item["biblio_id"])
            if "+strings" in embed:
                item["_strings"] = {}
            out.append(item)
        return self._json(out, headers)

    async def _biblio_items(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["biblio_items"])
        biblio_id = self._path_id(request, "biblio_id")
        with self._lock:
            if biblio_id not in self.catalogue.biblios:
                raise _ApiError(404, {"error": "Bibliographic record not found",
                                      "error_code": "not_found"})
            rows = [i for i in self.catalogue.items.values() if i["biblio_id"] == biblio_id]
            return self._items_page(request, rows)

    async def _list_items(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["items"])
        with self._lock:
            return self._items_page(request, list(self.catalogue.items.values()))

    async def _get_item(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["item"])
        item_id = self._path_id(request, "item_id")
        with self._lock:
            item = self.catalogue.items.get(item_id)
            if item is None:
                raise _ApiError(404, {"error": "Item not found", "error_code": "not_found"})
            return self._json(item)

    def _checkouts_page(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        if request.query.get("checked_in") in ("true", "1"):
            rows = []  # the simulator keeps no old_issues
        page, headers = self._search(request, rows, CHECKOUT_FIELDS, "+checkout_id")
        return self._json(page, headers)

    async def _biblio_checkouts(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["biblio_checkouts"])
        biblio_id = self._path_id(request, "biblio_id")
        with self._lock:
            cat = self.catalogue
            if biblio_id not in cat.biblios:
                raise _ApiError(404, {"error": "Bibliographic record not found",
                                      "error_code": "not_found"})
            rows = [c for c in cat.checkouts.values()
                    if cat.items[c["item_id"]]["biblio_id"] == biblio_id]
            return self._checkouts_page(request, rows)

    async def _list_checkouts(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["checkouts"])
        with self._lock:
            rows = list(self.catalogue.checkouts.values())
            patron = request.query.get("patron_id")
            if patron is not None:
                rows = [c for c in rows if str(c["patron_id"]) == patron]
            return self._checkouts_page(request, rows)

    async def _list_libraries(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["libraries"])
        with self._lock:
            rows = [self.catalogue.library_json(c) for c in sorted(self.catalogue.library_names)]
        filters = {k: v for k, v in request.query.items() if k in LIBRARY_FIELDS}
        page, headers = self._search(request, rows, LIBRARY_FIELDS, "+library_id",
                                     filters=filters)
        return self._json(page, headers)

    async def _list_deleted(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["deleted_biblios"])
        media = self._accept(request)
        if media not in MARC_TYPES:
            return self._json(list(MARC_TYPES), status=406)
        with self._lock:
            rows = [self.catalogue.deleted_json(b) for b in self.catalogue.deleted]
            page, headers = self._search(request, rows, DELETED_FIELDS, "+biblio_id")
            if media == "application/json":
                return self._json(page, headers)
            records = [self.catalogue.deleted[r["biblio_id"]][1] for r in page]
        return self._render_marc(records, media, single=False)

    async def _get_deleted(self, request: web.Request) -> web.Response:
        self._authenticate(request, ROUTES["deleted_biblio"])
        biblio_id = self._path_id(request, "biblio_id")
        with self._lock:
            if biblio_id not in self.catalogue.deleted:
                raise _ApiError(404, {"error": "Bibliographic record not found",
                                      "error_code": "not_found"})
            media = self._accept(request)
            if media == "application/json":
                return self._json(self.catalogue.deleted_json(biblio_id))
            if media not in MARC_TYPES:
                return self._json(list(MARC_TYPES), status=406)
            return self._render_marc([self.catalogue.deleted[biblio_id][1]], media,
                                     single=True)


def demo_records(count: int | None = None) -> list[bytes]:
    """ISO 2709 records of the committed SMLIB demo file (Koha-style MARC 21 with 952s)."""
    data = DEMO_FILE.read_bytes()
    records = [chunk + b"\x1d" for chunk in data.split(b"\x1d") if chunk.strip()]
    return records if count is None else records[:count]


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, secret = value.partition(":")
        if not sep or not key:
            raise SystemExit(f"--{what} expects NAME:SECRET, not {value!r}")
        out[key] = secret
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.koha",
                                     description="Serve a simulated Koha REST API v1.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--records", help="ISO 2709 MARC 21 file with 952 items "
                        "(default: the SMLIB demo records)")
    parser.add_argument("--client", action="append", default=[], metavar="ID:SECRET",
                        help="an API key for the OAuth2 client-credentials grant")
    parser.add_argument("--user", action="append", default=[], metavar="USER:PASSWORD",
                        help="a Basic-auth login")
    parser.add_argument("--token-seconds", type=int, default=3600)
    args = parser.parse_args(argv)
    if args.records:
        data = Path(args.records).read_bytes()
        records = [c + b"\x1d" for c in data.split(b"\x1d") if c.strip()]
        sim = KohaSimulator(records, args.port)
    else:
        sim = KohaSimulator.demo(port=args.port)
    sim.clients = _pairs(args.client, "client")
    sim.users = _pairs(args.user, "user")
    sim.token_seconds = args.token_seconds
    if not sim.clients and not sim.users:
        print("note: no --client or --user given; every request will get 401",
              file=sys.stderr)
    with sim:
        print(f"Koha REST API simulator: {sim.base_url}{API} "
              f"({len(sim.biblio_ids)} biblios); Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
