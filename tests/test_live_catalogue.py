"""Live records placed by the harvest's own matcher, and an entry's one holdings function.

A small catalogue in a real store and tantivy index: the live records are looked up by
their match keys in the whole index (not in one query's hits) and judged by
`harvest.matching`, so a book without an ISBN joins its entry when title, author, year
and publisher agree, a reused ISBN does not join a different book, and what is not in
the catalogue becomes a live-only entry of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import parse
from core.entry import (
    DERIVED,
    NO_ITEM_DATA,
    ONLINE_LOCATION,
    LibraryCopies,
    combine,
    entry_holdings,
    library_copies,
)
from core.model import Author, Holding, Record
from harvest.store import RecordStore
from index.documents import cluster_document
from index.tantivy_backend import TantivyBackend
from portal.live_catalogue import LiveCatalogue, is_live_id
from portal.records import record_data


def book(source: str, sid: str, library: str, title: str, author: str, year: int,
         publisher: str = "人民文学出版社", isbn: tuple[str, ...] = (), copies: int = 1
         ) -> Record:
    return Record(source=source, source_id=sid, library=library, title=title,
                  authors=[Author(author)], year=year, publisher=publisher, isbn=list(isbn),
                  holdings=[Holding(library, "书库", "I242/1", f"{library}{sid}",
                                    copies=copies)])


CATALOGUE = {
    "honglou-1982": [book("sx", "1", "SXPL", "红楼梦", "曹雪芹", 1982),
                     book("xy", "1", "XYLIB", "红楼梦", "曹雪芹", 1982)],
    "honglou-2008": [book("sx", "2", "SXPL", "红楼梦", "曹雪芹", 2008,
                          isbn=("9787020022076",))],
    "quyu": [book("sx", "3", "SXPL", "区域概论", "秦林娜", 2015, "科学出版社",
                  isbn=("9787030000005",))],
    # one ISBN printed on two different books (一号多书): two entries
    "xingshi": [book("xy", "3", "XYLIB", "形势概论", "杜辉", 2015, "科学出版社",
                     isbn=("9787030000005",))],
    **{f"filler-{n}": [book("sx", f"f{n}", "SXPL", f"陕西地方志研究第{n}辑", "张三", 2000 + n)]
       for n in range(30)},
}


@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[tuple[RecordStore, TantivyBackend]]:
    store = RecordStore(tmp_path / "store.db")
    backend = TantivyBackend(None)
    for cid, records in CATALOGUE.items():
        for r in records:
            store.put(r, raw=b"raw", raw_format="test")
        store.set_clusters([(r.key, cid) for r in records])
    store.commit()
    backend.add(cluster_document(cid, recs, {}) for cid, recs in CATALOGUE.items())
    backend.commit()
    yield store, backend
    backend.close()
    store.close()


def test_a_live_record_joins_its_entry_by_isbn_and_without_one(
        catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    live = LiveCatalogue()
    by_isbn = book("cw", "9", "CWLIB", "红楼梦", "曹雪芹", 2008, isbn=("9787020022076",))
    no_isbn = book("cw", "10", "CWLIB", "红楼梦", "曹雪芹", 1982)
    placed = live.resolve([by_isbn, no_isbn], backend, store)
    assert placed == {by_isbn.key: "honglou-2008", no_isbn.key: "honglou-1982"}
    assert live.records_for("honglou-1982") == [no_isbn]
    assert live.entries_with_live(["honglou-2008", "quyu"]) == {"honglou-2008": [by_isbn]}
    # the record page shows the matcher's evidence for the join
    config = parse({"libraries": [], "sources": []}, Path("test.yaml"))
    data = record_data("honglou-1982", store, config, live.entries_with_live)
    assert data is not None
    joined = [m for m in data["merge"] if no_isbn.key in (m["a"], m["b"])]
    assert joined and joined[0]["evidence"][-1].startswith("结论：合并")


def test_a_reused_isbn_does_not_join_a_different_book(
        catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    live = LiveCatalogue()
    other = book("cw", "11", "CWLIB", "形势概论", "杜辉", 2015, "科学出版社",
                 isbn=("9787030000005",))
    assert live.resolve([other], backend, store)[other.key] == "xingshi"
    third = book("cw", "12", "CWLIB", "胖子概论", "李四", 2015, "科学出版社",
                 isbn=("9787030000005",))
    assert is_live_id(live.resolve([third], backend, store)[third.key])


def test_the_record_page_says_why_a_shared_isbn_was_not_merged(
        catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    config = parse({"libraries": [{"code": c, "name": c, "region": "r", "level": "county"}
                                  for c in ("SXPL", "XYLIB")], "sources": []},
                   Path("test.yaml"))
    data = record_data("quyu", store, config, backend=backend)
    assert data is not None
    [other] = data["kept_apart"]
    assert (other["id"], other["title"], other["isbn"]) == ("xingshi", "形势概论",
                                                            "9787030000005")
    assert any("一号多书" in line for line in other["evidence"])
    assert other["evidence"][-1].startswith("结论：不合并")
    assert record_data("honglou-2008", store, config, backend=backend)["kept_apart"] == []


def test_live_only_books_group_across_sources_and_searches(
        catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    live = LiveCatalogue()
    a = book("cw", "20", "CWLIB", "窑洞人家", "蔡秋昌", 1976, "陕西人民出版社")
    first = live.resolve([a], backend, store)[a.key]
    assert is_live_id(first)
    b = book("ff", "7", "FFLIB", "窑洞人家", "蔡秋昌", 1976, "陕西人民出版社")
    second = live.resolve([b], backend, store)[b.key]
    assert second == live.entry_of(a.key)  # one book: one live-only entry for both
    assert [r.key for r in live.records_for(second)] == sorted([a.key, b.key])


def test_live_records_expire(catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    now = [1000.0]
    live = LiveCatalogue(ttl=60, clock=lambda: now[0])
    r = book("cw", "9", "CWLIB", "红楼梦", "曹雪芹", 2008, isbn=("9787020022076",))
    live.resolve([r], backend, store)
    now[0] += 59
    assert live.records_for("honglou-2008") == [r]
    now[0] += 2
    assert live.records_for("honglou-2008") == [] and live.entry_of(r.key) is None


def test_live_records_are_bounded(catalogue: tuple[RecordStore, TantivyBackend]) -> None:
    store, backend = catalogue
    live = LiveCatalogue(max_records=2)
    records = [book("cw", str(n), "CWLIB", f"只在县馆的书{n}", "某某", 1990) for n in range(3)]
    for r in records:
        live.resolve([r], backend, store)
    assert live.entry_of(records[0].key) is None
    assert live.entry_of(records[2].key) is not None


# -- core.entry ---------------------------------------------------------------------------


def test_entry_holdings_counts_items_online_copies_and_records_without_items() -> None:
    shelf = book("sx", "1", "SXPL", "红楼梦", "曹雪芹", 1982, copies=3)
    bare = Record(source="xy", source_id="2", library="XYLIB", title="红楼梦")
    online = Record(source="dfwx", source_id="3", library="SXPL", title="红楼梦",
                    online_url="http://127.0.0.1/objects/3.pdf")
    live = book("cw", "4", "CWLIB", "红楼梦", "曹雪芹", 1982, copies=2)
    rows = entry_holdings([shelf, bare, online], [live])
    assert [(r.library, r.index, r.copies, r.live) for r in rows] == [
        ("SXPL", 0, 3, False), ("XYLIB", DERIVED, 1, False), ("SXPL", DERIVED, 1, False),
        ("CWLIB", 0, 2, True)]
    assert rows[1].note == NO_ITEM_DATA
    assert rows[2].location == ONLINE_LOCATION and rows[2].online
    assert library_copies(rows) == [LibraryCopies("SXPL", 4, True, False),
                                    LibraryCopies("XYLIB", 1), LibraryCopies("CWLIB", 2, False,
                                                                             True)]


def test_combine_sums_like_library_copies_over_all_rows() -> None:
    a = entry_holdings([book("sx", "1", "SXPL", "书", "甲", 2000, copies=2)])
    b = entry_holdings([], [book("cw", "1", "CWLIB", "书", "甲", 2000),
                            book("cw2", "1", "SXPL", "书", "甲", 2000)])
    assert combine(library_copies(a), library_copies(b)) == library_copies([*a, *b]) == [
        LibraryCopies("SXPL", 3, False, False), LibraryCopies("CWLIB", 1, False, True)]
