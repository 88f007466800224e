"""Crosswalk behaviour as tables: a small built record in, a field of the Record out.

Each row names the MARC it starts from, so a broken mapping points at its own row.  Real
records from ../shared/data are covered in test_crosswalk.py; these pin the rules one at a
time, including the ones no real sample happens to exercise."""

from __future__ import annotations

from typing import Any

import pytest

from core.config import HoldingsMap
from harvest.crosswalk import to_record
from harvest.crosswalk.common import material_type, tidy, year
from harvest.marc import Field, Marc

CN_LEADER = "00000nam0 2200000   450 "
US_LEADER = "00000nam a2200000 a 4500"


def F(tag: str, *subs: str, ind: str = "  ") -> Field:  # noqa: N802 - reads like MARC
    """F("200", "a书名", "e副题") — each sub is its code then its value."""
    return Field(tag, ind[0], ind[1], [(s[0], s[1:]) for s in subs])


def C(tag: str, value: str) -> Field:  # noqa: N802
    return Field(tag, value=value)


def cn(*fields: Field, leader: str = CN_LEADER) -> Any:
    title = [] if any(f.tag == "200" for f in fields) else [F("200", "a题名")]
    return to_record(Marc(leader, [*title, *fields]), "s", "LIB", "#1")


def us(*fields: Field, leader: str = US_LEADER) -> Any:
    return to_record(Marc(leader, [F("245", "aTitle"), *fields]), "s", "LIB", "#1")


# -- CNMARC --------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "attr", "expected"), [
    ([F("200", "a红楼梦", "a续红楼梦")], "title", "红楼梦；续红楼梦"),  # several 200$a joined
    ([F("200", "a红楼梦"), F("200", "a石头记")], "title", "红楼梦"),  # the first 200 only
    ([F("200", "e副题")], "title", ""),
    ([F("225", "v5")], "series", []),  # a number without a series is no series
    ([F("606", "a小说", "XXiao shuo", "x研究")], "subjects", ["小说--研究"]),  # pinyin twin
    ([F("200", "a红楼梦", "AHong lou meng")], "title_pinyin", "Hong lou meng"),
    ([F("200", "a红楼梦", "9Hong lou meng")], "title_pinyin", "Hong lou meng"),
    ([F("200", "a红楼梦", "d= A dream", "e脂评本")], "title_alt", ["A dream", "脂评本"]),
    ([F("200", "a全集", "h第2卷", "i小说")], "volume", "第2卷 小说"),  # 200$h and $i
    ([F("200", "a全集", "i小说")], "volume", "小说"),
    ([F("200", "a书", "f曹雪芹著", "g高鹗续")], "responsibility", "曹雪芹著；高鹗续"),
    ([F("517", "a石头记"), F("500", "a红楼梦 ."), F("540", "a石头记")], "title_alt",
     ["石头记", "红楼梦"]),
    ([F("205", "a2版"), F("205", "a3版")], "edition", "2版"),
    ([F("210", "a北京 :", "c人民文学出版社", "d1982")], "publisher", "人民文学出版社"),
    ([F("210", "a北京 :", "c人民文学出版社", "d1982")], "place", "北京"),
    ([F("210", "a北京", "d1982.5")], "year", 1982),
    ([F("214", "a西安", "c陕西人民出版社", "d2001")], "publisher", "陕西人民出版社"),  # 214
    ([F("210", "c甲社"), F("214", "c乙社")], "publisher", "甲社"),  # the first of 210/214
    ([F("100", "a20190611d2019    em y0chiy50      ea"), F("210", "c社")], "year", 2019),
    ([F("100", "a20190611d2019    em y0chiy50      ea"), F("210", "d1998")], "year", 1998),
    ([F("010", "a7-300-00007-X", "dCNY25.00")], "isbn", ["9787300000077"]),
    ([F("010", "a7-300-00007-1"), F("010", "z7-5037-1744-0")], "isbn_invalid",
     ["7300000071", "7503717440"]),  # a wrong check digit, and a cancelled $z
    ([F("011", "a1002-0000"), F("011", "a1002-0000")], "issn", ["1002-0000"]),
    ([F("690", "aI242.4", "v5"), F("690", "aK29")], "clc", ["I242.4", "K29"]),
    ([F("690", "aI242.4")], "clc_top", "I"),
    ([F("606", "a小说", "x研究", "y中国", "z清代")], "subjects", ["小说--研究--中国--清代"]),
    ([F("600", "a曹雪芹", "j传记"), F("607", "a西安", "x地方志")], "subjects",
     ["曹雪芹--传记", "西安--地方志"]),
    ([F("101", "achieng")], "language", "chi"),
    ([F("225", "a中国古典文学丛书", "v5")], "series", ["中国古典文学丛书 ; 5"]),  # 225$v
    ([F("225", "a中国古典文学丛书")], "series", ["中国古典文学丛书"]),
    ([F("330", "a  一部小说。 "), F("330", "a另一段")], "summary", "一部小说。"),
    ([F("331", "a摘要")], "summary", "摘要"),
])
def test_cnmarc(fields: list[Field], attr: str, expected: object) -> None:
    assert getattr(cn(*fields), attr) == expected


@pytest.mark.parametrize("tag", ["500", "510", "512", "513", "514", "515", "516", "517",
                                 "540"])
def test_cnmarc_other_titles(tag: str) -> None:
    assert cn(F(tag, "a另题 /")).title_alt == ["另题"]


