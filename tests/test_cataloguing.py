"""The cataloguing centre (issue 16): attribution, quantity per member and month, the
quality rules, the monthly summary — against the Symphony simulator serving the union
catalogue as its members catalogued it (`tongjian.generator.habits`: 礼泉 excellent,
乾县 sloppy), harvested twice with edits in between.

Expected figures are read off what the habits module and the simulator say they did
(which member, which record damaged, which edited), never numbers from an earlier run.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from connectors.symphony import SymphonyConnector
from core.config import ConfigError, parse
from core.model import Holding, Record
from harvest import quality_report as qr
from harvest.attribution import attribute, read_agencies
from harvest.cataloguing_summary import summarize, this_month, to_csv, to_xlsx
from harvest.marc import Field, Marc
from harvest.pipeline import harvest_source
from harvest.quality_rules import KINDS, SEVERITIES
from harvest.store import RecordStore
from peers.symphony import SymphonySimulator
from tongjian.generator.habits import MEMBERS, fix, union_catalogue

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
TODAY = date.today()
MONTH = this_month()  # Beijing time, as the summary counts (harvests happen now)
LOGIN, PASSWORD = "TJ_HARVEST", "pw-cataloguing-centre"
LIBRARY_OF = {"PROV": "SXPL", "LIQUAN": "LQLIB", "SANYUAN": "SYLIB", "QIANXIAN": "QXLIB",
              "YANGLING": "YLLIB"}


def county(code: str, name: str) -> dict[str, object]:
    return {"code": code, "name": name, "region": "咸阳市", "level": "county", "county": name}


CONFIG = {
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
        county("LQLIB", "礼泉县图书馆"), county("SYLIB", "三原县图书馆"),
        county("QXLIB", "乾县图书馆"), county("YLLIB", "杨凌区图书馆"),
    ],
    "sources": [{
        "name": "union", "library": "SXPL", "protocol": "symphony",
        "address": "http://127.0.0.1:9/symws", "format": "cnmarc", "batch_size": 100,
        "timeout": 60,  # a loaded CI box: the test is about the figures, not the speed
        "auth": {"client_id": "TONGJIAN", "user_env": "SYM_USER",
                 "password_env": "SYM_PASSWORD"},
        "members": LIBRARY_OF,
    }],
    "cataloguing": {"agencies": {"PROV": "SXPL"}, "pinyin_required": ["*"],
                    "peers": [["LQLIB", "SYLIB"], ["QXLIB", "YLLIB"]], "rank_max_rate": 400,
                    # the habits name each record's cataloguer in 998 (as the demo's)
                    "cataloguers": {"union": {"catalogued": "998$a", "modified": "998$b"}}},
}


def prov_records(n: int) -> list[bytes]:
    data = (DEMO / "PROV.cnmarc.utf8.iso").read_bytes()
    return [c + b"\x1d" for c in data.split(b"\x1d") if c.strip()][:n]


@pytest.fixture
def union(tmp_path, monkeypatch):
    """The union catalogue catalogued by its members, served, and a config for it."""
    monkeypatch.setenv("SYM_USER", LOGIN)
    monkeypatch.setenv("SYM_PASSWORD", PASSWORD)
    made = union_catalogue(prov_records(120), seed=5, today=TODAY)
    with SymphonySimulator([c.data for c in made], users={LOGIN: PASSWORD}, seed=3,
                           holders=[c.holders for c in made]) as sim:
        raw = dict(CONFIG)
        raw["sources"] = [dict(CONFIG["sources"][0], address=sim.base_url)]
        config = parse(raw, tmp_path / "config.yaml")
        store = RecordStore(config.resolve(config.store_path))
        try:
            yield sim, made, config, store
        finally:
            store.close()


def harvest(config, store, full=True):
    source = config.source("union")
    stats = harvest_source(source, SymphonyConnector.from_source(source), store, full=full,
                           show_progress=False)
    assert not stats.errors, stats
    return stats


# -- attribution ---------------------------------------------------------------------------


def test_members_are_credited_from_801_not_the_source_owner(union):
    sim, made, config, store = union
    harvest(config, store)
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    credited = Counter()
    for key, c in by_key.items():
        record = store.get(f"union:{key}")
        assert record is not None and record.library == "SXPL"  # the source's owner
        assert record.catalogued_by == LIBRARY_OF[c.member], key
        assert record.attributed_from == "record"
        assert record.catalogue_agency in (MEMBERS[c.member][0], "NLC")
        credited[record.catalogued_by] += 1
    # the county members have their own records: the "0 records" is gone
    assert {"LQLIB", "SYLIB", "QXLIB", "YLLIB"} <= set(credited)


def cnmarc(*fields: Field) -> Marc:
    return Marc("00000nam0 2200000   450 ", list(fields), "utf-8")


def test_attribution_rules_and_fallbacks(tmp_path):
    config = parse(CONFIG, tmp_path / "config.yaml")
    rule = config.source("union").attribution
    copied = cnmarc(Field("801", " ", "0", [("a", "CN"), ("b", "NLC"), ("c", "20120303")]),
                    Field("801", " ", "2", [("a", "CN"), ("b", "QXLIB"), ("c", "20240105")]),
                    Field("801", " ", "2", [("a", "CN"), ("b", "PROV"), ("c", "20240301")]))
    r = Record("union", "1", "SXPL")
    attribute(r, read_agencies(copied, "cnmarc"), rule)
    # NLC made it, 乾县 copied it into the union catalogue, the centre changed it last
    assert (r.catalogued_by, r.modified_by, r.catalogue_agency, r.modify_agency) == (
        "QXLIB", "SXPL", "NLC", "PROV")
    assert r.created == "2024-01-05"
    # an agency nobody maps, copies in 礼泉: the holdings' library
    unknown = cnmarc(Field("801", " ", "0", [("b", "611999")]))
    r = Record("union", "2", "SXPL", holdings=[Holding("LQLIB"), Holding("SYLIB")])
    attribute(r, read_agencies(unknown, "cnmarc"), rule)
    assert (r.catalogued_by, r.attributed_from) == ("LQLIB", "holdings")
    # nothing at all: the source's owner
    r = Record("union", "3", "SXPL")
    attribute(r, read_agencies(cnmarc(), "cnmarc"), rule)
    assert (r.catalogued_by, r.attributed_from) == ("SXPL", "source")
    # MARC 21 040: $a original, $d modifying (the last one changed it last)
    m21 = Marc("00000cam a2200000 a 4500", [
        Field("008", value="240105s2023    cc            000 0 chi d"),
        Field("040", " ", " ", [("a", "YLLIB"), ("b", "chi"), ("d", "LQLIB"), ("d", "PROV")])])
    r = Record("union", "4", "SXPL", format="marc21")
    attribute(r, read_agencies(m21, "marc21"), rule)
    assert (r.catalogued_by, r.modified_by, r.created) == ("YLLIB", "SXPL", "2024-01-05")


def test_attribution_order_is_configurable_per_source(tmp_path):
    raw = dict(CONFIG)
    raw["sources"] = [dict(CONFIG["sources"][0], attribution=["holdings"])]
    rule = parse(raw, tmp_path / "c.yaml").source("union").attribution
    assert rule.order == ("holdings", "source")  # the owner stays the last resort
    r = Record("union", "1", "SXPL", holdings=[Holding("YLLIB")])
    attribute(r, read_agencies(cnmarc(Field("801", " ", "0", [("b", "QXLIB")])), "cnmarc"),
              rule)
    assert r.catalogued_by == "YLLIB"
    raw["sources"] = [dict(CONFIG["sources"][0], attribution=["801"])]
    with pytest.raises(ConfigError, match=r"union.*'801' is not one of record, holdings"):
        parse(raw, tmp_path / "c.yaml")
    bad = dict(CONFIG, cataloguing={"agencies": {"611001": "NOSUCH"}})
    with pytest.raises(ConfigError, match="NOSUCH.*not a library code"):
        parse(bad, tmp_path / "c.yaml")


# -- quantity --------------------------------------------------------------------------------


def test_quantity_per_member_and_month_across_two_harvests(union):
    sim, made, config, store = union
    harvest(config, store)
    keys = sim.bib_keys()
    by_key = dict(zip(keys, made, strict=True))
    recent = Counter(LIBRARY_OF[c.member] for c in made
                     if _record_month(store, keys[made.index(c)]) == MONTH)
    summary = summarize(store, config, MONTH)
    for library, n in recent.items():
        assert summary.member(library).month.new_records == n
    assert sum(m.month.modified_records for m in summary.members) == 0
    # 乾县 fixes two of its damaged records; 礼泉 adds a copy to one of its own
    sloppy = [k for k, c in by_key.items() if c.member == "QIANXIAN" and c.damaged][:2]
    for key in sloppy:
        sim.replace_marc(key, fix(by_key[key].clean, "QXLIB", TODAY))
    own = next(k for k, c in by_key.items() if c.member == "LIQUAN")
    sim.add_item(own, "LIQUAN")
    before = summarize(store, config, MONTH).member("LQLIB").month.new_items
    harvest(config, store, full=True)
    summary = summarize(store, config, MONTH)
    assert summary.member("QXLIB").month.modified_records == 2
    assert summary.member("LQLIB").month.new_items == before + 1
    assert store.get(f"union:{sloppy[0]}").modified_by == "QXLIB"
    # totals since the configured start (2007-01) count the member's records made since
    since = [k for k, c in by_key.items() if c.member == "QIANXIAN"
             and _record_month(store, k) >= "2007-01"]
    assert 0 < len(since) < sum(1 for c in made if c.member == "QIANXIAN")
    assert summary.member("QXLIB").total_records == len(since)


def _record_month(store: RecordStore, key: str) -> str:
    return store.get(f"union:{key}").created[:7]


# -- quality rules ----------------------------------------------------------------------------


def test_rules_are_data_with_severity_explanation_and_fix():
    codes = [k.code for k in KINDS]
    assert len(codes) == len(set(codes))
    for k in KINDS:
        assert k.severity in SEVERITIES and k.label and k.explain and k.fix, k.code
        assert set(k.formats) <= {"cnmarc", "marc21"}


def test_the_sloppy_county_is_caught_and_the_excellent_one_is_clean(union):
    sim, made, config, store = union
    harvest(config, store)
    qr.compute(store, config=config)
    problems = {(p.key, p.kind) for lib in LIBRARY_OF.values()
                for _, p in qr.problems(store, lib, limit=10_000)}
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    kinds_of = {k: {kind for key, kind in problems if key == f"union:{k}"} for k in by_key}
    damaged = [k for k, c in by_key.items() if c.member == "QIANXIAN" and c.damaged]
    marc_rules = {"field_215a", "field_101", "pinyin_missing", "fixed_100", "clc_invalid",
                  "indicator_invalid"}
    assert damaged and all(kinds_of[k] & marc_rules for k in damaged)
    excellent = [k for k, c in by_key.items() if c.member == "LIQUAN"]
    assert not any(kinds_of[k] & marc_rules for k in excellent)
    found = {kind for k in damaged for kind in kinds_of[k]}
    assert {"field_215a", "pinyin_missing", "fixed_100"} <= found
    summary = summarize(store, config, MONTH)
    qx, lq = summary.member("QXLIB"), summary.member("LQLIB")
    if qx.month.new_records and lq.month.new_records:
        assert qx.month.rate > lq.month.rate


def test_barcode_range_and_missing_barcode(tmp_path):
    raw = dict(CONFIG, libraries=[dict(CONFIG["libraries"][0],
                                       barcode_ranges=["SX00000001-SX00009999"])]
               + CONFIG["libraries"][1:])
    config = parse(raw, tmp_path / "c.yaml")
    with RecordStore(tmp_path / "s.db") as store:
        store.put(Record("union", "1", "SXPL", format="cnmarc", title="书", clc=["I247.5"],
                         holdings=[Holding("SXPL", call_number="I247.5/1", barcode="SX00000042"),
                                   Holding("SXPL", call_number="I247.5/1", barcode="XY12"),
                                   Holding("SXPL", call_number="K29/3")]), b"", "test")
        store.commit()
        qr.compute(store, config=config)
        kinds = {p.kind: p.detail for _, p in qr.problems(store, "SXPL")}
    assert "XY12" in kinds["barcode_range"] and "SX00000042" not in kinds["barcode_range"]
    assert kinds["no_barcode"].startswith("3 条馆藏中 1 条")
    assert "K29/3" in kinds["clc_call_mismatch"]


# -- the summary and its exports ---------------------------------------------------------------


def test_csv_and_xlsx_carry_the_page_figures(union):
    sim, made, config, store = union
    harvest(config, store)
    qr.compute(store, config=config)
    summary = summarize(store, config, MONTH)
    rows = list(csv.reader(io.StringIO(to_csv(summary).decode("utf-8-sig"))))
    header, body = rows[0], {r[1]: r for r in rows[1:]}
    qx = summary.member("QXLIB")
    assert body["QXLIB"][header.index("新编记录")] == str(qx.month.new_records)
    assert body["QXLIB"][header.index("每千条问题")] == str(qx.month.rate)
    with zipfile.ZipFile(io.BytesIO(to_xlsx(summary))) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "乾县图书馆" in strings and f"<v>{qx.month.new_records}</v>" in sheet


def test_ranking_needs_the_quality_threshold(union, tmp_path):
    sim, made, config, store = union
    harvest(config, store)
    qr.compute(store, config=config)
    summary = summarize(store, config, MONTH)
    for m in summary.members:
        assert bool(m.rank) <= m.eligible
        assert m.eligible == (m.month.new_records > 0 and m.month.rate <= summary.threshold)
    raw = dict(CONFIG, cataloguing=dict(CONFIG["cataloguing"], rank_max_rate=0))
    strict = parse(dict(raw, sources=[dict(CONFIG["sources"][0], address=sim.base_url)]),
                   tmp_path / "c.yaml")
    ranked = summarize(store, strict, MONTH).ranked
    assert all(m.month.problem_total == 0 for m in ranked)


def test_store_migrates_to_the_cataloguing_tables(tmp_path):
    import sqlite3

    from harvest.schema import SCHEMA_VERSION

    path = tmp_path / "old.db"
    with RecordStore(path) as store:
        store.put(Record("s", "1", "SXPL", title="书"), b"", "test")
        store.commit()
    db = sqlite3.connect(path)
    for table in ("record_changes", "item_additions", "marc_findings", "accounts", "reviews",
                  "review_audit"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with RecordStore(path) as store:
        assert store.migrated and "cataloguing history" in store.migrated[0]
        assert store.get("s:1").title == "书"
        assert store.reviews() == [] and store.accounts() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()



def test_marc_checks_read_only_new_or_changed_records(union, monkeypatch):
    """The raw MARC is read again only for records not checked in this version: a
    monthly scan of a large store costs what changed, and a fix shows at once."""
    sim, made, config, store = union
    harvest(config, store)
    qr.compute(store, config=config)

    def found() -> set[tuple[str, str]]:
        return {(p.key, p.kind) for lib in LIBRARY_OF.values()
                for _, p in qr.problems(store, lib, limit=10_000)}

    before = found()
    read: list[str] = []
    raw = store.raw
    monkeypatch.setattr(store, "raw", lambda key: read.append(key) or raw(key))
    qr.compute(store, config=config)
    assert read == [] and found() == before
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    target = next(k for k, c in by_key.items() if c.member == "QIANXIAN" and c.damaged)
    assert any(key == f"union:{target}" for key, _ in before)
    sim.replace_marc(target, fix(by_key[target].clean, "QXLIB", TODAY))
    harvest(config, store, full=True)
    qr.compute(store, config=config)
    assert read == [f"union:{target}"]
    marc_rules = {"field_215a", "field_101", "pinyin_missing", "fixed_100", "clc_invalid",
                  "indicator_invalid"}
    assert not {kind for key, kind in found() if key == f"union:{target}"} & marc_rules


def test_an_import_notices_fixed_records_too(tmp_path):
    """A member's export file loaded with `tongjian import`: the county's records are
    credited to it by 801, and a re-import with a fixed record asks the reviewer."""
    from harvest.bulk import import_sources
    from harvest.cataloguing_review import mark

    made = union_catalogue(prov_records(40), seed=5, today=TODAY)
    raw = dict(CONFIG, sources=[{"name": "qx-file", "library": "QXLIB", "protocol": "z3950",
                                 "address": "127.0.0.1:9/Default", "format": "cnmarc",
                                 "record_syntax": "unimarc"}],
               index={"path": str(tmp_path / "index")},
               cataloguing=dict(CONFIG["cataloguing"],
                                cataloguers={"qx-file": {"catalogued": "998$a"}}))
    config = parse(raw, tmp_path / "config.yaml")
    export = tmp_path / "qx.iso"
    export.write_bytes(b"".join(c.data for c in made))
    store = RecordStore(config.resolve(config.store_path))
    try:
        import_sources(config, {"qx-file": [export]}, processes=1, show_progress=False,
                       store=store)
        n = next(n for n, c in enumerate(made) if c.member == "QIANXIAN" and c.damaged)
        key = f"qx-file:{_id(made[n].data)}"
        assert store.get(key).catalogued_by == "QXLIB"
        assert store.get(key).cataloguer == made[n].cataloguer != ""  # through the import
        mark(store, "zhongxin", key, MONTH, "QXLIB", "problem", "field_215a")
        store.commit()
        fixed = [fix(x.clean, "QXLIB", TODAY) if i == n else x.data
                 for i, x in enumerate(made)]
        export.write_bytes(b"".join(fixed))
        import_sources(config, {"qx-file": [export]}, processes=1, show_progress=False,
                       store=store)
        assert [r[9] for r in store.reviews()] == ["changed"]
    finally:
        store.close()


def _id(data: bytes) -> str:
    from harvest.marc import decode_iso2709

    return decode_iso2709(data, "utf-8", "cnmarc").control("001").strip()
