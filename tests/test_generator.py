"""Tests for the seeded consortium generator (tongjian.generator).

The checks re-derive what they assert (ISBN check digits, 880 pairing, byte lengths) with
code written here, not the generator's own helpers, so a generator bug cannot hide itself.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from harvest.iso2709 import RawMarc, parse, split_records
from tongjian.generator import (
    DEMO_EXTRA_LIBRARIES,
    DEMO_LIBRARIES,
    LibrarySpec,
    generate_consortium,
    iter_editions,
    iter_library_records,
    write_consortium,
    write_demo_data,
)
from tongjian.generator.consortium import DEMO_DIR, DEMO_EDITIONS, DEMO_SEED

ENCODING = {"SXPL": "utf-8", "XYLIB": "gb18030", "SMLIB": "utf-8", "PROV": "utf-8",
            "BJLIB": "utf-8", "CWLIB": "gb18030"}
MARC21 = {"SMLIB", "BJLIB"}
FAMOUS = ["红楼梦", "平凡的世界", "白鹿原", "中国发展报告", "围城", "活着", "三体"]
CLC_CLASSES = set("ABCDEFGHIJKNOPQRSTUVXZ")


# ------------------------------------------------------------------------------ helpers


def isbn13_ok(s: str) -> bool:
    if len(s) != 13 or not s.isdigit():
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(s))
    return total % 10 == 0


def isbn10_ok(s: str) -> bool:
    if len(s) != 10 or not s[:9].isdigit() or not (s[9].isdigit() or s[9] == "X"):
        return False
    total = sum((10 if c == "X" else int(c)) * (10 - i) for i, c in enumerate(s))
    return total % 11 == 0


def to13(s: str) -> str:
    if len(s) == 13:
        return s
    body = "978" + s[:9]
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


def subfields(rec: RawMarc, tag: str, code: str, enc: str) -> list[str]:
    return [v.decode(enc) for f in rec.get(tag) for c, v in f.subfields() if c == code]


def records(path: Path) -> list[tuple[bytes, RawMarc]]:
    data = path.read_bytes()
    return [(chunk, parse(chunk)) for _, chunk in split_records(data)]


def isbn_field(code: str) -> str:
    return "020" if code in MARC21 else "010"


def clean_isbn(text: str) -> str:
    return text.split(" ")[0].replace("-", "")


def titles(code: str, rec: RawMarc) -> list[str]:
    enc = ENCODING[code]
    if code not in MARC21:
        return subfields(rec, "200", "a", enc)
    vern = [v.decode(enc) for f in rec.get("880") for c, v in f.subfields()
            if c == "a" and f.subfields()[0][1].startswith(b"245")]
    out = vern or subfields(rec, "245", "a", enc)
    return [t.rstrip(" /.:") for t in out]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[bytes, RawMarc]]]:
    out = tmp_path_factory.mktemp("demo")
    paths = write_demo_data(out)
    return {code: records(path) for code, path in paths.items()}


SMALL = [
    LibrarySpec("A1", "甲馆", "cnmarc", "utf-8", "A", 0.5),
    LibrarySpec("B2", "乙馆", "cnmarc", "gb18030", "B", 0.4),
    LibrarySpec("C3", "丙馆", "marc21", "utf-8", "C", 0.2),
]


def small_bytes(seed: int, editions: int = 300) -> dict[str, bytes]:
    return {code: b"".join(it)
            for code, it in generate_consortium(seed, SMALL, editions).items()}


# -------------------------------------------------------------------------- determinism


def test_same_seed_gives_same_bytes_and_other_seed_differs() -> None:
    first, again, other = small_bytes(11), small_bytes(11), small_bytes(12)
    assert first == again
    assert all(first[code] for code in first)
    assert all(first[code] != other[code] for code in first)


def test_single_pass_parallel_and_per_library_agree(tmp_path: Path) -> None:
    single = write_consortium(tmp_path / "one", 5, SMALL, 250)
    parallel = write_consortium(tmp_path / "two", 5, SMALL, 250, processes=2)
    for spec in SMALL:
        own = b"".join(iter_library_records(5, SMALL, spec.code, 250))
        assert single[spec.code].read_bytes() == own
        assert parallel[spec.code].read_bytes() == own


def test_committed_demo_data_is_what_the_generator_writes(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    for spec in DEMO_LIBRARIES + DEMO_EXTRA_LIBRARIES:
        committed = DEMO_DIR / spec.filename
        assert committed.exists(), f"run: python -m tongjian.generator --demo --out {DEMO_DIR}"
        assert committed.read_bytes() == b"".join(chunk for chunk, _ in demo[spec.code])
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    assert f"--seed {DEMO_SEED}" in readme and f"--editions {DEMO_EDITIONS}" in readme


def test_demo_size_is_a_few_thousand_records_under_4mb(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    counts = {code: len(recs) for code, recs in demo.items()}
    assert 1000 <= counts["SXPL"] <= 1400
    assert 750 <= counts["XYLIB"] <= 1050
    assert 480 <= counts["SMLIB"] <= 720
    assert 700 <= counts["PROV"] <= 1050 and 500 <= counts["BJLIB"] <= 800
    size = sum(len(chunk) for recs in demo.values() for chunk, _ in recs)
    assert size < 4_000_000


# --------------------------------------------------------------------------------- ISBNs


def test_isbn_check_digits_are_valid_except_the_deliberate_typos(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    total = bad = missing = 0
    for code, recs in demo.items():
        for _, rec in recs:
            values = [clean_isbn(v) for v in
                      subfields(rec, isbn_field(code), "a", ENCODING[code])]
            if not values:
                missing += 1
            for v in values:
                total += 1
                ok = isbn13_ok(v) if len(v) == 13 else isbn10_ok(v)
                if not ok:
                    bad += 1
                    assert len(v) in (10, 13), v  # a typo, not a mangled number
                    continue
                if code not in MARC21 and subfields(rec, "101", "a", ENCODING[code]) == ["chi"]:
                    assert to13(v).startswith("9787"), v  # Chinese books: group 7
    n = sum(len(recs) for recs in demo.values())
    assert 0 < bad <= 0.025 * total, (bad, total)
    assert 0.05 <= missing / n <= 0.12, missing / n


def test_isbn10_and_isbn13_forms_both_occur(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    forms = collections.Counter()
    for _, rec in demo["SXPL"]:
        for v in subfields(rec, "010", "a", "utf-8"):
            forms[(len(clean_isbn(v)), "-" in v)] += 1
    assert forms[(13, True)] and forms[(10, True)]
    assert forms[(13, True)] + forms[(13, False)] > forms[(10, True)] + forms[(10, False)]


def test_no_two_editions_share_an_isbn() -> None:
    seen: dict[str, str] = {}
    for ed, holders in iter_editions(DEMO_SEED, DEMO_LIBRARIES, DEMO_EDITIONS):
        assert holders, ed.key  # every edition is held somewhere
        if ed.isbn13:
            assert isbn13_ok(ed.isbn13)
            assert seen.setdefault(ed.isbn13, ed.key) == ed.key, ed.isbn13


# ------------------------------------------------------------------------ encodings


def test_gb18030_file_decodes_and_lengths_are_bytes(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    charsets = collections.Counter()
    for chunk, rec in demo["XYLIB"]:
        assert int(chunk[:5]) == len(chunk)
        text = chunk.decode("gb18030")  # strict
        assert re.search(r"[\u4e00-\u9fff]", text)
        with pytest.raises(UnicodeDecodeError):
            chunk.decode("utf-8")
        value = subfields(rec, "100", "a", "gb18030")[0]
        assert len(value) == 36
        charsets[value[26:28]] += 1
    assert charsets["01"] > 0.9 * sum(charsets.values())
    assert charsets["50"] > 0  # a few records lie about their character set


def test_utf8_files_parse_and_say_so(demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    for code in ("SXPL", "SMLIB"):
        for chunk, rec in demo[code]:
            assert int(chunk[:5]) == len(chunk)
            chunk.decode("utf-8")
            if code == "SXPL":
                value = subfields(rec, "100", "a", "utf-8")[0]
                assert len(value) == 36 and value[26:28] == "50"
                assert rec.leader[20:23] == b"450"
            else:
                assert rec.leader[9:10] == b"a"
                assert len(rec.get("008")[0].data) == 40


def test_record_ids_and_barcodes_are_unique_per_library(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    barcode_tag = {"SXPL": ("906", "a"), "XYLIB": ("906", "a"), "SMLIB": ("952", "p"),
                   "PROV": ("906", "a"), "BJLIB": ("952", "p"), "CWLIB": ("906", "a")}
    for code, recs in demo.items():
        ids = [rec.get("001")[0].data for _, rec in recs]
        assert len(set(ids)) == len(ids)
        tag, sub = barcode_tag[code]
        barcodes = [b for _, rec in recs for b in subfields(rec, tag, sub, ENCODING[code])]
        assert len(set(barcodes)) == len(barcodes) > len(recs)  # several copies for some


# ------------------------------------------------------------------- holdings & overlap


def test_famous_titles_are_held_by_several_libraries(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    holders: dict[str, set[str]] = collections.defaultdict(set)
    for code, recs in demo.items():
        for _, rec in recs:
            for t in titles(code, rec):
                for famous in FAMOUS:
                    if t.startswith(famous):
                        holders[famous].add(code)
    for famous in FAMOUS:
        assert len(holders[famous]) >= 2, (famous, holders[famous])


def test_popular_editions_overlap_and_share_title(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    by_isbn: dict[str, dict[str, str]] = collections.defaultdict(dict)
    zebra_members = {spec.code for spec in DEMO_LIBRARIES}
    for code, recs in demo.items():
        if code not in zebra_members:
            continue
        for _, rec in recs:
            vals = [clean_isbn(v) for v in subfields(rec, isbn_field(code), "a", ENCODING[code])]
            vals = [to13(v) for v in vals if (isbn13_ok(v) if len(v) == 13 else isbn10_ok(v))]
            t = titles(code, rec)
            for v in vals:
                by_isbn[v][code] = t[0] if t else ""
    shared = {k: v for k, v in by_isbn.items() if len(v) >= 2}
    assert len(shared) >= 48  # dozens held by two or three libraries
    assert sum(len(v) == 3 for v in shared.values()) >= 24
    assert sum(len(v) == 1 for v in by_isbn.values()) > len(shared)  # long tail
    for isbn, per_lib in shared.items():
        a = per_lib.get("SXPL")
        b = per_lib.get("XYLIB")
        if a and b:  # XYLIB may append the part number (中国发展报告2019)
            assert b.startswith(a) or a.startswith(b), (isbn, a, b)


def test_same_edition_is_catalogued_independently(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    def index(code: str) -> dict[str, RawMarc]:
        out = {}
        for _, rec in demo[code]:
            for v in subfields(rec, "010", "a", ENCODING[code]):
                v = clean_isbn(v)
                if isbn13_ok(v) or isbn10_ok(v):
                    out[to13(v)] = rec
        return out

    sx, xy = index("SXPL"), index("XYLIB")
    common = sorted(set(sx) & set(xy))
    assert len(common) >= 30
    for isbn in common:
        a, b = sx[isbn], xy[isbn]
        if subfields(a, "101", "a", "utf-8") != ["chi"]:
            continue
        codes_a = {c for f in a.get("200") for c, _ in f.subfields()}
        codes_b = {c for f in b.get("200") for c, _ in f.subfields()}
        assert "A" in codes_a and "9" not in codes_a  # SXPL: upper-case pinyin twins
        assert "9" in codes_b and "A" not in codes_b  # XYLIB: pinyin in $9
        bar_a = subfields(a, "906", "a", "utf-8")
        bar_b = subfields(b, "906", "a", "gb18030")
        assert bar_a and bar_b and not set(bar_a) & set(bar_b)
        assert all(x.startswith("61") for x in bar_a) and all(x.startswith("XY") for x in bar_b)
    prices_b = {subfields(xy[i], "010", "d", "gb18030")[0][:1] for i in common
                if subfields(xy[i], "010", "d", "gb18030")}
    assert len(prices_b) >= 3  # CNY…, ￥…, …元


def test_holdings_call_numbers_are_consistent(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    locations = set()
    for _, rec in demo["SXPL"]:
        call = subfields(rec, "905", "s", "utf-8")[0]
        klass = subfields(rec, "905", "d", "utf-8")[0]
        number = subfields(rec, "905", "e", "utf-8")[0]
        assert call.startswith(f"{klass}/{number}")
        items = rec.get("906")
        assert items
        for f in items:
            sub = dict((c, v.decode()) for c, v in f.subfields())
            assert sub["c"] == call
            locations.add(sub["b"])
    assert {"地方文献阅览室", "少儿借阅室", "保存本库"} <= locations


def test_multivolume_sets_are_one_record_per_volume(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    slot_of = {ed.isbn13: (ed.slot, ed.vol) for ed, _ in
               iter_editions(DEMO_SEED, DEMO_LIBRARIES, DEMO_EDITIONS) if ed.isbn13 and ed.vol}
    sets: dict[int, list[tuple[int, str, str, str]]] = collections.defaultdict(list)
    for _, rec in demo["SXPL"]:
        for v in subfields(rec, "010", "a", "utf-8"):
            v = clean_isbn(v)
            if (isbn13_ok(v) or isbn10_ok(v)) and to13(v) in slot_of:
                slot, vol = slot_of[to13(v)]
                parts = subfields(rec, "200", "h", "utf-8") + subfields(rec, "200", "i", "utf-8")
                sets[slot].append((vol, to13(v), subfields(rec, "905", "s", "utf-8")[0],
                                   parts[0] if parts else ""))
    multi = {k: v for k, v in sets.items() if len(v) >= 2}
    assert len(multi) >= 5
    for vols in multi.values():
        assert len({v[1] for v in vols}) == len(vols)  # a different ISBN per volume
        assert len({v[3] for v in vols}) == len(vols)  # a different $h/$i per volume
        assert len({v[2].rsplit(":", 1)[0] for v in vols}) == 1  # same class/种次号 …
        assert {v[2].rsplit(":", 1)[1] for v in vols} == {str(v[0]) for v in vols}  # … + vol


# ---------------------------------------------------------------------------- content


def test_all_22_clc_classes_are_represented(
        demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    seen = set()
    for code, recs in demo.items():
        tag = "084" if code in MARC21 else "690"
        for _, rec in recs:
            seen.update(v[:1] for v in subfields(rec, tag, "a", ENCODING[code]))
    assert seen >= CLC_CLASSES


def test_marc21_880_links_pair_up(demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    english = linked = 0
    for _, rec in demo["SMLIB"]:
        forward: dict[str, str] = {}
        backward: dict[str, str] = {}
        for f in rec.fields:
            if f.is_control:
                continue
            six = [v.decode() for c, v in f.subfields() if c == "6"]
            if not six:
                continue
            if f.tag == "880":
                m = re.fullmatch(r"(\d{3})-(\d{2})(/.*)?", six[0])
                assert m, six[0]
                assert m.group(2) not in backward
                backward[m.group(2)] = m.group(1)
            else:
                m = re.fullmatch(r"880-(\d{2})", six[0])
                assert m, six[0]
                forward[m.group(1)] = f.tag
        assert forward == backward
        lang = rec.get("008")[0].data[35:38]
        if lang == b"eng":
            english += 1
            assert not rec.get("880")
        else:
            linked += bool(forward)
            vern = [v.decode() for f in rec.get("880") for c, v in f.subfields() if c == "a"]
            assert any(re.search(r"[\u4e00-\u9fff]", v) for v in vern)
    n = len(demo["SMLIB"])
    assert 0.22 <= english / n <= 0.4
    assert linked == n - english


def test_cnmarc_pinyin_and_languages(demo: dict[str, list[tuple[bytes, RawMarc]]]) -> None:
    langs = collections.Counter()
    for _, rec in demo["SXPL"]:
        lang = subfields(rec, "101", "a", "utf-8")[0]
        langs[lang] += 1
        pinyin = subfields(rec, "200", "A", "utf-8")
        if lang == "chi":
            assert pinyin and re.fullmatch(r"[A-Za-z0-9 ,.:;'+ÜüⅡⅢ“”()·\-]+", pinyin[0]), pinyin
        else:
            assert not pinyin
    assert langs["chi"] > 0.9 * sum(langs.values()) and langs["eng"] > 0
