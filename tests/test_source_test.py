"""`tongjian source test NAME`: records through the real pipeline, with problems flagged."""

from __future__ import annotations

from pathlib import Path

from core.config import parse
from tests.conftest import shared_data
from tongjian.source_test import render, sample
from tongjian.zebra import ZebraServer


def _config(address: str, holdings: list | None = None):
    source = {"name": "t", "library": "L", "protocol": "z3950", "address": address,
              "record_syntax": "unimarc"}
    if holdings is not None:
        source["holdings"] = holdings
    return parse({"libraries": [{"code": "L", "name": "馆", "region": "西安市",
                                 "level": "city"}], "sources": [source]}, Path("c.yaml"))


def test_wrong_holdings_map_is_flagged_and_right_one_is_not(tmp_path):
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso")
    with ZebraServer(tmp_path / "z", "unimarc", [data]) as zebra:
        wrong = _config(zebra.address, [{"tag": "852", "barcode": "p"}]).source("t")
        samples = sample(wrong, count=3)
        right = _config(zebra.address, [{"tag": "905", "call_number": "s"},
                                        {"tag": "906", "barcode": "b"}]).source("t")
        good = sample(right, count=3)
    assert len(samples) == 3 and all(s.record for s in samples)
    assert all(any("no holdings found in 852" in f for f in s.flags) for s in samples)
    assert all("fields not mapped" in " ".join(s.flags) and "905" in " ".join(s.flags)
               for s in samples)
    assert not any("no holdings" in f for s in good for f in s.flags)
    text = render(right, good)
    assert "'94中国发展报告" in text and "200 1  $a'94中国发展报告" in text
    assert "holding    L | " in text
