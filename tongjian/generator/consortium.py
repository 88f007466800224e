"""A seeded model of a union catalogue: editions, libraries, and who holds what.

The shape of the data matters more than its volume: a merge step can only be tested on a
catalogue where the *same* edition appears in several libraries, catalogued independently
(same ISBN and title, different pinyin habits, prices, call numbers and item data), next to
different editions of the same work (reprints of 论语 by five presses) that must *not* be
merged.  So the model is two-layered:

* the **universe** — edition slots 0..N-1.  Slot *s* is generated from its own
  `random.Random` seeded by (seed, s), so any edition can be rebuilt without generating the
  others, and every library sees identical edition facts.  A multi-volume set occupies one
  slot and yields one edition per volume.  ISBN publication numbers come from per-prefix
  counters advanced in slot order; when a press's space is full the book moves to another
  press with room, so no two editions ever share an ISBN (not even at 10^6 editions).
* the **libraries** — each decides per slot whether it holds the edition from a hash of
  (seed, slot, library code) and the edition's popularity (a heavy-tailed draw), so a few
  titles are everywhere and the long tail sits in one library.  A slot no one picked is
  given to one library: every edition exists somewhere.

A library's own state (record ids, barcodes, 种次号 counters, its cataloguers' habits) is
a `random.Random` stream advanced only by that library's records, in slot order.  Hence
library *k*'s file depends only on (seed, the library list, N), and `write_consortium`
can write all files in one pass or in parallel processes with identical bytes.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from tongjian.generator import vocab as V

# ------------------------------------------------------------------------------ hashing

_M64 = 0xFFFFFFFFFFFFFFFF


def _sm(x: int) -> int:
    """splitmix64 finaliser: cheap, good enough to turn (seed, slot, salt) into a uniform."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _mix(*parts: int) -> int:
    h = 0
    for p in parts:
        h = _sm(h ^ (p & _M64))
    return h


def _unit(*parts: int) -> float:
    return _mix(*parts) / 18446744073709551616.0


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _cum(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


# ------------------------------------------------------------------------------- ISBNs


def isbn13_check(first12: str) -> str:
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_check(first9: str) -> str:
    total = sum(int(c) * (10 - i) for i, c in enumerate(first9))
    r = (11 - total % 11) % 11
    return "X" if r == 10 else str(r)


def _prefix_digits(prefix: str) -> str:
    """'978-7-02' → '978702'; the remaining digits are the publication number + check."""
    return prefix.replace("-", "")


# ------------------------------------------------------------------------------ pinyin

_JIEBA = None


def _segment(text: str) -> list[str]:
    """Word-segment Chinese (jieba, dictionary only) so pinyin can be written by words."""
    global _JIEBA
    if _JIEBA is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.ERROR)
        jieba.initialize()
        _JIEBA = jieba
    return _JIEBA.lcut(text, HMM=False)


@cache
def char_pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0]


