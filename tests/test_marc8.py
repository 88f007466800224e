"""MARC-8 (with EACC CJK) converts exactly as the reference conversions in ../shared/data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harvest import iso2709, marc8
from harvest.marc import decode_iso2709
from tests.conftest import shared_data


def _reference(path, ns):
    root = ET.parse(path).getroot()
    out = []
    for rec in root.iter(ns + "record"):
        out.append([
            (d.get("tag"), [(s.get("code"), s.text or "") for s in d.findall(ns + "subfield")])
            for d in rec.findall(ns + "datafield")
        ])
    return out


def _ours(path):
    out = []
    for _, chunk in iso2709.split_records(path.read_bytes()):
        marc = decode_iso2709(chunk)
        assert marc.encoding == "marc-8"
        out.append([(f.tag, f.subfields) for f in marc.fields if f.value is None])
    return out


def test_marc12_converts_exactly_as_yaz_reference():
    ref = _reference(shared_data("marc21_cjk/yaz/marc12.xml"),
                     "{http://www.loc.gov/MARC21/slim}")
    ours = _ours(shared_data("marc21_cjk/yaz/marc12.marc"))
    assert ours == ref
    # The hard case pymarc gets wrong: the 880 520 with EACC runs and stray delimiters.
    summary = next(subs[1][1] for t, subs in ours[0] if t == "880" and subs[0][1][:3] == "520")
    assert "树上又有什么让人惊讶的景象呢 绘本作家刘旭恭" in summary


def test_irmarc8_matches_xbib_reference_for_every_subfield_it_has():
    ref = _reference(shared_data("marc21_cjk/xbib/IRMARC8.bin.xml"),
                     "{info:lc/xmlns/marcxchange-v2}")
    ours = _ours(shared_data("marc21_cjk/xbib/IRMARC8.bin"))
    assert len(ours) == len(ref) == 10
    compared = 0
    for our_rec, ref_rec in zip(ours, ref, strict=True):
        assert [t for t, _ in our_rec] == [t for t, _ in ref_rec]
        for (tag, our_subs), (_, ref_subs) in zip(our_rec, ref_rec, strict=True):
            # xbib's writer drops a few 880 subfields it could not convert; every subfield it
            # does have must be identical to one of ours, in order.
            rest = iter(our_subs)
            assert all(any(sub == ours_ for ours_ in rest) for sub in ref_subs), tag
            compared += len(ref_subs)
    assert compared > 250


def test_marc8_ascii_and_reset_between_strings():
    assert marc8.decode(b"plain text") == "plain text"
    # An unterminated escape into EACC must not leak into the next string.
    first = marc8.decode(b"\x1b$1!0q")
    assert first and first != "!0q"
    assert marc8.decode(b"abc") == "abc"
