"""Inputs whose declared encoding or shape lies (issue 13, items 4, 5 and 7): each is one
record's problem — a RecordError with the reason, quarantined — never an exception that
stops `tongjian normalize`, a harvest or an import; and GBK MARC 21 with a blank leader/09
is read as GB18030, not garbled as MARC-8."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.base import RawRecord
from core.config import Source
from harvest import iso2709
from harvest.bulk import _parse_chunk, _ParseTask, _SourceSpec
from harvest.crosswalk import from_raw, to_record
from harvest.marc import Marc, RecordError, decode_iso2709
from harvest.pipeline import HarvestStats, ingest
from harvest.readers import read
from harvest.store import RecordStore
from tests.conftest import shared_data

TONGJIAN = Path(sys.executable).parent / "tongjian"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _normalize(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TONGJIAN), "normalize", *map(str, files)], capture_output=True,
                          text=True, timeout=120)


# -- item 4: MARCXML declaring an encoding expat cannot read ----------------------------


def _redeclared(encoding: str) -> bytes:
    """A real MARCXML record (yaz's marc12, Chinese) with its declaration changed to
    `encoding` — and, when Python knows that codec, its text really in it."""
    text = shared_data("marc21_cjk/yaz/marc12.xml").read_text("utf-8")
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    assert HAN.search(body)
    doc = f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'
    try:
        return doc.encode(encoding)
    except LookupError:
        return doc.encode("utf-8")


@pytest.mark.parametrize("encoding", ["GBK", "GB2312", "x-no-such-charset"])
def test_undecodable_xml_declaration_is_a_record_error_naming_it(encoding):
    [parsed] = list(read(_redeclared(encoding)))
    assert parsed.marc is None
    assert f"XML declares encoding '{encoding}'" in parsed.error


def test_normalize_reports_the_declared_encoding_and_exits_0_after_good_records(tmp_path):
    bad = tmp_path / "gbk.xml"
    bad.write_bytes(_redeclared("GBK"))
    unknown = tmp_path / "unknown.xml"
    unknown.write_bytes(_redeclared("x-no-such-charset"))
    good = shared_data("marc21_cjk/yaz/marccol1.u8.marc")
    done = _normalize(good, bad, unknown)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{bad}: record 1: XML declares encoding 'GBK'" in done.stderr
    assert f"{unknown}: record 1: XML declares encoding 'x-no-such-charset'" in done.stderr
    assert "19 records normalized, 2 bad" in done.stderr
    assert len(done.stdout.splitlines()) == 19


def test_harvest_and_import_quarantine_it(tmp_path):
    data = _redeclared("GBK")
    source = Source(name="x", library="L", protocol="sru", address="x")
    store = RecordStore(tmp_path / "s.db")
    stats = HarvestStats("x")
    good = shared_data("marc21_cjk/yaz/marc12.xml").read_bytes()
    ingest(source, [RawRecord("x", 1, data, "marcxml"), RawRecord("x", 2, good, "marcxml")],
           store, stats)
    assert (stats.new, stats.quarantined) == (1, 1)
    [q] = store.quarantined("x")
    assert "'GBK'" in q.reason and q.raw == data

    path = tmp_path / "export.xml"  # the bulk import's worker: a "bad" item, not a raise
    path.write_bytes(data)
    spec = _SourceSpec("x", "L", "auto", "auto", ())
    [item] = _parse_chunk(_ParseTask(spec, str(path), 0, len(data), "marcxml"))
    assert item[0] == "bad" and "'GBK'" in item[3]


def test_koha_envelope_with_gbk_marcxml_is_a_record_error():
    text = _redeclared("GBK").decode("gbk")
    envelope = json.dumps({"biblio_id": 9, "marcxml": text, "items": []}).encode()
    source = Source(name="k", library="L", protocol="koha", address="http://x")
    with pytest.raises(RecordError, match="biblio 9: XML declares encoding 'GBK'"):
        from_raw(RawRecord("k", 1, envelope, "koha", "9"), source)


def test_dublin_core_with_gbk_declaration_is_a_record_error():
    doc = ('<?xml version="1.0" encoding="GBK"?><oai_dc:dc '
           'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>县志</dc:title>'
           '</oai_dc:dc>').encode("gbk")
    source = Source(name="o", library="L", protocol="oaipmh", address="http://x")
    with pytest.raises(RecordError, match="XML declares encoding 'GBK'"):
        from_raw(RawRecord("o", 1, doc, "oai_dc", "oai:x:1"), source)


# -- item 5: vendor JSON of the wrong shape ---------------------------------------------

SYMPHONY = Source(name="prov", library="SXPL", protocol="symphony", address="http://x")
KOHA = Source(name="k", library="L", protocol="koha", address="http://x")
BIB = {"leader": "00000nam a2200000 a 4500",
       "fields": [{"tag": "001", "subfields": [{"code": "_", "data": "b1"}]},
                  {"tag": "245", "inds": "10", "subfields": [{"code": "a", "data": "书名"}]}]}


def _symphony(item_list: object) -> RawRecord:
    bib = {"key": "7", "fields": {"bib": BIB, "callList": [
        {"fields": {"callNumber": "I247/1", "itemList": item_list}}]}}
    return RawRecord("prov", 1, json.dumps(bib).encode(), "symphony", "7")


def test_symphony_item_list_of_the_wrong_type_names_its_path():
    item = {"fields": {"barcode": "31", "library": {"key": "SXPL"}}}
    assert [h.barcode for h in from_raw(_symphony([item]), SYMPHONY).holdings] == ["31"]
    for wrong, kind in [(item, "dict"), ("31", "str"), (5, "int")]:
        with pytest.raises(RecordError, match=re.escape(
                f"Symphony bib 7: fields.callList[0].fields.itemList is {kind}, "
                "expected a list")):
            from_raw(_symphony(wrong), SYMPHONY)
    with pytest.raises(RecordError, match=re.escape("fields.callList[0].fields.itemList[1]")):
        from_raw(_symphony([item, "31"]), SYMPHONY)


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_json_is_a_record_error_not_recursion_error():
    deep = b"[" * 10_000 + b"]" * 10_000
    with pytest.raises(RecordError, match="nested more than"):
        from_raw(RawRecord("prov", 1, deep, "symphony", "7"), SYMPHONY)
    with pytest.raises(RecordError, match="nested more than"):
        from_raw(RawRecord("k", 1, deep, "koha", "9"), KOHA)
    # nested inside otherwise good documents, where a crosswalk would walk or str() it
    bib = {"key": "7", "fields": {"bib": BIB, "callList": [
        {"fields": {"callNumber": _nested(5_000), "itemList": []}}]}}
    data = _dumps_deep(bib)
    with pytest.raises(RecordError, match="Symphony bib is nested more than"):
        from_raw(RawRecord("prov", 1, data, "symphony", "7"), SYMPHONY)
    envelope = _dumps_deep({"biblio_id": 9, "items": [{"external_id": _nested(5_000)}],
                            "marc_in_json": {"leader": "", "fields": [{"001": "x"}]}})
    with pytest.raises(RecordError, match="Koha envelope is nested more than"):
        from_raw(RawRecord("k", 1, envelope, "koha", "9"), KOHA)


def _dumps_deep(value: object) -> bytes:
    """json.dumps without recursion (it would raise RecursionError itself)."""
    if isinstance(value, dict):
        return b"{" + b",".join(json.dumps(k).encode() + b":" + _dumps_deep(v)
                                for k, v in value.items()) + b"}"
    if isinstance(value, list):
        depth, inner = 0, value
        while isinstance(inner, list) and len(inner) == 1:
            depth, inner = depth + 1, inner[0]
        if depth:
            return b"[" * depth + _dumps_deep(inner) + b"]" * depth
        return b"[" + b",".join(_dumps_deep(v) for v in value) + b"]"
    return json.dumps(value).encode()


def test_lone_surrogate_escape_in_vendor_json_is_quarantined_not_a_store_crash(tmp_path):
    """json accepts "\\ud800"; before, the Koha record passed the crosswalk and the store's
    UTF-8 encoding raised UnicodeEncodeError, stopping the harvest (found by the fuzzer)."""
    mij = {"leader": "", "fields": [{"001": "x"}, {"245": {"subfields": [{"a": "书\ud800"}]}}]}
    data = json.dumps({"biblio_id": 9, "items": [], "marc_in_json": mij}).encode()
    assert b"\\ud800" in data
    store = RecordStore(tmp_path / "s.db")
    stats = HarvestStats("k")
    ingest(KOHA, [RawRecord("k", 1, data, "koha", "9")], store, stats)
    assert (stats.new, stats.quarantined) == (0, 1)
    assert "lone surrogate" in store.quarantined("k")[0].reason
    encoded = data.replace(b"\\ud800", b"\xed\xa0\x80")  # the surrogate as (CESU) bytes
    with pytest.raises(RecordError, match="Koha envelope is not UTF-8"):
        from_raw(RawRecord("k", 1, encoded, "koha", "9"), KOHA)
    bib = {"key": "7", "fields": {"bib": {**BIB, "leader": "\ud800"}}}
    with pytest.raises(RecordError, match="Symphony bib holds a lone surrogate"):
        from_raw(RawRecord("prov", 1, json.dumps(bib).encode(), "symphony", "7"), SYMPHONY)


# -- item 7: GBK MARC 21 with a blank leader/09 -----------------------------------------


def _real_cjk_marc21() -> list[Marc]:
    out = []
    for name in ("marc21_cjk/yaz/marccol1.u8.marc", "marc21_cjk/marc4j/not_unimarc_errors_3.mrc",
                 "marc21_cjk/traject/test_data.utf8.marc.xml"):
        for parsed in read(shared_data(name).read_bytes()):
            m = parsed.marc
            if m is not None and m.flavour == "marc21" and any(
                    HAN.search(v) for f in m.fields for _, v in f.subfields):
                out.append(m)
    return out


def _as_gbk_blank_leader(m: Marc) -> bytes:
    fields = [(f.tag, "", f.value) if f.value is not None else (f.tag, f.ind1 + f.ind2,
              f.subfields) for f in m.fields]
    return iso2709.write(m.leader[:9] + " " + m.leader[10:], fields, "gb18030")


def test_gbk_marc21_with_blank_leader_09_is_detected_from_the_bytes():
    records = _real_cjk_marc21()
    assert len(records) >= 20
    for m in records:
        chunk = _as_gbk_blank_leader(m)
        assert chunk[9:10] == b" " and b"\x1b" not in chunk
        got = decode_iso2709(chunk)
        assert got.encoding == "gb18030", m.control("001")
        assert [(f.tag, f.value, f.subfields) for f in got.fields] == \
               [(f.tag, f.value, f.subfields) for f in m.fields]


def test_normalize_prints_gbk_marc21_titles_ungarbled(tmp_path):
    records = _real_cjk_marc21()[:18]
    path = tmp_path / "gbk.mrc"
    path.write_bytes(b"".join(_as_gbk_blank_leader(m) for m in records))
    done = _normalize(path)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["encoding"] for r in out] == ["gb18030"] * len(records)
    # the same titles as the UTF-8 originals, the vernacular (880) ones in Chinese
    assert [r["title"] for r in out] == [to_record(m, "x", "").title for m in records]
    assert sum(bool(HAN.search(r["title"])) for r in out) >= 15


@pytest.mark.parametrize("name", ["marc21_general/evergreen/jazz_1k.mrc",
                                  "marc21_general/evergreen/lul_fre_100.mrc",
                                  "marc21_general/evergreen/oss.marc",
                                  "marc21_general/evergreen/map_data.mrc",
                                  "marc21_cjk/marc4j/chinese_mangled_multibyte.mrc"])
def test_real_marc8_without_escapes_stays_marc8(name):
    """ANSEL diacritics before ASCII letters are often valid GB18030 too; the byte
    statistics must not take real MARC-8 for GBK."""
    for parsed in read(shared_data(name).read_bytes()):
        if parsed.marc is not None and not parsed.raw.isascii() and parsed.raw[9:10] == b" ":
            assert parsed.marc.encoding in ("marc-8", "utf-8"), parsed.position
