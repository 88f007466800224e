"""Bulk import of MARC files: a library's full export, or a whole consortium's, at speed.

The normal path (`harvest.pipeline`) reads, decodes, crosswalks and stores one record at a
time in one process — right for a harvest that waits on the network, far too slow for a
million records from disk.  This path keeps every rule of the normal one and changes only
where the work happens:

* parse: each file is cut into chunks at record terminators (the same cuts
  `iso2709.split_records` makes, so every record, its byte offset and its number come out
  as they would from `readers.read` over the whole file); worker processes decode and
  crosswalk them with `to_record` and build each record's row as `RecordStore.put` does
  (`harvest.store.stored_row`: JSON, digest, ISBNs, match keys) — the Python-heavy work
  runs on every core;
* store: the main process quarantines broken records with their raw bytes and reason, and
  the second copy of a record id as `pipeline._Run.ingest` does, and writes the rows
  through `RecordStore.write_rows`, the method behind `put`, many per call and in large
  transactions (`RecordStore.start_bulk_load`: no fsync for the load);
* merge: `merge_store` over every record of the store, as `rebuild_index` does;
* index: worker processes read the store themselves (by cluster-id range), build each
  cluster's document and run the backend's `prepare` (tantivy's text analysis); the main
  process only feeds the backend (`add_prepared`), whose own threads build the index.

`bulk_import` returns `BulkStats` with counts and per-stage seconds; progress lines go to
stderr like every long command's.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.cataloguing import Attribution
from core.config import Config, HoldingsMap, Source
from core.model import Record
from core.progress import Progress
from harvest import lineage
from harvest.batch_gc import batch_gc
from harvest.cataloguing_review import notice_changes
from harvest.crosswalk import to_record
from harvest.merge import merge_store
from harvest.readers import looks_like_xml, read
from harvest.store import RecordStore, Rejected, StoredRow, duplicate_reason, stored_row
from index import marker

if TYPE_CHECKING:
    from index.backend import SearchBackend

T = TypeVar("T")
R = TypeVar("R")

CHUNK_BYTES = 2 << 20  # ~2,500 records: big enough to amortize a task, small to balance
COMMIT_ROWS = 100_000  # rows per transaction: WAL growth stays bounded
INDEX_TASK_RECORDS = 4_000  # records per index task (by cluster-id range)
BULK_WRITER_HEAP = 1_000_000_000  # fewer, larger segments: less merging during the load


@dataclass
class BulkStats:
    source: str
    files: int = 0
    bytes: int = 0
    records: int = 0  # records read (stored + quarantined)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    index_entries: int = 0
    index_mode: str = ""  # rebuild | update | none
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    seconds: float = 0.0

    @property
    def stored(self) -> int:
        return self.new + self.updated + self.unchanged

    def rate(self, stage: str | None = None) -> float:
        """Records per second, end to end or of one stage."""
        seconds = self.seconds if stage is None else self.stages.get(stage, 0.0)
        return self.records / seconds if seconds else 0.0

    def report(self) -> str:
        lines = [
            f"{self.source}: {self.records:,} records from {self.files} file(s) "
            f"({self.bytes / 1e6:,.0f} MB): {self.new:,} new, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged, {self.deleted:,} deleted, "
            f"{self.quarantined:,} quarantined; index {self.index_mode}: "
            f"{self.index_entries:,} entries",
        ]
        for stage, seconds in self.stages.items():
            rate = self.records / seconds if seconds else 0.0
            lines.append(f"  {stage:<14} {seconds:8.1f} s  {rate:>10,.0f} records/s")
        lines.append(f"  {'total':<14} {self.seconds:8.1f} s  {self.rate():>10,.0f} records/s")
        return "\n".join(lines)


# -- worker side: parse + decode + crosswalk ------------------------------------------------


@dataclass(frozen=True)
class _SourceSpec:
    """What a worker needs of the source: picklable and small."""

    name: str
    library: str
    encoding: str
    flavour: str
    holdings: tuple[HoldingsMap, ...]
    record_syntax: str = ""  # what ISO 2709 from this source is stored as (`raw_format`)
    attribution: Attribution = Attribution()  # who catalogued each record


@dataclass(frozen=True)
class _ParseTask:
    spec: _SourceSpec
    path: str
    start: int
    end: int
    raw_format: str  # of the whole file (`raw_format`)


# One item per record, in input order, relative to its chunk:
#   ("ok", position, offset, StoredRow)  — its cluster is `lone_cluster_id`, what the merge
#                                          will most often confirm
#   ("noid", position, offset, Record, raw) — no 001: the id is its number in the file,
#                                             which only the main process knows
#   ("bad", position, offset, reason, raw)
Item = tuple[Any, ...]


def _parse_chunk(task: _ParseTask) -> list[Item]:
    spec = task.spec
    with open(task.path, "rb") as f:
        f.seek(task.start)
        data = f.read(task.end - task.start)
    out: list[Item] = []
    for p in read(data, spec.encoding, spec.flavour):
        if p.marc is None:
            out.append(("bad", p.position, p.offset, p.error, p.raw))
            continue
        record = to_record(p.marc, spec.name, spec.library, "", spec.flavour, spec.holdings,
                           spec.attribution)
        if not record.source_id:
            out.append(("noid", p.position, p.offset, record, p.raw))
            continue
        out.append(("ok", p.position, p.offset,
                    stored_row(record, p.raw, task.raw_format, lone_cluster=True)))
    return out


def chunk_file(spec: _SourceSpec, path: Path,
               chunk_bytes: int = CHUNK_BYTES) -> tuple[bool, list[_ParseTask]]:
    """(is XML, byte ranges) of a file.  ISO 2709 is cut right after a record terminator,
    never where the next piece would look like XML to `readers.read`; an XML document is
    one task (it has to be parsed whole)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
        if looks_like_xml(head):
            return True, [_ParseTask(spec, str(path), 0, size, raw_format(spec, True))]
        tasks: list[_ParseTask] = []
        start = 0
        while start < size:
            cut = start + chunk_bytes
            while cut < size:
                f.seek(cut)
                window = f.read(65_536)
                pos = window.find(b"\x1d")
                if pos == -1:
                    cut += len(window)
                    continue
                cut += pos + 1
                f.seek(cut)
                if not looks_like_xml(f.read(4096)):
                    break
            cut = min(cut, size)
            tasks.append(_ParseTask(spec, str(path), start, cut, raw_format(spec, False)))
            start = cut
    return False, tasks


