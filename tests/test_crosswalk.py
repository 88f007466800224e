"""Crosswalks against real records from ../shared/data: CNMARC (XML and ISO 2709, UTF-8
and GB18030) and MARC 21 (UTF-8, MARC-8 CJK, 880 vernacular)."""

from __future__ import annotations

from core.config import HoldingsMap
from harvest import iso2709
from harvest.crosswalk import to_record
from harvest.marc import decode_iso2709
from harvest.readers import read
from tests.conftest import shared_data

ALEPH_HOLDINGS = (HoldingsMap(tag="905", call_number="s"),
                  HoldingsMap(tag="906", barcode="b", call_number="d/e"))


def _records(path, **kw):
    out = []
    for parsed in read(path.read_bytes()):
        assert parsed.marc is not None, parsed.error
        out.append(to_record(parsed.marc, "src", "SXPL", f"#{parsed.position}", **kw))
    return out


def test_cnmarc_xml_real_records():
    recs = _records(shared_data("unimarc_cnmarc/dp2/sample_cnmarcxml.xml"),
                    holdings=ALEPH_HOLDINGS)
    assert len(recs) == 10
    r = recs[0]
    assert r.format == "cnmarc"
    assert r.title == "'94中国发展报告"
    assert r.title_pinyin == "'94Zhong Guo Fa Zhan Bao Gao"
    assert "中国发展报告" in r.title_alt
    assert r.responsibility == "国家统计局编"
    assert r.isbn == ["9787503717444"]  # 7-5037-1744-0 carried as ISBN-13
    assert r.clc == ["F124"] and r.clc_top == "F"
    assert (r.publisher, r.place, r.year) == ("中国统计出版社", "北京", 1994)
    assert [(a.name, a.role, a.pinyin) for a in r.authors][:2] == [
        ("叶震", "主编", "Xie Zhen"), ("李强", "主编", "Li Qiang")]
    assert r.subjects[0] == "经济发展--概况--中国--1994"
    assert r.language == "chi" and r.material_type == "book"
    assert {h.barcode for h in r.holdings} >= {"1683011", "1683012"}
    assert all(h.call_number == "F124/26" for h in r.holdings)


def test_cnmarc_iso2709_equals_xml():
    xml = _records(shared_data("unimarc_cnmarc/dp2/sample_cnmarcxml.xml"))
    iso = _records(shared_data("derived/dp2_cnmarc_10recs.utf8.iso"))
    strip = ("source_id", "encoding")
    assert [{k: v for k, v in r.to_dict().items() if k not in strip} for r in iso] == \
           [{k: v for k, v in r.to_dict().items() if k not in strip} for r in xml]


def test_cnmarc_gb18030_detected_from_bytes_not_100a():
    """The same real records re-encoded in GB18030 read back identically with encoding auto,
    although their 100$a says '0120' and nothing in the leader says GB."""
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso").read_bytes()
    for _, chunk in iso2709.split_records(data):
        utf8 = decode_iso2709(chunk)
        fields = [(f.tag, "", f.value) if f.value is not None
                  else (f.tag, f.ind1 + f.ind2, f.subfields) for f in utf8.fields]
        gb = iso2709.write(utf8.leader, fields, encoding="gb18030")
        assert gb != chunk
        back = decode_iso2709(gb)
        assert back.encoding == "gb18030"
        assert to_record(back, "s", "L").to_dict() | {"encoding": ""} == \
            to_record(utf8, "s", "L").to_dict() | {"encoding": ""}


def test_marc21_880_vernacular_first_romanized_searchable():
    recs = _records(shared_data("marc21_cjk/yaz/marccol1.u8.marc"))
    assert len(recs) == 19
    def han(text):
        return any("\u4e00" <= c <= "\u9fff" for c in text)

    chinese = [r for r in recs if han(r.title)]
    assert len(chinese) >= 15
    for r in chinese:
        # the romanized 245 is kept as an alternate title
        assert any(t and not han(t) for t in r.title_alt), r.title


def test_marc21_marc8_cjk_record():
    (r,) = _records(shared_data("marc21_cjk/yaz/marc12.marc"))
    assert r.encoding == "marc-8"
    assert r.title.startswith("车票去哪儿了")
    assert "Che piao qu na er le" in r.title_alt[0]
    assert r.authors[0].name == "刘旭恭" and r.authors[0].romanized
    assert r.publisher == "长江少年儿童出版社"
    assert r.isbn == ["9787572101014"]
    assert "树上又有什么让人惊讶的景象呢" in r.summary


def test_marc21_utf8_mislabelled_leader_is_detected():
    recs = _records(shared_data("marc21_general/evergreen/FSL.marc"))
    assert len(recs) == 52
    assert recs[0].encoding == "utf-8"  # leader/09 blank, bytes are UTF-8 Cyrillic
    assert recs[0].title.startswith("Люди с чистой совестью")


def test_marc21_holdings_and_isbn10():
    recs = _records(shared_data("marc21_general/evergreen/jazz_1k.mrc"))
    assert len(recs) == 1000
    with_items = [r for r in recs if r.holdings]
    assert len(with_items) > 900
    assert all(h.barcode for r in with_items for h in r.holdings)


def test_invalid_isbn_kept_apart():
    recs = _records(shared_data("marc21_general/evergreen/badisbns.xml"))
    assert any(r.isbn_invalid for r in recs)
    from harvest.isbn import valid13
    assert all(valid13(i) for r in recs for i in r.isbn)


def test_from_dict_round_trips_and_the_model_has_no_init_logic_to_skip():
    """`Record.from_dict` builds complete rows without `__init__`; that is only sound while
    the dataclasses do nothing in it beyond storing fields."""
    from core.model import Author, Holding, Record

    for cls in (Record, Author, Holding):
        assert not hasattr(cls, "__post_init__"), cls
    record = Record("s", "1", "SXPL", title="红楼梦", authors=[Author("曹雪芹", "著")],
                    holdings=[Holding("SXPL", call_number="I242.4/1")], year=1982)
    back = Record.from_dict(record.to_dict())
    assert back == record and isinstance(back.authors[0], Author)
    partial = Record.from_dict({"source": "s", "source_id": "2", "library": "X", "extra": 1})
    assert partial.title == "" and partial.holdings == [] and partial.key == "s:2"
