"""`tongjian source probe` against real Zebra servers in each flavour and encoding, and
against wrong addresses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from core.config import parse
from tests.conftest import shared_data
from tongjian.probe import probe
from tongjian.zebra import RecordFile, ZebraServer

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"


@pytest.mark.parametrize(
    ("flavour", "file", "encoding", "expect_flavour", "expect_encoding", "expect_syntax"),
    [
        ("unimarc", DEMO / "SXPL.cnmarc.utf8.iso", "utf-8", "cnmarc", "utf-8", "unimarc"),
        ("unimarc", DEMO / "XYLIB.cnmarc.gb18030.iso", "gb18030", "cnmarc", "gb18030",
         "unimarc"),
        ("marc21", DEMO / "SMLIB.marc21.utf8.mrc", "utf-8", "marc21", "utf-8", "usmarc"),
        ("marc21", "shared:marc21_general/evergreen/jazz_1k.mrc", "marc-8", "marc21", "marc-8",
         "usmarc"),
    ],
)
def test_probe_reports_flavour_encoding_and_a_working_config_block(
        tmp_path, flavour, file, encoding, expect_flavour, expect_encoding, expect_syntax):
    path = shared_data(file[7:]) if isinstance(file, str) else file
    with ZebraServer(tmp_path / "z", flavour, [RecordFile(path, encoding)]) as zebra:
        report = probe(zebra.address)
    assert report.ok, report.render()
    block = report.source_block
    assert (block["format"], block["encoding"], block["record_syntax"]) == (
        expect_flavour, expect_encoding, expect_syntax)
    facts = dict(report.facts)
    assert "yes" in facts["full harvest"]
    assert "title (4)" in facts["search attributes"]
    assert report.sample and report.sample["title"]
    # the printed block is valid config once a name and library are filled in
    text = report.render()
    pasted = yaml.safe_load(text.split("set `library:`:\n", 1)[1])[0]
    pasted.update(name="new-county", library="L")
    config = parse({"libraries": [{"code": "L", "name": "县馆", "region": "咸阳市",
                                   "level": "county"}], "sources": [pasted]}, Path("c.yaml"))
    assert config.sources[0].encoding == expect_encoding


def test_probe_wrong_addresses_say_what_is_wrong(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    report = probe(f"127.0.0.1:{closed}/Default", timeout=2)
    assert not report.ok and "refused the connection" in report.problems[0]
    report = probe("no-such-host.invalid:210/Default", timeout=2)
    assert not report.ok and "does not resolve" in report.problems[0]
    report = probe("127.0.0.1:abc/Default")
    assert "not a number" in report.problems[0]
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    with ZebraServer(tmp_path / "z", "unimarc", [data]) as zebra:
        report = probe(f"127.0.0.1:{zebra.port}/Nope")
    assert not report.ok and "database 'Nope' is unknown" in report.problems[0]


def test_probe_http_server_that_is_not_z3950(tmp_path):
    """A port that speaks something else (here: a plain TCP listener that closes)."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        report = probe(f"127.0.0.1:{port}/Default", timeout=1)
    assert not report.ok
    assert report.problems and "Z39.50" in report.problems[0]