@pytest.mark.parametrize(("code", "role"), [
    ("070", "著"), ("340", "编"), ("651", "主编"), ("730", "译"), ("440", "绘"), ("100", "原著"),
    ("205", "撰稿"), ("220", "编纂"), ("080", "序"), ("075", "后记"), ("557", "整理"),
    ("主编", "主编"),  # CNMARC role words are kept as written
    ("999", "999"),  # an unknown code is kept, never guessed
])
def test_cnmarc_relator_codes_become_role_words(code: str, role: str) -> None:
    (author,) = cn(F("701", "a张三", f"4{code}")).authors
    assert (author.name, author.role) == ("张三", role)


def test_cnmarc_authors() -> None:
    r = cn(F("700", "a曹雪芹", "AC ao xue qin", "4著"),
           F("701", "a斯迈尔斯", "b塞缪尔", "4著", ind=" 1"),  # inverted western name
           F("702", "a欧阳", "b修", ind=" 0"),  # direct order: joined as written
           F("701", "a曹雪芹", "4编"),  # the same person again: once
           F("711", "a中国作家协会"), F("712", "a"), F("702", "9li si"))
    assert [(a.name, a.role, a.pinyin) for a in r.authors] == [
        ("曹雪芹", "著", "C ao xue qin"), ("斯迈尔斯, 塞缪尔", "著", ""), ("欧阳修", "", ""),
        ("中国作家协会", "", "")]


def test_cnmarc_pinyin_in_9_for_authors() -> None:
    (a,) = cn(F("701", "a鲁迅", "9Lu Xun")).authors
    assert a.pinyin == "Lu Xun"


@pytest.mark.parametrize(("leader", "material"), [
    (CN_LEADER, "book"), ("00000cas0 2200000   450 ", "serial"), ("00000nlm0 2200000   450 ",
                                                                    "electronic"),
    ("00000nmm0 2200000   450 ", "kit"), ("00000nbm0 2200000   450 ", "manuscript"),
    ("00000ngm0 2200000   450 ", "video"), ("00000nzm0 2200000   450 ", "other"),
])
def test_cnmarc_material_type(leader: str, material: str) -> None:
    assert cn(leader=leader).material_type == material


# -- MARC 21 ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "attr", "expected"), [
    ([F("245", "aHong lou meng :", "ba novel /", "cCao Xueqin.", ind="10")], "title",
     "Hong lou meng : a novel"),
    ([F("245", "aSelected works.", "nVol. 2,", "pPoems.")], "volume", "Vol. 2 Poems"),
    ([F("245", "aWorks /", "cby Cao.")], "responsibility", "by Cao"),
    ([F("246", "aAlt title"), F("740", "aOther ;"), F("130", "aUniform")], "title_alt",
     ["Alt title", "Other", "Uniform"]),
    ([F("250", "a2nd ed."), F("250", "a3rd ed.")], "edition", "2nd ed"),
    ([F("260", "aBeijing :", "bZhonghua,", "c1982.")], "publisher", "Zhonghua"),
    ([F("264", "aX", "bDistributor", ind=" 2"), F("264", "aY", "bPublisher", ind=" 1")],
     "publisher", "Publisher"),  # 264 second indicator 1 is the publisher
    ([F("260", "bA"), F("264", "bB", ind=" 0")], "publisher", "A"),
    ([C("008", "820101s1982    ch            000 0 chi d")], "year", 1982),
    ([C("008", "820101s19uu    ch            000 0 chi d"), F("260", "c[1983?]")], "year",
     1983),
    ([C("008", "820101s1982    ch            000 0 chi d")], "language", "chi"),
    ([C("008", "820101s1982    ch            000 0 und d"), F("041", "aeng")], "language",
     "eng"),
    ([F("041", "achieng")], "language", "chi"),  # no 008
    ([F("020", "a9787300000077 (pbk.)"), F("020", "z7300000071")], "isbn_invalid",
     ["7300000071"]),
    ([F("020", "a7-300-00007-x")], "isbn", ["9787300000077"]),
    ([F("022", "a1002-0000")], "issn", ["1002-0000"]),
    ([F("084", "aI242.4", "2clc"), F("084", "a813", "2ddc"), F("093", "aK29")], "clc",
     ["I242.4", "K29"]),
    ([F("084", "aI242.4", "2Zhongguo tu shu guan fen lei fa")], "clc", ["I242.4"]),
    ([F("650", "aChinese fiction", "xHistory", "yQing dynasty, 1644-1912.")], "subjects",
     ["Chinese fiction--History--Qing dynasty, 1644-1912"]),
    ([F("490", "aSeries one ;", "v3"), F("830", "aSeries one")], "series", ["Series one"]),
    ([F("520", "a A summary. "), F("520", "aSecond")], "summary", "A summary."),
])
def test_marc21(fields: list[Field], attr: str, expected: object) -> None:
    r = to_record(Marc(US_LEADER, fields if fields[0].tag == "245" else
                       [F("245", "aTitle"), *fields]), "s", "LIB", "#1")
    assert getattr(r, attr) == expected


def test_marc21_880_vernacular_fields_are_displayed_and_romanized_kept() -> None:
    r = us(F("100", "6880-01", "aCao, Xueqin,", "d1715?-1763", "eauthor.", ind="1 "),
           F("880", "6100-01/$1", "a曹雪芹,", "eauthor", ind="1 "),
           F("260", "6880-02", "aBeijing :", "bRen min wen xue chu ban she"),
           F("880", "6260-02/$1", "a北京 :", "b人民文学出版社"),
           F("880", "6245-00/$1", "a红楼梦"))
    (a,) = r.authors
    assert (a.name, a.romanized, a.role) == ("曹雪芹", "Cao, Xueqin", "author")
    assert (r.publisher, r.place, r.publisher_alt) == ("人民文学出版社", "北京",
                                                       ["Ren min wen xue chu ban she"])
    assert "红楼梦" in r.title_alt  # an 880 for 245 not linked from 245 still searchable
    title = to_record(Marc(US_LEADER, [
        F("245", "6880-03", "aHong lou meng /", "cCao Xueqin."),
        F("880", "6245-03/$1", "a红楼梦 /", "c曹雪芹")]), "s", "L")
    assert (title.title, title.title_alt, title.responsibility) == (
        "红楼梦", ["Hong lou meng"], "曹雪芹")


