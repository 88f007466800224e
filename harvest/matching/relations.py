"""How two records' fields relate: same, similar, unknown or different — field by field.

Each function compares one field of two `MatchRecord`s and says how they relate, without
deciding anything: the rules (`rules`) decide what a relation means for the merge, and
the union-find (`unionfind`) asks the same questions of whole clusters.  Kept apart from
the rules because both use them, and because a comparison ("are 约翰·史密斯 and
'Smith, John' the same person?") is a different question from a rule ("is a similar
author enough when the year is missing?").
"""

from __future__ import annotations

import os
import re

from harvest.matching.keys import MatchRecord
from harvest.matching.normalize import (
    _ROLE_TAIL,
    _has_han,
    cn_number,
    levenshtein,
    similarity,
    volumes_compatible,
)

#: Title similarity (1 − Levenshtein / longer length) needed when titles are not equal,
#: and the shortest title for which any difference is tolerated at all: a one-character
#: difference in a short Chinese title is another book (中国小说 / 中国散文).
TITLE_MIN_SIMILARITY = 0.9
TITLE_FUZZY_MIN_LEN = 8

# ------------------------------------------------------------------- pair comparisons

_SAME, _SIMILAR, _UNKNOWN, _DIFFERENT = "same", "similar", "unknown", "different"
_EXACT = "exact"

#: A part designation left at the end of a squashed title ("三体iii死神永生" against
#: "三体" + 245 $n Ⅲ $p 死神永生): optional number, then the part name.
_SQUASHED_PART = re.compile(
    r"^(?:第)?([0-9]+|[ivxlc]+|[一二三四五六七八九十百零〇两]+|[上中下])"
    r"(?:分册|册|卷|辑|集|部|编|篇|期)?(.*)$")


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
    if any(x == y for x, y in pairs):  # also a title proper equal to the other's whole one
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
