"""The 中图法 class number check to three levels (rule clc_invalid): the table is data
(harvest/data/clc_levels.tsv), numbers are judged level by level, and the quality run
reports a record with an invalid third level but not a good deep number."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import parse
from core.model import Holding, Record
from harvest import clc
from harvest import quality_report as qr
from harvest.iso2709 import write
from harvest.quality_marc import clc_problem
from harvest.store import RecordStore

# (class number, the level the table does not have — '' when the number is valid)
LEVELS = [
    # level 1: the 22 letters, nothing else
    ("I", ""), ("T", ""), ("Z", ""), ("M12", "M"), ("L", "L"), ("W1", "W"),
    # level 2: a digit; for T (and DF 法律) a second letter
    ("I2", ""), ("K8", ""), ("TP", ""), ("TB", ""), ("TV", ""), ("DF", ""),
    ("A9", "A9"), ("X6", "X6"), ("TA", "TA"), ("TZ1", "TZ"), ("DG1", "DG"),
    # level 3: two digits; T's letter and one digit
    ("I24", ""), ("G25", ""), ("F26", ""), ("TP3", ""), ("TN9", ""), ("DF5", ""),
    ("G28", "G28"), ("J24", "J24"), ("H38", "H38"), ("TP4", "TP4"), ("TN5", "TN5"),
    # deeper numbers are judged by their first three levels
    ("I242.47", ""), ("TP312", ""), ("K294.1", ""), ("TB484.5", ""), ("Q959.226-49", ""),
    ("G289.1", "G28"), ("TP41", "TP4"),
    # ranges the scheme divides by an auxiliary table (I3/7 各国文学 by 世界地区表)
    ("I313.45", ""), ("I712.45", ""), ("D731.3", ""), ("I8", "I8"),
]


@pytest.mark.parametrize(("number", "missing"), LEVELS)
def test_levels_against_the_table(number: str, missing: str) -> None:
    assert clc.unknown_level(number) == missing
    problem = clc_problem(number)
    assert (missing in problem and "不在《中图法》类目表中" in problem) if missing \
        else problem == ""


@pytest.mark.parametrize("number", ["I29X", "I2Z", "I24247", "TP3.12", "I24 7"])
def test_notation_is_checked_too(number: str) -> None:
    """Letters after the digits, no point after three digits (乾县's habit), a point too
    early: the notation is wrong whatever the levels say."""
    assert clc_problem(number).startswith("标记写法不合规")


def test_levels_are_cut_from_the_notation() -> None:
    assert clc.levels("I242.47") == ["I", "I2", "I24"]
    assert clc.levels("TP312.8") == ["T", "TP", "TP3"]
    assert clc.levels("DF51") == ["D", "DF", "DF5"]
    assert clc.levels("k29") == ["K", "K2", "K29"]
    assert clc.levels("B-4") == ["B"]
    assert clc.levels("（无）") == []


def test_the_table_is_data_with_captions() -> None:
    data = Path(clc.__file__).parent / "data" / "clc_levels.tsv"
    head = data.read_text(encoding="utf-8").split("\nA\t")[0]
    assert "Source:" in head and "php_clc_parser" in head  # where it comes from
    assert clc.caption("I24") == "小说" and clc.caption("I2") == "中国文学"
    assert clc.caption("TS") == "轻工业、手工业、生活服务业"  # 5th edition wording
    assert clc.caption("I3") == "各国文学" and clc.caption("I31") == ""  # the range I3/7
    assert clc.caption("TN9") == ""  # valid (TN91 … TN99 are listed), unnamed
    t = clc.table()
    assert len(t.captions) > 1000 and set("ABCDEFGHIJKNOPQRSTUVXZ") <= set(t.captions)
    assert all(len(clc.levels(code)) <= 3 for code in t.captions)


def _cnmarc(clc_number: str) -> bytes:
    return write("00000nam0 2200000   450 ", [
        ("001", "", "x"),
        ("100", "  ", [("a", "20250301d2024    em y0chiy50      ea")]),
        ("101", "0 ", [("a", "chi")]), ("102", "  ", [("a", "CN"), ("b", "610000")]),
        ("200", "1 ", [("a", "某书"), ("A", "mou shu"), ("f", "某人著")]),
        ("210", "  ", [("a", "西安"), ("c", "某出版社"), ("d", "2024")]),
        ("215", "  ", [("a", "200页")]), ("690", "  ", [("a", clc_number), ("v", "5")]),
        ("701", " 0", [("a", "某人"), ("4", "著")]),
    ], "utf-8")


def test_the_rule_fires_on_an_invalid_third_level_only(tmp_path: Path) -> None:
    config = parse({"libraries": [{"code": "SXPL", "name": "陕西省图书馆",
                                   "level": "province", "region": "西安市"}],
                    "sources": [{"name": "s", "library": "SXPL", "protocol": "oaipmh",
                                 "address": "http://127.0.0.1:9/oai", "format": "cnmarc"}]},
                   tmp_path / "c.yaml")
    numbers = {"good": "I242.47", "third": "G289.1", "letters": "I29X", "range": "I313.45"}
    with RecordStore(tmp_path / "s.db") as store:
        for sid, number in numbers.items():
            store.put(Record("s", sid, "SXPL", format="cnmarc", title="某书", clc=[number],
                             encoding="utf-8",
                             holdings=[Holding("SXPL", call_number=f"{number}/1",
                                               barcode=f"B{sid}")]),
                      _cnmarc(number), "unimarc")
        store.commit()
        qr.compute(store, config=config)
        found = {p.key: p.detail for _, p in qr.problems(store, "SXPL", limit=100)
                 if p.kind == "clc_invalid"}
    assert set(found) == {"s:third", "s:letters"}
    assert "三级类目“G28”" in found["s:third"] and "标记写法" in found["s:letters"]


def test_the_demo_data_has_no_false_findings() -> None:
    """Every class number the demo's generated catalogues carry is valid (the sloppy
    county's faults are made later, by tongjian.generator.habits): a demo summary full of
    false clc_invalid findings would misinform."""
    from harvest.marc import decode_iso2709

    demo = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
    numbers = []
    for path in sorted(demo.glob("*.cnmarc.*.iso")) + sorted(demo.glob("*.marc21.*.mrc")):
        kind = "cnmarc" if ".cnmarc." in path.name else "marc21"
        encoding = "gb18030" if "gb18030" in path.name else "utf-8"
        tag = "690" if kind == "cnmarc" else "084"
        for chunk in path.read_bytes().split(b"\x1d"):
            if chunk.strip():
                marc = decode_iso2709(chunk + b"\x1d", encoding, kind)
                numbers += [v for f in marc.get(tag) for v in f.all("a")]
    assert len(numbers) > 1000
    assert [n for n in numbers if clc_problem(n)] == []
