"""Z39.50/SRU connector against real servers: Zebra (tongjian.zebra) and yaz-ztest.

Each server is started once per module on a free loopback port; all of them together
start in well under a second.  Expected counts are computed from the input files
where the rule is simple, so the tests check Zebra's answers against the data rather
than against numbers copied from an earlier run.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import ConnectorError, Diagnostic, NotOffered, RawRecord, Unreachable
from connectors.z3950 import Z3950Connector, build_pqf, parse_opac, pqf_quote
from core.status import AVAILABLE, LIBRARY_USE_ONLY, ON_LOAN, UNAVAILABLE, UNKNOWN, Status
from tests.conftest import free_port, shared_data
from tongjian.zebra import RecordFile, ZebraError, ZebraServer

pytestmark = pytest.mark.skipif(
    not (shutil.which("zebraidx") and shutil.which("zebrasrv")),
    reason="Zebra (idzebra-2.0) is not installed",
)

MARCCOL1 = "marc21_cjk/yaz/marccol1.u8.marc"
DP2_UTF8 = "derived/dp2_cnmarc_10recs.utf8.iso"


# -- ISO 2709 helpers, independent of the product code under test -----------------------

def _records(stream) -> list[RawRecord]:
    """The records of a harvest stream, without its checkpoints."""
    return [x for x in stream if isinstance(x, RawRecord)]

def split_iso2709(data: bytes) -> list[bytes]:
    return [chunk + b"\x1d" for chunk in data.split(b"\x1d") if chunk.strip()]


def iso2709_fields(record: bytes) -> list[tuple[str, bytes]]:
    base = int(record[12:17])
    directory = record[24 : base - 1]
    out = []
    for k in range(0, len(directory), 12):
        entry = directory[k : k + 12]
        length, start = int(entry[3:7]), base + int(entry[7:12])
        out.append((entry[:3].decode(), record[start : start + length]))
    return out


def transcode_iso2709(record: bytes, encoding: str) -> bytes:
    """Re-encode a UTF-8 record's fields and recompute the leader and directory lengths."""
    directory, body = b"", b""
    for tag, data in iso2709_fields(record):
        data = data.decode("utf-8").encode(encoding)
        directory += f"{tag}{len(data):04d}{len(body):05d}".encode()
        body += data
    base = 24 + len(directory) + 1
    leader = f"{base + len(body) + 1:05d}".encode() + record[5:12] + f"{base:05d}".encode() \
        + record[17:24]
    return leader + directory + b"\x1e" + body + b"\x1d"


def count_records(records: list[bytes], tag: str, needle: str) -> int:
    return sum(any(t == tag and needle.encode() in d for t, d in iso2709_fields(r))
               for r in records)


# -- servers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def marccol1() -> list[bytes]:
    return split_iso2709(shared_data(MARCCOL1).read_bytes())


@pytest.fixture(scope="module")
def dp2() -> list[bytes]:
    return split_iso2709(shared_data(DP2_UTF8).read_bytes())


@pytest.fixture(scope="module")
def marc21_zebra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    path = shared_data(MARCCOL1)
    with ZebraServer(tmp_path_factory.mktemp("zebra-marc21"), "marc21", [path]) as server:
        yield server


@pytest.fixture(scope="module")
def cnmarc_zebra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    path = shared_data(DP2_UTF8)
    with ZebraServer(tmp_path_factory.mktemp("zebra-cnmarc"), "unimarc", [path]) as server:
        yield server


@pytest.fixture(scope="module")
def dp2_gb18030(dp2: list[bytes]) -> list[bytes]:
    return [transcode_iso2709(r, "gb18030") for r in dp2]


@pytest.fixture(scope="module")
def gb18030_zebra(dp2_gb18030: list[bytes],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZebraServer]:
    work = tmp_path_factory.mktemp("zebra-gb18030")
    path = work / "dp2.gb18030.iso"
    path.write_bytes(b"".join(dp2_gb18030))
    files = [RecordFile(path, "gb18030")]
    with ZebraServer(work / "server", "unimarc", files) as server:
        yield server