@pytest.mark.parametrize(("field", "name", "role"), [
    (F("100", "aSmith, John,", "d1900-", "4aut"), "Smith, John", "著"),
    (F("700", "aLi, Si", "4trl"), "Li, Si", "译"),
    (F("700", "aLi, Si", "4edt"), "Li, Si", "编"),
    (F("700", "aLi, Si", "4ill"), "Li, Si", "绘"),
    (F("700", "aLi, Si", "4cmp"), "Li, Si", "作曲"),
    (F("700", "aLi, Si", "4ctb"), "Li, Si", "合著"),
    (F("700", "aLi, Si", "4xyz"), "Li, Si", "xyz"),
    (F("700", "aLi, Si", "eeditor", "4trl"), "Li, Si", "editor"),  # $e wins over $4
    (F("110", "aPeking University.", "bLibrary."), "Peking University. Library", ""),
    (F("111", "aConference", "b(1st", "c:Beijing", "d2001)"),
     "Conference (1st :Beijing 2001)", ""),
    (F("710", "aCompany", "bDivision"), "Company Division", ""),
])
def test_marc21_authors_and_relators(field: Field, name: str, role: str) -> None:
    (a,) = us(field).authors
    assert (a.name, a.role) == (name, role)


def test_marc21_duplicate_authors_once() -> None:
    r = us(F("100", "aLi, Si"), F("700", "aLi, Si", "4trl"), F("700", "aWang, Wu"))
    assert [a.name for a in r.authors] == ["Li, Si", "Wang, Wu"]


@pytest.mark.parametrize(("leader", "material"), [
    (US_LEADER, "book"), ("00000nas a2200000 a 4500", "serial"),
    ("00000ntm a2200000 a 4500", "manuscript"), ("00000nmm a2200000 a 4500", "electronic"),
    ("00000ncm a2200000 a 4500", "score"), ("00000nem a2200000 a 4500", "map"),
    ("00000n m a2200000 a 4500", "book"), ("00000nqm a2200000 a 4500", "other"),
])
def test_marc21_material_type(leader: str, material: str) -> None:
    assert us(leader=leader).material_type == material


# -- holdings ----------------------------------------------------------------------------------

def _holdings(marc_flavour: str, *fields: Field, maps: tuple[HoldingsMap, ...] = ()) -> list:
    base = F("245", "aT") if marc_flavour == "marc21" else F("200", "a题")
    leader = US_LEADER if marc_flavour == "marc21" else CN_LEADER
    r = to_record(Marc(leader, [base, *fields]), "s", "LIB", "#1", holdings=maps)
    return [(h.location, h.call_number, h.barcode, h.status, h.note) for h in r.holdings]


@pytest.mark.parametrize(("flavour", "fields", "expected"), [
    # MARC 21 defaults
    ("marc21", [F("852", "bStacks", "hPL2727", "iS2 1982", "p3100001")],
     [("Stacks", "PL2727/S2 1982", "3100001", "", "")]),
    ("marc21", [F("852", "bStacks", "iS2 1982", "p31")], [("Stacks", "S2 1982", "31", "", "")]),
    ("marc21", [F("952", "aSXLQ", "cGEN", "oI242/1", "p3200002")],
     [("GEN", "I242/1", "3200002", "", "SXLQ")]),  # 952$a: the member library's code
    ("marc21", [F("999", "aI242/2", "i3300003", "kCHECKEDOUT", "lSTACKS", "mSXSY")],
     [("STACKS", "I242/2", "3300003", "CHECKEDOUT", "SXSY")]),  # 999$k status, $m library
    ("marc21", [F("949", "aI242/3", "i3400004", "lMAIN")],
     [("MAIN", "I242/3", "3400004", "", "")]),
    ("marc21", [F("852", "bReading room")], [("Reading room", "", "", "", "")]),  # location
    ("marc21", [F("852", "x note only")], []),  # nothing a reader can use: no holding
    ("marc21", [F("852", "x note only"), F("852", "bStacks")],
     [("Stacks", "", "", "", "")]),  # … and the next field is still read
    # CNMARC defaults: 906 copies, 905 summary
    ("cnmarc", [F("906", "aB0001", "b书库", "cI242/4", "s在架")],
     [("书库", "I242/4", "B0001", "在架", "")]),
    ("cnmarc", [F("905", "sI242/5"), F("906", "aB0002", "b书库"), F("906", "aB0003",
                                                                     "cK29/1")],
     [("书库", "I242/5", "B0002", "", ""), ("", "K29/1", "B0003", "", "")]),  # 905 fallback
    ("cnmarc", [F("905", "sI242/6")], [("", "I242/6", "", "", "")]),  # summary only
    ("cnmarc", [F("906", "b阅览室")], [("阅览室", "", "", "", "")]),  # location only
    ("cnmarc", [F("905", "a"), F("906", "z说明")], []),
])
def test_default_holdings(flavour: str, fields: list[Field], expected: list) -> None:
    assert _holdings(flavour, *fields) == expected


def test_holdings_belong_to_the_source_library_and_unknown_flavours_have_no_defaults(
        ) -> None:
    from harvest.crosswalk.holdings import extract_holdings

    marc = Marc(US_LEADER, [F("245", "aT"), F("852", "bStacks", "p1")])
    assert [h.library for h in extract_holdings(marc, "marc21", "LIB")] == ["LIB"]
    assert extract_holdings(marc, "dc", "LIB") == []


