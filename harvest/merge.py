"""Same book, one entry: the merge step between the store and the index.

`merge_store` is what harvests, imports and index rebuilds call; the rules live in
`harvest.matching` (shared ISBN, or title + author + year + publisher on normalized text;
volumes, editions and librarians' splits never merged).  Cluster ids are derived from the
smallest ISBN (or the record key when there is none), so they stay stable across
re-harvests and can be used in URLs.

**Incremental merges.**  Records that share no block (ISBN stem, title key, prefix/suffix
key with the author) and no librarian's merge never affect each other's clusters: the
components of that block graph are clustered independently (`matching.Clustering`).  So a
harvest that changed k records need not re-judge a million: the store keeps every
record's blocks as of the last merge (`match_blocks`) and notes each record written,
deleted or linked since, with its match keys before the change (`merge_pending`).  The
next merge re-judges exactly the components of the block graph that hold a changed
record or a record that shared a block with one before the change (an update or deletion
can split an old component: each piece held such a record), and writes the clusters
that came out otherwise.  The result is that of a full merge (`tests/test_merge.py`
compares them after adds, updates, deletions, librarians' links and re-used ISBNs).  A
full merge runs instead when the block table is missing or of another version (a new or
migrated store), when the changes exceed `INCREMENTAL_MAX_SHARE` of the store, or when the
components to re-judge do; it rebuilds the block table.

**What changed** — `MergeOutcome.moved`: every record whose entry changed, with its old
and new cluster id; `MergeOutcome.entries()`: the entry ids that gained or lost a record.
The index update (`pipeline.update_index`) rewrites those entries plus those of records
whose content changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from harvest.batch_gc import batch_gc
from harvest.matching import (
    BLOCKS_VERSION,
    MATCH_VERSION,
    Clustering,
    MatchRecord,
    ShardResult,
    block_hashes,
    cluster,
    may_be_candidates,
    stem_block_hashes,
)
from harvest.store import RecordStore

#: Below this many records a second process costs more than it saves: it starts a Python
#: and reads every record again.
PARALLEL_MIN_RECORDS = 200_000

#: Above this share of the store (changes noted, or records to re-judge), a full merge is
#: as fast as an incremental one: it reads every record once, in two processes.
INCREMENTAL_MAX_SHARE = 0.1

#: The block table's version: the blocking rules' and the match keys' (either changes
#: every record's blocks).
BLOCK_TABLE_VERSION = f"{BLOCKS_VERSION}.{MATCH_VERSION}"


@dataclass
class MergeOutcome:
    """What one merge did."""

    full: bool  # every record re-judged (else only the changed components)
    rejudged: int  # records whose cluster was computed
    clusters: dict[str, str]  # record key → cluster id, for each record re-judged
    moved: dict[str, tuple[str | None, str]]  # record key → (old, new) cluster, if changed
    changes: int = 0  # pending changes (writes, deletions, links) this merge took in
    seconds: float = 0.0
    why: str = ""  # why it was full, when it was
    deleted: set[str] = field(default_factory=set)  # keys noted as changed, now gone
    loaded: int = 0  # records read (those re-judged, and every record sharing a block)

    def entries(self) -> set[str]:
        """Entry ids that gained or lost a record: the old and new cluster of every
        record that moved (an entry that lost its last record is among them)."""
        return ({new for _, new in self.moved.values()}
                | {old for old, _ in self.moved.values() if old})


def assign_clusters(records: Iterable[MatchRecord | tuple[str, list[str]]],
                    cannot_link: Collection[frozenset[str]] = frozenset(),
                    must_link: Collection[frozenset[str]] = frozenset()) -> dict[str, str]:
    """{record key: cluster id} for every record given.  Records may be bare (key, ISBNs)
    pairs (then only ISBNs can match them); `cannot_link`/`must_link` are librarians'
    splits and merges as pairs of record keys."""
    recs = [r if isinstance(r, MatchRecord) else MatchRecord(r[0], isbns=tuple(r[1]))
            for r in records]
    return cluster(recs, frozenset(cannot_link), frozenset(must_link))


def merge_store(store: RecordStore, processes: int = 2, *, full: bool = False,
                written: Mapping[str, str | None] | None = None) -> MergeOutcome:
    """Merge the store's records and write the clusters that changed: incrementally when
    the store can (see the module's docstring), else in full (`full` forces it).

    `written`: the clusters the records were stored with, when the caller knows them (a
    bulk load into an empty store), so a full merge need not read them back."""
    started = time.monotonic()
    store.commit()
    count, upto = store.pending_summary()
    why = "asked for" if full else ""
    if not why and store.blocks_version() != BLOCK_TABLE_VERSION:
        why = "no block table of this version yet"
    limit = max(1, int(INCREMENTAL_MAX_SHARE * store.record_count()))
    if not why and count > limit:
        why = f"{count:,} changes, more than {INCREMENTAL_MAX_SHARE:.0%} of the store"
    if not why:
        outcome = _incremental(store, upto, limit)
        if isinstance(outcome, MergeOutcome):
            outcome.changes, outcome.seconds = count, time.monotonic() - started
            return outcome
        why = outcome
    outcome = _full(store, processes, upto, written)
    outcome.changes, outcome.why = count, why
    outcome.seconds = time.monotonic() - started
    return outcome


def _full(store: RecordStore, processes: int, upto: int,
          written: Mapping[str, str | None] | None) -> MergeOutcome:
    clusters, recs = _cluster_all(store, processes)
    old: Mapping[str, str | None] = store.cluster_map() if written is None else written
    moved = {k: (old.get(k), c) for k, c in clusters.items() if old.get(k) != c}
    with store.write_transaction():
        store.set_clusters((k, new) for k, (_, new) in moved.items())
        store.replace_match_blocks(((h, r.key) for r in recs for h in block_hashes(r)),
                                   BLOCK_TABLE_VERSION)
        store.merge_done(upto)
    return MergeOutcome(True, len(clusters), clusters, moved)


def _incremental(store: RecordStore, upto: int, limit: int) -> MergeOutcome | str:
    """The merge of the changes up to `upto`, in one write transaction; or why it cannot
    be done incrementally (nothing written then)."""
    with store.write_transaction():
        try:
            outcome = _Incremental(store, upto, limit).run()
        except _CannotServe as e:
            store.rollback()
            return str(e)
    return outcome


class _CannotServe(Exception):
    """Why an incremental merge gives way to a full one."""


class _Incremental:
    """One incremental merge (see the module's docstring for why it equals a full one).

    The records to re-judge (`affected`) are the closure, under "may be a candidate pair
    in a shared block" (`matching.may_be_candidates`) and librarians' merges, of: every
    changed record as it is now; every record that may have been a candidate of one as
    it was before the change; and every holder of a changed record's ISBN stems (a set
    ISBN can become one or stop being one).  Unions only ever join candidate pairs, so
    nothing outside that closure can change cluster, nor affect a cluster inside it.
    They are clustered with every record sharing a block with them (`loaded`), so each
    block they are in is the whole block, in the order the full merge runs it; only
    those blocks are run (`Clustering(focus=…)`)."""

    def __init__(self, store: RecordStore, upto: int, limit: int) -> None:
        self.store, self.upto, self.limit = store, upto, limit
        self.loaded: dict[str, MatchRecord] = {}
        self.members: dict[int, list[str]] = {}

    def _decode(self, key: str, match: str | None) -> MatchRecord:
        if match is None:
            raise _CannotServe(f"match keys to rebuild ({key}: none stored)")
        try:
            return MatchRecord.from_json(match)
        except (TypeError, ValueError) as e:
            raise _CannotServe(f"match keys to rebuild ({e})") from e

    def _block(self, block: int) -> list[str]:
        """The keys filed under a block, their match records loaded."""
        got = self.members.get(block)
        if got is None:
            self._fetch([block])
            got = self.members[block]
        return got

    def _fetch(self, blocks: Iterable[int]) -> None:
        """Read these blocks' members, and their match records, a few queries for all."""
        wanted = [b for b in set(blocks) if b not in self.members]
        if not wanted:
            return
        found = self.store.block_members_map(wanted)
        for b in wanted:
            self.members[b] = found.get(b, [])
        missing = {k for b in wanted for k in self.members[b] if k not in self.loaded}
        for key, match in self.store.match_json(missing).items():
            self.loaded[key] = self._decode(key, match)

    def run(self) -> MergeOutcome:
        store = self.store
        pending = store.merge_pending(self.upto)
        changed = {key for key, _ in pending}
        current = store.match_json(changed)
        before: dict[str, list[MatchRecord]] = {}
        for key, match in pending:
            if match is not None:
                before.setdefault(key, []).append(self._decode(key, match))
        now = {key: self._decode(key, match) for key, match in current.items()}
        self.loaded.update(now)
        # The block table follows the records first: the search below walks today's graph.
        remove: list[tuple[int, str]] = []
        add: list[tuple[int, str]] = []
        for key in changed:
            new = set(block_hashes(now[key])) if key in now else set()
            old = {h for m in before.get(key, ()) for h in block_hashes(m)}
            remove.extend((h, key) for h in old - new)
            add.extend((h, key) for h in new)
        store.update_match_blocks(remove, add)
        cannot, must = store.links()
        partners: dict[str, set[str]] = {}
        for pair in must:
            a, b = sorted(pair)
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
        affected: set[str] = set(now)
        for key in changed:
            affected.update(partners.get(key, ()))
            for m in [*before.get(key, ()), *([now[key]] if key in now else [])]:
                for h in stem_block_hashes(m):
                    affected.update(self._block(h))
            for m in before.get(key, ()):
                for h in block_hashes(m):
                    affected.update(k for k in self._block(h)
                                    if k != key and may_be_candidates(m, self.loaded[k]))
        wave = set(affected)
        while wave:  # breadth first, a wave's blocks read together
            unread = [k for k in wave if k not in self.loaded]  # librarians' partners
            for key, match in store.match_json(unread).items():
                self.loaded[key] = self._decode(key, match)
            for key in unread:
                if key not in self.loaded:  # not in the store (any more)
                    affected.discard(key)
                    wave.discard(key)
            blocks = {key: block_hashes(self.loaded[key]) for key in wave}
            self._fetch(h for hs in blocks.values() for h in hs)
            found: set[str] = set()
            for key, hashes in blocks.items():
                r = self.loaded[key]
                for h in hashes:
                    for other in self.members[h]:
                        if (other not in affected and other not in found
                                and may_be_candidates(r, self.loaded[other])):
                            found.add(other)
                found.update(p for p in partners.get(key, ()) if p not in affected)
            affected |= found
            wave = found
            if len(affected) > self.limit:
                raise _CannotServe(f"the changed entries reach more than {self.limit:,} records")
        clustering = Clustering(self.loaded.values(), cannot, must, focus=affected)
        result = clustering.finish([clustering.run()]).clusters
        clusters = {k: result[k] for k in affected}
        old_clusters = store.clusters_of(clusters)
        moved = {k: (old_clusters.get(k), c) for k, c in clusters.items()
                 if old_clusters.get(k) != c}
        store.set_clusters((k, new) for k, (_, new) in moved.items())
        store.merge_done(self.upto)
        return MergeOutcome(False, len(clusters), clusters, moved,
                            deleted=changed - current.keys(), loaded=len(self.loaded))


def assign_store_clusters(store: RecordStore, processes: int = 2) -> dict[str, str]:
    """`assign_clusters` for every record of a store, with its librarians' links; in up to
    `processes` processes when the store is big.  Writes nothing (`merge_store` does)."""
    return _cluster_all(store, processes)[0]


def _cluster_all(store: RecordStore, processes: int
                 ) -> tuple[dict[str, str], list[MatchRecord]]:
    """({record key: cluster id}, the match records in key order) of the whole store.

    Every process reads and decodes all match keys itself (as fast as shipping them) and
    clusters its share of the independent components of the block graph
    (`harvest.matching.Clustering`); this one combines the shares.  The result does not
    depend on the number of processes."""
    cannot, must = store.links()
    store.commit()  # the workers see what is committed
    shards = min(processes, os.cpu_count() or 1)
    if (shards < 2 or str(store.path) == ":memory:"
            or store.record_count() < PARALLEL_MIN_RECORDS):
        return _one_process(store, cannot, must)
    # spawn, not fork: the parent holds SQLite (and perhaps tantivy) threads.
    with ProcessPoolExecutor(shards - 1, mp_context=get_context("spawn"),
                             initializer=batch_gc) as pool:
        others = [pool.submit(_cluster_share, str(store.path), cannot, must, shard, shards)
                  for shard in range(1, shards)]
        clustering = Clustering(store.match_records(), cannot, must)
        own = clustering.run(0, shards)
        shares = [own, *(share.result() for share in others)]
    try:
        return clustering.finish(shares).clusters, clustering.recs
    except ValueError:  # a harvest wrote between the reads: cluster again, in one process
        return _one_process(store, *store.links())


def _one_process(store: RecordStore, cannot: Collection[frozenset[str]],
                 must: Collection[frozenset[str]]) -> tuple[dict[str, str], list[MatchRecord]]:
    clustering = Clustering(store.match_records(), cannot, must)
    return clustering.finish([clustering.run()]).clusters, clustering.recs


def _cluster_share(path: str, cannot_link: Collection[frozenset[str]],
                   must_link: Collection[frozenset[str]], shard: int,
                   shards: int) -> ShardResult:
    """A worker's share, from the store through a read-only connection (records with a
    stale match key are rebuilt here too, and saved by the parent)."""
    with RecordStore.open_read_only(path) as store:
        return Clustering(store.match_records(), cannot_link, must_link).run(shard, shards)