# -- harvest: every record, byte for byte ------------------------------------------------
def test_harvest_marc21_utf8_returns_input_bytes(marc21_zebra: ZebraServer,
                                                 marccol1: list[bytes]) -> None:
    assert marc21_zebra.indexed == {shared_data(MARCCOL1): 19}
    with Z3950Connector("smlib", marc21_zebra.address, "usmarc", batch_size=5) as conn:
        records = _records(conn.harvest())
    assert len(marccol1) == 19
    assert [r.position for r in records] == list(range(1, 20))
    assert [r.data for r in records] == marccol1
    assert {r.syntax for r in records} == {"usmarc"}
    assert {r.source for r in records} == {"smlib"}


def test_harvest_checkpoints_and_resume(marc21_zebra: ZebraServer,
                                        marccol1: list[bytes]) -> None:
    from connectors.base import Checkpoint

    with Z3950Connector("smlib", marc21_zebra.address, "usmarc", batch_size=5) as conn:
        stream = list(conn.harvest())
        marks = [x for x in stream if isinstance(x, Checkpoint)]
        assert [m.state["position"] for m in marks] == [5, 10, 15, 19, 19]
        assert [m.final for m in marks] == [False] * 4 + [True]
        # resume after the second batch: only records 11-19 come again
        resumed = _records(conn.harvest(state=marks[1].state))
    assert [r.position for r in resumed] == list(range(11, 20))
    assert [r.data for r in resumed] == marccol1[10:]


def test_harvest_cnmarc_utf8_in_unimarc_syntax(cnmarc_zebra: ZebraServer,
                                               dp2: list[bytes]) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc", batch_size=4) as conn:
        records = _records(conn.harvest())
    assert [r.data for r in records] == dp2
    assert {r.syntax for r in records} == {"unimarc"}  # the server said UNIMARC, not 238


def test_harvest_cnmarc_gb18030_returns_input_bytes(gb18030_zebra: ZebraServer,
                                                    dp2: list[bytes],
                                                    dp2_gb18030: list[bytes]) -> None:
    assert dp2_gb18030 != dp2  # really a different byte encoding
    with Z3950Connector("xylib", gb18030_zebra.address, "unimarc") as conn:
        records = _records(conn.harvest())
    assert [r.data for r in records] == dp2_gb18030


def test_gb18030_records_become_utf8_marcxml(gb18030_zebra: ZebraServer) -> None:
    with Z3950Connector("xylib", gb18030_zebra.address, "marcxml") as conn:
        records = _records(conn.harvest())
    assert len(records) == 10
    assert all("中国发展".encode() in r.data for r in records)  # UTF-8, not GB18030


def test_unimarc_server_also_serves_usmarc(cnmarc_zebra: ZebraServer, dp2: list[bytes]) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address, "usmarc") as conn:
        assert [r.data for r in _records(conn.harvest())] == dp2


def test_marc21_server_refuses_unimarc(marc21_zebra: ZebraServer) -> None:
    with (Z3950Connector("smlib", marc21_zebra.address, "unimarc") as conn,
          pytest.raises(Diagnostic) as info):
        _records(conn.harvest())
    assert info.value.code == 239  # record syntax not supported


def test_bad_records_are_reported_and_the_harvest_goes_on(marc21_zebra: ZebraServer) -> None:
    """Per-record (surrogate) diagnostics go to on_error; nothing is raised."""
    errors: list[tuple[int, str]] = []
    with Z3950Connector("smlib", marc21_zebra.address, "usmarc", batch_size=8,
                        element_set="nosuch") as conn:
        records = _records(conn.harvest(on_error=lambda pos, why: errors.append((pos, why))))
    assert records == []
    assert [pos for pos, _ in errors] == list(range(1, 20))
    assert all("diagnostic 25" in why for _, why in errors)


# -- searching ----------------------------------------------------------------------------
def test_title_search_marc21_matches_data(marc21_zebra: ZebraServer,
                                          marccol1: list[bytes]) -> None:
    expected = sum(b"chinese" in d.lower() for r in marccol1
                   for t, d in iso2709_fields(r) if t == "245")
    assert expected == 2
    with Z3950Connector("smlib", marc21_zebra.address) as conn:
        assert conn.search("Chinese", "title") == expected
        assert conn.search("中国", "any") > 0  # 880 vernacular fields, ICU-segmented