@cache
def _word_pinyin(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(s.strip() for s in lazy_pinyin(word) if s.strip())


@lru_cache(maxsize=300_000)
def pinyin_words(text: str) -> tuple[tuple[str, ...], ...]:
    """Pinyin syllables grouped by word.  Cached twice over (whole strings and single
    words): pypinyin is the slowest step of record generation, and words repeat."""
    return tuple(syl for syl in (_word_pinyin(w) for w in _segment(text) if w.strip()) if syl)


def format_pinyin(words: Sequence[Sequence[str]], style: str) -> str:
    """Render pinyin the way a given library's cataloguers habitually type it.

    Real CNMARC shows all of: "Zhong Guo Fa Zhan Bao Gao", "zhong guo fa zhan bao gao",
    "zhongguo fazhan baogao", "Zhongguo Fazhan Baogao", "ZHONG GUO…" — same title, same ISBN.
    """
    if style == "cap_syll":
        return " ".join(s[:1].upper() + s[1:] for w in words for s in w)
    if style == "lower_syll":
        return " ".join(s for w in words for s in w)
    if style == "word":
        return " ".join("".join(w) for w in words)
    if style == "cap_word":
        return " ".join("".join(w)[:1].upper() + "".join(w)[1:] for w in words)
    if style == "upper":
        return " ".join(s.upper() for w in words for s in w)
    raise ValueError(f"unknown pinyin style {style!r}")


_PROPER_RE: re.Pattern[str] | None = None


@lru_cache(maxsize=100_000)
def alalc(text: str) -> str:
    """ALA-LC romanization as US libraries write it in 245/260 beside an 880.

    Common words go syllable by syllable, proper nouns are joined and capitalised, the
    first letter is upper case: 中国经济发展研究 → "Zhongguo jing ji fa zhan yan jiu".
    """
    global _PROPER_RE
    from pypinyin import lazy_pinyin

    if _PROPER_RE is None:
        keys = sorted(V.PROPER_NOUNS, key=len, reverse=True)
        _PROPER_RE = re.compile("(" + "|".join(map(re.escape, keys)) + ")")
    parts: list[str] = []
    for chunk in _PROPER_RE.split(text):
        if not chunk:
            continue
        if chunk in V.PROPER_NOUNS:
            parts.append(V.PROPER_NOUNS[chunk])
            continue
        for syl in lazy_pinyin(chunk, v_to_u=True):
            syl = syl.strip()
            if not syl:
                continue
            if syl in "：:":
                parts.append(":")
            elif syl in "，,、":
                parts.append(",")
            elif syl != "·":
                parts.append(syl)
    out = " ".join(parts).replace(" :", " :").replace(" ,", ",")
    return out[:1].upper() + out[1:]


# ------------------------------------------------------------------------------ model


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # as transcribed: 曹雪芹 / 约翰·史密斯 / Austen, Jane / 中国发展研究基金会
    role: str  # 著, 编, 主编, 译 …
    syllables: tuple[str, ...] = ()  # correct pinyin; empty for western names
    naive: tuple[str, ...] = ()  # what pinyin software gives (曾 → ceng)
    surname_len: int = 1  # syllables that belong to the surname
    prefix: str = ""  # dynasty or nationality, without brackets: 清 / 美
    dates: str = ""
    corporate: bool = False
    western: bool = False
    latin: str = ""  # original-script heading of a transliterated foreign name


@dataclass(slots=True)
class Edition:
    """One edition (one ISBN or none) as the title page says it — before any cataloguing."""

    key: str  # "s<slot>v<vol>": identity across libraries (ground truth for merging)
    slot: int
    vol: int  # 0 = not part of a set, else 1..nvol
    nvol: int
    kind: str
    lang: str  # chi | eng
    title: str
    persons: tuple[Person, ...]
    publisher: str
    place: str
    year: int
    month: int
    price: str  # "39.00"
    currency: str  # CNY | GBP | USD
    pages: int
    cm: int
    clc: str
    subjects: tuple[tuple[tuple[str, str], ...], ...]  # CNMARC 606 subfield lists
    popularity: float
    other: str = ""  # 200 $e other title information
    part_no: str = ""  # 200 $h
    part_name: str = ""  # 200 $i
    edition_stmt: str = ""
    isbn13: str = ""
    isbn_prefix: str = ""  # hyphenated "978-7-02" for hyphenation
    unified: str = ""  # pre-1987 统一书号
    illus: bool = False
    volumes_in_record: int = 1  # "2册" for a set catalogued as one record
    series: str = ""
    series_no: str = ""
    summary: str = ""
    lcsh: tuple[str, ...] = ()
    lcc: str = ""
    audience: str = "em "
    lit_form: str = "y"  # 105/11: a fiction, g poetry, c essays, y not literature
    orig_lang: str = ""  # translated from
    region: str = "110000"  # 102 $b
    country: str = "CN"
    local: bool = False
    children: bool = False

    @property
    def isbn10(self) -> str:
        """The ISBN-10 printed on books before 2007, '' when there is none."""
        if not self.isbn13.startswith("978"):
            return ""
        nine = self.isbn13[3:12]
        return nine + isbn10_check(nine)

    def hyphenated(self, ten: bool = False) -> str:
        group, registrant = self.isbn_prefix.split("-")[1:3]
        pub_len = 9 - len(group) - len(registrant)
        pub = self.isbn13[3 + len(group) + len(registrant):12]
        assert len(pub) == pub_len
        if ten:
            return f"{group}-{registrant}-{pub}-{self.isbn10[-1]}"
        return f"978-{group}-{registrant}-{pub}-{self.isbn13[-1]}"


Flavour = Literal["cnmarc", "marc21"]


@dataclass(frozen=True)
class LibrarySpec:
    """A member library.

    `share` is roughly the fraction of edition slots the library holds; `english` scales
    its appetite for English-language books (default: high for MARC 21 libraries, low for
    CNMARC ones); `home` are place words whose local documents it collects eagerly.
    """

    code: str
    name: str
    flavour: Flavour
    encoding: Literal["utf-8", "gb18030"]
    barcode_prefix: str
    share: float
    english: float | None = None
    home: tuple[str, ...] = ()

    @property
    def english_affinity(self) -> float:
        if self.english is not None:
            return self.english
        return 12.0 if self.flavour == "marc21" else 0.35

    @property
    def filename(self) -> str:
        enc = {"utf-8": "utf8", "gb18030": "gb18030"}[self.encoding]
        ext = "iso" if self.flavour == "cnmarc" else "mrc"
        return f"{self.code}.{self.flavour}.{enc}.{ext}"


@dataclass(frozen=True)
class Style:
    """A library's cataloguing habits — what makes two records of one edition differ."""

    agency: str = ""  # 801 $b; defaults to the library code
    pinyin_code: str = "A"  # CNMARC pinyin subfield: "A" (upper-case twins) or "9"
    pinyin_styles: tuple[tuple[str, float], ...] = (("cap_syll", 1.0),)
    naive_pinyin: float = 0.0  # share of names whose pinyin is the software's guess
    leader_dash: float = 0.0  # share of leaders using '-' for blanks
    leader_tail: str = "450 "
    id_scheme: str = "nlc12"  # nlc12 | seq10 | koha
    resp_spaced: float = 0.0  # "曹雪芹 著" instead of "曹雪芹著"
    resp_role_first: float = 0.0  # "主编张三"
    price_styles: tuple[tuple[str, float], ...] = (("CNY", 1.0),)
    isbn_hyphen: float = 0.8
    isbn_convert10: float = 0.1  # ISBN-10-era books entered in ISBN-13 form
    isbn_omit: float = 0.01
    isbn_typo: float = 0.01  # wrong check digit in 010$a / 020$a
    clc_edition: str = "5"
    clc_truncate: float = 0.0
    subject_joined: float = 0.0  # "经济发展 概况 中国" typed into one $a
    summary: float = 0.3
    copy_cataloguing: float = 0.5  # 801 #0 $bNLC before the library's own 801
    hash_fill_100: float = 0.02  # '#' placeholders in 100$a
    holdings: str = "provincial"  # key into vocab.LOCATIONS
    status_share: float = 0.7
    vol_sep: str = ":"
    shelf_scheme: str = "seq"  # seq (种次号) | author (著者号)
    shelf_start: int = 1
    barcode_width: int = 8
    automation_year: int = 1998
    extra_copies: float = 0.5
    reserve_copy: float = 0.0  # provincial libraries keep one copy in the 保存本库
    name_variants: float = 0.0  # writes 钱锺书 for 钱钟书
    items_in_905: bool = False  # barcodes repeated in 905 $b (older systems) besides 906
    title_part_in_a: float = 0.0  # "中国发展报告2019" in $a instead of $a + $h


STYLES: dict[str, Style] = {
    # Provincial library: NLC-derived copy cataloguing, upper-case pinyin twins.
    "SXPL": Style(agency="SXPL", pinyin_code="A",
                  pinyin_styles=(("cap_syll", 0.7), ("word", 0.2), ("lower_syll", 0.1)),
                  leader_dash=0.1, leader_tail="450 ", id_scheme="nlc12",
                  price_styles=(("CNY", 0.97), ("CNY_short", 0.03)), isbn_hyphen=0.85,
                  isbn_convert10=0.15, summary=0.45, copy_cataloguing=0.6,
                  holdings="provincial", shelf_start=1, barcode_width=7,
                  automation_year=1998, extra_copies=0.6, reserve_copy=0.35),
    # City library on an older system: $9 pinyin, GB18030 exports, noisier data.
    "XYLIB": Style(agency="XYLIB", pinyin_code="9",
                   pinyin_styles=(("lower_syll", 0.8), ("word", 0.15), ("upper", 0.05)),
                   naive_pinyin=0.35, leader_dash=0.0, leader_tail="4500", id_scheme="seq10",
                   resp_spaced=0.4, resp_role_first=0.3,
                   price_styles=(("CNY", 0.5), ("yen", 0.25), ("yuan", 0.2), ("bare", 0.05)),
                   isbn_hyphen=0.4, isbn_convert10=0.3, isbn_omit=0.015, clc_edition="4",
                   clc_truncate=0.3, subject_joined=0.03, summary=0.15, copy_cataloguing=0.2,
                   hash_fill_100=0.05, holdings="city", status_share=0.9, vol_sep="-",
                   shelf_start=1, barcode_width=8, automation_year=2004, extra_copies=0.4,
                   name_variants=1.0, title_part_in_a=0.6, items_in_905=True),
    # County library on Koha/MARC 21 with ALA-LC romanization and 880s.
    "SMLIB": Style(agency="SMLIB", id_scheme="koha", isbn_hyphen=0.0, isbn_convert10=0.9,
                   summary=0.1, holdings="county", shelf_scheme="author",
                   automation_year=2012, extra_copies=0.3, barcode_width=8),
}


def style_for(spec: LibrarySpec) -> Style:
    """A stable style for any library: presets for the demo codes, else one derived by hash."""
    if spec.code in STYLES:
        return STYLES[spec.code]
    base = STYLES["SMLIB"] if spec.flavour == "marc21" else (
        STYLES["SXPL"] if _crc(spec.code) % 2 else STYLES["XYLIB"])
    return replace(base, agency=spec.code, shelf_start=1 + _crc(spec.code) % 400)


# ----------------------------------------------------------------------- edition slots

_KINDS: tuple[tuple[str, float], ...] = (
    ("academic", 21), ("textbook", 15), ("popular", 8), ("novel", 13), ("foreign", 4),
    ("classic", 3.5), ("modern", 2.5), ("local", 9), ("children", 7), ("yearbook", 1.5),
    ("en_fiction", 4.5), ("en_tech", 5.5),
)
_KIND_NAMES = tuple(k for k, _ in _KINDS)
_KIND_CUM = _cum([w for _, w in _KINDS])
#: Base popularity by kind: classics and novels circulate more than monographs.
_POPULARITY = {"academic": 0.55, "textbook": 0.8, "popular": 1.0, "novel": 1.0, "foreign": 1.1,
               "classic": 2.2, "modern": 2.0, "local": 0.9, "children": 1.2, "yearbook": 0.9,
               "en_fiction": 1.3, "en_tech": 0.9}

_YEARS = list(range(1975, 2025))


def _year_cum(old: float, early: float, mid: float, late: float) -> list[float]:
    def w(y: int) -> float:
        return old if y < 1987 else early if y < 2000 else mid if y < 2010 else late
    return _cum([w(y) for y in _YEARS])


_YEAR_CUM = {
    "default": _year_cum(0.28, 1.0, 2.0, 3.2),
    "old": _year_cum(0.7, 1.2, 1.5, 2.0),
    "recent": _year_cum(0.0, 0.4, 1.5, 3.5),
}
_KIND_YEARS = {"classic": "old", "modern": "old", "novel": "default", "children": "recent",
               "en_tech": "recent", "en_fiction": "default", "textbook": "default"}

_ACAD = [i for i, t in enumerate(V.TOPICS) if t.issues and t.register == "acad"]
_POP = [i for i, t in enumerate(V.TOPICS) if t.issues and t.register == "pop"]
_DISC = [i for i, t in enumerate(V.TOPICS) if t.disciplines]
_ACAD_CUM = _cum([V.TOPICS[i].weight for i in _ACAD])
_POP_CUM = _cum([V.TOPICS[i].weight for i in _POP])
_DISC_CUM = _cum([V.TOPICS[i].weight for i in _DISC])
_CLASSIC_CUM = _cum([c.weight for c in V.CLASSICS])
_MODERN_CUM = _cum([c.weight for c in V.MODERN])
_SURNAME_CUM = _cum([1.0 / (i + 8) for i in range(len(V.SURNAMES))])
_PUB_BY_NAME = {p.name: p for p in V.PUBLISHERS}
_EN_PUB_BY_NAME = {p.name: p for p in V.EN_PUBLISHERS}


@cache
def _publisher_pool(areas: tuple[str, ...]) -> tuple[tuple[V.Publisher, ...], list[float]]:
    """Presses that publish in any of `areas` (CLC prefixes or kind words), by weight."""
    pool: list[V.Publisher] = []
    weights: list[float] = []
    for p in V.PUBLISHERS:
        best = 0
        for area in areas:
            for mine in p.areas:
                if area == mine or (area[:1].isupper() and area.startswith(mine)):
                    best = max(best, len(mine))
        if best:
            pool.append(p)
            weights.append(p.weight * (1.0 + 0.3 * min(best, 3)))
    if not pool:
        pool, weights = list(V.PUBLISHERS), [p.weight for p in V.PUBLISHERS]
    return tuple(pool), _cum(weights)


def _pick_publisher(rng: random.Random, areas: tuple[str, ...]) -> V.Publisher:
    pool, cum = _publisher_pool(areas)
    return pool[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _choice_cum(rng: random.Random, cum: list[float]) -> int:
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


@dataclass(slots=True)
class _Slot:
    """What must be known about a slot before deciding holdings or allocating ISBNs."""

    slot: int
    rng: random.Random
    kind: str
    pick: int  # index into the kind's table (topic, canon, place, famous …)
    year: int
    nvol: int
    popularity: float
    lang: str
    place: str  # Shaanxi place word for local documents
    publisher: str
    prefix: str  # hyphenated ISBN prefix, "" when the edition has no ISBN
    areas: tuple[str, ...] = ()  # what the press was chosen for (to pick another if full)
    isbns: list[str] = field(default_factory=list)  # one per volume


def _prefix_for(pub: V.Publisher, year: int) -> str:
    chosen = pub.prefixes[0][0]
    for registrant, first in pub.prefixes:
        if year >= first:
            chosen = registrant
    return f"978-7-{chosen}"


def _profile(seed: int, slot: int) -> _Slot:
    rng = random.Random(_mix(seed, slot, 0x5107))  # noqa: S311 — reproducible, not secret
    if slot < len(V.FAMOUS):
        f = V.FAMOUS[slot]
        if f.lang == "eng":
            pub_name, prefix = f.publisher, _EN_PUB_BY_NAME[f.publisher].prefixes[0]
        else:
            pub_name = f.publisher
            prefix = _prefix_for(_PUB_BY_NAME[pub_name], f.year) if f.isbn_no else ""
        return _Slot(slot, rng, "famous", slot, f.year, len(f.volumes), 1e9, f.lang, "",
                     pub_name, prefix)
    kind = _KIND_NAMES[_choice_cum(rng, _KIND_CUM)]
    year = _YEARS[_choice_cum(rng, _YEAR_CUM[_KIND_YEARS.get(kind, "default")])]
    pick, place, lang = 0, "", "chi"
    nvol = 1
    areas: tuple[str, ...]
    if kind == "academic":
        pick = _ACAD[_choice_cum(rng, _ACAD_CUM)]
        areas = (V.TOPICS[pick].clc,)
        nvol = 2 if rng.random() < 0.02 else 1
    elif kind == "textbook":
        pick = _DISC[_choice_cum(rng, _DISC_CUM)]
        areas = (V.TOPICS[pick].clc, "textbook")
        nvol = rng.choice((2, 2, 3)) if rng.random() < 0.05 else 1
    elif kind == "popular":
        pick = _POP[_choice_cum(rng, _POP_CUM)]
        areas = (V.TOPICS[pick].clc,)
    elif kind in ("novel", "children"):
        areas = ("novel", "I2") if kind == "novel" else ("children",)
    elif kind == "foreign":
        areas = ("foreign",)
    elif kind == "classic":
        pick = _choice_cum(rng, _CLASSIC_CUM)
        areas = tuple(V.CLASSICS[pick].areas.split())
        nvol = 2 if rng.random() < 0.12 else 1
    elif kind == "modern":
        pick = _choice_cum(rng, _MODERN_CUM)
        areas = tuple(V.MODERN[pick].areas.split())
        first = V.MODERN[pick].first
        if year < first:  # no 1976 edition of a 2005 novel
            year = first + rng.randrange(2025 - first)
    elif kind == "local":
        pick = rng.randrange(len(V.LOCAL_TOPICS) + 2)  # +2: 文史资料 series, 省志 volumes
        place = V.PLACES[min(int(rng.random() ** 1.6 * len(V.PLACES)), len(V.PLACES) - 1)][0]
        areas = ("local",)
        if pick >= len(V.LOCAL_TOPICS):
            nvol = rng.choice((2, 3, 4))
    elif kind == "yearbook":
        areas = ("yearbook", "local")
    else:  # English
        lang = "eng"
        pick = rng.randrange(len(V.EN_CLASSICS) if kind == "en_fiction" else 10_000)
        areas = ()
    popularity = _POPULARITY[kind] * 0.25 * (1.0 - rng.random()) ** -0.8
    if lang == "eng":
        want = "fiction" if kind == "en_fiction" else "tech"
        ens = [p for p in V.EN_PUBLISHERS if p.areas in (want, "both")]
        en = ens[rng.randrange(len(ens))]
        if year < 1990:
            year = 1990 + rng.randrange(30)
        return _Slot(slot, rng, kind, pick, year, 1, popularity, lang, "", en.name,
                     en.prefixes[-1] if year >= 2015 else en.prefixes[0], (want,))
    pub = _pick_publisher(rng, areas)
    internal = kind == "local" and (pick >= len(V.LOCAL_TOPICS) and rng.random() < 0.6
                                    or rng.random() < 0.05)
    prefix = "" if year < 1987 or internal else _prefix_for(pub, year)
    return _Slot(slot, rng, kind, pick, year, nvol, popularity, lang, place,
                 "" if internal else pub.name, prefix, areas)


class _IsbnAllocator:
    """Hands out publication numbers per prefix without repeats (until a space is full).

    Numbers are a permutation of the prefix's space (start + i·step, step coprime to 10),
    so consecutive books of one press do not get consecutive numbers — as in real life,
    where a press's numbers are spread across years and imprints.
    """

    def __init__(self) -> None:
        self.used: dict[str, int] = {}
        self.reserved: dict[str, set[int]] = {}
        for f in V.FAMOUS:
            if not f.isbn_no:
                continue
            if f.lang == "eng":
                prefix = _EN_PUB_BY_NAME[f.publisher].prefixes[0]
            else:
                prefix = _prefix_for(_PUB_BY_NAME[f.publisher], f.year)
            for v in range(len(f.volumes)):
                self.reserved.setdefault(prefix, set()).add(f.isbn_no + v)

    def left(self, prefix: str) -> int:
        digits = _prefix_digits(prefix)
        return (10 ** (12 - len(digits)) - self.used.get(prefix, 0)
                - len(self.reserved.get(prefix, ())))

    def relocate(self, prof: _Slot) -> None:
        """The press's number space is full (a 5-digit registrant has 1,000 numbers): give
        the book to another press of the same kind that still has room, as the real
        market would, rather than reuse an ISBN and make unrelated books merge."""
        cands: list[tuple[str, str]]
        if prof.lang == "eng":
            cands = [(p.name, pref) for p in V.EN_PUBLISHERS
                     if p.areas in (prof.areas[0], "both") for pref in p.prefixes]
            fallback = [(p.name, pref) for p in V.EN_PUBLISHERS for pref in p.prefixes]
        else:
            pool, _ = _publisher_pool(prof.areas)
            cands = [(p.name, f"978-7-{reg}") for p in pool for reg, _ in reversed(p.prefixes)]
            fallback = sorted(((p.name, f"978-7-{reg}") for p in V.PUBLISHERS
                               for reg, _ in p.prefixes), key=lambda c: len(c[1]))
        k = prof.slot % len(cands)
        for name, prefix in cands[k:] + cands[:k] + fallback:
            if self.left(prefix) >= prof.nvol:
                prof.publisher, prof.prefix = name, prefix
                return
        raise RuntimeError("every ISBN prefix is full")  # ~10^7 editions

    def take(self, prefix: str) -> str:
        digits = _prefix_digits(prefix)
        space = 10 ** (12 - len(digits))
        h = _crc(prefix)
        step = (h % (space // 10 + 1)) * 10 + (1, 3, 7, 9)[h % 4]
        start = (h >> 8) % space
        reserved = self.reserved.get(prefix, set())
        while True:
            i = self.used.get(prefix, 0)
            self.used[prefix] = i + 1
            number = (start + i * step) % space
            if number not in reserved:
                break
        first12 = digits + f"{number:0{12 - len(digits)}d}"
        return first12 + isbn13_check(first12)


def _famous_isbn(f: V.Famous, prefix: str, vol: int) -> str:
    digits = _prefix_digits(prefix)
    first12 = digits + f"{f.isbn_no + vol:0{12 - len(digits)}d}"
    return first12 + isbn13_check(first12)


def _iter_slots(seed: int, editions: int) -> Iterator[_Slot]:
    alloc = _IsbnAllocator()
    for slot in range(max(editions, len(V.FAMOUS))):
        prof = _profile(seed, slot)
        if prof.prefix:
            if prof.kind == "famous":
                prof.isbns = [_famous_isbn(V.FAMOUS[slot], prof.prefix, v)
                              for v in range(prof.nvol)]
            else:
                if alloc.left(prof.prefix) < prof.nvol:
                    alloc.relocate(prof)
                prof.isbns = [alloc.take(prof.prefix) for _ in range(prof.nvol)]
        yield prof


# -------------------------------------------------------------------- building editions


def _chinese_person(rng: random.Random, role: str, prefix: str = "") -> Person:
    sname, spy, snaive = V.SURNAMES[_choice_cum(rng, _SURNAME_CUM)]
    given = "".join(rng.choice(V.GIVEN_CHARS) for _ in range(2 if rng.random() < 0.72 else 1))
    gsyl = tuple(char_pinyin(c) for c in given)
    if len(sname) > 1:
        ssyl = tuple(char_pinyin(c) for c in sname)
        naive = ssyl
    else:
        ssyl, naive = (spy,), (snaive,)
    return Person(sname + given, role, ssyl + gsyl, naive + gsyl, len(ssyl), prefix)


def _named_person(name: str, role: str, prefix: str = "") -> Person:
    """A real person from the tables: pinyin from the surname table when it is there."""
    for sname, spy, snaive in V.SURNAMES:
        if name.startswith(sname) and len(name) > len(sname):
            rest = tuple(char_pinyin(c) for c in name[len(sname):])
            if len(sname) > 1:
                ssyl = tuple(char_pinyin(c) for c in sname)
                return Person(name, role, ssyl + rest, ssyl + rest, len(ssyl), prefix)
            return Person(name, role, (spy,) + rest, (snaive,) + rest, 1, prefix)
    syl = tuple(s for w in pinyin_words(name) for s in w)
    return Person(name, role, syl, syl, 1, prefix)


def _corporate(name: str, role: str) -> Person:
    syl = tuple(s for w in pinyin_words(name) for s in w)
    return Person(name, role, syl, syl, 0, corporate=True)


def _foreign_person(rng: random.Random, nat: str) -> Person:
    forenames, surnames = V.FOREIGN_NAMES[nat]
    fore, fore_latin = rng.choice(forenames).split("=")
    sur, sur_latin = rng.choice(surnames).split("=")
    # Japanese names are written surname first, without the dot.
    name = f"{sur}{fore}" if nat == "日" else f"{fore}·{sur}"
    syl = tuple(s for w in pinyin_words(name.replace("·", "")) for s in w)
    return Person(name, "著", syl, syl, 1, nat, latin=f"{sur_latin}, {fore_latin}")


def _apply(pattern: str, word: str) -> str:
    suffix = pattern.replace("{t}", "")
    if pattern.startswith("{t}") and suffix and word.endswith(suffix):
        return word
    if pattern.endswith("{t}") and suffix and word.startswith(suffix):
        return word
    return pattern.replace("{t}", word)


@cache
def _table_cum(table: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    return tuple(item for item, _ in table), _cum([w for _, w in table])


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    items, cum = _table_cum(table)
    return items[_choice_cum(rng, cum)]


def _price(rng: random.Random, year: int, pages: int, kind: str) -> str:
    per_page = (0.0035 if year < 1987 else 0.018 if year < 1996 else 0.055 if year < 2006
                else 0.09 if year < 2016 else 0.13)
    if kind in ("textbook", "yearbook"):
        per_page *= 1.25
    value = pages * per_page * (0.8 + 0.5 * rng.random())
    if year >= 1996:
        value = round(value) + rng.choice((0.0, 0.0, 0.0, 0.8, 0.5, 0.9))
    return f"{max(value, 0.2):.2f}"


def _subject(topic: V.Topic, extra: str = "") -> tuple[tuple[str, str], ...]:
    parts = [("a", topic.subject)]
    if extra:
        parts.append(("x", extra))
    if topic.place:
        parts.append(("y" if topic.place not in ("秦汉时代", "唐代", "明代", "清代") else "z",
                      topic.place))
    return tuple(parts)


def _vol_labels(rng: random.Random, nvol: int) -> list[str]:
    if nvol == 2 and rng.random() < 0.6:
        return ["上册", "下册"]
    if nvol == 3 and rng.random() < 0.4:
        return ["上册", "中册", "下册"]
    return [f"第{i + 1}册" for i in range(nvol)]


def _editions(prof: _Slot) -> list[Edition]:
    """Build the edition(s) of a slot from its own random stream (after the profile)."""
    rng = prof.rng
    if prof.kind == "famous":
        return _famous_editions(prof)
    if prof.lang == "eng":
        return [_english_edition(prof)]
    pub = _PUB_BY_NAME.get(prof.publisher)
    place = pub.city if pub else ""
    region = V.CITIES[place][0] if place else "610000"
    month = 1 + rng.randrange(12)
    pages = int(120 + rng.random() ** 1.5 * 520)
    cm = rng.choice((21, 21, 23, 24, 26))
    other = edition_stmt = series = summary = ""
    persons: list[Person]
    title: str
    clc: str
    subjects: tuple[tuple[tuple[str, str], ...], ...]
    lit_form, audience, local, children, orig = "y", "em ", False, False, ""
    part_names: list[tuple[str, str]] = [("", "")] * prof.nvol
    vol_years = [prof.year] * prof.nvol
    kind = prof.kind
    if kind in ("academic", "textbook", "popular"):
        topic = V.TOPICS[prof.pick]
        if kind == "textbook":
            word = rng.choice(topic.disciplines)
            pattern = _weighted(rng, V.DISCIPLINE_PATTERNS)
            title = _apply(pattern, word)
            cm = rng.choice((24, 26, 26))
            if rng.random() < 0.35:
                edition_stmt = f"第{rng.choice((2, 2, 2, 3, 3, 4, 5))}版"
            current = [name for lo, hi, name in V.TEXTBOOK_SERIES if lo <= prof.year <= hi]
            if current and rng.random() < 0.3:
                series = rng.choice(current)
            n = 1 if rng.random() < 0.4 else rng.choice((1, 2, 2, 3))
            role = "主编" if rng.random() < 0.65 else ("编著" if rng.random() < 0.7 else "著")
            persons = [_chinese_person(rng, role) for _ in range(n)]
            subjects = (_subject(topic, "") + (("j", "高等学校"), ("j", "教材")),)
            audience = "ek "
        else:
            word = rng.choice(topic.issues)
            table = V.ISSUE_PATTERNS if kind == "academic" else V.POPULAR_PATTERNS
            pattern = _weighted(rng, table)
            if (pattern.startswith("新时代") and prof.year < 2017
                    or pattern.startswith("当代中国") and topic.clc[0] not in "ABCDFGK"):
                pattern = "{t}研究"  # "新时代" is a post-2017 phrase; "当代中国" a social one
            title = _apply(pattern, word)
            if pattern == "当代中国{t}" and word.startswith("中国"):
                title = "当代" + word
            if kind == "academic" and rng.random() < 0.15:
                other = rng.choice(V.SUBTITLES)
            r = rng.random()
            if kind == "popular":
                persons = [_chinese_person(rng, "编著" if r < 0.6 else "主编")]
                audience = "m  "
                cm = rng.choice((19, 21, 21, 24))
            elif r < 0.6:
                persons = [_chinese_person(rng, "著")]
            elif r < 0.75:
                persons = [_chinese_person(rng, "著") for _ in range(2)]
            else:
                persons = [_chinese_person(rng, "主编") for _ in range(rng.choice((1, 2, 3, 4)))]
            extra = "研究" if kind == "academic" and "研究" in title else ""
            subjects = (_subject(topic, extra),)
            if rng.random() < 0.25:
                other_topic = V.TOPICS[rng.choice(_ACAD)]
                if other_topic.clc[0] == topic.clc[0]:
                    subjects += (_subject(other_topic),)
            if rng.random() < 0.4:
                summary = (f"本书围绕{word}展开论述，系统介绍了{word}的基本理论、"
                           f"发展现状与主要问题，并提出了相应的对策建议。")
        clc = topic.clc
        if prof.nvol > 1:
            part_names = [(label, "") for label in _vol_labels(rng, prof.nvol)]
    elif kind in ("novel", "foreign"):
        noun, noun2 = rng.choice(V.NOVEL_NOUNS), rng.choice(V.NOVEL_NOUNS)
        while noun2 == noun:
            noun2 = rng.choice(V.NOVEL_NOUNS)
        title = (_weighted(rng, V.NOVEL_PATTERNS).replace("{n}", noun)
                 .replace("{m}", noun2).replace("{a}", rng.choice(V.NOVEL_ADJ)))
        genre = rng.choice(("novel", "novel", "novel57", "novel57", "stories", "essays",
                            "poems")) if kind == "novel" else "novel"
        subj, clc, etext = V.FICTION_GENRES[genre]
        lit_form = {"essays": "c", "poems": "g"}.get(genre, "a")
        audience = "m  "
        pages = int(160 + rng.random() * 420)
        cm = rng.choice((21, 21, 23))
        if rng.random() < 0.3:
            other = etext
        if kind == "foreign":
            nat = rng.choice(("美", "美", "英", "日", "法"))
            persons = [_foreign_person(rng, nat), _chinese_person(rng, "译")]
            clc = V.FOREIGN_CLC[nat]
            subjects = ((("a", "长篇小说"), ("y", V.FOREIGN_COUNTRY[nat]), ("z", "现代")),)
            orig = V.FOREIGN_LANG[nat]
        else:
            persons = [_chinese_person(rng, "著")]
            subjects = ((("a", subj), ("y", "中国"), ("z", "当代")),)
            if genre in ("stories", "essays", "poems") and rng.random() < 0.5:
                other = f"{persons[0].name}{etext}"
        if rng.random() < 0.3:
            summary = f"本书是{persons[0].name}的{etext}，讲述了{noun}与{noun2}之间的故事。"
    elif kind == "children":
        animal, animal2 = rng.choice(V.CHILD_ANIMALS), rng.choice(V.CHILD_ANIMALS)
        title = (_weighted(rng, V.CHILD_PATTERNS).replace("{x}", animal)
                 .replace("{z}", animal2).replace("{y}", rng.choice(V.CHILD_THINGS)))
        picture = rng.random() < 0.4
        persons = [_chinese_person(rng, "文" if picture else "著")]
        if picture:
            persons.append(_chinese_person(rng, "图"))
            clc, subj = "I287.8", "图画故事"
            pages, cm = rng.choice((32, 36, 40, 48)), rng.choice((24, 26))
        else:
            clc, subj = rng.choice((("I287.45", "儿童小说"), ("I287.7", "童话")))
            pages = int(80 + rng.random() * 160)
        subjects = ((("a", subj), ("y", "中国"), ("z", "当代")),)
        audience, lit_form, children = "a  " if picture else "c  ", "a", True
        if rng.random() < 0.35:
            series = rng.choice(("中国名家经典童话", "儿童文学金牌作家书系", "小树苗绘本馆"))
    elif kind in ("classic", "modern"):
        canon = (V.CLASSICS if kind == "classic" else V.MODERN)[prof.pick]
        variant = rng.choice(canon.variants)
        title = variant.replace("{t}", canon.title)
        persons = []
        if canon.author:
            persons.append(_named_person(canon.author, canon.role, canon.dynasty))
        if canon.editors:
            role = rng.choice(canon.editors)
            if "译" in variant or "注" in variant:
                role = variant.replace("{t}", "") or role
            persons.extend(_chinese_person(rng, role) for _ in range(rng.choice((1, 1, 2))))
        clc = canon.clc
        subjects = (tuple((c, v) for c, v in (("a", canon.subject), ("y", canon.subj_y),
                                                ("z", canon.subj_z)) if v),)
        lit_form = "a" if canon.clc.startswith("I2") else "y"
        if kind == "modern" and rng.random() < 0.3:
            series = rng.choice(("中国现代文学经典", "茅盾文学奖获奖作品全集",
                                 "语文新课标必读丛书"))
        if prof.nvol > 1:
            part_names = [(label, "") for label in _vol_labels(rng, prof.nvol)]
    elif kind == "local":
        title, persons, clc, subjects, part_names, vol_years = _local(prof, rng)
        local = True
        pages = int(150 + rng.random() * 600)
        cm = rng.choice((21, 24, 26, 26, 29))
        region = "610000"
        if not prof.publisher:
            place = prof.place if prof.place in ("西安", "咸阳", "宝鸡", "延安", "榆林",
                                                 "汉中") else "西安"
    else:  # yearbook
        place_word = rng.choice(("陕西", "西安", "咸阳", "榆林", "宝鸡", "延安"))
        stats = rng.random() < 0.5
        y = prof.year
        if stats:
            title = f"{place_word}统计年鉴"
            corp = "陕西省统计局" if place_word == "陕西" else f"{place_word}市统计局"
            clc, subjects = "C832.41", ((("a", "统计资料"), ("y", place_word), ("j", "年鉴")),)
        else:
            title = f"{place_word}年鉴"
            corp = (f"{place_word}年鉴编纂委员会" if place_word == "陕西"
                    else f"{place_word}市地方志办公室")
            clc, subjects = "Z52", ((("a", place_word), ("j", "年鉴")),)
        persons = [_corporate(corp, "编")]
        part_names = [(str(y), "")]
        pages, cm, local = int(400 + rng.random() * 500), 29, True
    if orig:
        lit_form = "a"
    price = _price(rng, prof.year, pages, kind)
    unified = ""
    if prof.year < 1987 and rng.random() < 0.6:
        cls = {"A": "1", "B": "2", "C": "3", "D": "3", "E": "3", "F": "4", "G": "7", "H": "9",
               "I": "10", "J": "8", "K": "11", "N": "13", "O": "13", "P": "13", "Q": "13",
               "R": "14", "S": "16", "T": "15", "U": "15", "V": "15", "X": "13",
               "Z": "17"}[clc[0]]
        code = pub.unified if pub and pub.unified else f"{rng.randrange(1, 400):03d}"
        unified = f"{cls}{code}·{rng.randrange(100, 6000)}"
    out: list[Edition] = []
    for v in range(prof.nvol):
        isbn = prof.isbns[v] if prof.isbns else ""
        vol_pages = pages if v == 0 else int(pages * (0.8 + 0.4 * rng.random()))
        vol_price = price if v == 0 else _price(rng, vol_years[v], vol_pages, kind)
        out.append(Edition(
            key=f"s{prof.slot}v{v + 1 if prof.nvol > 1 else 0}", slot=prof.slot,
            vol=v + 1 if prof.nvol > 1 else 0, nvol=prof.nvol, kind=kind, lang="chi",
            title=title, persons=tuple(persons),
            publisher=prof.publisher or (persons[0].name if persons and persons[0].corporate
                                         else ""), place=place,
            year=vol_years[v], month=month, price=vol_price, currency="CNY", pages=vol_pages,
            cm=cm, clc=clc, subjects=subjects, popularity=prof.popularity, other=other,
            part_no=part_names[v][0], part_name=part_names[v][1], edition_stmt=edition_stmt,
            isbn13=isbn, isbn_prefix=prof.prefix, unified=unified,
            illus=rng.random() < 0.25, series=series,
            series_no=str(rng.randrange(1, 40)) if series and rng.random() < 0.3 else "",
            summary=summary, audience=audience, lit_form=lit_form, orig_lang=orig,
            region=region, local=local, children=children))
    return out


def _local(prof: _Slot, rng: random.Random) -> tuple[
        str, list[Person], str, tuple[tuple[tuple[str, str], ...], ...],
        list[tuple[str, str]], list[int]]:
    """Local documents (地方文献): histories, gazetteers, 文史资料 series, 省志 volumes."""
    p = prof.place
    level = next(lv for name, _, lv in V.PLACES if name == p)
    nvol = prof.nvol
    years = [prof.year] * nvol
    parts: list[tuple[str, str]] = [("", "")] * nvol
    if prof.pick == len(V.LOCAL_TOPICS):  # 文史资料 series: one 辑 a year or so
        title = f"{p}文史资料"
        unit = level if level in ("市", "县") else ""
        body = f"政协{p}{unit}委员会文史资料委员会"
        if level == "省" or not level:
            body = "政协陕西省委员会文史资料委员会"
        first = rng.randrange(1, 30)
        parts = [(f"第{first + i}辑", "") for i in range(nvol)]
        years = [min(prof.year + 2 * i, 2024) for i in range(nvol)]
        return (title, [_corporate(body, "编")], "K294.1",
                ((("a", "地方史"), ("y", p), ("j", "史料")),), parts, years)
    if prof.pick == len(V.LOCAL_TOPICS) + 1:  # 陕西省志, one volume per 志
        names = list(V.PROVINCE_GAZETTEER_VOLUMES)
        rng.shuffle(names)
        first = rng.randrange(1, 60)
        parts = [(f"第{first + i}卷", names[i]) for i in range(nvol)]
        return ("陕西省志", [_corporate("陕西省地方志编纂委员会", "编")], "K294.1",
                ((("a", "陕西"), ("j", "地方志")),), parts, years)
    topic = V.LOCAL_TOPICS[prof.pick]
    pattern = rng.choice(topic.patterns)
    if pattern == "{p}志" and not level:  # regions (关中, 秦岭) have no gazetteer of their own
        pattern = "{p}史话"
    if pattern == "{p}志":
        suffix = {"市": "市志", "县": "县志", "省": "省志"}.get(level, "志")
        title = f"{p}{suffix}"
        body = f"{p}{suffix[:-1]}地方志编纂委员会"
        persons = [_corporate(body, "编")]
    else:
        title = pattern.replace("{p}", p)
        r = rng.random()
        persons = ([_chinese_person(rng, "著")] if r < 0.5 else
                   [_chinese_person(rng, "主编") for _ in range(rng.choice((1, 2)))])
    y = p if p in ("陕西", "西安", "咸阳", "宝鸡", "延安", "榆林", "神木", "汉中", "安康",
                   "商洛", "渭南", "铜川") else "陕西"
    subj = tuple((c, v) for c, v in (("a", topic.subject), ("y", y)) if v)
    return title, persons, topic.clc, (subj,), parts, years


def _famous_editions(prof: _Slot) -> list[Edition]:
    f = V.FAMOUS[prof.slot]
    rng = prof.rng
    persons: list[Person] = []
    for name, role, prefix in f.persons:
        if f.lang == "eng":
            persons.append(Person(name, role, western=True, dates=prefix))
        elif len(name) > 4:
            persons.append(_corporate(name, role))
        else:
            persons.append(_named_person(name, role, prefix))
    if f.corporate[0]:
        persons.append(_corporate(*f.corporate))
    if f.lang == "eng":
        en = _EN_PUB_BY_NAME[f.publisher]
        place, region, country, currency = en.place, "", "GB", "GBP"
    else:
        pub = _PUB_BY_NAME[f.publisher]
        place, region, country, currency = pub.city, V.CITIES[pub.city][0], "CN", "CNY"
    unified = ""
    if not f.isbn_no:
        code = _PUB_BY_NAME[f.publisher].unified or "009"
        cls = "10" if f.clc.startswith("I") else "11"
        unified = f"{cls}{code}·{(f.pages * 7 + f.year) % 9000 + 100}"
    out = []
    for v, (part_no, part_name) in enumerate(f.volumes):
        multi = len(f.volumes) > 1
        out.append(Edition(
            key=f"s{prof.slot}v{v + 1 if multi else 0}", slot=prof.slot,
            vol=v + 1 if multi else 0, nvol=len(f.volumes), kind="famous", lang=f.lang,
            title=f.title, persons=tuple(persons), publisher=f.publisher, place=place,
            year=f.year, month=1 + (f.pages % 12), price=f.price, currency=currency,
            pages=f.pages + 17 * v, cm=f.cm, clc=f.clc, subjects=f.subjects,
            popularity=prof.popularity, other=f.other, part_no=part_no, part_name=part_name,
            edition_stmt=f.edition, isbn13=prof.isbns[v] if prof.isbns else "",
            isbn_prefix=prof.prefix, unified=unified, illus=rng.random() < 0.2,
            volumes_in_record=f.volumes_in_record, series=f.series, summary=f.summary,
            lcsh=f.lcsh, lcc=f.lcc,
            audience="m  ", lit_form="a" if f.clc.startswith("I") else "y",
            region=region, country=country, local=f.clc.startswith("K294"),
            children=f.clc.startswith("Z228")))
    return out


def _english_edition(prof: _Slot) -> Edition:
    rng = prof.rng
    en = _EN_PUB_BY_NAME[prof.publisher]
    if prof.kind == "en_fiction":
        c = V.EN_CLASSICS[prof.pick]
        title, lcc, clc = c.title, c.lcc, c.clc
        persons: tuple[Person, ...] = (Person(f"{c.surname}, {c.forename}", "著",
                                              western=True, dates=c.dates),)
        lcsh = c.lcsh
        a, y, z = c.cn_subject
        subjects: tuple[tuple[tuple[str, str], ...], ...] = ((("a", a), ("y", y), ("z", z)),)
        pages, cm, lit = int(180 + rng.random() * 500), rng.choice((18, 20, 20, 23)), "a"
        if rng.random() < 0.35:  # Chinese libraries file English readers under H319.4
            clc = "H319.4"
    else:
        fld = V.EN_FIELDS[prof.pick % len(V.EN_FIELDS)]
        tech = V.EN_TECHS[(prof.pick // len(V.EN_FIELDS)) % len(V.EN_TECHS)]
        if rng.random() < 0.5:
            title = rng.choice(V.EN_FIELD_PATTERNS).replace("{f}", fld[0])
            lcc, clc, heading, cn = fld[1], fld[2], fld[3], fld[4]
        else:
            title = (rng.choice(V.EN_TECH_PATTERNS).replace("{t}", tech[0])
                     .replace("{f}", fld[0]))
            lcc, clc, heading, cn = tech[1], tech[2], tech[3], tech[4]
        names = [f"{rng.choice(V.EN_SURNAMES)}, {rng.choice(V.EN_FORENAMES)}"
                 for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        persons = tuple(Person(n, "著", western=True) for n in dict.fromkeys(names))
        lcsh = (heading,)
        subjects = ((("a", cn),),)
        pages, cm, lit = int(200 + rng.random() * 700), rng.choice((23, 24, 24, 25)), "y"
    title = title[:1].upper() + title[1:]
    year = prof.year
    currency = "GBP" if en.place in ("London", "Oxford", "Ware", "Cambridge") else "USD"
    if en.name == "外语教学与研究出版社":
        currency = "CNY"
    price = f"{9.99 + round(pages / 40) + rng.choice((0, 5, 10, 20)):.2f}"
    if currency == "CNY":
        price = f"{round(pages / 12) + 0.9:.2f}"
    country = {"GBP": "GB", "USD": "US", "CNY": "CN"}[currency]
    edition_stmt = ""
    if prof.kind == "en_tech" and rng.random() < 0.4:
        edition_stmt = rng.choice(("2nd ed.", "3rd ed.", "Second edition", "4th ed."))
    return Edition(
        key=f"s{prof.slot}v0", slot=prof.slot, vol=0, nvol=1, kind=prof.kind, lang="eng",
        title=title, persons=persons, publisher=en.name, place=en.place, year=year,
        month=1 + rng.randrange(12), price=price, currency=currency, pages=pages, cm=cm,
        clc=clc, subjects=subjects, popularity=prof.popularity, edition_stmt=edition_stmt,
        isbn13=prof.isbns[0] if prof.isbns else "", isbn_prefix=prof.prefix, lcsh=lcsh,
        lcc=lcc, audience="m  ", lit_form=lit, region="", country=country)


# ------------------------------------------------------------------------------ holdings


def _affinity(spec: LibrarySpec, prof: _Slot) -> float:
    a = spec.english_affinity if prof.lang == "eng" else 1.0
    if prof.kind == "local" and prof.place:
        a *= 6.0 if prof.place in spec.home else 1.2
    if prof.kind == "children" and spec.flavour == "marc21":
        a *= 1.5
    return a


def _holders(seed: int, prof: _Slot, libraries: Sequence[LibrarySpec]) -> list[LibrarySpec]:
    """Which libraries hold the slot: a Zipf-like popularity times each library's share."""
    if prof.kind == "famous":
        if prof.lang == "eng":
            return [s for s in libraries if s.english_affinity >= 0.3] or list(libraries)
        return list(libraries)
    held: list[LibrarySpec] = []
    for spec in libraries:
        p = min(0.95, spec.share * prof.popularity * _affinity(spec, prof))
        if _unit(seed, prof.slot, _crc(spec.code), 0x401D) < p:
            held.append(spec)
    if held:
        return held
    weights = _cum([s.share * _affinity(s, prof) for s in libraries])
    x = _unit(seed, prof.slot, 0x0A7) * weights[-1]
    return [libraries[min(bisect.bisect_right(weights, x), len(libraries) - 1)]]


def _held_volumes(seed: int, prof: _Slot, spec: LibrarySpec,
                  holders: Sequence[LibrarySpec]) -> list[int]:
    """Volumes of a set the library has: sometimes one is missing (缺藏), never all, and
    the first holder has them all, so every volume exists somewhere."""
    if prof.nvol == 1 or prof.kind == "famous" or spec == holders[0]:
        return list(range(prof.nvol))
    vols = [v for v in range(prof.nvol)
            if _unit(seed, prof.slot, _crc(spec.code), v, 0x7015) >= 0.08]
    return vols or [0]


@dataclass(slots=True)
class Item:
    barcode: str
    location: str
    status: str
    acquired: str  # YYYYMMDD


class Cataloguer:
    """One library's cataloguing department: its counters, habits and random stream.

    Subclasses (`cnmarc.CnmarcCataloguer`, `marc21.Marc21Cataloguer`) turn an `Edition`
    into record bytes; this base decides everything both formats share — ids, dates, call
    numbers, copies and barcodes, price notation — so both read the same way.
    """

    def __init__(self, seed: int, spec: LibrarySpec, charset_lie_share: float = 0.02) -> None:
        self.spec = spec
        self.style = style_for(spec)
        self.agency = self.style.agency or spec.code
        self.rng = random.Random(_mix(seed, _crc(spec.code), 0xCA7A))  # noqa: S311
        self.lie_share = charset_lie_share
        self.serial = 1000 + self.rng.randrange(50_000)
        self.barcode_next = 10 ** (self.style.barcode_width - 2) + self.rng.randrange(10_000)
        self.shelf_seq: dict[str, int] = {}
        self.set_shelf: dict[int, tuple[str, str]] = {}

    def record(self, ed: Edition) -> bytes:
        """This library's ISO 2709 record for `ed` (implemented per MARC flavour)."""
        raise NotImplementedError

    # -- identity and dates -------------------------------------------------------------
    def next_id(self, year: int) -> str:
        self.serial += 1 + (self.rng.random() < 0.1)
        scheme = self.style.id_scheme
        if scheme == "nlc12":  # 0 图书, 1 中文, year, serial (grows past 12 digits at 10^6)
            return f"01{year:04d}{self.serial:06d}"
        if scheme == "seq10":
            return f"{self.serial:010d}"
        return str(self.serial)

    def dates(self, ed: Edition) -> tuple[str, str]:
        """(date entered YYYYMMDD, 005 timestamp): catalogued after publication and after
        the library went automated; old books were converted retrospectively."""
        rng = self.rng
        start = max(ed.year, self.style.automation_year)
        y = min(start + int(rng.random() ** 2 * 3), 2024)
        entered = (y, 1 + rng.randrange(12), 1 + rng.randrange(28))
        my = min(2024, y + int(rng.random() ** 2 * 6))
        mod = (my, 1 + rng.randrange(12), 1 + rng.randrange(28))
        if mod < entered:
            mod = entered
        stamp = (f"{mod[0]:04d}{mod[1]:02d}{mod[2]:02d}{rng.randrange(8, 18):02d}"
                 f"{rng.randrange(60):02d}{rng.randrange(60):02d}.0")
        return f"{entered[0]:04d}{entered[1]:02d}{entered[2]:02d}", stamp

    # -- classification and shelving ----------------------------------------------------
    def clc(self, ed: Edition) -> str:
        """The class number as this library uses it: some libraries classify to fewer
        digits, consistently per class (so a class's books stay together on the shelf)."""
        c = ed.clc
        share = self.style.clc_truncate
        if share and "." in c and _unit(_crc(self.spec.code), _crc(c), 0x7C) < share:
            head, tail = c.split(".", 1)
            c = head if len(tail) <= 1 else f"{head}.{tail[:-1]}"
        return c

    def shelf(self, ed: Edition, clc: str) -> tuple[str, str]:
        """(书次号, 索书号).  Volumes of a set share the 种次号 and add a volume number."""
        if ed.vol and ed.slot in self.set_shelf:
            clc, number = self.set_shelf[ed.slot]
        else:
            if self.style.shelf_scheme == "author":
                number = self._author_number(ed)
            else:
                n = self.shelf_seq.get(clc)
                if n is None:
                    n = self.style.shelf_start + self.rng.randrange(
                        1 + int(300 * self.rng.random() ** 2))
                n += 1
                self.shelf_seq[clc] = n
                number = str(n)
            if ed.vol:
                self.set_shelf[ed.slot] = (clc, number)
        call = f"{clc}/{number}"
        if ed.vol:
            call += f"{self.style.vol_sep}{ed.vol}"
        return number, call

    def _author_number(self, ed: Edition) -> str:
        if ed.persons and ed.persons[0].western:
            initial = ed.persons[0].name[:1].upper()
        elif ed.persons and ed.persons[0].syllables:
            initial = ed.persons[0].syllables[0][:1].upper()
        else:
            initial = (format_pinyin(pinyin_words(ed.title), "lower_syll")[:1] or "X").upper()
        return f"{initial}{100 + _mix(_crc(ed.persons[0].name if ed.persons else ed.title)) % 900}"

    # -- copies -------------------------------------------------------------------------
    def items(self, ed: Edition, entered: str) -> list[Item]:
        rng, st = self.rng, self.style
        locs = V.LOCATIONS[st.holdings]
        if ed.lang == "eng":
            where = "english"
        elif ed.children:
            where = "children"
        elif ed.local:
            where = "local"
        elif ed.year < 1987:
            where = "old"
        elif ed.clc[:1] in "NOPQRSTUVX":
            where = "sci" if "sci" in locs else "general"
        else:
            where = "soc" if "soc" in locs else "general"
        n = 1
        if ed.kind == "famous":
            n += 1 + rng.randrange(3)
        while rng.random() < st.extra_copies * min(1.0, 0.3 + ed.popularity) and n < 6:
            n += 1
        out: list[Item] = []
        for i in range(n):
            if (i == n - 1 and n > 1 and where in ("general", "soc", "sci")
                    and rng.random() < st.reserve_copy):
                location = _weighted(rng, locs["reserve"])
            else:
                location = _weighted(rng, locs[where])
            self.barcode_next += 1
            status = _weighted(rng, V.ITEM_STATUS)
            if location in ("保存本库", "书库", "综合书库") or where == "local":
                status = "在架" if rng.random() < 0.97 else status
            out.append(Item(f"{self.spec.barcode_prefix}{self.barcode_next:0{st.barcode_width}d}",
                            location, status, entered))
        return out

    # -- small transcriptions -----------------------------------------------------------
    def price_text(self, ed: Edition) -> str:
        """Price as typed into 010$d: CNY68.00, ￥68.00, 68.00元, 68."""
        form = _weighted(self.rng, self.style.price_styles)
        p = ed.price
        if ed.currency != "CNY":
            return f"{ed.currency}{p}"
        if ed.volumes_in_record > 1 and self.rng.random() < 0.5:
            return f"CNY{p}(全{ed.volumes_in_record}册)"
        if form == "CNY":
            return f"CNY{p}"
        if form == "CNY_short":
            return f"CNY{p.rstrip('0').rstrip('.')}"
        if form == "yen":
            return f"￥{p}"
        if form == "yuan":
            return f"{p}元"
        return p

    def isbn_text(self, ed: Edition, hyphen_share: float | None = None) -> str:
        """The ISBN as this library enters it, with the occasional wrong check digit."""
        rng, st = self.rng, self.style
        hyphen = rng.random() < (st.isbn_hyphen if hyphen_share is None else hyphen_share)
        ten = ed.year < 2007 and ed.isbn13.startswith("978") and rng.random() >= st.isbn_convert10
        if ten:
            text = ed.hyphenated(ten=True) if hyphen else ed.isbn10
        else:
            text = ed.hyphenated() if hyphen else ed.isbn13
        if rng.random() < st.isbn_typo:
            good = text[-1]
            bad = str((int(good) + 1 + rng.randrange(8)) % 10) if good.isdigit() else "0"
            text = text[:-1] + bad
        return text

    def pinyin_style(self) -> str:
        return _weighted(self.rng, self.style.pinyin_styles)

    def title_pinyin(self, text: str, style: str) -> str:
        return format_pinyin(pinyin_words(text), style)

    def person_pinyin(self, person: Person, style: str) -> str:
        syl = person.syllables
        if self.style.naive_pinyin and self.rng.random() < self.style.naive_pinyin:
            syl = person.naive
        if person.corporate or not syl:
            return format_pinyin(pinyin_words(person.name), style)
        if style in ("word", "cap_word"):
            sur = "".join(syl[:person.surname_len])
            giv = "".join(syl[person.surname_len:])
            words = [sur, giv] if giv else [sur]
            if style == "cap_word":
                words = [w[:1].upper() + w[1:] for w in words]
            return " ".join(words)
        return format_pinyin([syl], style)

    def person_name(self, person: Person) -> str:
        if self.style.name_variants and person.name in V.NAME_VARIANTS:
            return V.NAME_VARIANTS[person.name]
        return person.name

    def responsibility(self, ed: Edition) -> list[tuple[str, list[tuple[str, ...]]]]:
        """Statements of responsibility (200 $f then $g …) with their pinyin words,
        grouped by role in title-page order, in this library's habitual spelling."""
        rng, st = self.rng, self.style
        groups: list[tuple[str, list[Person]]] = []
        for p in ed.persons:
            if groups and groups[-1][0] == p.role:
                groups[-1][1].append(p)
            else:
                groups.append((p.role, [p]))
        out: list[tuple[str, list[tuple[str, ...]]]] = []
        spaced = rng.random() < st.resp_spaced
        role_first = rng.random() < st.resp_role_first
        for role, people in groups:
            names: list[str] = []
            words: list[tuple[str, ...]] = []
            for p in people[:3]:
                name = self.person_name(p)
                if p.western:
                    sur, _, fore = name.partition(", ")
                    name = f"{fore} {sur}".strip()
                elif p.corporate:
                    words.extend(pinyin_words(p.name))
                else:
                    words.extend((p.syllables[:p.surname_len], p.syllables[p.surname_len:]))
                if p.prefix and not names:
                    name = f"({p.prefix}){name}"
                names.append(name)
                words.append((",",))
            words.pop()
            joined = ", ".join(names)
            if len(people) > 3:
                joined += " ...[等]"
                words.append(("deng",))
            role_words = [tuple(V.ROLE_PINYIN.get(role, "").split())]
            if people[0].western:  # an English title page has no role word
                out.append((joined, []))
            elif role in ("主编", "总主编") and role_first:
                out.append((f"{role}{joined}", role_words + words))
            else:
                out.append((f"{joined} {role}" if spaced else f"{joined}{role}",
                            words + role_words))
        return out


# ------------------------------------------------------------------------- orchestration


def _cataloguer(seed: int, spec: LibrarySpec, charset_lie_share: float) -> Cataloguer:
    if spec.flavour == "cnmarc":
        from tongjian.generator.cnmarc import CnmarcCataloguer

        return CnmarcCataloguer(seed, spec, charset_lie_share)
    if spec.flavour == "marc21":
        from tongjian.generator.marc21 import Marc21Cataloguer

        return Marc21Cataloguer(seed, spec, charset_lie_share)
    raise ValueError(f"unknown flavour {spec.flavour!r}")


def _check(libraries: Sequence[LibrarySpec]) -> None:
    codes = [s.code for s in libraries]
    if len(set(codes)) != len(codes):
        raise ValueError(f"library codes must be unique: {codes}")


def iter_library_records(seed: int, libraries: Sequence[LibrarySpec], code: str,
                         editions: int, *, charset_lie_share: float = 0.02) -> Iterator[bytes]:
    """Library `code`'s records (one ISO 2709 record per held edition or volume, its items
    inside), generated independently of the other libraries' files.

    Walks every slot (cheap profile + hash decision) and builds only the editions the
    library holds — so each library can be generated in its own process.
    """
    _check(libraries)
    spec = next(s for s in libraries if s.code == code)
    cat = _cataloguer(seed, spec, charset_lie_share)
    for prof in _iter_slots(seed, editions):
        holders = _holders(seed, prof, libraries)
        if spec not in holders:
            continue
        eds = _editions(prof)
        for v in _held_volumes(seed, prof, spec, holders):
            yield cat.record(eds[v])


def generate_consortium(seed: int, libraries: Sequence[LibrarySpec], editions: int, *,
                        charset_lie_share: float = 0.02) -> dict[str, Iterator[bytes]]:
    """One lazy record iterator per library code (each walks the universe on its own)."""
    return {s.code: iter_library_records(seed, libraries, s.code, editions,
                                         charset_lie_share=charset_lie_share)
            for s in libraries}


def iter_editions(seed: int, libraries: Sequence[LibrarySpec], editions: int
                  ) -> Iterator[tuple[Edition, list[str]]]:
    """Ground truth for merge tests: every edition with the codes of the libraries that
    hold it (in library-list order)."""
    _check(libraries)
    for prof in _iter_slots(seed, editions):
        holders = _holders(seed, prof, libraries)
        eds = _editions(prof)
        for v, ed in enumerate(eds):
            codes = [s.code for s in holders if v in _held_volumes(seed, prof, s, holders)]
            yield ed, codes


def _iter_all(seed: int, libraries: Sequence[LibrarySpec], editions: int,
              charset_lie_share: float) -> Iterator[tuple[str, bytes]]:
    """Single pass: each edition built once, handed to every holder's cataloguer."""
    cats = {s.code: _cataloguer(seed, s, charset_lie_share) for s in libraries}
    for prof in _iter_slots(seed, editions):
        holders = _holders(seed, prof, libraries)
        eds = _editions(prof)
        for spec in holders:
            for v in _held_volumes(seed, prof, spec, holders):
                yield spec.code, cats[spec.code].record(eds[v])


def write_library(out_dir: str | Path, seed: int, libraries: Sequence[LibrarySpec], code: str,
                  editions: int, charset_lie_share: float = 0.02) -> tuple[Path, int]:
    """Write one library's file; the unit of work for parallel generation."""
    spec = next(s for s in libraries if s.code == code)
    path = Path(out_dir) / spec.filename
    n = 0
    with path.open("wb") as fh:
        buf: list[bytes] = []
        for rec in iter_library_records(seed, libraries, code, editions,
                                        charset_lie_share=charset_lie_share):
            buf.append(rec)
            n += 1
            if len(buf) >= 2000:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))
    return path, n


def write_consortium(out_dir: str | Path, seed: int, libraries: Sequence[LibrarySpec],
                     editions: int, *, processes: int = 1, charset_lie_share: float = 0.02,
                     progress: Callable[[str, int], None] | None = None) -> dict[str, Path]:
    """Write every library's file into `out_dir`; returns {code: path}.

    processes=1 builds each edition once and streams to all files; processes>1 runs
    `write_library` per library in a process pool.  Both give the same bytes.
    """
    _check(libraries)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if processes > 1 and len(libraries) > 1:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            futures = {s.code: pool.submit(write_library, out, seed, list(libraries), s.code,
                                           editions, charset_lie_share) for s in libraries}
            result = {}
            for code, fut in futures.items():
                path, n = fut.result()
                result[code] = path
                if progress:
                    progress(code, n)
            return result
    paths = {s.code: out / s.filename for s in libraries}
    handles = {code: p.open("wb") for code, p in paths.items()}
    counts = dict.fromkeys(paths, 0)
    bufs: dict[str, list[bytes]] = {code: [] for code in paths}
    try:
        for code, rec in _iter_all(seed, libraries, editions, charset_lie_share):
            bufs[code].append(rec)
            counts[code] += 1
            if len(bufs[code]) >= 2000:
                handles[code].write(b"".join(bufs[code]))
                bufs[code].clear()
        for code, buf in bufs.items():
            handles[code].write(b"".join(buf))
    finally:
        for fh in handles.values():
            fh.close()
    if progress:
        for code, n in counts.items():
            progress(code, n)
    return paths


# ---------------------------------------------------------------------------- the demo

DEMO_SEED = 20240611
DEMO_EDITIONS = 2000
DEMO_LIBRARIES: tuple[LibrarySpec, ...] = (
    LibrarySpec("SXPL", "陕西省图书馆", "cnmarc", "utf-8", "61", 0.52,
                home=("陕西", "西安", "关中", "长安", "三秦", "秦岭")),
    LibrarySpec("XYLIB", "咸阳市图书馆", "cnmarc", "gb18030", "XY", 0.39,
                home=("咸阳", "关中")),
    LibrarySpec("SMLIB", "神木市图书馆", "marc21", "utf-8", "SM", 0.16,
                home=("神木", "榆林", "陕北")),
)
# More demo members: the provincial Symphony union catalog (PROV; its items belong to county
# members), a Koha library (MARC 21, 952 items), both served by the vendor-API simulators,
# and a county library that can only be searched live over Z39.50 (CWLIB).  Generated with
# DEMO_LIBRARIES so all share one universe of editions (same ISBNs), but written
# separately, so the three harvested Zebra members' files stay byte-identical.
DEMO_EXTRA_LIBRARIES: tuple[LibrarySpec, ...] = (
    LibrarySpec("PROV", "陕西省图书馆（联合目录）", "cnmarc", "utf-8", "61", 0.5,
                home=("陕西", "西安", "关中")),
    LibrarySpec("BJLIB", "宝鸡市图书馆", "marc21", "utf-8", "BJ", 0.25, home=("宝鸡", "关中")),
    LibrarySpec("CWLIB", "长武县图书馆", "cnmarc", "gb18030", "CW", 0.12, home=("长武", "咸阳")),
)
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo_data"

_README = """\
# Demo catalogue data

Synthetic but realistic member-library exports for the Tongjian demo, produced by
`tongjian.generator` (seed {seed}, {editions} edition slots):

| file | library | format | records |
|---|---|---|---|
{rows}

Regenerate (byte-identical) with:

    python -m tongjian.generator --demo --out tongjian/demo_data

which is the same as

    python -m tongjian.generator --out tongjian/demo_data --seed {seed} --editions {editions}

PROV (the provincial Symphony union catalog; the demo's Symphony simulator gives its
bibs items in county member libraries) and BJLIB (served by the Koha simulator) are
generated from the same universe. The libraries hold overlapping subsets of one universe
of editions: famous books
(红楼梦, 平凡的世界, 白鹿原, 中国发展报告, 围城, 活着, 三体 …) are in every file,
popular titles in two or three, the long tail in one. The same edition is catalogued
independently by each library (same ISBN and title; different pinyin convention
`$A`/`$9`, price notation, ISBN-10 vs ISBN-13, call numbers and items), so an ISBN-based
merge can join them.

Deliberate data problems, as in real exports: ~1 % of ISBNs carry a wrong check digit,
~8 % of records have no ISBN (pre-1987 books, some with 091 统一书号; internal local
publications), a few GB18030 records claim UTF-8 in 100$a/26-29 (`50`), `-` placeholders in
some leaders, `#` in some 100$a, 606 subdivisions typed into one `$a`.
"""


def write_demo_data(out_dir: str | Path = DEMO_DIR) -> dict[str, Path]:
    """Write the committed demo set and its README (deterministic)."""
    counts: dict[str, int] = {}
    paths = write_consortium(out_dir, DEMO_SEED, DEMO_LIBRARIES, DEMO_EDITIONS,
                             progress=lambda code, n: counts.__setitem__(code, n))
    for spec in DEMO_EXTRA_LIBRARIES:
        paths[spec.code], counts[spec.code] = write_library(
            out_dir, DEMO_SEED, DEMO_LIBRARIES + DEMO_EXTRA_LIBRARIES, spec.code, DEMO_EDITIONS)
    rows = "\n".join(f"| `{s.filename}` | {s.code} {s.name} | "
                     f"{'CNMARC' if s.flavour == 'cnmarc' else 'MARC 21 + 880'} "
                     f"{s.encoding.upper()} | {counts[s.code]} |"
                     for s in DEMO_LIBRARIES + DEMO_EXTRA_LIBRARIES)
    (Path(out_dir) / "README.md").write_text(
        _README.format(seed=DEMO_SEED, editions=DEMO_EDITIONS, rows=rows), encoding="utf-8")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tongjian.generator",
        description="Generate a seeded consortium catalogue (one file per library).")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--editions", type=int, default=DEMO_EDITIONS,
                        help="edition slots (a multi-volume set counts once)")
    parser.add_argument("--processes", type=int, default=1,
                        help="generate libraries in parallel processes")
    parser.add_argument("--charset-lie-share", type=float, default=0.02,
                        help="share of GB18030 records whose 100$a claims UTF-8")
    parser.add_argument("--demo", action="store_true",
                        help="write the committed demo set (fixed seed and size) + README")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts: dict[str, int] = {}
    if args.demo:
        paths = write_demo_data(args.out)
        for p in paths.values():
            print(p)
        return 0
    paths = write_consortium(args.out, args.seed, DEMO_LIBRARIES, args.editions,
                             processes=args.processes,
                             charset_lie_share=args.charset_lie_share,
                             progress=lambda code, n: counts.__setitem__(code, n))
    dt = time.perf_counter() - t0
    total = sum(counts.values())
    for code, path in paths.items():
        print(f"{code}\t{counts[code]}\t{path}")
    print(f"{total} records in {dt:.1f}s ({total / dt:,.0f} records/s)", file=sys.stderr)
    return 0
