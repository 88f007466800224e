"""Chinese-first text analysis shared by every search backend.

Index time and query time must cut text the same way, or a word indexed as 红楼梦 is looked
up as 红/楼梦 and never found.  So everything a backend puts into or asks of an index goes
through this module:

* `normalize` folds the variation a reader does not see as different: full-width forms
  (ＡＢＣ１２３, （）) become half-width (NFKC), case is dropped, traditional characters
  become simplified (OpenCC t2s), so 紅樓夢 and 红楼梦 are the same words.  It is
  `core.fold.fold`, the one fold the matcher, the quality report and ILL compare titles
  and names with too, so what the index calls one word they call one title.
* `tokens` is the index-side analysis: runs of Han characters are cut by jieba in
  search-engine mode (the words plus the dictionary words inside long words, so 红楼梦 is
  indexed as 红楼 and 红楼梦, 中华人民共和国 as 中华/人民/共和国/…); every other run of
  letters or digits is one lowercased word; punctuation and spaces are dropped.
* `query_words` is the query-side analysis: jieba's precise mode (one reading of the text,
  not the overlapping search-mode words, which an AND query would all require), each word
  with its search-mode parts so a backend can accept the parts when the document was cut
  differently.
* `pinyin_tokens` makes toneless pinyin for titles and names, per syllable and joined, so
  "hongloumeng" and "hong lou meng" both find 红楼梦.

Single Han characters are deliberately *not* added as fallback tokens.  They would rescue
a query jieba cuts differently from the document, but at the price of precision on every
query: 发 would match every 发展/出发/头发, and an AND over characters matches unrelated
titles that merely share characters.  The mismatch is real, though — jieba cuts 礼泉县志 as
礼泉县/志, so the everyday query 县志 would miss it — and `bigrams` is the rescue instead:
overlapping character pairs of titles and names, kept in their own low-weight fields.  A
pair is specific enough (县志 inside 礼泉县志 really is a 县志) and only ever an
alternative to the word itself, so ranking still follows the dictionary words.  A
one-character query word has no pair and matches only where jieba cut the same character
off in the document.  jieba runs without its HMM (new-word
guessing), because the HMM's guesses depend on the surrounding text and would cut a name
one way inside a title and another way in a query; without it an unknown name falls apart
into the same characters on both sides, and those characters are then indexed as jieba's
own words.

jieba's dictionary (~0.5 s) and the OpenCC converter (in `core.fold`) load once, lazily,
on first use, so importing this module is free for processes that never analyse text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from core.fold import fold as normalize
from core.fold import squash

__all__ = [
    "normalize",
    "tokens",
    "query_words",
    "pinyin_tokens",
    "pinyin_forms",
    "title_parts",
    "latin_input",
    "split_syllables",
    "bigrams",
    "isbn_key",
    "meant_isbn",
    "issn_key",
    "code_key",
    "title_key",
    "looks_like_call_number",
    "class_path",
]

_lock = threading.Lock()
_jieba: Any = None

# Han ideographs: CJK Unified (incl. Extension A), Compatibility, and the supplementary
# planes (Extensions B–G) where rare names and old-book characters live.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A Han run, or a word of other letters/digits (any script except Han, no underscore),
# keeping decimals (3.11, i242.4) and the programming names c++ / c# / f# whole.
_RUN = re.compile(rf"([{_HAN}]+)|((?:[^\W_{_HAN}])+(?:(?<=\d)\.\d+)*[+#]*)")
_ISBN_INPUT = re.compile(r"^(?:isbn)?[:\s]*([0-9][0-9\-\s]{8,20}[0-9x])$")
_ISSN_INPUT = re.compile(r"^(?:issn)?[:\s]*([0-9]{4})-?([0-9]{3}[0-9x])$")
_CALL_NUMBER = re.compile(r"^[a-z]{1,3}(?:[0-9]|/\S*[0-9])\S*$")  # I242.4/12, TU/345
_SPACE = re.compile(r"\s+")

# Function words dropped from queries (never from the index): with AND semantics,
# 中国的发展 would otherwise demand a 的 the title 中国发展报告 does not have.
QUERY_STOPWORDS = frozenset(("的", "之", "与", "和", "及", "了", "在", "或", "等"))


# One cache of folded values for the whole analysis of an entry.  A title is folded for
# its terms, for its title key, for its suggest keys and by `index.documents` comparing it
# with the other records' titles; names, publishers and subjects recur across thousands of
# entries.  OpenCC + NFKC cost far more than a lookup.
folded = lru_cache(maxsize=200_000)(normalize)


def title_key(text: str) -> str:
    """`core.fold.title_key` (fold, then letters and digits only) through the cache."""
    return squash(folded(text))


def _rjieba() -> Any:
    """rjieba (jieba-rs), imported once: the compiled twin of jieba with the same
    dictionary, about 18× faster; with HMM off its precise and search-mode cuts equal
    jieba's (tests/test_analyser_switch.py compares whole index documents)."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import rjieba

                _jieba = rjieba
    return _jieba


