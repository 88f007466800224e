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
next merge re-judges only the records a change can reach through candidate pairs
(`_Incremental`), and writes the clusters that came out otherwise.  Beside each block
row the table keeps the record's year, flags and signature hash (`block_rows`), so the
merge decodes only the members of a block that may be candidates, and learns a block's
first record and big/small mode without reading it.  The result is that of a full
merge (`tests/test_merge.py` compares them after adds, updates, deletions, librarians'
links, re-used ISBNs and big blocks).  A full merge runs instead when the block table is
missing or of another version (a new or migrated store), when the changes exceed
`INCREMENTAL_MAX_SHARE` of the store, or when the records to re-judge do; it rebuilds
the block table.

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
    BLOCK_LIMIT,
    BLOCKS_VERSION,
    MATCH_VERSION,
    Clustering,
    MatchRecord,
    ShardResult,
    block_hashes,
    candidate_filter,
    candidate_flags,
    cluster,
    may_be_candidates,
    signature_hash,
    signature_merges,
    stem_block_hashes,
)
from harvest.store import BlockRow, CandidateQuery, RecordStore

#: Below this many records a second process costs more than it saves: it starts a Python
#: and reads every record again.
PARALLEL_MIN_RECORDS = 200_000

#: Above this share of the store (changes noted, or records to re-judge), a full merge is
#: as fast as an incremental one: it reads every record once, in two processes.
INCREMENTAL_MAX_SHARE = 0.1

#: The block table's version: the blocking rules' and the match keys' (either changes
#: every record's blocks), and its rows' (`block_rows`: year, flags, signature hash).
BLOCK_ROWS_VERSION = 2
BLOCK_TABLE_VERSION = f"{BLOCKS_VERSION}.{MATCH_VERSION}.{BLOCK_ROWS_VERSION}"


