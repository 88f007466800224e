"""SRU 1.2 and 2.0 at /sru: CQL parsed by YAZ, run through the portal's own search, MARC 21
/ UNIMARC / Dublin Core records with holdings, diagnostics from the SRU list — and
yaz-client, a real SRU client, searching it over a real socket."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from lxml import etree

from core.model import Author, Holding, Record
from portal import sru_query
from tests.conftest import TWO_LIBRARIES, World

NS = {"s": "http://www.loc.gov/zing/srw/", "s2": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
      "m": "http://www.loc.gov/MARC21/slim", "d": "http://www.loc.gov/zing/srw/diagnostic/",
      "zr": "http://explain.z3950.org/dtd/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}

CONFIG = TWO_LIBRARIES


def book(source: str, sid: str, title: str, author: str, isbn: str, year: int, clc: str,
         **more: Any) -> Record:
    library = "SXPL" if source == "sx" else "XYLIB"
    return Record(source=source, source_id=sid, library=library, title=title,
                  authors=[Author(author, "著")], isbn=[isbn] if isbn else [], year=year,
                  clc=[clc], clc_top=clc[0], language="chi", **more,
                  holdings=[Holding(library, location="借阅区", call_number=f"{clc}/{sid}",
                                    barcode=f"{library}{sid}")])


RECORDS = [
    book("sx", "1", "红楼梦", "曹雪芹", "9787020002207", 1982, "I242.4"),
    book("xy", "1", "红楼梦", "曹雪芹", "9787020002207", 1982, "I242.4"),
    book("sx", "2", "红楼梦研究", "俞平伯", "9787532500001", 1995, "I207.411"),
    book("sx", "3", "三国演义", "罗贯中", "9787020008735", 1973, "I242.4"),
    book("xy", "4", "陕西通史", "张岂之", "9787561300001", 1997, "K294.1",
         subjects=["陕西", "地方史"]),
    book("xy", "5", "西安历史地图集", "史念海", "9787806280001", 1996, "K928.6",
         subjects=["西安", "历史地图"]),
]


@pytest.fixture
def world(make_world) -> World:
    return make_world(CONFIG, records=RECORDS)


async def sru(client, **params: str) -> etree._Element:
    response = await client.get("/sru", params=params)
    assert response.status == 200
    return etree.fromstring(await response.read())


def titles(doc: etree._Element) -> list[str]:
    return doc.xpath("//m:datafield[@tag='245']/m:subfield[@code='a']/text()", namespaces=NS)


def diagnostic(doc: etree._Element) -> str:
    uris = doc.xpath("//*[local-name()='diagnostic']/*[local-name()='uri']/text()")
    return uris[0].rsplit("/", 1)[-1] if uris else ""


async def search(client, query: str, **more: str) -> etree._Element:
    return await sru(client, version="1.2", operation="searchRetrieve", query=query, **more)


async def test_explain_lists_the_indexes_and_schemas(client) -> None:
    doc = await sru(client)  # no parameters: explain, SRU 2.0
    assert doc.tag == f"{{{NS['s2']}}}explainResponse"
    names = {(n.get("set"), n.text) for n in doc.xpath("//zr:index/zr:map/zr:name",
                                                      namespaces=NS)}
    assert {("dc", "title"), ("dc", "creator"), ("bath", "isbn"), ("dc", "subject"),
            ("cql", "anywhere"), ("tongjian", "clc"), ("tongjian", "library"),
            ("dc", "date")} <= names
    schemas = set(doc.xpath("//zr:schema/@name", namespaces=NS))
    assert schemas == {"marcxml", "unimarc", "dc"}
    old = await sru(client, version="1.2", operation="explain")
    assert old.tag == f"{{{NS['s']}}}explainResponse"


@pytest.mark.parametrize(("query", "expected"), [
    ("dc.title = 红楼梦", ["红楼梦", "红楼梦研究"]),
    ("dc.title == 红楼梦", ["红楼梦"]),
    ("dc.title == 红楼*", ["红楼梦", "红楼梦研究"]),
    ("dc.creator = 罗贯中", ["三国演义"]),
    ("bath.isbn = 978-7-02-000873-5", ["三国演义"]),
    ("dc.subject = 陕西", ["陕西通史"]),
    ("cql.anywhere any \"罗贯中 史念海\"", ["三国演义", "西安历史地图集"]),
    ("dc.title = 红楼梦 not dc.creator = 俞平伯", ["红楼梦"]),
    ("dc.title = 红楼梦 and dc.date > 1990", ["红楼梦研究"]),
    ("dc.title = 红楼梦 or dc.title = 三国演义", ["红楼梦", "红楼梦研究", "三国演义"]),
    ("tongjian.clc = K", ["陕西通史", "西安历史地图集"]),
    ("tongjian.library = SXPL and tongjian.clc = I", ["红楼梦", "红楼梦研究", "三国演义"]),
    ("tongjian.library = XYLIB and dc.date >= 1997", ["陕西通史"]),
    ("dc.date < 1980", ["三国演义"]),
])
async def test_cql_finds_what_it_says(client, query: str, expected: list[str]) -> None:
    doc = await search(client, query, maximumRecords="20")
    assert diagnostic(doc) == ""
    assert sorted(titles(doc)) == sorted(expected)
    assert doc.findtext("s:numberOfRecords", namespaces=NS) == str(len(expected))


async def test_an_sru_search_finds_what_a_portal_search_finds(client) -> None:
    for q, field, index in (("红楼", "title", "dc.title"), ("陕西", "any", "cql.anywhere"),
                            ("曹雪芹", "author", "dc.creator")):
        api = await (await client.get("/api/search", params={"q": q, "field": field})).json()
        doc = await search(client, f"{index} = {q}", maximumRecords="20")
        assert doc.xpath("//m:controlfield[@tag='001']/text()", namespaces=NS) == \
            [h["id"] for h in api["hits"]]


async def test_sorting_and_paging(client) -> None:
    doc = await search(client, "tongjian.clc = I sortby dc.date/sort.descending",
                       maximumRecords="2")
    assert titles(doc) == ["红楼梦研究", "红楼梦"]
    assert doc.findtext("s:nextRecordPosition", namespaces=NS) == "3"
    rest = await search(client, "tongjian.clc = I sortby dc.date/sort.descending",
                        startRecord="3", maximumRecords="2")
    assert titles(rest) == ["三国演义"]
    assert rest.find("s:nextRecordPosition", NS) is None
    assert rest.findtext(".//s:recordPosition", namespaces=NS) == "3"
    old_style = await search(client, "tongjian.clc = I", sortKeys="dc.date,,1",
                             maximumRecords="3")
    assert titles(old_style) == ["三国演义", "红楼梦", "红楼梦研究"]
    by_title = await search(client, "tongjian.clc = K sortby dc.title", maximumRecords="3")
    assert titles(by_title) == ["西安历史地图集", "陕西通史"]  # by the folded title


async def test_holdings_travel_in_marc21_852_and_unimarc_906(client) -> None:
    doc = await search(client, "dc.title == 红楼梦")
    rows = [(f.findtext("m:subfield[@code='a']", namespaces=NS),
             f.findtext("m:subfield[@code='h']", namespaces=NS),
             f.findtext("m:subfield[@code='p']", namespaces=NS))
            for f in doc.xpath("//m:datafield[@tag='852']", namespaces=NS)]
    assert sorted(rows) == [("SXPL", "I242.4/1", "SXPL1"), ("XYLIB", "I242.4/1", "XYLIB1")]
    uni = await search(client, "dc.title == 红楼梦", recordSchema="unimarc")
    assert uni.xpath("//m:datafield[@tag='200']/m:subfield[@code='a']/text()",
                     namespaces=NS) == ["红楼梦"]
    assert sorted(uni.xpath("//m:datafield[@tag='906']/m:subfield[@code='f']/text()",
                            namespaces=NS)) == ["SXPL", "XYLIB"]
    dc = await search(client, "dc.title == 红楼梦", recordSchema="dc")
    assert dc.xpath("//dc:title/text()", namespaces=NS) == ["红楼梦"]
    assert dc.findtext(".//s:recordSchema", namespaces=NS) == "info:srw/schema/1/dc-v1.1"
    packed = await search(client, "dc.title == 红楼梦", recordPacking="string")
    assert packed.findtext(".//s:recordData", namespaces=NS).startswith("<record")


@pytest.mark.parametrize(("params", "number"), [
    ({"query": "dc.title = "}, "10"),
    ({"query": "dc.title = 红楼梦 and"}, "10"),
    ({"query": "dc.nothing = 红楼梦"}, "16"),
    ({"query": "dc.title <> 红楼梦"}, "19"),
    ({"query": "dc.date = 82"}, "36"),
    ({"query": "dc.title = *楼梦"}, "28"),
    ({"query": "dc.title = 红楼梦", "recordSchema": "mods"}, "66"),
    ({"query": "dc.title = 红楼梦", "startRecord": "9"}, "61"),
    ({"query": "dc.title = 红楼梦", "startRecord": "0"}, "6"),
    ({"query": "dc.title = 红楼梦", "colour": "red"}, "8"),
    ({"query": "dc.title = 红楼梦 sortby dc.publisher"}, "80"),
    ({}, "7"),
])
async def test_diagnostics(client, params: dict[str, str], number: str) -> None:
    doc = await sru(client, version="1.2", operation="searchRetrieve", **params)
    assert diagnostic(doc) == number
    assert doc.findtext("s:numberOfRecords", namespaces=NS) == "0"


async def test_unsupported_version_and_too_many_records(client, monkeypatch) -> None:
    doc = await sru(client, version="3.0", operation="searchRetrieve", query="x")
    assert diagnostic(doc) == "5"
    monkeypatch.setattr(sru_query, "SET_LIMIT", 2)
    doc = await search(client, "tongjian.clc = I or dc.title = 陕西")
    assert diagnostic(doc) == "60"
    # one clause with limits is counted by the engine: no limit applies
    doc = await search(client, "tongjian.clc = I")
    assert diagnostic(doc) == "" and doc.findtext("s:numberOfRecords", namespaces=NS) == "3"


async def test_the_endpoint_can_be_turned_off(make_world, serve) -> None:
    off = make_world({**CONFIG, "offer": {"sru": {"enabled": False}}}, records=RECORDS[:1])
    response = await (await serve(off.app())).get("/sru")
    assert response.status == 404


async def yaz_client(commands: str) -> str:
    exe = shutil.which("yaz-client")
    if exe is None:
        pytest.skip("yaz-client (package yaz) is not installed")
    proc = await asyncio.create_subprocess_exec(
        exe, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(commands.encode("utf-8")), 30)
    return out.decode("utf-8", errors="replace")


@pytest.mark.parametrize("version", ["1.2", "2.0"])
async def test_yaz_client_searches_and_presents(client, version: str) -> None:
    url = client.make_url("/sru")
    out = await yaz_client(f"sru get {version}\nopen {url}\nquerytype cql\n"
                           "find dc.title = 红楼梦\nshow 1\n"
                           "find dc.creator any \"罗贯中 史念海\"\n"
                           "find dc.nothing = x\nquit\n")
    assert "Number of hits: 2" in out  # 红楼梦, 红楼梦研究
    assert "schema=info:srw/schema/1/marcxml-v1.1" in out
    assert '<subfield code="a">红楼梦' in out and 'tag="852"' in out
    assert out.count("Number of hits: 2") == 3  # the search, its present, the any-search
    assert "SRW diagnostic info:srw/diagnostic/1/16" in out
