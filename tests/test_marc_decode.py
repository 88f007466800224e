"""Decoding one record: which charset the bytes are in (from the bytes, not the labels),
what a configured encoding promises, how fields and subfields come out, and MARCXML —
each rule a row, on small records built here."""

from __future__ import annotations

import pytest

from harvest import iso2709
from harvest.marc import (
    Field,
    Marc,
    RecordError,
    declared_xml_encoding,
    decode_iso2709,
    decode_marcxml,
    looks_like_gb_text,
    marcxml_records,
    parse_xml,
)

US_UTF8 = "00000nam a2200000 a 4500"
US_BLANK = "00000nam  2200000 a 4500"
CN = "00000nam0 2200000   450 "


def rec(leader: str, title: str, encoding: str = "utf-8", tag: str = "245",
        extra: tuple = ()) -> bytes:
    return iso2709.write(leader, [("001", "", "id1"), (tag, "10", [("a", title)]), *extra],
                         encoding)


# -- which charset --------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "encoding", "title"), [
    (rec(US_UTF8, "Plain"), "utf-8", "Plain"),  # ASCII: the leader decides
    (rec(US_BLANK, "Plain"), "marc-8", "Plain"),
    (rec(CN, "Plain", tag="200"), "utf-8", "Plain"),  # CNMARC has no MARC-8
    (rec(US_BLANK, "红楼梦"), "utf-8", "红楼梦"),  # valid UTF-8 beats a blank leader/09
    (rec(US_UTF8, "红楼梦"), "utf-8", "红楼梦"),
    (rec(CN, "红楼梦", "gb18030", "200"), "gb18030", "红楼梦"),
    (rec(US_BLANK, "中国发展报告红楼梦", "gb18030"), "gb18030", "中国发展报告红楼梦"),
    (rec(US_BLANK, "\x1b(BPlain"), "marc-8", "Plain"),  # an escape sequence means MARC-8
    (rec(US_UTF8, "\x1b(BPlain"), "marc-8", "Plain"),
])
def test_the_bytes_decide_the_charset(data: bytes, encoding: str, title: str) -> None:
    marc = decode_iso2709(data)
    assert (marc.encoding, marc.first("245", "a") or marc.first("200", "a")) == (encoding,
                                                                                 title)


def test_ansel_without_escapes_stays_marc8() -> None:
    # MARC-8 combining acute (0xE2) before a letter: GB18030 may decode it, but not as text
    data = iso2709.write(US_BLANK, [("245", "10", [("a", "Café")])], "utf-8")
    data = data.replace("é".encode(), b"\xe2e")
    data = data[:0] + f"{len(data):05d}".encode() + data[5:]
    assert not looks_like_gb_text(data)
    marc = decode_iso2709(data)
    assert marc.encoding == "marc-8" and marc.first("245", "a") == "Café"


@pytest.mark.parametrize(("data", "message"), [
    (rec(US_UTF8, "红楼梦", "gb18030"), "the record claims UTF-8 (leader/09 'a') but is not; "
                                       "if this source exports GBK set `encoding: gb18030`"),
    (rec(CN, "红楼梦", tag="200").replace("楼".encode(), b"\xff\xfe\xfd"),
     "and not valid GB18030 either"),
])
def test_bytes_that_are_no_charset_are_record_errors(data: bytes, message: str) -> None:
    with pytest.raises(RecordError, match="invalid UTF-8 at byte") as info:
        decode_iso2709(data)
    assert message in str(info.value) and "(field " in str(info.value)


@pytest.mark.parametrize(("data", "configured", "message"), [
    (rec(CN, "红楼梦", "gb18030", "200"), "utf-8", "although the source is configured "
                                                  "`encoding: utf-8`"),
    (rec(CN, "红楼梦", tag="200"), "gb18030", "record is UTF-8 although the source is "
                                             "configured `encoding: gb18030`"),
    (rec(CN, "红", "gb18030", "200").replace("红".encode("gb18030"), b"\x81\x20"), "gb18030",
     "invalid GB18030 at byte"),
])
def test_a_configured_encoding_is_a_promise(data: bytes, configured: str, message: str) -> None:
    with pytest.raises(RecordError) as info:
        decode_iso2709(data, configured)
    assert message in str(info.value)


