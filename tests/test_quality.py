"""The monthly data-quality report: each kind of problem counted right, CSV and JSON agreeing.

A store seeded with records whose faults are known, each record stating the kinds it must
be counted under, so the expected numbers are read off the seed rather than written down
twice; plus the encoding detector against genuine text that looks like mojibake.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter

import pytest

from core.model import Author, Holding, Record
from harvest import quality_report as qr
from harvest.quality import KIND_CODES, encoding_damage
from harvest.store import RecordStore
from portal.admin_quality import QUALITY
from tests.conftest import MakeClient, MakeWorld, World
from tests.test_admin import TOKEN, admin_world, logged_in, use_credentials


def isbn13(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


A, B, C = isbn13("978702000220"), isbn13("978710801825"), isbn13("978753213411")
# One ISBN on two books (一号多书), and two controls: one book catalogued twice, once with
# another author (R2), once with another title (R3).
R, R2, R3 = isbn13("978701000001"), isbn13("978701000002"), isbn13("978701000003")
HELD = [Holding("SXPL", "借阅区", "I247/1", "B1")]
XHELD = [Holding("XYLIB", "", "K9/1", "X2")]


def book(source: str, sid: str, library: str, title: str, author: str, isbn: str) -> Record:
    return Record(source, sid, library, title=title, authors=[Author(author)], year=2015,
                  publisher="人民出版社", isbn=[isbn], clc=["K9"], material_type="book",
                  holdings=HELD if library == "SXPL" else XHELD)


# (record, the kinds it must be reported under)
SEED: list[tuple[Record, set[str]]] = [
    (Record("s", "clean", "SXPL", title="红楼梦", authors=[Author("曹雪芹")], year=1982,
            isbn=[A], clc=["I242.4"], material_type="book", holdings=HELD), set()),
    (Record("s", "noisbn", "SXPL", title="无号新书", year=2005, clc=["I247"],
            material_type="book", holdings=HELD), {"no_isbn"}),
    (Record("s", "old", "SXPL", title="一九六〇年的书", year=1960, clc=["I247"],
            material_type="book", holdings=HELD), set()),  # before ISBNs existed in China
    (Record("s", "serial", "SXPL", title="期刊", year=2010, clc=["G2"],
            material_type="serial", holdings=HELD), set()),
    (Record("s", "badisbn", "SXPL", title="错号", year=2001, isbn_invalid=["7-02-000220-7"],
            clc=["I247"], holdings=HELD), {"isbn_invalid"}),
    (Record("s", "noclc", "SXPL", title="无分类", isbn=[B], holdings=HELD), {"no_clc"}),
    (Record("s", "fffd", "SXPL", title="平凡的\ufffd\ufffd界", isbn=[C], clc=["I247"],
            holdings=HELD), {"encoding"}),
    (Record("s", "gbk", "SXPL", title="鲁迅全集", summary="鲁迅全集".encode().decode("gbk"),
            isbn=[isbn13("978702000221")], clc=["I210"], holdings=HELD), {"encoding"}),
    (Record("s", "latin", "SXPL", title="Nana", responsibility="Ã‰mile Zola",
            isbn=[isbn13("978702000222")], clc=["I565"], holdings=HELD), {"encoding"}),
    (Record("s", "kunjinkao", "SXPL", title="锟斤拷锟斤拷", isbn=[isbn13("978702000223")],
            clc=["I247"], holdings=HELD), {"encoding"}),
    (Record("s", "dup1", "SXPL", title="红楼梦", isbn=[A], clc=["I242.4"], holdings=HELD),
     {"duplicate_isbn"}),  # same ISBN as "clean", same library
    (Record("s", "vol2", "SXPL", title="红楼梦", volume="下册", isbn=[A], clc=["I242.4"],
            holdings=HELD), set()),  # a set's other volume is not a duplicate
    (Record("x", "other-lib", "XYLIB", title="红楼梦", isbn=[A], clc=["I242.4"],
            holdings=[Holding("XYLIB", "", "I242.4/3", "X1")]), set()),  # another library
    (Record("union", "u1", "SXPL", title="红楼梦", isbn=[A], clc=["I242.4"],
            holdings=HELD), set()),  # the same library's other system: merging's business
    (Record("s", "t1", "SXPL", title="地方志：续编", authors=[Author("张 三")], year=2001,
            clc=["K29"], holdings=HELD), {"no_isbn"}),
    (Record("s", "t2", "SXPL", title="地方志 续编", authors=[Author("张三")], year=2001,
            clc=["K29"], holdings=HELD), {"no_isbn", "duplicate_title"}),
    (Record("s", "t3", "SXPL", title="地方志续编", authors=[Author("张三")], year=2002,
            clc=["K29"], holdings=HELD), {"no_isbn"}),  # another year: another edition
    (Record("s", "nocall", "SXPL", title="无索书号", isbn=[isbn13("978702000224")],
            clc=["I247"], holdings=[Holding("SXPL", "", "I247/2", "B2"),
                                    Holding("SXPL", "书库", "", "B3")]), {"no_call_number"}),
    # Different title and author under one ISBN, in two libraries: both are reported,
    # each under its own library.
    (book("s", "reuse1", "SXPL", "区域概论", "秦林娜", R), {"isbn_reused"}),
    (book("x", "reuse2", "XYLIB", "形势概论", "杜辉", R), {"isbn_reused"}),
    # The same title by another author, the same author with another title: one book.
    (book("s", "au1", "SXPL", "矿产概论", "张三", R2), set()),
    (book("x", "au2", "XYLIB", "矿产概论", "李四", R2), set()),
    (book("s", "ti1", "SXPL", "胖子概论", "王五", R3), set()),
    (book("union", "ti2", "SXPL", "胖子概论：减肥指南", "王五", R3), set()),
    # Two volumes of a set under the set's ISBN, each its own title and author: no fault.
    (Record("s", "set1", "SXPL", title="陕西通史", volume="秦汉卷", authors=[Author("林剑鸣")],
            year=1997, isbn=[isbn13("978756130001")], clc=["K294"], holdings=HELD), set()),
    (Record("x", "set2", "XYLIB", title="陕西通史", volume="隋唐卷", authors=[Author("牛致功")],
            year=1997, isbn=[isbn13("978756130001")], clc=["K294"], holdings=XHELD), set()),
]
# A shared record: the missing call number is the holding library's, not the record's.
SHARED = Record("s", "shared", "SXPL", title="共享", isbn=[isbn13("978702000225")],
                clc=["I247"], holdings=[Holding("SXPL", "", "I247/9", "B9"),
                                        Holding("XYLIB", "", "", "X9")])


def seed(store: RecordStore) -> None:
    store.delete("sxpl-z3950:1")  # the admin tests' one record: only SEED here
    for record, _ in SEED:
        store.put(record, b"", "test")
    store.put(SHARED, b"", "test")
    store.set_clusters([(r.key, "c-" + r.source_id) for r, _ in [*SEED, (SHARED, set())]])
    store.commit()


def expected(library: str) -> dict[str, int]:
    counts = Counter(k for r, kinds in SEED if r.library == library for k in kinds)
    if library == "XYLIB":
        counts["no_call_number"] += 1
    return {k: counts[k] for k in KIND_CODES}


@pytest.fixture
def seeded(make_world: MakeWorld) -> World:
    world = admin_world(make_world)
    seed(world.store)
    return world


@pytest.fixture
def world(seeded: World) -> World:
    """The world conftest's `make_client` serves."""
    return seeded


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_credentials(monkeypatch)


