"""Same edition, one entry — matching records across libraries beyond a shared ISBN.

Libraries catalogue one edition differently: ISBN-10 or -13, a wrong check digit or none,
traditional or simplified characters, full-width punctuation, the volume in 200$h or
typed into the title, "张三主编" or "主编 张三", the publisher with or without 出版社.  A
shared ISBN alone is not enough either: a set's ISBN is printed on every volume, and
presses re-use numbers.  So the merge works on a small, normalized `MatchRecord` per
record and a rule set that is easy to explain to a librarian:

* **Normalization** (tables below): NFKC + lower case + OpenCC t2s via `index.text.
  normalize`, a few variant characters OpenCC keeps (锺/钟), punctuation and spaces
  dropped, volumes to a canonical part number (第1册 / v.1 / Vol. 1 / Ⅰ → "1", 上册 → "上"),
  editions to a number or marker (第2版 / 2nd ed. → "2", 修订版 → "rev"), authors without
  role words, dates and brackets, publishers without 出版社 / 有限公司 / Press.
* **Hard vetoes**, checked for every pair, ISBN or not: different volume/part, different
  edition, different material type or language, a librarian's split (`cannot_link`).
* **ISBN**: a shared valid ISBN-13 merges unless a veto applies, the titles have
  nothing in common (a wrong or re-used ISBN), or title *and* first author both
  disagree (一号多书: 区域概论 by 秦林娜 and 形势概论 by 杜辉 under one number — the
  generic word 概论 makes the titles look related, the authors say otherwise).  One of
  the two disagreeing alone still merges: a same-titled record naming another
  responsible person, or the same author with a subtitle or a short title, is far more
  often one book catalogued twice than two books under one number (`isbn_reused`, and
  the quality report's 一号多书, use the same rule).  Two records whose ISBNs all differ are
  never merged by the fuzzy rules (both editions *have* an ISBN and they are not the
  same); an ISBN with a wrong check digit still counts by its first 12 digits.
* **Without a shared ISBN**: the title must be the same after normalization (or within a
  small character-level Levenshtein distance for long titles), numbers in the title
  equal, the first author the same person (or found in the other's statement of
  responsibility, which bridges 约翰·史密斯 and "Smith, John"), the year equal (see
  `YEAR_SLACK` for why not ±1), the publisher not different.
* **Clusters, not pairs**: unions go through a union-find that re-checks the vetoes at
  the cluster level, so a record without an ISBN can never bridge two clusters holding
  different ISBNs, volumes, editions or authors, no record (形势概论 by 秦林娜) can
  bridge two books of one re-used ISBN, and a split holds transitively.  A record whose
  best matches lie in two clusters that cannot be one (Pride and prejudice, Penguin, no
  year, no ISBN) joins neither.  An ISBN seen on two different volumes is a
  set ISBN (套书号) and does not count as "different ISBN" between volume records.
* **Scale**: candidate pairs come only from blocks — ISBN stem, exact title key (also
  with the part appended), title prefix/suffix with the first author — and a big block
  is split into author+year and year+publisher sub-blocks; records with identical
  normalized fields are judged once.  Within a block, pairs are found through ISBN,
  year and volume indexes (`_group_pairs`): only pairs that the cheap vetoes let
  through are judged.  Blocks are processed in a fixed order (records in key order), so
  the result does not depend on input order; and since blocks that share no record
  never affect each other, the components of the block graph can be clustered in
  several processes (`Clustering`) with the very same result.

Distances are on characters (Python str), never bytes: one Han character is one edit.
Levenshtein is a small bounded implementation here (no package needed: rapidfuzz and
friends are not dependencies of this project).
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import html
import json
import os
import re
import sys
import unicodedata
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from index.text import normalize

__all__ = [
    "MATCH_VERSION",
    "MatchRecord",
    "lone_cluster_id",
    "ClusterResult",
    "Clustering",
    "ShardResult",
    "cluster",
    "cluster_detailed",
    "evidence",
    "is_match",
    "isbn_reused",
    "other_editions",
    "levenshtein",
    "similarity",
    "title_key",
    "volume_key",
    "edition_key",
    "editions_compatible",
    "volumes_compatible",
    "person_key",
    "publisher_key",
]

#: Bump when a normalization rule changes: stored MatchRecord JSON of another version must
#: be rebuilt from the full record (the store keeps it in a column next to `data`).
MATCH_VERSION = 1

# --------------------------------------------------------------------- tables (the rules)

#: Variant characters OpenCC t2s leaves apart but catalogues use interchangeably.
VARIANT_CHARS: dict[str, str] = {
    "锺": "钟", "鍾": "钟", "兪": "俞", "啓": "启", "姪": "侄", "眞": "真", "淸": "清",
    "敎": "教", "靑": "青", "爲": "为", "僞": "伪", "衞": "卫", "裏": "里", "綫": "线",
    "甯": "宁", "寳": "宝", "遊": "游", "祇": "只",
}
_VARIANTS = str.maketrans(VARIANT_CHARS)

#: Chinese numerals for part and edition numbers (第十二册, 第二版).
CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
    "六": 6, "七": 7, "八": 8, "九": 9,
}
CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}

ROMAN: dict[str, int] = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}

#: Volume designations: (regex on the normalized text, group holding the number).  Tried
#: in order; the text left over after the match is the part *name* (农业志, 黑暗森林).
_NUM = r"[0-9一二三四五六七八九十百千零〇○两]+"
VOLUME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("num", rf"第\s*({_NUM})\s*(?:分册|册|卷|辑|集|部|编|篇|期|本|回|章|分|版次)?"),
    ("num", rf"(?:卷|册|辑|集|部)\s*({_NUM})"),
    ("num", r"\b(?:v|vol|vols|volume|pt|part|no|nr|bd|band|t|tome|tomo|teil|book|bk|"
            r"ser|series|fasc|heft|ch)\.?\s*([0-9]+|[ivxlc]+)\b"),
    ("pos", r"^([上中下])\s*(?:册|卷|编|集|部|篇|辑)?"),
    ("pos", r"(?:^|\s)([上中下])(?:册|卷|编|集|部|篇|辑)"),
    ("num", r"^([0-9]+)\b"),
    ("num", r"^([ivxlc]+)\b"),
    ("num", rf"^({_NUM})$"),
)
_VOLUME_RES = tuple((kind, re.compile(p)) for kind, p in VOLUME_PATTERNS)

#: A volume designation typed at the end of the title proper ("陕西统计年鉴2019",
#: "渭南文史资料第3辑") when 200$h / 245$n is empty: split it off so it compares with
#: the library that used the subfield.
_TITLE_TAIL_VOLUME = re.compile(
    rf"(?<=[^\s0-9])\s*(第\s*{_NUM}\s*(?:分册|册|卷|辑|集|部|编|篇|期)|[上中下]册|[0-9]{{1,4}})$")

#: Edition statements: (regex, value) — value "" means "the number in group 1".
EDITION_PATTERNS: tuple[tuple[str, str], ...] = (
    (rf"第?\s*({_NUM})\s*版", ""),
    (r"(?<![0-9])([0-9]{1,3})\s*(?:st|nd|rd|th|d)?\s*(?:ed\b|edition|éd|aufl|auflage|изд)",
     ""),
    (r"\b([0-9]{1,3})\s*(?:st|nd|rd|th)\b", ""),
    (r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+ed", ""),
    (r"(初版|首版|第一版|原版)", "1"),
    (r"(修订|修正|增订|增补|订正|rev\b|revised)", "rev"),
)
_EDITION_RES = tuple((re.compile(p), v) for p, v in EDITION_PATTERNS)
ENGLISH_ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}

#: Role words cut from the end (or start) of a name or statement: longest first.
ROLE_WORDS: tuple[str, ...] = tuple(sorted((
    "著", "撰", "编", "主编", "编著", "编写", "编纂", "编选", "选编", "编译", "总主编", "副主编",
    "译", "翻译", "译注", "校注", "注释", "评注", "注评", "笺注", "评点", "选译", "注译",
    "集注", "点校", "校点", "校", "注", "整理", "辑", "辑录", "续", "绘", "文", "图", "摄影",
    "口述", "执笔", "合著", "合编", "原著", "改编", "等著", "等编", "等", "编辑", "主笔",
), key=len, reverse=True))
_ROLE_TAIL = re.compile("(?:" + "|".join(ROLE_WORDS) + ")+$")
_ROLE_HEAD = re.compile("^(?:主编|总主编|编著|编|著)(?=.{2})")
LATIN_ROLE_WORDS = frozenset((
    "ed", "eds", "edited", "editor", "editors", "by", "trans", "translated", "translator",
    "comp", "compiler", "author", "et", "al", "illustrator", "illustrated", "introduction",
))

#: Publisher words that carry no identity ("人民文学出版社" = "人民文学出版社有限公司").
PUBLISHER_SUFFIXES: tuple[str, ...] = tuple(sorted((
    "出版社有限责任公司", "出版社有限公司", "出版有限责任公司", "出版有限公司", "出版集团",
    "出版传媒", "出版公司", "出版社", "有限责任公司", "有限公司", "股份", "集团", "总社",
    "出版", "社",
), key=len, reverse=True))
PUBLISHER_LATIN_NOISE = frozenset((
    "the", "press", "publishing", "publishers", "publisher", "pub", "publ", "books", "book",
    "inc", "ltd", "limited", "co", "company", "corp", "corporation", "group", "verlag",
    "gmbh", "llc", "house", "and", "&",
))
#: What cataloguers write when there is no publisher: treated as absent.
PUBLISHER_UNKNOWN = frozenset((
    "出版者不详", "出版社不详", "出版者不明", "不详", "sn", "s.n.", "s. n.",
    "publisher not identified", "publishernotidentified", "[s.n.]",
))

#: Leading articles of Latin-script titles (MARC 21 non-filing characters).
LEADING_ARTICLES: tuple[str, ...] = ("the ", "a ", "an ", "le ", "la ", "les ", "der ",
                                     "die ", "das ", "el ")

#: Year tolerance for records *without* a shared ISBN.  A year off by one is a real
#: cataloguing variant (copyright vs. imprint year, 210$d vs. 100$a), but a reprint a
#: year later without an ISBN looks exactly the same.  Measured on four evaluation sets
#: (`python -m bench.matching_eval` prints the ablation): tolerating ±1 — only when
#: title, first author and publisher all agree — gains ~0.7 points of recall and costs
#: ~0.8 points of precision (0.990–0.992 instead of 0.998–0.999; below the 0.99 floor on
#: one set), F1 no better.  So years must be equal; with a shared ISBN they may differ
#: by up to `ISBN_YEAR_GAP`.  year_slack=1 stays available per call.
YEAR_SLACK = 0

#: Years two records sharing an ISBN may differ by: one library records the printing
#: (印刷) year, another the edition year.  A wider gap is a reissue under the same
#: number, which the issue wants kept apart like any reprint in another year.
ISBN_YEAR_GAP = 2

#: Title similarity (1 − Levenshtein / longer length) needed when titles are not equal,
#: and the shortest title for which any difference is tolerated at all: a one-character
#: difference in a short Chinese title is another book (中国小说 / 中国散文).
TITLE_MIN_SIMILARITY = 0.9
TITLE_FUZZY_MIN_LEN = 8
#: Blocks larger than this are compared through per-signature representatives, and the
#: representatives only within author / year sub-blocks.
BLOCK_LIMIT = 60
#: Distinct (title, authors) descriptions a cluster keeps to test a union for 一号多书
#: through a third record; a cluster described more ways than this (a famous book every
#: library typed its own way) is tested on its first ones only, so a union stays cheap.
CLUSTER_DESCRIPTIONS = 8

# ------------------------------------------------------------------ small text functions

_NOT_WORD = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_BRACKETED = re.compile(r"[\(（\[【〔<〈《][^\)）\]】〕>〉》]{0,20}[\)）\]】〕>〉》]")
_DATES = re.compile(r"\b(?:ca\.?\s*)?\d{3,4}\s*[-~～–—]\s*(?:\d{3,4})?\??|\b(?:b|d|fl)\.\s*\d{3,4}")
_DIGITS = re.compile(r"[0-9]+")
_LEADING_NON_WORD = re.compile(r"^[\W_]+")
_TITLE_MAIN = re.compile(r"\s*[:：]\s*|\s+[=＝/／]\s+|\s*[＝／]\s*")


@functools.lru_cache(maxsize=100_000)  # each record folds its title, names, publisher …
def _fold(text: str) -> str:
    """normalize() (width, case, t2s) plus the variant-character table; HTML entities
    left by a careless XML export (World&apos;s) are decoded first."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    return normalize(text).translate(_VARIANTS)


