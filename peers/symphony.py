"""A simulator of SirsiDynix Symphony Web Services (ILSWS), the provincial union catalog.

Symphony cannot run here, so the connector is tested against this: an aiohttp app that
answers the resource API the way public client code shows it (see
/work/shared/notes/symphony-ilsws.md for every fact and its source, [D] documented,
[C] seen in client code, [?] assumed):

* paths under a webapp prefix (``/symws``): ``POST /user/staff/login`` and ``/logout``,
  ``GET /user/staff/key/{k}``, ``/catalog/bib/search``, ``/catalog/bib/key/{k}``,
  ``/catalog/call/key/{k}``, ``/catalog/item/key/{k}``, ``/catalog/item/barcode/{b}``,
  ``/catalog/{bib,call,item}/describe``, ``/policy/{library,location,itemType}/simpleQuery``;
* headers: ``x-sirs-clientID`` on every call (or the legacy ``clientID`` parameter [D]),
  ``x-sirs-sessionToken`` after login; a missing, unknown or expired token is HTTP 401
  ``sessionTimedOut`` [C]; a wrong client id is HTTP 401 ``badClientID`` "Bad Client ID"
  (the wording is the SymWS SDK's HeaderException [D]; code and status are [?]);
* the resource model ``{resource, key, fields}`` with links expanded by ``includeFields``
  (``*``, nested ``callList{itemList{barcode}}``) [C]; MARC as ``fields.bib`` =
  ``{standard, type, leader, fields: [{tag, inds, subfields: [{code, data}]}]}``, control
  fields with the single subfield code ``_`` [C];
* searches ``q=INDEX:term`` (comma-separated clauses joined by ``j``), ``rw`` (1-based
  first row), ``ct`` (rows, default 10), the envelope ``searchQuery, startRow, lastRow,
  rowsPerPage, totalResults, result`` [C]; ``"123{CKEY} OR 456{CKEY}"`` finds bibs by
  catalogue key [C]; ``*`` matches every bib [?];
* a hard-deleted bib answers 404 ``recordNotFound`` [C] and stays in search results as a
  ``null`` that still counts in ``totalResults`` until ``reindex()`` — libilsws warns
  that Symphony does exactly this [C]; a shadowed bib is still returned to staff, with
  ``shadowed: true``;
* errors as ``{"messageList": [{"code", "message"}]}`` [C].

Sessions live ``session_seconds`` from login (absolute lifetime [?]); `expire_sessions()`
ends them all, as a Symphony restart would.  Item status is the current location policy
key, "on shelf" meaning current == home location [C]; checked-out items carry
``circRecord{dueDate}``.

Only the tests and the demo use this module; product code never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Self

import pymarc
from aiohttp import web

from peers.background import BackgroundServer

CHINA = timezone(timedelta(hours=8))
DEFAULT_CLIENT_ID = "TONGJIAN"
SEARCH_INDEXES = ("GENERAL", "TITLE", "AUTHOR", "SUBJECT", "ISBN", "SERIES")
MAX_ROWS = 1000  # [?] no documented cap; libilsws asks for ct=1000 [C]

# Symphony library policy keys of the union catalog → description.  PROV is the
# provincial centre; the others are county libraries (县图书馆) sharing the server.
LIBRARIES: dict[str, str] = {
    "PROV": "陕西省图书馆（联合目录中心）",
    "LIQUAN": "礼泉县图书馆",
    "SANYUAN": "三原县图书馆",
    "YANGLING": "杨凌示范区图书馆",
    "QIANXIAN": "乾县图书馆",
}
BARCODE_PREFIX = {"PROV": "61", "LIQUAN": "LQ", "SANYUAN": "SY", "YANGLING": "YL",
                  "QIANXIAN": "QX"}
# Home locations each library shelves books in.
HOME_LOCATIONS: dict[str, tuple[str, ...]] = {
    "PROV": ("CN-SOCSCI", "CN-SCITECH", "LOCAL-DOC", "REFERENCE"),
    "LIQUAN": ("STACKS", "CHILDREN"),
    "SANYUAN": ("STACKS", "CHILDREN"),
    "YANGLING": ("STACKS", "AGRI"),
    "QIANXIAN": ("STACKS",),
}
# Location policy: key → (description, holdable).  Home locations and the "status"
# locations Symphony moves an item to (CHECKEDOUT, INTRANSIT …) share one policy table.
LOCATIONS: dict[str, tuple[str, bool]] = {
    "CN-SOCSCI": ("中文社科图书借阅室", True),
    "CN-SCITECH": ("中文科技图书借阅室", True),
    "LOCAL-DOC": ("地方文献阅览室", False),
    "REFERENCE": ("参考工具书阅览室", False),
    "STACKS": ("中文图书借阅室", True),
    "CHILDREN": ("少儿借阅室", True),
    "AGRI": ("农业科技文献室", True),
    "CHECKEDOUT": ("已借出", True),
    "INTRANSIT": ("在途（馆际调拨）", True),
    "HOLDS": ("预约保留架", False),
    "MISSING": ("查找中", False),
    "LOST": ("遗失", False),
    "REPAIR": ("修补中", False),
    "DISCARD": ("已剔除", False),
    "ON-ORDER": ("订购中", True),
}
# Where an item is right now, with the weight of each outcome; HOME = on the shelf.
CURRENT_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("HOME", 70), ("CHECKEDOUT", 15), ("INTRANSIT", 4), ("HOLDS", 3), ("MISSING", 2),
    ("LOST", 2), ("REPAIR", 2), ("DISCARD", 1), ("ON-ORDER", 1),
)
ITEM_TYPES: dict[str, str] = {"BOOK": "普通图书", "REF-BOOK": "工具书",
                              "LOCAL-DOC": "地方文献", "JUV-BOOK": "少儿图书"}
HOME_ITEM_TYPE = {"REFERENCE": "REF-BOOK", "LOCAL-DOC": "LOCAL-DOC", "CHILDREN": "JUV-BOOK"}
HOLDINGS_TAGS = {"905", "906", "852", "949", "952", "999"}  # items live in call/item records
# Which MARC tags feed which search index (CNMARC and MARC 21 together).
INDEX_TAGS: dict[str, set[str]] = {
    "TITLE": {"200", "225", "500", "517", "245", "246", "490", "880"},
    "AUTHOR": {"200", "700", "701", "702", "710", "711", "712", "100", "110", "880"},
    "SUBJECT": {"606", "607", "610", "690", "650", "651", "653", "084"},
    "ISBN": {"010", "020"},
    "SERIES": {"225", "410", "490", "830"},
}


class SimError(Exception):
    """An answer in the vendor's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# -- data -------------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    """systemModifiedDate as Symphony writes it: ISO 8601 to the second, with offset."""
    return moment.astimezone(CHINA).replace(microsecond=0).isoformat()


