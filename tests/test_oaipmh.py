"""OAI-PMH connector against a real data provider (pyoai's server, peers.oai_repository)
started per test on a free loopback port, and against real repositories' responses from
../shared/data/oai_pmh replayed verbatim by a tiny HTTP server.

Expected values come from the item table the test built or from the XML files themselves,
never from an earlier run of the connector.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from connectors.base import Checkpoint, RawRecord, Unreachable
from connectors.oaipmh import (
    MAX_RESTARTS,
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoMetadataFormats,
    NoRecordsMatch,
    NoSetHierarchy,
    OAIError,
    OAIPMHConnector,
    format_datestamp,
)
from core.config import Auth, Source
from harvest.crosswalk import from_raw
from peers.oai_repository import DAY, Item, OAIRepository, local_documents
from tests.conftest import shared_data

SEED, COUNT, PAGE = 11, 35, 10
OAI = "{http://www.openarchives.org/OAI/2.0/}"
MARC = "{http://www.loc.gov/MARC21/slim}"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# -- helpers --------------------------------------------------------------------------------

def split(stream: Iterator[RawRecord | Checkpoint]) -> tuple[list[RawRecord], list[Checkpoint]]:
    items = list(stream)
    return ([x for x in items if isinstance(x, RawRecord)],
            [x for x in items if isinstance(x, Checkpoint)])


def records_before_checkpoints(stream: list[RawRecord | Checkpoint]) -> list[int]:
    out, n = [], 0
    for x in stream:
        if isinstance(x, Checkpoint):
            out.append(n)
        else:
            n += 1
    return out


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source(name: str = "dfwx", address: str = "http://x/oai", **kw: object) -> Source:
    return Source(name=name, library="SXL", protocol="oaipmh", address=address, **kw)


@pytest.fixture
def items() -> list[Item]:
    return local_documents(SEED, COUNT)


@pytest.fixture
def repo(items: list[Item]) -> Iterator[OAIRepository]:
    with OAIRepository(items, page_size=PAGE) as r:
        yield r


def connect(repo: OAIRepository, **kw: object) -> OAIPMHConnector:
    return OAIPMHConnector("dfwx", repo.base_url, timeout=5, **kw)  # type: ignore[arg-type]


class Replay:
    """Real responses served verbatim: by resumptionToken, else by verb, else '*'."""

    def __init__(self, routes: dict[str, tuple[int, bytes]]) -> None:
        self.routes = routes
        self.seen: list[dict[str, str]] = []
        self.auth: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                replay.seen.append(query)
                replay.auth.append(self.headers.get("Authorization", ""))
                key = (f"token:{query['resumptionToken']}" if "resumptionToken" in query
                       else query.get("verb", ""))
                status, body = replay.routes.get(key) or replay.routes["*"]
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/oai"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def replay() -> Iterator[type[Replay]]:
    started: list[Replay] = []

    class Started(Replay):
        def __init__(self, routes: dict[str, tuple[int, bytes]]) -> None:
            super().__init__(routes)
            started.append(self)

    yield Started
    for r in started:
        r.close()


def oai_file(relative: str) -> bytes:
    return shared_data(f"oai_pmh/{relative}").read_bytes()


# -- probe verbs -------------------------------------------------------------------------------

def test_identify_formats_and_sets_against_the_real_provider(repo: OAIRepository,
                                                              items: list[Item]) -> None:
    conn = connect(repo)
    identity = conn.identify()
    assert identity.repository_name == repo.repository_name
    assert identity.base_url == repo.base_url
    assert identity.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identity.deleted_record == "persistent"
    earliest = min(i.datestamp for i in items).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert identity.earliest_datestamp == earliest
    assert {f.prefix for f in conn.list_metadata_formats()} == {"oai_dc", "marc21", "marcxml"}
    sets = conn.list_sets()  # 20-odd sets over pages of 10: paged through tokens
    specs = {s.spec for s in sets}
    expected = set()
    for item in items:
        for spec in item.sets:
            parts = spec.split(":")
            expected.update(":".join(parts[:k]) for k in range(1, len(parts) + 1))
    assert specs == expected and len(sets) == len(specs) > PAGE
    assert {s.name for s in sets if s.spec == "xianzhi"} == {"方志"}
    assert any("resumptionToken" in r and r["verb"] == "ListSets" for r in repo.requests)


def test_from_source_reads_config_and_sends_basic_auth(replay: type[Replay],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server = replay({"*": (200, oai_file("sickle/Identify.xml"))})
    monkeypatch.setenv("OAI_USER", "reader")
    monkeypatch.setenv("OAI_PASSWORD", "s3cret-pw")
    src = Source(name="bnu", library="SXL", protocol="oaipmh", address=server.url,
                 record_syntax="marcxml", set="digi", timeout=3.0,
                 auth=Auth(user_env="OAI_USER", password_env="OAI_PASSWORD"))
    conn = OAIPMHConnector.from_source(src)
    assert (conn.name, conn.metadata_prefix, conn.set_spec) == ("bnu", "marc21", "digi")
    assert "s3cret" not in repr(conn)
    identity = conn.identify()  # the real sickle Identify.xml
    assert identity.repository_name == "A Test Repository"
    assert identity.granularity == "YYYY-MM-DD"
    assert identity.admin_emails == ("john.doe@example.com",)
    assert server.auth[-1] == "Basic " + base64.b64encode(b"reader:s3cret-pw").decode()
    conn.close()  # the harvester closes after each run; the connector stays usable
    assert conn.identify().repository_name == "A Test Repository"
    assert OAIPMHConnector.from_source(source(address=server.url)).metadata_prefix == "oai_dc"


# -- harvesting ---------------------------------------------------------------------------------

def test_full_harvest_delivers_every_record_once_with_a_checkpoint_per_page(
        repo: OAIRepository, items: list[Item]) -> None:
    before = now_stamp()
    stream = list(connect(repo).harvest())
    after = now_stamp()
    records = [x for x in stream if isinstance(x, RawRecord)]
    checkpoints = [x for x in stream if isinstance(x, Checkpoint)]
    assert [r.record_id for r in records] == [i.identifier for i in items]
    assert [r.position for r in records] == list(range(1, COUNT + 1))
    assert records_before_checkpoints(stream) == [10, 20, 30, 35]
    assert [c.final for c in checkpoints] == [False, False, False, True]
    for page in checkpoints[:-1]:
        assert page.state["token"] and page.state["from"] is None
        assert page.state["harvest_started"] == checkpoints[-1].state["from"]
    final_from = checkpoints[-1].state["from"]
    assert STAMP.match(final_from) and before <= final_from <= after
    deleted = {i.identifier for i in items if i.deleted}
    assert deleted and {r.record_id for r in records if r.deleted} == deleted
    assert all(r.data == b"" for r in records if r.deleted)
    by_id = {i.identifier: i for i in items}
    for raw in records:
        assert raw.syntax == "oai_dc" and raw.datestamp == by_id[raw.record_id].datestamp \
            .strftime("%Y-%m-%dT%H:%M:%SZ")
        if not raw.deleted:
            assert etree.fromstring(raw.data).tag == "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
            record = from_raw(raw, source())  # the dispatch to the Dublin Core crosswalk
            assert record.title == by_id[raw.record_id].metadata["title"][0]
            assert record.source_id == raw.record_id


def test_incremental_harvest_gets_only_changes_and_deletion_notices(
        repo: OAIRepository, items: list[Item]) -> None:
    conn = connect(repo)
    _, checkpoints = split(conn.harvest())
    live = [i for i in items if not i.deleted]
    changed, gone = live[3].identifier, live[7].identifier
    repo.modify(changed, title="礼泉县志（修订本）")
    repo.delete(gone)
    repo.add({"identifier": "oai:sxlib.tongjian:dfwx-9001", "datestamp": "2024-01-01",
              "sets": ["xianzhi"], "metadata": {"title": "三原县志", "type": "地方志"}})
    records, later = split(conn.harvest(state=checkpoints[-1].state))
    assert repo.requests[-1]["from"] == checkpoints[-1].state["from"]
    assert {r.record_id: r.deleted for r in records} == {
        changed: False, gone: True, "oai:sxlib.tongjian:dfwx-9001": False}
    new_title = {r.record_id: from_raw(r, source()).title for r in records if not r.deleted}
    assert new_title[changed] == "礼泉县志（修订本）"
    assert later[-1].final and later[-1].state["from"] >= checkpoints[-1].state["from"]


def test_day_granularity_repository_is_asked_in_days(items: list[Item]) -> None:
    with OAIRepository(items, page_size=PAGE, granularity=DAY) as repo:
        conn = connect(repo)
        assert conn.identify().granularity == DAY
        records, checkpoints = split(conn.harvest())
        assert all(len(r.datestamp) == 10 for r in records)
        final = checkpoints[-1].state["from"]  # responseDate: always seconds (§3.3.2)
        assert STAMP.match(final)
        live = next(i for i in items if not i.deleted)
        repo.modify(live.identifier, title="新题名")
        changed, _ = split(conn.harvest(state=checkpoints[-1].state))
        # A seconds value would have been refused with badArgument by this repository.
        assert repo.requests[-1]["from"] == final[:10]
        assert live.identifier in {r.record_id for r in changed}


def test_set_harvest_includes_subsets(repo: OAIRepository, items: list[Item]) -> None:
    gazetteers = {i.identifier for i in items if "xianzhi" in i.sets}
    records, _ = split(connect(repo, set_spec="xianzhi").harvest())
    assert {r.record_id for r in records} == gazetteers and 0 < len(gazetteers) < COUNT
    xianyang = {i.identifier for i in items
                if any(s == "xianyang" or s.startswith("xianyang:") for s in i.sets)}
    records, _ = split(connect(repo, set_spec="xianyang").harvest())
    assert {r.record_id for r in records} == xianyang and 0 < len(xianyang) < COUNT
    assert any(":" in s for i in items if i.identifier in xianyang for s in i.sets)


def test_no_records_match_is_an_empty_success(repo: OAIRepository) -> None:
    conn = connect(repo)
    _, checkpoints = split(conn.harvest())
    before = now_stamp()
    stream = list(conn.harvest(state=checkpoints[-1].state))  # nothing changed since
    assert len(stream) == 1 and isinstance(stream[0], Checkpoint) and stream[0].final
    assert before <= stream[0].state["from"] <= now_stamp()
    assert repo.requests[-1]["verb"] == "ListRecords" and "from" in repo.requests[-1]


def test_503_with_retry_after_is_honoured(repo: OAIRepository) -> None:
    repo.fail_next(503, retry_after=1)
    started = time.monotonic()
    records, _ = split(connect(repo).harvest())
    assert time.monotonic() - started >= 1.0
    assert repo.failures_served == 1 and len(records) == COUNT


def test_retry_after_is_capped_and_retries_run_out(repo: OAIRepository) -> None:
    repo.fail_next(503, retry_after=3600)
    started = time.monotonic()
    records, _ = split(connect(repo, max_retry_after=0.2).harvest())
    assert time.monotonic() - started < 5 and len(records) == COUNT
    repo.fail_next(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")  # an HTTP-date, past
    assert len(split(connect(repo).harvest())[0]) == COUNT
    repo.fail_next(503, retry_after=0, count=3)
    with pytest.raises(Unreachable, match="503") as e:
        connect(repo, max_retries=2).identify()
    assert repo.base_url in str(e.value) and repo.failures_served == 5


def test_broken_record_goes_to_on_error_and_the_page_goes_on(repo: OAIRepository,
                                                            items: list[Item]) -> None:
    broken = next(i for n, i in enumerate(items, 1) if n >= 13 and not i.deleted)
    position = items.index(broken) + 1
    repo.break_record(broken.identifier)
    errors: list[tuple[int, str]] = []
    records, _ = split(connect(repo).harvest(on_error=lambda p, why: errors.append((p, why))))
    assert [p for p, _ in errors] == [position]
    assert broken.identifier in errors[0][1] and "text" in errors[0][1]
    assert {r.record_id for r in records} == {i.identifier for i in items} - {broken.identifier}
    assert position not in {r.position for r in records}


def test_server_stopped_mid_harvest_is_unreachable_and_resumes(repo: OAIRepository,
                                                               items: list[Item]) -> None:
    gen = connect(repo).harvest()
    first: list[RawRecord] = []
    for x in gen:
        if isinstance(x, Checkpoint):
            checkpoint = x
            break
        first.append(x)
    repo.stop()
    with pytest.raises(Unreachable) as e:
        next(gen)
    assert repo.base_url in str(e.value) and "refused" in str(e.value)
    repo.start()  # the repository comes back on the same port
    rest, _ = split(connect(repo).harvest(state=checkpoint.state))
    assert [r.record_id for r in first + rest] == [i.identifier for i in items]


def test_timeout_and_refused_connection_are_unreachable() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts into the backlog, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/oai"
        with pytest.raises(Unreachable, match="no answer within 0.3 s"):
            OAIPMHConnector("slow", url, timeout=0.3).identify()
    finally:
        silent.close()
    with pytest.raises(Unreachable, match="refused"):
        OAIPMHConnector("gone", url, timeout=1).identify()


def test_resume_from_a_page_checkpoint_continues_from_its_token(repo: OAIRepository,
                                                               items: list[Item]) -> None:
    full = list(connect(repo).harvest())
    after_two = [x for x in full if isinstance(x, Checkpoint)][1]
    records, checkpoints = split(connect(repo).harvest(state=after_two.state))
    assert [r.record_id for r in records] == [i.identifier for i in items[20:]]
    assert [r.position for r in records] == list(range(21, COUNT + 1))
    assert repo.requests[-2]["resumptionToken"] == after_two.state["token"]
    assert all(r["verb"] == "ListRecords" for r in repo.requests[-2:])
    assert checkpoints[-1].state == {"from": after_two.state["harvest_started"]}


def test_expired_token_restarts_the_window(repo: OAIRepository, items: list[Item]) -> None:
    _, checkpoints = split(connect(repo).harvest())
    repo.expire_tokens()
    records, again = split(connect(repo).harvest(state=checkpoints[0].state))
    assert "resumptionToken" in repo.requests[-5] and "metadataPrefix" in repo.requests[-4]
    assert sorted(r.record_id for r in records) == [i.identifier for i in items]
    assert again[-1].state == {"from": checkpoints[0].state["harvest_started"]}


def test_marc21_records_arrive_as_marcxml() -> None:
    page = etree.fromstring(oai_file("vufindharvest/marc.xml"))
    marc = [r for r in page.iter(f"{MARC}record")][:12]
    titles = [r.findtext(f"{MARC}datafield[@tag='245']/{MARC}subfield[@code='a']") for r in marc]
    items = [Item(f"oai:alma:{n:03d}", datetime(2016, 5, 2), metadata=etree.tostring(r))
             for n, r in enumerate(marc)]
    with OAIRepository(items, page_size=5) as repo:
        records, checkpoints = split(connect(repo, metadata_prefix="marc21").harvest())
        assert len(records) == 12 and len(checkpoints) == 3
        marc_source = source(record_syntax="marcxml")
        for raw, title in zip(records, titles, strict=True):
            assert raw.syntax == "marcxml"
            assert etree.fromstring(raw.data).tag == f"{MARC}record"
            assert from_raw(raw, marc_source).title.startswith(title.rstrip(" /:"))
        dc, _ = split(connect(repo).harvest())  # every item is offered as oai_dc too
        assert from_raw(dc[0], source()).title.startswith(titles[0].rstrip(" /:"))


# -- OAI errors -----------------------------------------------------------------------------------

ERROR_FILES = [
    ("badArgument", BadArgument, ""),
    ("badResumptionToken", BadResumptionToken, "This resumptionToken is invalid"),
    ("cannotDisseminateFormat", CannotDisseminateFormat, ""),
    ("idDoesNotExist", IdDoesNotExist, "has the structure of a valid LOC identifier"),
    ("noSetHierarchy", NoSetHierarchy, "This repository does not support sets"),
]


@pytest.mark.parametrize(("code", "cls", "text"), ERROR_FILES)
def test_each_oai_error_code_is_its_own_exception(replay: type[Replay], code: str,
                                                   cls: type[OAIError], text: str) -> None:
    server = replay({"*": (200, oai_file(f"sickle/{code}.xml"))})
    with pytest.raises(cls) as e:
        OAIPMHConnector("real", server.url).list_sets()
    assert e.value.code == code and isinstance(e.value, OAIError)
    assert text in str(e.value) if text else cls.meaning in str(e.value)


def test_no_records_match_from_a_real_response_ends_at_its_response_date(
        replay: type[Replay]) -> None:
    server = replay({"*": (200, oai_file("sickle/noRecordsMatch.xml"))})
    stream = list(OAIPMHConnector("real", server.url).harvest())
    assert stream == [Checkpoint({"from": "2002-02-08T14:27:19Z"}, final=True)]
    with pytest.raises(NoRecordsMatch):
        OAIPMHConnector("real", server.url).list_sets()


# Written after the error examples in §3.6 of the specification: the shared data has no
# badVerb or noMetadataFormats response.
SPEC_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>'
              b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
              b"<responseDate>2002-05-01T09:18:29Z</responseDate>"
              b"<request>http://arXiv.org/oai2</request>"
              b'<error code="%s">%s</error></OAI-PMH>')


def test_bad_verb_no_metadata_formats_and_unknown_codes(replay: type[Replay]) -> None:
    bad_verb = replay({"*": (200, SPEC_ERROR % (b"badVerb", b"Illegal OAI verb"))})
    with pytest.raises(BadVerb, match="Illegal OAI verb"):
        OAIPMHConnector("s", bad_verb.url).identify()
    no_formats = replay({"*": (200, SPEC_ERROR % (b"noMetadataFormats", b""))})
    with pytest.raises(NoMetadataFormats):
        OAIPMHConnector("s", no_formats.url).list_metadata_formats("oai:x:1")
    unknown = replay({"*": (200, oai_file("vufindharvest/arbitrary_error_response.xml"))})
    with pytest.raises(OAIError) as e:
        OAIPMHConnector("s", unknown.url).identify()
    assert type(e.value) is OAIError and e.value.code == "foo" and "bar" in str(e.value)


def test_error_document_sent_with_http_400_is_still_typed(replay: type[Replay]) -> None:
    server = replay({"*": (400, oai_file("sickle/badArgument.xml"))})
    with pytest.raises(BadArgument):
        OAIPMHConnector("s", server.url).identify()


def test_real_provider_errors(repo: OAIRepository, items: list[Item]) -> None:
    with pytest.raises(CannotDisseminateFormat):
        list(connect(repo, metadata_prefix="mods").harvest())
    with pytest.raises(IdDoesNotExist):
        connect(repo).list_metadata_formats("oai:sxlib.tongjian:nope")
    repo.add(Item("oai:sxlib.tongjian:gone-1", datetime(2020, 1, 1), deleted=True))
    with pytest.raises(NoMetadataFormats):
        connect(repo).list_metadata_formats("oai:sxlib.tongjian:gone-1")
    assert [f.prefix for f in connect(repo).list_metadata_formats(items[0].identifier)] \
        == ["oai_dc"]
    flat = [Item(i.identifier, i.datestamp, (), i.deleted, i.metadata) for i in items[:3]]
    with OAIRepository(flat) as no_sets:
        with pytest.raises(NoSetHierarchy):
            connect(no_sets).list_sets()
        with pytest.raises(NoSetHierarchy):
            list(connect(no_sets, set_spec="xianzhi").harvest())


# -- real repositories' pages ----------------------------------------------------------------------

def test_real_paged_list_with_deletions(replay: type[Replay]) -> None:
    """sickle's recorded ListRecords: four pages chained by tokens naming the next file;
    the last holds a deleted header without identifier, which goes to on_error."""
    pages = ["ListRecords.xml", "ListRecords2.xml", "ListRecords3.xml", "ListRecords4.xml"]
    routes = {"ListRecords": (200, oai_file("sickle/ListRecords.xml"))}
    routes |= {f"token:{p}": (200, oai_file(f"sickle/{p}")) for p in pages[1:]}
    expected: list[tuple[str, bool]] = []
    for p in pages:
        for rec in etree.fromstring(oai_file(f"sickle/{p}")).iter(f"{OAI}record"):
            header = rec.find(f"{OAI}header")
            expected.append((header.findtext(f"{OAI}identifier"),
                             header.get("status") == "deleted"))
    server = replay(routes)
    errors: list[tuple[int, str]] = []
    stream = list(OAIPMHConnector("sickle", server.url).harvest(
        on_error=lambda p, why: errors.append((p, why))))
    records = [x for x in stream if isinstance(x, RawRecord)]
    no_id = [n for n, (identifier, _) in enumerate(expected, 1) if not identifier]
    assert no_id and [p for p, _ in errors] == no_id and "identifier" in errors[0][1]
    assert [(r.record_id, r.deleted) for r in records] == [e for e in expected if e[0]]
    assert any(d for _, d in expected) and records_before_checkpoints(stream) == [2, 4, 6, 7]
    assert [q.get("resumptionToken") for q in server.seen] == [None, *pages[1:]]
    assert stream[-1] == Checkpoint({"from": "2013-02-27T09:10:56Z"}, final=True)


def test_empty_token_ends_the_list(replay: type[Replay]) -> None:
    """traject's pair: the second page carries an empty resumptionToken (§3.5)."""
    server = replay({
        "ListRecords": (200, oai_file("traject/oai-pmh-one-record-first.xml")),
        "token:dummy_resumption": (200, oai_file("traject/oai-pmh-one-record-2.xml"))})
    records, checkpoints = split(OAIPMHConnector("t", server.url).harvest())
    assert len(records) == 2 and [c.final for c in checkpoints] == [False, True]


