"""The first-cut merge: same ISBN-13 across libraries → one cluster, stable ids."""

from __future__ import annotations

import dataclasses
import random

from core.model import Record
from harvest import merge
from harvest.merge import assign_clusters, assign_store_clusters
from harvest.store import RecordStore


def rec(source: str, sid: str, *isbn: str) -> Record:
    return Record(source=source, source_id=sid, library=source.upper(), title="平凡的世界",
                  isbn=list(isbn))


def test_same_isbn_one_cluster_and_union_through_second_isbn():
    records = [
        rec("a", "1", "9787020002207"),
        rec("b", "9", "9787020002207"),
        rec("c", "5", "9787530212004", "9787020002207"),  # bridges two ISBNs
        rec("d", "7", "9787530212004"),
        rec("e", "2"),  # no ISBN: alone
        rec("f", "2"),
    ]
    c = assign_clusters((r.key, r.isbn) for r in records)
    assert c["a:1"] == c["b:9"] == c["c:5"] == c["d:7"]
    assert len({c["e:2"], c["f:2"], c["a:1"]}) == 3


def test_cluster_ids_are_stable_across_runs_and_order():
    records = [rec("a", "1", "9787020002207"), rec("b", "9", "9787020002207"), rec("e", "2")]
    pairs = [(r.key, r.isbn) for r in records]
    assert assign_clusters(pairs) == assign_clusters(list(reversed(pairs)))


def test_store_groups_clusters_and_reports_updates(tmp_path):
    store = RecordStore(tmp_path / "s.db")
    a, b = rec("a", "1", "9787020002207"), rec("b", "9", "9787020002207")
    assert store.put(a, b"raw-a", "usmarc") == "new"
    assert store.put(b, b"raw-b", "usmarc") == "new"
    assert store.put(a, b"raw-a", "usmarc") == "unchanged"
    a.summary = "changed"
    assert store.put(a, b"raw-a2", "usmarc") == "updated"
    store.set_clusters(assign_clusters(store.match_records()).items())
    store.commit()
    groups = list(store.clusters())
    assert len(groups) == 1 and {r.key for r in groups[0][1]} == {"a:1", "b:9"}
    assert store.raw("a:1") == (b"raw-a2", "usmarc")
    assert store.get("a:1").summary == "changed"


def test_store_clusters_in_two_processes_equal_one(tmp_path, monkeypatch):
    store = RecordStore(tmp_path / "s.db")
    for n in range(30):
        store.put(rec("a", str(n), f"978702000{n % 7:03d}"), b"raw", "usmarc")
        store.put(rec("b", str(n), f"978702000{n % 5:03d}"), b"raw", "usmarc")
    store.commit()
    single = assign_store_clusters(store, processes=1)
    monkeypatch.setattr(merge, "PARALLEL_MIN_RECORDS", 0)
    monkeypatch.setattr(merge.os, "cpu_count", lambda: 2)
    assert assign_store_clusters(store, processes=2) == single
    assert single == assign_clusters(store.match_records())


# -- incremental merges ---------------------------------------------------------------


def _full_map(store: RecordStore) -> dict[str, str]:
    """What a full re-merge would write, computed from scratch beside the store."""
    return assign_store_clusters(store, processes=1)


def _merged(store: RecordStore) -> tuple[merge.MergeOutcome, dict[str, str | None]]:
    before = store.cluster_map()
    outcome = merge.merge_store(store, processes=1)
    after = store.cluster_map()
    assert after == _full_map(store), "incremental merge differs from a full re-merge"
    # The outcome names exactly the records whose entry changed, old and new.
    assert outcome.moved == {k: (before.get(k), c) for k, c in after.items()
                             if before.get(k) != c}
    return outcome, after


