"""The crosswalks' entry points as tables: `to_record` (which crosswalk, which identifier,
whose holdings and credit) and `from_raw` (a connector's raw record of each syntax in, a
Record or a RecordError out).

`test_crosswalk_tables.py` pins what each crosswalk makes of a field; these rows pin the
choices `harvest/crosswalk/__init__.py` makes before and after it (issue 21: each of its
mutants should fail a row).  Records are built in the test (`iso2709.write`)."""

from __future__ import annotations

import pytest

from connectors.base import RawRecord
from core.cataloguing import Attribution
from core.config import HoldingsMap, Source
from harvest import iso2709
from harvest.crosswalk import DEFAULT_HOLDINGS, from_raw, to_record
from harvest.crosswalk.holdings import DEFAULTS
from harvest.marc import Field, Marc, RecordError

CN_LEADER = "00000nam0 2200000   450 "
US_LEADER = "00000nam a2200000 a 4500"


def F(tag: str, *subs: str) -> Field:  # noqa: N802 - reads like MARC
    return Field(tag, " ", " ", [(s[0], s[1:]) for s in subs])


# A record with both a MARC 21 title (245) and a CNMARC one (200): its shape says MARC 21.
BOTH = [F("200", "a红楼梦"), F("245", "aThe story of the stone")]


@pytest.mark.parametrize(("fields", "flavour", "fmt", "title"), [
    (BOTH, "auto", "marc21", "The story of the stone"),  # 245 present: MARC 21 by shape
    (BOTH, "cnmarc", "cnmarc", "红楼梦"),  # the source's format overrides the shape
    (BOTH, "marc21", "marc21", "The story of the stone"),
    (BOTH, "unimarc", "marc21", "The story of the stone"),  # unknown format: by shape
    ([F("200", "a红楼梦")], "auto", "cnmarc", "红楼梦"),  # 200 alone: CNMARC by shape
    ([F("200", "a红楼梦")], "marc21", "marc21", ""),  # forced MARC 21 reads no 200
])
def test_to_record_picks_the_crosswalk(fields: list[Field], flavour: str, fmt: str,
                                       title: str) -> None:
    record = to_record(Marc(US_LEADER, fields), "src", "LIB", "#1", flavour)
    assert (record.format, record.title) == (fmt, title)
    assert (record.source, record.library) == ("src", "LIB")


@pytest.mark.parametrize(("control", "record_id", "source_id"), [
    (" 000123 ", "#7", "000123"),  # 001 wins, stripped
    ("   ", "#7", "#7"),  # a blank 001 is no identifier
    (None, "oai:x:9", "oai:x:9"),
    (None, "", ""),
])
def test_to_record_identifier(control: str | None, record_id: str, source_id: str) -> None:
    fields = [F("245", "aT")] + ([] if control is None else [Field("001", value=control)])
    assert to_record(Marc(US_LEADER, fields), "s", "L", record_id).source_id == source_id


def test_to_record_keeps_the_marc_encoding() -> None:
    marc = Marc(US_LEADER, [F("245", "aT")], encoding="gb18030")
    record = to_record(marc, "s", "L")
    assert (record.encoding, record.source_id, record.format) == ("gb18030", "", "marc21")


@pytest.mark.parametrize(("flavour", "fields", "maps", "holdings"), [
    # the flavour's defaults: MARC 21 852, CNMARC 906 — each read by its own flavour only
    ("auto", [F("245", "aT"), F("852", "bStacks", "p31")], (), [("LIB", "Stacks", "31")]),
    ("auto", [F("200", "a题"), F("906", "aB1", "b书库")], (), [("LIB", "书库", "B1")]),
    ("cnmarc", [F("245", "aT"), F("906", "aB1", "b书库"), F("852", "bStacks", "p31")], (),
     [("LIB", "书库", "B1")]),
    ("marc21", [F("200", "a题"), F("906", "aB1", "b书库"), F("852", "bStacks", "p31")], (),
     [("LIB", "Stacks", "31")]),
    # a configured map replaces the defaults
    ("auto", [F("245", "aT"), F("852", "bStacks", "p31"), F("990", "aB9", "b馆")],
     (HoldingsMap(tag="990", barcode="a", location="b"),), [("LIB", "馆", "B9")]),
])
def test_to_record_holdings(flavour: str, fields: list[Field], maps: tuple[HoldingsMap, ...],
                            holdings: list[tuple[str, str, str]]) -> None:
    record = to_record(Marc(US_LEADER, fields), "s", "LIB", "#1", flavour, maps)
    assert [(h.library, h.location, h.barcode) for h in record.holdings] == holdings


def test_default_holdings_are_the_holdings_modules() -> None:
    assert DEFAULT_HOLDINGS is DEFAULTS


# 801 $b: the agency that made the record (CNMARC), read by the source's attribution rule.
# A local field (998 $a) names the cataloguer, read only when the rule configures it.
_AGENCY = [F("200", "a题"), Field("801", " ", "0", [("a", "CN"), ("b", "NLC"),
                                                   ("c", "20010203")]), F("998", "a张三")]
_TABLE = (("NLC", "国家图书馆"),)


@pytest.mark.parametrize(("attribution", "by", "how", "cataloguer"), [
    (None, "LIB", "source", ""),  # the default rule: no agency table, the source's library
    (Attribution(agencies=_TABLE), "国家图书馆", "record", ""),
    (Attribution(order=("source",), agencies=_TABLE), "LIB", "source", ""),
    (Attribution(cataloguer_field=("998", "a")), "LIB", "source", "张三"),
])
def test_to_record_credits_by_the_sources_rule(attribution: Attribution | None, by: str,
                                               how: str, cataloguer: str) -> None:
    record = to_record(Marc(CN_LEADER, _AGENCY), "s", "LIB", "#1", "auto", (), attribution)
    assert (record.catalogued_by, record.attributed_from) == (by, how)
    assert (record.catalogue_agency, record.cataloguer) == ("NLC", cataloguer)
    if how == "record":  # the date of the 801 that gave the credit
        assert record.created == "2001-02-03"