def block_rows(r: MatchRecord) -> list[BlockRow]:
    """r's rows of the block table: each of its blocks, with what an incremental merge
    reads of a member instead of its match keys (`matching.candidate_filter`'s year and
    flags, `matching.signature_hash`)."""
    year, flags, sig = r.year, candidate_flags(r), signature_hash(r)
    return [(h, r.key, year, flags, sig) for h in block_hashes(r)]


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
    loaded: int = 0  # records clustered (those re-judged, their ISBNs' holders, blocks' first)

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
        store.replace_match_blocks((row for r in recs for row in block_rows(r)),
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

    The records to re-judge (`affected`, the focus) are the closure, under "may be a
    candidate pair in a shared block" (`matching.may_be_candidates`) and librarians'
    merges, of: every changed record as it is now; every record that may have been a
    candidate of one as it was before the change; and every holder of a changed record's
    ISBN stems (a set ISBN can become one or stop being one).  Unions only ever join
    candidate pairs, so nothing outside that closure can change cluster, nor affect a
    cluster inside it.

    The search reads of a block only the members that may be candidates by the year and
    flags beside them in the block table (`matching.candidate_filter`), and decodes only
    those.  The clustering then gets the focus, the holders of its ISBN stems (set ISBNs
    and the anchors of cluster ids depend on every holder) and the first record of each
    of its blocks (so that the block stands where the full merge lists it), with each
    block's big/small mode counted from its rows' signature hashes (`_big`); it runs
    only the focus's blocks, and judges only pairs of focus records (`Clustering(focus=…,
    whole=…)`): a record outside the focus is no candidate of one inside."""

    def __init__(self, store: RecordStore, upto: int, limit: int) -> None:
        self.store, self.upto, self.limit = store, upto, limit
        self.loaded: dict[str, MatchRecord] = {}

    def _decode(self, key: str, match: str | None) -> MatchRecord:
        if match is None:
            raise _CannotServe(f"match keys to rebuild ({key}: none stored)")
        try:
            return MatchRecord.from_json(match)
        except (TypeError, ValueError) as e:
            raise _CannotServe(f"match keys to rebuild ({e})") from e

    def _load(self, keys: Iterable[str]) -> None:
        """Read and decode the match keys of those of these records in the store."""
        missing = {k for k in keys if k not in self.loaded}
        for key, match in self.store.match_json(missing).items():
            self.loaded[key] = self._decode(key, match)

    def _candidates(self, recs: Iterable[MatchRecord], skip: Collection[str]) -> set[str]:
        """The records, other than `skip`, that may be a candidate of one of `recs` in a
        block they share, as the block table files them: one query for all the blocks,
        filtered by year and flags (`matching.candidate_filter`), then judged."""
        queries: list[CandidateQuery] = []
        owners: list[MatchRecord] = []
        for r in recs:
            stems = set(stem_block_hashes(r))
            for h in block_hashes(r):
                queries.append((h, *candidate_filter(r, h in stems)))
                owners.append(r)
        hits: dict[tuple[int, str], MatchRecord] = {}
        for n, key in self.store.block_candidates(queries):
            r = owners[n]
            if key != r.key and key not in skip:
                hits[(id(r), key)] = r
        self._load(key for _, key in hits)
        found: set[str] = set()
        for (_, key), r in hits.items():
            other = self.loaded.get(key)
            if other is None:
                raise _CannotServe(f"the block table files {key}, which is not in the store")
            if key not in found and may_be_candidates(r, other):
                found.add(key)
        return found

    def _big(self, block: int, rows: int, sigs: int) -> bool:
        """Is the block big, as `Clustering._run_block` decides on the whole block (more
        than `BLOCK_LIMIT` representatives)?  A block keeps one representative per
        signature whose records judge as one (`matching.signature_merges`), and every
        record of another signature; the block table has each row's signature hash."""
        if rows <= BLOCK_LIMIT:
            return False
        if sigs > BLOCK_LIMIT:
            return True
        repeats = self.store.block_repeats(block)
        self._load(key for _, key, _ in repeats)
        reps = sigs + sum(n - 1 for _, key, n in repeats
                          if not signature_merges(self.loaded[key]))
        return reps > BLOCK_LIMIT

    def _whole(self, focus: Collection[str]) -> dict[int, tuple[str, bool]]:
        """{block: (its first record, big)} for every block of the focus."""
        blocks = {h for k in focus for h in block_hashes(self.loaded[k])}
        facts = self.store.block_facts(blocks)
        self._load(first for first, _, _ in facts.values())
        return {h: (first, self._big(h, rows, sigs))
                for h, (first, rows, sigs) in facts.items()}

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
        add: list[BlockRow] = []
        for key in changed:
            rows = block_rows(now[key]) if key in now else []
            old = {h for m in before.get(key, ()) for h in block_hashes(m)}
            remove.extend((h, key) for h in old - {row[0] for row in rows})
            add.extend(rows)
        store.update_match_blocks(remove, add)
        cannot, must = store.links()
        partners: dict[str, set[str]] = {}
        for pair in must:
            a, b = sorted(pair)
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
        affected: set[str] = set(now)
        versions = [*now.values()]
        for key in changed:
            affected.update(partners.get(key, ()))
            versions.extend(before.get(key, ()))
        stems = {h for m in versions for h in stem_block_hashes(m)}
        for members in store.block_members_map(stems).values():
            affected.update(members)
        affected |= self._candidates([m for ms in before.values() for m in ms], affected)
        wave = set(affected)
        while wave:  # breadth first, a wave's blocks read together
            self._load(wave)  # librarians' partners, holders of the ISBN stems
            gone = {k for k in wave if k not in self.loaded}  # not in the store (any more)
            affected -= gone
            wave -= gone
            found = self._candidates([self.loaded[k] for k in wave], affected)
            found.update(p for k in wave for p in partners.get(k, ()) if p not in affected)
            affected |= found
            wave = found
            if len(affected) > self.limit:
                raise _CannotServe(f"the changed entries reach more than {self.limit:,} records")
        whole = self._whole(affected)
        stems = {h for k in affected for h in stem_block_hashes(self.loaded[k])}
        holders = {k for ms in store.block_members_map(stems).values() for k in ms}
        self._load(holders)
        needed = affected | holders | {first for first, _ in whole.values()}
        try:
            clustering = Clustering([self.loaded[k] for k in needed if k in self.loaded],
                                    cannot, must,
                                    focus=affected, whole=whole)
        except ValueError as e:  # a block's first record not among those given
            raise _CannotServe(f"the block table cannot serve this merge: {e}") from e
        result = clustering.finish([clustering.run()]).clusters
        clusters = {k: result[k] for k in affected}
        old_clusters = store.clusters_of(clusters)
        moved = {k: (old_clusters.get(k), c) for k, c in clusters.items()
                 if old_clusters.get(k) != c}
        store.set_clusters((k, new) for k, (_, new) in moved.items())
        store.merge_done(self.upto)
        return MergeOutcome(False, len(clusters), clusters, moved,
                            deleted=changed - current.keys(), loaded=len(needed))


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