@lru_cache(maxsize=50_000)
def _cut_precise(run: str) -> tuple[str, ...]:
    return tuple(_rjieba().cut(run, hmm=False))


@lru_cache(maxsize=50_000)
def _cut_search(run: str) -> tuple[str, ...]:
    """jieba's search mode: each precise word preceded by the dictionary words of two and
    three characters inside it."""
    return tuple(_rjieba().cut_for_search(run, hmm=False))


def _runs(normalized: str) -> Iterable[tuple[bool, str]]:
    """(is_han, text) for each Han run and each other word, punctuation skipped."""
    for m in _RUN.finditer(normalized):
        han = m.group(1)
        yield (True, han) if han else (False, m.group(2))


Segment = tuple[bool, str, tuple[str, ...]]  # (is Han, run, jieba's precise words)


def segments(text: str) -> tuple[Segment, ...]:
    """`text` normalized, cut into runs, each Han run cut by jieba once.

    Everything the index derives from a value (terms, pinyin, pairs) starts here, so a
    title analysed three ways is normalized and cut once.  Short values are cached: names,
    publishers, subjects and series recur across a catalogue; a summary seldom does, and
    caching it would cost kilobytes an entry.
    """
    return _short_segments(text) if len(text) <= _CACHED_LENGTH else _segments(text)


_CACHED_LENGTH = 64


def _segments(text: str) -> tuple[Segment, ...]:
    return tuple(
        (True, run, _cut_precise(run)) if is_han else (False, run, (run,))
        for is_han, run in _runs(folded(text))
    )


_short_segments = lru_cache(maxsize=200_000)(_segments)


def tokens(text: str) -> list[str]:
    """Index terms of `text`: jieba search-mode words for Han runs, whole other words.

    Search mode emits both 红楼 and 红楼梦 for 红楼梦, so a document is found by the whole
    word and by the dictionary words inside it (中国发展报告 → 中国/发展/报告).
    """
    out: list[str] = []
    for is_han, run, _ in segments(text):
        if is_han:
            out.extend(_cut_search(run))
        else:
            out.append(run)
    return out


@lru_cache(maxsize=50_000)
def _cover(word: str) -> tuple[str, ...]:
    """`word` spelled as consecutive shorter index terms, longest first (计算机网络 → 计算机 网络).

    Built from jieba's search-mode pieces of the word; a position no piece starts at
    contributes its single character, which a document has as a term only where jieba cut
    it off there too.
    """
    starts: dict[int, str] = {}
    for piece, begin, end in _rjieba().tokenize(word, mode="search", hmm=False):
        if end - begin < len(word) and len(piece) > len(starts.get(begin, "")):
            starts[begin] = piece
    parts: list[str] = []
    i = 0
    while i < len(word):
        piece = starts.get(i, word[i])
        parts.append(piece)
        i += len(piece)
    return tuple(parts)


