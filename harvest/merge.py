"""Same book, one entry: the merge step between the store and the index.

`assign_clusters` is the one entry point; the rules live in `harvest.matching` (shared
ISBN, or title + author + year + publisher on normalized text; volumes, editions and
librarians' splits never merged).  Cluster ids are derived from the smallest ISBN (or the
record key when there is none), so they stay stable across re-harvests and can be used in
URLs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from harvest.matching import MatchRecord, cluster


def assign_clusters(records: Iterable[MatchRecord | tuple[str, list[str]]],
                    cannot_link: Collection[frozenset[str]] = frozenset(),
                    must_link: Collection[frozenset[str]] = frozenset()) -> dict[str, str]:
    """{record key: cluster id} for every record given.  Records may be bare (key, ISBNs)
    pairs (then only ISBNs can match them); `cannot_link`/`must_link` are librarians'
    splits and merges as pairs of record keys."""
    recs = [r if isinstance(r, MatchRecord) else MatchRecord(r[0], isbns=tuple(r[1]))
            for r in records]
    return cluster(recs, frozenset(cannot_link), frozenset(must_link))
