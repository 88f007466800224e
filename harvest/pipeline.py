"""Harvest: source → raw records → decode → crosswalk → store, then merge and index.

A broken record is quarantined with its bytes and reason and the harvest goes on; a source
that fails is recorded as failing (the portal shows it) and never stops the others.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.base import Checkpoint, ConnectorError, HarvestConnector, RawRecord
from core.config import Config, Source
from core.progress import Progress
from harvest import lineage
from harvest.cataloguing_review import notice_changes
from harvest.crosswalk import from_raw
from harvest.marc import RecordError
from harvest.merge import MergeOutcome, merge_store
from harvest.store import RecordStore, duplicate_reason
from index import marker
from index.backend import SearchBackend
from index.documents import cluster_document

log = logging.getLogger(__name__)


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
    mode: str = "full"  # full | incremental | resumed
    complete: bool = False
    # The mass-deletion guard: records a complete full run would have deleted but did not
    # (more than the source's `max_delete_share`, or the run saw nothing), and why.
    held_deletions: int = 0
    notice: str = ""
    # What the index must hear about: records written, and clusters that lost a record.
    touched: set[str] = field(default_factory=set)
    emptied: set[str] = field(default_factory=set)

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged

    def as_counts(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "quarantined": self.quarantined}


#: How a held sweep is told in `harvests.error` (the run table, the admin page and
#: /metrics read it back with `held_deletions`); no table changes for the guard.
HELD_PREFIX = "deletions held: "
_HELD = re.compile(r"^deletions held: would delete (\d+) of (\d+) records")


def held_deletions(error: str | None) -> int:
    """Records a held sweep kept, from a run's `harvests.error` text (0: not held)."""
    match = _HELD.match(error or "")
    return int(match.group(1)) if match else 0


def held_notice(name: str, doomed: int, held: int, share: float) -> str:
    allowed = f"{share * 100:g} %"
    why = ("the run saw no records at all" if doomed == held else
           f"more than the {allowed} allowed")
    return (f"{HELD_PREFIX}would delete {doomed} of {held} records "
            f"({doomed / held * 100 if held else 0:.0f} %) — {why}; nothing deleted. "
            f"Check the source, then run `tongjian harvest {name} --full --confirm-deletions` "
            "or press 确认删除 on /admin")


class _Run:
    """One harvest run of one source: applies a connector's stream to the store."""

    def __init__(self, source: Source, store: RecordStore, stats: HarvestStats, run: int,
                 full: bool, progress: Progress | None) -> None:
        self.source, self.store, self.stats = source, store, stats
        self.run, self.full, self.progress = run, full, progress
        self.seen: set[str] = set()

    def quarantine(self, position: int, reason: str, raw: bytes, record_id: str = "") -> None:
        """Keep the record's bytes with the reason, and say so in the log: one event per
        record, with the source and record ids a log collector can filter on."""
        self.store.quarantine(self.source.name, position, reason, raw, record_id)
        self.stats.quarantined += 1
        log.warning("%s: record %s quarantined: %s", self.source.name,
                    record_id or f"#{position}", reason,
                    extra={"source": self.source.name, "record": record_id or f"#{position}"})

    def on_error(self, position: int, reason: str) -> None:
        self.quarantine(position, f"server could not deliver record: {reason}", b"")

    def apply(self, item: RawRecord | Checkpoint) -> None:
        if isinstance(item, Checkpoint):
            self.store.save_checkpoint(self.source.name, item.state, item.final, self.run,
                                       self.full)
            total = item.state.get("hits") or item.state.get("total")
            if self.progress and isinstance(total, int) and self.stats.mode != "resumed":
                self.progress.total = total  # now the progress line can show an ETA
            self.store.commit()  # records and checkpoint land together, or not at all
            self.stats.complete = item.final
            return
        if self.progress:
            self.progress.advance()
        if item.deleted:
            self.delete(f"{self.source.name}:{item.record_id}")
        else:
            self.ingest(item)

    def delete(self, key: str) -> None:
        cluster = self.store.delete(key)
        if cluster is not None:
            self.stats.deleted += 1
            self.stats.emptied.add(cluster)

    def ingest(self, raw: RawRecord) -> None:
        try:
            record = from_raw(raw, self.source)
        except RecordError as e:
            self.quarantine(raw.position, str(e), raw.data, raw.record_id)
            return
        if record.key in self.seen:
            self.quarantine(raw.position, duplicate_reason(record.source_id), raw.data,
                            record.source_id)
            return
        self.seen.add(record.key)
        outcome = self.store.put(record, raw.data, raw.syntax, self.run)
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        if outcome != "unchanged":
            self.stats.touched.add(record.key)

    def sweep(self, confirmed: bool = False) -> None:
        """After a complete full run: what the source no longer has is deleted — unless
        that is more than the source's `max_delete_share` of its records, or the run saw
        none at all (a server that answers an empty result set, an OAI-PMH list cut
        short): then nothing is deleted and the run says so (`stats.notice`) until a
        confirmed full run (`confirmed`) deletes what that run did not see."""
        doomed = self.store.unseen(self.source.name, self.run)
        held = len(self.store.keys(self.source.name))
        if doomed and not confirmed and (
                self.stats.seen == 0
                or len(doomed) > self.source.max_delete_share * held):
            self.stats.held_deletions = len(doomed)
            self.stats.notice = held_notice(self.source.name, len(doomed), held,
                                            self.source.max_delete_share)
            log.warning("%s: %s", self.source.name, self.stats.notice,
                        extra={"source": self.source.name})
            return
        for key in doomed:
            self.delete(key)
        self.store.commit()


