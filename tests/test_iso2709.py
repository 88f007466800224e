"""ISO 2709 structure, record by record: each check of the reader (leader numbers, base
address, directory terminator and entries, field bounds, record terminator, a stale leader
length) in a table of small damaged records built here, plus how a stream is split."""

from __future__ import annotations

import pytest

from harvest import iso2709
from harvest.iso2709 import MarcStructureError, RawField, parse, parse_fields, split_records, write

LEADER = "00000nam  2200000   4500"


def _record(*fields: tuple[str, str, object]) -> bytes:
    return write(LEADER, list(fields) or [("001", "", "r1"), ("200", "1 ", [("a", "书名")])])


GOOD = _record()  # 001 "r1", 200 "1 $a书名"


def _set(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]


def test_a_good_record_reads_back_what_was_written() -> None:
    leader, fields = parse_fields(GOOD)
    assert leader == GOOD[:24] and int(leader[:5]) == len(GOOD)
    assert int(leader[12:17]) == 24 + 2 * 12 + 1
    assert fields == [("001", b"r1"), ("200", "1 \x1fa书名".encode())]
    raw = parse(GOOD)
    assert raw.leader == GOOD[:24] and [f.tag for f in raw.fields] == ["001", "200"]
    assert raw.get("200")[0].subfields() == [("a", "书名".encode())]
    assert raw.get("999") == []


BASE = 24 + 2 * 12 + 1  # of GOOD: leader + two directory entries + field terminator


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda r: r[:24], "truncated record: 24 bytes, shorter than a leader"),
    (lambda r: r[:-1], "truncated record: no record terminator"),
    (lambda r: _set(r, 0, b"0x9zz"), "bad leader: record length b'0x9zz'"),
    (lambda r: _set(r, 12, b"00a49"), "bad leader: record length"),
    (lambda r: _set(r, 12, b"00024"), "bad leader: base address 24 outside the record"),
    (lambda r: _set(r, 12, b"99999"), "bad leader: base address 99999 outside the record"),
    (lambda r: _set(r, BASE - 1, b"X"), f"bad directory: no field terminator before base "
                                        f"address {BASE}"),
    (lambda r: _set(_set(r, 12, f"{BASE + 1:05d}".encode()), BASE, b"\x1e"),
     "is not a whole number of 12-byte entries"),
    (lambda r: _set(r, 24 + 3, b"X"), "bad directory: entry 1 is b'001X00300000'"),
    (lambda r: _set(r, 36 + 3, b"X"), "bad directory: entry 2 is b'200X01100003'"),
    (lambda r: r[:12] + b"00025" + r[17:24] + b"\x1d",  # 25 bytes: a leader and no more
     "bad directory: no field terminator before base address 25"),
    (lambda r: _set(r, 12, f"{len(r):05d}".encode()), "bad directory: no field terminator "
                                                      "before base address"),
    (lambda r: _set(r, 36 + 3, b"0012"), "bad directory: field 200 length 12 does not end at "
                                         "a field terminator"),  # it covers the record end
    (lambda r: _set(r, 36 + 3, b"9999"), "bad directory: field 200 at 3+9999 runs past the "
                                         "end of the record"),
    (lambda r: _set(r, 24 + 3, b"0005"), "bad directory: field 001 length 5 does not end at "
                                         "a field terminator"),
])
def test_each_structural_check_names_what_is_wrong(damage, reason: str) -> None:
    with pytest.raises(MarcStructureError) as info:
        parse_fields(damage(GOOD))
    assert reason in str(info.value)


def test_a_stale_leader_length_is_harmless_when_the_directory_covers_every_byte() -> None:
    # the transcoded-export case: the leader counts characters, the directory bytes
    stale = _set(GOOD, 0, f"{len(GOOD) - 3:05d}".encode())
    assert parse_fields(stale)[1] == parse_fields(GOOD)[1]


def test_a_wrong_length_and_bytes_beyond_the_directory_mean_a_damaged_record() -> None:
    extra = GOOD[:-1] + b"junk\x1e\x1d"  # data no directory entry accounts for
    with pytest.raises(MarcStructureError) as info:
        parse_fields(extra)
    assert str(info.value) == (f"truncated record: leader says {len(GOOD)} bytes, directory "
                               f"covers {len(GOOD)}, but {len(extra)} bytes are present")
    # the same extra bytes with a leader that counts them are accepted
    counted = _set(extra, 0, f"{len(extra):05d}".encode())
    assert parse_fields(counted)[1] == parse_fields(GOOD)[1]


