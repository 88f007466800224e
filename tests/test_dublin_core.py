"""Dublin Core crosswalk on real records — dp2's Chinese srw_dc, the oai_dc of the shared
OAI-PMH responses — and on the generated Shaanxi local documents.

Expectations are read from the XML with the standard library here, independently of the
crosswalk's own parsing, wherever the rule is simple (first title, first year, ISBN-10 → 13).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from connectors.base import RawRecord
from core.config import Source
from harvest.crosswalk import from_raw
from harvest.crosswalk.dublin_core import http_url, places_in, split_role, to_record
from harvest.marc import RecordError
from peers.oai_repository import Item, dc_bytes, local_documents
from tests.conftest import shared_data

SRW = "{http://www.loc.gov/zing/srw/}"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SOURCE = Source(name="dfwx", library="SXL", protocol="oaipmh", address="http://x/oai")
ROOT = "http://127.0.0.1:8765"


def raw(data: bytes, record_id: str = "oai:x:1") -> RawRecord:
    return RawRecord("dfwx", 1, data, "oai_dc", record_id)


def dc(*elements: str, extra_ns: str = "") -> bytes:
    body = "".join(elements)
    return (f'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" {extra_ns}>{body}</oai_dc:dc>'
            ).encode()


def isbn13(isbn10: str) -> str:
    core = "978" + re.sub(r"[^0-9Xx]", "", isbn10)[:9]
    return core + str((10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(core))
                       % 10) % 10)


# -- real records --------------------------------------------------------------------------

def test_dp2_chinese_dublin_core_records() -> None:
    root = ET.parse(shared_data("unimarc_cnmarc/dp2/sample_dc.xml")).getroot()
    records = list(root.iter(f"{SRW}record"))
    assert len(records) == 10
    for n, rec in enumerate(records, 1):
        container = rec.find(f"{SRW}recordData")[0]
        rid = rec.findtext(f"{SRW}recordIdentifier")
        r = from_raw(RawRecord("dp2", n, ET.tostring(container, encoding="utf-8"), "oai_dc",
                               rid), SOURCE)
        values = {tag: [e.text for e in container.iter(DC + tag)]
                  for tag in ("title", "date", "identifier", "publisher", "contributor")}
        isbn10 = next(v for v in values["identifier"] if re.fullmatch(r"\d+-\d+-\d+-[\dX]", v))
        assert (r.source_id, r.format, r.title) == (rid, "dc", values["title"][0])
        assert r.year == int(values["date"][0])
        assert r.isbn == [isbn13(isbn10)] and r.isbn_invalid == []
        assert (r.language, r.material_type, r.online_url) == ("chi", "book", "")
        assert r.publisher == next(p for p in values["publisher"] if p != "北京")
        assert r.place == ("北京" if "北京" in values["publisher"] else "")
        assert [a.name for a in r.authors] == [c.split()[0] for c in values["contributor"]]
        assert all(a.role == "主编" for a in r.authors)
    first = from_raw(RawRecord("dp2", 1, ET.tostring(records[0].find(f"{SRW}recordData")[0]),
                               "oai_dc", "x"), SOURCE)
    assert first.isbn == ["9787503717444"]  # 7-5037-1744-0, worked by hand
    assert first.responsibility == "叶震 主编; 李强 主编"


def oai_dc_records(relative: str) -> list[tuple[str, ET.Element]]:
    root = ET.parse(shared_data(f"oai_pmh/{relative}")).getroot()
    out = []
    for rec in root.iter(f"{OAI}record"):
        metadata = rec.find(f"{OAI}metadata")
        if metadata is not None and len(metadata):
            out.append((rec.findtext(f"{OAI}header/{OAI}identifier"), metadata[0]))
    return out


def test_sickle_oai_dc_record() -> None:
    [(identifier, element)] = oai_dc_records("sickle/ListRecords.xml")
    r = to_record(raw(ET.tostring(element), identifier), SOURCE)
    assert (r.title, r.source_id) == ("Sample Title", "oai:test.example.com:1585322")
    assert [(a.name, a.role) for a in r.authors] == [("John Doe", "著")]  # four times in the file
    assert (r.publisher, r.year, r.language) == ("Sample Publisher", 2010, "eng")
    assert r.material_type == "article"  # info:eu-repo/semantics/article before "text"
    assert r.online_url == "http://test.example.com/publication/1585322"
    assert r.summary.startswith("Lorem ipsum dolor sit amet") and "\n" not in r.summary


def test_dspace_oai_dc_records() -> None:
    records = oai_dc_records("pyoai/00002.xml")
    assert len(records) > 50
    handles = 0
    for identifier, element in records:
        r = to_record(raw(ET.tostring(element), identifier), SOURCE)
        # as in the MARC crosswalks, ISBD-like end punctuation is not part of the title
        assert r.title == " ".join(element.findtext(DC + "title").split()).rstrip(" ./:;,")
        links = [e.text for e in element.iter(DC + "identifier") if e.text.startswith("http")]
        assert r.online_url == (links[0] if links else "")
        handles += r.online_url.startswith("http://hdl.handle.net/1765/")
        langs = [e.text for e in element.iter(DC + "language")]
        if langs and langs[0] == "en":
            assert r.language == "eng"
        dates = [e.text for e in element.iter(DC + "date")]
        if dates:
            assert r.year == int(dates[0][:4])
    assert handles > 50


def test_utf8_and_image_records_from_other_repositories() -> None:
    [(identifier, element)] = oai_dc_records("sickle/GetRecord_utf8test.xml")
    r = to_record(raw(ET.tostring(element, encoding="utf-8"), identifier), SOURCE)
    creator = element.findtext(DC + "creator")
    assert re.search(r"[\u4e00-\u9fff]", creator) and r.authors[0].name == creator
    for identifier, element in oai_dc_records("traject/sample-oai-pmh.xml"):
        r = to_record(raw(ET.tostring(element), identifier), SOURCE)
        types = [e.text.lower() for e in element.iter(DC + "type")]
        if "image" in types or "still image" in types:
            assert r.material_type == "image"


# -- generated local documents ------------------------------------------------------------

@pytest.fixture(scope="module")
def documents() -> list[Item]:
    return [i for i in local_documents(5, 80) if not i.deleted]


def crosswalk(item: Item) -> object:
    return to_record(raw(dc_bytes(item, ROOT), item.identifier), SOURCE)


def first(items: list[Item], kind: str, **want: bool) -> Item:
    return next(i for i in items if kind in i.sets
                and all((ext in i.objects) == on for ext, on in want.items()))


def test_county_gazetteer_links_places_and_classification(documents: list[Item]) -> None:
    item = next(i for i in documents if "xianzhi" in i.sets and ":" in i.sets[1]
                and {"pdf", "jpg"} <= set(i.objects) and "identifier" in i.metadata)
    r = crosswalk(item)
    oid = item.identifier.rsplit(":", 1)[1]
    assert r.online_url == f"{ROOT}/objects/{oid}.pdf"
    assert r.cover_url == f"{ROOT}/objects/{oid}.jpg"
    coverage = item.metadata["coverage"][0]  # 陕西省咸阳市礼泉县: province, city, county
    city, county = coverage[3:6], coverage[6:]
    assert r.places[:3] == ["陕西省", city, county]
    assert r.title == f"{county}志" or r.title.startswith(f"{county}志（")
    assert (r.material_type, r.clc, r.clc_top) == ("book", ["K294.1"], "K")
    assert r.authors[0].name == f"{county}地方志编纂委员会" and r.authors[0].role == "编"
    assert r.isbn or r.isbn_invalid
    assert r.language == "chi" and r.year == int(item.metadata["date"][0])


def test_material_types_of_local_documents(documents: list[Item]) -> None:
    expected = {"jiuzhi": "manuscript", "beike": "image", "zhaopian": "image",
                "baokan": "serial", "difangshi": "book"}
    for kind, material in expected.items():
        found = [i for i in documents if kind in i.sets]
        assert found, kind
        assert {crosswalk(i).material_type for i in found} == {material}, kind
    genealogies = [i for i in documents if "zupu" in i.sets]
    for item in genealogies:
        handwritten = "抄本" in item.metadata["format"]
        assert crosswalk(item).material_type == ("manuscript" if handwritten else "book")


def test_reign_years_and_series_of_local_documents(documents: list[Item]) -> None:
    for item in documents:
        date = item.metadata.get("date", ("",))[0]
        western = re.search(r"\d{4}", date)
        if not western and re.search(r"(乾隆|光绪|民国|康熙|道光)", date):
            assert crosswalk(item).year is not None, date
    series_item = next(i for i in documents if "relation" in i.metadata
                       and "文史资料" in i.metadata["relation"][0])
    assert crosswalk(series_item).series == [series_item.metadata["relation"][0]]
    photo = first(documents, "zhaopian", jpg=True)
    r = crosswalk(photo)
    assert r.cover_url.endswith(".jpg") and r.online_url == ""


# -- rules, on hand-made records ---------------------------------------------------------------

def test_only_http_links_reach_the_record() -> None:
    r = to_record(raw(dc(
        "<dc:title>三原县志</dc:title>",
        "<dc:identifier>javascript:alert(1)</dc:identifier>",
        "<dc:identifier> JaVaScRiPt:alert(document.cookie)</dc:identifier>",
        "<dc:identifier>data:image/png;base64,iVBORw0KGgo=</dc:identifier>",
        "<dc:identifier>thumbnail: data:image/png;base64,AAAA</dc:identifier>",
        "<dc:identifier>http://evil.example/\"onmouseover=alert(1)</dc:identifier>",
        "<dc:identifier>file:///etc/passwd</dc:identifier>",
    )), SOURCE)
    assert (r.online_url, r.cover_url) == ("", "")
    r = to_record(raw(dc(
        "<dc:title>三原县志</dc:title>",
        "<dc:identifier>javascript:alert(1)</dc:identifier>",
        "<dc:identifier>https://dl.example.cn/viewer?id=42</dc:identifier>",
        "<dc:identifier>封面：https://dl.example.cn/img/42</dc:identifier>",
    )), SOURCE)
    assert r.online_url == "https://dl.example.cn/viewer?id=42"
    assert r.cover_url == "https://dl.example.cn/img/42"  # an image by its label
    assert http_url("http:///no-host") == "" and http_url("https://a.b/c d") == ""


def test_identifiers_types_languages_and_places() -> None:
    r = to_record(raw(dc(
        "<dc:title>礼泉文史资料 第3辑</dc:title>",
        "<dc:title>Liquan wen shi zi liao</dc:title>",
        "<dc:creator>(清)蒋某 修</dc:creator>",
        "<dc:creator>欧阳修</dc:creator>",
        "<dc:contributor>政协礼泉县委员会文史资料委员会编</dc:contributor>",
        "<dc:publisher>西安 : 三秦出版社</dc:publisher>",
        "<dc:date>清光绪二十一年</dc:date>",
        "<dc:type>http://purl.org/dc/dcmitype/MovingImage</dc:type>",
        "<dc:identifier>ISBN 7-224-00000-1</dc:identifier>",
        f"<dc:identifier>urn:isbn:{isbn13('7-224-01234-5')}</dc:identifier>",
        "<dc:identifier>ISSN 1000-0135</dc:identifier>",
        "<dc:identifier>2001-01-04</dc:identifier>",
        "<dc:identifier>http://x.cn/cover/42</dc:identifier>",
        "<dc:subject>K294.1</dc:subject>",
        "<dc:subject>地方志—礼泉县；城市</dc:subject>",
        "<dc:coverage>陕西省咸阳市礼泉县</dc:coverage>",
        "<dc:coverage>民国</dc:coverage>",
        "<dc:language>zh-CN</dc:language>",
        "<dc:relation>礼泉文史资料</dc:relation>",
        "<dc:relation>hdl:1765/9</dc:relation>",
        "<dcterms:isPartOf>陕西地方文献丛书</dcterms:isPartOf>",
        extra_ns='xmlns:dcterms="http://purl.org/dc/terms/"')), SOURCE)
    assert r.title_alt == ["Liquan wen shi zi liao"]
    assert [(a.name, a.role) for a in r.authors] == [
        ("蒋某", "修"), ("欧阳修", "著"), ("政协礼泉县委员会文史资料委员会", "编")]
    assert (r.place, r.publisher, r.year) == ("西安", "三秦出版社", 1895)
    assert r.material_type == "video" and r.language == "chi"
    assert r.isbn_invalid == ["7224000001"] and r.isbn == [isbn13("7-224-01234-5")]
    assert r.issn == ["1000-0135"] and r.cover_url == "http://x.cn/cover/42"
    assert (r.clc, r.clc_top) == (["K294.1"], "K")
    assert r.subjects == ["地方志—礼泉县", "城市"]
    assert r.places == ["陕西省", "咸阳市", "礼泉县"]  # not 城市, not 民国
    assert r.series == ["陕西地方文献丛书", "礼泉文史资料"]


def test_helpers() -> None:
    assert split_role("叶震 主编") == ("叶震", "主编")
    assert split_role("李四 副主编") == ("李四", "副主编")
    assert split_role("欧阳修", "著") == ("欧阳修", "著")
    assert places_in("榆林市绥德县") == ["榆林市", "绥德县"]
    assert places_in("关中") == ["关中"] and places_in("1912-1949") == []


def test_unreadable_or_untitled_records_are_refused() -> None:
    with pytest.raises(RecordError, match="well-formed"):
        to_record(raw(b"<oai_dc:dc><dc:title>x"), SOURCE)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<dc xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&b;</dc:title></dc>')
    with pytest.raises(RecordError):
        to_record(raw(bomb), SOURCE)
    with pytest.raises(RecordError, match="dc:title"):
        to_record(raw(dc("<dc:creator>佚名</dc:creator>", "<dc:title>  </dc:title>")), SOURCE)
    with pytest.raises(RecordError, match="no Dublin Core"):
        to_record(raw(b"<record><title>not DC</title></record>"), SOURCE)
