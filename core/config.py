"""config.yaml: the consortium described once — libraries, their sources, index, portal.

Validated strictly at start, because a connector admin adding a county library edits this
file by hand: an unknown key (a typo), a missing field or a source pointing at a library
that does not exist must stop the program with a message naming the file, the entry and
the fix — not surface later as an odd harvest.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from core import cataloguing as _cataloguing
from core.cataloguing import Attribution, Cataloguing

# "other": a library of another system (university, research, neighbouring province).
LEVELS = ("province", "city", "county", "town", "village", "other")
PROTOCOLS = ("z3950", "sru", "oaipmh", "symphony", "koha")
MODES = ("harvest", "live")
SYNTAXES = ("usmarc", "unimarc", "marcxml", "oai_dc", "opac")
FORMATS = ("auto", "marc21", "cnmarc")
ENCODINGS = ("auto", "utf-8", "marc-8", "gb18030")
BACKENDS = ("tantivy", "meilisearch")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_CARD = re.compile(r"[A-Za-z0-9]{1,32}")
_HOST = re.compile(r"[^\s/:@?#\[\]\\]{1,253}|\[[0-9a-f:.]{2,45}\]")  # name, IPv4 or [IPv6]


class ConfigError(Exception):
    """A problem in config.yaml, phrased for the person who has to fix it."""


@dataclass(frozen=True)
class Library:
    code: str
    name: str
    region: str  # city (地级市) the library belongs to, e.g. 咸阳市
    level: str  # province | city | county | town | village | other
    county: str = ""  # for county-level and below: 县/区/县级市
    address: str = ""
    contact: str = ""
    barcode_ranges: tuple[str, ...] = ()
    # Unified reader cards (通借通还): card numbers "FIRST-LAST" issued by this library, so a
    # reader can name their home library by typing their card number.
    reader_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class HoldingsMap:
    """Where a source keeps its holdings (馆藏) inside the bibliographic record.

    `tag` plus the subfield code for each Holding attribute ("d/e" joins two subfields with
    '/', as a call number is class/书次号).  No maps configured = the crosswalk's defaults
    for the record's flavour (MARC21 852/949/952/999, CNMARC 905/906).
    """

    tag: str
    location: str = ""
    call_number: str = ""
    barcode: str = ""
    status: str = ""
    library: str = ""


@dataclass(frozen=True)
class Auth:
    """Where a source's credentials come from: names of environment variables, never the
    secrets themselves (config.yaml is committed and shown to admins).  `client_id` is an
    application id (Symphony's x-sirs-clientID), not a secret, so it may be written here."""

    user_env: str = ""
    password_env: str = ""
    client_id: str = ""
    client_id_env: str = ""
    client_secret_env: str = ""

    def resolve(self, field_name: str, environ: Mapping[str, str] | None = None) -> str:
        """The value of `<field_name>_env`'s variable ('' when unset or not configured)."""
        env = os.environ if environ is None else environ
        name = getattr(self, f"{field_name}_env", "")
        return env.get(name, "") if name else ""


@dataclass(frozen=True)
class Source:
    name: str
    library: str
    protocol: str
    address: str
    mode: str = "harvest"
    record_syntax: str = "usmarc"
    format: str = "auto"
    encoding: str = "auto"
    database: str = ""
    query: str = ""  # full-harvest query: PQF (Z39.50), ILSWS q (Symphony); default: all
    timeout: float = 10.0
    batch_size: int = 50
    deadline: float = 5.0  # live search: seconds before a source's answer is given up
    max_concurrent: int = 2  # live search: parallel searches one server is sent at most
    availability_timeout: float = 0.0  # live item status: seconds per check; 0 = 3 s
    # HTTP sources (OAI-PMH, Koha, Symphony): bounds on one request and on one harvest run,
    # so a hostile or broken peer cannot hold a harvest or fill memory.
    request_deadline: float = 60.0  # seconds per request: connect + every read together
    max_response_bytes: int = 50 * 1024 * 1024  # one response larger than this is refused
    max_pages: int = 100_000  # pages of one listing per run (OAI-PMH resumption tokens)
    holdings: tuple[HoldingsMap, ...] = ()
    metadata_prefix: str = ""  # OAI-PMH: oai_dc, marc21, marcxml …
    set: str = ""  # OAI-PMH set spec
    schedule: int = 0  # minutes between incremental harvests under `tongjian serve`; 0 = never
    # A complete full run deletes what it did not see — but never more than this share of
    # the source (nor anything when it saw nothing) without `--confirm-deletions`.
    max_delete_share: float = 0.10
    auth: Auth = Auth()
    # A shared system (the provincial Symphony union catalog) holds items of many members:
    # the system's own library codes → library codes in this file.
    members: tuple[tuple[str, str], ...] = ()
    # Who gets the credit for a record (`harvest.attribution`): rules and agency table.
    attribution: Attribution = Attribution()

    def member_library(self, remote_code: str) -> str:
        """The consortium library for an item's library code in the source ('' if unknown)."""
        for remote, local in self.members:
            if remote == remote_code:
                return local
        return ""


@dataclass(frozen=True)
class IndexConfig:
    backend: str = "tantivy"
    path: str = "var/index"
    url: str = ""  # meilisearch only
    # meilisearch: the environment variable holding the API key, and the index's uid
    key_env: str = "TONGJIAN_MEILI_KEY"
    uid: str = "tongjian"
    # tantivy: queries whose counts, facets and page rankings are kept between searches
    # (until the index changes); 0 turns the cache off.
    cache_entries: int = 8192


@dataclass(frozen=True)
class PortalConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "统检 · 联合目录检索"
    # Hosts (besides those of the sources' addresses) the portal may fetch cover images
    # from: the allow-list that keeps `/covers/…` from fetching arbitrary URLs a harvested
    # record names — an image server separate from a library's OAI-PMH or ILS host goes here.
    cover_hosts: tuple[str, ...] = ()
    # Reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto/-Host the portal
    # believes: the reader's address then counts for login throttling and /metrics' loopback
    # rule.  Empty (the default): forwarded headers are ignored — anybody can send them.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """One way other systems reach the union catalogue (issue 15): read-only always; it
    can be turned off, kept to listed networks, and each client address gets at most
    `per_minute` requests."""

    enabled: bool = True
    networks: tuple[str, ...] = ()  # empty: any address
    per_minute: int = 120
    port: int = 0  # Z39.50 only: where `tongjian zserver` listens


@dataclass(frozen=True)
class OfferConfig:
    """`offer:` in config.yaml — the union catalogue offered onward over OAI-PMH (/oai),
    SRU (/sru) and Z39.50 (`tongjian zserver`)."""

    oai: Endpoint = Endpoint()
    sru: Endpoint = Endpoint()
    z3950: Endpoint = Endpoint(enabled=False, port=2100)
    admin_email: str = ""  # OAI-PMH Identify's adminEmail (one is required)


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    libraries: dict[str, Library]
    sources: list[Source]
    index: IndexConfig
    portal: PortalConfig
    store_path: str = "var/tongjian.db"
    extra: dict[str, Any] = field(default_factory=dict)
    offer: OfferConfig = OfferConfig()
    cataloguing: Cataloguing = Cataloguing()  # the cataloguing centre's counting and review

    def resolve(self, relative: str) -> Path:
        """Paths in the file are relative to the file, not to wherever the command runs."""
        p = Path(relative)
        return p if p.is_absolute() else (self.path.parent / p)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r}; configured sources: {known}")

    def reader_library(self, card: str) -> Library | None:
        """The home library that issued a unified reader card (通借通还), by `reader_ranges`;
        None when no range holds the number."""
        card = card.strip().upper()
        for lib in self.libraries.values():
            for span in lib.reader_ranges:
                first, _, last = span.upper().partition("-")
                if len(card) == len(first) and first <= card <= last:
                    return lib
        return None


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found — pass --config PATH or create config.yaml "
            "(see the one in the repository for a complete example)"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse(data, path)


def parse(data: Any, path: Path) -> Config:
    v = _Validator(path)
    top = v.mapping(data, "the top level", required=("libraries", "sources"),
                    optional=("consortium", "index", "portal", "store", "offer", "cataloguing"))
    consortium = v.mapping(top.get("consortium", {}), "consortium", optional=("name",))
    libraries: dict[str, Library] = {}
    for i, raw in enumerate(v.sequence(top["libraries"], "libraries")):
        lib = v.library(raw, i)
        if lib.code in libraries:
            raise ConfigError(f"{path}: libraries[{i}]: code {lib.code!r} is used twice — "
                              "library codes must be unique")
        libraries[lib.code] = lib
    _check_reader_ranges(libraries, path)
    try:
        cataloguing = _cataloguing.parse(top.get("cataloguing"), libraries)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    sources: list[Source] = []
    for i, raw in enumerate(v.sequence(top["sources"], "sources")):
        src = v.source(raw, i)
        try:
            src = replace(src, attribution=_cataloguing.attribution(
                raw.get("attribution"), cataloguing, libraries, src.name))
        except ValueError as e:
            raise ConfigError(f"{path}: sources[{i}] ({src.name}).{e}") from None
        if src.library not in libraries:
            known = ", ".join(libraries) or "none"
            raise ConfigError(
                f"{path}: sources[{i}] ({src.name}): library {src.library!r} is not defined — "
                f"use one of: {known}, or add it under `libraries:`"
            )
        for remote, local in src.members:
            if local not in libraries:
                raise ConfigError(
                    f"{path}: sources[{i}] ({src.name}).members: {remote!r} maps to library "
                    f"{local!r}, which is not defined — add it under `libraries:`"
                )
        if any(s.name == src.name for s in sources):
            raise ConfigError(f"{path}: sources[{i}]: name {src.name!r} is used twice")
        sources.append(src)
    for name, _ in cataloguing.cataloguers:
        if not any(s.name == name for s in sources):
            raise ConfigError(f"{path}: cataloguing.cataloguers: {name!r} is not a source "
                              f"name — use one of: {', '.join(s.name for s in sources)}")
    idx = v.mapping(top.get("index", {}), "index",
                    optional=("backend", "path", "url", "cache_entries", "key_env", "uid"))
    index = IndexConfig(**idx)
    v.choice(index.backend, BACKENDS, "index.backend")
    if index.backend == "meilisearch" and not str(index.url).startswith(("http://", "https://")):
        raise ConfigError(f"{path}: index.url: {index.url!r} is not the http(s) address of "
                          "the Meilisearch server (index.backend is meilisearch)")
    if type(index.cache_entries) is not int or index.cache_entries < 0:
        raise ConfigError(f"{path}: index.cache_entries: {index.cache_entries!r} is not a "
                          "whole number ≥ 0 (0 turns the search cache off)")
    portal_raw = v.mapping(top.get("portal", {}), "portal",
                           optional=("host", "port", "title", "cover_hosts",
                                     "trusted_proxies"))
    portal = PortalConfig(**{**portal_raw,
                             "cover_hosts": v.hosts(portal_raw.get("cover_hosts"),
                                                    "portal.cover_hosts"),
                             "trusted_proxies": v.networks(portal_raw.get("trusted_proxies"),
                                                           "portal.trusted_proxies")})
    if not isinstance(portal.port, int) or not 0 < portal.port < 65536:
        raise ConfigError(f"{path}: portal.port: {portal.port!r} is not a TCP port number")
    store = v.mapping(top.get("store", {}), "store", optional=("path",))
    return Config(
        path=path,
        name=str(consortium.get("name", "")),
        libraries=libraries,
        sources=sources,
        index=index,
        portal=portal,
        store_path=str(store.get("path", "var/tongjian.db")),
        offer=v.offer(top.get("offer", {})),
        cataloguing=cataloguing,
    )


def _check_reader_ranges(libraries: dict[str, Library], path: Path) -> None:
    """One card number names one home library: overlapping ranges are refused."""
    spans = [(span.partition("-")[0], span.partition("-")[2], lib.code)
             for lib in libraries.values() for span in lib.reader_ranges]
    for i, (first, last, code) in enumerate(spans):
        for first2, last2, code2 in spans[i + 1:]:
            if len(first) == len(first2) and first <= last2 and first2 <= last:
                raise ConfigError(f"{path}: reader_ranges of {code} ({first}-{last}) and "
                                  f"{code2} ({first2}-{last2}) overlap — a card number must "
                                  "name one home library; correct one of the ranges")


class _Validator:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}")

    def mapping(self, data: Any, where: str, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, Any]:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise self.fail(where, f"expected a mapping (key: value), found {type(data).__name__}")
        allowed = set(required) | set(optional)
        for key in data:
            if key not in allowed:
                raise self.fail(where, f"unknown key {key!r} — allowed keys: "
                                f"{', '.join(sorted(allowed))}")
        for key in required:
            if data.get(key) in (None, ""):
                raise self.fail(where, f"missing required field {key!r}")
        return data

    def sequence(self, data: Any, where: str) -> list[Any]:
        if not isinstance(data, list):
            raise self.fail(where, "expected a list of entries (lines starting with '- ')")
        return data

    def hosts(self, data: Any, where: str) -> tuple[str, ...]:
        """Bare host names, lower-cased: a URL or a path here would silently match nothing,
        so it is refused with the fix instead."""
        out = []
        for i, raw in enumerate(self.sequence(data or [], where)):
            host = str(raw).strip().lower().rstrip(".") if isinstance(raw, str) else ""
            if not _HOST.fullmatch(host):
                raise self.fail(f"{where}[{i}]", f"{raw!r} is not a host name — write only "
                                "the host, like 'dfwx.sxlib.org.cn' or '10.0.0.5', without "
                                "http://, port or path")
            out.append(host)
        return tuple(out)

    def networks(self, data: Any, where: str) -> tuple[str, ...]:
        """IP addresses or networks (127.0.0.1, 10.0.0.0/8, ::1), normalized."""
        out = []
        for i, raw in enumerate(self.sequence(data or [], where)):
            try:
                out.append(str(ipaddress.ip_network(str(raw).strip(), strict=False)))
            except ValueError:
                raise self.fail(f"{where}[{i}]", f"{raw!r} is not an IP address or network "
                                "— write e.g. '127.0.0.1' or '10.0.0.0/8'") from None
        return tuple(out)

    def offer(self, raw: Any) -> OfferConfig:
        d = self.mapping(raw, "offer", optional=("oai", "sru", "z3950", "admin_email"))
        defaults = OfferConfig()
        email = str(d.get("admin_email", ""))
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise self.fail("offer.admin_email", f"{email!r} is not an e-mail address")
        z3950 = d.get("z3950") or {}
        if isinstance(z3950, dict) and ({"networks", "per_minute"} & set(z3950)):
            raise self.fail("offer.z3950", "Zebra cannot keep Z39.50 to networks or count "
                            "requests per client: leave out networks/per_minute, listen on an "
                            "internal address (tongjian zserver --host) and restrict the port "
                            "in the firewall")
        return OfferConfig(**{name: self.endpoint(d[name], f"offer.{name}",
                                                  getattr(defaults, name))
                              for name in d if name != "admin_email"},
                           admin_email=email)

    def endpoint(self, raw: Any, where: str, default: Endpoint) -> Endpoint:
        d = self.mapping(raw, where, optional=("enabled", "networks", "per_minute", "port"))
        enabled = d.get("enabled", default.enabled)
        if not isinstance(enabled, bool):
            raise self.fail(where, f"enabled: {enabled!r} is not true or false")
        per_minute = d.get("per_minute", default.per_minute)
        if type(per_minute) is not int or per_minute < 1:
            raise self.fail(where, f"per_minute: {per_minute!r} is not a whole number ≥ 1 "
                            "(requests one client address may make per minute)")
        port = d.get("port", default.port)
        if type(port) is not int or not 0 <= port < 65536:
            raise self.fail(where, f"port: {port!r} is not a TCP port number")
        return Endpoint(enabled, self.networks(d.get("networks"), f"{where}.networks"),
                        per_minute, port)

    def choice(self, value: Any, allowed: tuple[str, ...], where: str) -> None:
        if value not in allowed:
            raise self.fail(where, f"{value!r} is not one of: {', '.join(allowed)}")

    @staticmethod
    def _entry(kind: str, i: int, raw: Any, key: str) -> str:
        name = raw.get(key) if isinstance(raw, dict) else None
        return f"{kind}[{i}] ({name})" if name else f"{kind}[{i}]"

    def library(self, raw: Any, i: int) -> Library:
        where = self._entry("libraries", i, raw, "code")
        d = self.mapping(raw, where, required=("code", "name", "region", "level"),
                         optional=("county", "address", "contact", "barcode_ranges",
                                   "reader_ranges"))
        if not _CODE.match(str(d["code"])):
            raise self.fail(where, "code must be 1–32 letters, digits, '-' or '_'")
        self.choice(d["level"], LEVELS, f"{where}.level")
        ranges = d.get("barcode_ranges", []) or []
        if not isinstance(ranges, list) or not all(
            isinstance(r, str) and r.count("-") == 1 for r in ranges
        ):
            raise self.fail(where, "barcode_ranges must be a list like ['XY0000001-XY0099999']")
        readers = self.reader_ranges(d.get("reader_ranges"), f"{where}.reader_ranges")
        return Library(code=str(d["code"]), name=str(d["name"]), region=str(d["region"]),
                       level=d["level"], county=str(d.get("county", "")),
                       address=str(d.get("address", "")), contact=str(d.get("contact", "")),
                       barcode_ranges=tuple(ranges), reader_ranges=readers)

    def reader_ranges(self, data: Any, where: str) -> tuple[str, ...]:
        """Card-number ranges 'FIRST-LAST': both ends the same length (a card number is
        compared as text of that length, so 0-padded numbers stay in order), FIRST ≤ LAST."""
        out = []
        for i, raw in enumerate(self.sequence(data or [], where)):
            first, _, last = str(raw).partition("-")
            if (not isinstance(raw, str) or not _CARD.fullmatch(first)
                    or not _CARD.fullmatch(last) or len(first) != len(last) or first > last):
                raise self.fail(f"{where}[{i}]", f"{raw!r} is not a card-number range — write "
                                "'FIRST-LAST' with both ends of the same length, like "
                                "'53260100000001-53260100999999'")
            out.append(f"{first}-{last}")
        return tuple(out)

    def source(self, raw: Any, i: int) -> Source:
        where = self._entry("sources", i, raw, "name")
        d = self.mapping(
            raw, where, required=("name", "library", "protocol", "address"),
            optional=("mode", "record_syntax", "format", "encoding", "database", "query",
                      "timeout", "batch_size", "holdings", "metadata_prefix", "set",
                      "schedule", "auth", "members", "deadline", "max_concurrent",
                      "availability_timeout", "request_deadline", "max_response_bytes",
                      "max_pages", "max_delete_share", "attribution"),
        )
        if not _CODE.match(str(d["name"])):
            raise self.fail(where, "name must be 1–32 letters, digits, '-' or '_'")
        self.choice(d["protocol"], PROTOCOLS, f"{where}.protocol")
        self.choice(d.get("mode", "harvest"), MODES, f"{where}.mode")
        self.choice(d.get("record_syntax", "usmarc"), SYNTAXES, f"{where}.record_syntax")
        self.choice(d.get("format", "auto"), FORMATS, f"{where}.format")
        self.choice(str(d.get("encoding", "auto")).lower(), ENCODINGS, f"{where}.encoding")
        timeout = d.get("timeout", 10.0)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise self.fail(where, f"timeout must be a positive number of seconds, not {timeout!r}")
        batch = d.get("batch_size", 50)
        if not isinstance(batch, int) or not 0 < batch <= 1000:
            raise self.fail(where, f"batch_size must be an integer 1–1000, not {batch!r}")
        deadline = d.get("deadline", 5.0)
        if not isinstance(deadline, int | float) or not 0 < deadline <= 60:
            raise self.fail(where, f"deadline must be 0–60 seconds, not {deadline!r}")
        max_concurrent = d.get("max_concurrent", 2)
        if not isinstance(max_concurrent, int) or not 1 <= max_concurrent <= 16:
            raise self.fail(where, "max_concurrent must be an integer 1–16 (searches sent to "
                            f"this server at once), not {max_concurrent!r}")
        availability_timeout = d.get("availability_timeout", 0.0)
        if not isinstance(availability_timeout, int | float) or not 0 <= availability_timeout <= 30:
            raise self.fail(where, "availability_timeout must be 0–30 seconds (0 = the 3 s "
                            f"default), not {availability_timeout!r}")
        request_deadline = d.get("request_deadline", 60.0)
        if (isinstance(request_deadline, bool) or not isinstance(request_deadline, int | float)
                or not 0 < request_deadline <= 3600):
            raise self.fail(where, "request_deadline must be 0–3600 seconds (the most one HTTP "
                            f"request may take, connect and all reads), not {request_deadline!r}")
        max_response_bytes = d.get("max_response_bytes", 50 * 1024 * 1024)
        if (isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int)
                or max_response_bytes < 1024):
            raise self.fail(where, "max_response_bytes must be a whole number of bytes ≥ 1024 "
                            f"(the largest HTTP answer read), not {max_response_bytes!r}")
        max_pages = d.get("max_pages", 100_000)
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
            raise self.fail(where, "max_pages must be a whole number ≥ 1 (pages of one listing "
                            f"per harvest run), not {max_pages!r}")
        schedule = d.get("schedule", 0)
        if not isinstance(schedule, int) or schedule < 0:
            raise self.fail(where, f"schedule must be whole minutes (0 = only by hand), not "
                            f"{schedule!r}")
        max_delete_share = d.get("max_delete_share", 0.10)
        if (isinstance(max_delete_share, bool) or not isinstance(max_delete_share, int | float)
                or not 0 <= max_delete_share <= 1):
            raise self.fail(where, "max_delete_share must be a share 0–1 of the source's "
                            "records a full harvest may delete unconfirmed (0.1 = 10 %), not "
                            f"{max_delete_share!r}")
        auth = self.auth(d.get("auth", {}), f"{where}.auth")
        members_raw = self.mapping(d.get("members", {}), f"{where}.members",
                                   optional=tuple(map(str, d.get("members", {}) or {})))
        members = tuple((str(k), str(v)) for k, v in members_raw.items())
        holdings = tuple(self.holdings(h, f"{where}.holdings[{k}]")
                         for k, h in enumerate(self.sequence(d.get("holdings", []) or [],
                                                             f"{where}.holdings")))
        return Source(
            name=str(d["name"]), library=str(d["library"]), protocol=d["protocol"],
            address=str(d["address"]), mode=d.get("mode", "harvest"),
            record_syntax=d.get("record_syntax", "usmarc"), format=d.get("format", "auto"),
            encoding=str(d.get("encoding", "auto")).lower(), database=str(d.get("database", "")),
            query=str(d.get("query", "")), timeout=float(timeout), batch_size=batch,
            holdings=holdings, metadata_prefix=str(d.get("metadata_prefix", "")),
            set=str(d.get("set", "")), schedule=schedule, auth=auth, members=members,
            deadline=float(deadline), max_concurrent=max_concurrent,
            availability_timeout=float(availability_timeout),
            request_deadline=float(request_deadline), max_response_bytes=max_response_bytes,
            max_pages=max_pages,
            max_delete_share=float(max_delete_share),
        )

    def auth(self, raw: Any, where: str) -> Auth:
        d = self.mapping(raw, where, optional=("user_env", "password_env", "client_id",
                                               "client_id_env", "client_secret_env"))
        for key, value in d.items():
            if key.endswith("_env") and not _ENV.match(str(value)):
                raise self.fail(where, f"{key} names an environment variable (like "
                                f"TONGJIAN_KOHA_SECRET), not {value!r} — secrets never go in "
                                "this file")
        return Auth(**{k: str(v) for k, v in d.items()})

    def holdings(self, raw: Any, where: str) -> HoldingsMap:
        d = self.mapping(raw, where, required=("tag",),
                         optional=("location", "call_number", "barcode", "status", "library"))
        tag = str(d["tag"])
        if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
            raise self.fail(where, f"tag {tag!r} must be three characters, e.g. '852'")
        for key in ("location", "call_number", "barcode", "status", "library"):
            spec = str(d.get(key, ""))
            if spec and not re.fullmatch(r"[0-9A-Za-z](/[0-9A-Za-z])?", spec):
                raise self.fail(where, f"{key} must be a subfield code like 'h', or two joined "
                                f"by '/' like 'd/e' (class/书次号), not {spec!r}")
        return HoldingsMap(tag=tag, **{k: str(v) for k, v in d.items() if k != "tag"})
