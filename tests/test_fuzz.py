"""Property tests for every parser, seeded from the real files in ../shared/data.

The property, for ISO 2709, MARCXML, Dublin Core/OAI-PMH XML, Koha and Symphony JSON: any
input — a real record with bytes flipped, inserted, cut, spliced from another record, or a
JSON document with one value replaced by another of any type or depth — yields a record or
the project's own RecordError with a reason, nothing else (and a record is storable: it
encodes as UTF-8 JSON).  Any other exception is a bug
(it would stop `tongjian normalize`, a harvest or an import instead of quarantining one
record).

Bounded for `./run test` (800 inputs per parser, about 20 s together); the long
run is `python bench/fuzz_parsers.py` (≥ 100,000 inputs), which uses the same seeds,
mutations and targets from this module.
"""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import RawRecord
from core.config import Source
from core.model import Record
from harvest import iso2709
from harvest.crosswalk import from_raw, to_record
from harvest.marc import Marc, RecordError
from harvest.readers import read
from tests.conftest import SHARED_DATA, shared_data

# -- seeds: real records from ../shared/data ---------------------------------------------

ISO_FILES = [
    "derived/dp2_cnmarc_10recs.utf8.iso",
    "marc21_cjk/yaz/marc12.marc",
    "marc21_cjk/xbib/IRMARC8.bin",
    "marc21_cjk/marc4j/chinese_mangled_multibyte.mrc",
    "marc21_cjk/yaz/marccol1.u8.marc",
    "marc21_cjk/pymarc/bad_eacc_encoding.dat",
    "marc21_general/evergreen/hebrew.marc",
    "marc21_general/evergreen/lul_fre_100.mrc",
    "marc21_general/pymarc/bad_records.mrc",
    "marc21_general/ruby-marc/utf8_with_bad_bytes.marc",
    "unimarc_cnmarc/pymarc/testunimarc.dat",
    "unimarc_cnmarc/ruby-marc/cp866_unimarc.marc",
]
MARCXML_FILES = [
    "unimarc_cnmarc/dp2/sample_cnmarcxml.xml",
    "marc21_cjk/yaz/marc12.xml",
    "marc21_cjk/xbib/0.xml",
    "derived/evergreen_concerto_graphic_880.marcxml",
    "marc21_general/evergreen/badisbns.xml",
]
OAI_FILES = [
    "unimarc_cnmarc/dp2/sample_dc.xml",
    "oai_pmh/pyoai/GetRecord.xml",
    "oai_pmh/pyoai/GetRecord_utf8test.xml",
    "oai_pmh/pyoai/ListRecords.xml",
    "oai_pmh/sickle/oai-pmh-one-record-first.xml",
    "oai_pmh/vufindharvest/list_records_response.xml",
]
PER_FILE = 4  # records per file: small inputs mutate into more distinct shapes


def _available(names: list[str]) -> list[Path]:
    return [SHARED_DATA / n for n in names if (SHARED_DATA / n).exists()]


@cache
def iso_seeds() -> list[bytes]:
    out: list[bytes] = []
    for path in _available(ISO_FILES):
        chunks = [c for _, c in iso2709.split_records(path.read_bytes())]
        out += chunks[:PER_FILE]
    return out


@cache
def marcxml_seeds() -> list[bytes]:
    """Single-record MARCXML documents cut from real collections (namespace kept)."""
    out: list[bytes] = []
    for path in _available(MARCXML_FILES):
        root = ET.fromstring(path.read_bytes())
        records = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "record"]
        for el in records[:PER_FILE]:
            out.append(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                       + ET.tostring(el, encoding="utf-8"))
    return out


@cache
def oai_seeds() -> list[bytes]:
    """Whole real OAI-PMH responses and each Dublin Core <metadata> of them."""
    out: list[bytes] = []
    for path in _available(OAI_FILES):
        data = path.read_bytes()
        out.append(data)
        root = ET.fromstring(data)
        for el in root.iter():
            if el.tag.rsplit("}", 1)[-1] == "dc":
                out.append(ET.tostring(el, encoding="utf-8"))
                if len(out) > 40:
                    return out
    return out