def _squash(folded: str) -> str:
    """Letters and digits only: punctuation and spaces never make two titles differ."""
    return _NOT_WORD.sub("", folded)


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def cn_number(text: str) -> int | None:
    """十二 → 12, 一百零五 → 105, 2019 → 2019, iv → 4; None if not a number."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(c in ROMAN for c in text):
        total, prev = 0, 0
        for c in reversed(text):
            v = ROMAN[c]
            total = total - v if v < prev else total + v
            prev = max(prev, v)
        return total or None
    if all(c in CN_DIGITS for c in text):  # 二〇一九 → 2019 (digit by digit)
        return int("".join(str(CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in CN_DIGITS:
            digit = CN_DIGITS[c]
        elif c in CN_UNITS:
            total += (digit or 1) * CN_UNITS[c]
            digit = 0
        else:
            return None
    return total + digit


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance over Unicode characters (one Han character = one edit).

    With `limit`, stops early and returns limit + 1 once the distance must exceed it —
    the matcher only ever needs "is it at most 1 or 2".
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if limit is not None and len(a) - len(b) > limit:
        return limit + 1
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            cost = previous[j - 1] + (ca != cb)
            ins = current[j - 1] + 1
            dele = previous[j] + 1
            v = cost if cost < ins else ins
            v = v if v < dele else dele
            current.append(v)
            if v < best:
                best = v
        if limit is not None and best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """1 − Levenshtein / length of the longer string, over characters."""
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


# ------------------------------------------------------------------- field normalizers


def title_key(text: str) -> str:
    """A title as compared: folded, Latin leading article dropped, no punctuation/space."""
    folded = _LEADING_NON_WORD.sub("", _fold(text))
    for article in LEADING_ARTICLES:
        if folded.startswith(article) and len(folded) > len(article) + 2:
            folded = folded[len(article):]
            break
    return _squash(folded)


def _split_title(title: str) -> tuple[str, str]:
    """(title proper, whole title): MARC 21 joins 245 $a and $b with " : "; CNMARC keeps
    the other title information in $e (title_alt).  Comparing the title proper makes
    "X : Y" and "X" the same title."""
    parts = _TITLE_MAIN.split(title, maxsplit=1)
    main = parts[0] if parts and title_key(parts[0]) else title
    return main, title


def _volume_parts(text: str) -> tuple[str, str]:
    """(canonical number or 上/中/下 or '', remaining name) of a volume designation."""
    folded = _fold(text).strip()
    if not folded:
        return "", ""
    for kind, rx in _VOLUME_RES:
        m = rx.search(folded)
        if not m:
            continue
        raw = m.group(1)
        if kind == "pos":
            number = raw
        else:
            n = cn_number(raw)
            if n is None:
                continue
            number = str(n)
        rest = _squash(folded[:m.start()] + " " + folded[m.end():])
        return number, rest
    return "", _squash(folded)


@functools.lru_cache(maxsize=4096)
def volume_key(text: str) -> str:
    """Canonical part: "第1册", "v.1", "Vol. 1", "1", "Ⅰ" → "1"; "上册" → "上"; a
    named part (秦汉卷, 黑暗森林) → its name, after the number when there is one."""
    number, name = _volume_parts(text)
    return f"{number}|{name}" if number and name else number or name


@functools.lru_cache(maxsize=4096)
def edition_key(text: str) -> str:
    """Canonical edition: "第2版" / "2nd ed." / "Second edition" → "2"; 修订版 → "rev";
    "第1版", "初版" and no statement at all → "" (a first edition is rarely stated the
    same way by every library, so it must compare equal to silence).  Anything else
    ("Oxford world's classics pbk", 影印本) is kept as "~text": see `editions_compatible`."""
    folded = _fold(text).strip()
    if not folded:
        return ""
    for rx, value in _EDITION_RES:
        m = rx.search(folded)
        if not m:
            continue
        if value:
            out = value
        else:
            raw = m.group(1)
            n = ENGLISH_ORDINALS.get(raw) or cn_number(raw)
            if n is None:
                continue
            out = str(n)
        return "" if out == "1" else out
    squashed = _squash(folded)
    return "~" + squashed if squashed else ""


@functools.lru_cache(maxsize=100_000)  # names and publishers recur across a catalogue
def person_key(name: str) -> str:
    """A personal or corporate name as compared.

    Han names: brackets ((清), [美]), dates, role words (著, 主编) and the dot of
    transliterated names (约翰·史密斯) go; what is left is the characters.  Latin names
    become "surname,given" with diacritics folded — "Austen, Jane, 1775-1817" and "Jane
    Austen" both give "austen,jane".
    """
    folded = _fold(name)
    if not folded:
        return ""
    folded = _BRACKETED.sub(" ", folded)
    folded = _DATES.sub(" ", folded)
    if _has_han(folded):
        key = _squash(folded)
        stripped = _ROLE_TAIL.sub("", key)
        key = stripped if len(stripped) >= 2 else key
        head = _ROLE_HEAD.sub("", key)
        return head if len(head) >= 2 else key
    folded = _strip_accents(folded)
    if "," in folded:
        surname, _, given = folded.partition(",")
        given = given.split(",")[0]
    else:
        words = [w for w in re.split(r"[\s.]+", folded) if w]
        words = [w for w in words if w not in LATIN_ROLE_WORDS]
        if not words:
            return ""
        surname, given = words[-1], " ".join(words[:-1])
    sur = _squash(surname)
    giv = " ".join(w for w in re.split(r"[\s.]+", given)
                   if w and _squash(w) and w not in LATIN_ROLE_WORDS)
    giv = " ".join(_squash(w) for w in giv.split())
    return f"{sur},{giv}" if giv else sur


@functools.lru_cache(maxsize=20_000)  # names and publishers recur across a catalogue
def publisher_key(text: str) -> str:
    """Publisher without the words every publisher has (出版社, 有限公司, Press, Inc.)."""
    folded = _fold(text).strip().strip("[]()（）【】 ")
    if not folded or folded in PUBLISHER_UNKNOWN or _squash(folded) in PUBLISHER_UNKNOWN:
        return ""
    folded = _BRACKETED.sub(" ", folded)
    if _has_han(folded):
        key = _squash(folded)
        for _ in range(2):
            for suffix in PUBLISHER_SUFFIXES:
                if key.endswith(suffix) and len(key) > len(suffix) + 1:
                    key = key[: -len(suffix)]
                    break
        return key
    words = [w for w in re.split(r"[\s,.;:&/\-]+", _strip_accents(folded)) if w]
    kept = [w for w in words if w not in PUBLISHER_LATIN_NOISE]
    return _squash("".join(kept or words))


def _responsibility_key(text: str) -> str:
    return _squash(_strip_accents(_DATES.sub(" ", _fold(text)))) if text else ""


# ----------------------------------------------------------------------- the record

#: Share of symbols above which a title is mojibake (MARC-8 escapes read as text,
#: "$1!2H!?5!T2!2/!X((B"): it is treated as absent, so an ISBN can still match it.
GARBLED_SYMBOL_SHARE = 0.3
_SYMBOL = re.compile(r"[!$%&*+<>?@\\^`|~#]")


def _garbled(text: str) -> bool:
    if not text or len(text) < 6:
        return False
    return len(_SYMBOL.findall(text)) / len(text) > GARBLED_SYMBOL_SHARE


def _clean(text: str | None) -> str:
    """The field, or "" when it is mojibake: nothing to compare is better than noise."""
    return "" if not text or _garbled(text) else text


_TRAILING_NON_WORD = re.compile(r"[\W_]+$")
#: A part designation left at the end of a squashed title ("三体iii死神永生" against
#: "三体" + 245 $n Ⅲ $p 死神永生): optional number, then the part name.
_SQUASHED_PART = re.compile(
    r"^(?:第)?([0-9]+|[ivxlc]+|[一二三四五六七八九十百零〇两]+|[上中下])"
    r"(?:分册|册|卷|辑|集|部|编|篇|期)?(.*)$")


def _intern(text: str) -> str:
    """One string object per distinct value: a million records share a few thousand
    publishers, authors and titles, which is most of their memory."""
    return sys.intern(text) if text else ""


@dataclass(slots=True)
class MatchRecord:
    """What the matcher needs of a record, already normalized (see module docstring).

    Built once per record at harvest time (`from_record`) and kept as compact JSON in the
    store, so re-clustering a million records never decodes a full `Record`.
    """

    key: str
    isbns: tuple[str, ...] = ()  # valid ISBN-13s
    stems: tuple[str, ...] = ()  # first 12 digits of every ISBN incl. bad check digits
    title: str = ""  # title proper, normalized (title_key)
    title_full: str = ""  # whole title incl. other title information, if different
    volume: str = ""  # volume_key()
    volume_text: str = ""  # the volume designation squashed, to find it in a title
    author: str = ""  # first author, person_key()
    authors: tuple[str, ...] = ()  # every author, person_key(), first included
    resp: str = ""  # statement of responsibility, squashed (author found in it)
    year: int | None = None
    publisher: str = ""  # publisher_key()
    edition: str = ""  # edition_key()
    material: str = ""
    language: str = ""
    _numbers: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.isbns and not self.stems:  # built from (key, ISBNs) alone
            self.stems = tuple(sorted({i[:12] for i in self.isbns}))

    @property
    def numbers(self) -> tuple[str, ...]:
        """Digit runs of the title proper: '94 and '95 中国发展报告 are different books."""
        if self._numbers is None:
            self._numbers = tuple(_DIGITS.findall(self.title))
        return self._numbers

    @classmethod
    def from_record(cls, record: Any) -> MatchRecord:
        """From a `core.model.Record` (duck-typed, so this module needs no store)."""
        main, whole = _split_title(_clean(record.title))
        if _garbled(main):
            main = whole = ""
        volume = _clean(record.volume)
        title, full = title_key(main), title_key(whole)
        if not volume:  # the part typed at the end of the title proper, or of it all
            folded = _TRAILING_NON_WORD.sub("", _fold(main))
            m = _TITLE_TAIL_VOLUME.search(folded)
            head = title_key(folded[: m.start()]) if m else ""
            if m and head:
                volume = m.group(1)
                full = head + full[len(title):] if full.startswith(title) else full
                title = head
            elif full != title:
                folded = _TRAILING_NON_WORD.sub("", _fold(whole))
                m = _TITLE_TAIL_VOLUME.search(folded)
                head = title_key(folded[: m.start()]) if m else ""
                if m and head.startswith(title) and head != title:
                    volume, full = m.group(1), head
        authors: list[str] = []
        for a in record.authors:
            for name in (a.name, getattr(a, "romanized", "") or ""):
                k = person_key(_clean(name))
                if k and k not in authors:
                    authors.append(k)
        stems: list[str] = [i[:12] for i in record.isbn]
        for raw in record.isbn_invalid:
            digits = re.sub(r"[^0-9Xx]", "", raw)
            if len(digits) == 13 and digits[:3] in ("978", "979") and digits.isdigit():
                stems.append(digits[:12])
            elif len(digits) == 10 and digits[:9].isdigit():
                stems.append("978" + digits[:9])
        vkey = volume_key(volume)
        names = tuple(_intern(a) for a in authors)
        return cls(
            key=record.key,
            isbns=tuple(sorted(set(record.isbn))),
            stems=tuple(sorted(set(stems))),
            title=_intern(title),
            title_full=_intern(full) if full != title else "",
            volume=_intern(vkey),
            volume_text=_intern(_squash(_fold(volume))) if vkey else "",
            author=names[0] if names else "",
            authors=names,
            resp=_intern(_responsibility_key(_clean(record.responsibility))),
            year=record.year,
            publisher=_intern(publisher_key(_clean(record.publisher))),
            edition=_intern(edition_key(_clean(record.edition))),
            material=_intern(record.material_type or ""),
            language=_intern((record.language or "").lower()[:3]),
        )

    # Short JSON names: a million of these sit in the store.
    _JSON_FIELDS = (("k", "key"), ("i", "isbns"), ("s", "stems"), ("t", "title"),
                    ("tf", "title_full"), ("v", "volume"), ("vt", "volume_text"),
                    ("a", "authors"), ("r", "resp"), ("y", "year"), ("p", "publisher"),
                    ("e", "edition"), ("m", "material"), ("l", "language"))

    def to_json(self) -> str:
        """Compact JSON (empty fields left out) with the rule version, for a store column."""
        out: dict[str, Any] = {"_": MATCH_VERSION}
        for short, name in self._JSON_FIELDS:
            value = getattr(self, name)
            if value or (name == "year" and value is not None):
                out[short] = list(value) if isinstance(value, tuple) else value
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MatchRecord:
        """Inverse of `to_json`; ValueError when written by another rule version (the
        store must then rebuild it from the record)."""
        data = json.loads(text)
        if data.get("_") != MATCH_VERSION:
            raise ValueError(f"MatchRecord JSON version {data.get('_')!r}, "
                             f"expected {MATCH_VERSION}: rebuild it from the record")
        authors = tuple(_intern(a) for a in data.get("a", ()))
        return cls(key=data["k"], isbns=tuple(data.get("i", ())),
                   stems=tuple(data.get("s", ())), title=_intern(data.get("t", "")),
                   title_full=_intern(data.get("tf", "")), volume=_intern(data.get("v", "")),
                   volume_text=_intern(data.get("vt", "")),
                   author=authors[0] if authors else "", authors=authors,
                   resp=_intern(data.get("r", "")), year=data.get("y"),
                   publisher=_intern(data.get("p", "")), edition=_intern(data.get("e", "")),
                   material=_intern(data.get("m", "")), language=_intern(data.get("l", "")))


# ------------------------------------------------------------------- pair comparisons

_SAME, _SIMILAR, _UNKNOWN, _DIFFERENT = "same", "similar", "unknown", "different"
_EXACT = "exact"


def _latin_person_same(x: str, y: str) -> bool:
    """surname,given keys: same surname and compatible initials; also Chinese romanized
    names written in either order (Lu Yao / Lu, Yao → yao,lu vs lu,yao)."""
    sx, _, gx = x.partition(",")
    sy, _, gy = y.partition(",")
    if sx == sy:
        return not gx or not gy or gx[:1] == gy[:1]
    if not (gx and gy):
        return False
    return gx.replace(" ", "") + sx == sy + gy.replace(" ", "") or (
        gy.replace(" ", "") + sy == sx + gx.replace(" ", ""))


def _person_relation(x: str, y: str) -> str:
    if x == y:
        return _SAME
    hx, hy = _has_han(x), _has_han(y)
    if hx != hy:
        return _UNKNOWN  # 约翰史密斯 vs smith,john: cannot tell from the names alone
    if not hx:
        return _SAME if _latin_person_same(x, y) else _DIFFERENT
    if min(len(x), len(y)) >= 3 and levenshtein(x, y, 1) <= 1:
        return _SIMILAR
    return _DIFFERENT


def _in_responsibility(name: str, resp: str) -> bool:
    if not name or not resp:
        return False
    if _has_han(name):
        return len(name) >= 2 and name in resp
    sur, _, given = name.partition(",")
    first = given.split(" ")[0] if given else ""
    return len(sur) >= 3 and sur in resp and (not first or first in resp)


def _author_relation(a: MatchRecord, b: MatchRecord) -> tuple[str, str]:
    """(same | similar | unknown | different, the name that decided).

    Names are compared script by script: a CNMARC record of a translation has 约翰·史密斯
    and the translator 李明, its MARC 21 twin "Smith, John" and 李明 (from the 880) — the
    translator, or the first author found in the other's statement of responsibility,
    decides.  Two records with names in one script and none in common are by different
    people; a record with only a statement of responsibility that does not name the
    other's first author is too.  Only when no script is shared is the answer unknown.
    """
    if not (a.author or a.resp) or not (b.author or b.resp):
        return _UNKNOWN, ""
    if a.author and a.author == b.author:
        return _SAME, a.author
    for x, other in ((a, b), (b, a)):
        if x.author and (x.author in other.authors or _in_responsibility(x.author, other.resp)):
            return _SAME, x.author
    verdict = _UNKNOWN
    for han in (True, False):
        xs = [n for n in a.authors if _has_han(n) == han]
        ys = [n for n in b.authors if _has_han(n) == han]
        if not xs or not ys:
            continue
        rels = {_person_relation(x, y) for x in xs for y in ys}
        if _SAME in rels:
            return _SAME, next(x for x in xs for y in ys if _person_relation(x, y) == _SAME)
        if _SIMILAR in rels:
            verdict = _SIMILAR
        elif verdict == _UNKNOWN:
            verdict = _DIFFERENT
    if verdict != _UNKNOWN:
        return verdict, a.author if verdict == _SIMILAR else ""
    for x, other in ((a, b), (b, a)):
        # Only a statement on one side (no 7XX): it names its people, not the other's.
        # Han names only — romanizations of one name vary too much (Sharma / Śarmā).
        if x.author and not other.authors and _has_han(x.author) and _has_han(other.resp):
            return _DIFFERENT, ""
    return _UNKNOWN, ""


def _part_in_title(a: MatchRecord, b: MatchRecord) -> bool:
    """One record has the part typed into its title, the other in 200 $h/$i (245 $n/$p):
    "三体Ⅲ 死神永生" vs "三体" + "Ⅲ 死神永生", "陕西通史秦汉卷" vs "陕西通史" + "秦汉卷"."""
    for x, y in ((a, b), (b, a)):
        if x.volume or not y.volume or len(x.title) <= len(y.title):
            continue
        if not x.title.startswith(y.title):
            continue
        rest = x.title[len(y.title):]
        if rest == y.volume_text:
            return True
        m = _SQUASHED_PART.match(rest)
        if m:
            n = m.group(1)
            number = n if n in ("上", "中", "下") else str(cn_number(n) or "")
            key = f"{number}|{m.group(2)}" if number and m.group(2) else number or m.group(2)
        else:
            key = rest
        if key and volumes_compatible(key, y.volume):
            return True
    return False


def _title_relation(a: MatchRecord, b: MatchRecord) -> tuple[str, float]:
    """(exact | similar | different | unknown, similarity).

    Titles proper are compared, and whole titles when both records have other title
    information: "Perl : programmer's reference" and "Perl : the complete reference" are
    two books, "X" and "X : a novel" one."""
    if not a.title or not b.title:
        return _UNKNOWN, 0.0
    both_sub = bool(a.title_full and b.title_full)
    pairs = ((a.title_full, b.title_full),) if both_sub else (
        (a.title, b.title), (a.title_full or a.title, b.title_full or b.title))
    if any(x == y for x, y in pairs) or (not both_sub and (
            a.title == b.title_full or b.title == a.title_full)):
        return _EXACT, 1.0
    best = 0.0
    for x, y in pairs:
        longest = max(len(x), len(y))
        if longest < TITLE_FUZZY_MIN_LEN:
            continue
        allowed = int(longest * (1 - TITLE_MIN_SIMILARITY) + 1e-9)
        d = levenshtein(x, y, allowed)
        if d <= allowed:
            best = max(best, 1 - d / longest)
    return (_SIMILAR, best) if best else (_DIFFERENT, 0.0)


def _titles_compatible(a: MatchRecord, b: MatchRecord) -> bool:
    """For a shared ISBN: anything but two unrelated titles.

    Unrelated means a wrong or re-used ISBN, or a set ISBN on volumes whose part names
    were typed into the title ("陕西通史秦汉卷" / "陕西通史隋唐卷": same beginning, two
    different endings).  A typo, a subtitle in one title only, or a title cut short by
    a careless export are compatible."""
    if not a.title or not b.title:
        return True
    rel, _ = _title_relation(a, b)
    if rel in (_EXACT, _SIMILAR) or a.title == b.title:
        return True
    x, y = a.title_full or a.title, b.title_full or b.title
    if a.numbers and b.numbers and a.numbers != b.numbers:
        return False
    if min(len(a.title), len(b.title)) >= 2 and (
            x.startswith(b.title) or y.startswith(a.title)):
        return True  # a subtitle or a part name in one title only
    if levenshtein(a.title, b.title, 1) <= 1:
        return True  # one mistyped character
    prefix = len(os.path.commonprefix((a.title, b.title)))
    if prefix >= 2 and prefix < len(a.title) and prefix < len(b.title):
        return False  # two endings after one beginning: two parts of a set
    return similarity(a.title, b.title) >= 0.5


def _title_and_author_differ(a: MatchRecord, b: MatchRecord) -> bool:
    """Two different books under one ISBN (一号多书), told by what else they say.

    A shared ISBN usually outweighs a title that differs after normalization (a typo, an
    abbreviation, another title typed) or a first author that differs (another person
    of the statement chosen); both at once are two independent faults in one record,
    far less likely than a number printed on two books or copied into the wrong record.
    The titles disagree unless equal, near-equal (`_title_relation`), or one the start
    of the other (a subtitle, a part name or a title cut short): the generic word two
    titles share (区域概论 / 形势概论) is no agreement.  The authors disagree only when
    they can be compared and are different people (`_author_relation`): a missing
    author, or names in two scripts, proves nothing; a statement of responsibility alone
    that does not name the other's first author is another person, as everywhere, and
    so are two statements alone naming nobody in common (`_statements_differ`)."""
    if not a.title or not b.title or a.title == b.title or (a.author and a.author == b.author):
        return False
    rel, _ = _title_relation(a, b)
    if rel in (_EXACT, _SIMILAR):
        return False
    x, y = a.title_full or a.title, b.title_full or b.title
    if min(len(a.title), len(b.title)) >= 2 and (x.startswith(b.title) or y.startswith(a.title)):
        return False
    if not a.authors and not b.authors:
        return _statements_differ(a.resp, b.resp)
    return _author_relation(a, b)[0] == _DIFFERENT


def _statements_differ(x: str, y: str) -> bool:
    """Two Han statements of responsibility, no 7XX on either side ("梁颖等著" / "苏秋兰著"):
    different people when neither names the other's people.  The names are what is left
    without the role words at the end; one inside the other ("梁颖等著" / "梁颖著",
    "主编张三" / "张三主编", "张三李四编" / "张三等编") is the same statement.  Only for
    the 一号多书 test: `_author_relation` leaves such pairs unknown, as a title match
    without an ISBN needs more than a statement to go on."""
    if not (_has_han(x) and _has_han(y)):
        return False
    cx, cy = _ROLE_TAIL.sub("", x), _ROLE_TAIL.sub("", y)
    if len(cx) < 2 or len(cy) < 2:
        return False
    return cx not in y and cy not in x


def _publisher_relation(a: MatchRecord, b: MatchRecord) -> str:
    """same | similar (a typo, or one name inside the other) | unknown | different.

    Containment is only "similar" for names of four or more characters: 人民 is inside
    人民文学 and 人民美术, and those are different presses."""
    x, y = a.publisher, b.publisher
    if not x or not y:
        return _UNKNOWN
    if x == y:
        return _SAME
    if _has_han(x) != _has_han(y):
        return _UNKNOWN  # "Foreign Language Teaching and Research" vs 外语教学与研究
    shorter = min(len(x), len(y))
    if shorter < 4:
        return _DIFFERENT
    if x in y or y in x:
        return _SIMILAR
    # One typo in a Han name; 20 % of a Latin one ("oxforduniv" / "oxforduniversity").
    allowed = 1 if _has_han(x) else int(max(len(x), len(y)) * 0.2)
    return _SIMILAR if levenshtein(x, y, allowed) <= allowed else _DIFFERENT


def _volume_split(v: str) -> tuple[str, str]:
    if "|" in v:
        num, _, name = v.partition("|")
        return num, name
    if v.isdigit() or v in ("上", "中", "下"):
        return v, ""
    return "", v


def volumes_compatible(x: str, y: str) -> bool:
    """Same part of a set?  Numbers must be equal when both are given; part names equal
    (or nearly) when both are given; "第12卷 农业志" matches "第12卷" and "农业志"."""
    if x == y:
        return True
    if not x or not y:
        return False  # a whole set (or a single book) is not one of its volumes
    nx, mx = _volume_split(x)
    ny, my = _volume_split(y)
    if nx and ny and nx != ny:
        return False
    if mx and my:
        return mx == my or similarity(mx, my) >= 0.8
    # Both numbered (and equal) → same part.  One side with only a number, the other
    # with only a name: cannot tell → not the same.
    return bool(nx and ny)


def editions_compatible(x: str, y: str) -> bool:
    """Same edition?  Numbers and known markers (rev) must be equal, "" being the first
    edition.  A statement we cannot read ("~oxfordworldsclassicspbk", ~影印本) does not
    contradict silence, but does contradict a numbered edition and another statement."""
    if x == y:
        return True
    fx, fy = x.startswith("~"), y.startswith("~")
    if fx and fy:
        return similarity(x, y) >= 0.8
    if fx or fy:
        return (y if fx else x) == ""
    return False


_VETO = "→ 不合并"


def _veto(a: MatchRecord, b: MatchRecord, why: list[str] | None, part_in_title: bool) -> bool:
    """Hard vetoes that hold even against a shared ISBN."""
    vetoed = False
    if a.material and b.material and a.material != b.material:
        vetoed = True
        if why is not None:
            why.append(f"资料类型不同 (material type) {a.material} vs {b.material} {_VETO}")
    if a.language and b.language and a.language != b.language and not (
            {a.language, b.language} & {"und", "mul", "zxx", "|||"}):
        vetoed = True
        if why is not None:
            why.append(f"语种不同 (language) {a.language} vs {b.language} {_VETO}")
    if not part_in_title and not volumes_compatible(a.volume, b.volume):
        vetoed = True
        if why is not None:
            why.append(f"卷册不同 (volume/part) {a.volume or '—'} vs {b.volume or '—'} {_VETO}")
    if not editions_compatible(a.edition, b.edition):
        vetoed = True
        if why is not None:
            why.append(f"版次不同 (edition) {a.edition.lstrip('~') or '1'} vs "
                       f"{b.edition.lstrip('~') or '1'} {_VETO}")
    return vetoed


#: What a fuzzy (no shared ISBN) match relied on, so the union can re-check it against
#: whole clusters: a record lacked an author, a year was missing or off, the part was
#: found in the title.
_WEAK_AUTHOR, _WEAK_YEAR, _PART_IN_TITLE = 1, 2, 4


def _quick_check(a: MatchRecord, b: MatchRecord, slack: int,
                 set_stems: Collection[str]) -> bool:
    """Cheap necessary conditions, so that most of the millions of candidate pairs of a
    big catalogue (same title, another edition) are rejected before any string work:
    different ISBNs, or years further apart than any rule allows."""
    if a.isbns and b.isbns and not set(a.isbns).isdisjoint(b.isbns):
        return a.year is None or b.year is None or abs(a.year - b.year) <= ISBN_YEAR_GAP
    if a.stems and b.stems and set(a.stems).isdisjoint(b.stems) and not (
            set_stems and a.volume and b.volume):
        return False
    return a.year is None or b.year is None or abs(a.year - b.year) <= slack


def _judge(a: MatchRecord, b: MatchRecord, why: list[str] | None = None,
           year_slack: int | None = None, set_stems: Collection[str] = ()) -> tuple[int, int]:
    """(strength, flags); strength 0 = no match, ≥ 100 = shared ISBN.

    With `why`, the reasons are appended in words — the same code decides and explains,
    so the evidence a librarian reads is exactly what the merge used.  `set_stems` are
    ISBNs known to be printed on several volumes of a set: they do not identify an
    edition, so two records differing only there do not have "different ISBNs".
    """
    slack = YEAR_SLACK if year_slack is None else year_slack
    if why is None and not _quick_check(a, b, slack, set_stems):
        return 0, 0
    part_in_title = a.volume != b.volume and _part_in_title(a, b)
    vetoed = _veto(a, b, why, part_in_title)
    if vetoed and why is None:
        return 0, 0
    flags = _PART_IN_TITLE if part_in_title else 0
    if part_in_title and why is not None:
        why.append("卷册著录在题名中 (part typed into the title): "
                   f"{a.title}/{a.volume or '—'} vs {b.title}/{b.volume or '—'}")
    shared = sorted(set(a.isbns) & set(b.isbns))
    if shared:
        if why is not None:
            why.append(f"ISBN {shared[0]} 相同 (same ISBN)")
        if not part_in_title and _title_and_author_differ(a, b):
            if why is not None and not vetoed:  # volumes of a set: the veto said why
                why.append(_reused_text(a, b))
            return 0, 0
        if not part_in_title and not _titles_compatible(a, b):
            if why is not None:
                why.append(f"ISBN 相同但题名无关 (unrelated titles: {a.title} / {b.title}) "
                           f"→ ISBN 可能有误，不合并")
            return 0, 0
        if a.year is not None and b.year is not None and abs(a.year - b.year) > ISBN_YEAR_GAP:
            if why is not None:
                why.append(f"ISBN 相同但出版年相差 {abs(a.year - b.year)} 年 ({a.year} vs {b.year})"
                           f"：视为重印/再版 (a reissue under the same ISBN) {_VETO}")
            return 0, 0
        if why is not None:
            _describe_soft(a, b, why)
        return (0, 0) if vetoed else (100, flags)
    sa, sb = set(a.stems), set(b.stems)
    stem_shared = bool(sa & sb)
    if set_stems and not stem_shared and a.volume and b.volume:
        sa, sb = sa - set(set_stems), sb - set(set_stems)
    if sa and sb and not stem_shared:
        if why is not None:
            why.append(f"ISBN 不同 (different ISBNs) {_isbn_text(a)} vs {_isbn_text(b)} {_VETO}")
        return 0, 0
    if stem_shared and why is not None:
        why.append("ISBN 前 12 位相同，一方校验位错误 (same ISBN but a wrong check digit)")
    if a.numbers != b.numbers and not part_in_title:
        if why is not None:
            why.append(f"题名中的数字不同 (numbers in title) {' '.join(a.numbers) or '—'} vs "
                       f"{' '.join(b.numbers) or '—'} {_VETO}")
        return 0, 0
    title_rel, sim = (_EXACT, 1.0) if part_in_title else _title_relation(a, b)
    if why is not None:
        if title_rel == _EXACT:
            why.append(f"题名相同（繁简、全半角、标点归一后） (same title): {a.title}")
        elif title_rel == _SIMILAR:
            why.append(f"题名相近 (similar title) {sim:.2f}: {a.title} / {b.title}")
        else:
            why.append(f"题名不同 (different title): {a.title_full or a.title or '—'} / "
                       f"{b.title_full or b.title or '—'} {_VETO}")
    if title_rel not in (_EXACT, _SIMILAR):
        return 0, 0
    author_rel, name = _author_relation(a, b)
    if why is not None:
        if author_rel == _SAME:
            why.append(f"著者相同 (same author): {name}")
        elif author_rel == _SIMILAR:
            why.append(f"著者相近 (similar author name): {a.author} / {b.author}")
        elif author_rel == _DIFFERENT:
            why.append(f"著者不同 (different first author): {a.author} vs {b.author} {_VETO}")
        else:
            why.append("著者无法比较 (author missing or in another script)")
    if author_rel == _DIFFERENT:
        return 0, 0
    pub_rel = _publisher_relation(a, b)
    if why is not None:
        if pub_rel == _SAME:
            why.append(f"出版者相同 (same publisher): {a.publisher}")
        elif pub_rel == _SIMILAR:
            why.append(f"出版者相近 (similar publisher): {a.publisher} / {b.publisher}")
        elif pub_rel == _DIFFERENT:
            why.append(f"出版者不同 (different publisher): {a.publisher} vs {b.publisher} "
                       f"{_VETO}")
        else:
            why.append("出版者无法比较 (publisher missing or in another script)")
    if pub_rel == _DIFFERENT:
        return 0, 0
    exact_title = title_rel == _EXACT
    gap: int | None = None
    if a.year is not None and b.year is not None:
        gap = abs(a.year - b.year)
        strong = exact_title and author_rel == _SAME and pub_rel == _SAME
        year_ok = gap == 0 or (gap <= slack and strong)
        if why is not None:
            if gap == 0:
                why.append(f"出版年相同 (same year): {a.year}")
            elif year_ok:
                why.append(f"出版年 {a.year} vs {b.year}（相差 {gap} 年；题名、著者、出版者均相同，"
                           "容许 (tolerated)）")
            else:
                why.append(f"出版年不同 (different year) {a.year} vs {b.year} {_VETO}")
        if not year_ok:
            return 0, 0
    elif why is not None:
        why.append("出版年缺失 (year missing)")
    # How much agrees besides the title decides whether that is enough.
    if author_rel == _SAME:
        if exact_title:
            enough = gap is not None or pub_rel == _SAME or stem_shared
        else:
            enough = stem_shared or (gap == 0 and pub_rel in (_SAME, _SIMILAR))
    else:  # similar or unknown author: title, year and publisher must carry it
        enough = exact_title and gap == 0 and (pub_rel == _SAME or stem_shared)
    if not enough:
        if why is not None:
            why.append(f"依据不足 (not enough agreeing evidence) {_VETO}")
        return 0, 0
    if vetoed:
        return 0, 0
    if not (a.author and b.author) or author_rel != _SAME:
        flags |= _WEAK_AUTHOR
    if gap != 0:
        flags |= _WEAK_YEAR
    score = 50 + 10 * exact_title + 10 * (author_rel == _SAME) + 5 * (gap == 0)
    return score + 5 * (pub_rel == _SAME) + 10 * stem_shared, flags


def _describe_soft(a: MatchRecord, b: MatchRecord, why: list[str]) -> None:
    """Evidence for an ISBN match: what else agrees or not (not used to decide)."""
    rel, _ = _title_relation(a, b)
    why.append("题名相同（繁简、全半角、标点归一后） (same title)" if rel == _EXACT
               else f"题名相近 (similar title) {a.title_full or a.title} / "
                    f"{b.title_full or b.title}")
    author_rel, name = _author_relation(a, b)
    if author_rel == _SAME:
        why.append(f"著者相同 (same author): {name}")
    elif author_rel == _DIFFERENT:
        why.append(f"著者不同 (different author): {a.author} vs {b.author}")
    if a.year is not None and b.year is not None:
        why.append(f"出版年相同 (same year): {a.year}" if a.year == b.year
                   else f"出版年 {a.year} vs {b.year}（ISBN 相同，年份差异视为印刷年）")


def _reused_text(a: MatchRecord, b: MatchRecord) -> str:
    return (f"ISBN 相同但题名与著者均不同 (same ISBN, different title and author): "
            f"{a.title} / {b.title}, {a.author or '—'} / {b.author or '—'} → 一号多书，不合并")


def isbn_reused(a: MatchRecord, b: MatchRecord) -> str:
    """The ISBN two records share although they are two books (一号多书), or "".

    The very test `_judge` refuses the merge with, so the quality report lists exactly
    the pairs the record page explains that way.  Volumes of a set, other editions and
    other material types under one number are not listed: a veto keeps them apart for
    its own, legitimate, reason (a set ISBN is printed on every volume).  The year is
    not looked at: a number on two different books is a fault however far apart they
    appeared."""
    shared = set(a.isbns) & set(b.isbns)
    if not shared:
        return ""
    part_in_title = a.volume != b.volume and _part_in_title(a, b)
    if part_in_title or _veto(a, b, None, False) or not _title_and_author_differ(a, b):
        return ""
    return min(shared)


def _isbn_text(r: MatchRecord) -> str:
    return ",".join(r.isbns) or ",".join(s + "?" for s in r.stems)


def is_match(a: MatchRecord, b: MatchRecord, year_slack: int | None = None) -> bool:
    """The pairwise rule alone (no cluster constraints, no librarian splits)."""
    return _judge(a, b, None, year_slack)[0] > 0


def evidence(a: MatchRecord, b: MatchRecord) -> list[str]:
    """Why two records are (or are not) the same edition — for the record page.

    The last line is the verdict of the pairwise rule.  Two records can still be in one
    cluster without matching each other directly (through a third record); show the
    evidence of the edges `cluster_detailed` reports for that.
    """
    why: list[str] = []
    strength, _ = _judge(a, b, why)
    why.append("结论：合并 (same edition)" if strength else "结论：不合并 (not the same edition)")
    return why


# ---------------------------------------------------------------- clustering (union-find)


@dataclass
class ClusterResult:
    """Assignment plus the edges that built each cluster (for "why merged")."""

    clusters: dict[str, str]  # record key → cluster id
    edges: list[tuple[str, str, str]]  # (key, key, rule) for every union made
    refused: int = 0  # unions a cluster-level constraint or a split prevented
    ambiguous: int = 0  # records left alone because they matched two incompatible clusters


class _Clusters:
    """Union-find whose unions re-check the vetoes between whole clusters.

    Pairwise rules are not transitive: a record without an ISBN can match both the 2008
    and the 2009 printing, a record without an author two same-titled books by different
    people, "第12卷" both "第12卷 农业志" and "第12卷 林业志", 形势概论 by 秦林娜 both
    区域概论 by 秦林娜 and 形势概论 by 杜辉 under one re-used ISBN.  Each root therefore
    carries what must stay consistent in a cluster (volumes, editions, ISBN stems,
    authors, year span, its distinct title/author descriptions) and the librarian's
    splits, and a union that would break them is refused.  The per-root sets are
    created lazily: most records never join anything.
    """

    def __init__(self, recs: Sequence[MatchRecord], cannot: dict[int, set[int]],
                 year_slack: int, set_stems: frozenset[str]) -> None:
        n = len(recs)
        self.parent = list(range(n))
        self.size = [1] * n
        self.recs = recs
        self.slack = year_slack
        self.set_stems = set_stems
        self.stems: dict[int, frozenset[str]] = {}
        self.authors: dict[int, frozenset[str]] = {}
        self.years: dict[int, tuple[int, int] | None] = {}
        self.vols: dict[int, frozenset[str]] = {}
        self.eds: dict[int, frozenset[str]] = {}
        self.adopted: dict[int, frozenset[str]] = {}  # titles that carry the cluster's part
        self.described: dict[int, tuple[int, ...]] = {}  # a record per distinct description
        # Librarian splits: partners of any member, and the members that have partners.
        self.blocked: dict[int, set[int]] = {i: set(p) for i, p in cannot.items()}
        self.members: dict[int, set[int]] = {i: {i} for i in cannot}
        self.refused = 0

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _stems(self, root: int) -> frozenset[str]:
        got = self.stems.get(root)
        if got is not None:
            return got
        r = self.recs[root]
        return frozenset(r.stems) - self.set_stems if r.volume else frozenset(r.stems)

    def _authors(self, root: int) -> frozenset[str]:
        got = self.authors.get(root)
        return frozenset(self.recs[root].authors) if got is None else got

    def _years(self, root: int) -> tuple[int, int] | None:
        if root in self.years:
            return self.years[root]
        y = self.recs[root].year
        return None if y is None else (y, y)

    def _vols(self, root: int) -> frozenset[str]:
        got = self.vols.get(root)
        return frozenset((self.recs[root].volume,)) if got is None else got

    def _eds(self, root: int) -> frozenset[str]:
        got = self.eds.get(root)
        return frozenset((self.recs[root].edition,)) if got is None else got

    def _merged_described(self, ra: int, rb: int, forced: bool) -> tuple[int, ...]:
        """A record per distinct description of the union; () once a librarian merged
        the cluster (they said what it is: a third copy of either side must still join)."""
        recs, described = self.recs, self.described
        da, db = described.get(ra, (ra,)), described.get(rb, (rb,))
        if forced or not da or not db:
            return ()
        seen = [_description(recs[i]) for i in da]
        out = list(da)
        for i in db:
            if len(out) >= CLUSTER_DESCRIPTIONS:
                break
            d = _description(recs[i])
            if d not in seen:
                seen.append(d)
                out.append(i)
        return tuple(out)

    def _two_books(self, ra: int, rb: int) -> bool:
        """Would the union hold two books of one re-used ISBN?  Each pair was judged on
        its own, but 形势概论 by 秦林娜 matches both 区域概论 by 秦林娜 (same author) and
        形势概论 by 杜辉 (same title): the union would make the two one."""
        recs, described = self.recs, self.described
        db = described.get(rb, (rb,))
        for i in described.get(ra, (ra,)):
            x = recs[i]
            for j in db:
                if _title_and_author_differ(x, recs[j]):
                    return True
        return False

    def _split_forbids(self, ra: int, rb: int) -> bool:
        if ra not in self.blocked or rb not in self.blocked:
            return False
        ma, mb = self.members[ra], self.members[rb]
        ba, bb = self.blocked[ra], self.blocked[rb]
        if len(ma) > len(mb):
            ma, bb = mb, ba
        return any(m in bb for m in ma)

    def _merged_vols(self, ra: int, rb: int, flags: int) -> frozenset[str] | None:
        """The volumes of the union, or None if two of them are different parts.

        A cluster without a volume takes the other's when its title carries that part
        (this edge found it, or the other cluster already took in a record titled so)."""
        va, vb = self._vols(ra), self._vols(rb)
        if va == {""} and vb != va and (flags & _PART_IN_TITLE or self.recs[ra].title
                                        in self.adopted.get(rb, ())):
            va = vb
        elif vb == {""} and va != vb and (flags & _PART_IN_TITLE or self.recs[rb].title
                                          in self.adopted.get(ra, ())):
            vb = va
        if any(not volumes_compatible(x, y) for x in va for y in vb if x != y):
            return None
        return va | vb

    def could_be_one(self, ra: int, rb: int) -> bool:
        """Could two clusters be one edition?  (For the ambiguity test: a record matching
        both is only ambiguous if they cannot.)  Years may overlap rather than chain."""
        if self.conflict(ra, rb, True, _WEAK_AUTHOR):
            return False
        ya, yb = self._years(ra), self._years(rb)
        return not (ya and yb) or max(ya[0], yb[0]) - min(ya[1], yb[1]) <= self.slack

    def conflict(self, ra: int, rb: int, fuzzy: bool, flags: int) -> bool:
        if self._merged_vols(ra, rb, flags) is None:
            return True
        ea, eb = self._eds(ra), self._eds(rb)
        if any(not editions_compatible(x, y) for x in ea for y in eb if x != y):
            return True
        if self._two_books(ra, rb):
            return True
        ya, yb = self._years(ra), self._years(rb)
        span = max(ya[1], yb[1]) - min(ya[0], yb[0]) if ya and yb else 0
        if not fuzzy:
            return span > ISBN_YEAR_GAP
        sa, sb = self._stems(ra), self._stems(rb)
        if sa and sb and not (sa & sb):
            return True  # would bridge two different ISBNs
        if flags & _WEAK_AUTHOR:
            aa, ab = self._authors(ra), self._authors(rb)
            if aa and ab and not (aa & ab) and not any(
                    _person_relation(x, y) != _DIFFERENT for x in aa for y in ab):
                return True  # would bridge two different authors
        # A weak year must not chain years further apart than the slack.
        return bool(flags & _WEAK_YEAR) and span > self.slack

    def union(self, a: int, b: int, fuzzy: bool = False, flags: int = 0,
              forced: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._split_forbids(ra, rb) or (not forced and self.conflict(ra, rb, fuzzy, flags)):
            self.refused += 1
            return False
        vols = self._merged_vols(ra, rb, flags) or (self._vols(ra) | self._vols(rb))
        adopted = self.adopted.get(ra, frozenset()) | self.adopted.get(rb, frozenset())
        for r in (ra, rb):
            if self._vols(r) == {""} and vols != {""}:
                adopted |= {self.recs[r].title}
        eds = self._eds(ra) | self._eds(rb)
        stems, authors = self._stems(ra) | self._stems(rb), self._authors(ra) | self._authors(rb)
        ya, yb = self._years(ra), self._years(rb)
        described = self._merged_described(ra, rb, forced)
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.stems[ra], self.authors[ra], self.vols[ra], self.eds[ra] = (
            stems, authors, vols, eds)
        self.years[ra] = (ya if yb is None else yb if ya is None
                          else (min(ya[0], yb[0]), max(ya[1], yb[1])))
        if len(described) != 1:  # one: the root's own record describes them all
            self.described[ra] = described
        if adopted:
            self.adopted[ra] = adopted
        for d in (self.stems, self.authors, self.years, self.vols, self.eds, self.adopted,
                  self.described):
            d.pop(rb, None)
        if rb in self.blocked:
            self.blocked.setdefault(ra, set()).update(self.blocked.pop(rb))
            self.members.setdefault(ra, set()).update(self.members.pop(rb))
        return True


def _signature(r: MatchRecord) -> tuple[Any, ...]:
    return (r.title, r.title_full, r.volume, r.volume_text, r.edition, r.authors, r.resp,
            r.year, r.publisher, r.material, r.language, r.stems, r.isbns)


def _description(r: MatchRecord) -> tuple[Any, ...]:
    """What `_title_and_author_differ` reads of a record."""
    return (r.title, r.title_full, r.authors, r.resp)


def _block_keys(r: MatchRecord) -> Iterable[tuple[str, Any]]:
    """Title-pass blocks: the exact title (also with the part appended, to meet a record
    that typed the part into its title), and for long titles — where a small difference
    is tolerated — the first and last four characters with the first author.  A title
    that is not exactly equal only ever matches with the same author (see `_judge`), so
    blocks by author are all the near-equal titles need."""
    if r.title:
        yield ("t", r.title)
        if r.volume_text:
            yield ("t", r.title + r.volume_text)
    if r.title_full:
        yield ("t", r.title_full)
    t = r.title
    if len(t) >= TITLE_FUZZY_MIN_LEN and r.author:
        yield ("pa", (t[:4], r.author))
        yield ("sa", (t[-4:], r.author))


def _set_stems(recs: Sequence[MatchRecord]) -> frozenset[str]:
    """ISBN stems seen on two or more different volumes: set ISBNs (套书号).  They do not
    identify an edition, so a record carrying only the set ISBN is not "a different
    ISBN" from one carrying only its volume's own."""
    seen: dict[str, str] = {}
    out: set[str] = set()
    for r in recs:
        if not r.volume:
            continue
        for s in r.stems:
            v = seen.setdefault(s, r.volume)
            if v != r.volume and not volumes_compatible(v, r.volume):
                out.add(s)
    return frozenset(out)


