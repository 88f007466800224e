"""Same book, one entry: group records into clusters (first cut: shared ISBN-13).

Kept apart from storing and indexing so a better matcher (title/author/year keys, editions,
volumes — a later issue) can replace `assign_clusters` without touching anything else.
Union-find over ISBNs, so a record listing two ISBNs joins the clusters of both.  Cluster
ids are derived from the smallest ISBN (or the record key when there is none), so they
stay stable across re-harvests and can be used in URLs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _cluster_id(anchor: str) -> str:
    return hashlib.sha1(anchor.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def assign_clusters(records: Iterable[tuple[str, list[str]]]) -> dict[str, str]:
    """(record key, ISBN-13s) pairs → {record key: cluster id} for every record given."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    keys: list[str] = []
    for key, isbns in records:
        node = "r:" + key
        parent.setdefault(node, node)
        keys.append(key)
        for isbn in isbns:
            inode = "i:" + isbn
            parent.setdefault(inode, inode)
            union(node, inode)
    # The root is the smallest member name; ISBN nodes ("i:") sort before records ("r:").
    return {k: _cluster_id(find("r:" + k)) for k in keys}
