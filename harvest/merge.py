"""Same book, one entry: the merge step between the store and the index.

`assign_clusters` is the one entry point; the rules live in `harvest.matching` (shared
ISBN, or title + author + year + publisher on normalized text; volumes, editions and
librarians' splits never merged).  Cluster ids are derived from the smallest ISBN (or the
record key when there is none), so they stay stable across re-harvests and can be used in
URLs.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from harvest.batch_gc import batch_gc
from harvest.matching import Clustering, MatchRecord, ShardResult, cluster
from harvest.store import RecordStore

#: Below this many records a second process costs more than it saves: it starts a Python
#: and reads every record again.
PARALLEL_MIN_RECORDS = 200_000


def assign_clusters(records: Iterable[MatchRecord | tuple[str, list[str]]],
                    cannot_link: Collection[frozenset[str]] = frozenset(),
                    must_link: Collection[frozenset[str]] = frozenset()) -> dict[str, str]:
    """{record key: cluster id} for every record given.  Records may be bare (key, ISBNs)
    pairs (then only ISBNs can match them); `cannot_link`/`must_link` are librarians'
    splits and merges as pairs of record keys."""
    recs = [r if isinstance(r, MatchRecord) else MatchRecord(r[0], isbns=tuple(r[1]))
            for r in records]
    return cluster(recs, frozenset(cannot_link), frozenset(must_link))


def assign_store_clusters(store: RecordStore, processes: int = 2) -> dict[str, str]:
    """`assign_clusters` for every record of a store, with its librarians' links; in up to
    `processes` processes when the store is big.

    Every process reads and decodes all match keys itself (as fast as shipping them) and
    clusters its share of the independent components of the block graph
    (`harvest.matching.Clustering`); this one combines the shares.  The result does not
    depend on the number of processes."""
    cannot, must = store.links()
    store.commit()  # the workers see what is committed
    shards = min(processes, os.cpu_count() or 1)
    if (shards < 2 or str(store.path) == ":memory:"
            or store.record_count() < PARALLEL_MIN_RECORDS):
        return assign_clusters(store.match_records(), cannot, must)
    # spawn, not fork: the parent holds SQLite (and perhaps tantivy) threads.
    with ProcessPoolExecutor(shards - 1, mp_context=get_context("spawn"),
                             initializer=batch_gc) as pool:
        others = [pool.submit(_cluster_share, str(store.path), cannot, must, shard, shards)
                  for shard in range(1, shards)]
        clustering = Clustering(store.match_records(), cannot, must)
        own = clustering.run(0, shards)
        shares = [own, *(share.result() for share in others)]
    try:
        return clustering.finish(shares).clusters
    except ValueError:  # a harvest wrote between the reads: cluster again, in one process
        return assign_clusters(store.match_records(), *store.links())


def _cluster_share(path: str, cannot_link: Collection[frozenset[str]],
                   must_link: Collection[frozenset[str]], shard: int,
                   shards: int) -> ShardResult:
    """A worker's share, from the store through a read-only connection (records with a
    stale match key are rebuilt here too, and saved by the parent)."""
    with RecordStore.open_read_only(path) as store:
        return Clustering(store.match_records(), cannot_link, must_link).run(shard, shards)