def _group_pairs(recs: Sequence[MatchRecord], group: Sequence[int], slack: int,
                 set_stems: Collection[str]) -> Iterable[tuple[int, int]]:
    """The pairs (i < j) of `group` that can pass `_quick_check` and the volume veto,
    found through indexes instead of trying all of them: a title block of 2,000 editions
    of 红楼梦 has two million pairs, and almost all of them have two different ISBNs or
    years; 300 volumes of one gazetteer without ISBN all have one year.

    A pair can pass only if it shares an ISBN stem, or one side has no ISBN, or both are
    volumes while set ISBNs exist (`_quick_check`); its years must be within the slack
    unless it shares an ISBN, and its volumes compatible unless the part is typed into
    one title (`_veto`).  Every such pair is yielded once, some failing ones too
    (`_judge` decides), in no particular order: a block's candidates are sorted before
    any union."""
    if len(group) < 2:
        return
    pairs: set[tuple[int, int]] = set()
    by_stem: dict[str, list[int]] = {}
    for i in group:
        r = recs[i]
        for stem in {*r.stems, *r.isbns}:
            by_stem.setdefault(stem, []).append(i)
    for members in by_stem.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    loose = [i for i in group if not recs[i].stems]  # no ISBN: may match any ISBN
    if loose:
        filed = _file_by_volume(recs, group)
        for i in loose:
            for j in _mates(filed, recs[i], slack):
                if i != j:
                    pairs.add((i, j) if i < j else (j, i))
        pairs.update(_part_in_title_pairs(recs, group, frozenset(loose), slack))
    if set_stems:  # volumes of a set: a set ISBN is not "a different ISBN"
        volumes = [i for i in group if recs[i].stems and recs[i].volume]
        filed = _file_by_volume(recs, volumes)
        for i in volumes:
            for j in _mates(filed, recs[i], slack):
                if i < j:
                    pairs.add((i, j))
    yield from pairs