def test_dspace_deletions_counted_from_the_file(replay: type[Replay]) -> None:
    data = oai_file("pyoai/00002.xml")
    headers = list(etree.fromstring(data).iter(f"{OAI}header"))
    server = replay({"*": (200, data)})
    records, _ = split(OAIPMHConnector("eur", server.url).harvest())
    assert len(records) == len(headers)
    deleted = sum(h.get("status") == "deleted" for h in headers)
    assert deleted and sum(r.deleted for r in records) == deleted


def test_alma_marc_page_then_expired_token(replay: type[Replay]) -> None:
    """Alma's marc21 page, whose token the repository then refuses every time: the window
    is restarted MAX_RESTARTS times, no record is delivered twice, and then it gives up."""
    page = oai_file("vufindharvest/marc.xml")
    server = replay({"ListRecords": (200, page),
                     "token:fakeresumptiontoken":
                         (200, oai_file("vufindharvest/token_error_response.xml"))})
    delivered: list[RawRecord] = []
    with pytest.raises(BadResumptionToken, match="Invalid or expired"):
        for x in OAIPMHConnector("alma", server.url, "marc21").harvest():
            if isinstance(x, RawRecord):
                delivered.append(x)
    expected = [h.text for h in etree.fromstring(page).iter(f"{OAI}identifier")]
    assert [r.record_id for r in delivered] == expected and len(expected) == 100
    assert all(r.syntax == "marcxml" for r in delivered)
    assert sum("resumptionToken" not in q for q in server.seen) == MAX_RESTARTS + 1