# -- detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    ("平凡的\ufffd世界", "replacement"),
    ("锟斤拷锟斤拷", "kunjinkao"),
    ("中国发展报告".encode().decode("gbk", "ignore"), "utf8_as_gbk"),
    ("北京：中华书局，2012。".encode().decode("gbk", "ignore"), "utf8_as_gbk"),
    ("Ã©tude", "utf8_as_latin1"),
    ("It’s".encode().decode("cp1252"), "utf8_as_latin1"),
    ("红楼梦".encode().decode("latin-1"), "utf8_as_latin1"),
])
def test_encoding_damage_is_found(text: str, code: str) -> None:
    damage = encoding_damage(text)
    assert damage is not None and damage.code == code


@pytest.mark.parametrize("text", [
    "沙家浜", "涓涓细流", "银杏", "鍙", "Café", "Größe", "naïve", "Dvořák", "Ça ira",
    "北京：中华书局，2012。", "《红楼梦》研究", "ISBN 978-7-02-000220-7",
])
def test_genuine_text_is_not_damage(text: str) -> None:
    assert encoding_damage(text) is None


# -- counting ----------------------------------------------------------------------------


def test_each_kind_is_counted(seeded: World) -> None:
    snaps = qr.compute(seeded.store)
    assert snaps["SXPL"].counts == expected("SXPL")
    assert snaps["XYLIB"].counts == expected("XYLIB")
    assert snaps["SXPL"].records == len([r for r, _ in SEED if r.library == "SXPL"]) + 1
    xylib = [r for r, _ in SEED if r.library == "XYLIB"]
    assert snaps["XYLIB"].records == len(xylib)
    assert snaps["XYLIB"].holdings == sum(len(r.holdings) for r in xylib) + 1  # + SHARED's
    found = {(p.key, p.kind) for _, p in qr.problems(seeded.store, "SXPL", limit=1000)}
    assert found == {(r.key, k) for r, kinds in SEED if r.library == "SXPL" for k in kinds}
    details = {p.key: p.detail for _, p in qr.problems(seeded.store, "SXPL", limit=1000)}
    assert "s:clean" in details["s:dup1"] and "s:t1" in details["s:t2"]
    assert "提要" in details["s:gbk"] and "GBK" in details["s:gbk"]
    assert "2 条馆藏中 1 条无索书号（B3）" in details["s:nocall"]
    assert "7-02-000220-7" in details["s:badisbn"]


