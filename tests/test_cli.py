"""The `tongjian` command as a user runs it: normalize, config check, and the demo."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.config import parse
from tests.conftest import shared_data
from tongjian.cli import main
from tongjian.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


def tongjian(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tongjian.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_normalize_prints_json_and_reports_bad_records():
    bad = shared_data("marc21_general/pymarc/bad_records.mrc")
    good = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    out = tongjian("normalize", str(bad), str(good))
    assert out.returncode == 0
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3 + 10
    assert lines[3]["title"] == "'94中国发展报告" and lines[3]["isbn"] == ["9787503717444"]
    errors = [line for line in out.stderr.splitlines() if "bad_records.mrc: record" in line]
    assert len(errors) == 5
    assert "record 2 (byte 127): bad leader" in errors[0]


def test_normalize_exits_nonzero_when_nothing_parsed(tmp_path):
    junk = tmp_path / "junk.mrc"
    junk.write_bytes(b"this is not MARC at all\x1d")
    out = tongjian("normalize", str(junk))
    assert out.returncode == 1
    assert "junk.mrc: record 1" in out.stderr and out.stdout == ""


def test_config_check_and_config_errors(tmp_path):
    assert tongjian("config", "check").returncode == 0
    broken = tmp_path / "config.yaml"
    broken.write_text("libraries: []\nsources: []\nportal: {colour: red}\n", encoding="utf-8")
    out = tongjian("--config", str(broken), "config", "check")
    assert out.returncode == 2
    assert f"{broken}: portal: unknown key 'colour'" in out.stderr
    assert "Traceback" not in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_harvests_every_member_and_merges(tmp_path):
    """The README's first command, minus serving: the repository's config.yaml on free
    ports, with state in a temporary folder."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for source in data["sources"]:
        source["address"] = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{_free_port()}",
                                   source["address"])
    data["store"] = {"path": str(tmp_path / "store.db")}
    data["index"]["path"] = str(tmp_path / "index")
    config = parse(data, tmp_path / "config.yaml")
    assert run_demo(config, serve_portal=False) == 0

    from harvest.store import RecordStore
    from index.backend import SearchRequest
    from index.tantivy_backend import TantivyBackend

    store = RecordStore(tmp_path / "store.db")
    counts = store.counts()
    # every kind of member system: Zebra (Z39.50), Symphony, Koha, OAI-PMH
    assert {"sxpl-z3950", "xylib-z3950", "smlib-z3950", "union-symphony", "bjlib-koha",
            "sxpl-dfwx"} <= set(counts)
    assert all(c["records"] > 100 and c["quarantined"] == 0 for n, c in counts.items()
               if n not in ("sxpl-retro", "sxpl-dfwx"))
    assert counts["sxpl-dfwx"]["records"] > 20
    backend = TantivyBackend(tmp_path / "index")
    result = backend.search(SearchRequest(q="红楼梦"))
    held = [h for h in result.hits if len(h.doc["holdings"]) >= 3]
    assert held, "the famous edition is held by many libraries and shown once"
    members = {h["library"] for h in held[0].doc["holdings"]}
    assert members & {"LQLIB", "SYLIB", "QXLIB", "YLLIB"}, "union catalog members show"
    english = backend.search(SearchRequest(q="call of the wild"))
    assert english.total and english.hits[0].doc["title"] == "The call of the wild"
    backend.close()
    # the cataloguing centre's month (issue 16): counties credited with their records,
    # reviews marked, the county's fixes noticed by the second harvest, one confirmed
    from harvest.cataloguing_summary import this_month

    credited = {r.catalogued_by for r in store.records("union-symphony")}
    assert {"LQLIB", "SYLIB", "QXLIB", "YLLIB", "SXPL"} <= credited
    states = [r[9] for r in store.reviews(reviewer="zhongxin")]
    assert states.count("fixed") == 1 and "changed" in states and "open" in states
    assert "ok" in states
    assert {a[0] for a in store.accounts()} >= {"zhongxin", "qianxian"}
    assert store.modified_records_by_month(this_month())  # the edits between harvests
    store.close()


def test_version_names_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"tongjian {version('tongjian')}"


def test_json_log_lines_carry_source_and_record_ids(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from tongjian.logs import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        assert setup_logging("json") == "json"
        logging.getLogger("harvest.pipeline").warning(
            "record quarantined: %s", "bad leader", extra={"source": "xy", "record": "x:7"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        event = json.loads(line)
        assert event["level"] == "warning" and event["logger"] == "harvest.pipeline"
        assert event["message"] == "record quarantined: bad leader"
        assert (event["source"], event["record"]) == ("xy", "x:7")
        with pytest.raises(ValueError, match="plain, json"):
            setup_logging("xml")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