@dataclass
class SimItem:
    key: str
    barcode: str
    library: str
    home: str
    current: str
    item_type: str
    copy: int
    created: str
    modified: datetime
    due: str = ""
    shadowed: bool = False


@dataclass
class SimCall:
    key: str
    number: str
    library: str
    items: list[SimItem]
    modified: datetime
    shadowed: bool = False


@dataclass
class SimBib:
    key: str
    marc: dict[str, Any]  # the fields.bib JSON
    calls: list[SimCall]
    created: datetime
    modified: datetime
    shadowed: bool = False
    deleted: bool = False  # a tombstone: 404 by key, null in search results
    broken: bool = False  # rendering its MARC fails (a damaged record on the server)
    text: dict[str, str] = field(default_factory=dict)  # index name → searchable text


def marc_json(record: pymarc.Record) -> dict[str, Any]:
    """A pymarc record in the shape ILSWS returns as ``fields.bib``."""
    out: list[dict[str, Any]] = []
    for f in record.fields:
        if f.is_control_field():
            out.append({"tag": f.tag, "subfields": [{"code": "_", "data": f.data}]})
        else:
            inds = f"{f.indicator1 or ' '}{f.indicator2 or ' '}"
            out.append({"tag": f.tag, "inds": inds,
                        "subfields": [{"code": s.code, "data": s.value} for s in f.subfields]})
    tags = {f["tag"] for f in out}
    standard = "MARC21" if "245" in tags else "UNIMARC"  # [?] the value a CNMARC site shows
    return {"standard": standard, "type": "BIB", "leader": str(record.leader), "fields": out}


def _sub(marc: dict[str, Any], tags: Iterable[str], codes: str = "") -> list[str]:
    wanted = set(tags)
    return [s["data"] for f in marc["fields"] if f["tag"] in wanted
            for s in f.get("subfields", []) if not codes or s["code"] in codes]


def _title(marc: dict[str, Any]) -> str:
    for tag, codes in (("200", "a"), ("245", "ab")):
        parts = _sub(marc, [tag], codes)
        if parts:
            return " ".join(parts).strip(" /:")
    return ""


def _author(marc: dict[str, Any]) -> str:
    for tag in ("701", "100", "700", "711", "110"):
        parts = _sub(marc, [tag], "a")
        if parts:
            return parts[0]
    return ""


def _index_text(marc: dict[str, Any]) -> dict[str, str]:
    text = {name: " ".join(_sub(marc, tags)).casefold() for name, tags in INDEX_TAGS.items()}
    text["ISBN"] += " " + text["ISBN"].replace("-", "")
    text["GENERAL"] = " ".join(_sub(marc, {f["tag"] for f in marc["fields"]
                                           if f["tag"] >= "010"})).casefold()
    return text


