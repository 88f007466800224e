"""Clusters, blocks and the union-find as tables: small `MatchRecord`s in; the unions made
or refused, the blocks and candidate pairs, the cluster ids and the shares out.

`test_matching.py` clusters real-looking catalogue records end to end; these rows pin
the three modules under it one decision at a time (issue 21: each mutant of
`harvest/matching/unionfind.py`, `blocking.py` and `clustering.py` should fail a row).
Records are built as `MatchRecord`s directly — already normalized — so each row says
exactly which field the decision reads.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence

import pytest

from harvest.matching import (
    BLOCKS_VERSION,
    Clustering,
    MatchRecord,
    block_hashes,
    cluster,
    cluster_detailed,
    lone_cluster_id,
    may_be_candidates,
    stem_block_hashes,
)
from harvest.matching.blocking import (
    BLOCK_LIMIT,
    _block_hash,
    _block_text,
    _blocks,
    _group_pairs,
    _named_blocks,
    _rep_pairs,
    _set_stems,
    _volume_slots,
    _year_mates,
    signature_hash,
)
from harvest.matching.clustering import (
    HAS_STEMS,
    HAS_VOLUME,
    candidate_filter,
    candidate_flags,
    signature_merges,
)
from harvest.matching.rules import _PART_IN_TITLE, _WEAK_AUTHOR, _WEAK_YEAR
from harvest.matching.unionfind import CLUSTER_DESCRIPTIONS, _Clusters

S1, S2, SET = "978730000001", "978730000002", "978730000009"  # ISBN stems


def r(key: str, **fields: object) -> MatchRecord:
    """A record of one book, 红楼梦 unless told otherwise."""
    return MatchRecord(key, **{"title": "红楼梦", **fields})  # type: ignore[arg-type]


def uf(*recs: MatchRecord, cannot: dict[int, set[int]] | None = None, slack: int = 0,
       set_stems: frozenset[str] = frozenset()) -> _Clusters:
    return _Clusters(recs, cannot or {}, slack, set_stems)


def one_cluster(u: _Clusters, *members: int) -> bool:
    return len({u.find(i) for i in members}) == 1


# ------------------------------------------------------------------ unionfind.py
# Two records, one union: (record a, record b, fuzzy, flags, year slack, joined).

_TWO = [
    pytest.param(r("a", volume="1"), r("b", volume="1"), False, 0, 0, True, id="same volume"),
    pytest.param(r("a", volume="1"), r("b", volume="2"), False, 0, 0, False, id="two volumes"),
    pytest.param(r("a"), r("b", volume="1"), False, 0, 0, False, id="set and volume"),
    pytest.param(r("a", volume="1"), r("b"), False, 0, 0, False, id="volume and set"),
    pytest.param(r("a", volume="1"), r("b", volume="1|农业志"), False, 0, 0, True,
                 id="one volume said two ways"),
    pytest.param(r("a"), r("b", volume="1"), True, _PART_IN_TITLE, 0, True,
                 id="part in a's title"),
    pytest.param(r("a", volume="1"), r("b"), True, _PART_IN_TITLE, 0, True,
                 id="part in b's title"),
    pytest.param(r("a", volume="1|农业志"), r("b", volume="1|林业志"), False, 0, 0, False,
                 id="one number, two part names"),
    pytest.param(r("a", edition="2"), r("b"), False, 0, 0, False, id="second edition"),
    pytest.param(r("a", edition="~影印本"), r("b"), False, 0, 0, True,
                 id="unread edition against silence"),
    pytest.param(r("a", author="秦林娜", authors=("秦林娜",), title="区域概论"),
                 r("b", author="杜辉", authors=("杜辉",), title="形势概论"), False, 0, 0, False,
                 id="two books of one ISBN"),
    pytest.param(r("a", author="秦林娜", authors=("秦林娜",), title="区域概论"),
                 r("b", author="秦林娜", authors=("秦林娜",), title="形势概论"), False, 0, 0,
                 True, id="one author, two titles"),
    pytest.param(r("a", year=2000), r("b", year=2002), False, 0, 0, True, id="ISBN years 2"),
    pytest.param(r("a", year=2000), r("b", year=2003), False, 0, 0, False, id="ISBN years 3"),
    pytest.param(r("a", year=2000), r("b"), False, 0, 0, True, id="ISBN year missing"),
    pytest.param(r("a", year=2000), r("b", year=2003), True, 0, 0, True,
                 id="fuzzy years not weak"),
    pytest.param(r("a", year=2000), r("b", year=2001), True, _WEAK_YEAR, 0, False,
                 id="weak year past slack"),
    pytest.param(r("a", year=2000), r("b", year=2001), True, _WEAK_YEAR, 1, True,
                 id="weak year within slack"),
    pytest.param(r("a", year=2000), r("b"), True, _WEAK_YEAR, 0, True, id="weak year missing"),
    pytest.param(r("a", stems=(S1,)), r("b", stems=(S2,)), True, 0, 0, False,
                 id="fuzzy bridges two ISBNs"),
    pytest.param(r("a", stems=(S1,)), r("b", stems=(S2,)), False, 0, 0, True,
                 id="ISBN union reads no stems"),
    pytest.param(r("a", stems=(S1, S2)), r("b", stems=(S2,)), True, 0, 0, True,
                 id="fuzzy shares a stem"),
    pytest.param(r("a", stems=(S1,)), r("b"), True, 0, 0, True, id="fuzzy one ISBN"),
    pytest.param(r("a", volume="1", stems=(SET,)), r("b", volume="1", stems=(S2,)), True, 0, 0,
                 True, id="a set ISBN is no ISBN of a volume"),
    pytest.param(r("a", stems=(SET,)), r("b", stems=(S2,)), True, 0, 0, False,
                 id="a set ISBN on a whole set is one"),
    pytest.param(r("a", authors=("曹雪芹",)), r("b", authors=("杜辉",)), True, _WEAK_AUTHOR, 0,
                 False, id="weak author bridges two people"),
    pytest.param(r("a", authors=("曹雪芹",)), r("b", authors=("杜辉",)), True, 0, 0, True,
                 id="authors read only when weak"),
    pytest.param(r("a", authors=("曹雪芹",)), r("b", authors=("曹雪芦",)), True, _WEAK_AUTHOR,
                 0, True, id="one typo in a name"),
    pytest.param(r("a", authors=("曹雪芹",)), r("b", authors=("xueqin,cao",)), True,
                 _WEAK_AUTHOR, 0, True, id="two scripts"),
    pytest.param(r("a", authors=("曹雪芹", "高鹗")), r("b", authors=("高鹗",)), True,
                 _WEAK_AUTHOR, 0, True, id="a shared author"),
    pytest.param(r("a", authors=("曹雪芹",)), r("b"), True, _WEAK_AUTHOR, 0, True,
                 id="no author"),
]


@pytest.mark.parametrize(("a", "b", "fuzzy", "flags", "slack", "joined"), _TWO)
def test_union_of_two_records(a: MatchRecord, b: MatchRecord, fuzzy: bool, flags: int,
                              slack: int, joined: bool) -> None:
    u = uf(a, b, slack=slack, set_stems=frozenset({SET}))
    assert u.union(0, 1, fuzzy=fuzzy, flags=flags) is joined
    assert one_cluster(u, 0, 1) is joined
    assert u.refused == (not joined)
    assert u.union(0, 1, forced=True) is not joined  # a librarian's merge passes the vetoes


# A chain: each union of `first` is allowed on its own; the last one would make the
# cluster two editions, though its two records alone would match.
# (records, unions first as (a, b, fuzzy, flags), last union, joined)

_P, _A, _Y = _PART_IN_TITLE, _WEAK_AUTHOR, _WEAK_YEAR

_CHAINS = [
    pytest.param([r("a"), r("b", volume="1"), r("c", volume="2")], [(0, 1, True, _P)],
                 (0, 2, True, _P), False, id="a title took part 1: not part 2"),
    pytest.param([r("a"), r("b", volume="1"), r("c", volume="2")], [(0, 1, True, _P)],
                 (2, 0, True, _P), False, id="the same, other order"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦第1卷")],
                 [(0, 1, True, _P)], (2, 1, True, 0), True,
                 id="a title the cluster adopted needs no flag"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦第1卷")],
                 [(0, 1, True, _P)], (1, 2, True, 0), True, id="adopted, other order"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦上")],
                 [(0, 1, True, _P)], (2, 1, True, 0), False, id="another title is not adopted"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦第1卷"),
                  r("d", volume="1")],
                 [(0, 1, True, _P), (3, 2, True, _P)], (0, 3, True, 0), True,
                 id="adopted titles of both clusters"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦卷一"),
                  r("d", volume="1"), r("e", title="红楼梦第1卷")],
                 [(0, 1, True, _P), (2, 3, True, _P), (1, 3, False, 0)], (4, 0, True, 0), True,
                 id="adopted titles of the first cluster kept"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦卷一"),
                  r("d", volume="1"), r("e", title="红楼梦卷一")],
                 [(0, 1, True, _P), (2, 3, True, _P), (1, 3, False, 0)], (4, 0, True, 0), True,
                 id="adopted titles of the second cluster kept"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1"), r("c", title="红楼梦卷一"),
                  r("e", title="红楼梦第1卷")],
                 [(0, 1, True, _P), (2, 0, True, _P)], (3, 0, True, 0), True,
                 id="a title adopted later keeps the earlier"),
    pytest.param([r("a", volume="1"), r("b", volume="1"), r("c")], [(0, 1, False, 0)],
                 (2, 0, True, 0), False, id="a volume's own title is not adopted"),
    pytest.param([r("a", volume="1"), r("b", volume="1|农业志"), r("c", volume="1"),
                  r("d", volume="1|林业志")], [(0, 1, False, 0), (2, 0, False, 0)],
                 (3, 0, False, 0), False, id="every volume said is kept"),
    pytest.param([r("a"), r("b", edition="~影印本"), r("c", edition="~精装本")],
                 [(0, 1, False, 0)], (2, 0, False, 0), False, id="two unread editions"),
    pytest.param([r("a", stems=(S1,)), r("b"), r("c", stems=(S2,))], [(0, 1, True, 0)],
                 (1, 2, True, 0), False, id="stems of the cluster"),
    pytest.param([r("a", stems=(S1,)), r("b"), r("c", stems=(S2,))], [(1, 0, True, 0)],
                 (2, 1, True, 0), False, id="stems of the cluster, other order"),
    pytest.param([r("a", authors=("张三",)), r("b"), r("c", authors=("李四",))],
                 [(0, 1, True, _A)], (1, 2, True, _A), False, id="authors of the cluster"),
    pytest.param([r("a", authors=("张三",)), r("b"), r("c", authors=("李四",))],
                 [(1, 0, True, _A)], (2, 1, True, _A), False,
                 id="authors of the cluster, other order"),
    pytest.param([r("a", year=2000), r("b"), r("c", year=2003)], [(0, 1, False, 0)],
                 (1, 2, False, 0), False, id="year of the cluster"),
    pytest.param([r("a", year=2000), r("b"), r("c", year=2003)], [(1, 0, False, 0)],
                 (2, 1, False, 0), False, id="year of the cluster, other order"),
    pytest.param([r("a", year=2000), r("b", year=2002), r("c", year=2004)], [(0, 1, False, 0)],
                 (1, 2, False, 0), False, id="the span from the first year"),
    pytest.param([r("a", year=2000), r("b", year=2002), r("c", year=2004)], [(0, 1, False, 0)],
                 (2, 1, False, 0), False, id="the span from the first year, other side"),
    pytest.param([r("a", year=2004), r("b", year=2002), r("c", year=2000)], [(0, 1, False, 0)],
                 (1, 2, False, 0), False, id="the span from the last year"),
    pytest.param([r("a", year=2000), r("b", year=2002), r("c", year=2001)], [(0, 1, False, 0)],
                 (2, 1, False, 0), True, id="a year inside the span"),
    pytest.param([r("a", year=2000), r("b", year=2002), r("c", year=2001), r("d", year=2003)],
                 [(0, 1, False, 0), (0, 2, False, 0)], (3, 0, False, 0), False,
                 id="a year inside the span keeps its start"),
    pytest.param([r("a", year=2000), r("b", year=2002), r("c", year=2001), r("d", year=2003)],
                 [(0, 1, False, 0), (2, 0, False, 0)], (3, 0, False, 0), False,
                 id="a span joining a year keeps its start"),
    pytest.param([r("a", year=2000), r("b"), r("c", year=2001)], [(0, 1, True, _Y)],
                 (2, 1, True, _Y), False, id="weak year against the cluster's"),
    pytest.param([r("a", title="形势概论", author="秦林娜", authors=("秦林娜",)),
                  r("b", title="区域概论", author="秦林娜", authors=("秦林娜",)),
                  r("c", title="形势概论", author="杜辉", authors=("杜辉",))],
                 [(0, 1, False, 0)], (0, 2, False, 0), False,
                 id="one ISBN, two books, through a third"),
    pytest.param([r("a", title="形势概论", author="秦林娜", authors=("秦林娜",)),
                  r("b", title="区域概论", author="秦林娜", authors=("秦林娜",)),
                  r("c", title="形势概论", author="杜辉", authors=("杜辉",))],
                 [(0, 2, False, 0)], (1, 0, False, 0), False,
                 id="two books, the other way"),
    pytest.param([r("a", volume="1"), r("b", volume="2"), r("c", volume="1")],
                 [(0, 1, False, 0)], (2, 0, False, 0), True,
                 id="a refused union leaves volume 1 free"),
]


@pytest.mark.parametrize(("recs", "first", "last", "joined"), _CHAINS)
def test_union_keeps_the_whole_cluster_one_edition(
        recs: list[MatchRecord], first: list[tuple[int, int, bool, int]],
        last: tuple[int, int, bool, int], joined: bool) -> None:
    u = uf(*recs)
    made = [u.union(a, b, fuzzy=fuzzy, flags=flags) for a, b, fuzzy, flags in first]
    a, b, fuzzy, flags = last
    assert u.union(a, b, fuzzy=fuzzy, flags=flags) is joined
    assert one_cluster(u, a, b) is joined
    if made == [False]:  # the last row: the first union was refused, and counted
        assert u.refused == 1 and not one_cluster(u, 0, 1)
    else:
        assert all(made) and u.refused == (not joined)


def test_a_librarians_merge_holds_both_volumes_and_lets_no_third_bridge() -> None:
    u = uf(r("a", volume="1"), r("b", volume="2"), r("c", volume="1"), r("d", volume="2"))
    assert u.union(0, 1, forced=True)  # past the volume veto
    assert not u.union(2, 0) and not u.union(3, 1)  # each would join its own volume's other
    assert u.refused == 2


def test_a_librarians_merge_of_two_books_keeps_no_description() -> None:
    """They said what the cluster is: a third copy of either book still joins it."""
    x = r("x", title="形势概论", author="秦林娜", authors=("秦林娜",))
    z = r("z", title="形势概论", author="杜辉", authors=("杜辉",))
    y = r("y", title="区域概论", author="秦林娜", authors=("秦林娜",))
    u = uf(x, z, y)
    assert u.union(0, 1, forced=True)
    assert u.union(2, 0)
    assert one_cluster(u, 0, 1, 2) and u.refused == 0
    again = uf(x, y, z)  # without the librarian, y and z are two books
    assert again.union(0, 1) and not again.union(2, 0)


_XING = dict(title="形势概论", author="秦林娜", authors=("秦林娜",))  # 形势概论 by 秦林娜
_QU = dict(title="区域概论", author="秦林娜", authors=("秦林娜",))  # 区域概论, same author
_DU = dict(title="形势概论", author="杜辉", authors=("杜辉",))  # 形势概论 by another


def test_a_union_keeps_the_descriptions_of_both_clusters() -> None:
    """s | (p, q): the union keeps q's description though q is not its cluster's root, so
    杜辉's 形势概论 is still told apart from 秦林娜's 区域概论."""
    u = uf(r("s", **_XING, resp="秦林娜编"), r("p", **_XING), r("q", **_QU), r("z", **_DU))
    assert u.union(1, 2) and u.union(0, 1)
    assert not u.union(3, 0) and u.refused == 1


def test_a_librarians_merge_keeps_no_description_after_more_unions() -> None:
    """Once a librarian merged the cluster, a union with it keeps no description either:
    another copy of 杜辉's book still joins after two of 区域概论 did."""
    u = uf(r("x", **_XING), r("z", **_DU), r("y1", **_QU), r("y2", **_QU, resp="秦林娜主编"),
           r("w", **_DU, resp="杜辉编"))
    assert u.union(0, 1, forced=True) and u.union(2, 3)
    assert u.union(2, 0) and u.union(4, 0)
    assert one_cluster(u, 0, 1, 2, 3, 4) and u.refused == 0


