"""The cataloguer as a person (issue 16): named in a local field configured per source
(`cataloguing.cataloguers`), carried through attribution, counted per person, ranked
优秀编目员 with the members' quality threshold — against the Symphony simulator serving
the union catalogue as its members catalogued it (`tongjian.generator.habits` names
each record's cataloguer in 998 $a), harvested twice with fixes in between.

Expected figures are read off what the habits module says it did, never an earlier run.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from collections import Counter

import pytest

from core.config import ConfigError, parse
from core.model import Record
from harvest import quality_report as qr
from harvest.attribution import attribute, read_agencies
from harvest.cataloguing_summary import summarize, to_csv, to_xlsx
from harvest.marc import Field
from harvest.store import RecordStore
from tests.test_cataloguing import (
    CONFIG,
    LIBRARY_OF,
    MONTH,
    TODAY,
    _record_month,
    cnmarc,
    harvest,
    union,  # noqa: F401 - fixture
)
from tongjian.generator.habits import CATALOGUERS, MEMBERS, fix

PEOPLE = CONFIG["cataloguing"]["cataloguers"]  # the union source's 998 $a / $b
NOBODY = dict(CONFIG, cataloguing={k: v for k, v in CONFIG["cataloguing"].items()
                                   if k != "cataloguers"})


@pytest.fixture
def people(union):  # noqa: F811 - the fixture imported above
    """The union fixture's catalogue; its config names the source's cataloguer fields."""
    sim, made, config, store = union
    assert config.cataloguing.cataloguer_fields("union") == (("998", "a"), ("998", "b"))
    return union


def test_the_person_comes_from_the_configured_subfield_only(tmp_path):
    raw = dict(CONFIG, cataloguing=dict(CONFIG["cataloguing"], cataloguers=PEOPLE))
    rule = parse(raw, tmp_path / "c.yaml").source("union").attribution
    marc = cnmarc(Field("801", " ", "0", [("a", "CN"), ("b", "QXLIB"), ("c", "20250301")]),
                  Field("998", " ", " ", [("a", " 杨勇 "), ("b", "杨勇"), ("b", "周芳")]))
    record = Record("union", "1", "SXPL", format="cnmarc")
    attribute(record, read_agencies(marc, "cnmarc", rule), rule)
    assert (record.catalogued_by, record.cataloguer, record.modifier) == ("QXLIB", "杨勇",
                                                                         "周芳")  # last $b
    # not configured: no person, whatever the record holds — the library keeps the credit
    plain = parse(NOBODY, tmp_path / "p.yaml").source("union").attribution
    record = Record("union", "1", "SXPL", format="cnmarc")
    attribute(record, read_agencies(marc, "cnmarc", plain), plain)
    assert (record.catalogued_by, record.cataloguer, record.modifier) == ("QXLIB", "", "")
    # made but never changed: the maker is the last to have touched it
    marc = cnmarc(Field("998", " ", " ", [("a", "王秀兰")]))
    attribute(record, read_agencies(marc, "cnmarc", rule), rule)
    assert (record.cataloguer, record.modifier) == ("王秀兰", "王秀兰")


@pytest.mark.parametrize(("cataloguers", "says"), [
    ({"nosuch": {"catalogued": "998$a"}}, "'nosuch' is not a source name"),
    ({"union": {"catalogued": "99$a"}}, "is not a data field's subfield"),
    ({"union": {"catalogued": "001$a"}}, "tag 010–999"),
    ({"union": {"who": "998$a"}}, "(either or both)"),
    (["union"], "expected a mapping of source name"),
])
def test_cataloguer_fields_are_checked(tmp_path, cataloguers, says):
    raw = dict(CONFIG, cataloguing=dict(CONFIG["cataloguing"], cataloguers=cataloguers))
    with pytest.raises(ConfigError) as err:
        parse(raw, tmp_path / "c.yaml")
    assert says in str(err.value)


def test_each_record_carries_its_cataloguer_through_symphony(people):
    sim, made, config, store = people
    harvest(config, store)
    for key, c in zip(sim.bib_keys(), made, strict=True):
        record = store.get(f"union:{key}")
        assert record.cataloguer == c.cataloguer and c.cataloguer in CATALOGUERS[c.member]
        assert record.modifier == c.cataloguer
        assert record.catalogued_by == LIBRARY_OF[c.member]


def test_quantity_per_cataloguer_and_the_ranking(people, tmp_path):
    sim, made, config, store = people
    harvest(config, store)
    keys = sim.bib_keys()
    by_key = dict(zip(keys, made, strict=True))
    made_now = Counter((LIBRARY_OF[c.member], c.cataloguer) for k, c in by_key.items()
                       if _record_month(store, k) == MONTH)
    assert made_now, "the habits date some records this month"
    # 乾县's first cataloguer fixes two damaged records (998 $b), from any colleague
    fixer = CATALOGUERS["QIANXIAN"][0]
    sloppy = [k for k, c in by_key.items() if c.member == "QIANXIAN" and c.damaged][:2]
    for key in sloppy:
        sim.replace_marc(key, fix(by_key[key].clean, MEMBERS["QIANXIAN"][0], TODAY, fixer))
    harvest(config, store, full=True)
    qr.compute(store, config=config)
    summary = summarize(store, config, MONTH)
    people_now = {(c.library, c.person): c for c in summary.cataloguers}
    for (library, person), n in made_now.items():
        assert people_now[library, person].new_records == n
    assert people_now["QXLIB", fixer].modified_records == 2
    assert store.get(f"union:{sloppy[0]}").modifier == fixer
    assert sum(c.modified_records for c in summary.cataloguers) == 2
    # the ranking: most new records among those at or under the members' threshold
    ranked = summary.ranked_cataloguers
    assert ranked and len(ranked) <= config.cataloguing.rank_top_cataloguers
    for c in summary.cataloguers:
        assert c.eligible == (c.new_records > 0 and c.rate <= summary.threshold)
        assert bool(c.rank) <= c.eligible
    assert [c.new_records for c in ranked] == sorted((c.new_records for c in ranked),
                                                     reverse=True)
    best = max((c for c in summary.cataloguers if c.eligible), key=lambda c: c.new_records)
    assert ranked[0].new_records == best.new_records
    # a threshold of 0 leaves only people without problems
    raw = dict(CONFIG, cataloguing=dict(CONFIG["cataloguing"], cataloguers=PEOPLE,
                                        rank_max_rate=0))
    strict = parse(dict(raw, sources=[dict(CONFIG["sources"][0], address=sim.base_url)]),
                   tmp_path / "strict.yaml")
    assert all(c.problems == 0 for c in summarize(store, strict, MONTH).ranked_cataloguers)


def test_csv_and_xlsx_carry_the_cataloguers(people):
    sim, made, config, store = people
    harvest(config, store)
    qr.compute(store, config=config)
    summary = summarize(store, config, MONTH)
    first = summary.cataloguers[0]
    rows = list(csv.reader(io.StringIO(to_csv(summary, "cataloguers").decode("utf-8-sig"))))
    header, body = rows[0], {(r[1], r[3]): r for r in rows[1:]}
    row = body[first.library, first.person]
    assert row[header.index("新编记录")] == str(first.new_records)
    assert row[header.index("优秀编目员名次")] == str(first.rank or "")
    assert "编目员" not in to_csv(summary).decode("utf-8-sig").splitlines()[0]  # members' file
    with zipfile.ZipFile(io.BytesIO(to_xlsx(summary))) as book:
        names = book.read("xl/workbook.xml").decode()
        sheet = book.read("xl/worksheets/sheet2.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert 'name="编目员"' in names and first.person in strings
    assert f"<v>{first.new_records}</v>" in sheet


def test_without_configured_fields_nobody_is_ranked(union, tmp_path):  # noqa: F811
    sim, made, _, store = union
    config = parse(dict(NOBODY, sources=[dict(CONFIG["sources"][0], address=sim.base_url)]),
                   tmp_path / "nobody.yaml")
    harvest(config, store)
    summary = summarize(store, config, MONTH)
    assert summary.cataloguers == [] and summary.ranked_cataloguers == []
    assert all(store.get(f"union:{k}").cataloguer == "" for k in sim.bib_keys())


def test_a_version_4_store_gains_the_person_column(tmp_path):
    path = tmp_path / "v4.db"
    with RecordStore(path) as store:
        store.put(Record("s", "1", "SXPL", title="书", modified="1"), b"", "test")
        store.commit()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE record_changes DROP COLUMN person")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with RecordStore(path) as store:
        assert any("by name" in step for step in store.migrated)
        store.put(Record("s", "1", "SXPL", title="书", modified="2", modifier="周芳"), b"",
                  "test")
        store.commit()
        assert store.modified_records_by_cataloguer("2000-01")[0][1:2] == ("周芳",)