def _call_number(record: pymarc.Record, fallback: str) -> str:
    for tag, code in (("905", "s"), ("906", "c"), ("952", "o"), ("852", "h"), ("690", "a"),
                      ("084", "a")):
        for f in record.get_fields(tag):
            values = f.get_subfields(code)
            if values and values[0].strip():
                return values[0].strip()
    return fallback


# -- includeFields ----------------------------------------------------------------------

Include = dict[str, "Include | None"]


def parse_include(spec: str) -> Include:
    """``a,b{c,d{e}},*`` → {"a": None, "b": {"c": None, "d": {"e": None}}, "*": None}."""
    pos = 0

    def level() -> Include:
        nonlocal pos
        out: Include = {}
        name = ""
        while pos < len(spec):
            ch = spec[pos]
            pos += 1
            if ch == "{":
                out[name.strip()] = level()
                name = ""
            elif ch == "}":
                break
            elif ch == ",":
                if name.strip():
                    out.setdefault(name.strip(), None)
                name = ""
            else:
                name += ch
        if name.strip():
            out.setdefault(name.strip(), None)
        return out

    result = level()
    if pos < len(spec) or spec.count("{") != spec.count("}"):
        raise SimError(400, "invalidIncludeFields", f"Unbalanced braces in includeFields {spec}")
    return result


@dataclass(frozen=True)
class Link:
    resource: str
    key: str


# -- the server -------------------------------------------------------------------------