def test_a_cluster_tests_its_first_descriptions_only() -> None:
    """A 一号多书 test through a third record reads `CLUSTER_DESCRIPTIONS` descriptions of
    a cluster: the one after them is not compared (a famous book typed every way)."""
    def described(n: int) -> list[MatchRecord]:
        same = [r(f"s{i}", title="形势概论", author="秦林娜", authors=("秦林娜",),
                  resp=f"秦林娜{'著' * (i + 1)}") for i in range(n)]
        other = r("t", title="形势概论", author="杜辉", authors=("杜辉",))
        return [*same, other, r("u", title="区域概论", author="秦林娜", authors=("秦林娜",))]

    for n, joined in ((CLUSTER_DESCRIPTIONS, True), (CLUSTER_DESCRIPTIONS - 1, False)):
        recs = described(n)
        u = uf(*recs)
        assert all(u.union(0, i) for i in range(1, n + 1))  # 杜辉's is description n + 1
        assert u.union(n + 1, 0) is joined
    assert CLUSTER_DESCRIPTIONS == 8


def test_one_description_twice_takes_no_place() -> None:
    """Records described alike count once: the 9th place is still free for 杜辉's."""
    recs = [r(f"s{i}", title="形势概论", author="秦林娜", authors=("秦林娜",))
            for i in range(CLUSTER_DESCRIPTIONS + 2)]
    recs += [r("t", title="形势概论", author="杜辉", authors=("杜辉",)),
             r("u", title="区域概论", author="秦林娜", authors=("秦林娜",))]
    u = uf(*recs)
    n = len(recs)
    assert all(u.union(0, i) for i in range(1, n - 1))
    assert not u.union(n - 1, 0)