@pytest.mark.parametrize(("data", "configured", "encoding"), [
    (rec(CN, "红楼梦", "gb18030", "200"), "gb18030", "gb18030"),
    (rec(CN, "Plain", "gb18030", "200"), "gb18030", "gb18030"),  # ASCII keeps its promise
    (rec(US_BLANK, "红楼梦"), "utf-8", "utf-8"),
    (rec(US_UTF8, "Plain"), "marc-8", "marc-8"),
])
def test_a_kept_promise_is_believed(data: bytes, configured: str, encoding: str) -> None:
    assert decode_iso2709(data, configured).encoding == encoding


def test_a_field_cut_inside_a_character_names_the_directory() -> None:
    data = rec(CN, "红楼梦", tag="200")
    # directory entry of 200: one byte shorter, the next field one byte earlier
    assert b"2000014" in data
    with pytest.raises(RecordError, match="lengths must be in bytes"):
        decode_iso2709(data.replace(b"2000014", b"2000012"))  # 梦 cut after one byte


@pytest.mark.parametrize("data", [b"", b"00010nam  ", b"junk" * 10])
def test_structure_errors_are_record_errors(data: bytes) -> None:
    with pytest.raises(RecordError):
        decode_iso2709(data)


# -- fields and subfields -------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_fields_subfields_indicators_and_controls(encoding: str) -> None:
    data = iso2709.write(CN, [
        ("001", "", "id\x01 1"),  # a control byte in a control field: removed
        ("200", "1 ", [("a", "红楼\x07梦"), ("e", "副题")]),
        ("606", "  ", [("a", "小说")]),
    ], encoding)
    marc = decode_iso2709(data)
    assert marc.control("001") == "id 1"
    (f200,) = marc.get("200")
    assert (f200.ind1, f200.ind2, f200.subfields) == ("1", " ", [("a", "红楼梦"), ("e", "副题")])
    assert marc.get("606")[0].subfields == [("a", "小说")]
    assert marc.flavour == "cnmarc" and marc.leader == data[:24].decode()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_stray_delimiter_runs_on_like_yaz(encoding: str) -> None:
    data = iso2709.write(CN, [("200", "1 ", [("a", "红楼梦"), (" ", "续")])], encoding)
    assert decode_iso2709(data).get("200")[0].subfields == [("a", "红楼梦 续")]


def test_odd_indicators_take_the_byte_path() -> None:
    data = iso2709.write(CN, [("200", "12", [("a", "红")])], "utf-8")
    data = data.replace(b"12\x1fa", "é".encode() + b"\x1fa")  # é: two bytes, one character
    (f,) = decode_iso2709(data).get("200")
    assert f.subfields == [("a", "红")] and (f.ind1, f.ind2) == ("\xc3", "\xa9")


def test_marc_accessors() -> None:
    m = Marc(CN, [Field("001", value="a"), Field("001", value="b"),
                  Field("200", subfields=[("a", ""), ("b", "B")]),
                  Field("200", subfields=[("a", "A2")]), Field("700", subfields=[("a", "X")])])
    assert m.control("001") == "a" and m.control("005") == ""
    assert m.first("200", "a") == "A2" and m.first("200", "z") == "" and m.first("9", "a") == ""
    assert [f.tag for f in m.get("700", "200")] == ["200", "200", "700"]  # record order
    assert m.get("999", "998") == [] and len(m.get("200", "999")) == 2
    assert m.get("200")[0].all("a", "b") == ["", "B"]
    assert Marc("", [Field("100")]).flavour == "marc21"
    assert Marc("", [Field("200"), Field("245")]).flavour == "marc21"