def test_a_record_without_fields_is_well_formed() -> None:
    empty = write(LEADER, [])
    assert len(empty) == 26 and parse_fields(empty) == (empty[:24], [])
    stale = _set(empty, 0, b"00099")  # and its stale length is harmless too
    assert parse_fields(stale)[1] == []


def test_empty_fields_and_a_field_ending_exactly_at_the_data_end() -> None:
    rec = write(LEADER, [("001", "", ""), ("500", "  ", [])])
    assert parse_fields(rec)[1] == [("001", b""), ("500", b"  ")]


@pytest.mark.parametrize(("stream", "expected"), [
    (GOOD + GOOD, [(0, GOOD), (len(GOOD), GOOD)]),
    (GOOD + b"\r\n" + GOOD, [(0, GOOD), (len(GOOD) + 2, GOOD)]),  # \r\n between records
    (GOOD + b"\n\n" + GOOD + b"\r\n", [(0, GOOD), (len(GOOD) + 2, GOOD)]),
    (GOOD + b"\n" + GOOD, [(0, GOOD), (len(GOOD) + 1, GOOD)]),
    (GOOD + b"X" + GOOD, [(0, GOOD), (len(GOOD), b"X" + GOOD)]),  # junk stays with its record
    (GOOD + b"X", [(0, GOOD), (len(GOOD), b"X")]),
    (b"\x1d" + GOOD, [(1, GOOD)]),  # a bare terminator is no record
    (GOOD + b"\r\n\x00 \x1a", [(0, GOOD)]),  # padding at the end of a file
    (GOOD + GOOD[:30], [(0, GOOD), (len(GOOD), GOOD[:30])]),  # a cut last record is kept
    (b"", []),
])
def test_split_records(stream: bytes, expected: list[tuple[int, bytes]]) -> None:
    assert list(split_records(stream)) == expected


@pytest.mark.parametrize(("data", "subfields"), [
    (b"1 \x1faA\x1fbB", [("a", b"A"), ("b", b"B")]),
    (b"1 \x1faA\x1f\x1b(BB", [("a", b"A\x1b(BB")]),  # delimiter before ESC: stray
    (b"1 \x1faA\x1f b", [("a", b"A b")]),  # delimiter before a space: stray
    (b"1 \x1f\x1bx\x1faA", [("a", b"A")]),  # stray before any subfield: dropped
    (b"1 \x1f~x\x1f!y", [("~", b"x"), ("!", b"y")]),  # printable codes at both ends
    (b"1 \x1f\x7fx", []),
    (b"1 ", []),
])
def test_subfields(data: bytes, subfields: list[tuple[str, bytes]]) -> None:
    assert RawField("245", data).subfields() == subfields


@pytest.mark.parametrize(("tag", "control"), [("001", True), ("009", True), ("010", False),
                                              ("00A", False), ("245", False), ("A01", False)])
def test_control_fields_are_the_numeric_tags_below_010(tag: str, control: bool) -> None:
    f = RawField(tag, b"12abc")
    assert f.is_control is control
    assert f.indicators == (b"" if control else b"12")


def test_write_joins_subfields_with_delimiters_only() -> None:
    rec = write(LEADER, [("245", "10", [("a", "A"), ("b", "B")])])
    assert rec[24 + 12:] == b"\x1e10\x1faA\x1fbB\x1e\x1d"


def test_write_counts_bytes_of_the_encoding() -> None:
    rec = write(LEADER, [("200", "1 ", [("a", "中国")])], "gb18030")
    assert int(rec[:5]) == len(rec) and rec.endswith(b"\x1e\x1d")
    assert rec[24:36] == b"200000900000"  # 2 indicators + delimiter + code + 4 bytes + FT
    assert rec[5:12] == LEADER[5:12].encode() and rec[17:24] == LEADER[17:24].encode()
    assert iso2709.parse_fields(rec)[1] == [("200", b"1 \x1fa" + "中国".encode("gb18030"))]
