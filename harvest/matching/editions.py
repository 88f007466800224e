"""Other editions of a work: the clusters a record page links as 其他版本.

Not part of clustering — these are the pairs the rules keep apart on purpose (another
edition, year, publisher or ISBN of one title by one author), grouped after the fact.
"""

from __future__ import annotations

from collections.abc import Iterable

from harvest.matching.keys import MatchRecord


def other_editions(records: Iterable[MatchRecord], clusters: dict[str, str],
                   limit: int = 200) -> dict[str, list[str]]:
    """{cluster id: other clusters of the same work} — same title proper, first author and
    volume, but a different edition, year, publisher or ISBN (else they would be one
    cluster).  Records without an author are left out: a title alone (诗经, 年鉴) names
    too many unrelated works.  At most `limit` links per cluster, smallest ids first."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for r in records:
        cid = clusters.get(r.key)
        if cid is None or not r.title or not r.author:
            continue
        groups.setdefault((r.title, r.author, r.volume), set()).add(cid)
    links: dict[str, set[str]] = {}
    for ids in groups.values():
        if len(ids) < 2:
            continue
        for cid in ids:
            links.setdefault(cid, set()).update(ids - {cid})
    return {cid: sorted(others)[:limit] for cid, others in sorted(links.items())}