def test_a_configured_map_replaces_the_defaults() -> None:
    aleph = (HoldingsMap(tag="906", barcode="b", location="a", call_number="d/e"),)
    fields = [F("906", "a总馆", "b22234735510003961", "dF124", "e26"), F("852", "pX")]
    assert _holdings("cnmarc", *fields, maps=aleph) == [
        ("总馆", "F124/26", "22234735510003961", "", "")]
    assert _holdings("cnmarc", F("906", "aB1", "b书库")) == [("书库", "", "B1", "", "")]


# -- shared text rules --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("红楼梦 /", "红楼梦"), ("北京 :", "北京"), ("Series ;", "Series"), ("Title, ", "Title"),
    ("2nd ed.", "2nd ed"), ("北京：", "北京"), ("书名／", "书名"), ("题名＝", "题名"),
    ("[北京]", "北京"), ("[出版者不详] :", "出版者不详"), (": 副题", "副题"), ("，续", "续"),
    ("/ ; x", "x"), ("  plain  ", "plain"), ("", ""), ("[a] b", "[a] b"), ("／x", "／x"),
    ("= x", "x"), ("a =", "a"), ("[ x ]", "x"),
])
def test_tidy(text: str, expected: str) -> None:
    assert tidy(text) == expected


@pytest.mark.parametrize(("candidates", "expected"), [
    (("1982",), 1982), (("c1982.",), 1982), (("[1983?]",), 1983), (("1499",), None),
    (("1500",), 1500), (("2099",), 2099), (("2100",), None), (("",), None), (("no", "1990"), 1990),
    (("1991", "1990"), 1991), ((None,), None),
])
def test_year(candidates: tuple, expected: int | None) -> None:
    assert year(*candidates) == expected


@pytest.mark.parametrize(("leader", "unimarc", "expected"), [
    ("00000nam", False, "book"), ("00000nas", False, "serial"), ("00000ntm", False,
                                                                   "manuscript"),
    ("00000ntm", True, "book"), ("00000nlm", True, "electronic"), ("00000nlm", False, "other"),
    ("00000nmm", True, "kit"), ("00000nbm", False, "manuscript"), ("00000ngm", False, "video"),
    ("00000nim", False, "sound"), ("00000nkm", False, "image"), ("00000nom", False, "kit"),
    ("00000npm", False, "mixed"), ("00000nrm", False, "object"), ("00000nfm", False, "map"),
    ("00000ndm", False, "score"), ("00000njm", False, "sound"), ("", False, "book"),
    ("00000nts", True, "serial"), ("00000nes", False, "map"),
])
def test_material_type(leader: str, unimarc: bool, expected: str) -> None:
    assert material_type(leader, unimarc) == expected


# -- vendor envelopes: Koha and Symphony -------------------------------------------------------

def _koha(envelope: dict, **source: Any) -> Any:
    import json

    from connectors.base import RawRecord
    from core.config import Source
    from harvest.crosswalk import from_raw

    src = Source(name="bj", library="BJ", protocol="koha", address="http://x", **source)
    return from_raw(RawRecord("bj", 1, json.dumps(envelope).encode(), "koha"), src)


_MIJ = {"leader": "00000nam a2200000 a 4500", "fields": [
    {"001": "OCLC123"}, {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "Koha book"}]}},
    {"952": {"subfields": [{"a": "BJ"}, {"c": "GEN"}, {"o": "I242/9"}, {"p": "K0009"}]}}]}


def test_koha_envelope_id_is_biblio_id_and_items_are_the_holdings() -> None:
    items = [{"external_id": "K1", "callnumber": " I242/1 ", "location": "GEN",
              "home_library_id": "BJ-QX"},
             {"external_id": "K2", "callnumber": "I242/1", "home_library_id": "ZZ",
              "lost_status": 2},
             "not an item"]
    r = _koha({"biblio_id": 42, "marc_in_json": _MIJ, "items": items},
              members=(("BJ-QX", "QX"),))
    assert (r.source_id, r.title) == ("42", "Koha book")  # never 001
    assert [(h.library, h.barcode, h.call_number, h.location, h.status, h.note)
            for h in r.holdings] == [("QX", "K1", "I242/1", "GEN", "available", "BJ-QX"),
                                     ("BJ", "K2", "I242/1", "", "lost (2)", "ZZ")]


def test_koha_envelope_without_items_falls_back_to_the_marc_holdings() -> None:
    r = _koha({"biblio_id": "7", "marc_in_json": _MIJ, "items": []})
    assert [(h.barcode, h.call_number, h.location) for h in r.holdings] == [
        ("K0009", "I242/9", "GEN")]


def test_koha_envelope_with_marcxml() -> None:
    xml = ('<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500'
           '</leader><datafield tag="245" ind1="1" ind2="0"><subfield code="a">XML book'
           '</subfield></datafield></record>')
    assert _koha({"biblio_id": 8, "marcxml": xml}).title == "XML book"


