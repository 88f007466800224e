"""中图分类号 (Chinese Library Classification): clean a class number, find its top class,
and judge it against the table to three levels (中图法类目表).

Records carry CLC in 690$a (CNMARC), 084$a with $2 clc or 093 (MARC21), sometimes several
joined with '；', sometimes an old-scheme number.  The top class is the facet patrons use.

The table is data, `harvest/data/clc_levels.tsv` (its header says where it comes from):
every class to three levels with its caption, and the ranges the scheme divides by an
auxiliary table instead of listing (I3/7 各国文学 by the 世界地区表).  A class number's
levels are cut from its notation — the letter, then one more character at a time, a
second letter counting as one (I242.47 → I, I2, I24; TP312 → T, TP, TP3) — which is how
the scheme builds a subclass's number from its parent's.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import NamedTuple

TOP_CLASSES: dict[str, str] = {
    "A": "马克思主义、列宁主义、毛泽东思想、邓小平理论",
    "B": "哲学、宗教",
    "C": "社会科学总论",
    "D": "政治、法律",
    "E": "军事",
    "F": "经济",
    "G": "文化、科学、教育、体育",
    "H": "语言、文字",
    "I": "文学",
    "J": "艺术",
    "K": "历史、地理",
    "N": "自然科学总论",
    "O": "数理科学和化学",
    "P": "天文学、地球科学",
    "Q": "生物科学",
    "R": "医药、卫生",
    "S": "农业科学",
    "T": "工业技术",
    "U": "交通运输",
    "V": "航空、航天",
    "X": "环境科学、安全科学",
    "Z": "综合性图书",
}

_CLASS = re.compile(r"^[A-Z][A-Z]?[0-9][0-9.\-/:=()\"<>+a-z]*$|^[A-Z]{1,2}$")


def split(value: str) -> list[str]:
    """One subfield may hold several class numbers ('I247.5；K29'); return the valid ones."""
    out = []
    for part in re.split(r"[；;,，\s]+", value.strip().upper().replace("．", ".")):
        if part and _CLASS.match(part) and part[0] in TOP_CLASSES:
            out.append(part)
    return out


def top_class(clc: list[str]) -> str:
    for c in clc:
        if c and c[0] in TOP_CLASSES:
            return c[0]
    return ""


LEVELS = 3  # the table's depth: I → I2 → I24
_HEAD = re.compile(r"^([A-Z]{1,2})((?:\d|\.)*)")


class Table(NamedTuple):
    captions: dict[str, str]  # class number (to three levels) → caption ('' when unnamed)
    ranges: dict[str, str]  # every number a range covers (I3 … I7) → the range's caption


@cache
def table() -> Table:
    """The 中图法 table to three levels, read once from the package's data file."""
    text = files("harvest").joinpath("data/clc_levels.tsv").read_text(encoding="utf-8")
    captions: dict[str, str] = {}
    ranges: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        number, _, rest = line.partition("\t")
        caption = rest.split("\t", 1)[0].strip()
        if "/" in number:  # I3/7, D33/37: first and last number of the same length
            first, last = number.split("/")
            letters = first.rstrip("0123456789")
            low, high = first[len(letters):], last
            for n in range(int(low), int(high) + 1):
                ranges[f"{letters}{n:0{len(low)}d}"] = caption
        else:
            captions[number] = caption
    for number in [*captions, *ranges]:  # K8: the table lists K81 … K89 directly under K
        for code in levels(number)[:-1]:
            captions.setdefault(code, "")
    return Table(captions, ranges)


def levels(number: str) -> list[str]:
    """The classes of a class number's first three levels, broadest first: I242.47 →
    [I, I2, I24]; TP312 → [T, TP, TP3]; '' for what is not a class number."""
    m = _HEAD.match(number.strip().upper().replace("．", "."))
    if not m:
        return []
    letters, digits = m.group(1), m.group(2).replace(".", "")
    steps = [letters[0]] + ([letters] if len(letters) == 2 else [])
    for d in digits:
        if len(steps) == LEVELS:
            break
        steps.append(steps[-1] + d)
    return steps


def caption(code: str) -> str:
    """The table's caption of a class to three levels ('' when it has none)."""
    t = table()
    return t.captions.get(code) or t.ranges.get(code, "")


def unknown_level(number: str) -> str:
    """The first of the number's three levels the table does not have ('' when every
    level is there, or a range the scheme divides by an auxiliary table covers it)."""
    t = table()
    for code in levels(number):
        if code in t.ranges:
            return ""  # I313.45: under I3/7, divided by the 世界地区表
        if code not in t.captions:
            return code
    return ""
