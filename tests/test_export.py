"""Export and cite: every format is read back by a real reader of that format — pymarc and
yaz-marcdump for MARC, rispy for RIS, bibtexparser for BibTeX, feedparser for Atom, the csv
module for CSV — through the real portal over a store holding real records (the dp2
CNMARC sample, an OCLC MARC 21 record with 880 fields from ../shared/data)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import bibtexparser
import feedparser
import pymarc
import pytest
import rispy
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from harvest.crosswalk import to_record
from harvest.readers import read
from index.documents import cluster_document
from portal.export.gbt7714 import cite, edition, personal_name
from tests.conftest import World, build_world, shared_data

CONFIG = {
    "consortium": {"name": "测试联合目录"},
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
        {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
         "level": "county"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
    ],
    "sources": [
        {"name": "sxpl-retro", "library": "SXPL", "protocol": "z3950",
         "address": "127.0.0.1:21004/Default", "format": "cnmarc", "record_syntax": "unimarc"},
        {"name": "smlib-z3950", "library": "SMLIB", "protocol": "z3950",
         "address": "127.0.0.1:21003/Default", "format": "marc21"},
        {"name": "sxpl-dfwx", "library": "SXPL", "protocol": "oaipmh",
         "address": "http://127.0.0.1:21012/oai"},
        {"name": "xylib-z3950", "library": "XYLIB", "protocol": "z3950",
         "address": "127.0.0.1:21002/Default", "format": "cnmarc", "record_syntax": "unimarc"},
    ],
}


def first_marc(path: str, source: str, library: str, flavour: str) -> tuple[Record, bytes]:
    parsed = next(iter(read(shared_data(path).read_bytes())))
    assert parsed.marc is not None
    return to_record(parsed.marc, source, library, flavour=flavour), parsed.raw


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """c-cn: the dp2 CNMARC record; c-us: the OCLC MARC 21 record; c-dc: a digitized
    document that came as Dublin Core (no MARC to send on); c-many: a made-up entry."""
    cn, cn_raw = first_marc("derived/dp2_cnmarc_10recs.utf8.iso", "sxpl-retro", "SXPL",
                            "cnmarc")
    us, us_raw = first_marc("marc21_cjk/openlibrary/880_alternate_script.mrc", "smlib-z3950",
                            "SMLIB", "marc21")
    dc = Record(source="sxpl-dfwx", source_id="oai:dfwx:7", library="SXPL", format="dc",
                title="三原县志", publisher="陕西人民出版社", place="西安", year=2000,
                language="chi", material_type="book", authors=[Author("三原县地方志编纂委员会")],
                online_url="http://127.0.0.1:9/objects/7.pdf")
    many = Record(source="xylib-z3950", source_id="m1", library="XYLIB", format="cnmarc",
                  title="=SUM(1+1) 100% {braces} & more", year=2018, language="eng",
                  authors=[Author("Einstein, Albert"), Author("Baker, Sharon K."),
                           Author("Jackson, Mary E."), Author("Smith, John")],
                  publisher="", place="", edition="2nd ed.", material_type="book",
                  holdings=[Holding("XYLIB", "外借部", "O4/1", "XY1", "在架")])
    w = build_world(tmp_path, CONFIG)
    for record, raw, fmt, entry in ((cn, cn_raw, "unimarc", "c-cn"), (us, us_raw, "usmarc", "c-us"),
                                    (dc, b"<oai_dc/>", "oai_dc", "c-dc"),
                                    (many, b"", "unimarc", "c-many")):
        w.store.put(record, raw, fmt)
        w.store.set_clusters([(record.key, entry)])
        time.sleep(0.01)  # first-seen times in this order: the Atom feed's "newest"
    w.store.commit()
    w.backend.add(cluster_document(e, w.store.cluster(e), w.config.libraries)
                  for e in ("c-cn", "c-us", "c-dc", "c-many"))
    w.backend.commit()
    yield w
    w.close()


async def get_bytes(client: TestClient, url: str, status: int = 200) -> bytes:
    resp = await client.get(url)
    body = await resp.read()
    assert resp.status == status, body[:300]
    return body


# -- MARC ----------------------------------------------------------------------------------


async def test_cnmarc_record_exports_as_unimarc_iso2709_readable_by_pymarc(client) -> None:
    resp = await client.get("/export?format=marc&id=c-cn&id=c-us")
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Content-Disposition"].endswith('.mrc"')
    data = await resp.read()
    records = list(pymarc.MARCReader(data, to_unicode=True, force_utf8=True))
    assert len(records) == 2 and all(r is not None for r in records)
    cn, us = records
    # the CNMARC record stays UNIMARC: 200 title, 100$a/26-29 declares ISO 10646 (UTF-8)
    assert cn["200"]["a"] == "'94中国发展报告" and "245" not in cn
    assert cn["100"]["a"][26:30] == "50  "
    # the provincial library's items and Aleph's local fields are not sent on
    assert not cn.get_fields("905", "906", "995", "999", "AVA", "OWN")
    assert "(sxpl-retro)990002180740203961" in [f["a"] for f in cn.get_fields("035")]
    # the MARC 21 record stays MARC 21 with its 880 vernacular fields, leader/09 'a'
    assert us.leader[9] == "a" and us["245"] is not None and us.get_fields("880")
    assert "乔布斯的秘密日记" in " ".join(f.value() for f in us.get_fields("880"))
    assert not us.get_fields("948", "987", "994")


async def test_gb18030_export_declares_and_encodes_gb18030(client) -> None:
    data = await get_bytes(client, "/export?format=marc&encoding=gb18030&id=c-cn")
    assert "中国发展报告".encode("gb18030") in data
    assert "中国发展报告".encode() not in data
    reader = pymarc.MARCReader(data, to_unicode=True, force_utf8=False, file_encoding="gb18030")
    record = next(iter(reader))
    assert record is not None and record["200"]["a"] == "'94中国发展报告"
    assert record["100"]["a"][26:30] == "0120"
    # lengths are bytes of GB18030: yaz-marcdump, a second reader, walks the record cleanly
    exe = shutil.which("yaz-marcdump")
    if exe is None:
        pytest.skip("yaz-marcdump (package yaz) is not installed")
    out = subprocess.run([exe, "-f", "GB18030", "-t", "UTF-8", "-o", "marcxml", "/dev/stdin"],
                         input=data, capture_output=True, check=True)
    assert "中国发展报告" in out.stdout.decode("utf-8") and not out.stderr


async def test_marcxml_export_parses_with_pymarc(client) -> None:
    data = await get_bytes(client, "/export?format=marcxml&id=c-us&id=c-cn&id=c-dc")
    records = pymarc.parse_xml_to_array(io.BytesIO(data))
    assert len(records) == 3
    us, cn, dc = records
    assert "Lyons" in us["100"]["a"]
    assert cn["200"]["a"] == "'94中国发展报告"
    # Dublin Core has no MARC of its own: written from the record, MARC 21, with its link
    assert dc["245"]["a"] == "三原县志" and dc["264"]["b"] == "陕西人民出版社"
    assert dc["856"]["u"] == "http://127.0.0.1:9/objects/7.pdf"
    assert dc.leader[9] == "a"


# -- RIS, BibTeX, CSV ------------------------------------------------------------------------


async def test_ris_export_reads_back_with_rispy(client) -> None:
    data = await get_bytes(client, "/export?format=ris&id=c-cn&id=c-many")
    entries = rispy.loads(data.decode("utf-8"))
    assert len(entries) == 2
    cn, many = entries
    assert cn["type_of_reference"] == "BOOK"
    assert cn["title"] == "'94中国发展报告"
    assert cn["authors"][:2] == ["叶震", "李强"]
    assert cn["year"] == "1994" and cn["publisher"] == "中国统计出版社"
    assert cn["place_published"] == "北京" and "9787503717444" in cn["issn"]
    assert cn["urls"][0].endswith("/record/c-cn") and cn["accession_number"] == "c-cn"
    assert many["edition"] == "2nd ed." and len(many["authors"]) == 4


async def test_bibtex_export_reads_back_with_bibtexparser(client) -> None:
    data = await get_bytes(client, "/export?format=bibtex&id=c-many&id=c-cn")
    library = bibtexparser.parse_string(data.decode("utf-8"))
    assert not library.failed_blocks
    many, cn = library.entries
    assert many.entry_type == "book" and cn.entry_type == "book"
    assert many.key != cn.key
    # special characters escaped, so the title survives LaTeX as written
    assert many["title"] == r"{=SUM(1+1) 100\% \{braces\} \& more}"
    assert many["author"].count(" and ") == 3
    assert cn["year"] == "1994" and cn["publisher"] == "中国统计出版社"


async def test_csv_export_is_excel_friendly_and_formula_safe(client) -> None:
    data = await get_bytes(client, "/export?format=csv&id=c-many&id=c-cn")
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "题名", "著者"] and len(rows) == 3
    assert rows[1][1] == "'=SUM(1+1) 100% {braces} & more"  # never a live formula
    assert rows[1][11] == "咸阳市图书馆（O4/1）"
    gb = await get_bytes(client, "/export?format=csv&encoding=gb18030&id=c-cn")
    assert list(csv.reader(io.StringIO(gb.decode("gb18030"))))[1][1] == "'94中国发展报告"


async def test_export_refuses_bad_requests_with_reasons(client) -> None:
    too_many = "&".join(f"id=c{i}" for i in range(201))
    for url, words in (("/export?format=ris", "没有选中"),
                       ("/export?format=pdf&id=c-cn", "不支持的导出格式"),
                       ("/export?format=ris&encoding=gb18030&id=c-cn", "不支持字符集"),
                       (f"/export?format=ris&{too_many}", "最多导出 200 条")):
        resp = await client.get(url)
        assert resp.status == 400, url
        assert words in await resp.text()
    resp = await client.get("/export?format=ris&id=gone")
    assert resp.status == 404 and "不存在" in await resp.text()


# -- GB/T 7714-2015 -------------------------------------------------------------------------


def test_gbt7714_monograph_chinese() -> None:
    r = Record(source="s", source_id="1", library="L", title="红楼梦", language="chi",
               authors=[Author("曹雪芹", "著"), Author("高鹗", "续")], place="北京",
               publisher="人民文学出版社", year=1982, edition="第1版", material_type="book")
    assert cite(r) == "曹雪芹, 高鹗. 红楼梦[M]. 北京: 人民文学出版社, 1982."


def test_gbt7714_rules_for_creators_editions_translators_and_gaps() -> None:
    r = Record(source="s", source_id="1", library="L", title="经济数学与金融数学",
               language="chi", authors=[Author("哈里森·沃尔德伦"), Author("谢远涛", "译")],
               place="北京", publisher="中国人民大学出版社", year=2012, edition="第二版")
    assert cite(r) == ("哈里森·沃尔德伦. 经济数学与金融数学[M]. 谢远涛, 译. 2版. "
                       "北京: 中国人民大学出版社, 2012.")
    four = Record(source="s", source_id="2", library="L", title="Library cooperation",
                  language="eng", year=1998, edition="2nd ed.",
                  authors=[Author("Baker, Sharon K."), Author("Jackson, Mary E., 1950-"),
                           Author("Albert Einstein"), Author("Smith, John")])
    assert cite(four) == ("BAKER S K, JACKSON M E, EINSTEIN A, et al. Library cooperation[M]. "
                          "2nd ed. [S.l.]: [s.n.], 1998.")
    nobody = Record(source="s", source_id="3", library="L", title="县志", language="chi")
    assert cite(nobody) == "县志[M]. [出版地不详]: [出版者不详], [出版年不详]."
    online = Record(source="s", source_id="4", library="L", title="三原县志", language="chi",
                    place="西安", publisher="陕西人民出版社", year=2000,
                    online_url="http://127.0.0.1/o/7.pdf")
    assert cite(online, date(2026, 12, 3)) == (
        "三原县志[M/OL]. 西安: 陕西人民出版社, 2000[2026-12-03]. http://127.0.0.1/o/7.pdf.")
    serial = Record(source="s", source_id="5", library="L", title="中国发展报告",
                    language="chi", material_type="serial", place="北京",
                    publisher="中国统计出版社", year=2020)
    assert "[J]" in cite(serial)
    assert personal_name("刘宁") == "刘宁" and personal_name("World Health Organization") == \
        "World Health Organization"
    assert edition("第1版", True) == "" and edition("第10版", True) == "10版"


async def test_citation_on_the_record_page_and_as_a_list(client) -> None:
    page = (await get_bytes(client, "/record/c-cn")).decode()
    assert "叶震, 李强, 国家统计局. &#39;94中国发展报告[M]. 北京: 中国统计出版社, 1994." in page
    text = (await get_bytes(client, "/export?format=gbt7714&id=c-cn&id=c-us")).decode()
    lines = text.splitlines()
    assert lines[0].startswith("[1] 叶震, 李强, 国家统计局. ")
    assert lines[1].startswith("[2] LYONS D, ") and "[M]. 北京市: 中信出版社, 2010." in lines[1]


# -- OpenSearch, Atom ----------------------------------------------------------------------


async def test_opensearch_description_names_search_suggest_and_feed(client) -> None:
    data = await get_bytes(client, "/opensearch.xml")
    root = ET.fromstring(data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    host = f"http://{client.server.host}:{client.server.port}"
    assert urls["text/html"] == f"{host}/search?q={{searchTerms}}"
    assert urls["application/x-suggestions+json"] == f"{host}/api/suggest?q={{searchTerms}}"
    assert urls["application/atom+xml"] == f"{host}/feed?q={{searchTerms}}"
    page = (await get_bytes(client, "/")).decode()
    assert 'rel="search" type="application/opensearchdescription+xml"' in page


async def test_atom_feed_lists_the_query_hits_newest_first(client) -> None:
    page = (await get_bytes(client, "/search?q=中国发展报告")).decode()
    assert 'type="application/atom+xml" href="/feed?q=%E4%B8%AD' in page
    feed = feedparser.parse(await get_bytes(client, "/feed?q=县志"))
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == ["三原县志"]
    everything = feedparser.parse(await get_bytes(client, "/feed"))
    # newest first by when the catalogue first had them (stored c-cn, c-us, c-dc, c-many)
    assert [e.link.rsplit("/", 1)[1] for e in everything.entries] == [
        "c-many", "c-dc", "c-us", "c-cn"]
    assert everything.entries[0].published_parsed >= everything.entries[-1].published_parsed
    resp = await client.get("/feed?sort=nonsense")
    assert resp.status == 400


# -- in a real browser -----------------------------------------------------------------------


async def test_browser_search_mark_export_record_qr_and_print(client: TestClient,
                                                              browser: Any) -> None:
    """A reader marks books on two result pages, exports them together as RIS, opens a
    record, downloads its MARCXML, scans its QR code and prints it."""
    import zxingcpp
    from PIL import Image

    base = str(client.make_url("/"))
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(base + "search?q=中国发展报告")
    hit = page.locator("li.hit", has_text="中国发展报告")
    assert "图书" in await hit.locator(".imprint").inner_text()
    assert "1994" in await hit.locator(".imprint").inner_text()
    assert await hit.locator("img.cover-thumb").get_attribute("src") == "/covers/c-cn"
    assert await hit.locator(".availability").inner_text() == "暂无已知在架馆藏"
    await hit.locator("input.mark").check()
    await page.goto(base + "search?q=县志")
    await page.locator("li.hit", has_text="三原县志").locator("input.mark").check()
    assert "已选 2 条" in await page.locator(".marked-count").inner_text()
    await page.select_option("#export-format", "ris")
    async with page.expect_download() as info:
        await page.locator(".export-bar button").click()
    download = await info.value
    assert download.suggested_filename.endswith(".ris")
    entries = rispy.loads(Path(await download.path()).read_text(encoding="utf-8"))
    assert sorted(e["title"] for e in entries) == ["'94中国发展报告", "三原县志"]

    await page.goto(base + "search?q=中国发展报告")
    await page.locator("li.hit h2 a").first.click()
    await page.wait_for_url("**/record/c-cn")
    assert "[M]. 北京: 中国统计出版社, 1994." in await page.locator(".citation").inner_text()
    async with page.expect_download() as info:
        await page.locator(".export-links a", has_text="MARCXML").click()
    marcxml = Path(await (await info.value).path()).read_bytes()
    assert pymarc.parse_xml_to_array(io.BytesIO(marcxml))[0]["200"]["a"] == "'94中国发展报告"

    await page.emulate_media(media="print")
    assert not await page.locator("header.site").is_visible()
    assert not await page.locator("form.searchbox").is_visible()
    assert await page.locator("h1").is_visible()
    assert await page.locator(".shelf-qr img").is_visible()
    await page.emulate_media(media="screen")

    await page.goto(base + "record/c-cn/qr.svg")
    shot = await page.screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert [r.text for r in found] == [
        f"'94中国发展报告\n索书号 F124/26\n陕西省图书馆\n{base}record/c-cn"]
    assert not errors