@pytest.mark.parametrize(("envelope", "reason"), [
    ([], "Koha envelope is not a JSON object"),
    ({"marcxml": "<r/>"}, "Koha envelope has no biblio_id"),
    ({"biblio_id": "", "marcxml": "<r/>"}, "Koha envelope has no biblio_id"),
    ({"biblio_id": 1}, "biblio 1: envelope has neither 'marcxml' nor 'marc_in_json'"),
    ({"biblio_id": 1, "marcxml": 5}, "biblio 1: 'marcxml' is not a string"),
    ({"biblio_id": 1, "marcxml": "<collection/>"}, "expected one MARCXML <record>, found 0"),
    ({"biblio_id": 1, "marc_in_json": {"fields": "x"}}, "MARC-in-JSON has no 'fields' list"),
    ({"biblio_id": 1, "marc_in_json": {"fields": [{"a": 1, "b": 2}]}}, "is not {tag: value}"),
    ({"biblio_id": 1, "marc_in_json": {"fields": [{"245": 5}]}}, "field 245 is malformed"),
    ({"biblio_id": 1, "marc_in_json": {"fields": []}}, "MARC-in-JSON record has no fields"),
    ({"biblio_id": 1, "marc_in_json": _MIJ, "items": {"a": 1}}, "'items' is not a list"),
])
def test_koha_envelope_errors_name_the_biblio(envelope: Any, reason: str) -> None:
    from harvest.marc import RecordError

    with pytest.raises(RecordError) as info:
        _koha(envelope)
    assert reason in str(info.value)


def _symphony(bib: Any, **source: Any) -> Any:
    import json

    from connectors.base import RawRecord
    from core.config import Source
    from harvest.crosswalk import from_raw

    src = Source(name="u", library="SXPL", protocol="symphony", address="http://x", **source)
    return from_raw(RawRecord("u", 1, json.dumps(bib).encode(), "symphony", "rid"), src)


_BIB = {"leader": "00000nam0 2200000   450 ", "fields": [
    {"tag": "001", "subfields": [{"code": "_", "data": "a001"}]},
    {"tag": "005", "data": "2026"},
    {"tag": "200", "inds": "1", "subfields": [{"code": "a", "data": "西安志"}]}]}


def _item(barcode: str, library: str = "", home: str = "STACKS", current: str = "STACKS",
          **kw: Any) -> dict:
    fields: dict = {"barcode": barcode, "homeLocation": {"key": home},
                    "currentLocation": {"key": current}, **kw}
    if library:
        fields["library"] = {"key": library}
    return {"fields": fields}


def test_symphony_bib_holdings_from_calls_and_items() -> None:
    calls = [
        {"fields": {"callNumber": "K29/1", "library": {"key": "LQ"}, "itemList": [
            _item("S1"),  # at home: on the shelf
            _item("S2", current="CHECKEDOUT"),
            _item("S3", shadowed=True),  # hidden from the public
            _item("S4", library="SY", home="REF", current="",
                  **{"homeLocation": {"key": "REF", "fields": {"description": "参考书库"}}}),
        ]}},
        {"fields": {"dispCallNumber": "K29/2", "itemList": [_item("S5", library="XX")]}},
        {"fields": {"shadowed": True, "itemList": [_item("S6")]}},
        {"fields": {"callNumber": ["not", "text"], "itemList": None}},
        None,
    ]
    r = _symphony({"key": "u123", "fields": {"bib": _BIB, "callList": calls}},
                  members=(("LQ", "LIQ"), ("SY", "SANY")))
    assert (r.source_id, r.title, r.format) == ("u123", "西安志", "cnmarc")
    assert [(h.library, h.barcode, h.call_number, h.location, h.status, h.note)
            for h in r.holdings] == [
        ("LIQ", "S1", "K29/1", "STACKS", "ON-SHELF", ""),
        ("LIQ", "S2", "K29/1", "STACKS", "CHECKEDOUT", ""),
        ("SANY", "S4", "K29/1", "参考书库", "", ""),
        ("SXPL", "S5", "K29/2", "STACKS", "ON-SHELF", "XX"),  # unmapped: kept, code noted
    ]


def test_symphony_bib_without_calllist_keeps_marc_holdings_and_record_id() -> None:
    bib = {"fields": {"bib": {**_BIB, "fields": [*_BIB["fields"], {
        "tag": "906", "subfields": [{"code": "a", "data": "B9"}, {"code": "b", "data": "库"}]}]}}}
    r = _symphony(bib)
    assert r.source_id == "rid" and [(h.barcode, h.location) for h in r.holdings] == [
        ("B9", "库")]
    assert _symphony({"@key": "k2", "fields": {"bib": _BIB, "callList": None}}).holdings == []


@pytest.mark.parametrize(("bib", "reason"), [
    ([], "Symphony bib is not a JSON object"),
    ({}, "Symphony bib has no 'fields' (was it fetched with includeFields?)"),
    ({"fields": {}}, "fields.bib missing: add 'bib' to includeFields"),
    ({"fields": {"bib": []}}, "Symphony MARC is not a {leader, fields} object (got list)"),
    ({"fields": {"bib": {"fields": [{"inds": "  "}]}}}, "Symphony MARC field #1 has no tag"),
    ({"fields": {"bib": {"fields": [{"tag": "200", "subfields": "x"}]}}},
     "field 200: subfields are not a list of objects"),
    ({"fields": {"bib": {"fields": []}}}, "Symphony MARC has no fields"),
    ({"fields": {"bib": _BIB, "callList": {}}}, "fields.callList is dict, expected a list"),
    ({"fields": {"bib": _BIB, "callList": ["x"]}}, "fields.callList[0] is str, expected an "
                                                   "object"),
    ({"fields": {"bib": _BIB, "callList": [{"fields": {"itemList": "x"}}]}},
     "fields.callList[0].fields.itemList is str, expected a list"),
    ({"fields": {"bib": _BIB, "callList": [{"fields": {"itemList": [3]}}]}},
     "fields.callList[0].fields.itemList[0] is int, expected an object"),
])
def test_symphony_errors_name_the_path(bib: Any, reason: str) -> None:
    from harvest.marc import RecordError

    with pytest.raises(RecordError) as info:
        _symphony(bib)
    assert reason in str(info.value)