@pytest.mark.parametrize(
    ("field", "text", "tag", "needle"),
    [
        ("title", "中国", "200", "中国"),
        ("author", "叶震", "701", "叶震"),
        ("isbn", "7-5037-2623-7", "010", "7-5037-2623-7"),
        ("subject", "经济发展", "606", "经济发展"),
    ],
)
def test_cnmarc_field_search_matches_data(cnmarc_zebra: ZebraServer, dp2: list[bytes],
                                          field: str, text: str, tag: str,
                                          needle: str) -> None:
    expected = count_records(dp2, tag, needle)
    assert expected > 0  # the case must be able to fail
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc") as conn:
        assert conn.search(text, field) == expected  # type: ignore[arg-type]
        records = conn.fetch()
    assert all(any(t == tag and needle.encode() in d for t, d in iso2709_fields(r.data))
               for r in records)


def test_cnmarc_clc_and_traditional_chinese(cnmarc_zebra: ZebraServer, dp2: list[bytes]) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc") as conn:
        assert conn.search_pqf("@attr 1=20 F124") == count_records(dp2, "690", "F124") == 9
        assert conn.search("中國", "title") == 10  # folded to 中国
        assert conn.search("中国 发展报告", "title") == 10  # words ANDed
        assert conn.search("中国 没有这个词", "title") == 0


def test_gb18030_records_are_word_indexed(gb18030_zebra: ZebraServer) -> None:
    with Z3950Connector("xylib", gb18030_zebra.address, "unimarc") as conn:
        assert conn.search("发展", "title") == 10
        assert conn.search("叶震", "author") == 1


# -- PQF safety -----------------------------------------------------------------------------
def test_pqf_quoting_escapes_quote_backslash_and_at() -> None:
    assert pqf_quote('a"b') == r'"a\"b"'
    assert pqf_quote("a\\b") == r'"a\\b"'
    assert pqf_quote("@1=4") == r'"\@1=4"'
    assert build_pqf("中国 history", "title") == '@and @attr 1=4 "中国" @attr 1=4 "history"'
    assert build_pqf('x " y', "author") == '@and @attr 1=1003 "x" @attr 1=1003 "y"'
    assert build_pqf('《中国》 "a\\b"', "any") == r'@and @attr 1=1016 "中国" @attr 1=1016 "a\\b"'
    with pytest.raises(ValueError):
        build_pqf(' " \\ ', "any")
    with pytest.raises(ValueError):
        build_pqf("x", "publisher")


@pytest.mark.parametrize("text", ['Handa"', '"Handa"', "Handa\\", "\\Handa", 'Handa\\"',
                                  "“Handa”", "Handa."])
def test_quotes_and_backslashes_in_user_text(marc21_zebra: ZebraServer, text: str) -> None:
    with Z3950Connector("smlib", marc21_zebra.address) as conn:
        assert conn.search(text, "title") == conn.search("Handa", "title") == 1
        assert conn.search(f'Han"d\\a{text}', "title") == 0  # inner quote/backslash: valid PQF


def test_chinese_title_marks_are_not_part_of_the_word(cnmarc_zebra: ZebraServer) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc") as conn:
        assert conn.search("《中国发展报告》", "title") == 10


def test_user_text_cannot_inject_pqf_operators(marc21_zebra: ZebraServer) -> None:
    with Z3950Connector("smlib", marc21_zebra.address) as conn:
        assert conn.search("chinese", "title") == 2
        # Pasted unquoted into PQF, user text can swap the use attribute (any, not
        # title) or break the query; quoted, it is only words that must all occur.
        text = "@attr 1=1016 1968"
        assert conn.search_pqf(f"@attr 1=4 {text}") > 0
        assert conn.search(text, "title") == 0
        text = 'zzz" @or @attr 1=4 "chinese'
        with pytest.raises(ConnectorError, match="Invalid query"):
            conn.search_pqf(f'@attr 1=4 "{text}"')
        assert conn.search(text, "title") == 0


# -- batches ----------------------------------------------------------------------------------
def test_batch_fetch_returns_each_record_once(cnmarc_zebra: ZebraServer, dp2: list[bytes]) -> None:
    log_start = cnmarc_zebra.log_path.stat().st_size
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc", batch_size=3) as conn:
        assert conn.search("中国", "title") == 10
        everything = conn.fetch()
        middle = conn.fetch(4, 5)
    assert [r.position for r in everything] == list(range(1, 11))
    assert sorted(r.data for r in everything) == sorted(dp2)
    assert [r.position for r in middle] == [4, 5, 6, 7, 8]
    # The server saw presents of at most 3 records: 1+3, 4+3, 7+3, 10+1, then 4+3, 7+2.
    with cnmarc_zebra.log_path.open("rb") as log:
        log.seek(log_start)
        presents = re.findall(rb"Present OK .*? (\d+)\+(\d+)", log.read())
    assert presents == [(b"1", b"3"), (b"4", b"3"), (b"7", b"3"), (b"10", b"1"),
                        (b"4", b"3"), (b"7", b"2")]


