"""What the portal reads from the record store: merged entries and harvest status.

Shared by the record page and `/api/records/{id}`, and by the status line and
`/api/sources`, for the same reason `query` is shared: one path, one truth.  Every
function here is blocking (SQLite) and runs on the portal's worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from core.config import Config, Library
from core.entry import entry_holdings, library_copies
from core.model import Record
from harvest.matching import MatchRecord, cluster_detailed, evidence
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from index.documents import best_record
from portal.labels import LEVEL_RANK
from portal.query import LiveRecords

# China has one time zone and no daylight saving, so a fixed offset is exact and needs no
# tz database on the server.
BEIJING = timezone(timedelta(hours=8), "北京时间")
UNKNOWN_REGION = "其他"
MAX_ISBNS = 5  # ISBNs of an entry looked up for entries kept apart
KEPT_APART = 10  # entries read per ISBN

#: Record fields kept off the public record page and its JSON: staff names.
STAFF_ONLY = frozenset({"cataloguer", "modifier"})


def iso_time(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, BEIJING).isoformat(timespec="seconds") if ts else None


def local_time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M") if ts else "—"


def holdings_rows(records: list[Record], libraries: dict[str, Library],
                  live: Sequence[Record] = ()) -> list[dict[str, Any]]:
    """Every row of the entry (`core.entry.entry_holdings`), ordered region by region,
    bigger libraries first.

    Regions are ordered by their highest-level library, so the provincial library's city
    comes first and a region with only county libraries after the city ones; a library code
    missing from config (removed since the harvest) still shows, under 其他, at the end.
    """
    rows: list[dict[str, Any]] = []
    for h in entry_holdings(records, live):
        lib = libraries.get(h.library)
        rows.append({
            "record": h.record,
            "index": h.index,
            "library": h.library,
            "name": lib.name if lib else h.library,
            "region": lib.region if lib else UNKNOWN_REGION,
            "county": lib.county if lib else "",
            "location": h.location,
            "call_number": h.call_number,
            "barcode": h.barcode,
            "status": h.status,
            "copies": h.copies,
            "note": h.note,
            "online_url": h.online_url,
            "live": h.live,
            "_rank": LEVEL_RANK.get(lib.level, 9) if lib else 10,
        })
    region_rank: dict[str, int] = {}
    for row in rows:
        region_rank[row["region"]] = min(region_rank.get(row["region"], 99), row["_rank"])
    rows.sort(key=lambda r: (region_rank[r["region"]], r["region"], r["_rank"], r["name"],
                             r["live"], r["location"], r["call_number"], r["barcode"],
                             r["record"], r["index"]))
    for row in rows:
        del row["_rank"]
    return rows


def entry_data(entry_id: str, records: list[Record], live: Sequence[Record], config: Config,
               editions: list[dict[str, Any]],
               kept_apart: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The `/api/records/{id}` body of an entry from its records (catalogue, live or both)."""
    everything = [*records, *live]
    live_keys = {r.key for r in live}
    best = best_record(everything, config.libraries)
    return {
        "id": entry_id,
        "live_only": not records,
        # the cataloguer's name is the cataloguing centre's business, not the public's
        "record": {k: v for k, v in best.to_dict().items() if k not in STAFF_ONLY},
        "holdings": holdings_rows(records, config.libraries, live),
        "sources": [{"source": r.source, "source_id": r.source_id, "library": r.library,
                     "live": r.key in live_keys, "catalogued_by": r.catalogued_by,
                     "modified_by": r.modified_by, "attributed_from": r.attributed_from}
                    for r in everything],
        "merge": merge_evidence(everything),
        "kept_apart": kept_apart or [],
        "other_editions": editions,
    }


def record_data(cluster_id: str, store: RecordStore, config: Config,
                live: LiveRecords | None = None,
                backend: SearchBackend | None = None) -> dict[str, Any] | None:
    """The `/api/records/{id}` body of a catalogue entry, with the live copies recent live
    searches joined to it (and to its other editions); None when the entry does not exist
    (any more)."""
    records = store.cluster(cluster_id)
    if not records:
        return None
    joined = live([cluster_id]) if live is not None else {}
    kept_apart = same_isbn_kept_apart(store, backend, cluster_id, records) if backend else []
    return entry_data(cluster_id, records, joined.get(cluster_id, ()), config,
                      other_editions(store, cluster_id, live), kept_apart)