# -- worker side: cluster documents + text analysis -----------------------------------------

_STORE: RecordStore | None = None
_LIBRARIES: dict[str, Any] = {}
_PREPARE: Callable[[dict[str, Any]], Any] | None = None


def _init_index_worker(store_path: str, libraries: dict[str, Any],
                       prepare: Callable[[dict[str, Any]], Any] | None = None) -> None:
    """A worker's own read-only store, the libraries, and the backend's `prepare` (a
    module-level function: it pickles by name)."""
    global _STORE, _LIBRARIES, _PREPARE
    _STORE = RecordStore.open_read_only(store_path, cache_kb=200_000)
    _LIBRARIES, _PREPARE = libraries, prepare
    batch_gc()
    if prepare is not None:  # load jieba's dictionary and OpenCC now, not in the first task
        prepare({"id": "预热", "title": "预热", "authors": ["预热"]})


def clusters_in_range(bounds: tuple[str | None, str | None]
                      ) -> Iterator[tuple[str, list[Record]]]:
    """(cluster id, records) for the clusters with ids in [low, high), in a worker."""
    assert _STORE is not None, "worker not initialised"
    yield from _STORE.clusters(*bounds)


def _analyse_range(bounds: tuple[str | None, str | None]) -> tuple[int, list[Any]]:
    """(records read, prepared documents) for the clusters with ids in [low, high)."""
    from index.documents import cluster_document

    assert _PREPARE is not None, "worker not initialised with a backend's prepare"
    n = 0
    out: list[Any] = []
    for cluster, group in clusters_in_range(bounds):
        n += len(group)
        out.append(_PREPARE(cluster_document(cluster, group, _LIBRARIES)))
    return n, out