def test_fetch_before_search_is_an_error(cnmarc_zebra: ZebraServer) -> None:
    with (Z3950Connector("sxpl", cnmarc_zebra.address) as conn,
          pytest.raises(ConnectorError, match="before search")):
        conn.fetch()


# -- errors -------------------------------------------------------------------------------------
def test_unsupported_use_attribute_raises_diagnostic(cnmarc_zebra: ZebraServer) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address) as conn:
        with pytest.raises(Diagnostic) as info:
            conn.search_pqf("@attr 1=9999 x")
        assert info.value.code == 114
        assert info.value.addinfo == "9999"
        assert conn.search("中国", "title") == 10  # the session survives a diagnostic


def test_unknown_database_raises_diagnostic_109(ztest: str) -> None:
    with (Z3950Connector("ztest", f"{ztest}/NoSuchDb") as conn,
          pytest.raises(Diagnostic) as info):
        conn.search("anything")
    assert info.value.code == 109
    with Z3950Connector("ztest", f"{ztest}/Default") as conn:
        assert conn.search_pqf("@attr 1=4 7") == 7  # yaz-ztest: a numeric term = hits


def test_closed_port_is_unreachable_at_once() -> None:
    port = free_port()  # bound and released: nothing listens there now
    started = time.monotonic()
    with (Z3950Connector("down", f"127.0.0.1:{port}/Default", timeout=5,
                         password="s3cret") as conn,
          pytest.raises(Unreachable) as info):
        conn.search("x")
    assert time.monotonic() - started < 1
    assert "s3cret" not in str(info.value) and "s3cret" not in repr(conn)


def test_silent_server_times_out_after_the_timeout() -> None:
    with socket.socket() as listener:  # accepts TCP, never answers the Init
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with (Z3950Connector("slow", f"127.0.0.1:{port}/Default", timeout=1) as conn,
              pytest.raises(Unreachable, match="Timeout")):
            conn.search("x")
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3


# -- MARCXML and SRU --------------------------------------------------------------------------
def _controlfield_001(xml: bytes) -> bytes:
    match = re.search(rb'<controlfield tag="001">([^<]*)</controlfield>', xml)
    assert match, xml[:200]
    return match.group(1)


def _ids(records: list[bytes]) -> list[bytes]:
    return [d.rstrip(b"\x1e") for r in records for t, d in iso2709_fields(r) if t == "001"]


def test_marcxml_over_z3950(cnmarc_zebra: ZebraServer, dp2: list[bytes]) -> None:
    with Z3950Connector("sxpl", cnmarc_zebra.address, "marcxml") as conn:
        records = _records(conn.harvest())
    assert {r.syntax for r in records} == {"marcxml"}
    assert [_controlfield_001(r.data) for r in records] == _ids(dp2)
    assert "中国发展报告".encode() in records[0].data
    assert all(b"idzebra" not in r.data for r in records)  # clean MARCXML, no server extras


@pytest.mark.parametrize("method", ["get", "post", "soap"])
def test_sru_on_the_same_port(cnmarc_zebra: ZebraServer, dp2: list[bytes], method: str) -> None:
    with Z3950Connector("sxpl-sru", cnmarc_zebra.address, "marcxml", protocol="sru",
                        sru_method=method, batch_size=4) as conn:  # type: ignore[arg-type]
        assert conn.address == cnmarc_zebra.sru_url
        records: list[RawRecord] = _records(conn.harvest())  # PQF via x-pquery
        assert [r.position for r in records] == list(range(1, 11))
        assert [_controlfield_001(r.data) for r in records] == _ids(dp2)
        assert conn.search_cql("dc.title=中国") == 10
        assert conn.search_cql('bath.isbn="7-5037-2623-7"') == 2
        assert conn.search_cql("cql.allRecords=1") == 10
        assert conn.search("叶震", "author") == 1
        with pytest.raises(Diagnostic) as info:
            conn.search_pqf("@attr 1=9999 x")
    assert info.value.code == "info:srw/diagnostic/1/16"