def ingest(source: Source, raws: Iterable[RawRecord], store: RecordStore,
           stats: HarvestStats) -> None:
    """Store a batch of raw records outside any harvest run (files, tests)."""
    run = _Run(source, store, stats, run=0, full=False, progress=None)
    for raw in raws:
        run.apply(raw)
    store.commit()


def _pending_hold(store: RecordStore, name: str) -> str:
    """The held-deletions notice still waiting for confirmation: that of the latest
    finished run that either held its sweep or ended well (failed runs in between, which
    could not sweep, do not forget it)."""
    for run in store.harvest_runs(name, limit=50):
        if run["finished"] is None:
            continue
        if held_deletions(run["error"]):
            return str(run["error"])
        if not run["error"]:
            return ""
    return ""


def harvest_source(source: Source, connector: HarvestConnector, store: RecordStore,
                   full: bool = False, show_progress: bool = True,
                   confirm_deletions: bool = False) -> HarvestStats:
    """Harvest one source: resume an interrupted run, else fetch what changed since the
    last complete run (or everything, for sources that cannot say what changed).

    Records are committed together with the connector's checkpoints, so a harvest killed
    at any moment resumes where it stopped and stores every record exactly once.  Records
    the source no longer returns are deleted only after a complete full run — a harvest
    cut short never deletes anything, and a full run that would delete more than the
    source's `max_delete_share` (or saw nothing) holds its deletions (`_Run.sweep`).

    `confirm_deletions`: a full run (implied) whose sweep deletes whatever it did not see,
    however much — how a held sweep is confirmed, against the source as it is now.  Until
    then every later run (incremental ones too) carries the held notice forward.
    """
    full = full or confirm_deletions
    stats = HarvestStats(source.name)
    pending = _pending_hold(store, source.name)
    started = time.monotonic()
    saved = None if full else store.checkpoint(source.name)
    state: dict | None = None
    if saved is not None and not saved.final:
        stats.mode, state, run_id, is_full = "resumed", saved.state, saved.run, saved.full
    else:
        run_id = store.start_harvest(source.name)
        if saved is not None and connector.incremental:
            stats.mode, state, is_full = "incremental", saved.state, False
        else:
            stats.mode, is_full = "full", True
            store.clear_quarantine(source.name)
    progress = Progress(f"{source.name} ({stats.mode})") if show_progress else None
    run = _Run(source, store, stats, run_id, is_full, progress)
    error: str | None = None
    try:
        for item in connector.harvest(state=state, on_error=run.on_error):
            run.apply(item)
    except ConnectorError as e:
        error = str(e)
        stats.errors.append(error)
    finally:
        store.commit()
        connector.close()
    if stats.complete and is_full:
        run.sweep(confirmed=confirm_deletions)
    elif pending and error is None:  # the held sweep still waits for its confirmation
        stats.held_deletions, stats.notice = held_deletions(pending), pending
    if progress:
        progress.done()
    stats.seconds = time.monotonic() - started
    store.finish_harvest(run_id, stats.as_counts(), error or stats.notice or None)
    if stats.new or stats.updated:
        notice_changes(store)  # review problems whose record changed: confirm the fix
    return stats


def update_index(store: RecordStore, backend: SearchBackend, config: Config,
                 touched: Iterable[str] = (), emptied: Iterable[str] = ()) -> int:
    """Re-merge and re-index only the entries a harvest changed.

    The merge re-judges only the records the changes can affect (`merge_store`; in full
    when it must); then `reindex_entries`.  Returns the number of index entries rewritten
    or removed.
    """
    return reindex_entries(store, backend, config, merge_store(store), touched, emptied)


def reindex_entries(store: RecordStore, backend: SearchBackend, config: Config,
                    outcome: MergeOutcome, touched: Iterable[str] = (),
                    emptied: Iterable[str] = ()) -> int:
    """Rewrite the index entries whose membership a merge changed (`outcome.entries()`),
    that hold a record whose content changed (`touched`) or that lost one (`emptied`)."""
    touched = set(touched)
    current: dict[str, str | None] = {k: c for k, c in outcome.clusters.items() if k in touched}
    current.update(store.clusters_of(touched - current.keys()))
    affected = set(emptied) | outcome.entries() | {c for c in current.values() if c}
    affected.discard("")
    lineage.refresh(store, config.libraries, affected)  # OAI-PMH datestamps, permalinks
    backend.delete(affected)
    backend.add(doc for c in sorted(affected)
                if (doc := _document(store, c, config)) is not None)
    backend.commit()
    return len(affected)


def _document(store: RecordStore, cluster_id: str, config: Config) -> dict | None:
    records = store.cluster(cluster_id)
    return cluster_document(cluster_id, records, config.libraries) if records else None


# Stores this big are indexed in worker processes (`harvest.bulk.index_in_workers`, as
# `tongjian import` does): about twice as fast on two cores.  Below it, each worker's
# start (jieba's dictionary, OpenCC) costs more than the work it takes over.
WORKERS_FROM_RECORDS = 50_000


def rebuild_index(store: RecordStore, backend: SearchBackend, config: Config,
                  show_progress: bool = True, workers: bool | None = None) -> int:
    """Re-merge every record and rebuild the index from the store alone.  `workers`: index
    in worker processes (None: when the store holds `WORKERS_FROM_RECORDS` or more, on
    disk — workers open it by its path)."""
    merge_store(store, full=True)
    lineage.refresh(store, config.libraries)  # OAI-PMH datestamps, permalinks
    records = store.record_count()
    if workers is None:
        workers = records >= WORKERS_FROM_RECORDS and str(store.path) != ":memory:"
    if workers:
        from harvest import bulk

        return bulk.index_in_workers(store, backend, config.libraries,
                                     bulk.default_processes(), records, show_progress)
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
    marker.write(backend.path)  # built by this release: current until the analysis changes
    if progress:
        progress.done()
    return docs
