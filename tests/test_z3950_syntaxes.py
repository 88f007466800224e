"""Z39.50 servers that answer in OPAC or SUTRS, Explain, and how sure the probe is of an
encoding — against real yaz-ztest (OPAC and SUTRS records, no Explain database) and Zebra
(Explain, SUTRS, no OPAC)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connectors.base import RawRecord
from connectors.z3950 import Z3950Connector, explain_databases
from core.config import Source, parse
from harvest import iso2709
from harvest.encoding_evidence import weigh
from harvest.marc import RecordError
from harvest.pipeline import harvest_source
from harvest.record_syntaxes import split_opac
from harvest.store import RecordStore
from tests.conftest import running_ztest, shared_data
from tongjian.probe import probe
from tongjian.zebra import RecordFile, ZebraServer

pytestmark = pytest.mark.skipif(
    not (shutil.which("zebraidx") and shutil.which("zebrasrv")),
    reason="Zebra (idzebra-2.0) is not installed",
)

DP2 = "derived/dp2_cnmarc_10recs.utf8.iso"
# yaz-ztest: a query term with leading digits is the hit count; the seed fixes the rest
ZTEST_DB = "Default?seed=1"


@pytest.fixture(scope="module")
def ztest() -> Iterator[str]:
    with running_ztest() as address:
        yield address


@pytest.fixture(scope="module")
def zebra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    with ZebraServer(tmp_path_factory.mktemp("zebra"), "unimarc", [shared_data(DP2)]) as z:
        yield z


def _source(name: str, address: str, syntax: str) -> Source:
    return Source(name=name, library="L", protocol="z3950", address=address,
                  record_syntax=syntax)


def test_an_opac_only_harvest_reads_the_bibliographic_part_and_its_copies(
        ztest: str, tmp_path: Path) -> None:
    address = f"{ztest}/{ZTEST_DB}"
    store = RecordStore(tmp_path / "s.db")
    source = _source("zt", address, "opac")
    with Z3950Connector("zt", address, "opac", batch_size=5,
                        harvest_query='@attr 1=4 "12"') as conn:
        stats = harvest_source(source, conn, store, full=True, show_progress=False)
    assert (stats.new, stats.quarantined) == (12, 0), store.quarantined("zt")
    records = {r.title: r for r in store.records("zt")}
    book = records["How to program a computer"]
    assert book.format == "marc21" and book.year == 1991
    (copy,) = book.holdings  # from the OPAC holdings: the MARC record has none
    assert (copy.barcode, copy.call_number) == ("1226176", "MLCM 89/00602 (N)")
    assert copy.location.startswith("Main or Science") and copy.status == "available"
    assert len(records) > 5  # distinct bibliographic records, not one record repeated


def test_sutrs_records_are_quarantined_saying_what_to_configure(
        zebra: ZebraServer, tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "s.db")
    source = _source("sxpl", zebra.address, "sutrs")
    with Z3950Connector("sxpl", zebra.address, "sutrs") as conn:
        stats = harvest_source(source, conn, store, full=True, show_progress=False)
    assert (stats.new, stats.quarantined) == (0, 10)
    for entry in store.quarantined("sxpl"):
        assert entry.raw  # the text as the server sent it, kept
        assert "source sxpl, record #" in entry.reason
        assert "SUTRS (plain text)" in entry.reason and "`record_syntax:`" in entry.reason
        assert "leader" not in entry.reason and "XML" not in entry.reason


def test_an_opac_record_is_cut_by_its_length_not_by_markup() -> None:
    leader = "00000nam a2200000   4500"
    bib = iso2709.write(leader, [("245", "10", [("a", "A </bibliographicRecord> B")])],
                        "utf-8")
    raw = (b"<opacRecord>\n  <bibliographicRecord>\n" + bib
           + b"  </bibliographicRecord>\n<holdings><holding><callNumber>TP3/1</callNumber>"
           b"<circulations><circulation><availableNow value=\"0\"/>"
           b"<availabilityDate>2026-12-24</availabilityDate><itemId>B9</itemId>"
           b"</circulation></circulations></holding></holdings></opacRecord>")
    data, items = split_opac(raw)
    assert data == bib
    (item,) = items
    assert (item.barcode, item.call_number, item.status.due_date) == ("B9", "TP3/1",
                                                                     "2026-12-24")
    with pytest.raises(RecordError, match="without a bibliographic part"):
        split_opac(b"<opacRecord><holdings/></opacRecord>")
    with pytest.raises(RecordError, match="neither ISO 2709"):
        split_opac(b"<opacRecord><bibliographicRecord>junk</bibliographicRecord>")


def test_probe_lists_databases_from_explain(zebra: ZebraServer) -> None:
    explain = zebra.address.replace("/Default", "/IR-Explain-1")
    with Z3950Connector("z", explain, "sutrs") as conn:
        assert explain_databases(conn) == [("Default", 10), ("IR-Explain-1", 6)]
    report = probe(zebra.address)
    facts = dict(report.facts)
    assert facts["databases"].startswith("Default (10 records)")
    # Zebra: no OPAC (Bib-1 239); SUTRS yes, but not harvestable
    assert facts["syntax opac"].startswith("not offered") or \
        facts["syntax opac"].startswith("no record came back")
    assert "SUTRS" in facts["syntax sutrs"] and "cannot be harvested" in facts["syntax sutrs"]
    assert report.source_block["record_syntax"] == "unimarc"


def test_probe_of_an_opac_server_without_explain(ztest: str) -> None:
    report = probe(f"{ztest}/{ZTEST_DB}")
    assert report.ok, report.render()
    facts = dict(report.facts)
    assert facts["databases"].startswith("could not be listed")
    assert facts["syntax opac"] == "works" and facts["syntax usmarc"] == "works"
    assert facts["syntax unimarc"] == "answered in usmarc instead"
    assert "SUTRS" in facts["syntax sutrs"]
    assert facts["record syntaxes"] == "usmarc, marcxml, opac"
    # the MARC records carry no copies, the OPAC ones do: OPAC is the syntax to harvest
    assert report.source_block["record_syntax"] == "opac"
    assert facts["harvest syntax"].startswith("opac")
    pasted = yaml.safe_load(report.render().split("set `library:`:\n", 1)[1])[0]
    pasted.update(name="ztest", library="L")
    config = parse({"libraries": [{"code": "L", "name": "县馆", "region": "咸阳市",
                                   "level": "county"}], "sources": [pasted]}, Path("c.yaml"))
    assert config.sources[0].record_syntax == "opac"


def _transcoded(chunk: bytes, encoding: str) -> bytes:
    from harvest.marc import decode_iso2709
    m = decode_iso2709(chunk)
    fields = [(f.tag, "", f.value) if f.value is not None else (f.tag, f.ind1 + f.ind2,
              f.subfields) for f in m.fields]
    return iso2709.write(m.leader, fields, encoding)


def test_encoding_evidence_counts_what_the_detector_saw() -> None:
    dp2 = [c for _, c in iso2709.split_records(shared_data(DP2).read_bytes())]
    utf8 = weigh(dp2)
    assert (utf8.encoding, utf8.sampled, utf8.agreeing, utf8.utf8) == ("utf-8", 10, 10, 10)
    gb = weigh([_transcoded(c, "gb18030") for c in dp2])
    assert (gb.encoding, gb.agreeing, gb.gb_text, gb.utf8) == ("gb18030", 10, 10, 0)
    assert gb.describe().startswith("GBK/GB18030 — 10 of 10 sampled records (100%)")
    jazz = weigh(c for _, c in iso2709.split_records(
        shared_data("marc21_general/evergreen/jazz_1k.mrc").read_bytes()))
    assert (jazz.encoding, jazz.agreeing, jazz.sampled) == ("marc-8", 1000, 1000)
    assert (jazz.escapes, jazz.utf8, jazz.gb_text, jazz.ansel) == (0, 0, 0, 95)
    assert "95 with other high bytes" in jazz.describe()
    hebrew = weigh(c for _, c in iso2709.split_records(
        shared_data("marc21_general/evergreen/hebrew.marc").read_bytes()))
    assert (hebrew.encoding, hebrew.agreeing, hebrew.escapes) == ("marc-8", 20, 20)
    assert "20 with MARC-8 escape sequences" in hebrew.describe()
    mixed = weigh(dp2[:6] + [_transcoded(c, "gb18030") for c in dp2[6:]])
    assert (mixed.encoding, mixed.agreeing, mixed.sampled) == ("utf-8", 6, 10)
    assert "(60%)" in mixed.describe()
    none = weigh([b"00010nam  "])
    assert none.encoding == "" and "none of 1 sampled" in none.describe()


def test_probe_reports_gb18030_with_its_evidence(tmp_path: Path) -> None:
    dp2 = [c for _, c in iso2709.split_records(shared_data(DP2).read_bytes())]
    path = tmp_path / "gb.iso"
    path.write_bytes(b"".join(_transcoded(c, "gb18030") for c in dp2))
    with ZebraServer(tmp_path / "z", "unimarc", [RecordFile(path, "gb18030")]) as server:
        report = probe(server.address)
    facts = dict(report.facts)
    assert facts["encoding confidence"].startswith("GBK/GB18030 — 10 of 10 sampled")
    assert "10 with GB18030 Chinese byte pairs" in facts["encoding confidence"]


def test_ztest_serves_what_these_tests_assume(ztest: str) -> None:
    """The peer itself: OPAC and SUTRS records, one syntax per connection."""
    with Z3950Connector("zt", f"{ztest}/{ZTEST_DB}", "sutrs") as conn:
        conn.search_pqf('@attr 1=4 "2"')
        records = conn.fetch()
    assert [r.syntax for r in records] == ["sutrs", "sutrs"]
    assert all(isinstance(r, RawRecord) and b"SUTRS" in r.data for r in records)