def same_isbn_kept_apart(store: RecordStore, backend: SearchBackend, cluster_id: str,
                         records: list[Record]) -> list[dict[str, Any]]:
    """Other entries carrying one of this entry's ISBNs, with the matcher's reasons for
    keeping them apart — one ISBN reused for different books (一号多书), a reprint years
    later, another volume of a set.  A librarian sees at once why they are not one."""
    out: list[dict[str, Any]] = []
    seen = {cluster_id}
    for isbn in list(dict.fromkeys(i for r in records for i in r.isbn))[:MAX_ISBNS]:
        mine = next(r for r in records if isbn in r.isbn)
        result = backend.search(SearchRequest(q=isbn, field="isbn", page_size=KEPT_APART))
        for hit in result.hits:
            if hit.id in seen:
                continue
            seen.add(hit.id)
            theirs = next((r for r in store.cluster(hit.id) if isbn in r.isbn), None)
            if theirs is None:
                continue
            out.append({"id": hit.id, "isbn": isbn, "title": theirs.title,
                        "authors": [a.name for a in theirs.authors if a.name],
                        "year": theirs.year,
                        "evidence": evidence(MatchRecord.from_record(mine),
                                             MatchRecord.from_record(theirs))})
    return out


def merge_evidence(records: list[Record]) -> list[dict[str, Any]]:
    """Why these records are one entry: the links the matcher made, each with its reasons —
    the same code that decided, so a librarian reads exactly what the merge used."""
    if len(records) < 2:
        return []
    matches = {r.key: MatchRecord.from_record(r) for r in records}
    result = cluster_detailed(list(matches.values()))
    return [{"a": a, "b": b, "rule": rule, "evidence": evidence(matches[a], matches[b])}
            for a, b, rule in result.edges if a in matches and b in matches]


def other_editions(store: RecordStore, cluster_id: str,
                   live: LiveRecords | None = None) -> list[dict[str, Any]]:
    """Other editions of the work, each with its holding libraries counted as the list
    and the record page count them (`core.entry`, live copies included)."""
    out = []
    others = store.other_editions(cluster_id)
    joined = live(others) if live is not None else {}
    for other in others:
        records = store.cluster(other)
        if records:
            r = max(records, key=lambda x: (x.year or 0, x.key))
            out.append({"id": other, "title": r.title, "edition": r.edition, "year": r.year,
                        "publisher": r.publisher,
                        "libraries": len(library_copies(entry_holdings(
                            records, joined.get(other, ()))))})
    return out


def _run(run: dict[str, object] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    out: dict[str, Any] = {k: run.get(k) for k in
                           ("new", "updated", "unchanged", "deleted", "quarantined", "error")}
    out["started"] = iso_time(run.get("started"))  # type: ignore[arg-type]
    out["finished"] = iso_time(run.get("finished"))  # type: ignore[arg-type]
    return out


def sources_status(store: RecordStore, config: Config) -> list[dict[str, Any]]:
    """One entry per configured source, so a source that never ran shows up too.

    A run that started but has not finished (in progress, or the harvester died) counts
    as "ok": only a recorded error marks a source as failing.
    """
    last = store.last_harvests()
    counts = store.counts()
    out = []
    for source in config.sources:
        run = last.get(source.name)
        held = counts.get(source.name, {})
        status = ("never harvested" if run is None
                  else "failing" if run.get("error") else "ok")
        lib = config.libraries.get(source.library)
        out.append({
            "name": source.name,
            "library": source.library,
            "library_name": lib.name if lib else source.library,
            "protocol": source.protocol,
            "mode": source.mode,
            "last_harvest": _run(run),
            "records": held.get("records", 0),
            "quarantined": held.get("quarantined", 0),
            "status": status,
        })
    return out


def failing_sources(store: RecordStore, config: Config) -> list[dict[str, str]]:
    """For the status line on every page: which sources are down, since when, and why."""
    failing = []
    last = store.last_harvests()
    for source in config.sources:
        run = last.get(source.name)
        if not run or not run.get("error"):
            continue
        lib = config.libraries.get(source.library)
        error = " ".join(str(run["error"]).split())
        when = run.get("finished") or run.get("started")
        failing.append({
            "name": source.name,
            "library_name": lib.name if lib else source.library,
            "when": local_time(when),  # type: ignore[arg-type]
            "error": error if len(error) <= 120 else error[:120] + "…",
        })
    return failing


def holdings_total(store: RecordStore) -> int:
    return sum(c.get("records", 0) for c in store.counts().values())