# -- from_raw ---------------------------------------------------------------------------------

def _source(**fields: object) -> Source:
    return Source(name="zs", library="ZL", protocol="z3950", address="h:1/db",
                  **fields)  # type: ignore[arg-type]


def _iso(*fields: tuple[str, str, list[tuple[str, str]] | str],
         leader: str = US_LEADER, encoding: str = "utf-8") -> bytes:
    return iso2709.write(leader, list(fields), encoding)


_BOOK = _iso(("245", "10", [("a", "A book")]), ("852", "  ", [("a", "M1"), ("b", "Stacks"),
                                                               ("p", "31")]))


@pytest.mark.parametrize(("record_id", "position", "source_id"), [
    ("", 4, "#4"),  # no identifier from the server: the position in the stream
    ("rec-9", 4, "rec-9"),
])
def test_from_raw_iso2709(record_id: str, position: int, source_id: str) -> None:
    record = from_raw(RawRecord("zs", position, _BOOK, "usmarc", record_id), _source())
    assert (record.title, record.source, record.library, record.source_id) == (
        "A book", "zs", "ZL", source_id)
    assert [(h.library, h.note, h.barcode) for h in record.holdings] == [("ZL", "", "31")]


def test_from_raw_uses_the_sources_format_and_holdings_maps() -> None:
    data = _iso(("200", "1 ", [("a", "红楼梦")]), ("245", "10", [("a", "Dream")]),
                ("990", "  ", [("a", "B7")]))
    maps = (HoldingsMap(tag="990", barcode="a"),)
    record = from_raw(RawRecord("zs", 1, data, "usmarc"), _source(format="cnmarc",
                                                                   holdings=maps))
    assert (record.format, record.title) == ("cnmarc", "红楼梦")
    assert [h.barcode for h in record.holdings] == ["B7"]


def test_from_raw_reads_in_the_sources_encoding() -> None:
    data = _iso(("245", "10", [("a", "红楼梦")]), encoding="gb18030")
    record = from_raw(RawRecord("zs", 1, data, "usmarc"), _source(encoding="gb18030"))
    assert (record.title, record.encoding) == ("红楼梦", "gb18030")


def test_from_raw_credits_by_the_sources_attribution() -> None:
    data = _iso(("200", "1 ", [("a", "题")]), ("801", " 0", [("a", "CN"), ("b", "NLC")]),
                leader=CN_LEADER)
    raw = RawRecord("zs", 1, data, "unimarc")
    assert from_raw(raw, _source()).catalogued_by == "ZL"
    record = from_raw(raw, _source(attribution=Attribution(agencies=_TABLE)))
    assert (record.catalogued_by, record.attributed_from) == ("国家图书馆", "record")


def test_a_union_catalogues_items_name_their_member_library() -> None:
    data = _iso(("245", "10", [("a", "T")]),
                ("952", "  ", [("a", "SXLQ"), ("c", "GEN"), ("p", "1")]),
                ("952", "  ", [("a", "ZZ"), ("c", "GEN"), ("p", "2")]))
    source = _source(members=(("SXLQ", "LQ"), ("OTHER", "OT")))
    record = from_raw(RawRecord("zs", 1, data, "usmarc"), source)
    assert [(h.library, h.note) for h in record.holdings] == [("LQ", ""), ("ZL", "ZZ")]
    # without members, the code stays a note and the copy the source's
    record = from_raw(RawRecord("zs", 1, data, "usmarc"), _source())
    assert [(h.library, h.note) for h in record.holdings] == [("ZL", "SXLQ"), ("ZL", "ZZ")]


def _opac(bib: bytes, holdings: bytes) -> bytes:
    return b"<opacRecord><bibliographicRecord>" + bib + b"</bibliographicRecord>" + holdings \
        + b"</opacRecord>"


_COPY = (b"<holdings><holding><callNumber>TP3/1</callNumber><localLocation>Main</localLocation>"
         b"<circulations><circulation><availableNow value=\"1\"/><itemId>B9</itemId>"
         b"</circulation></circulations></holding></holdings>")


def test_an_opac_records_copies_are_its_holdings_when_the_marc_has_none() -> None:
    bib = _iso(("245", "10", [("a", "OPAC book")]))
    record = from_raw(RawRecord("zs", 2, _opac(bib, _COPY), "opac"), _source())
    assert record.title == "OPAC book"
    assert [(h.library, h.barcode, h.call_number, h.location, h.status)
            for h in record.holdings] == [("ZL", "B9", "TP3/1", "Main", "available")]


def test_an_opac_records_marc_holdings_win_over_its_copies() -> None:
    record = from_raw(RawRecord("zs", 2, _opac(_BOOK, _COPY), "opac"), _source())
    assert [h.barcode for h in record.holdings] == ["31"]


@pytest.mark.parametrize(("raw", "reason"), [
    (RawRecord("zs", 3, b"Title: A book", "sutrs", "r3"),
     "source zs, record r3: the server sent SUTRS"),
    (RawRecord("zs", 3, b"Title: A book", "sutrs"), "source zs, record #3: "),
    (RawRecord("zs", 3, b"<opacRecord><holdings/></opacRecord>", "opac"),
     "without a bibliographic part"),
    (RawRecord("zs", 3, _BOOK + _BOOK, "usmarc"), "expected one usmarc record, found 2"),
])
def test_from_raw_refuses_what_it_cannot_read(raw: RawRecord, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        from_raw(raw, _source())
    assert reason in str(info.value)