def query_words(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The words a query must match, each with its search-mode parts.

    A query word is matched as itself or, failing that, as all of its parts: a document
    whose text jieba cut into 计算机 + 网络 still matches the query word 计算机网络.  Words
    are de-duplicated in order; query stopwords go unless they are all there is.
    """
    words: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for is_han, _, precise in segments(text):
        for word in precise:
            if word in seen:
                continue
            seen.add(word)
            words.append((word, _cover(word) if is_han and len(word) > 2 else ()))
    kept = [w for w in words if w[0] not in QUERY_STOPWORDS]
    return kept or words


def bigrams(text: str) -> list[str]:
    """Overlapping pairs of Han characters (礼泉县志 → 礼泉 泉县 县志); other scripts: none.

    Pairs never cross a non-Han character, so punctuation and Latin words still separate.
    """
    out: list[str] = []
    for is_han, run, _ in segments(text):
        if is_han:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


# Pinyin ------------------------------------------------------------------------------
#
# Readers type a title's pinyin three ways: syllables in order with spaces (hong lou meng),
# joined (hongloumeng) and as initials (hlm), and mix them with characters (红lm,
# hong楼梦).  A value (one title part, one name) is therefore indexed as
#   * its syllable stream, in order, so a backend can match typed syllables as a phrase;
#   * joined pinyin, per dictionary word and for the whole value (and for each part of a
#     title that carries its subtitle after a colon or a slash);
#   * its initials (first letters of the syllables), whole, for initials input.
# Readings come from pypinyin's phrase dictionary (重庆 chong qing, 银行 yin hang) on the
# whole run of characters, the same at index and query time; a character it can only read
# one way in isolation but has several readings for (曾 ceng/zeng) gives alternative joined
# forms and initials — a few, never a combinatorial explosion.

_MAX_JOINED = 64
_MAX_VARIANTS = 4
_PARTS = re.compile(r"\s*[:：=／;；|]\s*|\s+/\s+|\s+[-—–]+\s+|[（）()\[\]【】〔〕]")
_VOWEL = re.compile(r"[aeiouv]")
_syllables: frozenset[str] | None = None


def _syllable_set() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (ü written v), vowel-less
    interjections (hm, ng) left out so that initials are never mistaken for them."""
    global _syllables
    if _syllables is None:
        from pypinyin.constants import PINYIN_DICT

        found: set[str] = set()
        for readings in PINYIN_DICT.values():
            for reading in readings.split(","):
                # ü carries its tone as one more mark (ǚ = u + ¨ + ˇ): decompose first
                plain = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
                plain = "".join(c for c in plain if not unicodedata.combining(c))
                if _VOWEL.search(plain):
                    found.add(plain)
        _syllables = frozenset(found)
    return _syllables


@lru_cache(maxsize=20_000)
def split_syllables(word: str) -> tuple[str, ...]:
    """`word` (lowercase letters) as pinyin syllables, fewest syllables first
    (zhongguo → zhong guo, xian → xian); () when it is not pinyin (hlm, python)."""
    known = _syllable_set()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        here = best[i]
        if here is None:
            continue
        for j in range(min(n, i + 6), i, -1):
            piece = word[i:j]
            if piece in known:
                cand = here + (piece,)
                old = best[j]
                if old is None or len(cand) < len(old):
                    best[j] = cand
    return best[n] or ()


@lru_cache(maxsize=200_000)
def _word_readings(word: str) -> tuple[tuple[str, ...], ...]:
    """Per character of a jieba word, its readings: pypinyin's phrase reading alone where
    its phrase dictionary covers the character (重庆 chong, 银行 hang), else every reading,
    most common first (曾 ceng, zeng).  Per word and cached, like the words themselves: a
    catalogue repeats its words far more than its titles.  A character without a reading
    (a rare variant) is left out."""
    from pypinyin import Style, pinyin

    readings = pinyin(word, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(tuple(dict.fromkeys(r)) for r in readings if r and r[0])


class Pinyin:
    """The pinyin forms of one value: `syllables` in order, `joined` forms (per word and
    whole), `whole` (the whole value joined, with its alternative readings), `initials`."""

    __slots__ = ("syllables", "joined", "whole", "initials")

    def __init__(self, syllables: list[str], joined: list[str], whole: list[str],
                 initials: list[str]) -> None:
        self.syllables = syllables
        self.joined = joined
        self.whole = whole
        self.initials = initials


def _variants(readings: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The reading sequences of a value: the first readings, then alternatives at the
    first ambiguous positions, `_MAX_VARIANTS` in all."""
    out = [tuple(r[0] for r in readings)]
    for i, r in enumerate(readings):
        if len(r) < 2:
            continue
        out += [v[:i] + (alt,) + v[i + 1 :] for v in list(out) for alt in r[1:2]]
        if len(out) >= _MAX_VARIANTS:
            break
    return out[:_MAX_VARIANTS]


@lru_cache(maxsize=200_000)
def _pinyin(value: str) -> Pinyin:
    syllables: list[str] = []
    readings: list[tuple[str, ...]] = []
    joined: list[str] = []
    pinyin_only = True  # initials only for Chinese or pinyin, not for "Pride and Prejudice"
    for is_han, run, precise in segments(value):
        if is_han:
            for word in precise:
                word_readings = _word_readings(word)
                first = [r[0] for r in word_readings]
                syllables.extend(first)
                readings.extend(word_readings)
                if len(first) > 1:
                    joined.append("".join(first))
        else:
            split = split_syllables(run) if run.isascii() and run.isalpha() else ()
            pieces = split or (run,)
            # a letter or a number inside a Chinese title (C语言, 3D打印) is typed as such
            pinyin_only = pinyin_only and bool(split or run.isdigit() or len(run) == 1)
            syllables.extend(pieces)
            readings.extend((p,) for p in pieces)
            if len(pieces) > 1:
                joined.append(run)
    variants = _variants(readings) if readings else []
    initials: list[str] = []
    wholes: list[str] = []
    for v in variants:
        whole = "".join(v)
        if len(whole) <= _MAX_JOINED:
            wholes.append(whole)
            if len(v) > 1:
                joined.append(whole)
        if len(v) > 1 and pinyin_only:
            initials.append("".join(s[0] for s in v if s))
    return Pinyin(syllables, list(dict.fromkeys(joined)), list(dict.fromkeys(wholes)),
                  list(dict.fromkeys(initials)))


def title_parts(title: str) -> list[str]:
    """A title and, when it carries more than one part (正题名：副题名, 题名 / 并列题名),
    each part: readers type the title proper alone as often as the whole."""
    parts = [p for p in _PARTS.split(title) if p and p.strip()]
    return [title, *parts] if len(parts) > 1 else [title]


def pinyin_forms(value: str) -> Pinyin:
    """Syllables, joined forms and initials of `value` (one title part or one name)."""
    return _pinyin(value)


def pinyin_tokens(text: str) -> list[str]:
    """The syllables and joined forms of `text` — what a query word in Latin letters can
    match one by one."""
    p = _pinyin(text)
    return list(dict.fromkeys([*p.syllables, *p.joined]))


class LatinInput:
    """How a query typed (partly) in Latin letters can be read as pinyin.

    `syllables`: the whole input as one syllable sequence, characters read as pinyin and
    letters split into syllables (hong楼梦 → hong lou meng), () if some letters are not
    pinyin.  `initials`: the same input as initials (红lm → hlm), '' when some letters are
    spelt-out syllables (hong楼梦, shanxi: a reader typing syllables is not typing initials).
    """

    __slots__ = ("syllables", "initials")

    def __init__(self, syllables: tuple[str, ...], initials: str) -> None:
        self.syllables = syllables
        self.initials = initials


_LETTERS = re.compile(r"^[a-z]+$")


def latin_input(text: str) -> LatinInput | None:
    """The pinyin reading of a query that has Latin letters, or None when it has none
    (a plain Chinese query) or holds digits or other scripts (an ISBN, a class number)."""
    syllables: list[str] = []
    initials: list[str] = []
    pinyin_ok = True
    letters = spelt = False
    for is_han, run, precise in segments(text):
        if is_han:
            got = [r[0] for word in precise for r in _word_readings(word)]
            syllables.extend(got)
            initials.extend(s[0] for s in got)
        elif _LETTERS.match(run):
            letters = True
            split = split_syllables(run)
            if split:  # typed in full: not initials (shanheishi is no s-h-s)
                syllables.extend(split)
                spelt = True
            else:
                pinyin_ok = False
                initials.append(run)
        else:
            return None
    if not letters:
        return None
    return LatinInput(tuple(syllables) if pinyin_ok else (), "" if spelt else "".join(initials))


def isbn_key(text: str) -> str | None:
    """The ISBN-13 a user or a record means, or None if `text` is not ISBN-shaped.

    Accepts hyphens, spaces and an "ISBN" prefix; an ISBN-10 with a valid check digit is
    converted to its 978 ISBN-13 because the index holds only ISBN-13.  A 13-digit number
    with a bad check digit is still returned (it is what was typed, and the index may hold
    the same typo); an ISBN-10 with a bad one is not converted, since recomputing the
    check digit would silently search a different book.
    """
    m = _ISBN_INPUT.match(normalize(text).strip())
    if not m:
        return None
    digits = re.sub(r"[\s\-]", "", m.group(1)).upper()
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        return digits
    if len(digits) == 10 and digits[:9].isdigit():
        total = sum((10 - i) * int(c) for i, c in enumerate(digits[:9]))
        check = 10 if digits[9] == "X" else int(digits[9])
        if (total + check) % 11 != 0:
            return None
        body = "978" + digits[:9]
        s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
        return body + str((10 - s % 10) % 10)
    return None


def meant_isbn(catalogued: str) -> str | None:
    """The ISBN-13 a catalogued ISBN that fails its check digit was meant to be.

    The common slip is the check digit itself (7-5063-8464-5 for 7-5063-8464-7): the body
    names the book, so the index holds the body's true ISBN-13 as well, and a reader with
    the book in hand finds the record.  Never shown: the record keeps what it says."""
    digits = re.sub(r"[^0-9Xx]", "", catalogued)  # the check digit is dropped: any case
    if len(digits) == 10 and digits[:9].isdigit():
        body = "978" + digits[:9]
    elif len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        body = digits[:12]
    else:
        return None
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str((10 - s % 10) % 10)


def issn_key(text: str) -> str | None:
    """ISSN as NNNN-NNNC (the form catalogues store), or None if not ISSN-shaped."""
    m = _ISSN_INPUT.match(normalize(text).strip())
    return f"{m.group(1)}-{m.group(2).upper()}" if m else None


def code_key(text: str) -> str:
    """Call numbers and class numbers compared without case, width or inner spaces."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).upper()


_CLASS_HEAD = re.compile(r"^[A-Z][A-Z0-9.]*")


def class_path(clc: str) -> list[str]:
    """Every class a 中图分类号 lies in, broadest first (I242.47 → I I2 I24 I242 I242.4
    I242.47; TP312 → T TP TP3 TP31 TP312): a class query finds every book classed under
    it, however deep the library classified.  Suffixes after the number (-49, (2)) and
    prefixes ending in the decimal point are left out."""
    m = _CLASS_HEAD.match(code_key(clc))
    if not m:
        return []
    head = m.group(0)
    return [head[:n] for n in range(1, len(head) + 1) if head[n - 1] != "."]


def looks_like_call_number(text: str) -> bool:
    """索书号 / 中图分类号 shape: 1–3 class letters, a digit, no spaces (I242.4/12, TP312)."""
    return bool(_CALL_NUMBER.match(normalize(text).strip()))
