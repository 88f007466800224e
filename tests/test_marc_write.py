"""The one way back to MARC: the union catalogue's records (SRU, OAI-PMH, Z39.50) and the
portal's download of one record come from the same crosswalk and the same writers, and
differ only in their policy (the entry's id, date and every holding vs. the record as
catalogued, without items)."""

from __future__ import annotations

import pytest
from lxml import etree

from core.config import Library
from core.model import Author, Holding, Record
from harvest import export, marc_write
from harvest.crosswalk import to_record
from harvest.marc import Field, Marc
from harvest.readers import read_one
from index.documents import best_record
from portal.export import marc_out

POLICY_TAGS = {"001", "003", "005", "008", "100", "852", "906"}  # ids, dates, holdings


def book(source: str, library: str, barcode: str) -> Record:
    return Record(source=source, source_id=f"{source}-1", library=library, format="cnmarc",
                  title="红楼梦", volume="上册", responsibility="曹雪芹著",
                  authors=[Author("曹雪芹", "著"), Author("高鹗", "续")],
                  publisher="人民文学出版社", place="北京", year=1982, edition="第3版",
                  isbn=["9787020002207"], clc=["I242.4"], subjects=["章回小说"],
                  language="chi", material_type="book", series=["中国古典文学读本丛书"],
                  summary="长篇小说。", title_alt=["石头记"],
                  online_url="http://127.0.0.1:9/objects/1.pdf",
                  holdings=[Holding(library, "借阅区", "I242.4/1", barcode)])


LIBRARIES = {code: Library(code=code, name=code, region="西安市", level="city")
             for code in ("SXPL", "XYLIB")}


def described(marc: Marc) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    return [(f.tag, f.ind1, f.ind2, f.subfields) for f in marc.fields
            if f.tag not in POLICY_TAGS]


@pytest.mark.parametrize(("flavour", "holding_tag"), [("marc21", "852"), ("unimarc", "906")])
def test_union_record_and_download_share_the_crosswalk_and_differ_only_in_policy(
        flavour: str, holding_tag: str) -> None:
    records = [book("sxpl", "SXPL", "SXPL1"), book("xylib", "XYLIB", "XYLIB1")]
    entry = export.Entry("e1", records, 1_700_000_000.0)
    union = export.entry_marc(entry, LIBRARIES, flavour)
    best = best_record(records, LIBRARIES)
    single = marc_out.build(best, "cnmarc" if flavour == "unimarc" else "marc21")
    assert described(union) == described(single) and described(union)
    assert union.control("001") == "e1" and single.control("001") == best.source_id
    library, barcode = ("a", "p") if flavour == "marc21" else ("f", "a")
    rows = {(f.get(library), f.get(barcode)) for f in union.get(holding_tag)}
    assert {("SXPL", "SXPL1"), ("XYLIB", "XYLIB1")} <= rows
    assert not single.get(holding_tag) and not single.control("005")
    assert union.control("005").startswith("20231114")


@pytest.mark.parametrize("flavour", ["marc21", "cnmarc"])
def test_written_marc_reads_back_through_the_harvest_crosswalk(flavour: str) -> None:
    original = book("sxpl", "SXPL", "SXPL1")
    marc = marc_write.from_record(original, flavour, marc_write.Extras(id="x"))
    for data, syntax in ((marc_write.iso2709(marc, "utf-8"), "usmarc"),
                         (etree.tostring(marc_write.marcxml(marc)), "marcxml")):
        back = to_record(read_one(data, syntax, "utf-8", flavour), "s", "SXPL", "x", flavour)
        assert (back.title, back.year, back.isbn, back.clc, back.publisher, back.place) == (
            "红楼梦", 1982, ["9787020002207"], ["I242.4"], "人民文学出版社", "北京")
        assert [a.name for a in back.authors] == ["曹雪芹", "高鹗"]
        assert back.subjects == ["章回小说"] and back.language == "chi"


def test_marcxml_download_drops_characters_xml_cannot_carry() -> None:
    """The download used to write a harvested control byte into the XML unfiltered, which
    no parser accepts; the shared writer drops it, as the SRU/OAI output always did."""
    marc = Marc(leader="00000nam a2200000 i 4500",
                fields=[Field("001", value="a\x01b"), Field("245", "0", "0", [("a", "题\x1b名")])])
    doc = etree.fromstring(marc_write.collection([marc]))
    ns = {"m": marc_write.MARC_NS}
    assert doc.xpath("//m:datafield[@tag='245']/m:subfield/text()", namespaces=ns) == ["题名"]
    assert doc.xpath("//m:controlfield[@tag='001']/text()", namespaces=ns) == ["ab"]


def test_iso2709_refuses_a_record_too_long_for_its_length_fields() -> None:
    """Zebra's export leaves such an entry out with a warning rather than a corrupt file."""
    huge = Marc(leader="00000nam a2200000 i 4500",
                fields=[Field("852", " ", " ", [("a", "x" * 9000)]) for _ in range(12)])
    with pytest.raises(ValueError, match="99999"):
        marc_write.iso2709(huge)
    with pytest.raises(ValueError, match="9999"):
        marc_write.iso2709(Marc(leader="0" * 24, fields=[Field("500", " ", " ",
                                                               [("a", "y" * 10_000)])]))