def test_forbidden_control_characters_are_dropped(replay: type[Replay]) -> None:
    data = oai_file("sickle/ListRecords4.xml").replace(b"Sample Title", b"Sample\x0b Title", 1)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(data)
    server = replay({"*": (200, data)})
    records, _ = split(OAIPMHConnector("s", server.url).harvest())
    titles = [from_raw(r, source()).title for r in records if not r.deleted]
    assert titles == ["Sample Title"]


# -- digitized objects -----------------------------------------------------------------------------

def test_objects_are_served_from_the_item_table_only(repo: OAIRepository,
                                                     items: list[Item]) -> None:
    item = next(i for i in items if not i.deleted and {"pdf", "jpg"} <= set(i.objects))
    base = f"{repo.root_url}/objects/{item.object_id}"
    pdf, jpg = requests.get(base + ".pdf", timeout=5), requests.get(base + ".jpg", timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert jpg.headers["Content-Type"] == "image/jpeg"
    assert jpg.content[:2] == b"\xff\xd8" and jpg.content[-2:] == b"\xff\xd9"
    png_item = next(i for i in items if not i.deleted and "png" in i.objects)
    png = requests.get(f"{repo.root_url}/objects/{png_item.object_id}.png", timeout=5)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert requests.get(base + ".png", timeout=5).status_code == 404  # not one of its types
    repo.delete(item.identifier)
    assert requests.get(base + ".pdf", timeout=5).status_code == 404
    host = http.client.HTTPConnection("127.0.0.1", repo.port, timeout=5)
    for path in ("/objects/../../../etc/passwd.pdf", "/objects/%2e%2e%2fetc%2fpasswd.pdf",
                 "/objects//etc/passwd.pdf", "/objects/unknown-id.pdf", "/etc/passwd"):
        host.request("GET", path)
        response = host.getresponse()
        assert response.status == 404 and b"root:" not in response.read(), path
    host.close()


def test_format_datestamp_in_the_repository_granularity() -> None:
    assert format_datestamp("2024-05-01T10:11:12Z", DAY) == "2024-05-01"
    assert format_datestamp("2024-05-01", "YYYY-MM-DDThh:mm:ssZ") == "2024-05-01T00:00:00Z"
    assert format_datestamp("2021-08-04T15:50:57+0800",
                            "YYYY-MM-DDThh:mm:ssZ") == "2021-08-04T07:50:57Z"
    with pytest.raises(ValueError):
        format_datestamp("last Tuesday", DAY)


def test_bad_base_url_is_refused_before_any_request() -> None:
    for bad in ("ftp://example.org/oai", "javascript:alert(1)", "example.org/oai"):
        with pytest.raises(ValueError):
            OAIPMHConnector("x", bad)