# -- Dublin Core -------------------------------------------------------------------------------

def _dc(*elements: str) -> Any:
    from connectors.base import RawRecord
    from core.config import Source
    from harvest.crosswalk import from_raw

    body = "".join(elements)
    xml = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:dcterms="http://purl.org/dc/terms/" '
           f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</oai_dc:dc>')
    src = Source(name="dfwx", library="SXPL", protocol="oaipmh", address="http://x")
    return from_raw(RawRecord("dfwx", 3, xml.encode(), "oai_dc", "oai:x:1"), src)


T = "<dc:title>礼泉县志</dc:title>"


@pytest.mark.parametrize(("elements", "attr", "expected"), [
    ([T, "<dc:title>醴泉县志</dc:title>"], "title_alt", ["醴泉县志"]),
    ([T, "<dc:creator>叶震 主编</dc:creator>"], "authors", [("叶震", "主编")]),
    ([T, "<dc:creator>(清)王某 修</dc:creator>"], "authors", [("王某", "修")]),
    ([T, "<dc:creator>欧阳修</dc:creator>"], "authors", [("欧阳修", "著")]),  # no role split
    ([T, "<dc:creator>礼泉县地方志编纂委员会编纂</dc:creator>"], "authors",
     [("礼泉县地方志编纂委员会", "编纂")]),
    ([T, "<dc:creator>张三、李四 整理</dc:creator>"], "authors", [("张三", "整理"),
                                                              ("李四", "整理")]),
    ([T, "<dc:contributor>赵六</dc:contributor>"], "authors", [("赵六", "")]),
    ([T, "<dc:publisher>西安 : 三秦出版社</dc:publisher>"], "place", "西安"),
    ([T, "<dc:publisher>西安 : 三秦出版社</dc:publisher>"], "publisher", "三秦出版社"),
    ([T, "<dc:publisher>礼泉县</dc:publisher><dc:publisher>礼泉县志办</dc:publisher>"],
     "publisher", "礼泉县志办"),
    ([T, "<dc:date>光绪二十一年</dc:date>"], "year", 1895),
    ([T, "<dc:date>民国元年</dc:date>"], "year", 1912),
    ([T, "<dc:date>1999-05</dc:date><dc:date>光绪二十一年</dc:date>"], "year", 1999),
    ([T, "<dc:identifier>ISBN 7-5037-1744-0</dc:identifier>"], "isbn", ["9787503717444"]),
    ([T, "<dc:identifier>urn:issn:1002-000x</dc:identifier>"], "issn", ["1002-000X"]),
    ([T, "<dc:identifier>http://h/obj.pdf</dc:identifier>"
         "<dc:identifier>http://h/page</dc:identifier>"], "online_url", "http://h/obj.pdf"),
    ([T, "<dc:identifier>javascript:alert(1)</dc:identifier>"], "online_url", ""),
    ([T, "<dc:identifier>http://h/cover.jpg</dc:identifier>"], "cover_url", "http://h/cover.jpg"),
    ([T, "<dc:type>Text</dc:type><dc:type>报纸</dc:type>"], "material_type", "serial"),
    ([T, "<dc:type>Text</dc:type>"], "material_type", "book"),
    ([T, "<dc:type>Frobnicate</dc:type>"], "material_type", "other"),
    ([T], "material_type", ""),
    ([T, "<dc:coverage>陕西省咸阳市礼泉县</dc:coverage>"], "places", ["陕西省", "咸阳市",
                                                                   "礼泉县"]),
    ([T, "<dc:coverage>民国</dc:coverage>"], "places", []),
    ([T, "<dc:subject>地方志；礼泉县--历史</dc:subject>"], "subjects", ["地方志", "礼泉县--历史"]),
    ([T, "<dc:subject>K294.14</dc:subject>"], "clc", ["K294.14"]),
    ([T, "<dc:language>zh-CN</dc:language>"], "language", "chi"),
    ([T, "<dc:language>tib</dc:language>"], "language", "tib"),
    ([T, "<dc:description>一</dc:description><dc:description>二</dc:description>"], "summary",
     "一\n二"),
    ([T, "<dcterms:isPartOf>咸阳文史资料</dcterms:isPartOf>",
      "<dc:relation>http://h/x</dc:relation><dc:relation>富平文史资料 第3辑</dc:relation>",
      "<dc:relation>礼泉</dc:relation><dc:relation>hdl:1/2</dc:relation>"], "series",
     ["咸阳文史资料", "富平文史资料 第3辑", "礼泉"]),
])
def test_dublin_core(elements: list[str], attr: str, expected: object) -> None:
    r = _dc(*elements)
    value = getattr(r, attr)
    if attr == "authors":
        value = [(a.name, a.role) for a in value]
    assert value == expected


def test_dublin_core_record_identity_and_errors() -> None:
    from harvest.marc import RecordError

    r = _dc(T)
    assert (r.source_id, r.format, r.library, r.encoding) == ("oai:x:1", "dc", "SXPL", "utf-8")
    with pytest.raises(RecordError, match="without dc:title"):
        _dc("<dc:creator>x</dc:creator>")
    with pytest.raises(RecordError, match="no Dublin Core elements"):
        from connectors.base import RawRecord
        from core.config import Source
        from harvest.crosswalk import from_raw
        from_raw(RawRecord("d", 1, b"<r><t/></r>", "oai_dc"),
                 Source(name="d", library="L", protocol="oaipmh", address="http://x"))


@pytest.mark.parametrize("tag", ["130", "240", "246", "730", "740"])
def test_marc21_other_titles_and_their_vernacular(tag: str) -> None:
    r = us(F(tag, "6880-05", "aHong lou meng"), F("880", f"6{tag}-05/$1", "a红楼梦"))
    assert r.title_alt == ["Hong lou meng", "红楼梦"]