@pytest.mark.parametrize(("cannot", "first", "last", "joined"), [
    pytest.param({0: {2}, 2: {0}}, [(0, 1)], (1, 2), False, id="split through a third"),
    pytest.param({0: {2}, 2: {0}}, [(1, 0)], (2, 1), False, id="split, other order"),
    pytest.param({0: {2}, 2: {0}}, [(3, 4), (4, 0)], (2, 3), False,
                 id="the split moves to the bigger root"),
    pytest.param({0: {3}, 3: {0}, 1: {4}, 4: {1}}, [(0, 1)], (0, 3), False,
                 id="the smaller side's members against the bigger's partners"),
    pytest.param({0: {3}, 3: {0}, 1: {4}, 4: {1}}, [(0, 1)], (3, 0), False,
                 id="bigger side second"),
    pytest.param({0: {3}, 3: {0}, 1: {4}, 4: {1}}, [(0, 1)], (0, 2), True,
                 id="no split with a record without partners"),
    pytest.param({0: {3}, 3: {0}, 1: {4}, 4: {1}}, [(0, 1)], (1, 2), True,
                 id="no split, other member"),
    pytest.param({0: {3}, 3: {0}, 2: {4}, 4: {2}}, [(0, 1)], (2, 0), True,
                 id="two records with other partners"),
])
def test_librarians_splits_hold_through_chains(
        cannot: dict[int, set[int]], first: list[tuple[int, int]], last: tuple[int, int],
        joined: bool) -> None:
    u = uf(*(r(k) for k in "abcde"), cannot=cannot)
    assert all(u.union(a, b) for a, b in first)
    assert u.union(*last) is joined
    assert u.union(*last, forced=True) is False  # nor can a librarian's merge undo a split
    assert u.refused == (0 if joined else 2)


def test_a_union_is_by_default_an_isbn_union() -> None:
    """Without `fuzzy`, stems and authors are not read (a shared ISBN decided); with it but
    no flags, authors are not either."""
    u = uf(r("a", stems=(S1,), authors=("张三",)), r("b", stems=(S2,), authors=("李四",)),
           r("c", authors=("王五",)))
    assert u.union(0, 1) and u.union(2, 0, fuzzy=True) and u.refused == 0