def _real_marcs() -> list[tuple[bytes, Marc]]:
    out: list[tuple[bytes, Marc]] = []
    for data in iso_seeds() + marcxml_seeds():
        for parsed in read(data):
            if parsed.marc is not None:
                out.append((parsed.raw, parsed.marc))
    return out


def _mij(m: Marc) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    for f in m.fields:
        if f.value is not None:
            fields.append({f.tag: f.value})
        else:
            fields.append({f.tag: {"ind1": f.ind1, "ind2": f.ind2,
                                   "subfields": [{c: v} for c, v in f.subfields]}})
    return {"leader": m.leader, "fields": fields}


def _ilsws_bib(m: Marc) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    for f in m.fields:
        if f.value is not None:
            fields.append({"tag": f.tag, "subfields": [{"code": "_", "data": f.value}]})
        else:
            fields.append({"tag": f.tag, "inds": f.ind1 + f.ind2,
                           "subfields": [{"code": c, "data": v} for c, v in f.subfields]})
    return {"leader": m.leader, "fields": fields}


@cache
def koha_seeds() -> list[bytes]:
    """Koha REST envelopes (connectors.koha's shape) around real records: MARCXML and
    MARC-in-JSON, with items as Koha's API gives them."""
    out: list[bytes] = []
    for n, (_, m) in enumerate(_real_marcs()[:24]):
        items = [{"item_id": n * 10 + k, "external_id": f"3100{n}{k}", "callnumber": "I247/1",
                  "home_library_id": "BJ" if k else "QX", "location": "GEN",
                  "checked_out_date": None, "not_for_loan_status": 0, "lost_status": 0,
                  "withdrawn": 0, "damaged_status": 0} for k in range(n % 3)]
        envelope: dict[str, Any] = {"biblio_id": n + 1, "items": items}
        if n % 2:
            envelope["marc_in_json"] = _mij(m)
        else:
            envelope["marcxml"] = _marcxml_text(m)
        out.append(json.dumps(envelope, ensure_ascii=bool(n % 4 == 1)).encode())
    return out


def _marcxml_text(m: Marc) -> str:
    ns = "http://www.loc.gov/MARC21/slim"
    rec = ET.Element(f"{{{ns}}}record")
    ET.SubElement(rec, f"{{{ns}}}leader").text = m.leader
    for f in m.fields:
        if f.value is not None:
            ET.SubElement(rec, f"{{{ns}}}controlfield", tag=f.tag).text = f.value
        else:
            df = ET.SubElement(rec, f"{{{ns}}}datafield", tag=f.tag, ind1=f.ind1, ind2=f.ind2)
            for c, v in f.subfields:
                ET.SubElement(df, f"{{{ns}}}subfield", code=c).text = v
    return ET.tostring(rec, encoding="unicode")


@cache
def symphony_seeds() -> list[bytes]:
    """ILSWS bib resources (``fields.bib`` + ``callList[].itemList[]``) around real
    records, as connectors.symphony harvests them with includeFields."""
    out: list[bytes] = []
    for n, (_, m) in enumerate(_real_marcs()[:24]):
        calls = [{"resource": "/catalog/call", "key": f"{n}:{k}", "fields": {
            "callNumber": f"I247/{k}", "library": {"resource": "/policy/library",
                                                   "key": "SXPL" if k else "LQ"},
            "itemList": [{"resource": "/catalog/item", "key": f"{n}:{k}:1", "fields": {
                "barcode": f"3101{n}{k}", "library": {"key": "SXPL"},
                "homeLocation": {"key": "STACKS", "fields": {"description": "书库"}},
                "currentLocation": {"key": "STACKS" if k else "CHECKEDOUT"},
                "shadowed": False}}]}} for k in range(n % 3)]
        bib = {"resource": "/catalog/bib", "key": str(n + 1),
               "fields": {"bib": _ilsws_bib(m), "callList": calls}}
        out.append(json.dumps(bib, ensure_ascii=False).encode())
    return out


# -- mutations ------------------------------------------------------------------------------