class SymphonySimulator:
    """ILSWS on 127.0.0.1 in a background thread, over records you give it.

    ``records`` are ISO 2709 bytes (CNMARC or MARC 21, UTF-8); each becomes a bib with a
    catalogue key, 1–3 call numbers in different member libraries and 1–3 items each,
    all drawn from ``seed`` so a run is repeatable.  Holdings fields in the MARC (905/906,
    852/952/999 …) become the call numbers and are removed, as Symphony keeps items in
    call/item records, not in the bib.
    """

    def __init__(self, records: Iterable[bytes], *, port: int = 0,
                 client_id: str = DEFAULT_CLIENT_ID,
                 users: dict[str, str] | None = None, session_seconds: float = 3600.0,
                 webapp: str = "symws", seed: int = 1, first_key: int = 100001,
                 holders: Sequence[Sequence[str]] | None = None) -> None:
        self.port = port
        self.client_id = client_id
        self.users = dict(users or {"TONGJIAN": "tongjian-demo"})
        self.session_seconds = session_seconds
        self.webapp = webapp.strip("/")
        self.lock = threading.RLock()
        self.bibs: dict[str, SimBib] = {}
        self.sessions: dict[str, tuple[str, datetime]] = {}  # token → (login, expiry)
        self.request_log: list[dict[str, Any]] = []
        self.logins = 0
        self._faults: list[tuple[int, str, str, str]] = []  # status, code, message, path
        self._rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self._last_stamp = datetime(2024, 6, 1, 9, 0, tzinfo=CHINA)
        self._next_key = first_key
        self._barcodes: dict[str, int] = {}
        self._server = BackgroundServer("symphony-sim")
        # holders[n]: the Symphony libraries holding record n's copies (the first is the
        # member that catalogued it in a union catalogue); default: drawn from `seed`.
        for n, data in enumerate(records):
            self.add_bib(data, _initial=True,
                         libraries=holders[n] if holders and n < len(holders) else None)

    # -- lifetime --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.webapp}"

    def start(self) -> Self:
        self.port = self._server.start(self.app, self.port)
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; the port then refuses."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- data helpers (thread-safe; tests call them while the server runs) ------------
    def _now(self) -> datetime:
        """A clock that always moves forward, so every change gets a later stamp."""
        now = datetime.now(CHINA).replace(microsecond=0)
        self._last_stamp = max(now, self._last_stamp + timedelta(seconds=1))
        return self._last_stamp

    def add_bib(self, data: bytes, *, _initial: bool = False,
                libraries: Sequence[str] | None = None) -> str:
        """Catalogue an ISO 2709 record with items (in `libraries`, else 1–3 drawn);
        returns its catalogue key."""
        reader = pymarc.MARCReader(data, to_unicode=True, force_utf8=True)
        record = next(iter(reader), None)
        if record is None:
            raise ValueError("not an ISO 2709 record")
        with self.lock:
            rng = self._rng
            if _initial and rng.random() < 0.1:
                self._next_key += 1  # gaps, like keys of bibs deleted long ago
            key = str(self._next_key)
            self._next_key += 1
            if _initial:
                created = datetime(2015, 1, 1, 9, tzinfo=CHINA) + timedelta(
                    days=rng.randrange(3000), minutes=rng.randrange(600))
                modified = created + timedelta(days=rng.randrange(400))
            else:
                created = modified = self._now()
            number = _call_number(record, f"I247.5/{key}")
            for tag in HOLDINGS_TAGS:
                record.remove_fields(tag)
            marc = marc_json(record)
            bib = SimBib(key=key, marc=marc, calls=[], created=created, modified=modified,
                         text=_index_text(marc))
            drawn = rng.sample(sorted(LIBRARIES), rng.randint(1, 3))
            for n, library in enumerate(libraries or drawn, 1):
                bib.calls.append(self._make_call(bib, n, library, number, modified))
            self.bibs[key] = bib
            return key

    def _make_call(self, bib: SimBib, n: int, library: str, number: str,
                   modified: datetime) -> SimCall:
        rng = self._rng
        call = SimCall(key=f"{bib.key}:{n}", number=number, library=library, items=[],
                       modified=modified)
        home = rng.choice(HOME_LOCATIONS[library])
        for copy in range(1, rng.randint(1, 3) + 1):
            call.items.append(self._make_item(call, copy, home, modified))
        return call

    def _make_item(self, call: SimCall, copy: int, home: str, modified: datetime) -> SimItem:
        rng = self._rng
        prefix = BARCODE_PREFIX[call.library]
        self._barcodes[prefix] = self._barcodes.get(prefix, 0) + 1
        barcode = f"{prefix}{self._barcodes[prefix]:08d}"
        outcome = rng.choices([c for c, _ in CURRENT_WEIGHTS],
                              [w for _, w in CURRENT_WEIGHTS])[0]
        if home in ("REFERENCE", "LOCAL-DOC") and outcome == "CHECKEDOUT":
            outcome = "HOME"  # reading-room only
        current = home if outcome == "HOME" else outcome
        due = ""
        if current == "CHECKEDOUT":
            due = (modified.date() + timedelta(days=rng.randint(1, 60))).isoformat()
        return SimItem(key=f"{call.key}:{copy}", barcode=barcode, library=call.library,
                       home=home, current=current,
                       item_type=HOME_ITEM_TYPE.get(home, "BOOK"), copy=copy,
                       created=modified.date().isoformat(), modified=modified, due=due)

    def bib_keys(self, *, include_deleted: bool = False, include_shadowed: bool = True
             ) -> list[str]:
        """Catalogue keys in key order (the order searches return)."""
        with self.lock:
            return [k for k, b in sorted(self.bibs.items(), key=lambda kv: int(kv[0]))
                    if (include_deleted or not b.deleted)
                    and (include_shadowed or not b.shadowed)]

    def items(self, bib_key: str) -> list[SimItem]:
        with self.lock:
            return [i for c in self.bibs[bib_key].calls for i in c.items]

    def modify_bib(self, key: str, *, title: str | None = None) -> str:
        """Edit a bib (optionally its title proper); bumps modifiedDate/systemModifiedDate.
        Returns the new systemModifiedDate."""
        with self.lock:
            bib = self._live(key)
            if title is not None:
                for f in bib.marc["fields"]:
                    if f["tag"] in ("200", "245"):
                        for s in f["subfields"]:
                            if s["code"] == "a":
                                s["data"] = title
                                break
                        break
                bib.text = _index_text(bib.marc)
            bib.modified = self._now()
            return _stamp(bib.modified)

    def replace_marc(self, key: str, data: bytes) -> str:
        """A cataloguer saves an edited record (ISO 2709): its MARC is replaced (holdings
        fields dropped, as at cataloguing), modifiedDate/systemModifiedDate move on.
        Returns the new systemModifiedDate."""
        record = next(iter(pymarc.MARCReader(data, to_unicode=True, force_utf8=True)), None)
        if record is None:
            raise ValueError("not an ISO 2709 record")
        for tag in HOLDINGS_TAGS:
            record.remove_fields(tag)
        with self.lock:
            bib = self._live(key)
            bib.marc = marc_json(record)
            bib.text = _index_text(bib.marc)
            bib.modified = self._now()
            return _stamp(bib.modified)

    def delete_bib(self, key: str, *, shadow: bool = False) -> None:
        """Remove a bib (404 from now on) or, with ``shadow``, hide it from the public."""
        with self.lock:
            bib = self._live(key)
            bib.modified = self._now()
            if shadow:
                bib.shadowed = True
            else:
                bib.deleted = True

    def set_item_location(self, barcode: str, location: str, due: str = "") -> None:
        """Circulation: move an item (CHECKEDOUT with ``due``, back home, INTRANSIT …)."""
        with self.lock:
            item = self._item_by_barcode(barcode)
            if item is None:
                raise KeyError(barcode)
            item.current = location
            item.due = due if location == "CHECKEDOUT" else ""
            item.modified = self._now()

    def add_item(self, bib_key: str, library: str) -> str:
        """A member library adds a copy (a new call number record); returns the barcode."""
        with self.lock:
            bib = self._live(bib_key)
            now = self._now()
            number = bib.calls[0].number if bib.calls else f"I247.5/{bib_key}"
            call = self._make_call(bib, len(bib.calls) + 1, library, number, now)
            call.items[1:] = []
            call.items[0].current = call.items[0].home
            call.items[0].due = ""
            bib.calls.append(call)
            return call.items[0].barcode

    def reindex(self) -> None:
        """Rebuild the search index: deleted bibs stop appearing as nulls."""
        with self.lock:
            for key in [k for k, b in self.bibs.items() if b.deleted]:
                del self.bibs[key]

    def break_bib(self, key: str) -> None:
        """Make a bib's MARC unreadable on the server: any response with it fails (500)."""
        with self.lock:
            self._live(key).broken = True

    def fail_next(self, count: int = 1, *, status: int = 500,
                  code: str = "hatErrorResponse.500",
                  message: str = "An unexpected error occurred in Symphony Web Services.",
                  path: str = "") -> None:
        """The next ``count`` requests (whose path contains ``path``) fail in the vendor's
        error shape; ``code=""`` answers with an empty body instead of a messageList."""
        with self.lock:
            self._faults.extend([(status, code, message, path)] * count)

    def expire_sessions(self) -> None:
        """End every session, as a Symphony restart or a timeout would."""
        with self.lock:
            self.sessions.clear()

    def _live(self, key: str) -> SimBib:
        bib = self.bibs.get(key)
        if bib is None or bib.deleted:
            raise SimError(404, "recordNotFound",
                           f"Could not find a(n) /catalog/bib record with the key {key}.")
        return bib

    def _item_by_barcode(self, barcode: str) -> SimItem | None:
        for bib in self.bibs.values():
            if bib.deleted:
                continue
            for call in bib.calls:
                for item in call.items:
                    if item.barcode == barcode:
                        return item
        return None

    def _item_by_key(self, key: str) -> SimItem | None:
        parts = key.split(":")
        if len(parts) != 3:
            return None
        bib = self.bibs.get(parts[0])
        if bib is None or bib.deleted:
            return None
        for call in bib.calls:
            for item in call.items:
                if item.key == key:
                    return item
        return None

    # -- resources -------------------------------------------------------------------
    def _fields(self, link: Link, names: set[str] | None) -> dict[str, Any]:
        """All fields of a resource (links unexpanded).  ``names`` limits MARC building."""
        kind, key = link.resource, link.key
        if kind == "/catalog/bib":
            bib = self._live(key)
            if bib.broken and (names is None or "bib" in names or "*" in names):
                raise SimError(500, "hatErrorResponse.46",
                               f"Unable to read the MARC record for title key {key}.")
            return {
                "shadowed": bib.shadowed,
                "author": _author(bib.marc),
                "title": _title(bib.marc),
                "titleControlNumber": f"t{key}",
                "catalogDate": bib.created.date().isoformat(),
                "catalogFormat": Link("/policy/catalogFormat", "MARC"),
                "createDate": bib.created.date().isoformat(),
                "modifiedDate": bib.modified.date().isoformat(),
                "systemModifiedDate": _stamp(bib.modified),
                "bib": bib.marc,
                "callList": [Link("/catalog/call", c.key) for c in bib.calls],
            }
        if kind == "/catalog/call":
            call = self._call(key)
            return {
                "library": Link("/policy/library", call.library),
                "callNumber": call.number,
                "dispCallNumber": call.number,
                "sortCallNumber": call.number.replace("/", " "),
                "volumetric": None,
                "shadowed": call.shadowed,
                "classification": Link("/policy/classification", "CLC"),
                "systemModifiedDate": _stamp(call.modified),
                "bib": Link("/catalog/bib", key.split(":")[0]),
                "itemList": [Link("/catalog/item", i.key) for i in call.items],
            }
        if kind == "/catalog/item":
            item = self._item_by_key(key)
            if item is None:
                raise SimError(404, "recordNotFound",
                               f"Could not find a(n) /catalog/item record with the key {key}.")
            return {
                "barcode": item.barcode,
                "itemType": Link("/policy/itemType", item.item_type),
                "currentLocation": Link("/policy/location", item.current),
                "homeLocation": Link("/policy/location", item.home),
                "library": Link("/policy/library", item.library),
                "call": Link("/catalog/call", key.rsplit(":", 1)[0]),
                "bib": Link("/catalog/bib", key.split(":")[0]),
                "copyNumber": item.copy,
                "circulate": item.home not in ("REFERENCE", "LOCAL-DOC"),
                "shadowed": item.shadowed,
                "permanent": True,
                "pieces": 1,
                "price": {"currencyCode": "CNY", "amount": "0.00"},
                "createdDate": item.created,
                "systemModifiedDate": _stamp(item.modified),
                "circRecord": Link("/circulation/circRecord", key) if item.due else None,
            }
        if kind == "/circulation/circRecord":
            item = self._item_by_key(key)
            if item is None or not item.due:
                raise SimError(404, "recordNotFound",
                               f"Could not find a(n) /circulation/circRecord record with the "
                               f"key {key}.")
            return {"dueDate": item.due, "recallDueDate": None,
                    "item": Link("/catalog/item", key)}
        policy = kind.rsplit("/", 1)[-1]
        table = {"library": {k: (v, True) for k, v in LIBRARIES.items()},
                 "location": LOCATIONS,
                 "itemType": {k: (v, True) for k, v in ITEM_TYPES.items()},
                 "classification": {"CLC": ("中国图书馆分类法", True)},
                 "catalogFormat": {"MARC": ("MARC", True)}}.get(policy, {})
        if key not in table:
            raise SimError(404, "recordNotFound",
                           f"Could not find a(n) {kind} record with the key {key}.")
        description, holdable = table[key]
        fields: dict[str, Any] = {"displayName": key, "description": description,
                                  "policyNumber": sorted(table).index(key) + 1,
                                  "shadowed": False}
        if policy == "location":
            fields["holdable"] = holdable
        return fields

    def _call(self, key: str) -> SimCall:
        bib = self.bibs.get(key.split(":")[0])
        if bib is not None and not bib.deleted:
            for call in bib.calls:
                if call.key == key:
                    return call
        raise SimError(404, "recordNotFound",
                       f"Could not find a(n) /catalog/call record with the key {key}.")

    def render(self, link: Link, include: Include | None) -> dict[str, Any]:
        """{resource, key, fields} with only the included fields, links expanded."""
        names = None if include is None else set(include)
        fields = self._fields(link, names)
        if include is None or "*" in include:
            chosen = list(fields)
        else:
            chosen = [n for n in include if n in fields]
        out: dict[str, Any] = {}
        for name in chosen:
            out[name] = self._expand(fields[name], (include or {}).get(name))
        return {"resource": link.resource, "key": link.key, "fields": out}

    def _expand(self, value: Any, sub: Include | None) -> Any:
        if isinstance(value, Link):
            if sub is None:
                return {"resource": value.resource, "key": value.key}
            return self.render(value, sub)
        if isinstance(value, list):
            return [self._expand(v, sub) for v in value]
        return value

    # -- search ----------------------------------------------------------------------
    def search(self, q: str, j: str = "AND") -> list[SimBib]:
        """Bibs (including tombstones) matching an ILSWS query, in catalogue-key order."""
        clauses = [c for c in _split_clauses(q) if c.strip()]
        if not clauses:
            raise SimError(400, "searchQueryEmpty", "A search query is required.")
        tests = [self._clause(c) for c in clauses]
        combine = any if j.upper() == "OR" else all
        bibs = sorted(self.bibs.values(), key=lambda b: int(b.key))
        return [b for b in bibs if combine(t(b) for t in tests)]

    def _clause(self, clause: str):  # noqa: ANN202 - a predicate
        index, sep, term = clause.partition(":")
        if not sep:
            index, term = "GENERAL", clause
        index = index.strip().upper()
        if index not in SEARCH_INDEXES:
            raise SimError(400, "invalidSearchIndex",
                           f"{index} is not a valid search index for /catalog/bib.")
        term = term.strip()
        if len(term) >= 2 and term[0] == term[-1] == '"':
            term = term[1:-1]
        ckeys = re.findall(r"(\w+)\{CKEY\}", term)
        if ckeys:
            wanted = set(ckeys)
            return lambda b: b.key in wanted
        if term.strip() == "*":
            return lambda b: True
        alternatives = [[w.casefold() for w in alt.split() if w.upper() != "AND"]
                        for alt in re.split(r"\s+OR\s+", term)]
        alternatives = [a for a in alternatives if a]
        if not alternatives:
            raise SimError(400, "searchQueryEmpty", "A search query is required.")
        return lambda b: any(all(w in b.text.get(index, "") for w in alt)
                             for alt in alternatives)

    # -- HTTP ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        p = f"/{self.webapp}"
        r = app.router
        r.add_post(f"{p}/user/staff/login", self._login)
        r.add_post(f"{p}/user/staff/logout", self._logout)
        r.add_get(f"{p}/user/staff/key/{{key}}", self._staff)
        r.add_get(f"{p}/catalog/bib/search", self._search)
        r.add_get(f"{p}/catalog/{{kind:bib|call|item}}/describe", self._describe)
        r.add_get(f"{p}/catalog/{{kind:bib|call|item}}/key/{{key}}", self._by_key)
        r.add_get(f"{p}/catalog/item/barcode/{{barcode}}", self._by_barcode)
        r.add_get(f"{p}/policy/{{policy}}/simpleQuery", self._simple_query)
        r.add_get(f"{p}/policy/{{policy}}/key/{{key}}", self._policy_key)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        headers = request.headers
        with self.lock:
            self.request_log.append({
                "method": request.method, "path": request.path, "query": dict(request.query),
                "app_id": headers.get("SD-Originating-App-Id", ""),
                "accept": headers.get("Accept", ""),
                "client_id": headers.get("x-sirs-clientID", ""),
                "has_token": bool(headers.get("x-sirs-sessionToken")),
            })
        try:
            with self.lock:
                self._check_fault(request.path)
            client = headers.get("x-sirs-clientID") or request.query.get("clientID", "")
            if client != self.client_id:
                raise SimError(401, "badClientID", "Bad Client ID")
            if not request.path.endswith("/user/staff/login"):
                self._check_session(headers.get("x-sirs-sessionToken", ""))
            return await handler(request)
        except SimError as e:
            if not e.code:
                return web.Response(status=e.status)
            return _json({"messageList": [{"code": e.code, "message": e.message}]}, e.status)
        except web.HTTPException as e:
            if e.status == 404:
                return _json({"messageList": [{"code": "notFound",
                                               "message": "Resource not found."}]}, 404)
            raise

    def _check_fault(self, path: str) -> None:
        for n, (status, code, message, where) in enumerate(self._faults):
            if where in path:
                del self._faults[n]
                raise SimError(status, code, message)

    def _check_session(self, token: str) -> None:
        with self.lock:
            session = self.sessions.get(token)
            if session is not None and session[1] <= datetime.now(CHINA):
                del self.sessions[token]
                session = None
        if session is None:
            raise SimError(401, "sessionTimedOut", "The session has timed out.")

    async def _login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise SimError(400, "invalidJson", "The request body is not valid JSON.") from None
        login = str(body.get("login", "")) if isinstance(body, dict) else ""
        password = str(body.get("password", "")) if isinstance(body, dict) else ""
        with self.lock:
            if login not in self.users or self.users[login] != password:
                raise SimError(401, "unableToLogin", "Unable to log in.")
            token = str(uuid.uuid4())
            expiry = datetime.now(CHINA) + timedelta(seconds=self.session_seconds)
            self.sessions[token] = (login, expiry)
            self.logins += 1
        staff_key = str(700000 + sorted(self.users).index(login))
        return _json({
            "staffKey": staff_key, "pinCreateDate": "2024-03-26", "pinExpirationDate": None,
            "name": f"Web Services user {login}", "sessionToken": token,
            "pinStatus": {"resource": "/policy/userPinStatus", "key": "A",
                          "fields": {"policyNumber": 1, "description": "$<userpin_active_status>",
                                     "displayName": "A",
                                     "translatedDescription": "User's PIN is active"}},
            "message": None,
        })

    async def _logout(self, request: web.Request) -> web.Response:
        with self.lock:
            self.sessions.pop(request.headers.get("x-sirs-sessionToken", ""), None)
        return web.Response(status=204)

    async def _staff(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        with self.lock:
            logins = {str(700000 + n): login for n, login in enumerate(sorted(self.users))}
        if key not in logins:
            raise SimError(404, "recordNotFound",
                           f"Could not find a(n) /user/staff record with the key {key}.")
        return _json({"resource": "/user/staff", "key": key,
                      "fields": {"login": logins[key], "name": f"Web Services user {logins[key]}"}})

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query
        q = query.get("q", "")
        rw = _int_param(query, "rw", 1, minimum=1)
        ct = min(_int_param(query, "ct", 10, minimum=1), MAX_ROWS)
        include = parse_include(query["includeFields"]) if "includeFields" in query else None
        with self.lock:
            hits = self.search(q, query.get("j", "AND"))
            page = hits[rw - 1 : rw - 1 + ct]
            result: list[dict[str, Any] | None] = []
            for bib in page:
                if bib.deleted:
                    result.append(None)
                elif include is None or set(include) <= {"key"}:
                    result.append({"resource": "/catalog/bib", "key": bib.key})
                else:
                    result.append(self.render(Link("/catalog/bib", bib.key), include))
        last = rw + ct - 1 if not page else rw + len(page) - 1
        return _json({"searchQuery": q, "startRow": rw, "lastRow": last, "rowsPerPage": ct,
                      "totalResults": len(hits), "result": result})

    async def _by_key(self, request: web.Request) -> web.Response:
        kind, key = request.match_info["kind"], request.match_info["key"]
        include = _include(request)
        with self.lock:
            return _json(self.render(Link(f"/catalog/{kind}", key), include))

    async def _by_barcode(self, request: web.Request) -> web.Response:
        barcode = request.match_info["barcode"]
        include = _include(request)
        with self.lock:
            item = self._item_by_barcode(barcode)
            if item is None:
                raise SimError(404, "recordNotFound",
                               f"Could not find a(n) /catalog/item record with the barcode "
                               f"{barcode}.")
            return _json(self.render(Link("/catalog/item", item.key), include))

    async def _describe(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        sample = {"bib": ("shadowed", "author", "title", "titleControlNumber", "catalogDate",
                          "catalogFormat", "createDate", "modifiedDate", "systemModifiedDate",
                          "bib", "callList"),
                  "call": ("library", "callNumber", "dispCallNumber", "sortCallNumber",
                           "volumetric", "shadowed", "classification", "systemModifiedDate",
                           "bib", "itemList"),
                  "item": ("barcode", "itemType", "currentLocation", "homeLocation", "library",
                           "call", "bib", "copyNumber", "circulate", "shadowed", "permanent",
                           "pieces", "price", "createdDate", "systemModifiedDate",
                           "circRecord")}[kind]
        out: dict[str, Any] = {"name": kind, "displayName": kind,
                               "fields": [{"name": n} for n in sample]}
        if kind == "bib":
            out["searchIndexList"] = [{"name": n, "displayName": n} for n in SEARCH_INDEXES]
        return _json(out)

    async def _simple_query(self, request: web.Request) -> web.Response:
        policy = request.match_info["policy"]
        policies: dict[str, Mapping[str, Any]] = {"library": LIBRARIES, "location": LOCATIONS,
                                                  "itemType": ITEM_TYPES}
        keys = policies.get(policy)
        if keys is None:
            raise SimError(404, "notFound", f"/policy/{policy} is not a policy resource.")
        pattern = request.query.get("key", "*")
        include = _include(request)
        with self.lock:
            out = [self.render(Link(f"/policy/{policy}", k), include) for k in sorted(keys)
                   if pattern in ("*", k)]
        return _json(out)

    async def _policy_key(self, request: web.Request) -> web.Response:
        policy, key = request.match_info["policy"], request.match_info["key"]
        with self.lock:
            return _json(self.render(Link(f"/policy/{policy}", key), _include(request)))


def _split_clauses(q: str) -> list[str]:
    """Split ``q`` on commas outside double quotes."""
    out, current, quoted = [], "", False
    for ch in q:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return out


def _include(request: web.Request) -> Include | None:
    spec = request.query.get("includeFields")
    return parse_include(spec) if spec else None


def _int_param(query: Any, name: str, default: int, *, minimum: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SimError(400, "invalidParameter", f"{name} must be a number, not {raw}.") from None
    if value < minimum:
        raise SimError(400, "invalidParameter", f"{name} must be at least {minimum}.")
    return value


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(data, ensure_ascii=False))


# -- standalone -------------------------------------------------------------------------


def demo_records(editions: int = 200, seed: int | None = None) -> Iterator[bytes]:
    """CNMARC records of the provincial centre from the seeded generator."""
    from tongjian.generator import DEMO_SEED, LibrarySpec, iter_library_records

    spec = LibrarySpec("PROV", "陕西省图书馆", "cnmarc", "utf-8", "61", 0.9,
                       home=("陕西", "西安", "关中"))
    yield from iter_library_records(DEMO_SEED if seed is None else seed, (spec,), "PROV",
                                    editions, charset_lie_share=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m peers.symphony",
        description="Run the SirsiDynix Symphony Web Services simulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument("--editions", type=int, default=200,
                        help="edition slots to generate (about as many bibs)")
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: demo)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="accepted x-sirs-clientID")
    parser.add_argument("--user", default="TONGJIAN", help="staff login")
    parser.add_argument("--session-seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    # The password comes from the environment like in production, so that it does not
    # show up in `ps`; the default is only good for a laptop demo.
    password = os.environ.get("SYMPHONY_SIM_PASSWORD", "tongjian-demo")
    sim = SymphonySimulator(demo_records(args.editions, args.seed), port=args.port,
                            client_id=args.client_id, users={args.user: password},
                            session_seconds=args.session_seconds)
    with sim:
        print(f"Symphony Web Services simulator: {sim.base_url}  ({len(sim.bib_keys())} bibs)")
        print(f"  x-sirs-clientID: {sim.client_id}   staff login: {args.user} "
              "(password from $SYMPHONY_SIM_PASSWORD)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
