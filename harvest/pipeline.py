"""Harvest: source → raw records → decode → crosswalk → store, then merge and index.

A broken record is quarantined with its bytes and reason and the harvest goes on; a source
that fails is recorded as failing (the portal shows it) and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.base import ConnectorError, HarvestConnector, RawRecord
from harvest.crosswalk import from_raw
from harvest.marc import RecordError
from harvest.merge import assign_clusters
from harvest.store import RecordStore
from index.backend import SearchBackend
from index.documents import cluster_document
from tongjian.config import Config, Source
from tongjian.progress import Progress


@dataclass
class HarvestStats:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged

    def as_counts(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "quarantined": self.quarantined}


def ingest(source: Source, raws: Iterable[RawRecord], store: RecordStore,
           stats: HarvestStats, progress: Progress | None = None,
           seen: set[str] | None = None) -> None:
    """Decode, crosswalk and store each raw record; quarantine what cannot be read."""
    seen = seen if seen is not None else set()
    for raw in raws:
        if progress:
            progress.advance()
        try:
            record = from_raw(raw, source)
        except RecordError as e:
            store.quarantine(source.name, raw.position, str(e), raw.data, raw.record_id)
            stats.quarantined += 1
            continue
        if record.key in seen:
            store.quarantine(source.name, raw.position,
                             f"duplicate record id {record.source_id!r} in this source — the "
                             "first record with this id was kept; fix 001 in the source",
                             raw.data, record.source_id)
            stats.quarantined += 1
            continue
        seen.add(record.key)
        outcome = store.put(record, raw.data, raw.syntax)
        setattr(stats, outcome, getattr(stats, outcome) + 1)
        if stats.seen % 500 == 0:
            store.commit()
    store.commit()


def harvest_source(source: Source, connector: HarvestConnector, store: RecordStore,
                   show_progress: bool = True) -> HarvestStats:
    """Full harvest of one source.  Records the source no longer returns are deleted,
    but only after a complete run — a harvest cut short must never delete anything."""
    stats = HarvestStats(source.name)
    started = time.monotonic()
    run = store.start_harvest(source.name)
    store.clear_quarantine(source.name)
    progress = Progress(source.name) if show_progress else None
    seen: set[str] = set()

    def on_error(position: int, reason: str) -> None:
        store.quarantine(source.name, position, f"server could not deliver record: {reason}",
                         b"")
        stats.quarantined += 1

    error: str | None = None
    try:
        ingest(source, connector.harvest(on_error=on_error), store, stats, progress, seen)
    except ConnectorError as e:
        error = str(e)
        stats.errors.append(error)
        store.commit()
    finally:
        connector.close()
    if error is None:
        for key in store.keys(source.name) - seen:
            store.delete(key)
            stats.deleted += 1
        store.commit()
    if progress:
        progress.done()
    stats.seconds = time.monotonic() - started
    store.finish_harvest(run, stats.as_counts(), error)
    return stats


def rebuild_index(store: RecordStore, backend: SearchBackend, config: Config,
                  show_progress: bool = True) -> int:
    """Re-merge every record and rebuild the index from the store alone."""
    assignment = assign_clusters(store.records())
    store.set_clusters(assignment.items())
    store.commit()
    backend.clear()
    progress = Progress("index", unit="entries") if show_progress else None
    docs = 0

    def documents() -> Iterable[dict]:
        nonlocal docs
        for cluster_id, records in store.clusters():
            docs += 1
            if progress:
                progress.advance()
            yield cluster_document(cluster_id, records, config.libraries)

    backend.add(documents())
    backend.commit()
    if progress:
        progress.done()
    return docs
