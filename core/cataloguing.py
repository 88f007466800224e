"""The `cataloguing:` part of config.yaml: how union-cataloguing work (联合编目) is counted
and reviewed, and each source's attribution rule.

Kept apart from `core.config` because it is the cataloguing centre's business, not the
harvest's: who is credited with a record (agency codes → member libraries), since when
work is counted (the consortium counts retro-conversion since 2007), which county pairs
review each other (县级馆互校; the cities' share follows from `region` and `level`), what
the centre samples, and the bar a member must clear to be ranked.  Parsing raises
ValueError with the key and the fix; `core.config` adds the file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The rules an attribution can use, in the order a source lists them (first that knows
#: wins): the record's own agency fields (CNMARC 801 $b, MARC 21 040 $a/$c/$d), the
#: library holding its copies, the source's owner.
ATTRIBUTION_RULES = ("record", "holdings", "source")
DEFAULT_ORDER = ATTRIBUTION_RULES
_MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
_SUBFIELD = re.compile(r"^(\d{3})\$([0-9a-zA-Z])$")
#: A MARC subfield: (tag, code), e.g. ("998", "a"); ("", "") = none configured.
Subfield = tuple[str, str]
NO_FIELD: Subfield = ("", "")


@dataclass(frozen=True)
class Attribution:
    """One source's attribution: the rule order and the agency table (shared by all
    sources; every library's own code and name are in it without being listed)."""

    order: tuple[str, ...] = DEFAULT_ORDER
    agencies: tuple[tuple[str, str], ...] = ()
    # The local fields naming the cataloguer (a person) — CNMARC 801 and MARC 21 040
    # name agencies only, and no field is standard (`Cataloguing.cataloguers`).
    cataloguer_field: Subfield = NO_FIELD  # who made the record
    modifier_field: Subfield = NO_FIELD  # who changed it (repeatable: the last is latest)

    def library_for(self, agency: str) -> str:
        """The member library an agency code or name stands for ('' when none)."""
        wanted = agency.strip().casefold()
        if not wanted:
            return ""
        for code, library in self.agencies:
            if code.casefold() == wanted:
                return library
        return ""


@dataclass(frozen=True)
class Cataloguing:
    start: str = "2007-01"  # YYYY-MM: totals count from here
    centre: str = ""  # the reviewing centre's library (default: the province library)
    agencies: tuple[tuple[str, str], ...] = ()  # agency code → library code
    sample: float = 1.0  # share of every member's new records on the centre's list
    peers: tuple[tuple[str, str], ...] = ()  # county pairs reviewing each other
    pinyin_required: tuple[str, ...] = ()  # libraries that must give 200$A/$9; "*" = all
    rank_max_rate: float = 30.0  # problems per 1,000 records a ranked member may have
    rank_top: int = 3  # how many are named 先进集体
    rank_top_cataloguers: int = 5  # how many are named 优秀编目员
    # source name → (catalogued-by subfield, modified-by subfield): where a source's
    # records name the person, e.g. {"union-symphony": (("998", "a"), ("998", "b"))}.
    cataloguers: tuple[tuple[str, tuple[Subfield, Subfield]], ...] = ()

    def cataloguer_fields(self, source: str) -> tuple[Subfield, Subfield]:
        return dict(self.cataloguers).get(source, (NO_FIELD, NO_FIELD))

    def requires_pinyin(self, library: str) -> bool:
        return "*" in self.pinyin_required or library in self.pinyin_required


