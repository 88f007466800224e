"""Normalization: the tables and the string functions that turn a field into its match key.

Libraries catalogue one edition differently: ISBN-10 or -13, traditional or simplified
characters, full-width punctuation, the volume in 200$h or typed into the title, "张三主编"
or "主编 张三", the publisher with or without 出版社.  Every field the matcher compares is
first reduced here to a key on which those differences are gone:

* text: the one fold of `core.fold` (NFKC + lower case + OpenCC t2s) — the same the
  index, the quality report and ILL use — and on top of it what only the matcher needs:
  HTML entities left by a careless export decoded, a few variant characters OpenCC keeps
  (锺/钟) merged (`_fold`); punctuation and spaces dropped (`core.fold.squash`);
* titles without a Latin leading article (`title_key`); volumes to a canonical part
  number (第1册 / v.1 / Vol. 1 / Ⅰ → "1", 上册 → "上") and editions to a number or
  marker (第2版 / 2nd ed. → "2", 修订版 → "rev"), with what makes two of them compatible
  next to each (`volumes_compatible`, `editions_compatible`); authors without role
  words, dates and brackets (`person_key`); publishers without 出版社 / 有限公司 / Press
  (`publisher_key`).

The rules are data: the tables below are what a librarian reads to see what is folded.
Distances are on characters (Python str), never bytes: one Han character is one edit.
Levenshtein is a small bounded implementation here (no package needed: rapidfuzz and
friends are not dependencies of this project).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

from core.fold import fold, squash

# --------------------------------------------------------------------- tables (the rules)

#: Variant characters OpenCC t2s leaves apart but catalogues use interchangeably.
#: Matching only: the index and ILL fold without them (`core.fold`).
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

# ------------------------------------------------------------------ small text functions

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_BRACKETED = re.compile(r"[\(（\[【〔<〈《][^\)）\]】〕>〉》]{0,20}[\)）\]】〕>〉》]")
_DATES = re.compile(r"\b(?:ca\.?\s*)?\d{3,4}\s*[-~～–—]\s*(?:\d{3,4})?\??|\b(?:b|d|fl)\.\s*\d{3,4}")
_LEADING_NON_WORD = re.compile(r"^[\W_]+")
_TITLE_MAIN = re.compile(r"\s*[:：]\s*|\s+[=＝/／]\s+|\s*[＝／]\s*")


@functools.lru_cache(maxsize=100_000)  # each record folds its title, names, publisher …
def _fold(text: str) -> str:
    """The shared fold (`core.fold.fold`: width, case, t2s) plus the variant-character
    table; HTML entities left by a careless XML export (World&apos;s) are decoded first."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    return fold(text).translate(_VARIANTS)


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
    return squash(folded)


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
        rest = squash(folded[:m.start()] + " " + folded[m.end():])
        return number, rest
    return "", squash(folded)


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
    squashed = squash(folded)
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
        key = squash(folded)
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
    sur = squash(surname)
    giv = " ".join(w for w in re.split(r"[\s.]+", given)
                   if w and squash(w) and w not in LATIN_ROLE_WORDS)
    giv = " ".join(squash(w) for w in giv.split())
    return f"{sur},{giv}" if giv else sur


@functools.lru_cache(maxsize=20_000)  # names and publishers recur across a catalogue
def publisher_key(text: str) -> str:
    """Publisher without the words every publisher has (出版社, 有限公司, Press, Inc.)."""
    folded = _fold(text).strip().strip("[]()（）【】 ")
    if not folded or folded in PUBLISHER_UNKNOWN or squash(folded) in PUBLISHER_UNKNOWN:
        return ""
    folded = _BRACKETED.sub(" ", folded)
    if _has_han(folded):
        key = squash(folded)
        for _ in range(2):
            for suffix in PUBLISHER_SUFFIXES:
                if key.endswith(suffix) and len(key) > len(suffix) + 1:
                    key = key[: -len(suffix)]
                    break
        return key
    words = [w for w in re.split(r"[\s,.;:&/\-]+", _strip_accents(folded)) if w]
    kept = [w for w in words if w not in PUBLISHER_LATIN_NOISE]
    return squash("".join(kept or words))


def _responsibility_key(text: str) -> str:
    return squash(_strip_accents(_DATES.sub(" ", _fold(text)))) if text else ""


# ----------------------------------------------------- when two volume / edition keys agree


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
