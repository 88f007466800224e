"""Same edition, one entry — matching records across libraries beyond a shared ISBN.

Libraries catalogue one edition differently (ISBN-10 or -13, a wrong check digit or none,
traditional or simplified, the volume in 200$h or typed into the title, "张三主编" or "主编
张三", the publisher with or without 出版社), and a shared ISBN alone is not enough either:
a set's ISBN is printed on every volume, and presses re-use numbers.  So the merge works
on a small, normalized `MatchRecord` per record and a rule set that is easy to explain
to a librarian: hard vetoes for every pair (volume, edition, material type, language, a
librarian's split); a shared ISBN merges unless the titles are unrelated, title *and*
author both disagree (一号多书) or the years are a reissue apart; without one, title,
numbers in the title, first author, publisher and year must all agree, and enough of
them.  Pairs are only candidates: clusters are built by a union-find that re-checks the
vetoes between whole clusters, so no record bridges two editions.

What lives where (each module says more):

* `normalize` — the tables (variant characters, volume and edition patterns, role
  words, publisher words) and the field normalizers on top of the one shared fold of
  `core.fold`: `title_key`, `volume_key`, `edition_key`, `person_key`,
  `publisher_key`; `volumes_compatible`, `editions_compatible`; `levenshtein`.
* `keys` — `MatchRecord`, the record's match keys, its stored JSON and `MATCH_VERSION`.
* `relations` — how two records' fields relate (same / similar / unknown / different).
* `rules` — the pairwise judgement, one rule per question with its evidence text
  beside it, applied in order by `_judge`; `evidence`, `is_match`, `isbn_reused`.
* `blocking` — which pairs are judged: blocks, sub-blocks, signatures; `block_hashes`,
  a record's blocks as the store keeps them for incremental merges.
* `unionfind` — `_Clusters`, the union-find whose unions keep a cluster one edition.
* `clustering` — `Clustering` (deterministic, shardable runs), `cluster`,
  `cluster_detailed`, cluster ids (`lone_cluster_id`).
* `editions` — `other_editions`, the clusters a record page links as other editions.

Import from here: this is the public face, and what it exports is the API.  The
underscored names are the package's own, shared between its modules.
"""

from harvest.matching.blocking import (
    BLOCK_LIMIT,
    BLOCKS_VERSION,
    block_hashes,
    signature_hash,
    stem_block_hashes,
)
from harvest.matching.clustering import (
    Clustering,
    ClusterResult,
    ShardResult,
    candidate_filter,
    candidate_flags,
    cluster,
    cluster_detailed,
    lone_cluster_id,
    may_be_candidates,
    signature_merges,
)
from harvest.matching.editions import other_editions
from harvest.matching.keys import MATCH_VERSION, MatchRecord
from harvest.matching.normalize import (
    edition_key,
    editions_compatible,
    levenshtein,
    person_key,
    publisher_key,
    similarity,
    title_key,
    volume_key,
    volumes_compatible,
)
from harvest.matching.rules import YEAR_SLACK, evidence, is_match, isbn_reused

__all__ = [
    "BLOCK_LIMIT",
    "BLOCKS_VERSION",
    "block_hashes",
    "signature_hash",
    "stem_block_hashes",
    "may_be_candidates",
    "candidate_filter",
    "candidate_flags",
    "signature_merges",
    "MATCH_VERSION",
    "YEAR_SLACK",
    "MatchRecord",
    "lone_cluster_id",
    "ClusterResult",
    "Clustering",
    "ShardResult",
    "cluster",
    "cluster_detailed",
    "evidence",
    "is_match",
    "isbn_reused",
    "other_editions",
    "levenshtein",
    "similarity",
    "title_key",
    "volume_key",
    "edition_key",
    "editions_compatible",
    "volumes_compatible",
    "person_key",
    "publisher_key",
]