def test_incremental_merge_equals_a_full_re_merge(tmp_path, monkeypatch):
    """Rounds of adds, updates (a title typed anew, a year, an ISBN taken from another
    book: 一号多书), deletions (a record that bridged two entries among them), librarians'
    splits and merges and an undone split, on generated catalogues with re-used ISBNs and
    set ISBNs: after each round the incremental merge writes what a full re-merge would,
    re-judging only part of the store (a small one: each round changes a tenth of it)."""
    from bench.matching_data import build

    monkeypatch.setattr(merge, "INCREMENTAL_MAX_SHARE", 0.8)
    items = build(size=260, seed=11, with_real=False).items
    assert any(it.negative == "reused_isbn" for it in items)  # 一号多书 in the data
    records = [it.record for it in items]
    rng = random.Random(5)
    rng.shuffle(records)
    first, later = records[: len(records) * 3 // 4], records[len(records) * 3 // 4:]
    store = RecordStore(tmp_path / "s.db")
    for r in first:
        store.put(r, b"raw", "usmarc")
    outcome, clusters = _merged(store)
    assert outcome.full and outcome.why == "no block table of this version yet"
    assert len(set(clusters.values())) < len(first)  # the data merges

    live = list(first)
    for round_ in range(6):
        changed: set[str] = set()
        for r in later[round_ * 40:(round_ + 1) * 40:2]:  # adds
            store.put(r, b"raw", "usmarc")
            live.append(r)
            changed.add(r.key)
        for r in rng.sample(live, 12):  # updates
            kind = rng.randrange(4)
            if kind == 0:
                r.title = r.title[:-1] if len(r.title) > 3 else r.title + "续编"
            elif kind == 1:
                r.year = (r.year or 2000) + rng.choice((-1, 3))
            elif kind == 2:  # another book's ISBN (a re-used number)
                other = rng.choice([o for o in live if o.isbn and o.title != r.title])
                r.isbn = list(other.isbn)
            else:
                r.isbn, r.summary = [], f"round {round_}"
            assert store.put(r, b"raw2", "usmarc") == "updated"
            changed.add(r.key)
        for r in rng.sample(live, 5):  # deletions
            live.remove(r)
            store.delete(r.key)
            changed.add(r.key)
        groups: dict[str | None, list[str]] = {}
        for k, c in store.cluster_map().items():
            groups.setdefault(c, []).append(k)
        big = [sorted(g) for g in groups.values() if len(g) > 2]
        if big:  # a librarian splits one record out of an entry
            g = rng.choice(big)
            for other in g[1:]:
                store.add_link(g[0], other, "split", "审校员")
        lone = [g[0] for g in groups.values() if len(g) == 1]
        a, b = rng.sample(lone, 2)  # … and merges two entries
        store.add_link(a, b, "merge", "审校员")
        if round_ == 3:
            split, _ = store.links()
            store.remove_link(*sorted(next(iter(split))))
        store.commit()
        outcome, _ = _merged(store)
        assert not outcome.full, outcome.why
        assert outcome.rejudged < len(live) * 3 // 4, (outcome.rejudged, len(live))
        assert changed - outcome.deleted <= outcome.clusters.keys()

    # A record carrying two editions' ISBNs bridges their entries; deleting it splits
    # them again — records it never shared an entry with are re-judged too.
    with_isbn = sorted((r for r in live if len(r.isbn) == 1), key=lambda r: r.key)
    x, y = next((x, y) for x in with_isbn for y in with_isbn
                if x.title == y.title and x.isbn != y.isbn
                and clusters_differ(store, x.key, y.key))
    bridge = Record(source="z", source_id="bridge", library="Z", title=x.title,
                    authors=x.authors, year=x.year, isbn=[*x.isbn, *y.isbn])
    store.put(bridge, b"raw", "usmarc")
    store.commit()
    _merged(store)
    store.delete(bridge.key)
    store.commit()
    outcome, _ = _merged(store)
    assert not outcome.full and clusters_differ(store, x.key, y.key)


def clusters_differ(store: RecordStore, a: str, b: str) -> bool:
    return store.cluster_of(a) != store.cluster_of(b)


def test_merge_falls_back_to_full_when_the_block_table_cannot_serve(tmp_path):
    """A store without a block table (new, or migrated from an older schema), one of
    another blocking version, or changes beyond the incremental share: a full merge,
    which (re)builds the table; the next small change is incremental again."""
    store = RecordStore(tmp_path / "s.db")

    def put(source: str, n: int, isbn: str) -> None:
        r = rec(source, str(n), isbn)
        r.title = f"书名{source}{chr(0x6c34 + n)}"  # no digits: they would be a volume
        store.put(r, b"raw", "usmarc")

    for n in range(200):
        put("a", n, f"97870200{n % 40:04d}")
    store.commit()
    assert merge.merge_store(store, processes=1).full
    put("b", 1, "9787020000010")
    outcome = merge.merge_store(store, processes=1)
    assert not outcome.full and outcome.rejudged == 6 and outcome.changes == 1
    assert store.cluster_map() == _full_map(store)
    assert store.pending_summary()[0] == 0
    # Another blocking version: rebuilt in full.
    store._db.execute("UPDATE merge_state SET value = 'old' WHERE name = 'blocks'")
    put("b", 2, "9787020000027")
    outcome = merge.merge_store(store, processes=1)
    assert outcome.full and outcome.why == "no block table of this version yet"
    # More changes than the incremental share: in full.
    for n in range(25):
        put("c", n, "9787020000034")
    outcome = merge.merge_store(store, processes=1)
    assert outcome.full and "more than 10%" in outcome.why
    assert store.cluster_map() == _full_map(store)


def test_candidate_filter_keeps_every_member_that_may_be_a_candidate():
    """The incremental merge decodes only the block members that pass
    `candidate_filter` by the year and flags in the block table: for every pair that may
    be candidates (`may_be_candidates`) in a block they share, one of the first record's
    shared blocks lets the second through — with ISBNs, set ISBNs, volumes, years
    missing or apart."""
    from bench.matching_data import build
    from harvest.matching import (
        MatchRecord,
        block_hashes,
        candidate_filter,
        candidate_flags,
        may_be_candidates,
        stem_block_hashes,
    )

    def passes(a: MatchRecord, b: MatchRecord, block: int) -> bool:
        lo, hi, mask, value = candidate_filter(a, block in stem_block_hashes(a))
        year_ok = lo is None or b.year is None or lo <= b.year <= (hi if hi is not None else 0)
        return year_ok and candidate_flags(b) & mask != value

    recs = [MatchRecord.from_record(it.record)
            for it in build(size=300, seed=5, with_real=False).items]
    by_block: dict[int, list[MatchRecord]] = {}
    for r in recs:
        for h in block_hashes(r):
            by_block.setdefault(h, []).append(r)
    pairs = checked = skipped = 0
    seen: set[tuple[str, str]] = set()
    for members in by_block.values():
        for a in members:
            for b in members:
                if a is b or (a.key, b.key) in seen:
                    continue
                seen.add((a.key, b.key))
                shared = set(block_hashes(a)) & set(block_hashes(b))
                let_through = any(passes(a, b, h) for h in shared)
                if may_be_candidates(a, b):
                    pairs += 1
                    assert let_through, (a, b)
                checked += 1
                skipped += not let_through
    assert pairs > 100 and skipped > checked // 3  # it finds pairs, and it skips many


def test_incremental_merge_decides_big_blocks_as_a_full_one(tmp_path, monkeypatch):
    """A block with more than `BLOCK_LIMIT` representatives is judged through
    sub-blocks; the incremental merge counts them from the signature hashes of the block
    table (`_Incremental._big`) without reading the block.  With a limit of 3, identical
    copies of a record (one representative) and identical records that do not judge as
    one (no title: every copy is a representative) make blocks whose rows exceed the
    limit while their signatures do not: the merge still writes what a full one would."""
    from bench.matching_data import build
    from harvest.matching import blocking, clustering

    for module in (blocking, clustering, merge):
        monkeypatch.setattr(module, "BLOCK_LIMIT", 3)
    monkeypatch.setattr(merge, "INCREMENTAL_MAX_SHARE", 0.8)
    repeats: list[int] = []
    original = RecordStore.block_repeats

    def spy(self: RecordStore, block: int) -> list[tuple[int, str, int]]:
        got = original(self, block)
        repeats.append(len(got))
        return got

    monkeypatch.setattr(RecordStore, "block_repeats", spy)
    records = [it.record for it in build(size=90, seed=3, with_real=False).items]
    rng = random.Random(8)
    store = RecordStore(tmp_path / "s.db")
    for r in records:
        store.put(r, b"raw", "usmarc")
    for n in range(4):  # records without a title, alike: each copy its own representative
        store.put(Record(source="bare", source_id=str(n), library="B",
                         isbn=["9787020002207"]), b"raw", "usmarc")
    outcome, _ = _merged(store)
    assert outcome.full
    for round_ in range(4):
        for r in rng.sample(records, 6):  # identical copies in other libraries
            for c in range(rng.randrange(1, 4)):
                store.put(dataclasses.replace(r, source=f"copy{c}", library=f"C{c}"),
                          b"raw", "usmarc")
        for r in rng.sample(records, 4):
            r.year = (r.year or 2000) + rng.choice((-1, 1))
            store.put(r, b"raw2", "usmarc")
        if round_ == 2:
            store.put(Record(source="bare", source_id="9", library="B",
                             isbn=["9787020002207"]), b"raw", "usmarc")
        store.commit()
        outcome, _ = _merged(store)
        assert not outcome.full, outcome.why
    assert repeats and any(repeats)  # blocks decided from their repeated signatures


def test_a_version_4_block_table_is_migrated_and_rebuilt_by_a_full_merge(tmp_path):
    """Migration 6 replaces the (block, key) table of schema 4 by rows with year, flags
    and signature: the next merge is a full one, says why, and fills it; the one after
    is incremental again."""
    import sqlite3

    path = tmp_path / "s.db"
    store = RecordStore(path)
    for n in range(30):
        store.put(rec("a", str(n), f"978702000{n % 9:03d}"), b"raw", "usmarc")
    store.commit()
    assert merge.merge_store(store, processes=1).full
    store.close()
    raw = sqlite3.connect(path)
    raw.executescript("DROP TABLE match_blocks; "
                      "CREATE TABLE match_blocks (block INTEGER NOT NULL, key TEXT NOT NULL); "
                      "CREATE UNIQUE INDEX match_blocks_block ON match_blocks(block, key); "
                      "INSERT INTO match_blocks VALUES (1, 'a:1'); PRAGMA user_version = 4;")
    raw.close()
    store = RecordStore(path)
    assert store.migrated and "6: incremental merge" in store.migrated[0]
    columns = [row[1] for row in store._db.execute("PRAGMA table_info(match_blocks)")]
    assert columns == ["block", "key", "year", "flags", "sig"]
    store.put(rec("b", "1", "9787020000010"), b"raw", "usmarc")
    outcome = merge.merge_store(store, processes=1)
    assert outcome.full and outcome.why == "no block table of this version yet"
    store.put(rec("b", "2", "9787530212004"), b"raw", "usmarc")
    outcome = merge.merge_store(store, processes=1)
    assert not outcome.full and store.cluster_map() == _full_map(store)