def test_isbn_reused_names_the_other_book(seeded: World) -> None:
    """Each side of a re-used ISBN is listed under its own library, naming the other
    record (of whichever library) so the cataloguer can check the book in hand."""
    store = seeded.store
    qr.compute(store)
    (sx,) = [p for _, p in qr.problems(store, "SXPL", "isbn_reused")]
    (xy,) = [p for _, p in qr.problems(store, "XYLIB", "isbn_reused")]
    assert sx.key == "s:reuse1" and sx.url == "/record/c-reuse1"
    assert sx.detail == (f"ISBN {R} 亦著录于 x:reuse2《形势概论》（杜辉），"
                         "题名与著者均不同（一号多书）")
    assert xy.key == "x:reuse2" and "s:reuse1《区域概论》（秦林娜）" in xy.detail
    assert "quality_isbns" not in store.temp_tables()  # the scan's scratch table is gone


def test_isbn_reused_follows_the_matcher(seeded: World) -> None:
    """A third book under the ISBN is counted once per record however many it clashes
    with; a record whose stored match form is missing is rebuilt, not skipped; a pair a
    librarian merged by hand is one book, whatever the rule says."""
    store = seeded.store
    store.put(book("x", "reuse3", "XYLIB", "胖子概论", "王红", R), b"", "test")
    store.clear_match_keys(["s:reuse1"])
    store.commit()
    qr.compute(store)
    found = {p.key: p.detail for _, p in qr.problems(store, "XYLIB", "isbn_reused")}
    assert set(found) == {"x:reuse2", "x:reuse3"}
    assert "等 2 条记录" in found["x:reuse2"]  # s:reuse1 and x:reuse3
    assert qr.latest(store)["SXPL"].count("isbn_reused") == 1
    store.add_link("s:reuse1", "x:reuse2", "merge", "审校员")
    store.add_link("s:reuse1", "x:reuse3", "merge", "审校员")
    store.add_link("x:reuse2", "x:reuse3", "merge", "审校员")
    snaps = qr.compute(store)
    assert snaps["SXPL"].count("isbn_reused") == snaps["XYLIB"].count("isbn_reused") == 0


