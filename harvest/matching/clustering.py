"""Clustering: records → clusters of one edition each, deterministic and shardable.

`Clustering` lists the blocks (`blocking`), judges each block's candidate pairs
(`rules._judge`) and unions them strongest first through the union-find (`unionfind`),
which refuses what would make a cluster two editions.  A record whose best matches lie
in two clusters that cannot be one (Pride and prejudice, Penguin, no year, no ISBN)
joins neither (`_drop_ambiguous`).  Blocks are processed in a fixed order, so the result
does not depend on input order; and since blocks that share no record never affect each
other, the components of the block graph can be clustered in several processes
(`run(shard, shards)`, `finish`) with the very same result.  Cluster ids are anchored
on an ISBN or a record key (`_cluster_ids`), so they stay stable across runs.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harvest.matching.blocking import (
    BLOCK_LIMIT,
    _block_hash,
    _blocks,
    _named_blocks,
    _rep_pairs,
    _set_stems,
    _signature,
)
from harvest.matching.keys import MatchRecord
from harvest.matching.rules import ISBN_YEAR_GAP, YEAR_SLACK, _judge, _quick_check
from harvest.matching.unionfind import _Clusters


@dataclass
class ClusterResult:
    """Assignment plus the edges that built each cluster (for "why merged")."""

    clusters: dict[str, str]  # record key → cluster id
    edges: list[tuple[str, str, str]]  # (key, key, rule) for every union made
    refused: int = 0  # unions a cluster-level constraint or a split prevented
    ambiguous: int = 0  # records left alone because they matched two incompatible clusters


@dataclass
class ShardResult:
    """One process's share of a clustering (`Clustering.run`)."""

    roots: bytes  # array("q"): the cluster root (record number) of each record, -1: not ours
    edges: list[tuple[tuple[int, int], str, str, str]]  # ((block, order), key, key, rule)
    refused: int
    ambiguous: int
    records: str  # `Clustering.fingerprint`: which records, in which order, this share saw