def test_sru_requires_an_xml_syntax() -> None:
    with pytest.raises(ValueError, match="XML"):
        Z3950Connector("s", "127.0.0.1:1/Default", "usmarc", protocol="sru")


# -- live item status: OPAC records ----------------------------------------------------------
def test_opac_circulation_records() -> None:
    xml = b"""<opacRecord><bibliographicRecord/><holdings>
      <holding><localLocation>\xe4\xb9\xa6\xe5\xba\x93</localLocation><callNumber>I242/1</callNumber>
        <circulations>
          <circulation><availableNow value="1"/><itemId>B1</itemId></circulation>
          <circulation><availableNow value="0"/><availabilityDate>20261201</availabilityDate>
            <itemId>B2</itemId></circulation>
          <circulation><availableNow value="1"/>
            <restrictions>\xe9\x98\x85\xe8\xa7\x88</restrictions><itemId>B3</itemId>
          </circulation>
          <circulation><availableNow value="0"/><itemId>B4</itemId></circulation>
          <circulation><itemId>B5</itemId></circulation>
        </circulations></holding></holdings></opacRecord>"""
    items = {i.barcode: i for i in parse_opac(xml)}
    assert items["B1"].status == Status(AVAILABLE) and items["B1"].location == "书库"
    assert items["B2"].status == Status(ON_LOAN, "2026-12-01")
    assert items["B3"].status == Status(LIBRARY_USE_ONLY)  # 阅览 restricts an available copy
    assert items["B4"].status == Status(UNAVAILABLE)
    assert items["B5"].status == Status(UNKNOWN)  # no availableNow, no words: not available



def test_item_statuses_from_an_opac_record(ztest: str) -> None:
    # yaz-ztest's OPAC records carry one copy, itemId 1226176, available now; a local
    # number of 0 finds nothing
    with Z3950Connector("ztest", f"{ztest}/Default") as conn:
        (item,) = conn.item_statuses("11224466") or ()
        assert conn.item_statuses("0") is None
    assert (item.barcode, item.status) == ("1226176", Status(AVAILABLE))
    assert "availableNow=1" in item.raw and item.call_number == "MLCM 89/00602 (N)"


def test_server_without_opac_records_does_not_offer_live_status(
        cnmarc_zebra: ZebraServer, dp2: list[bytes]) -> None:
    local_number = _ids(dp2)[0].decode()
    with Z3950Connector("sxpl", cnmarc_zebra.address, "unimarc") as conn:
        with pytest.raises(NotOffered):  # Zebra has the record, but not as OPAC (Bib-1 239)
            conn.item_statuses(local_number)
        assert conn.search("中国", "title") == 10  # the search connection is untouched
    with (Z3950Connector("sxpl-sru", cnmarc_zebra.address, "marcxml", protocol="sru") as sru,
          pytest.raises(NotOffered)):
        sru.item_statuses("1")


# -- the Zebra harness itself -----------------------------------------------------------------
def test_zebra_stop_frees_the_port(tmp_path: Path) -> None:
    path = shared_data(DP2_UTF8)
    server = ZebraServer(tmp_path, "unimarc", [path]).start()
    port = server.port
    assert server.address == f"127.0.0.1:{port}/Default"
    with Z3950Connector("sxpl", server.address) as conn:
        assert conn.search("中国", "title") == 10
    assert server.running
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2  # SIGTERM was enough
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_zebra_rejects_a_file_that_is_not_iso2709(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mrc"
    junk.write_bytes(b"this is not a MARC record\n" * 10)
    server = ZebraServer(tmp_path / "w", "marc21", [junk])
    with pytest.raises(ZebraError, match="junk.mrc"):
        server.start()
    with pytest.raises(ZebraError, match="not started"):
        _ = server.port  # nothing is left running


def test_zebra_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ZebraError, match="nope.mrc"):
        ZebraServer(tmp_path, "marc21", [tmp_path / "nope.mrc"]).start()


def test_zebra_port_in_use_fails_cleanly(tmp_path: Path) -> None:
    path = shared_data(DP2_UTF8)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        server = ZebraServer(tmp_path, "unimarc", [path], port=port, startup_timeout=5)
        with pytest.raises(ZebraError, match=f"port {port}"):
            server.start()
    assert not server.running  # zebrasrv was started, failed, and has been stopped
