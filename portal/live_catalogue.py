"""Live records joined to the catalogue by the harvest's own matcher.

A live source (``mode: live``) is searched at query time and never harvested.  Its records
go through the harvest's crosswalk (the broadcast normalizes with ``from_raw``), and here
through the harvest's matcher: each record is looked up in the index by its match keys —
every ISBN, and its title — the candidate entries' records are read from the store, and
`harvest.matching.cluster_detailed` clusters them together with the live records, exactly
as a harvest would.  A live record that lands in a catalogue entry's cluster *is* that
book: it adds its library's holding to that entry wherever the entry is shown (the result
list, the record page, other editions, the ILL matrix), marked live.  One that lands in no
entry is a live-only book with an id of its own (``live-…``) and a record page built from
the live records.

Live records are kept for ``ttl`` seconds (30 minutes) after they were last seen, and at
most ``max_records`` of them: a reader following a hit to its record page, or a librarian
running the ILL matrix after a search, sees what the live search found; after that the
live source is asked again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from core.model import Record
from harvest.matching import MatchRecord, cluster_detailed, title_key
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest

log = logging.getLogger(__name__)

LIVE_PREFIX = "live-"
DEFAULT_TTL = 1800.0
MAX_RECORDS = 10_000
ISBN_CANDIDATES = 10  # entries read per ISBN of a live record
TITLE_CANDIDATES = 10  # entries read per title of a live record
MAX_TITLE_CHARS = 80  # a longer title is cut for the candidate search only


def is_live_id(entry_id: str) -> bool:
    return entry_id.startswith(LIVE_PREFIX)


@dataclass
class _Seen:
    record: Record
    entry: str  # a catalogue cluster id, or a live-only id
    expires: float


def candidate_entries(backend: SearchBackend, record: Record) -> list[str]:
    """Index entries the record could be: those sharing an ISBN, and the best title hits.
    Blocking (index searches).  A title the engine cannot search (remote data may hold
    anything) only costs that look-up: the record is still matched by its ISBNs."""
    requests = [SearchRequest(q=isbn, field="isbn", page_size=ISBN_CANDIDATES)
                for isbn in record.isbn[:5]]
    title = " ".join(record.title.split())[:MAX_TITLE_CHARS]
    if title and any(ch.isalnum() for ch in title):
        requests.append(SearchRequest(q=title, field="title", page_size=TITLE_CANDIDATES))
    ids: dict[str, None] = {}
    for request in requests:
        try:
            ids.update(dict.fromkeys(h.id for h in backend.search(request).hits))
        except Exception:  # noqa: BLE001 - one failed look-up must not lose the record
            log.warning("live catalogue: %s: look-up %r failed", record.key, request.q,
                        exc_info=True)
    return list(ids)


class LiveCatalogue:
    """Every live record recent searches found, with the entry the matcher put it in.

    Shared by all live searches of one portal and read by every view; safe across the
    event loop and the worker threads."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_records: int = MAX_RECORDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_records, self.clock = ttl, max_records, clock
        self._seen: OrderedDict[str, _Seen] = OrderedDict()  # oldest first
        # entry → its live record keys: every search page asks for its hits' live copies,
        # so that look-up must not scan every live record.
        self._by_entry: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    # -- keeping (under the lock) -----------------------------------------------------
    def _drop(self, key: str) -> None:
        seen = self._seen.pop(key)
        keys = self._by_entry[seen.entry]
        keys.discard(key)
        if not keys:
            del self._by_entry[seen.entry]

    def _keep(self, key: str, seen: _Seen) -> None:
        if key in self._seen:
            self._drop(key)
        self._seen[key] = seen
        self._by_entry.setdefault(seen.entry, set()).add(key)
        while len(self._seen) > self.max_records:
            self._drop(next(iter(self._seen)))

    def _expire(self) -> None:
        """Drop what has expired: the oldest first, so this stops at the first live one
        (every record kept in one call gets the same expiry, and later calls later ones)."""
        now = self.clock()
        while self._seen:
            key, seen = next(iter(self._seen.items()))
            if seen.expires > now:
                return
            self._drop(key)

    # -- reading -----------------------------------------------------------------------
    def entry_of(self, key: str) -> str | None:
        with self._lock:
            self._expire()
            seen = self._seen.get(key)
            return seen.entry if seen is not None else None

    def records_for(self, entry_id: str) -> list[Record]:
        """The live records of an entry (a catalogue entry's live copies, or the records
        of a live-only entry), in key order."""
        return self.entries_with_live([entry_id]).get(entry_id, [])

    def entries_with_live(self, entry_ids: Iterable[str]) -> dict[str, list[Record]]:
        """{entry id: its live records} for those of `entry_ids` that have any."""
        with self._lock:
            self._expire()
            return {entry: [self._seen[k].record for k in sorted(keys)]
                    for entry in dict.fromkeys(entry_ids)
                    if (keys := self._by_entry.get(entry))}

    def _live_only(self) -> list[Record]:
        with self._lock:
            self._expire()
            return [s.record for s in self._seen.values() if is_live_id(s.entry)]

    # -- resolving ---------------------------------------------------------------------
    def resolve(self, records: Sequence[Record], backend: SearchBackend,
                store: RecordStore) -> dict[str, str]:
        """Blocking: put each record in its entry (or a live-only one) and keep it.
        Returns {record key: entry id} for the given records."""
        if not records:
            return {}
        live = {r.key: r for r in records}
        # Live-only records kept from earlier searches may be the same book as a new one
        # (two live libraries, or the same library in two searches): cluster them too.
        keys = {title_key(r.title) for r in records} - {""}
        isbns = {i for r in records for i in r.isbn}
        for r in self._live_only():
            if r.key not in live and (title_key(r.title) in keys or isbns.intersection(r.isbn)):
                live[r.key] = r
        entries: dict[str, str] = {}  # catalogue record key -> its cluster id
        catalogue: list[Record] = []
        for cid in dict.fromkeys(c for r in records for c in candidate_entries(backend, r)):
            for rec in store.cluster(cid):
                if rec.key not in entries and rec.key not in live:
                    entries[rec.key] = cid
                    catalogue.append(rec)
        splits, _merges = store.links()
        in_play = set(entries)
        cannot = {pair for pair in splits if pair <= in_play}
        # Different catalogue entries stay apart here: this run only decides where the
        # live records go, never re-merges what the harvest (and librarians) decided.
        by_entry: dict[str, list[str]] = {}
        for key, cid in entries.items():
            by_entry.setdefault(cid, []).append(key)
        anchors = [keys_[0] for keys_ in by_entry.values()]
        cannot |= {frozenset((a, b)) for i, a in enumerate(anchors) for b in anchors[i + 1:]}
        must = {frozenset((keys_[0], k)) for keys_ in by_entry.values() for k in keys_[1:]}
        result = cluster_detailed([MatchRecord.from_record(r) for r in [*catalogue,
                                                                        *live.values()]],
                                  cannot_link=cannot, must_link=must)
        group_entry: dict[str, str] = {}
        for key, cid in entries.items():
            group_entry.setdefault(result.clusters[key], cid)
        expires = self.clock() + self.ttl
        out: dict[str, str] = {}
        with self._lock:
            for key, record in live.items():
                group = result.clusters[key]
                out[key] = group_entry.get(group, LIVE_PREFIX + group)
                self._keep(key, _Seen(record, out[key], expires))
        return {k: out[k] for k in (r.key for r in records)}


__all__ = ["LIVE_PREFIX", "LiveCatalogue", "candidate_entries", "is_live_id"]