@pytest.mark.parametrize("tag", ["490", "830", "440"])
def test_marc21_series_and_their_vernacular(tag: str) -> None:
    assert us(F(tag, "aSeries ;")).series == ["Series"]
    assert us(F(tag, "6880-07", "aCong shu"), F("880", f"6{tag}-07/$1", "a丛书")).series == [
        "丛书"]


@pytest.mark.parametrize("tag", ["240", "246"])
def test_marc21_unlinked_880_titles_are_searchable(tag: str) -> None:
    assert us(F("880", f"6{tag}-00/$1", "a红楼梦")).title_alt == ["红楼梦"]
    assert us(F("880", "6500-00/$1", "a附注")).title_alt == []


@pytest.mark.parametrize(("fields", "attr", "expected"), [
    ([F("245", "aFirst"), F("245", "aSecond")], "title", "First"),
    ([F("245", "6880-00", "aRoman"), F("880", "6245-00/$1", "a汉字")], "title", "Roman"),
    ([F("245", "6880-1", "aRoman"), F("880", "6245-1/$1", "a汉字")], "title", "Roman"),
    ([F("245", "aT"), F("264", "bOnly 264", ind=" 0")], "publisher", "Only 264"),
    ([F("245", "aT"), C("008", "820101s1982    ch            000 0 ||| d"),
      F("041", "aeng")], "language", "eng"),
    ([F("245", "aT"), C("008", "820101s1982    ch            000 0 ch")], "language", ""),
    ([F("245", "aT"), C("008", "820101s1982    ch            000 0 chi d"),
      F("041", "aeng")], "language", "chi"),
    ([F("245", "aT"), C("008", "820101s 982    ch")], "year", None),
    ([F("245", "aT"), F("650", "6880-04", "aFiction"), F("880", "6650-04/$1", "a小说",
                                                          "x历史")], "subjects",
     ["小说--历史"]),
    ([F("245", "aT"), F("650", "aFiction", "XFIC", "2lcsh")], "subjects", ["Fiction"]),
])
def test_marc21_more(fields: list[Field], attr: str, expected: object) -> None:
    assert getattr(to_record(Marc(US_LEADER, fields), "s", "LIB", "#1"), attr) == expected


def test_marc21_vernacular_author_keeps_the_romanized_role() -> None:
    (a,) = us(F("100", "6880-01", "aCao, Xueqin", "eauthor"),
              F("880", "6100-01/$1", "a曹雪芹")).authors
    assert (a.name, a.role, a.romanized) == ("曹雪芹", "author", "Cao, Xueqin")
    (b,) = us(F("700", "aLouis", "bXIV")).authors  # personal name: $a only
    assert b.name == "Louis"


# -- vendor JSON, bounded ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "depth"), [
    ("", 0), ("1", 0), ('"[{"', 0), ("[]", 1), ("{}", 1), ("[[]]", 2), ("[][]", 1),
    ('["[[", "{{"]', 1), ('{"a": [1, {"b": "\\"]"}]}', 3), ("[{", 2), ("]]][", 0),
    ("[\ud800[]]", 2),  # text with a lone surrogate is measured too
    ("{}{}{}", 1), ("[[][[]]]", 3),
])
def test_open_depth(text: str, depth: int) -> None:
    from harvest.crosswalk.common import _open_depth

    assert _open_depth(text) == depth
    assert _open_depth(text.encode("utf-8", "surrogatepass")) == depth


def test_open_depth_stops_counting_past_the_limit() -> None:
    from harvest.crosswalk.common import MAX_JSON_DEPTH, _open_depth

    assert _open_depth("[" * 500) == MAX_JSON_DEPTH + 1


