"""The union-find of a clustering: `_Clusters`, whose unions keep a cluster one edition.

A pair that matches is only a candidate: the union re-checks volumes, editions, ISBN
stems, authors, years, 一号多书 and the librarians' splits between the two whole
clusters (`_Clusters` says why the pairwise rules are not enough).  `clustering`
decides which unions to try and in which order; this module only keeps them honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harvest.matching.keys import MatchRecord
from harvest.matching.normalize import editions_compatible, volumes_compatible
from harvest.matching.relations import _DIFFERENT, _person_relation, _title_and_author_differ
from harvest.matching.rules import _PART_IN_TITLE, _WEAK_AUTHOR, _WEAK_YEAR, ISBN_YEAR_GAP

#: Distinct (title, authors) descriptions a cluster keeps to test a union for 一号多书
#: through a third record; a cluster described more ways than this (a famous book every
#: library typed its own way) is tested on its first ones only, so a union stays cheap.
CLUSTER_DESCRIPTIONS = 8


class _Clusters:
    """Union-find whose unions re-check the vetoes between whole clusters.

    Pairwise rules are not transitive: a record without an ISBN can match both the 2008
    and the 2009 printing, a record without an author two same-titled books by different
    people, "第12卷" both "第12卷 农业志" and "第12卷 林业志", 形势概论 by 秦林娜 both
    区域概论 by 秦林娜 and 形势概论 by 杜辉 under one re-used ISBN.  Each root therefore
    carries what must stay consistent in a cluster (volumes, editions, ISBN stems,
    authors, year span, its distinct title/author descriptions) and the librarian's
    splits, and a union that would break them is refused.  The per-root sets are
    created lazily: most records never join anything.
    """

    def __init__(self, recs: Sequence[MatchRecord], cannot: dict[int, set[int]],
                 year_slack: int, set_stems: frozenset[str]) -> None:
        n = len(recs)
        self.parent = list(range(n))
        self.size = [1] * n
        self.recs = recs
        self.slack = year_slack
        self.set_stems = set_stems
        self.stems: dict[int, frozenset[str]] = {}
        self.authors: dict[int, frozenset[str]] = {}
        self.years: dict[int, tuple[int, int] | None] = {}
        self.vols: dict[int, frozenset[str]] = {}
        self.eds: dict[int, frozenset[str]] = {}
        self.adopted: dict[int, frozenset[str]] = {}  # titles that carry the cluster's part
        self.described: dict[int, tuple[int, ...]] = {}  # a record per distinct description
        # Librarian splits: partners of any member, and the members that have partners.
        self.blocked: dict[int, set[int]] = {i: set(p) for i, p in cannot.items()}
        self.members: dict[int, set[int]] = {i: {i} for i in cannot}
        self.refused = 0

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _stems(self, root: int) -> frozenset[str]:
        got = self.stems.get(root)
        if got is not None:
            return got
        r = self.recs[root]
        return frozenset(r.stems) - self.set_stems if r.volume else frozenset(r.stems)

    def _authors(self, root: int) -> frozenset[str]:
        got = self.authors.get(root)
        return frozenset(self.recs[root].authors) if got is None else got

    def _years(self, root: int) -> tuple[int, int] | None:
        if root in self.years:
            return self.years[root]
        y = self.recs[root].year
        return None if y is None else (y, y)

    def _vols(self, root: int) -> frozenset[str]:
        got = self.vols.get(root)
        return frozenset((self.recs[root].volume,)) if got is None else got

    def _eds(self, root: int) -> frozenset[str]:
        got = self.eds.get(root)
        return frozenset((self.recs[root].edition,)) if got is None else got

    def _merged_described(self, ra: int, rb: int, forced: bool) -> tuple[int, ...]:
        """A record per distinct description of the union; () once a librarian merged
        the cluster (they said what it is: a third copy of either side must still join)."""
        recs, described = self.recs, self.described
        da, db = described.get(ra, (ra,)), described.get(rb, (rb,))
        if forced or not da or not db:
            return ()
        seen = [_description(recs[i]) for i in da]
        out = list(da)
        for i in db:  # db's descriptions differ from each other: compare with da's only
            if len(out) >= CLUSTER_DESCRIPTIONS:
                break
            if _description(recs[i]) not in seen:
                out.append(i)
        return tuple(out)

    def _two_books(self, ra: int, rb: int) -> bool:
        """Would the union hold two books of one re-used ISBN?  Each pair was judged on
        its own, but 形势概论 by 秦林娜 matches both 区域概论 by 秦林娜 (same author) and
        形势概论 by 杜辉 (same title): the union would make the two one."""
        recs, described = self.recs, self.described
        db = described.get(rb, (rb,))
        for i in described.get(ra, (ra,)):
            x = recs[i]
            for j in db:
                if _title_and_author_differ(x, recs[j]):
                    return True
        return False

    def _split_forbids(self, ra: int, rb: int) -> bool:
        if ra not in self.blocked or rb not in self.blocked:
            return False
        ma, mb = self.members[ra], self.members[rb]
        ba, bb = self.blocked[ra], self.blocked[rb]
        if len(ma) > len(mb):
            ma, bb = mb, ba
        return any(m in bb for m in ma)

    def _merged_vols(self, ra: int, rb: int, flags: int) -> frozenset[str] | None:
        """The volumes of the union, or None if two of them are different parts.

        A cluster without a volume takes the other's when its title carries that part
        (this edge found it, or the other cluster already took in a record titled so)."""
        va, vb = self._vols(ra), self._vols(rb)
        if va == {""} and vb != va and (flags & _PART_IN_TITLE or self.recs[ra].title
                                        in self.adopted.get(rb, ())):
            va = vb
        elif vb == {""} and va != vb and (flags & _PART_IN_TITLE or self.recs[rb].title
                                          in self.adopted.get(ra, ())):
            vb = va
        if any(not volumes_compatible(x, y) for x in va for y in vb if x != y):
            return None
        return va | vb

    def could_be_one(self, ra: int, rb: int) -> bool:
        """Could two clusters be one edition?  (For the ambiguity test: a record matching
        both is only ambiguous if they cannot.)  Years may overlap rather than chain."""
        if self.conflict(ra, rb, True, _WEAK_AUTHOR):
            return False
        ya, yb = self._years(ra), self._years(rb)
        return not (ya and yb) or max(ya[0], yb[0]) - min(ya[1], yb[1]) <= self.slack

    def conflict(self, ra: int, rb: int, fuzzy: bool, flags: int) -> bool:
        if self._merged_vols(ra, rb, flags) is None:
            return True
        ea, eb = self._eds(ra), self._eds(rb)
        if any(not editions_compatible(x, y) for x in ea for y in eb if x != y):
            return True
        if self._two_books(ra, rb):
            return True
        ya, yb = self._years(ra), self._years(rb)
        span = max(ya[1], yb[1]) - min(ya[0], yb[0]) if ya and yb else 0
        if not fuzzy:
            return span > ISBN_YEAR_GAP
        sa, sb = self._stems(ra), self._stems(rb)
        if sa and sb and not (sa & sb):
            return True  # would bridge two different ISBNs
        if flags & _WEAK_AUTHOR:
            aa, ab = self._authors(ra), self._authors(rb)
            if aa and ab and not (aa & ab) and not any(
                    _person_relation(x, y) != _DIFFERENT for x in aa for y in ab):
                return True  # would bridge two different authors
        # A weak year must not chain years further apart than the slack.
        return bool(flags & _WEAK_YEAR) and span > self.slack

    def union(self, a: int, b: int, fuzzy: bool = False, flags: int = 0,
              forced: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._split_forbids(ra, rb) or (not forced and self.conflict(ra, rb, fuzzy, flags)):
            self.refused += 1
            return False
        vols = self._merged_vols(ra, rb, flags) or (self._vols(ra) | self._vols(rb))
        adopted = self.adopted.get(ra, frozenset()) | self.adopted.get(rb, frozenset())
        for r in (ra, rb):
            if self._vols(r) == {""} and vols != {""}:
                adopted |= {self.recs[r].title}
        eds = self._eds(ra) | self._eds(rb)
        stems, authors = self._stems(ra) | self._stems(rb), self._authors(ra) | self._authors(rb)
        ya, yb = self._years(ra), self._years(rb)
        described = self._merged_described(ra, rb, forced)
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.stems[ra], self.authors[ra], self.vols[ra], self.eds[ra] = (
            stems, authors, vols, eds)
        self.years[ra] = (ya if yb is None else yb if ya is None
                          else (min(ya[0], yb[0]), max(ya[1], yb[1])))
        if len(described) != 1:  # one: the root's own record describes them all
            self.described[ra] = described
        if adopted:
            self.adopted[ra] = adopted
        for d in (self.stems, self.authors, self.years, self.vols, self.eds, self.adopted,
                  self.described):
            d.pop(rb, None)
        if rb in self.blocked:
            self.blocked.setdefault(ra, set()).update(self.blocked.pop(rb))
            self.members.setdefault(ra, set()).update(self.members.pop(rb))
        return True


def _description(r: MatchRecord) -> tuple[Any, ...]:
    """What `_title_and_author_differ` reads of a record."""
    return (r.title, r.title_full, r.authors, r.resp)