# -- MARCXML ----------------------------------------------------------------------------------

SLIM = (b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record>'
        b"<leader>-----nam-a2200000---4500</leader>"
        b'<controlfield tag="001">id\n</controlfield>'
        b'<datafield tag="245" ind1="1"><subfield code="a">T\titl\re</subfield>'
        b'<subfield code="b">B</subfield></datafield></record>'
        b"<record><leader>00000nam</leader>"
        b'<datafield tag="200" ind1="" ind2="01"><subfield code="a">x</subfield></datafield>'
        b"</record><other><record><nothing/></record></other></collection>")


def test_marcxml_records_and_fields() -> None:
    first, second = (decode_marcxml(e) for e in marcxml_records(SLIM))
    assert first.leader == "     nam a2200000   4500" and first.encoding == "utf-8"
    assert first.control("001") == "id"
    (f,) = first.get("245")
    assert (f.ind1, f.ind2, f.subfields) == ("1", " ", [("a", "Title"), ("b", "B")])
    assert len(second.leader) == 24 and second.leader.startswith("00000nam")
    (g,) = second.get("200")
    assert (g.ind1, g.ind2) == (" ", "0")


def test_marcxml_without_fields_and_broken_xml_are_record_errors() -> None:
    (el,) = marcxml_records(b"<record><leader>x</leader></record>")
    with pytest.raises(RecordError, match="MARCXML record has no fields"):
        decode_marcxml(el)
    with pytest.raises(RecordError, match="src: not well-formed XML"):
        parse_xml(b"<record>", "src")
    with pytest.raises(RecordError, match="XML declares encoding 'GBK'"):
        parse_xml(b'<?xml version="1.0" encoding="GBK"?><r/>')
    with pytest.raises(RecordError, match="XML declares encoding 'no-such'"):
        parse_xml(b'<?xml version="1.0" encoding="no-such"?><r/>')