@functools.lru_cache(maxsize=4096)
def _volume_slots(volume: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(slots a record with this volume is filed under, slots it looks in): two volumes
    are compatible (`volumes_compatible`) only if one looks where the other is filed —
    both absent, equal numbers, or part names on both sides."""
    if not volume:
        return ("",), ("",)
    number, name = _volume_split(volume)
    if not number:
        return ("name",), ("name", "named")
    if not name:
        return ("#" + number,), ("#" + number,)
    return ("#" + number, "named"), ("#" + number, "name")


def _file_by_volume(recs: Sequence[MatchRecord],
                    members: Iterable[int]) -> dict[str, dict[int | None, list[int]]]:
    """{volume slot: {year: members}}, for `_mates`."""
    filed: dict[str, dict[int | None, list[int]]] = {}
    for i in members:
        r = recs[i]
        for slot in _volume_slots(r.volume)[0]:
            filed.setdefault(slot, {}).setdefault(r.year, []).append(i)
    return filed


def _mates(filed: dict[str, dict[int | None, list[int]]], r: MatchRecord,
           slack: int) -> Iterable[int]:
    """Filed records whose volume may be compatible with r's and whose year is within
    the slack (r itself included)."""
    for slot in _volume_slots(r.volume)[1]:
        by_year = filed.get(slot)
        if by_year:
            yield from _year_mates(by_year, r.year, slack)


def _year_mates(by_year: dict[int | None, list[int]], year: int | None,
                slack: int) -> Iterable[int]:
    """Records whose year is within `slack` of `year`; a missing year is compatible with
    every year."""
    if year is None:
        for members in by_year.values():
            yield from members
        return
    for y in range(year - slack, year + slack + 1):
        yield from by_year.get(y, ())
    yield from by_year.get(None, ())


def _part_in_title_pairs(recs: Sequence[MatchRecord], group: Sequence[int],
                         loose: Collection[int], slack: int) -> Iterable[tuple[int, int]]:
    """Pairs that `_part_in_title` may exempt from the volume veto: a record without a
    volume whose title starts with the whole title of one with a volume; at least one
    of them without ISBN, years within the slack."""
    titled: dict[str, list[int]] = {}
    for i in group:
        if recs[i].volume:
            titled.setdefault(recs[i].title, []).append(i)
    if not titled:
        return
    lengths = sorted({len(t) for t in titled})
    for x in group:
        rx = recs[x]
        if rx.volume:
            continue
        for n in lengths:
            if n >= len(rx.title):
                break
            for y in titled.get(rx.title[:n], ()):
                ry = recs[y]
                if (x in loose or y in loose) and (
                        rx.year is None or ry.year is None or abs(rx.year - ry.year) <= slack):
                    yield (x, y) if x < y else (y, x)


@dataclass
class ShardResult:
    """One process's share of a clustering (`Clustering.run`)."""

    roots: bytes  # array("q"): the cluster root (record number) of each record, -1: not ours
    edges: list[tuple[tuple[int, int], str, str, str]]  # ((block, order), key, key, rule)
    refused: int
    ambiguous: int
    records: str  # `Clustering.fingerprint`: which records, in which order, this share saw


class Clustering:
    """One clustering run: the records in key order, their blocks in processing order
    (ISBN stems sorted, exact titles, prefix/suffix keys; see `cluster_detailed`) and the
    union-find they feed.

    A union only ever joins records of one connected component of the block graph, and
    the librarians' merges and splits never reach outside one either: components are
    independent.  `run(shard, shards)` therefore clusters whole components only — every
    process builds the same blocks from the same records and takes its share — and
    `finish` combines the shares; the result is exactly that of one process.
    """

    def __init__(self, records: Iterable[MatchRecord],
                 cannot_link: Collection[frozenset[str]] = frozenset(),
                 must_link: Collection[frozenset[str]] = frozenset(),
                 year_slack: int | None = None) -> None:
        self.slack = YEAR_SLACK if year_slack is None else year_slack
        self.recs = recs = sorted(records, key=lambda r: r.key)
        index = {r.key: i for i, r in enumerate(recs)}
        cannot: dict[int, set[int]] = {}
        for pair in cannot_link:
            ks = sorted(pair)
            if len(ks) == 2 and ks[0] in index and ks[1] in index:
                i, j = index[ks[0]], index[ks[1]]
                cannot.setdefault(i, set()).add(j)
                cannot.setdefault(j, set()).add(i)
        self.must: list[tuple[int, int]] = []
        for pair in sorted(tuple(sorted(p)) for p in must_link if len(p) == 2):
            i, j = index.get(pair[0]), index.get(pair[1])
            if i is not None and j is not None:
                self.must.append((i, j))
        self.set_stems = _set_stems(recs)
        self.uf = _Clusters(recs, cannot, self.slack, self.set_stems)
        self.blocks = self._blocks()
        self.edges: list[tuple[tuple[int, int], str, str, str]] = []
        self.ambiguous = 0

    def _blocks(self) -> list[tuple[list[int], str]]:
        """(members, rule) of every block of two or more records, in processing order.

        Pass 1: ISBN stems (valid ISBN-13s, and mistyped ones by their first 12 digits).
        Pass 2: exact title keys; pass 3: prefix/suffix blocks for near-equal long
        titles.  Keys are the title strings themselves, not hashes: a hash collision
        would only add comparisons, but str hashes change between processes, and the
        result must not."""
        stems: dict[str, list[int]] = {}
        titles: dict[str, list[int]] = {}
        fuzzy: dict[tuple[str, Any], list[int]] = {}
        for i, r in enumerate(self.recs):
            for stem in r.stems:
                stems.setdefault(stem, []).append(i)
            for kind, value in _block_keys(r):
                members = (titles.setdefault(value, []) if kind == "t"
                           else fuzzy.setdefault((kind, value), []))
                if not members or members[-1] != i:  # a title key given twice
                    members.append(i)
        blocks = [(stems[stem], "isbn-stem")
                  for stem in sorted(k for k, members in stems.items() if len(members) > 1)]
        for grouped, rule in ((titles.values(), "title"), (fuzzy.values(), "title-fuzzy")):
            blocks.extend((members, rule) for members in grouped if len(members) > 1)
        return blocks

    def _shares(self, shards: int) -> tuple[list[int], list[int], list[int]]:
        """The shard of each librarian merge, of each block and of each record (-1: in
        none): whole components, each to the shard with the fewest block members so far,
        in order of first block."""
        parent = list(range(len(self.recs)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        groups = [[i, j] for i, j in self.must] + [members for members, _ in self.blocks]
        for members in groups:
            a = find(members[0])
            for j in members[1:]:
                b = find(j)
                if a != b:
                    parent[b] = a
        load = [0] * shards
        owner: dict[int, int] = {}
        shard_of: list[int] = []
        for members in groups:
            root = find(members[0])
            shard = owner.get(root)
            if shard is None:
                shard = owner[root] = load.index(min(load))
            load[shard] += len(members)
            shard_of.append(shard)
        records = [owner.get(find(i), -1) for i in range(len(self.recs))]
        return shard_of[:len(self.must)], shard_of[len(self.must):], records

    def run(self, shard: int = 0, shards: int = 1) -> ShardResult:
        """Cluster this shard's components (all of them with one shard)."""
        if shards > 1:
            must_shard, block_shard, record_shard = self._shares(shards)
        else:
            must_shard, block_shard = [0] * len(self.must), [0] * len(self.blocks)
            record_shard = [0] * len(self.recs)
        for n, (i, j) in enumerate(self.must):
            if must_shard[n] == shard and self.uf.union(i, j, forced=True):
                self.edges.append(((-1, n), self.recs[i].key, self.recs[j].key, "librarian"))
        for number, (members, rule) in enumerate(self.blocks):
            if block_shard[number] == shard:
                self._run_block(number, members, rule)
        roots = array("q", (self.uf.find(i) if owner == shard else -1
                            for i, owner in enumerate(record_shard)))
        return ShardResult(roots.tobytes(), self.edges, self.uf.refused, self.ambiguous,
                           self.fingerprint())

    def fingerprint(self) -> str:
        """A digest of the record keys in order: shares combine by record number, so they
        must all have read the same records."""
        digest = hashlib.sha1(usedforsecurity=False)
        for r in self.recs:
            digest.update(r.key.encode("utf-8") + b"\n")
        return digest.hexdigest()

    def finish(self, shares: Sequence[ShardResult]) -> ClusterResult:
        """Combine the shares of every shard (this object's own `run` included); ValueError
        if one of them read other records (the store changed in between)."""
        own = self.fingerprint()
        if any(share.records != own for share in shares):
            raise ValueError("the shares of the clustering read different records")
        parent = self.uf.parent
        for share in shares:
            roots = array("q")
            roots.frombytes(share.roots)
            for i, root in enumerate(roots):
                if root >= 0:
                    parent[i] = root
        edges = heapq.merge(*(share.edges for share in shares), key=lambda e: e[0])
        return ClusterResult(_cluster_ids(self.recs, self.uf), [e[1:] for e in edges],
                             sum(share.refused for share in shares),
                             sum(share.ambiguous for share in shares))

    def _rep_pairs(self, reps: list[int]) -> Iterable[tuple[int, int]]:
        slack = self.slack
        if len(reps) <= BLOCK_LIMIT:
            yield from _group_pairs(self.recs, reps, slack, self.set_stems)
            return
        # A big block (a common title, 400 editions of 红楼梦): only pairs that share an
        # author and a year (± the slack), or a year and a publisher, can match (see
        # `_judge`).  A record without a year is compared with its author's whole group,
        # one without authors or publisher with its whole year.
        by_key: dict[tuple[Any, ...], list[int]] = {}
        loose: list[tuple[tuple[Any, ...], int]] = []
        for i in reps:
            r = self.recs[i]
            for name in r.authors:
                if r.year is None:
                    loose.append((("a", name), i))
                else:
                    by_key.setdefault(("ay", name, r.year), []).append(i)
            if r.year is not None:
                if r.publisher:
                    by_key.setdefault(("yp", r.year, r.publisher), []).append(i)
                if not r.publisher or not r.authors:
                    loose.append((("y", r.year), i))
            elif not r.authors:
                loose.append((("all",), i))
        seen: set[tuple[int, int]] = set()

        def emit(i: int, j: int) -> Iterable[tuple[int, int]]:
            p = (i, j) if i < j else (j, i)
            if i != j and p not in seen:
                seen.add(p)
                yield p

        for key, group in by_key.items():
            for i, j in _group_pairs(self.recs, group, slack, self.set_stems):
                yield from emit(i, j)
            if key[0] == "ay":  # the next years, for the year slack
                for d in range(1, slack + 1):
                    for j in by_key.get(("ay", key[1], key[2] + d), ()):
                        for i in group:
                            yield from emit(i, j)
        if loose:
            wide: dict[tuple[Any, ...], list[int]] = {("all",): reps}
            for i in reps:
                r = self.recs[i]
                for name in r.authors:
                    wide.setdefault(("a", name), []).append(i)
                wide.setdefault(("y", r.year), []).append(i)
            for key, i in loose:
                for j in wide.get(key, ()):
                    yield from emit(i, j)

    def _drop_ambiguous(self, cands: list[tuple[int, int, int, int]]
                        ) -> list[tuple[int, int, int, int]]:
        """A record whose best fuzzy matches lie in two clusters that cannot be one (two
        ISBNs, two authors, years apart) does not know which it is: it joins neither.
        Where one cluster scores higher, only the edges to it are kept."""
        per: dict[int, list[tuple[int, int]]] = {}
        for s, i, j, _ in cands:
            if -s < 100:
                per.setdefault(i, []).append((-s, j))
                per.setdefault(j, []).append((-s, i))
        drop: set[tuple[int, int]] = set()
        for x, partners in per.items():
            if len(partners) < 2:
                continue
            best: dict[int, int] = {}
            for s, p in partners:
                r = self.uf.find(p)
                best[r] = max(best.get(r, 0), s)
            if len(best) < 2:
                continue
            top = max(best.values())
            leaders = sorted(r for r in best if best[r] == top)
            if len(leaders) > 40 or not all(
                    self.uf.could_be_one(r1, r2)
                    for n, r1 in enumerate(leaders) for r2 in leaders[n + 1:]):
                self.ambiguous += 1
                drop.update((x, p) for _, p in partners)
                continue
            rivals = {r for r in best if best[r] < top
                      and not all(self.uf.could_be_one(lead, r) for lead in leaders)}
            drop.update((x, p) for _, p in partners if self.uf.find(p) in rivals)
        if not drop:
            return cands
        return [c for c in cands if (c[1], c[2]) not in drop and (c[2], c[1]) not in drop]

    def _run_block(self, number: int, members: list[int], rule: str) -> None:
        """Judge the candidate pairs of one block, then union strongest first.

        Records with identical normalized fields are judged once against their first
        occurrence, so a block of 500 copies of one famous edition costs 500 judgements,
        not 125,000."""
        reps: list[int] = []
        by_sig: dict[tuple[Any, ...], int] = {}
        cands: list[tuple[int, int, int, int]] = []
        for i in members:
            sig = _signature(self.recs[i])
            rep = by_sig.get(sig)
            if rep is None:
                by_sig[sig] = i
                reps.append(i)
                continue
            s, flags = _judge(self.recs[rep], self.recs[i], None, self.slack, self.set_stems)
            if s:
                cands.append((-s, rep, i, flags))
            else:
                reps.append(i)
        for i, j in self._rep_pairs(reps):
            if self.uf.find(i) == self.uf.find(j):
                continue
            s, flags = _judge(self.recs[i], self.recs[j], None, self.slack, self.set_stems)
            if s:
                cands.append((-s, i, j, flags))
        if len(cands) > 1:
            cands = self._drop_ambiguous(cands)
        cands.sort()
        for s, i, j, flags in cands:
            isbn = -s >= 100
            if self.uf.union(i, j, fuzzy=not isbn, flags=flags):
                self.edges.append(((number, len(self.edges)), self.recs[i].key, self.recs[j].key,
                                   "isbn" if isbn else rule))


def cluster_detailed(records: Iterable[MatchRecord],
                     cannot_link: Collection[frozenset[str]] = frozenset(),
                     must_link: Collection[frozenset[str]] = frozenset(),
                     year_slack: int | None = None) -> ClusterResult:
    """Cluster records; see `cluster`.  Also returns the union edges with their rule."""
    clustering = Clustering(records, cannot_link, must_link, year_slack)
    return clustering.finish([clustering.run()])


def _cluster_id(anchor: str) -> str:
    """Same hash as `harvest.merge`: ids of ISBN-only clusters do not change."""
    return hashlib.sha1(anchor.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def lone_cluster_id(record: MatchRecord) -> str:
    """The id `cluster` gives `record` when no other record shares its cluster or one of
    its ISBNs (the anchor rule of `_cluster_ids`).  A bulk load stores it with the record,
    so the merge afterwards rewrites only the rows whose cluster turns out otherwise — a
    fifth of them, not a million 2 KB rows."""
    return _cluster_id("i:" + min(record.isbns) if record.isbns else "r:" + record.key)


def _cluster_ids(recs: Sequence[MatchRecord], uf: _Clusters) -> dict[str, str]:
    """Anchor = the cluster's smallest ISBN that no other cluster has (as in
    `harvest.merge`: "i:" + ISBN), else its smallest record key ("r:" + key).  A set
    ISBN shared by the clusters of its volumes anchors none of them, so ids never
    collide; ids stay stable across runs and input order.

    One pass over the records for each step, no per-cluster lists: most of a million
    clusters are single records."""
    roots = [uf.find(i) for i in range(len(recs))]
    owner: dict[str, int] = {}
    shared: set[str] = set()
    for r, root in zip(recs, roots, strict=True):
        for isbn in r.isbns:
            if owner.setdefault(isbn, root) != root:
                shared.add(isbn)
    anchors: dict[int, str] = {}
    # Records are in key order, so a cluster's first record has its smallest key.
    for r, root in zip(recs, roots, strict=True):
        own = [isbn for isbn in r.isbns if isbn not in shared]
        best = anchors.get(root)
        if own:
            anchor = "i:" + min(own)
            if best is None or best.startswith("r:") or anchor < best:
                anchors[root] = anchor
        elif best is None:
            anchors[root] = "r:" + r.key
    ids = {root: _cluster_id(anchor) for root, anchor in anchors.items()}
    return {r.key: ids[root] for r, root in zip(recs, roots, strict=True)}


def cluster(records: Iterable[MatchRecord],
            cannot_link: Collection[frozenset[str]] = frozenset(),
            must_link: Collection[frozenset[str]] = frozenset(),
            year_slack: int | None = None) -> dict[str, str]:
    """{record key: cluster id} for every record.

    `cannot_link` are librarian splits (pairs of record keys): no cluster ever holds both,
    whatever ISBNs or chains of other records say.  `must_link` are librarian merges,
    applied first and past the vetoes (a split of the same pair wins).  Records given
    with only a key and ISBNs cluster exactly as `harvest.merge.assign_clusters` does.
    """
    return cluster_detailed(records, cannot_link, must_link, year_slack).clusters


# --------------------------------------------------------------------- other editions


def other_editions(records: Iterable[MatchRecord], clusters: dict[str, str],
                   limit: int = 200) -> dict[str, list[str]]:
    """{cluster id: other clusters of the same work} — same title proper, first author and
    volume, but a different edition, year, publisher or ISBN (else they would be one
    cluster).  Records without an author are left out: a title alone (诗经, 年鉴) names
    too many unrelated works.  At most `limit` links per cluster, smallest ids first."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for r in records:
        cid = clusters.get(r.key)
        if cid is None or not r.title or not r.author:
            continue
        groups.setdefault((r.title, r.author, r.volume), set()).add(cid)
    links: dict[str, set[str]] = {}
    for ids in groups.values():
        if len(ids) < 2:
            continue
        for cid in ids:
            links.setdefault(cid, set()).update(ids - {cid})
    return {cid: sorted(others)[:limit] for cid, others in sorted(links.items())}
