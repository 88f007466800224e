"""Malformed input: each bad record is quarantined with its reason and raw bytes, and every
good record around it still goes through."""

from __future__ import annotations

import pytest

from connectors.base import RawRecord
from core.config import Source
from harvest import iso2709
from harvest.marc import decode_iso2709
from harvest.pipeline import HarvestStats, ingest
from harvest.readers import read
from harvest.store import RecordStore
from tests.conftest import shared_data


@pytest.fixture
def good() -> list[bytes]:
    data = shared_data("derived/dp2_cnmarc_10recs.utf8.iso").read_bytes()
    return [chunk for _, chunk in iso2709.split_records(data)]


def _gb18030(chunk: bytes) -> bytes:
    m = decode_iso2709(chunk)
    fields = [(f.tag, "", f.value) if f.value is not None else (f.tag, f.ind1 + f.ind2,
              f.subfields) for f in m.fields]
    return iso2709.write(m.leader, fields, "gb18030")


def _invalid_utf8(chunk: bytes) -> bytes:
    i = chunk.index("中国".encode())
    return chunk[:i] + b"\xff\xfe" + chunk[i + 2:]


def _bad_directory(chunk: bytes) -> bytes:
    return chunk[:30] + b"X" + chunk[31:]  # inside the first directory entry's length


def test_file_with_each_kind_of_damage(good):
    truncated = good[1][: len(good[1]) // 2]  # no terminator: runs into the next record
    stream = b"".join([
        good[0],
        truncated,
        good[2],
        b"0x9zz" + good[3][5:],  # bad leader: record length not numeric
        good[4],
        _bad_directory(good[5]),
        good[6],
        _invalid_utf8(good[7]),
        good[8],
    ])
    parsed = list(read(stream))
    errors = {p.position: p.error for p in parsed if p.marc is None}
    ok = [p for p in parsed if p.marc is not None]
    assert len(ok) == 5, errors  # good[0], [2], [4], [6], [8]
    reasons = list(errors.values())
    assert any(r.startswith("truncated record") for r in reasons)
    assert any(r.startswith("bad leader") for r in reasons)
    assert any(r.startswith("bad directory") for r in reasons)
    # invalid UTF-8 in a CNMARC record that is not GB18030 either
    assert any("invalid UTF-8" in r and "field 200" in r for r in reasons), reasons
    # the raw bytes of every bad record are kept exactly
    bad_raw = [p.raw for p in parsed if p.marc is None]
    assert truncated in bad_raw and _invalid_utf8(good[7]) in bad_raw


def test_wrong_declared_encoding_is_quarantined_and_harvest_goes_on(tmp_path, good):
    source = Source(name="xy", library="XYLIB", protocol="z3950", address="x",
                    encoding="utf-8", format="cnmarc")
    raws = [good[0], _gb18030(good[1]), good[2], _invalid_utf8(good[3]), good[4]]
    store = RecordStore(tmp_path / "s.db")
    stats = HarvestStats("xy")
    ingest(source, [RawRecord("xy", i + 1, d, "unimarc") for i, d in enumerate(raws)],
           store, stats)
    assert (stats.new, stats.quarantined) == (3, 2)
    q = store.quarantined("xy")
    assert [e.position for e in q] == [2, 4]
    assert "configured `encoding: utf-8`" in q[0].reason and "gb18030" in q[0].reason
    assert q[0].raw == raws[1]
    assert store.counts()["xy"] == {"records": 3, "quarantined": 2}

    # The same GB18030 record in a source configured for GB18030 is read fine…
    gb_source = Source(name="gb", library="XYLIB", protocol="z3950", address="x",
                       encoding="gb18030", format="cnmarc")
    stats = HarvestStats("gb")
    ingest(gb_source, [RawRecord("gb", 1, raws[1], "unimarc"),
                       RawRecord("gb", 2, good[5], "unimarc")], store, stats)
    # …and a UTF-8 record there is refused rather than garbled.
    assert (stats.new, stats.quarantined) == (1, 1)
    assert "record is UTF-8" in store.quarantined("gb")[0].reason


def test_duplicate_ids_in_one_source_are_quarantined_not_overwritten(tmp_path, good):
    source = Source(name="d", library="L", protocol="z3950", address="x")
    store = RecordStore(tmp_path / "s.db")
    stats = HarvestStats("d")
    ingest(source, [RawRecord("d", 1, good[0], "unimarc"), RawRecord("d", 2, good[0],
                                                                      "unimarc")], store, stats)
    assert (stats.new, stats.quarantined) == (1, 1)
    assert "duplicate record id" in store.quarantined("d")[0].reason


def test_a_quarantined_record_is_one_log_event_naming_source_and_record(
        tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    source = Source(name="d", library="L", protocol="z3950", address="x")
    store = RecordStore(tmp_path / "s.db")
    with caplog.at_level("WARNING", logger="harvest.pipeline"):
        ingest(source, [RawRecord("d", 7, b"01234nam  22   not MARC\x1d", "unimarc")], store,
               HarvestStats("d"))
    [event] = [r for r in caplog.records if r.name == "harvest.pipeline"]
    assert (event.source, event.record) == ("d", "#7")  # type: ignore[attr-defined]
    assert event.getMessage() == ("d: record #7 quarantined: truncated record: 24 bytes, "
                                  "shorter than a leader")


def test_real_broken_files(shared):
    parsed = list(read((shared / "marc21_general/pymarc/bad_records.mrc").read_bytes()))
    assert sum(p.marc is not None for p in parsed) >= 2
    assert sum(p.marc is None for p in parsed) >= 5
    parsed = list(read((shared / "marc21_general/ruby-marc/utf8_with_bad_bytes.marc")
                       .read_bytes()))
    assert parsed[0].marc is None and "invalid UTF-8" in parsed[0].error


def test_malformed_and_hostile_xml_are_quarantined_not_crashes():
    broken = b"<collection><record><leader>00000nam</leader><datafield tag='245'>"
    parsed = list(read(broken))
    assert parsed[0].marc is None and "not well-formed XML" in parsed[0].error
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><record><leader>x</leader></record>')
    parsed = list(read(bomb))
    assert parsed[0].marc is None and parsed[0].error


def test_field_cut_inside_a_character_is_quarantined_with_the_reason():
    """Directory lengths counted in characters cut a field inside a UTF-8 character even
    though the record as a whole is valid UTF-8: a RecordError (quarantine), not a crash."""
    good = iso2709.write(" " * 24, [("001", "", "x1"), ("005", "", "中文"),
                                    ("200", "1 ", [("a", "书名")])])
    cut = good.replace(b"005000700003", b"005000200003")  # 005 ends after 2 of 3 bytes
    assert cut != good and cut.decode("utf-8")
    with pytest.raises(ValueError, match="inside a utf-8 character"):
        decode_iso2709(cut)
    [parsed] = list(read(cut, "auto", "cnmarc"))
    assert parsed.marc is None and "directory" in parsed.error