class Clustering:
    """One clustering run: the records in key order, their blocks in processing order
    (ISBN stems sorted, exact titles, prefix/suffix keys; see `blocking._blocks`) and the
    union-find they feed.

    A union only ever joins records of one connected component of the block graph, and
    the librarians' merges and splits never reach outside one either: components are
    independent.  `run(shard, shards)` therefore clusters whole components only — every
    process builds the same blocks from the same records and takes its share — and
    `finish` combines the shares; the result is exactly that of one process.
    """

    def __init__(self, records: Iterable[MatchRecord],
                 cannot_link: Collection[frozenset[str]] = frozenset(),
                 must_link: Collection[frozenset[str]] = frozenset(),
                 year_slack: int | None = None,
                 focus: Collection[str] | None = None,
                 whole: Mapping[int, tuple[str, bool]] | None = None) -> None:
        self.slack = YEAR_SLACK if year_slack is None else year_slack
        self.recs = recs = sorted(records, key=lambda r: r.key)
        index = {r.key: i for i, r in enumerate(recs)}
        # Only the blocks and librarian merges that hold one of these records are run
        # (an incremental merge: see `harvest.merge`); None: all of them.
        self.focus = None if focus is None else {index[k] for k in focus if k in index}
        # Block number → big (`BLOCK_LIMIT`) as decided on the whole block in the store,
        # for an incremental run given only part of its blocks' records (`_whole_blocks`).
        self.big: dict[int, bool] = {}
        cannot: dict[int, set[int]] = {}
        for pair in cannot_link:
            ks = sorted(pair)
            if len(ks) == 2 and ks[0] in index and ks[1] in index:
                i, j = index[ks[0]], index[ks[1]]
                cannot.setdefault(i, set()).add(j)
                cannot.setdefault(j, set()).add(i)
        self.must: list[tuple[int, int]] = []
        for ends in sorted(tuple(sorted(p)) for p in must_link if len(p) == 2):
            x, y = index.get(ends[0]), index.get(ends[1])
            if x is not None and y is not None:
                self.must.append((x, y))
        self.set_stems = _set_stems(recs)
        self.uf = _Clusters(recs, cannot, self.slack, self.set_stems)
        if whole is None:
            self.blocks = _blocks(recs)
        else:
            named = _named_blocks(recs)
            self.blocks = [(members, rule) for members, rule, _ in named]
            self._whole_blocks(named, whole)
        self.edges: list[tuple[tuple[int, int], str, str, str]] = []
        self.ambiguous = 0

    def _whole_blocks(self, named: Sequence[tuple[list[int], str, tuple[str, Any]]],
                      whole: Mapping[int, tuple[str, bool]]) -> None:
        """An incremental run on the focus and only part of the other records of its
        blocks: `whole` gives each such block (by `block_hashes` hash) its first record
        in the store and its big/small mode.  With that first record given, the block
        stands where a full run lists it (`_named_blocks` orders blocks by first record);
        the rest of its members are not needed (`harvest.merge`: no pair with one of them
        can be a candidate).  ValueError when a run block is not described, or its first
        record is missing (a hash collision of two blocks)."""
        focus = self.focus
        for number, (members, _, name) in enumerate(named):
            if focus is None or focus.isdisjoint(members):
                continue
            block = _block_hash(*name)
            first, big = whole.get(block, ("", False))
            if self.recs[members[0]].key != first:
                raise ValueError(f"block {block} ({name[0]}): its first record "
                                 f"{first or '(not given)'} is not loaded")
            self.big[number] = big

    def _shares(self, shards: int) -> tuple[list[int], list[int], list[int]]:
        """The shard of each librarian merge, of each block and of each record (-1: in
        none): whole components, each to the shard with the fewest block members so far,
        in order of first block."""
        parent = list(range(len(self.recs)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        groups = [[i, j] for i, j in self.must] + [members for members, _ in self.blocks]
        for members in groups:
            a = find(members[0])
            for j in members[1:]:
                b = find(j)
                if a != b:
                    parent[b] = a
        load = [0] * shards
        owner: dict[int, int] = {}
        shard_of: list[int] = []
        for members in groups:
            root = find(members[0])
            shard = owner.get(root)
            if shard is None:
                shard = owner[root] = load.index(min(load))
            load[shard] += len(members)
            shard_of.append(shard)
        records = [owner.get(find(i), -1) for i in range(len(self.recs))]
        return shard_of[:len(self.must)], shard_of[len(self.must):], records

    def run(self, shard: int = 0, shards: int = 1) -> ShardResult:
        """Cluster this shard's components (all of them with one shard)."""
        if shards > 1:
            must_shard, block_shard, record_shard = self._shares(shards)
        else:
            must_shard, block_shard = [0] * len(self.must), [0] * len(self.blocks)
            record_shard = [0] * len(self.recs)
        focus = self.focus
        for n, (i, j) in enumerate(self.must):
            if focus is not None and i not in focus and j not in focus:
                continue
            if must_shard[n] == shard and self.uf.union(i, j, forced=True):
                self.edges.append(((-1, n), self.recs[i].key, self.recs[j].key, "librarian"))
        for number, (members, rule) in enumerate(self.blocks):
            if focus is not None and focus.isdisjoint(members):
                continue
            if block_shard[number] == shard:
                self._run_block(number, members, rule)
        roots = array("q", (self.uf.find(i) if owner == shard else -1
                            for i, owner in enumerate(record_shard)))
        return ShardResult(roots.tobytes(), self.edges, self.uf.refused, self.ambiguous,
                           self.fingerprint())

    def fingerprint(self) -> str:
        """A digest of the record keys in order: shares combine by record number, so they
        must all have read the same records."""
        digest = hashlib.sha1(usedforsecurity=False)
        for r in self.recs:
            digest.update(r.key.encode("utf-8") + b"\n")
        return digest.hexdigest()

    def finish(self, shares: Sequence[ShardResult]) -> ClusterResult:
        """Combine the shares of every shard (this object's own `run` included); ValueError
        if one of them read other records (the store changed in between)."""
        own = self.fingerprint()
        if any(share.records != own for share in shares):
            raise ValueError("the shares of the clustering read different records")
        parent = self.uf.parent
        for share in shares:
            roots = array("q")
            roots.frombytes(share.roots)
            for i, root in enumerate(roots):
                if root >= 0:
                    parent[i] = root
        edges = heapq.merge(*(share.edges for share in shares), key=lambda e: e[0])
        return ClusterResult(_cluster_ids(self.recs, self.uf, self._id_scope()),
                             [e[1:] for e in edges],
                             sum(share.refused for share in shares),
                             sum(share.ambiguous for share in shares))

    def _id_scope(self) -> list[int] | None:
        """The records whose ids an incremental run must compute: the focus, and every
        record sharing an ISBN with it (whether an ISBN anchors a cluster depends on who
        else holds it); None: all."""
        if self.focus is None:
            return None
        isbns = {i for n in self.focus for i in self.recs[n].isbns}
        return [n for n, r in enumerate(self.recs)
                if n in self.focus or not isbns.isdisjoint(r.isbns)]

    def _drop_ambiguous(self, cands: list[tuple[int, int, int, int]]
                        ) -> list[tuple[int, int, int, int]]:
        """A record whose best fuzzy matches lie in two clusters that cannot be one (two
        ISBNs, two authors, years apart) does not know which it is: it joins neither.
        Where one cluster scores higher, only the edges to it are kept."""
        per: dict[int, list[tuple[int, int]]] = {}
        for s, i, j, _ in cands:
            if -s < 100:
                per.setdefault(i, []).append((-s, j))
                per.setdefault(j, []).append((-s, i))
        drop: set[tuple[int, int]] = set()
        for x, partners in per.items():
            if len(partners) < 2:
                continue
            best: dict[int, int] = {}
            for s, p in partners:
                r = self.uf.find(p)
                best[r] = max(best.get(r, 0), s)
            if len(best) < 2:
                continue
            top = max(best.values())
            leaders = sorted(r for r in best if best[r] == top)
            if len(leaders) > 40 or not all(
                    self.uf.could_be_one(r1, r2)
                    for n, r1 in enumerate(leaders) for r2 in leaders[n + 1:]):
                self.ambiguous += 1
                drop.update((x, p) for _, p in partners)
                continue
            rivals = {r for r in best if best[r] < top
                      and not all(self.uf.could_be_one(lead, r) for lead in leaders)}
            drop.update((x, p) for _, p in partners if self.uf.find(p) in rivals)
        if not drop:
            return cands
        return [c for c in cands if (c[1], c[2]) not in drop and (c[2], c[1]) not in drop]

    def _run_block(self, number: int, members: list[int], rule: str) -> None:
        """Judge the candidate pairs of one block, then union strongest first.

        Records with identical normalized fields are judged once against their first
        occurrence, so a block of 500 copies of one famous edition costs 500 judgements,
        not 125,000."""
        reps: list[int] = []
        by_sig: dict[tuple[Any, ...], int] = {}
        cands: list[tuple[int, int, int, int]] = []
        focus = self.focus
        for i in members:
            sig = _signature(self.recs[i])
            rep = by_sig.get(sig)
            if rep is None:
                by_sig[sig] = i
                reps.append(i)
                continue
            s, flags = _judge(self.recs[rep], self.recs[i], None, self.slack, self.set_stems)
            if s:
                if focus is None or i in focus or rep in focus:
                    cands.append((-s, rep, i, flags))
            else:
                reps.append(i)
        # decided on the whole block, as a full run does
        big = self.big.get(number, len(reps) > BLOCK_LIMIT)
        if focus is not None:
            # An incremental run: pairs of two other records cannot change the focus's
            # clusters (a candidate of a focus record is in the focus), so only pairs with
            # a focus record are judged; pairs are decided by their two records alone.
            reps = [i for i in reps if i in focus]
        for i, j in _rep_pairs(self.recs, reps, self.slack, self.set_stems, big):
            if self.uf.find(i) == self.uf.find(j):
                continue
            s, flags = _judge(self.recs[i], self.recs[j], None, self.slack, self.set_stems)
            if s:
                cands.append((-s, i, j, flags))
        if len(cands) > 1:
            cands = self._drop_ambiguous(cands)
        cands.sort()
        for s, i, j, flags in cands:
            isbn = -s >= 100
            if self.uf.union(i, j, fuzzy=not isbn, flags=flags):
                self.edges.append(((number, len(self.edges)), self.recs[i].key, self.recs[j].key,
                                   "isbn" if isbn else rule))


def may_be_candidates(a: MatchRecord, b: MatchRecord, year_slack: int | None = None) -> bool:
    """Could a clustering make (a, b) a candidate pair, if they share a block?  The pair's
    judgement with both records' ISBNs counted as set ISBNs, which only lifts vetoes
    (`rules._quick_check`, `rules._stems_rule`): true whenever any clustering's is.  An
    incremental merge follows these pairs to find what a change can reach."""
    x, y = (a, b) if a.key < b.key else (b, a)
    slack = YEAR_SLACK if year_slack is None else year_slack
    if not _quick_check(x, y, slack, _SOME_SET_STEM):  # most pairs of a block end here
        return False
    return _judge(x, y, None, slack, frozenset(x.stems) | frozenset(y.stems))[0] > 0


#: A non-empty set ISBN collection for `_quick_check`, which only asks whether any exists.
_SOME_SET_STEM = ("",)

#: A record's flags in the block table (`candidate_flags`).
HAS_STEMS, HAS_VOLUME = 1, 2


def candidate_flags(r: MatchRecord) -> int:
    """What `candidate_filter` reads of a block member besides its year."""
    return (HAS_STEMS if r.stems else 0) | (HAS_VOLUME if r.volume else 0)


def candidate_filter(r: MatchRecord, stem_block: bool, year_slack: int | None = None
                     ) -> tuple[int | None, int | None, int, int]:
    """Which members of one of r's blocks may be a candidate of r, by their year and
    `candidate_flags` alone: (lowest year, highest year, mask, value) — a member passes
    when its year is missing or within the bounds (None: any year) and its flags & mask
    != value.  A necessary condition of `may_be_candidates(r, b)` (its `_quick_check`)
    over all r's blocks together: in an ISBN-stem block (`stem_block`), the years of a
    shared ISBN; in any other, a member sharing no ISBN stem with r (one that shares
    one is in that stem's block too): no two sets of stems unless both are volumes, and
    the years of the fuzzy rules.  An incremental merge decodes only the members that
    pass (`harvest.merge`)."""
    slack = YEAR_SLACK if year_slack is None else year_slack
    window = max(slack, ISBN_YEAR_GAP) if stem_block else slack
    lo, hi = (None, None) if r.year is None else (r.year - window, r.year + window)
    if stem_block or not r.stems:
        return lo, hi, 0, 1  # flags & 0 is never 1: any flags
    if r.volume:  # another record's stems are "different" unless both are volumes
        return lo, hi, HAS_STEMS | HAS_VOLUME, HAS_STEMS
    return lo, hi, HAS_STEMS, HAS_STEMS


def signature_merges(r: MatchRecord) -> bool:
    """Do two records with r's signature (`blocking._signature`) judge as one?  Then a
    block keeps only the first of them as a representative (`_run_block`), else all of
    them: what an incremental merge needs to count a block's representatives from the
    signature hashes of the block table.  The ISBN rule does not depend on set ISBNs
    between two records with the same ISBNs, nor the stems rule, so none are given; nor
    the year slack, as a record's year is its own."""
    return _judge(r, r, None, YEAR_SLACK)[0] > 0


def cluster_detailed(records: Iterable[MatchRecord],
                     cannot_link: Collection[frozenset[str]] = frozenset(),
                     must_link: Collection[frozenset[str]] = frozenset(),
                     year_slack: int | None = None) -> ClusterResult:
    """Cluster records; see `cluster`.  Also returns the union edges with their rule."""
    clustering = Clustering(records, cannot_link, must_link, year_slack)
    return clustering.finish([clustering.run()])


def _cluster_id(anchor: str) -> str:
    """Same hash as `harvest.merge`: ids of ISBN-only clusters do not change."""
    return hashlib.sha1(anchor.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def lone_cluster_id(record: MatchRecord) -> str:
    """The id `cluster` gives `record` when no other record shares its cluster or one of
    its ISBNs (the anchor rule of `_cluster_ids`).  A bulk load stores it with the record,
    so the merge afterwards rewrites only the rows whose cluster turns out otherwise — a
    fifth of them, not a million 2 KB rows."""
    return _cluster_id("i:" + min(record.isbns) if record.isbns else "r:" + record.key)


def _cluster_ids(recs: Sequence[MatchRecord], uf: _Clusters,
                 scope: Sequence[int] | None = None) -> dict[str, str]:
    """Anchor = the cluster's smallest ISBN that no other cluster has (as in
    `harvest.merge`: "i:" + ISBN), else its smallest record key ("r:" + key).  A set
    ISBN shared by the clusters of its volumes anchors none of them, so ids never
    collide; ids stay stable across runs and input order.

    One pass over the records for each step, no per-cluster lists: most of a million
    clusters are single records."""
    if scope is not None:  # the ids of whole clusters only (`Clustering._id_scope`)
        recs = [recs[i] for i in scope]
        roots = [uf.find(i) for i in scope]
    else:
        roots = [uf.find(i) for i in range(len(recs))]
    owner: dict[str, int] = {}
    shared: set[str] = set()
    for r, root in zip(recs, roots, strict=True):
        for isbn in r.isbns:
            if owner.setdefault(isbn, root) != root:
                shared.add(isbn)
    anchors: dict[int, str] = {}
    # Records are in key order, so a cluster's first record has its smallest key.
    for r, root in zip(recs, roots, strict=True):
        own = [isbn for isbn in r.isbns if isbn not in shared]
        best = anchors.get(root)
        if own:
            anchor = "i:" + min(own)
            if best is None or best.startswith("r:") or anchor < best:
                anchors[root] = anchor
        elif best is None:
            anchors[root] = "r:" + r.key
    ids = {root: _cluster_id(anchor) for root, anchor in anchors.items()}
    return {r.key: ids[root] for r, root in zip(recs, roots, strict=True)}


def cluster(records: Iterable[MatchRecord],
            cannot_link: Collection[frozenset[str]] = frozenset(),
            must_link: Collection[frozenset[str]] = frozenset(),
            year_slack: int | None = None) -> dict[str, str]:
    """{record key: cluster id} for every record.

    `cannot_link` are librarian splits (pairs of record keys): no cluster ever holds both,
    whatever ISBNs or chains of other records say.  `must_link` are librarian merges,
    applied first and past the vetoes (a split of the same pair wins).  Records given
    with only a key and ISBNs cluster exactly as `harvest.merge.assign_clusters` does.
    """
    return cluster_detailed(records, cannot_link, must_link, year_slack).clusters