@pytest.mark.parametrize(("data", "reason"), [
    (b"[" * 65 + b"]" * 65, "doc is nested more than 64 levels deep"),
    (b'{"a": "\xff"}', "doc is not UTF-8 (invalid start byte at byte 7)"),
    (b"{'a': 1}", "doc is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'["\\ud800"]', "doc holds a lone surrogate escape ('\\ud800'), which is no character"),
])
def test_load_json_errors(data: bytes, reason: str) -> None:
    from harvest.crosswalk.common import load_json
    from harvest.marc import RecordError

    with pytest.raises(RecordError) as info:
        load_json(data, "doc")
    assert str(info.value).startswith(reason)


def test_load_json_reads_what_is_within_bounds() -> None:
    from harvest.crosswalk.common import load_json

    assert load_json(b"[" * 64 + b"]" * 64, "doc") is not None
    assert load_json('["\\ud83d\\ude00", "中"]'.encode(), "doc") == ["😀", "中"]
    assert load_json("[1]".encode("utf-16"), "doc") == [1]


def test_koha_marc_in_json_is_read_whole() -> None:
    from harvest.crosswalk.koha import _from_mij

    m = _from_mij({"leader": "00000nam a22", "fields": [
        {"001": "c1"},
        {"245": {"ind1": "1", "ind2": "04", "subfields": [{"a": "The book"}, {"b": 2}, "x"]}},
        {"500": {"subfields": []}}]}, 9)
    assert m.leader == "00000nam a22            " and m.encoding == "utf-8"
    assert m.control("001") == "c1"
    f245, f500 = m.get("245")[0], m.get("500")[0]
    assert (f245.ind1, f245.ind2, f245.subfields) == ("1", "0", [("a", "The book"), ("b", "2")])
    assert (f500.ind1, f500.ind2) == (" ", " ")
    assert _from_mij({"fields": [{"001": "x"}]}, 9).leader == " " * 24


def test_koha_envelope_uses_the_source_format_and_holdings_maps() -> None:
    mij = {"leader": "00000nam a2200000 a 4500", "fields": [
        {"200": {"subfields": [{"a": "题名"}]}},
        {"245": {"subfields": [{"a": "Title"}]}},
        {"999": {"subfields": [{"x": "X1"}, {"y": "库"}]}}]}
    from core.config import HoldingsMap
    r = _koha({"biblio_id": 5, "marc_in_json": mij, "items": [{"external_id": "I1"}]},
              format="cnmarc", holdings=(HoldingsMap(tag="999", barcode="x", location="y"),))
    assert (r.format, r.title) == ("cnmarc", "题名")  # the source says CNMARC
    assert [(h.library, h.barcode, h.note) for h in r.holdings] == [("BJ", "I1", "")]
    r = _koha({"biblio_id": 5, "marc_in_json": mij}, format="cnmarc",
              holdings=(HoldingsMap(tag="999", barcode="x", location="y"),))
    assert [(h.barcode, h.location) for h in r.holdings] == [("X1", "库")]


def test_koha_marcxml_in_a_namespace_and_exact_errors() -> None:
    from harvest.marc import RecordError

    xml = ('<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a22'
           '</leader><datafield tag="245" ind1="1" ind2="0"><subfield code="a">NS</subfield>'
           '</datafield></record><record><controlfield tag="001">no leader</controlfield>'
           '</record></collection>')
    assert _koha({"biblio_id": 3, "marcxml": xml}).title == "NS"
    for envelope, message in (
            ([], "Koha envelope is not a JSON object"),
            ({"marcxml": "<r/>"}, "Koha envelope has no biblio_id"),
            ({"biblio_id": 1, "marcxml": "<r>\ud800</r>"}, None),
            (b"{", "Koha envelope is not valid JSON"),
    ):
        with pytest.raises(RecordError) as info:
            if isinstance(envelope, bytes):
                from connectors.base import RawRecord
                from core.config import Source
                from harvest.crosswalk import from_raw
                from_raw(RawRecord("bj", 1, envelope, "koha"),
                         Source(name="bj", library="BJ", protocol="koha", address="http://x"))
            else:
                _koha(envelope)
        if message and not message.endswith("JSON"):
            assert str(info.value) == message
        elif message:
            assert str(info.value).startswith(message)


def test_symphony_marc_is_read_whole() -> None:
    from harvest.crosswalk.symphony import decode_marc

    m = decode_marc({"leader": "00000nam0 22", "fields": [
        {"tag": "001", "subfields": [{"code": "_", "data": "a"}, {"code": "", "data": "b"},
                                     {"code": "x", "data": "no"}]},
        {"tag": "005", "data": 2026},
        {"tag": "00A", "inds": "1", "subfields": [{"code": "a", "data": "letter tag"}]},
        {"tag": "200", "inds": "10", "subfields": [{"code": "a"}, {"data": "d"}]},
        {"tag": "606", "subfields": []}]})
    assert m.leader == "00000nam0 22            " and m.encoding == "utf-8"
    assert m.control("001") == "ab" and m.control("005") == "2026"
    f00a, f200, f606 = m.fields[2:]
    assert (f00a.tag, f00a.ind1, f00a.ind2, f00a.value) == ("00A", "1", " ", None)
    assert (f200.ind1, f200.ind2, f200.subfields) == ("1", "0", [("a", ""), ("", "d")])
    assert (f606.ind1, f606.ind2, f606.subfields) == (" ", " ", [])
    assert decode_marc({"fields": [{"tag": "001", "data": "x"}]}).leader == " " * 24


def test_symphony_record_key_format_and_exact_messages() -> None:
    from core.config import HoldingsMap
    from harvest.marc import RecordError

    both = {**_BIB, "fields": [*_BIB["fields"], {"tag": "245", "subfields": [
        {"code": "a", "data": "Title"}]}]}
    r = _symphony({"@key": "k9", "fields": {"bib": both}}, format="cnmarc",
                  holdings=(HoldingsMap(tag="200", barcode="a"),))
    assert (r.source_id, r.format, r.title) == ("k9", "cnmarc", "西安志")
    assert [h.barcode for h in r.holdings] == ["西安志"]  # the source's holdings map is used
    calls = [{"fields": {"callNumber": "C1", "itemList": [
        {"fields": {"barcode": "B", "library": {"@key": "LQ"},
                    "homeLocation": {"@key": "H"}, "currentLocation": {"@key": "H"}}}]}}]
    (h,) = _symphony({"key": "k", "fields": {"bib": _BIB, "callList": calls}},
                     members=(("LQ", "LIQ"),)).holdings
    assert (h.library, h.location, h.status, h.note) == ("LIQ", "H", "ON-SHELF", "")
    for bib, message in (
            ([], "Symphony bib is not a JSON object"),
            ({}, "Symphony bib has no 'fields' (was it fetched with includeFields?)"),
            ({"fields": {}}, "Symphony bib has no MARC (fields.bib missing: add 'bib' to "
                             "includeFields)"),
            ({"fields": {"bib": {"fields": []}}}, "Symphony MARC has no fields"),
            ({"key": "k1", "fields": {"bib": _BIB, "callList": {}}},
             "Symphony bib k1: fields.callList is dict, expected a list"),
            ({"fields": {"bib": _BIB, "callList": [{"fields": {"itemList": "x"}}]}},
             "Symphony bib rid: fields.callList[0].fields.itemList is str, expected a list"),
    ):
        with pytest.raises(RecordError) as info:
            _symphony(bib)
        assert str(info.value) == message