INTERESTING = [b"\x1d", b"\x1e", b"\x1f", b"\x1b", b"\x1b$1", b"\x1b(B", b"\x00", b"\xff",
               b"\xe2", b"\xb0\xa1", "中".encode(), "中".encode("gb18030"), b"<", b">", b"&",
               b'"', b"{", b"[", b"]", b"}", b"\\u", b"\\ud800", b"99999", b"00000", b"-",
               b'encoding="GBK"', b"<!DOCTYPE r [<!ENTITY a 'b'>]>", b"&a;", b"\xef\xbb\xbf"]


def mutate(data: bytes, rng: random.Random, others: list[bytes], rounds: int = 0) -> bytes:
    """`data` with 1–4 random edits: byte flips, interesting tokens, deletions, duplicated
    or spliced ranges, truncation, and number edits (lengths, base addresses)."""
    buf = bytearray(data)
    # Half the inputs keep every length (so the structure holds and the decoders and
    # crosswalks see the damage); the others may insert, cut and splice.
    in_place = rng.random() < 0.5
    for _ in range(rounds or rng.randint(1, 4)):
        n = len(buf)
        op = rng.choice((0, 6, 7, 8)) if in_place else rng.randrange(9)
        pos = rng.randrange(n + 1)
        if op == 0 and n:  # flip one byte
            buf[min(pos, n - 1)] = rng.randrange(256)
        elif op == 1:  # insert an interesting token
            buf[pos:pos] = rng.choice(INTERESTING)
        elif op == 2 and n:  # delete a range
            buf[pos:pos + rng.randint(1, 64)] = b""
        elif op == 3 and n:  # duplicate a range
            end = min(n, pos + rng.randint(1, 256))
            buf[pos:pos] = buf[pos:end]
        elif op == 4 and others:  # splice a range of another seed
            other = rng.choice(others)
            if other:
                start = rng.randrange(len(other))
                buf[pos:pos] = other[start:start + rng.randint(1, 512)]
        elif op == 5:  # truncate
            del buf[pos:]
        elif op == 6 and n:  # change a digit (leader lengths, directory entries)
            digits = [i for i in range(max(0, pos - 64), min(n, pos + 64))
                      if 0x30 <= buf[i] <= 0x39]
            if digits:
                buf[rng.choice(digits)] = rng.randrange(0x30, 0x3A)
        elif op == 7 and n:  # set the high bit of a run of bytes
            for i in range(pos, min(n, pos + rng.randint(1, 16))):
                buf[i] |= 0x80
        else:  # replace a byte with a structural one
            if n:
                buf[min(pos, n - 1)] = rng.choice(b"\x1d\x1e\x1f<>\"{}[],:")
    return bytes(buf)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1.5, 1e308])
    if kind == 3:
        return rng.choice(["", "x", "中文", "\ud800", "a" * 300, "<record/>", "_", "245"])
    if kind == 4:  # deep nesting, built without recursion
        value: Any = "x"
        for _ in range(rng.choice([10, 100, 1_000, 5_000])):
            value = [value] if rng.random() < 0.5 else {"k": value}
        return value
    if kind == 5:
        return []
    if kind in (6, 7):
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["fields", "tag", "subfields", "itemList", "callList", "bib", "key",
                        "data", "inds", "items", "marcxml", "leader"]):
            _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _paths(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value in a JSON document, walked without recursion."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, value in items:
            out.append((node, key))
            stack.append(value)
    return out


def _dumps(value: Any) -> bytes:
    """json.dumps, except for the deep values `_random_json` makes (json.dumps recurses)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except RecursionError:
        return _dumps_iter(value)


def _dumps_iter(value: Any) -> bytes:
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, bytes):
            out.append(v)
        elif isinstance(v, dict):
            parts: list[Any] = [b"{"]
            for i, (k, item) in enumerate(v.items()):
                parts += [b"," if i else b"", json.dumps(k).encode() + b":", item]
            parts.append(b"}")
            stack.extend(reversed(parts))
        elif isinstance(v, list):
            parts = [b"["]
            for i, item in enumerate(v):
                parts += [b"," if i else b"", item]
            parts.append(b"]")
            stack.extend(reversed(parts))
        else:
            out.append(json.dumps(v).encode("utf-8", "surrogatepass"))
    return b"".join(out)


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Replace, delete or retype one value anywhere in a real JSON document."""
    doc = json.loads(data)
    paths = _paths(doc)
    for _ in range(rng.randint(1, 3)):
        if not paths:
            break
        node, key = rng.choice(paths)
        if rng.random() < 0.2 and isinstance(node, dict):
            node.pop(key, None)
        else:
            node[key] = _random_json(rng)
        paths = _paths(doc) if rng.random() < 0.3 else paths
    return _dumps(doc)


# -- targets: what each parser is called through, as the product calls it ----------------

SOURCE = Source(name="fuzz", library="SXPL", protocol="z3950", address="x",
                members=(("BJ", "BJLIB"), ("SXPL", "SXPL")))


def parse_file(data: bytes, encoding: str = "auto", flavour: str = "auto") -> int:
    """`tongjian normalize`'s path: every record of a file read and crosswalked; a bad
    record has a reason.  Returns the number of records."""
    n = 0
    for parsed in read(data, encoding, flavour):
        if parsed.marc is None:
            assert parsed.error, "a bad record without a reason"
            continue
        storable(to_record(parsed.marc, "fuzz", "SXPL", f"#{parsed.position}", flavour))
        n += 1
    return n


def storable(record: Record) -> None:
    """A record must also be storable: the store writes it as UTF-8 JSON, and a lone
    surrogate that got this far would stop the harvest there (UnicodeEncodeError)."""
    json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8")


def parse_raw(data: bytes, syntax: str) -> int:
    """A connector's record through `from_raw`: 1 for a Record, 0 for a RecordError."""
    try:
        record = from_raw(RawRecord("fuzz", 1, data, syntax, "1"), SOURCE)
    except RecordError as e:
        assert str(e), "a RecordError without a reason"
        return 0
    storable(record)
    return 1


TARGETS: dict[str, tuple[Callable[[], list[bytes]], Callable[[bytes], int]]] = {
    "iso2709": (iso_seeds, parse_file),
    "iso2709-gb18030": (iso_seeds, lambda d: parse_file(d, "gb18030", "cnmarc")),
    "iso2709-marc8": (iso_seeds, lambda d: parse_file(d, "marc-8", "marc21")),
    "iso2709-raw": (iso_seeds, lambda d: parse_raw(d, "usmarc")),
    "marcxml": (marcxml_seeds, parse_file),
    "marcxml-raw": (marcxml_seeds, lambda d: parse_raw(d, "marcxml")),
    "oai_dc": (oai_seeds, lambda d: parse_raw(d, "oai_dc")),
    "koha": (koha_seeds, lambda d: parse_raw(d, "koha")),
    "symphony": (symphony_seeds, lambda d: parse_raw(d, "symphony")),
}
JSON_TARGETS = ("koha", "symphony")


def fuzz_input(name: str, rng: random.Random) -> bytes:
    """One mutated input for a target (JSON targets get structural mutations half the
    time, byte mutations otherwise)."""
    seeds = TARGETS[name][0]()
    seed = rng.choice(seeds)
    if name in JSON_TARGETS and rng.random() < 0.5:
        return mutate_json(seed, rng)
    return mutate(seed, rng, seeds)


# -- the properties -------------------------------------------------------------------------

FUZZ = settings(max_examples=800, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _seeds_present() -> None:
    shared_data("derived/dp2_cnmarc_10recs.utf8.iso")  # skips without ../shared/data


@pytest.mark.parametrize("name", list(TARGETS))
@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_real_input_is_a_record_or_a_record_error(name: str, seed: int) -> None:
    TARGETS[name][1](fuzz_input(name, random.Random(seed)))


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_are_a_record_or_a_record_error(data: bytes) -> None:
    for target in ("iso2709", "koha", "symphony", "oai_dc"):
        TARGETS[target][1](data)


@pytest.mark.parametrize("name", list(TARGETS))
def test_the_seeds_themselves_parse(name: str) -> None:
    """The unmutated seeds are real, good records: most of them must come out as records
    (otherwise the fuzzing explores only the error paths)."""
    seeds, target = TARGETS[name]
    got = [target(s) for s in seeds()]
    assert len(got) >= 5 and sum(1 for g in got if g) >= len(got) // 2, (name, got)