def parse(raw: Any, libraries: Mapping[str, Any]) -> Cataloguing:
    """The `cataloguing:` mapping → Cataloguing; ValueError names the key and the fix."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError("cataloguing: expected a mapping (key: value)")
    allowed = {"start", "centre", "agencies", "sample", "peers", "pinyin_required",
               "rank_max_rate", "rank_top", "rank_top_cataloguers", "cataloguers"}
    for key in raw:
        if key not in allowed:
            raise ValueError(f"cataloguing: unknown key {key!r} — allowed keys: "
                             f"{', '.join(sorted(allowed))}")

    def known(code: Any, where: str) -> str:
        if str(code) not in libraries:
            raise ValueError(f"cataloguing.{where}: {code!r} is not a library code defined "
                             "under `libraries:`")
        return str(code)

    start = str(raw.get("start", "2007-01"))
    if not _MONTH.match(start):
        raise ValueError(f"cataloguing.start: {start!r} is not a month like '2007-01'")
    centre = raw.get("centre")
    if centre is None:
        centre = next((c for c, lib in libraries.items()
                       if getattr(lib, "level", "") == "province"), "")
    else:
        centre = known(centre, "centre")
    agencies_raw = raw.get("agencies") or {}
    if not isinstance(agencies_raw, dict):
        raise ValueError("cataloguing.agencies: expected a mapping of agency code (801 $b, "
                         "040 $a) → library code, e.g. {\"611001\": SXPL}")
    agencies = tuple((str(k), known(v, f"agencies[{k}]")) for k, v in agencies_raw.items())
    sample = raw.get("sample", 1.0)
    if isinstance(sample, bool) or not isinstance(sample, int | float) or not 0 < sample <= 1:
        raise ValueError(f"cataloguing.sample: {sample!r} is not a share 0–1 of the new "
                         "records the centre reviews (1 = every record)")
    peers = []
    for i, pair in enumerate(raw.get("peers") or []):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"cataloguing.peers[{i}]: expected a pair of library codes, "
                             "like [LQLIB, SYLIB]")
        peers.append((known(pair[0], f"peers[{i}]"), known(pair[1], f"peers[{i}]")))
    pinyin = raw.get("pinyin_required") or []
    if not isinstance(pinyin, list):
        raise ValueError("cataloguing.pinyin_required: expected a list of library codes "
                         "(or ['*'] for every member)")
    pinyin_codes = tuple(p if p == "*" else known(p, "pinyin_required") for p in map(str, pinyin))
    rate = raw.get("rank_max_rate", 30.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
        raise ValueError(f"cataloguing.rank_max_rate: {rate!r} is not a number of problems "
                         "per 1,000 records ≥ 0")
    tops = []
    for key, default in (("rank_top", 3), ("rank_top_cataloguers", 5)):
        top = raw.get(key, default)
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ValueError(f"cataloguing.{key}: {top!r} is not a whole number ≥ 1")
        tops.append(top)
    return Cataloguing(start=start, centre=str(centre), agencies=agencies, sample=float(sample),
                       peers=tuple(peers), pinyin_required=pinyin_codes,
                       rank_max_rate=float(rate), rank_top=tops[0],
                       rank_top_cataloguers=tops[1],
                       cataloguers=_cataloguers(raw.get("cataloguers")))


def _cataloguers(raw: Any) -> tuple[tuple[str, tuple[Subfield, Subfield]], ...]:
    """`cataloguers:` {source name: {catalogued: "998$a", modified: "998$b"}}; the source
    names are checked against `sources:` by `core.config`."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ValueError("cataloguing.cataloguers: expected a mapping of source name → "
                         "{catalogued: \"998$a\", modified: \"998$b\"} (the local subfields "
                         "naming the cataloguer)")
    out = []
    for source, spec in raw.items():
        where = f"cataloguing.cataloguers[{source}]"
        if not isinstance(spec, dict) or not spec or set(spec) - {"catalogued", "modified"}:
            raise ValueError(f"{where}: expected {{catalogued: \"998$a\", modified: "
                             "\"998$b\"}} (either or both)")
        fields = []
        for role in ("catalogued", "modified"):
            value = spec.get(role)
            if value is None:
                fields.append(NO_FIELD)
                continue
            m = _SUBFIELD.match(str(value))
            if not m or m.group(1) < "010":
                raise ValueError(f"{where}.{role}: {value!r} is not a data field's subfield "
                                 "like \"998$a\" (tag 010–999, $ and one subfield code)")
            fields.append((m.group(1), m.group(2)))
        out.append((str(source), (fields[0], fields[1])))
    return tuple(out)


def attribution(order: Any, cataloguing: Cataloguing, libraries: Mapping[str, Any],
                source: str = "") -> Attribution:
    """A source's `attribution:` list (None: the default order) with the agency table:
    the configured agencies first, then every library's code and name; and the source's
    cataloguer fields, if `cataloguing.cataloguers` names it."""
    if order is None:
        rules: tuple[str, ...] = DEFAULT_ORDER
    else:
        if not isinstance(order, list) or not order:
            raise ValueError("attribution: expected a list of rules, some of "
                             f"{', '.join(ATTRIBUTION_RULES)}, first that knows wins")
        for rule in order:
            if rule not in ATTRIBUTION_RULES:
                raise ValueError(f"attribution: {rule!r} is not one of "
                                 f"{', '.join(ATTRIBUTION_RULES)}")
        rules = tuple(order)
        if "source" not in rules:
            rules = (*rules, "source")  # the clear fallback: never unattributed
    table = list(cataloguing.agencies)
    for code, lib in libraries.items():
        table.append((code, code))
        name = getattr(lib, "name", "")
        if name:
            table.append((name, code))
    made, changed = cataloguing.cataloguer_fields(source)
    return Attribution(order=rules, agencies=tuple(table), cataloguer_field=made,
                       modifier_field=changed)