def cluster_ranges(records: int, per_task: int = INDEX_TASK_RECORDS) -> list[tuple[str | None,
                                                                                  str | None]]:
    """Cluster-id ranges covering every string, about `per_task` records each when the ids
    are hex digests (as `merge` makes them); any other ids still land in exactly one."""
    n = max(1, min(4096, records // per_task))
    bounds = [f"{(i << 64) // n:016x}" for i in range(1, n)]
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    return list(zip(lows, highs, strict=True))


# -- main side ----------------------------------------------------------------------------


def ordered_map(pool: ProcessPoolExecutor, fn: Callable[[T], R], tasks: Iterable[T],
                window: int) -> Iterator[R]:
    """`pool.map` in input order with at most `window` tasks in flight: results are
    consumed as they come, so a slow consumer never has every chunk's rows in memory."""
    pending: deque[Future[R]] = deque()
    for task in tasks:
        pending.append(pool.submit(fn, task))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class _Loader:
    """Applies the workers' items to the store in input order: the rules of
    `pipeline._Run.ingest` (quarantine, the first copy of an id wins), and the rows written
    by `RecordStore.write_rows` a chunk at a time against the source's digests read once."""

    def __init__(self, store: RecordStore, source: Source, run: int, stats: BulkStats,
                 track: bool = True) -> None:
        self.store, self.source, self.run, self.stats = store, source, run, stats
        self.track = track  # note changes for an incremental merge (not into an empty store)
        self.existing = store.digests(source.name)
        self.seen: set[str] = set()
        self.clusters: dict[str, str | None] = {}  # inserted record -> cluster written with it
        self.touched: set[str] = set()
        self.emptied: set[str] = set()
        self._rows: list[StoredRow] = []
        self._rejected: list[Rejected] = []
        self._written = 0  # rows since the last commit

    def apply(self, items: list[Item], base_position: int, base_offset: int | None,
              raw_format: str) -> int:
        """Returns the number of records (positions) the chunk held."""
        name = self.source.name
        last = 0
        for item in items:
            kind, position, offset = item[0], item[1] + base_position, item[2]
            last = item[1]
            if offset is not None and base_offset is not None:
                offset += base_offset
            if kind == "bad":
                self._rejected.append(Rejected(name, position, item[3], item[4], "", offset))
                continue
            if kind == "noid":
                record: Record = item[3]
                record.source_id = f"#{position}"
                row: StoredRow = stored_row(record, item[4], raw_format, lone_cluster=True)
            else:
                row = item[3]
            if row.key in self.seen:
                self._rejected.append(Rejected(name, position, duplicate_reason(row.source_id),
                                               row.raw, row.source_id, offset))
                continue
            self.seen.add(row.key)
            self._rows.append(row)
        self.stats.quarantined += len(self._rejected)
        self.flush()
        return last

    def flush(self, commit: bool = False) -> None:
        stats = self.stats
        outcomes = self.store.write_rows(self._rows, self.run, self.existing, self.track)
        for row, outcome in zip(self._rows, outcomes, strict=True):
            if outcome == "new":
                self.clusters[row.key] = row.cluster
                stats.new += 1
                self.touched.add(row.key)
            elif outcome == "updated":
                stats.updated += 1
                self.touched.add(row.key)
            else:
                stats.unchanged += 1
        if self._rejected:
            self.store.quarantine_many(self._rejected)
        self._written += len(self._rows)
        self._rows, self._rejected = [], []
        if commit or self._written >= COMMIT_ROWS:
            self.store.commit()
            self._written = 0


def raw_format(source: Source | _SourceSpec, is_xml: bool) -> str:
    """What the raw column says the bytes are: the source's record syntax for ISO 2709."""
    return "marcxml" if is_xml else (source.record_syntax or "usmarc")


def bulk_import(config: Config, source_name: str, files: Sequence[str | Path],
                **options: Any) -> BulkStats:
    """Import MARC files (ISO 2709 or MARCXML) of one configured source, then merge and
    index; see `import_sources` for the options."""
    return import_sources(config, {source_name: files}, **options)


def import_sources(config: Config, imports: Mapping[str, Sequence[str | Path]], *,
                   processes: int = 2, full: bool = True, reindex: str = "auto",
                   chunk_bytes: int = CHUNK_BYTES, show_progress: bool = True,
                   store: RecordStore | None = None) -> BulkStats:
    """Import the files of several sources ({source name: files}), then merge and index
    once — a consortium's first load, or a benchmark.

    `full`: the files are each source's whole catalogue, as in a full harvest: its old
    quarantine is cleared and records the files no longer hold are deleted.
    `reindex`: "rebuild" (the whole index, in parallel), "update" (only the entries that
    changed, as after a harvest), "none" (clusters assigned, index untouched), or "auto":
    rebuild when the index is empty or over a quarter of the store changed, else update.
    Each source's import is recorded as a harvest run, so the portal shows it.
    """
    sources = [config.source(name) for name in imports]
    paths = {s.name: [Path(f) for f in imports[s.name]] for s in sources}
    stats = BulkStats(", ".join(paths),
                      files=sum(len(p) for p in paths.values()),
                      bytes=sum(f.stat().st_size for p in paths.values() for f in p))
    own_store = store is None
    store = store or RecordStore(config.resolve(config.store_path))
    started = time.monotonic()
    ctx = get_context("spawn")  # no fork: the parent holds SQLite and tantivy threads
    gc_thresholds = batch_gc()
    try:
        fresh = store.is_empty()
        # An empty store builds its secondary indexes once at the end instead of
        # maintaining them row by row.
        store.start_bulk_load(drop_indexes=fresh)
        progress = Progress("import") if show_progress else None
        touched: set[str] = set()
        emptied: set[str] = set()
        written: dict[str, str | None] = {}  # record key -> cluster stored with it
        t = time.monotonic()
        with ProcessPoolExecutor(processes, mp_context=ctx, initializer=batch_gc) as pool:
            for source in sources:
                loader = _load_source(store, source, paths[source.name], full, pool,
                                      2 * processes + 2, chunk_bytes, stats, progress, fresh)
                touched |= loader.touched
                emptied |= loader.emptied
                written.update(loader.clusters)
        if progress:
            progress.done()
        stats.stages["parse+store"] = time.monotonic() - t
        mode = _index_mode(reindex, config, stats, store)
        stats.index_mode = mode
        t = time.monotonic()
        if mode == "update":  # merges too: only the clusters that changed are rewritten
            from harvest.pipeline import update_index
            from index.backend import open_backend

            if fresh:
                store.create_indexes()
            backend = open_backend(config)
            try:
                stats.index_entries = update_index(store, backend, config, touched, emptied)
            finally:
                backend.close()
            stats.stages["merge+index"] = time.monotonic() - t
        else:
            clusters = _merge(store, written if fresh else None)
            stats.stages["merge"] = time.monotonic() - t
            if fresh:  # after the merge, which would otherwise update records_cluster
                t = time.monotonic()
                store.create_indexes()
                store.commit()
                stats.stages["store indexes"] = time.monotonic() - t
            t = time.monotonic()
            lineage.refresh(store, config.libraries)  # OAI-PMH datestamps, permalinks
            stats.stages["lineage"] = time.monotonic() - t
            if mode == "rebuild":
                t = time.monotonic()
                stats.index_entries = _rebuild_index(store, config, processes, ctx,
                                                     len(clusters), show_progress)
                stats.stages["index"] = time.monotonic() - t
    finally:
        gc.set_threshold(*gc_thresholds)
        store.finish_bulk_load()
        if own_store:
            store.close()
    stats.seconds = time.monotonic() - started
    return stats


def _counts(stats: BulkStats) -> dict[str, int]:
    return {"new": stats.new, "updated": stats.updated, "unchanged": stats.unchanged,
            "deleted": stats.deleted, "quarantined": stats.quarantined}


def _load_source(store: RecordStore, source: Source, paths: list[Path], full: bool,
                 pool: ProcessPoolExecutor, window: int, chunk_bytes: int,
                 total: BulkStats, progress: Progress | None, fresh: bool = False) -> _Loader:
    """Parse (workers) and store (here) one source's files as one harvest run; then, for a
    full import, delete what the source no longer has."""
    run = store.start_harvest(source.name)
    stats = BulkStats(source.name)
    spec = _SourceSpec(source.name, source.library, source.encoding, source.format,
                       tuple(source.holdings), source.record_syntax, source.attribution)
    if full:
        store.clear_quarantine(source.name)
    loader = _Loader(store, source, run, stats, track=not fresh)
    try:
        for path in paths:
            is_xml, tasks = chunk_file(spec, path, chunk_bytes)
            position = 0
            for task, items in zip(tasks, ordered_map(pool, _parse_chunk, tasks, window),
                                   strict=True):
                position += loader.apply(items, position, None if is_xml else task.start,
                                         task.raw_format)
                if progress:
                    progress.advance(len(items))
            stats.records += position
        if full:
            for key in set(loader.existing) - loader.seen:
                cluster = store.delete(key)
                if cluster is not None:
                    stats.deleted += 1
                    loader.emptied.add(cluster)
        loader.flush(commit=True)
    except BaseException as e:
        store.commit()
        store.finish_harvest(run, _counts(stats), f"bulk import failed: {e!r}")
        raise
    store.finish_harvest(run, _counts(stats), None)
    if stats.updated:
        notice_changes(store)  # review problems whose record changed: confirm the fix
    for name in ("records", "new", "updated", "unchanged", "deleted", "quarantined"):
        setattr(total, name, getattr(total, name) + getattr(stats, name))
    return loader


def _merge(store: RecordStore, written: Mapping[str, str | None] | None) -> dict[str, str]:
    """Cluster every record of the store, as `rebuild_index` does (the matcher's input is
    the `match` column the loader wrote; librarians' splits and merges apply), in two
    processes for a big store; write only the assignments that changed: compared with the
    clusters the loader wrote (`written`, for a fresh store), else with the store's."""
    return merge_store(store, full=True, written=written).clusters


def _index_mode(reindex: str, config: Config, stats: BulkStats, store: RecordStore) -> str:
    if reindex in ("rebuild", "update", "none"):
        return reindex
    if config.index.backend != "tantivy":
        return "update"
    from index.tantivy_backend import TantivyBackend

    backend = TantivyBackend(config.resolve(config.index.path))
    try:
        empty = backend.count() == 0
    finally:
        backend.close()
    total = store.record_count()
    changed = stats.new + stats.updated + stats.deleted
    return "rebuild" if empty or changed > total // 4 else "update"


def _rebuild_index(store: RecordStore, config: Config, processes: int, ctx: Any,
                   records: int, show_progress: bool) -> int:
    """The whole index from the store, into a backend of its own with the bulk writer's
    heap (`index_in_workers`)."""
    from index.backend import open_backend
    from index.tantivy_backend import TantivyBackend

    backend: SearchBackend = (TantivyBackend(config.resolve(config.index.path),
                                             writer_heap=BULK_WRITER_HEAP)
                              if config.index.backend == "tantivy" else open_backend(config))
    try:
        return index_in_workers(store, backend, config.libraries, processes, records,
                                show_progress, ctx)
    finally:
        backend.close()


def index_in_workers(store: RecordStore, backend: SearchBackend,
                     libraries: Mapping[str, Any], processes: int, records: int,
                     show_progress: bool, ctx: Any = None) -> int:
    """Empty `backend` and index every entry of the store: documents built and prepared
    (`SearchBackend.prepare`) in worker processes, each reading its own cluster-id ranges;
    this process only feeds the writer (`add_prepared`), then commits and marks the index
    as this release's.  `records`: about how many records the store holds (task sizes);
    `ctx`: the multiprocessing context (default: spawn, as `import_sources`'s)."""
    store.commit()
    progress = Progress("index", unit="entries") if show_progress else None
    entries = 0
    backend.clear()
    with ProcessPoolExecutor(processes, mp_context=ctx or get_context("spawn"),
                             initializer=_init_index_worker,
                             initargs=(str(store.path), dict(libraries), backend.prepare)) as pool:
        for _, docs in ordered_map(pool, _analyse_range, cluster_ranges(records),
                                   window=2 * processes + 2):
            entries += backend.add_prepared(docs, replace=False)
            if progress:
                progress.advance(len(docs))
    t = time.monotonic()
    backend.commit()
    marker.write(backend.path)
    if progress:
        progress.done()
        print(f"index: commit {time.monotonic() - t:.1f}s", file=sys.stderr, flush=True)
    return entries


def default_processes() -> int:
    """Both cores of the reference machine; more only where there are more."""
    return max(1, min(os.cpu_count() or 1, 8))