def test_trend_month_over_month(seeded: World) -> None:
    store = seeded.store
    now = time.time()
    qr.compute(store, now=now - 31 * 86400)  # last month, with "noclc" still unclassified
    fixed, _ = SEED[5]
    seeded.store.put(Record(**{**fixed.to_dict(), "clc": ["I247"],
                               "authors": [], "holdings": []}), b"", "test")
    seeded.store.commit()
    qr.compute(store, now=now)
    qr.compute(store, now=now)  # a second run in a month replaces that month's snapshot
    history = qr.history(store, "SXPL")
    assert [h.month for h in history] == [qr.month_of(now), qr.month_of(now - 31 * 86400)]
    trend = qr.trend(history)
    assert trend[0]["change"]["no_clc"] == -1 and trend[0]["change"]["encoding"] == 0
    assert trend[1]["change"]["no_clc"] is None  # nothing before the first month


# -- pages, CSV, JSON --------------------------------------------------------------------


async def test_csv_and_json_agree(seeded: World, make_client: MakeClient) -> None:
    qr.compute(seeded.store)
    client = await make_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.get("/api/admin/quality", params={"library": "SXPL"}, headers=auth)
    data = await resp.json()
    assert resp.status == 200 and data["snapshot"]["counts"] == expected("SXPL")
    assert data["examples"]["duplicate_isbn"] == [{
        "key": "s:dup1", "cluster": "c-dup1", "title": "红楼梦",
        "detail": f"ISBN {A} 与 s:clean《红楼梦》相同", "url": "/record/c-dup1"}]
    resp = await client.get("/admin/quality/SXPL/problems.csv", headers=auth)
    raw = await resp.read()
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(qr.CSV_HEADER)
    per_kind = Counter(row[1] for row in rows[1:])
    assert {k: per_kind[k] for k in KIND_CODES} == data["snapshot"]["counts"]
    assert all(row[6].startswith("http://") and "/record/c-" in row[6] for row in rows[1:])
    resp = await client.get("/api/admin/quality", params={"library": "NOPE"}, headers=auth)
    assert resp.status == 404


async def test_report_pages(seeded: World, make_client: MakeClient) -> None:
    client = await make_client()
    await logged_in(client)
    body = await (await client.get("/admin/quality")).text()  # no snapshot: a run starts
    job = client.server.app[QUALITY]
    assert job.task is not None
    await job.task
    assert not job.error
    body = await (await client.get("/admin/quality")).text()
    assert "陕西省图书馆" in body and 'href="/admin/quality/SXPL"' in body
    body = await (await client.get("/admin/quality/SXPL")).text()
    assert "编码损坏" in body and 'href="/record/c-fffd"' in body
    assert "UTF-8 被当作 GBK 读出" in body
    assert "一号多书（ISBN 用于不同书）" in body and 'href="/record/c-reuse1"' in body
    assert "目前只有一个月的结果" in body
    body = await (await client.get("/admin/quality/SXPL?kind=no_isbn")).text()
    assert body.count('href="/record/c-') == expected("SXPL")["no_isbn"]
    assert (await client.get("/admin/quality/SXPL?kind=bogus")).status == 404
    assert (await client.get("/admin/quality/NOPE")).status == 404


def test_csv_cells_cannot_become_formulas() -> None:
    from harvest.quality import Problem

    chunk = qr.csv_chunk([Problem("L", "no_clc", "s:1", "", "=HYPERLINK(\"x\")", "")],
                         "http://h", header=False)
    assert b"'=HYPERLINK" in chunk


def test_a_stopped_scan_saves_nothing(seeded: World) -> None:
    import threading

    from harvest.quality import ScanStopped

    stop = threading.Event()
    stop.set()
    with pytest.raises(ScanStopped):
        qr.compute(seeded.store, stop=stop)
    assert qr.latest(seeded.store) == {}
    assert qr.compute(seeded.store)["SXPL"].counts == expected("SXPL")  # usable after
