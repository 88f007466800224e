"""The OAI-PMH 2.0 provider at /oai, tested from the protocol specification and
harvested end to end by sickle (a real client) over a real socket: resumption, deletions
with their successors, selective harvesting by set and date, tokens across a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import IdDoesNotExist, NoRecordsMatch

from core.model import Author, Holding, Record
from harvest.pipeline import update_index
from portal.oai_provider import REPOSITORY, Repository, Tokens, entry_of
from tests.conftest import TWO_LIBRARIES, World

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "m": "http://www.loc.gov/MARC21/slim",
      "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}

CONFIG = TWO_LIBRARIES


def book(source: str, sid: str, title: str, isbn: str, **more: Any) -> Record:
    library = "SXPL" if source == "sx" else "XYLIB"
    fields: dict[str, Any] = {"clc": ["I242.4"], "clc_top": "I", **more}
    return Record(source=source, source_id=sid, library=library, title=title,
                  authors=[Author("曹雪芹", "著")], isbn=[isbn], year=1982, language="chi",
                  holdings=[Holding(library, location="借阅区", call_number=f"I242/{sid}",
                                    barcode=f"{library}{sid}")], **fields)


RECORDS = [
    book("sx", "1", "红楼梦", "9787020002207"),
    book("xy", "1", "红楼梦", "9787020002207"),  # the same book: one entry, two holdings
    book("sx", "2", "三国演义", "9787020008735"),
    book("sx", "3", "水浒传", "9787020015016", clc_top="K", clc=["K20"]),
    book("xy", "4", "陕西地方志", "9787224000001", online_url="http://example.org/a.pdf"),
]


@pytest.fixture
def world(make_world) -> World:
    return make_world(CONFIG, records=RECORDS)


def xml(body: bytes) -> etree._Element:
    return etree.fromstring(body)


async def ask(client, **args: str) -> etree._Element:
    response = await client.get("/oai", params=args)
    assert response.status == 200 and response.content_type == "text/xml"
    return xml(await response.read())


def error(doc: etree._Element) -> str | None:
    found = doc.find("o:error", NS)
    return None if found is None else found.get("code")


async def test_identify_says_persistent_deletions_and_second_granularity(client) -> None:
    doc = await ask(client, verb="Identify")
    assert doc.findtext("o:Identify/o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert doc.findtext("o:Identify/o:deletedRecord", namespaces=NS) == "persistent"
    assert doc.findtext("o:Identify/o:protocolVersion", namespaces=NS) == "2.0"
    assert doc.findtext("o:Identify/o:baseURL", namespaces=NS).endswith("/oai")
    assert doc.find("o:request", NS).get("verb") == "Identify"


@pytest.mark.parametrize(("args", "code"), [
    ({}, "badVerb"),
    ({"verb": "ListThings"}, "badVerb"),
    ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),  # metadataPrefix missing
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "badArgument"),  # identifier missing
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T00:00Z"},
     "badArgument"),  # minutes are not a granularity of this repository
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01",
      "until": "2021-01-01T00:00:00Z"}, "badArgument"),  # mixed granularities
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-02",
      "until": "2021-01-01"}, "badArgument"),  # from after until
    ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"},
     "badArgument"),  # the token is exclusive
    ({"verb": "ListRecords", "resumptionToken": "garbage"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "mods", "identifier": "oai:tongjian:x"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:tongjian:nope"},
     "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": "urn:other:1"}, "idDoesNotExist"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
     "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "library:NOPE"},
     "noRecordsMatch"),
])
async def test_errors_from_the_spec(client, args: dict[str, str], code: str) -> None:
    doc = await ask(client, **args)
    assert error(doc) == code
    if code in ("badVerb", "badArgument"):  # the spec: echo no arguments then
        assert dict(doc.find("o:request", NS).attrib) == {}


async def test_a_repeated_argument_is_a_bad_argument(client) -> None:
    response = await client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc"
                                "&metadataPrefix=marcxml")
    assert error(xml(await response.read())) == "badArgument"


async def test_post_works_as_get(client) -> None:
    response = await client.post("/oai", data={"verb": "ListSets"})
    doc = xml(await response.read())
    specs = doc.xpath("//o:setSpec/text()", namespaces=NS)
    assert {"library:SXPL", "region:xianyangshi", "clc:I", "digitized"} <= set(specs)


async def test_an_altered_token_is_refused(client, world: World) -> None:
    world_repo: Repository = client.app[REPOSITORY]
    world_repo.page_size = 1
    doc = await ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = doc.findtext(".//o:resumptionToken", namespaces=NS)
    assert token
    packed, _, signature = token.partition(".")
    forged = packed[:-2] + ("AA" if packed[-2:] != "AA" else "BB") + "." + signature
    assert error(await ask(client, verb="ListIdentifiers", resumptionToken=forged)) \
        == "badResumptionToken"
    assert error(await ask(client, verb="ListRecords", resumptionToken=token)) \
        == "badResumptionToken"  # a ListIdentifiers token continues only that list


def harvest(url: str, **args: str) -> list[Any]:
    return list(Sickle(url, max_retries=0).ListRecords(ignore_deleted=False, **args))


async def test_sickle_harvests_everything_through_resumption_tokens(client) -> None:
    client.app[REPOSITORY].page_size = 2
    url = str(client.make_url("/oai"))
    records = await asyncio.to_thread(harvest, url, metadataPrefix="marcxml")
    assert len(records) == 4  # five records, one entry held twice
    by_title = {}
    for r in records:
        marc = etree.fromstring(etree.tostring(r.xml)).find(".//m:record", NS)
        title = marc.findtext("m:datafield[@tag='245']/m:subfield[@code='a']", namespaces=NS)
        holdings = [(f.findtext("m:subfield[@code='a']", namespaces=NS),
                     f.findtext("m:subfield[@code='h']", namespaces=NS))
                    for f in marc.findall("m:datafield[@tag='852']", NS)]
        by_title[title] = holdings
    assert sorted(by_title["红楼梦"]) == [("SXPL", "I242/1"), ("XYLIB", "I242/1")]
    assert by_title["三国演义"] == [("SXPL", "I242/2")]
    dc = await asyncio.to_thread(harvest, url, metadataPrefix="oai_dc", set="clc:K")
    assert [r.metadata["title"] for r in dc] == [["水浒传"]]
    digitized = await asyncio.to_thread(harvest, url, metadataPrefix="oai_dc", set="digitized")
    assert [r.metadata["title"] for r in digitized] == [["陕西地方志"]]
    region = await asyncio.to_thread(harvest, url, metadataPrefix="oai_dc",
                                     set="region:xianyangshi")
    assert len(region) == 2  # the city library's two entries


async def test_deletions_persist_with_the_entry_their_records_went_to(client,
                                                                     world: World) -> None:
    url = str(client.make_url("/oai"))
    old = list(world.store.lineage_rows(None).values())
    for row in old:  # as harvested in 2001: what changes below gets a newer datestamp
        row.changed = 1_000_000_000.0
    world.store.save_lineage(old)
    world.store.commit()
    before = {r.header.identifier: r for r in
              await asyncio.to_thread(harvest, url, metadataPrefix="oai_dc")}
    shui = next(i for i, r in before.items() if r.metadata["title"] == ["水浒传"])
    sanguo = next(i for i, r in before.items() if r.metadata["title"] == ["三国演义"])
    # 水浒传's record gains another ISBN: its entry id (made from the smallest) goes away
    moved = book("sx", "3", "水浒传", "9787020015016")
    moved.isbn.append("9787020008735")
    world.store.put(moved, b"raw", "test")
    world.store.delete("xy:4")  # and the digitized document leaves the catalogue
    update_index(world.store, world.backend, world.config, touched={"sx:3"},
                 emptied={entry_of(before_id) or "" for before_id, r in before.items()
                          if r.metadata["title"] == ["陕西地方志"]})
    after = {r.header.identifier: r for r in
             await asyncio.to_thread(harvest, url, metadataPrefix="oai_dc")}
    deleted = {i for i, r in after.items() if r.header.deleted}
    assert len(deleted) == 2
    # one of the two ids went (which one is the matcher's business); its record's entry
    # now is its successor
    [went] = deleted & {shui, sanguo}
    stays = "oai:tongjian:" + (world.store.cluster_of("sx:3" if went == shui else "sx:2")
                               or "")
    assert stays in after and not after[stays].header.deleted
    record = after[went]
    assert not hasattr(record, "metadata")  # a deleted record carries none
    doc = await ask(client, verb="GetRecord", metadataPrefix="oai_dc", identifier=went)
    assert doc.find(".//o:header", NS).get("status") == "deleted"
    assert doc.xpath("//dcterms:isReplacedBy/text()", namespaces=NS) == [stays]
    gone = (deleted - {went}).pop()
    doc = await ask(client, verb="GetRecord", metadataPrefix="oai_dc", identifier=gone)
    assert doc.find(".//o:header", NS).get("status") == "deleted"
    assert doc.xpath("//dcterms:isReplacedBy", namespaces=NS) == []
    # selective harvesting by date: the changes are the newest datestamps
    assert before[sanguo].header.datestamp == "2001-09-09T01:46:40Z"
    stamp = "2002-01-01"
    recent = await asyncio.to_thread(
        lambda: list(Sickle(url, max_retries=0).ListIdentifiers(
            metadataPrefix="oai_dc", ignore_deleted=False, **{"from": stamp})))
    assert {went, gone, stays} <= {h.identifier for h in recent}
    honglou = next(i for i, r in before.items() if r.metadata["title"] == ["红楼梦"])
    assert honglou not in {h.identifier for h in recent}  # unchanged since 2001
    with pytest.raises(NoRecordsMatch):
        await asyncio.to_thread(lambda: list(Sickle(url, max_retries=0).ListIdentifiers(
            metadataPrefix="oai_dc", until="1999-12-31")))
    with pytest.raises(IdDoesNotExist):
        await asyncio.to_thread(Sickle(url, max_retries=0).GetRecord,
                                identifier="oai:tongjian:nothing", metadataPrefix="oai_dc")


async def test_a_token_survives_a_restart(world: World, serve) -> None:
    first = await serve(world.app())
    first.app[REPOSITORY].page_size = 2
    doc = await ask(first, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = doc.findtext(".//o:resumptionToken", namespaces=NS)
    seen = doc.xpath("//o:header/o:identifier/text()", namespaces=NS)
    await first.close()
    second = await serve(world.app())  # a new portal process: the key is beside the store
    second.app[REPOSITORY].page_size = 2
    doc = await ask(second, verb="ListIdentifiers", resumptionToken=token)
    assert error(doc) is None
    rest = doc.xpath("//o:header/o:identifier/text()", namespaces=NS)
    assert rest and not set(rest) & set(seen)
    assert doc.find(".//o:resumptionToken", NS).get("cursor") == "2"
    assert Tokens.beside(world.store.path).key == second.app[REPOSITORY].tokens.key


async def test_the_endpoint_can_be_closed_or_kept_to_networks(make_world, serve) -> None:
    off = make_world({**CONFIG, "offer": {"oai": {"enabled": False}}}, records=RECORDS[:1])
    response = await (await serve(off.app())).get("/oai", params={"verb": "Identify"})
    assert response.status == 404
    kept = make_world({**CONFIG, "store": {"path": "kept.db"},
                       "offer": {"oai": {"networks": ["10.0.0.0/8"]}}}, records=RECORDS[:1])
    response = await (await serve(kept.app())).get("/oai", params={"verb": "Identify"})
    assert response.status == 403
    busy = make_world({**CONFIG, "store": {"path": "busy.db"},
                       "offer": {"oai": {"per_minute": 2}}}, records=RECORDS[:1])
    client = await serve(busy.app())
    statuses = [(await client.get("/oai", params={"verb": "Identify"})).status
                for _ in range(3)]
    assert statuses == [200, 200, 503]
    last = await client.get("/oai", params={"verb": "Identify"})
    assert int(last.headers["Retry-After"]) > 0