@pytest.mark.parametrize(("data", "declared"), [
    (b'<?xml version="1.0" encoding="GBK"?><r/>', "GBK"),
    (b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>", "utf-8"),
    (b'  <?xml version="1.0"  encoding = "x" ?>', "x"),
    (b'<?xml version="1.0"?><r encoding="GBK"/>', ""),
    (b"<r/>", ""),
])
def test_declared_xml_encoding(data: bytes, declared: str) -> None:
    assert declared_xml_encoding(data) == declared


# -- the detector's pieces, at their edges ------------------------------------------------------

@pytest.mark.parametrize(("code", "cjk"), [
    (0x4E00, True), (0x9FFF, True), (0x4DFF, False), (0xA000, False),
    (0x3400, True), (0x4DBF, True), (0x33FF, False),
    (0x3000, True), (0x30FF, True), (0x2FFF, False), (0x3100, False),
    (0xFF00, True), (0xFFEF, True), (0xFEFF, False), (0xFFF0, False),
    (0x20000, True), (0x2FFFF, True), (0x1FFFF, False), (0x30000, False),
    (0xF900, True), (0xFAFF, True), (0xF8FF, False), (0xFB00, False),
])
def test_is_cjk(code: int, cjk: bool) -> None:
    from harvest.marc import _is_cjk

    assert _is_cjk(chr(code)) is cjk


@pytest.mark.parametrize(("data", "gb"), [
    ("中国发展报告".encode("gb18030"), True),
    ("\U00020000\U00020001".encode("gb18030"), True),  # four-byte sequences
    ("ABC".encode("gb18030"), False),  # no CJK at all
    ("éèà".encode("gb18030"), False),  # decodes, high bytes, but no CJK character
    (b"Caf\xe2e d\xe2ej\xe0a", False),  # ANSEL: a high byte before an ASCII letter
    (b"\xff\xff", False),  # not GB18030
    ("中".encode("gb18030") + b"\xe2e\xe2e\xe2e\xe2e", False),  # mostly ANSEL-shaped
    ("中".encode("gb18030") + b"\xe2e", True),  # 2 of 3 high bytes are GB evidence
])
def test_looks_like_gb_text(data: bytes, gb: bool) -> None:
    assert looks_like_gb_text(data) is gb


def test_the_flavour_can_be_forced() -> None:
    gbk = rec(US_BLANK, "中国发展报告", "gb18030")
    assert decode_iso2709(gbk).encoding == "gb18030"  # MARC 21 shape, GB text
    plain = rec(US_BLANK, "Plain")
    assert decode_iso2709(plain, flavour="cnmarc").encoding == "utf-8"  # no MARC-8 in CNMARC
    assert decode_iso2709(rec(CN, "Plain", tag="200"), flavour="marc21").encoding == "marc-8"
    assert decode_iso2709(rec(US_BLANK, "Plain", tag="500")).encoding == "marc-8"  # neither
    cn_ascii = iso2709.write(US_BLANK, [("200", "1 ", [("a", "x")])], "utf-8")
    assert decode_iso2709(cn_ascii).encoding == "utf-8"  # 200 alone: CNMARC


def test_a_field_without_indicators_is_read_byte_by_byte() -> None:
    data = iso2709.write(CN, [("200", "", [("a", "红楼梦")])], "utf-8")  # no indicators
    (f,) = decode_iso2709(data).get("200")
    assert (f.ind1 + f.ind2, f.subfields) == ("\x1fa", [])  # as YAZ would: 2 bytes taken


@pytest.mark.parametrize(("data", "configured", "message"), [
    (rec(US_UTF8, "红楼梦", "gb18030"), "auto",
     "invalid UTF-8 at byte 57 (field 245): the record claims UTF-8 (leader/09 'a') but is "
     "not; if this source exports GBK set `encoding: gb18030` for it"),
    (rec(CN, "红楼梦", tag="200").replace("楼".encode(), b"\xff\xfe\xfd"), "auto",
     "invalid UTF-8 at byte 60 (field 200) and not valid GB18030 either: the text is damaged; "
     "check the export settings of this source"),
    (rec(CN, "红楼梦", "gb18030", "200"), "utf-8",
     "invalid UTF-8 at byte 57 (field 200) although the source is configured `encoding: "
     "utf-8`; set `encoding: auto` (or gb18030) if this library exports GBK"),
    (rec(CN, "红楼梦", tag="200"), "gb18030",
     "record is UTF-8 although the source is configured `encoding: gb18030` — reading it as "
     "GB18030 would garble every Chinese character; set `encoding: auto` or `utf-8`"),
    (rec(CN, "红", "gb18030", "200").replace("红".encode("gb18030"), b"\x81\x20"), "gb18030",
     "invalid GB18030 at byte 57 although the source is configured `encoding: gb18030`; try "
     "`encoding: auto`"),
])
def test_encoding_errors_say_what_to_do(data: bytes, configured: str, message: str) -> None:
    with pytest.raises(RecordError) as info:
        decode_iso2709(data, configured)
    assert str(info.value) == message


def test_marcxml_missing_attributes_and_the_utf8_advice() -> None:
    (el,) = marcxml_records(b"<record><leader>00000nam</leader><controlfield>c</controlfield>"
                            b"<datafield tag='245'><subfield>x</subfield>"
                            b"<subfield code='a'>A</subfield><other>o</other></datafield>"
                            b"</record>")
    m = decode_marcxml(el)
    assert m.fields[0].tag == "" and m.fields[0].value == "c"
    f = m.fields[1]
    assert (f.tag, f.ind1, f.ind2, f.subfields) == ("245", " ", " ", [("", "x"), ("a", "A")])
    with pytest.raises(RecordError) as info:
        parse_xml(b'<?xml version="1.0" encoding="GBK"?><r/>', "src")
    assert str(info.value).startswith("src: XML declares encoding 'GBK', which cannot be read")
    assert str(info.value).endswith("; MARCXML must be UTF-8 (ask the library to export UTF-8)")