def test_union_by_size_and_path_compression() -> None:
    """The bigger cluster's root stays root (so finds stay short), and a find points every
    record it passed straight at the root."""
    u = uf(*(r(k) for k in "abcdef"))
    assert u.union(0, 1) and u.find(1) == 0  # equal sizes: the first's root
    assert u.union(2, 0) and u.find(2) == 0  # a single record joins the pair's root
    assert u.union(3, 4) and u.union(5, 3) and u.find(5) == 3
    assert u.union(4, 1) and u.find(0) == 3 and u.size[3] == 6  # equal sizes again
    assert not u.union(5, 2) and u.refused == 0  # already one cluster: no refusal counted
    u.parent[:] = [0, 0, 1, 2, 3, 4]  # a chain, as unions without sizes would leave it
    assert u.find(5) == 0 and u.parent == [0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(("a", "b", "slack", "one"), [
    pytest.param([r("a", year=2000)], [r("b", year=2001)], 0, False, id="years apart"),
    pytest.param([r("a", year=2000)], [r("b", year=2001)], 1, True, id="within the slack"),
    pytest.param([r("a", year=2000), r("a2", year=2003)], [r("b", year=2001)], 0, True,
                 id="a year inside the other's span"),
    pytest.param([r("a", year=2001)], [r("b", year=2000), r("b2", year=2003)], 0, True,
                 id="inside, other side"),
    pytest.param([r("a", year=2000), r("a2", year=2001)], [r("b", year=2002)], 0, False,
                 id="spans that do not meet"),
    pytest.param([r("a", year=2000), r("a2", year=2001)], [r("b", year=2002)], 1, True,
                 id="spans one apart, slack one"),
    pytest.param([r("a", year=2002)], [r("b", year=2000), r("b2", year=2001)], 0, False,
                 id="do not meet, other side"),
    pytest.param([r("a")], [r("b", year=2001)], 0, True, id="no year"),
    pytest.param([r("a", year=2001)], [r("b")], 0, True, id="no year, other side"),
    pytest.param([r("a", stems=(S1,))], [r("b", stems=(S2,))], 0, False, id="two ISBNs"),
    pytest.param([r("a", authors=("张三",))], [r("b", authors=("李四",))], 0, False,
                 id="two authors"),
    pytest.param([r("a", volume="1")], [r("b", volume="2")], 0, False, id="two volumes"),
])
def test_could_be_one(a: list[MatchRecord], b: list[MatchRecord], slack: int,
                      one: bool) -> None:
    """Two clusters a record matches equally well: one edition, or is it ambiguous?"""
    u = uf(*a, *b, slack=slack)
    for i in range(1, len(a)):
        assert u.union(0, i, forced=True)
    for i in range(len(a) + 1, len(a) + len(b)):
        assert u.union(len(a), i, forced=True)
    ra, rb = u.find(0), u.find(len(a))
    assert u.could_be_one(ra, rb) is one and u.could_be_one(rb, ra) is one


# ------------------------------------------------------------------- blocking.py
# Which records are judged together at all.  A pair missing here is never merged, however
# alike; so each row says which blocks (and then which candidate pairs) a few records make.

def blocks(*recs: MatchRecord) -> list[tuple[str, str]]:
    return [(" ".join(recs[i].key for i in members), rule) for members, rule in _blocks(recs)]


@pytest.mark.parametrize(("recs", "want"), [
    pytest.param([r("a", title="甲", stems=(S2,)), r("b", title="乙", stems=(S1,)),
                  r("c", title="丙", stems=(S2,)), r("d", title="丁", stems=(S1, S2))],
                 [("b d", "isbn-stem"), ("a c d", "isbn-stem")], id="stems, in stem order"),
    pytest.param([r("a", title="甲", stems=(S1,)), r("b", title="乙")], [], id="alone"),
    pytest.param([r("a", title="乙"), r("b", title="甲"), r("c", title="乙"), r("d", title="甲"),
                  r("e", title="乙")], [("a c e", "title"), ("b d", "title")],
                 id="titles, in order of first record"),
    pytest.param([r("a", title="红楼梦", volume="2", volume_text="第2卷"),
                  r("b", title="红楼梦第2卷")],
                 [("a b", "title")], id="the part appended meets a title typed so"),
    pytest.param([r("a", title="红楼梦", title_full="红楼梦校注本"), r("b", title="红楼梦校注本")],
                 [("a b", "title")], id="the whole title meets a title proper"),
    pytest.param([r("a", title="红楼梦", volume_text="第2卷", title_full="红楼梦第2卷"),
                  r("b", title="红楼梦第2卷")], [("a b", "title")], id="one key twice, once"),
    pytest.param([r("a", title="", volume_text="第2卷"), r("b", title="第2卷")], [],
                 id="no title, no part key"),
    pytest.param([r("a", title="中华人民共和国地方志", author="张三"),
                  r("b", title="中华人民共和国地方誌", author="张三"),
                  r("c", title="中华人民共和国地方志", author="李四"),
                  r("d", title="中华人民国地方志", author="张三")],
                 [("a c", "title"), ("a b d", "title-fuzzy"), ("a d", "title-fuzzy")],
                 id="prefix and suffix with the author"),
    pytest.param([r("a", title="中华人民共和国志", author="张三"),
                  r("b", title="中华人民共和国誌", author="张三")],
                 [("a b", "title-fuzzy")], id="eight characters are long"),
    pytest.param([r("a", title="中华人民共和志", author="张三"),
                  r("b", title="中华人民共和誌", author="张三")], [], id="seven are not"),
    pytest.param([r("a", title="中华人民共和国志"), r("b", title="中华人民共和国誌")], [],
                 id="no author: no fuzzy block"),
    pytest.param([r("a", title="红楼梦人物研究论集", author="张三"),
                  r("b", title="研究论集之红楼梦人", author="张三")], [],
                 id="a prefix is not a suffix"),
    pytest.param([r("a", title="红楼梦", stems=(S1,)), r("b", title="红楼梦", stems=(S1,))],
                 [("a b", "isbn-stem"), ("a b", "title")], id="ISBN blocks first"),
])
def test_blocks(recs: list[MatchRecord], want: list[tuple[str, str]]) -> None:
    assert blocks(*recs) == want


def _hash(text: str) -> int:
    """The store's block hash, as documented: blake2b of 8 bytes, big-endian, signed."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                          "big", signed=True)


def test_block_hashes_are_the_blocks_as_the_store_keeps_them() -> None:
    one = r("a", title="", stems=(S1,))
    assert block_hashes(one) == stem_block_hashes(one) == [-5394954032460682274]  # stored
    rec = r("b", title="中华人民共和国地方志", title_full="中华人民共和国地方志陕西卷",
            volume="1", volume_text="第1卷", author="张三", stems=(S2, S1))
    texts = ["s\x1f" + S1, "s\x1f" + S2, "t\x1f中华人民共和国地方志",
             "t\x1f中华人民共和国地方志第1卷",
             "t\x1f中华人民共和国地方志陕西卷", "pa\x1f中华人民\x1f张三", "sa\x1f国地方志\x1f张三"]
    assert block_hashes(rec) == sorted(_hash(t) for t in texts)
    assert stem_block_hashes(rec) == sorted(_hash(t) for t in texts[:2])
    assert block_hashes(r("c", title="红楼梦", title_full="红楼梦")) == [_hash("t\x1f红楼梦")]
    assert block_hashes(r("d", title="")) == [] and BLOCKS_VERSION == 1


@pytest.mark.parametrize(("pair", "shared"), [
    ((r("a", stems=(S1,)), r("b", title="水浒传", stems=(S1,))), True),
    ((r("a", volume_text="上册"), r("b", title="红楼梦上册")), True),
    ((r("a", title="中华人民共和国地方志", author="张三"),
      r("b", title="中华人民共和国地方誌", author="张三")), True),
    ((r("a", title="中华人民共和国地方志", author="张三"),
      r("b", title="中华人民共和国地方誌", author="李四")), False),
    ((r("a"), r("b", title="水浒传")), False),
])
def test_records_share_a_block_hash_when_they_share_a_block(
        pair: tuple[MatchRecord, MatchRecord], shared: bool) -> None:
    assert bool(set(block_hashes(pair[0])) & set(block_hashes(pair[1]))) is shared
    assert bool(_blocks(pair)) is shared


@pytest.mark.parametrize(("recs", "want"), [
    pytest.param([r("a", volume="1", stems=(SET, S1)), r("b", volume="2", stems=(SET, S2))],
                 {SET}, id="one stem on two volumes"),
    pytest.param([r("a", volume="1", stems=(S1,)), r("b", volume="1", stems=(S1,))], set(),
                 id="one volume twice"),
    pytest.param([r("a", volume="1|农业志", stems=(S1,)), r("b", volume="1", stems=(S1,))],
                 set(), id="one volume said two ways"),
    pytest.param([r("a", stems=(S1,)), r("b", volume="1", stems=(S1,)),
                  r("c", stems=(S1,))], set(), id="the whole set is no volume"),
    pytest.param([r("a", volume="1", stems=(S1,)), r("b", volume="1", stems=(S1,)),
                  r("c", volume="上", stems=(S1,))], {S1}, id="a third volume"),
    pytest.param([r("a", stems=(S1,)), r("b", volume="1", stems=(S1,)),
                  r("c", volume="2", stems=(S1,))], {S1}, id="the whole set first"),
])
def test_set_isbns_are_stems_of_two_volumes(recs: list[MatchRecord], want: set[str]) -> None:
    assert _set_stems(recs) == want


_VOLUMES = ["", "1", "2", "上", "农业志", "林业志", "1|农业志", "1|林业志", "2|农业志"]


@pytest.mark.parametrize(("volume", "slots"), [
    ("", (("",), ("",))),
    ("12", (("#12",), ("#12",))),
    ("上", (("#上",), ("#上",))),
    ("农业志", (("name",), ("name", "named"))),
    ("12|农业志", (("#12", "named"), ("#12", "name"))),
])
def test_volume_slots(volume: str, slots: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
    assert _volume_slots(volume) == slots


def test_compatible_volumes_look_where_the_other_is_filed() -> None:
    from harvest.matching.normalize import volumes_compatible
    for x in _VOLUMES:
        for y in _VOLUMES:
            meets = bool(set(_volume_slots(x)[1]) & set(_volume_slots(y)[0]))
            assert meets or not volumes_compatible(x, y), (x, y)


@pytest.mark.parametrize(("year", "slack", "mates"), [
    (2001, 0, [1, 9]), (2001, 1, [0, 1, 9]), (2002, 1, [1, 3, 9]), (None, 0, [0, 1, 3, 9]),
    (1990, 2, [9]),
])
def test_year_mates(year: int | None, slack: int, mates: list[int]) -> None:
    by_year: dict[int | None, list[int]] = {2000: [0], 2001: [1], 2003: [3], None: [9]}
    assert list(_year_mates(by_year, year, slack)) == mates


def pairs(recs: Sequence[MatchRecord], slack: int = 0, set_stems: frozenset[str] = frozenset(),
          group: Sequence[int] | None = None) -> set[tuple[str, str]]:
    group = range(len(recs)) if group is None else group
    got = list(_group_pairs(recs, list(group), slack, set_stems))
    assert len(got) == len(set(got)) and all(i < j for i, j in got)  # each once, i < j
    return {(recs[i].key, recs[j].key) for i, j in got}


@pytest.mark.parametrize(("recs", "slack", "set_stems", "want"), [
    pytest.param([r("a", stems=(S1,)), r("b", stems=(S1,)), r("c", stems=(S2,))], 0, (),
                 {("a", "b")}, id="a shared stem; other ISBNs never"),
    pytest.param([r("a", stems=(S1,), year=2000), r("b", stems=(S1,), year=2009)], 0, (),
                 {("a", "b")}, id="a shared stem, whatever the years"),
    pytest.param([r("a", stems=(S1,), year=2000), r("b", year=2000), r("c", year=2001),
                  r("d")], 0, (), {("a", "b"), ("a", "d"), ("b", "d"), ("c", "d")},
                 id="without ISBN: same year or none"),
    pytest.param([r("a", stems=(S1,), year=2000), r("b", year=2001), r("c", year=2002)], 1,
                 (), {("a", "b"), ("b", "c")}, id="years within the slack"),
    pytest.param([r("a", stems=(S1,), volume="1"), r("b", volume="1"), r("c", volume="2"),
                  r("d"), r("e", volume="1|农业志"), r("f", volume="农业志")], 0, (),
                 {("a", "b"), ("a", "e"), ("b", "e"), ("e", "f")},
                 id="volumes that may be one"),
    pytest.param([r("a", volume="1|农业志"), r("b", volume="2|林业志"), r("c", volume="2")], 0,
                 (), {("b", "c")}, id="numbered parts with names"),
    pytest.param([r("a", stems=(S1,), volume="1", year=2000),
                  r("b", stems=(S2,), volume="1", year=2000),
                  r("c", stems=(S2,), volume="2", year=2000),
                  r("d", stems=(S1,), volume="1", year=2009)],
                 0, (SET,), {("a", "b"), ("a", "d"), ("b", "c")},
                 id="volumes of a set: other ISBNs may be one"),
    pytest.param([r("a", stems=(S1,), volume="1"), r("b", stems=(S2,), volume="1")], 0, (),
                 set(), id="no set ISBN: other ISBNs are not"),
    pytest.param([r("a", stems=(S1,), volume="1"), r("b", stems=(S2,)), r("c", stems=(SET,))],
                 0, (SET,), set(), id="a set ISBN lifts nothing for a record without volume"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1", stems=(S1,))], 0, (),
                 {("a", "b")}, id="the part typed into a title"),
    pytest.param([r("a", title="红楼梦第1卷", stems=(S2,)), r("b", volume="1")], 0, (),
                 {("a", "b")}, id="part typed, the other without ISBN"),
    pytest.param([r("a", title="红楼梦第1卷", stems=(S2,)), r("b", volume="1", stems=(S1,))],
                 0, (), set(), id="part typed, two ISBNs"),
    pytest.param([r("a", title="红楼梦第1卷", year=2000), r("b", volume="1", year=2001)], 0, (),
                 set(), id="part typed, another year"),
    pytest.param([r("a", title="红楼梦第1卷", year=2000), r("b", volume="1", year=2001)], 1, (),
                 {("a", "b")}, id="part typed, within the slack"),
    pytest.param([r("a", title="红楼梦第1卷", year=2000), r("b", volume="1", year=2003)], 1, (),
                 set(), id="part typed, past the slack"),
    pytest.param([r("a", title="红楼梦第1卷", year=2003), r("b", volume="1", year=2000)], 1, (),
                 set(), id="part typed, past the slack the other way"),
    pytest.param([r("a", title="红楼梦第1卷"), r("b", volume="1", year=2001)], 0, (),
                 {("a", "b")}, id="part typed, a year missing"),
    pytest.param([r("a", title="红楼梦第1卷", year=2001), r("b", volume="1")], 0, (),
                 {("a", "b")}, id="part typed, the other year missing"),
    pytest.param([r("a", title="红楼梦", stems=(S2,)), r("b", volume="1")], 0, (), set(),
                 id="a title as long is no part typed"),
    pytest.param([r("a", title="红楼梦第1卷", volume="2"), r("b", volume="1")], 0, (), set(),
                 id="a title with its own volume"),
    pytest.param([r("a", title="红楼梦第2卷"), r("b", title="红楼", volume="1"),
                  r("c", volume="2", stems=(S1,))], 0, (),
                 {("a", "b"), ("a", "c")}, id="titles of several lengths"),
    pytest.param([r("a", title="红楼", stems=(S2,)), r("b", volume="1"),
                  r("c", title="红楼梦第1卷"), r("d", title="红楼外传")], 0, (),
                 {("a", "c"), ("a", "d"), ("b", "c"), ("c", "d")},
                 id="titles shorter, longer and other than the volume's"),
])
def test_candidate_pairs_of_a_block(recs: list[MatchRecord], slack: int,
                                    set_stems: tuple[str, ...], want: set[tuple[str, str]]
                                    ) -> None:
    assert pairs(recs, slack, frozenset(set_stems)) == want


def test_a_group_of_one_has_no_pairs() -> None:
    recs = [r("a"), r("b")]
    assert pairs(recs, group=[0]) == set() and pairs(recs, group=[1, 0]) == {("a", "b")}


def rep_pairs(recs: Sequence[MatchRecord], slack: int = 0, big: bool | None = True,
              set_stems: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    got = list(_rep_pairs(recs, list(range(len(recs))), slack, set_stems, big))
    assert len(got) == len(set(got)) and all(i < j for i, j in got)
    return {(recs[i].key, recs[j].key) for i, j in got}


_BIG = [
    pytest.param([r("a", authors=("张三",), year=2000, publisher="人民"),
                  r("b", authors=("张三",), year=2000, publisher="三秦"),
                  r("c", authors=("李四",), year=2000, publisher="中华"),
                  r("d", authors=("张三",), year=2001, publisher="人民")], 0,
                 {("a", "b")}, id="an author and a year"),
    pytest.param([r("a", authors=("张三",), year=2000, publisher="人民"),
                  r("b", authors=("张三",), year=2001, publisher="三秦"),
                  r("c", authors=("张三",), year=2002, publisher="中华"),
                  r("d", authors=("张三",), year=2001, publisher="中华")], 1,
                 {("a", "b"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")},
                 id="an author and the next year"),
    pytest.param([r("a", authors=("张三",), year=2000, publisher="人民"),
                  r("b", authors=("李四",), year=2000, publisher="人民"),
                  r("c", authors=("王五",), year=2001, publisher="人民")], 0,
                 {("a", "b")}, id="a year and a publisher"),
    pytest.param([r("a", authors=("张三",), publisher="人民"),
                  r("b", authors=("张三",), year=2000, publisher="三秦"),
                  r("c", authors=("李四",), year=2000, publisher="中华")], 0,
                 {("a", "b")}, id="no year: the author's whole group"),
    pytest.param([r("a"), r("b", authors=("张三",), year=2000, publisher="三秦"),
                  r("c", authors=("李四",), year=1990, publisher="中华")], 0,
                 {("a", "b"), ("a", "c")}, id="no year, no author: everyone"),
    pytest.param([r("a", authors=("张三",), year=2000),
                  r("b", authors=("李四",), year=2000, publisher="三秦"),
                  r("c", authors=("王五",), year=2001, publisher="中华")], 0,
                 {("a", "b")}, id="no publisher: the whole year"),
    pytest.param([r("a", year=2000, publisher="人民"),
                  r("b", authors=("李四",), year=2000, publisher="三秦"),
                  r("c", authors=("王五",), year=2001, publisher="中华")], 0,
                 {("a", "b")}, id="no author: the whole year"),
    pytest.param([r("a", authors=("张三",), year=2000, publisher="人民"),
                  r("b", authors=("张三",), year=2000, publisher="人民")], 0,
                 {("a", "b")}, id="two keys, one pair"),
]


@pytest.mark.parametrize(("recs", "slack", "want"), _BIG)
def test_a_big_block_pairs_within_author_year_and_publisher_groups(
        recs: list[MatchRecord], slack: int, want: set[tuple[str, str]]) -> None:
    assert rep_pairs(recs, slack) == want


def test_a_block_is_big_past_the_limit() -> None:
    """Two records of one year, other authors and presses: judged in a small block, not in
    a big one (they cannot match: see `rules._judge`)."""
    pair = [r("a", authors=("张三",), year=1800, publisher="人民"),
            r("b", authors=("李四",), year=1800, publisher="三秦")]
    others = [r(f"z{n:03}", authors=("王五",), year=1900 + n, publisher="中华")
              for n in range(BLOCK_LIMIT)]
    assert rep_pairs(pair + others[:BLOCK_LIMIT - 2], big=None) == {("a", "b")}
    assert rep_pairs(pair + others[:BLOCK_LIMIT - 1], big=None) == set()
    assert rep_pairs(pair, big=False) == {("a", "b")} and BLOCK_LIMIT == 60


# ----------------------------------------------------------------- clustering.py

I1, I2, I3 = S1 + "7", S2 + "1", "9787300000033"  # whole ISBN-13s (check digits unread)
_BOOK = dict(title="红楼梦", author="张三", authors=("张三",), publisher="人民文学", year=2000)


def b(key: str, **fields: object) -> MatchRecord:
    """红楼梦 by 张三, 人民文学 2000, without ISBN unless told."""
    return MatchRecord(key, **{**_BOOK, **fields})  # type: ignore[arg-type]


def groups(clusters: dict[str, str]) -> str:
    """"a b | c": the records of each cluster, clusters in order of their first key."""
    by_id: dict[str, list[str]] = {}
    for key in sorted(clusters):
        by_id.setdefault(clusters[key], []).append(key)
    return " | ".join(" ".join(keys) for keys in by_id.values())


def _pubs(n: int) -> list[MatchRecord]:
    """n records no two of which match (two-character presses all differ), and x without a
    press, who matches every one of them equally (75)."""
    return [b(f"y{i:02}", publisher="社" + chr(0x4E00 + i)) for i in range(n)] + [
        b("x", publisher="")]


_CLUSTERINGS = [
    pytest.param([b("a", isbns=(I1,)), b("b", isbns=(I1,), year=2002)],
                 "a b", [("a", "b", "isbn")], 0, 0, id="one ISBN"),
    pytest.param([b("a"), b("b", title="紅樓夢")], "a | b", [], 0, 0,
                 id="different titles in no block"),
    pytest.param([b("a"), b("b", author="李四", authors=("李四",))],
                 "a | b", [], 0, 0, id="a block whose pair does not match"),
    pytest.param([b("a"), b("b", publisher="人民文学出版")], "a b", [("a", "b", "title")], 0, 0,
                 id="no ISBN: the block's rule"),
    pytest.param([b("b", isbns=(I1,)), b("c", isbns=(I2,)), b("x")], "b | c | x", [], 0, 1,
                 id="equally near two editions: neither"),
    pytest.param([b("b", isbns=(I1,)), b("c", isbns=(I2,), publisher="人民文学出"), b("x")],
                 "b x | c", [("b", "x", "title")], 0, 0,
                 id="nearer one edition: that one, the other edge dropped"),
    pytest.param([b("m", isbns=(I1,)), b("n", isbns=(I2,), publisher="人民文学出"), b("a")],
                 "a m | n", [("a", "m", "title")], 0, 0, id="nearer one, the record first"),
    pytest.param([b("m", isbns=(I1,)), b("n", isbns=(I2,)), b("a")], "a | m | n", [], 0, 1,
                 id="equally near, the record first"),
    pytest.param([b("b", isbns=(I1,)), b("x", isbns=(I1,), author="", authors=()),
                  b("c", author="李四", authors=("李四",))],
                 "b x | c", [("b", "x", "isbn")], 1, 0,
                 id="an ISBN edge is no rival: the other union is refused"),
    pytest.param([b("b", isbns=(I1,)), b("x", isbns=(I1,), author="", authors=()),
                  b("c", isbns=(S1 + "9",), author="李四", authors=("李四",))],
                 "b x | c", [("b", "x", "isbn")], 2, 0,
                 id="an ISBN edge is no rival, in one block either"),
    pytest.param([b("b", isbns=(I1,)), b("c", isbns=(I2,), year=2001), b("x", year=None)],
                 "b | c | x", [], 0, 1, id="two editions of two years"),
    pytest.param([b("b", publisher="三秦"), b("c", publisher="中华"), b("x", publisher="")],
                 "b c x", [("b", "x", "title"), ("c", "x", "title")], 0, 0,
                 id="two clusters that can be one: both"),
    pytest.param([b("b", publisher=""), b("c", publisher="中华书局"),
                  b("x", publisher="中华书局")],
                 "b c x", [("c", "x", "title"), ("b", "c", "title")], 0, 0,
                 id="a weaker rival that can be one is kept"),
    pytest.param([b("a", isbns=(I1,)), b("b", isbns=(I1,), volume="2"), b("c", isbns=(I1,))],
                 "a c | b", [("a", "c", "isbn")], 0, 0, id="vetoed pairs are no candidates"),
    pytest.param([b("a", volume="1", volume_text="第1卷"), b("b", title="红楼梦第1卷"),
                  b("c", volume="2", volume_text="第2卷")],
                 "a b | c", [("a", "b", "title")], 0, 0, id="the part typed into a title"),
    pytest.param([b("a", volume="1", isbns=(SET + "0",)), b("b", volume="1", isbns=(I1,)),
                  b("c", volume="2", isbns=(SET + "0",))], "a b | c", [("a", "b", "title")], 0,
                 0, id="a set ISBN against a volume's own"),
    pytest.param(_pubs(40), " ".join(["x", *(f"y{i:02}" for i in range(40))]), None, 0, 0,
                 id="forty equal clusters that can be one"),
    pytest.param(_pubs(41), " | ".join(sorted([*(f"y{i:02}" for i in range(41)), "x"])), [],
                 0, 1, id="past forty: ambiguous"),
]


@pytest.mark.parametrize(("recs", "want", "edges", "refused", "ambiguous"), _CLUSTERINGS)
def test_clustering(recs: list[MatchRecord], want: str, edges: list[tuple[str, str, str]] | None,
                    refused: int, ambiguous: int) -> None:
    for order in (recs, recs[::-1]):  # input order changes nothing
        got = cluster_detailed(order)
        assert groups(got.clusters) == want
        assert edges is None or got.edges == edges
        assert (got.refused, got.ambiguous) == (refused, ambiguous)


@pytest.mark.xfail(strict=True, reason="known weakness, found for issue 21: the ambiguity "
                   "test reads volumes without the part typed into a title")
def test_two_copies_with_the_part_typed_into_the_title_join_the_volume() -> None:
    """b and d typed part 1 into the title; a has it in 200$h.  b matches a (part in the
    title) and d matches both; but `could_be_one(a, b)` compares volume 1 with none and
    says no, so d is taken for ambiguous and joins neither (a record lost to recall)."""
    recs = [b("a", volume="1", volume_text="第1卷"), b("b", title="红楼梦第1卷"),
            b("d", title="红楼梦第1卷", publisher="人民文学出版")]
    got = cluster_detailed(recs)
    assert (groups(got.clusters), got.ambiguous) == ("a b d", 0)


def _id(anchor: str) -> str:
    """A cluster id as `harvest.merge` stores it (it must not change between releases)."""
    return hashlib.sha1(anchor.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


@pytest.mark.parametrize(("recs", "anchors"), [
    pytest.param([b("b", isbns=(I2, I1)), b("a", isbns=(I2,))], {"a": "i:" + I1, "b": "i:" + I1},
                 id="the smallest ISBN of the cluster no other cluster has"),
    pytest.param([b("a", isbns=(S1 + "9",)), b("b", isbns=(I1,))],
                 {"a": "i:" + I1, "b": "i:" + I1}, id="a smaller ISBN of a later record"),
    pytest.param([b("a", isbns=(I1,)), b("b", isbns=(S1 + "9",))],
                 {"a": "i:" + I1, "b": "i:" + I1}, id="a larger ISBN of a later record"),
    pytest.param([b("a"), b("b", isbns=(I1,))], {"a": "i:" + I1, "b": "i:" + I1},
                 id="an ISBN before a key"),
    pytest.param([b("b"), b("a", title="水浒传")], {"a": "r:a", "b": "r:b"}, id="keys"),
    pytest.param([b("b"), b("a", publisher="人民文学出版")], {"a": "r:a", "b": "r:a"},
                 id="the smallest key"),
    pytest.param([b("a", isbns=(I1, I3), volume="1"), b("b", isbns=(I1, I2), volume="2")],
                 {"a": "i:" + I3, "b": "i:" + I2}, id="a set ISBN anchors no volume"),
    pytest.param([b("a", isbns=(I1,), volume="1"), b("b", isbns=(I1,), volume="2")],
                 {"a": "r:a", "b": "r:b"}, id="only a set ISBN: the key"),
])
def test_cluster_ids_are_anchored(recs: list[MatchRecord], anchors: dict[str, str]) -> None:
    assert cluster(recs) == {k: _id(a) for k, a in anchors.items()}


def test_a_lone_record_has_its_lone_id() -> None:
    for rec in (b("a"), b("a", isbns=(I3, I1)), b("a", isbns=(I1,))):
        assert cluster([rec, b("z", title="水浒传")])["a"] == lone_cluster_id(rec)
    assert lone_cluster_id(b("a", isbns=(I3, I1))) == _id("i:" + I1)
    assert lone_cluster_id(b("a")) == _id("r:a")


def test_librarians_links() -> None:
    recs = [b("a", isbns=(I1,)), b("b", isbns=(I1,)), b("c", title="水浒传"),
            b("d", title="西游记", volume="1"), b("e", title="三国演义", volume="2")]
    got = cluster_detailed(recs, cannot_link=[frozenset({"a", "b"}), frozenset({"a", "zz"}),
                                              frozenset({"0", "b"}),
                                              frozenset({"c", "d", "e"})],
                           must_link=[frozenset({"e", "d"}), frozenset({"c", "d"}),
                                      frozenset({"c", "zz"}), frozenset({"a", "b", "c"})])
    assert groups(got.clusters) == "a | b | c d e"  # past the volume veto
    assert got.edges == [("c", "d", "librarian"), ("d", "e", "librarian")]
    assert got.refused == 2  # a–b: in their ISBN block, and again in their title block
    split = cluster_detailed(recs, cannot_link=[frozenset({"c", "d"})],
                             must_link=[frozenset({"c", "d"})])
    assert groups(split.clusters) == "a b | c | d | e"  # a split wins over a merge
    assert (split.edges, split.refused) == ([("a", "b", "isbn")], 1)


def test_year_slack() -> None:
    recs = [b("a"), b("b", year=2001)]
    assert groups(cluster(recs)) == "a | b" and groups(cluster(recs, year_slack=0)) == "a | b"
    assert groups(cluster(recs, year_slack=1)) == "a b"
    assert may_be_candidates(recs[0], recs[1]) is False
    assert may_be_candidates(recs[1], recs[0], year_slack=1) is True


def roots(share: object) -> list[int]:
    got = array("q")
    got.frombytes(share.roots)  # type: ignore[attr-defined]
    return list(got)


def test_shares_are_whole_components_to_the_least_loaded_shard() -> None:
    """Components go, in order of their first block, to the shard with the fewest block
    members so far (a record counts once per block it is in)."""
    recs = [b("a1", isbns=(I1,)), b("a2", isbns=(I1,)), b("a3", isbns=(I1,)),  # 3 + 3: 0
            b("b1", title="水浒传"), b("b2", title="水浒传"),  # 2: shard 1
            b("c1", title="西游记"), b("c2", title="西游记"),  # 2 + 2 = 4 < 6: shard 1
            b("d1", title="三国演义"), b("d2", title="三国演义"),  # 6 + 2: shard 1
            b("e", title="聊斋志异"),  # in no block: in no share
            b("f1", title="儒林外史"), b("f2", title="儒林外史")]  # 6, 8: shard 0
    full = cluster_detailed(recs)
    jobs = [Clustering(recs) for _ in range(2)]
    shares = [job.run(n, 2) for n, job in enumerate(jobs)]
    keys = [r.key for r in jobs[0].recs]
    first = {k: keys.index(k[0] + "1") if k != "e" else -1 for k in keys}  # each group's root
    want = [{"a1", "a2", "a3", "f1", "f2"}, {"b1", "b2", "c1", "c2", "d1", "d2"}]
    for share, mine in zip(shares, want, strict=True):
        assert roots(share) == [first[k] if k in mine else -1 for k in keys]
    together = jobs[0].finish(shares)
    assert together == full
    assert groups(together.clusters) == "a1 a2 a3 | b1 b2 | c1 c2 | d1 d2 | e | f1 f2"
    assert [e[:2] for e in full.edges] == [("a1", "a2"), ("a1", "a3"), ("b1", "b2"),
                                           ("c1", "c2"), ("d1", "d2"), ("f1", "f2")]
    assert Clustering(recs).finish([Clustering(recs).run()]) == full  # another process's
    three = [Clustering(recs).run(n, 3) for n in range(3)]
    assert Clustering(recs).finish(three) == full
    with pytest.raises(ValueError, match="different records"):
        jobs[1].finish([shares[0], Clustering(recs[:-1]).run(1, 2)])


def test_a_librarians_merge_joins_two_components_into_one_share() -> None:
    recs = [b("a1", isbns=(I1,)), b("a2", isbns=(I1,)), b("b1", title="水浒传"),
            b("b2", title="水浒传"), b("c1", title="西游记"), b("c2", title="西游记")]
    must = [frozenset({"a2", "c1"})]
    shares = [Clustering(recs, must_link=must).run(n, 2) for n in range(2)]
    mine = [{recs[i].key for i, root in enumerate(roots(s)) if root >= 0} for s in shares]
    assert mine == [{"a1", "a2", "c1", "c2"}, {"b1", "b2"}]
    assert Clustering(recs, must_link=must).finish(shares) == cluster_detailed(recs,
                                                                               must_link=must)


def test_focus_runs_only_the_blocks_and_ids_it_can_change() -> None:
    recs = [b("a1", isbns=(I1,)), b("a2", isbns=(I1,)), b("c1", title="西游记", isbns=(I2,)),
            b("c2", title="西游记", isbns=(I2,)), b("c3", title="西游记", isbns=(I2,)),
            b("d", title="水浒传", isbns=(I3,)),
            b("e", title="西游记", author="李四", authors=("李四",))]  # kept apart by the rules
    must = [frozenset({"a1", "d"}), frozenset({"c1", "e"})]
    full = cluster_detailed(recs, must_link=must)
    job = Clustering(recs, must_link=must, focus=["c1", "c2", "c3", "e", "nobody"])
    got = job.finish([job.run()])
    assert got.clusters == {k: full.clusters[k] for k in ("c1", "c2", "c3", "e")}
    assert [e[:2] for e in got.edges] == [("c1", "e"), ("c1", "c2"), ("c1", "c3")]
    job = Clustering(recs, must_link=must, focus=["d", "a1", "a2"])
    got = job.finish([job.run()])
    assert got.edges == [("a1", "d", "librarian"), ("a1", "a2", "isbn")]
    assert got.clusters == {k: full.clusters[k] for k in ("a1", "a2", "d")}


def test_focus_on_a_copy_judged_by_its_signature() -> None:
    """Identical records are judged against the first one; a focus on a copy finds the
    copy's edge only, a focus on the first all of them, a focus elsewhere none."""
    recs = [b("a"), b("b"), b("c"), b("z", title="水浒传")]
    for focus, edges in ((["c"], [("a", "c")]), (["a"], [("a", "b"), ("a", "c")]),
                         (["z"], [])):
        job = Clustering(recs, focus=focus)
        assert [e[:2] for e in job.finish([job.run()]).edges] == edges


@pytest.mark.parametrize(("x", "y", "slack", "maybe"), [
    pytest.param(b("a"), b("b"), None, True, id="alike"),
    pytest.param(b("a"), b("b", year=2001), None, False, id="another year"),
    pytest.param(b("a"), b("b", year=2001), 1, True, id="within the slack"),
    pytest.param(b("a", isbns=(I1,)), b("b", isbns=(I2,)), None, False,
                 id="two ISBNs of whole books"),
    pytest.param(b("a", isbns=(I1,), volume="1"), b("b", isbns=(I2,), volume="1"), None, True,
                 id="two ISBNs on one volume"),
    pytest.param(b("a", isbns=(I1,)), b("b", isbns=(I1,), year=2002), None, True,
                 id="one ISBN, printing years"),
    pytest.param(b("a", isbns=(I1,)), b("b", isbns=(I1,), year=2003), None, False,
                 id="one ISBN, a reissue"),
    pytest.param(b("a"), b("b", author="李四", authors=("李四",)), None, False,
                 id="another author"),
    pytest.param(b("a", volume="1"), b("b", volume="2"), None, False, id="two volumes"),
])
def test_may_be_candidates(x: MatchRecord, y: MatchRecord, slack: int | None, maybe: bool
                           ) -> None:
    assert may_be_candidates(x, y, slack) is maybe and may_be_candidates(y, x, slack) is maybe


@pytest.mark.parametrize("big", [False, True])
def test_representatives_of_a_set_pair_by_volume(big: bool) -> None:
    """Volumes of a set under their own ISBNs are candidates, small block or big."""
    recs = [r("a", stems=(S1,), volume="1", authors=("张三",), year=2000, publisher="人民"),
            r("b", stems=(S2,), volume="1", authors=("张三",), year=2000, publisher="人民")]
    assert rep_pairs(recs, big=big) == set()
    assert rep_pairs(recs, big=big, set_stems=frozenset({SET})) == {("a", "b")}


# ------------------------------------------------- the block table of an incremental merge
# What `harvest.merge` keeps beside each record's blocks (year, flags, signature hash) and
# reads instead of the records; `test_merge.py` checks the merge end to end on a store,
# these rows pin each function on its own.

def named(*recs: MatchRecord) -> list[tuple[str, str, tuple[str, object]]]:
    return [(" ".join(recs[i].key for i in members), rule, name)
            for members, rule, name in _named_blocks(recs)]


def test_named_blocks_are_the_blocks_with_their_names() -> None:
    recs = [r("a", title="中华人民共和国地方志", author="张三", stems=(S2,)),
            r("b", title="中华人民共和国地方誌", author="张三", stems=(S1, S2)),
            r("c", title="中华人民共和国地方志", stems=(S1,)),
            r("d", title="水浒传")]
    assert named(*recs) == [
        ("b c", "isbn-stem", ("s", S1)), ("a b", "isbn-stem", ("s", S2)),
        ("a c", "title", ("t", "中华人民共和国地方志")),
        ("a b", "title-fuzzy", ("pa", ("中华人民", "张三")))]
    assert [(m, rule) for m, rule, _ in _named_blocks(recs)] == _blocks(recs)
    # every block's name hashes to a hash each of its members is filed under
    for members, _, name in _named_blocks(recs):
        assert all(_block_hash(*name) in block_hashes(recs[i]) for i in members)


@pytest.mark.parametrize(("kind", "value", "text"), [
    ("s", S1, "s\x1f" + S1),
    ("t", "红楼梦", "t\x1f红楼梦"),
    ("pa", ("中华人民", "张三"), "pa\x1f中华人民\x1f张三"),
    ("sa", ("国地方志", "张三"), "sa\x1f国地方志\x1f张三"),
])
def test_block_text_and_hash(kind: str, value: object, text: str) -> None:
    assert _block_text(kind, value) == text
    assert _block_hash(kind, value) == _hash(text)


def test_signature_hash_is_stable_and_reads_every_field_the_rules_read() -> None:
    rec = r("a", authors=("张三", "李四"), year=2000, stems=(S1,))
    parts = ["红楼梦", "", "", "", "", "张三\x1e李四", "", "2000", "", "", "", S1, ""]
    assert signature_hash(rec) == _hash("\x1f".join(parts)) == 7046924080029179352  # stored
    assert signature_hash(MatchRecord("z")) == -5785836505105355701
    assert signature_hash(r("other key", authors=("张三", "李四"), year=2000,
                            stems=(S1,))) == signature_hash(rec)
    changed: list[dict[str, object]] = [
               dict(title="水浒传"), dict(title_full="红楼梦校注本"), dict(volume="1"),
               dict(volume_text="第1卷"), dict(edition="2"), dict(authors=("张三李四",)),
               dict(authors=("张三",)), dict(resp="张三著"), dict(year=2001),
               dict(year=None), dict(publisher="人民"), dict(material="book"),
               dict(language="chi"), dict(stems=(S2,)), dict(isbns=(I1,))]
    hashes = {signature_hash(r("a", **{"authors": ("张三", "李四"), "year": 2000,
                                      "stems": (S1,), **c})) for c in changed}
    assert len(hashes) == len(changed) and signature_hash(rec) not in hashes
    # a field's value does not run into the next one's
    assert signature_hash(r("a", title="红楼", title_full="梦")) != signature_hash(
        r("a", title="红楼梦", title_full=""))


@pytest.mark.parametrize(("rec", "flags"), [
    (r("a"), 0), (r("a", stems=(S1,)), 1), (r("a", volume="1"), 2),
    (r("a", stems=(S1,), volume="1"), 3),
])
def test_candidate_flags(rec: MatchRecord, flags: int) -> None:
    assert candidate_flags(rec) == flags and (HAS_STEMS, HAS_VOLUME) == (1, 2)


@pytest.mark.parametrize(("rec", "stem_block", "slack", "want"), [
    # an ISBN-stem block: the years of a shared ISBN (printings two years apart), any flags
    (b("a", stems=(S1,)), True, None, (1998, 2002, 0, 1)),
    (b("a", stems=(S1,)), True, 3, (1997, 2003, 0, 1)),  # a wider slack wins
    (b("a", stems=(S1,)), True, 1, (1998, 2002, 0, 1)),
    # any other block: the years of the fuzzy rules
    (b("a"), False, None, (2000, 2000, 0, 1)),
    (b("a"), False, 1, (1999, 2001, 0, 1)),
    (b("a", year=None), False, None, (None, None, 0, 1)),  # no year: any year
    (b("a", year=None, stems=(S1,)), True, None, (None, None, 0, 1)),
    # r has stems: a member with other stems only if both are volumes
    (b("a", stems=(S1,)), False, None, (2000, 2000, 1, 1)),
    (b("a", stems=(S1,), volume="1"), False, None, (2000, 2000, 3, 1)),
])
def test_candidate_filter(rec: MatchRecord, stem_block: bool, slack: int | None,
                          want: tuple[int | None, int | None, int, int]) -> None:
    assert candidate_filter(rec, stem_block, slack) == want


_MEMBERS = [b("a"), b("b", year=2001), b("c", year=None), b("d", stems=(S1,)),
            b("e", stems=(S2,)), b("f", stems=(S1,), year=2002), b("g", stems=(S1,), year=2003),
            b("h", stems=(S1,), volume="1"), b("i", stems=(S2,), volume="1"),
            b("j", volume="1"), b("k", year=1999)]


@pytest.mark.parametrize("slack", [None, 1])
def test_candidate_filter_lets_every_possible_candidate_through(slack: int | None) -> None:
    """What `harvest.merge` relies on: a member the filter drops in every block it shares
    with x is never x's candidate (one sharing an ISBN stem passes in that stem's block)."""
    kept = dropped = 0
    for x in _MEMBERS:
        stems = set(stem_block_hashes(x))
        for y in _MEMBERS:
            shared = set(block_hashes(x)) & set(block_hashes(y))
            if y is x or not shared:
                continue
            ok = False
            for h in shared:
                lo, hi, mask, value = candidate_filter(x, h in stems, slack)
                years = y.year is None or lo is None or hi is None or lo <= y.year <= hi
                ok = ok or (years and candidate_flags(y) & mask != value)
            assert ok or not may_be_candidates(x, y, slack), (x.key, y.key)
            kept, dropped = kept + ok, dropped + (not ok)
    assert kept and dropped  # the filter lets some through and drops others


@pytest.mark.parametrize(("rec", "merges"), [
    (b("a"), True),  # two copies of a described book are one
    (b("a", year=None), True),
    (r("a", isbns=(I1,)), True),  # an ISBN alone: the ISBN rule
    (r("a"), False),  # a title alone is not enough to say two records are one
    (r("a", year=2000), False),
    (r("a", author="张三", authors=("张三",)), False),
    (MatchRecord("a"), False),  # nothing at all
])
def test_signature_merges(rec: MatchRecord, merges: bool) -> None:
    assert signature_merges(rec) is merges


def _whole_job(focus: list[str] | None, whole: dict[int, tuple[str, bool]]) -> Clustering:
    recs = [b("a"), b("b"), b("c", title="水浒传"), b("d", title="水浒传")]
    return Clustering(recs, focus=focus, whole=whole)


_RED, _WATER = _hash("t\x1f红楼梦"), _hash("t\x1f水浒传")


@pytest.mark.parametrize(("focus", "whole", "big"), [
    (["b"], {_RED: ("a", True)}, {0: True}),  # the block 水浒传 is not run: not needed
    (["b"], {_RED: ("a", False), _WATER: ("c", True)}, {0: False}),
    (["c"], {_RED: ("x", True), _WATER: ("c", True)}, {1: True}),
    (["a", "d"], {_RED: ("a", False), _WATER: ("c", True)}, {0: False, 1: True}),
    (None, {}, {}),  # a full run: nothing to check
])
def test_whole_blocks_give_the_mode_of_each_run_block(
        focus: list[str] | None, whole: dict[int, tuple[str, bool]],
        big: dict[int, bool]) -> None:
    assert _whole_job(focus, whole).big == big


@pytest.mark.parametrize(("whole", "message"), [
    ({}, f"block {_RED} (t): its first record (not given) is not loaded"),
    ({_RED: ("b", True)}, f"block {_RED} (t): its first record b is not loaded"),
])
def test_whole_blocks_refuse_a_block_whose_first_record_is_missing(
        whole: dict[int, tuple[str, bool]], message: str) -> None:
    with pytest.raises(ValueError) as info:
        _whole_job(["b"], whole)
    assert str(info.value) == message



def test_a_focus_is_judged_against_the_other_representatives_of_its_blocks() -> None:
    """Focus records of their own signatures are paired with each other — only with each
    other: `harvest.merge` puts every possible candidate of a changed record in the focus;
    two copies that do not judge as one (a title alone) are both representatives."""
    recs = [b("a"), b("b", publisher=""), b("z", title="水浒传")]
    for focus, edges in ((["a", "b"], [("a", "b")]), (["b", "z"], []), (["z"], [])):
        job = Clustering(recs, focus=focus)
        assert [e[:2] for e in job.finish([job.run()]).edges] == edges
    job = Clustering([r("a"), r("b")])
    result = job.finish([job.run()])
    assert result.edges == [] and len(set(result.clusters.values())) == 2
