"""The rules: are two records the same edition?  One small rule per question, each with its
evidence text beside it.

The rules a librarian can check, in the order `_judge` applies them:

1. **Hard vetoes** (`_veto`), for every pair, ISBN or not: different volume/part,
   edition, material type or language.
2. **ISBN** (`_isbn_rule`): a shared valid ISBN-13 merges unless a veto applies, the
   titles have nothing in common, title *and* first author both disagree (一号多书), or
   the years lie further apart than a printing and an edition year can.
3. Without a shared ISBN, every one of these must let the pair through:
   the ISBNs (`_stems_rule`: two records whose ISBNs all differ are never merged),
   the numbers in the title (`_numbers_rule`), the title (`_title_rule`), the first
   author (`_author_rule`), the publisher (`_publisher_rule`), the year
   (`_year_rule`); and then what agrees must be enough (`_enough_rule`).

Each rule decides *and* writes its reason when given the evidence list `why`, so the
evidence on the record page is the very code that made the merge (`evidence`).  A rule
answers with a relation word of `relations` (same, similar, unknown, different); the
driver stops at the first rule that answers "different".  Only a veto, while
explaining, lets the rules after it still say their piece (the verdict stays "no").
"""

from __future__ import annotations

from collections.abc import Collection

from harvest.matching.keys import MatchRecord
from harvest.matching.normalize import editions_compatible, volumes_compatible
from harvest.matching.relations import (
    _DIFFERENT,
    _EXACT,
    _SAME,
    _SIMILAR,
    _UNKNOWN,
    _author_relation,
    _part_in_title,
    _publisher_relation,
    _title_and_author_differ,
    _title_relation,
    _titles_compatible,
)

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

_VETO = "→ 不合并"
_NO = (0, 0)

#: What a fuzzy (no shared ISBN) match relied on, so the union can re-check it against
#: whole clusters: a record lacked an author, a year was missing or off, the part was
#: found in the title.
_WEAK_AUTHOR, _WEAK_YEAR, _PART_IN_TITLE = 1, 2, 4


def _judge(a: MatchRecord, b: MatchRecord, why: list[str] | None = None,
           year_slack: int | None = None, set_stems: Collection[str] = ()) -> tuple[int, int]:
    """(strength, flags); strength 0 = no match, ≥ 100 = shared ISBN.

    The driver: the rules of this module in the order of its docstring.  With `why`,
    the reasons are appended in words — the same code decides and explains, so the
    evidence a librarian reads is exactly what the merge used.  `set_stems` are ISBNs
    known to be printed on several volumes of a set: they do not identify an edition,
    so two records differing only there do not have "different ISBNs".
    """
    slack = YEAR_SLACK if year_slack is None else year_slack
    if why is None and not _quick_check(a, b, slack, set_stems):
        return _NO
    part_in_title = a.volume != b.volume and _part_in_title(a, b)
    vetoed = _veto(a, b, why, part_in_title)
    if vetoed and why is None:
        return _NO
    flags = _PART_IN_TITLE if part_in_title else 0
    if part_in_title and why is not None:
        why.append("卷册著录在题名中 (part typed into the title): "
                   f"{a.title}/{a.volume or '—'} vs {b.title}/{b.volume or '—'}")
    shared = sorted(set(a.isbns) & set(b.isbns))
    if shared:
        return _isbn_rule(a, b, shared[0], part_in_title, vetoed, flags, why)
    stems = _stems_rule(a, b, set_stems, why)
    if stems == _DIFFERENT or _numbers_rule(a, b, part_in_title, why) == _DIFFERENT:
        return _NO
    title = _title_rule(a, b, part_in_title, why)
    if title not in (_EXACT, _SIMILAR):
        return _NO
    author = _author_rule(a, b, why)
    if author == _DIFFERENT:
        return _NO
    publisher = _publisher_rule(a, b, why)
    if publisher == _DIFFERENT:
        return _NO
    exact_title = title == _EXACT
    strong = exact_title and author == _SAME and publisher == _SAME
    year = _year_rule(a, b, slack, strong, why)
    if year == _DIFFERENT:
        return _NO
    stem_shared = stems == _SAME
    if not _enough_rule(exact_title, author, publisher, year, stem_shared, why) or vetoed:
        return _NO
    if not (a.author and b.author) or author != _SAME:
        flags |= _WEAK_AUTHOR
    if year != _SAME:
        flags |= _WEAK_YEAR
    score = 50 + 10 * exact_title + 10 * (author == _SAME) + 5 * (year == _SAME)
    return score + 5 * (publisher == _SAME) + 10 * stem_shared, flags


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


# ----------------------------------------------------------------- vetoes and the ISBN


def _veto(a: MatchRecord, b: MatchRecord, why: list[str] | None, part_in_title: bool) -> bool:
    """Hard vetoes that hold even against a shared ISBN: material type, language (an
    undetermined or multiple language contradicts none), volume/part (unless the part
    is typed into one title), edition.  All four are checked, so the evidence names
    every one that applies."""
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


def _isbn_rule(a: MatchRecord, b: MatchRecord, isbn: str, part_in_title: bool,
               vetoed: bool, flags: int, why: list[str] | None) -> tuple[int, int]:
    """A shared valid ISBN-13 merges, unless

    * title *and* first author both disagree (一号多书: 区域概论 by 秦林娜 and 形势概论 by
      杜辉 under one number; `_title_and_author_differ`).  One of the two alone still
      merges: a same-titled record naming another responsible person, or the same
      author with a subtitle or a short title, is far more often one book catalogued
      twice than two books under one number;
    * the titles have nothing in common (`_titles_compatible`: a wrong or re-used
      ISBN, or a set ISBN on volumes whose part names were typed into the title);
    * the years lie more than `ISBN_YEAR_GAP` apart (a reissue under the same number);
    * a veto applies (then its evidence has said why).

    What else agrees is written down (`_describe_soft`) but not used to decide."""
    if why is not None:
        why.append(f"ISBN {isbn} 相同 (same ISBN)")
    if not part_in_title and _title_and_author_differ(a, b):
        if why is not None and not vetoed:  # volumes of a set: the veto said why
            why.append(_reused_text(a, b))
        return _NO
    if not part_in_title and not _titles_compatible(a, b):
        if why is not None:
            why.append(f"ISBN 相同但题名无关 (unrelated titles: {a.title} / {b.title}) "
                       f"→ ISBN 可能有误，不合并")
        return _NO
    if a.year is not None and b.year is not None and abs(a.year - b.year) > ISBN_YEAR_GAP:
        if why is not None:
            why.append(f"ISBN 相同但出版年相差 {abs(a.year - b.year)} 年 ({a.year} vs {b.year})"
                       f"：视为重印/再版 (a reissue under the same ISBN) {_VETO}")
        return _NO
    if why is not None:
        _describe_soft(a, b, why)
    return _NO if vetoed else (100, flags)


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


# ----------------------------------------------------------- without a shared ISBN


def _stems_rule(a: MatchRecord, b: MatchRecord, set_stems: Collection[str],
                why: list[str] | None) -> str:
    """Two records whose ISBNs all differ are never merged by the fuzzy rules: both
    editions *have* an ISBN and they are not the same.  An ISBN with a wrong check digit
    still counts by its first 12 digits (same), and between two volumes a set ISBN
    (套书号) is no ISBN at all.  Unknown when either side has none."""
    sa, sb = set(a.stems), set(b.stems)
    stem_shared = bool(sa & sb)
    if set_stems and not stem_shared and a.volume and b.volume:
        sa, sb = sa - set(set_stems), sb - set(set_stems)
    if sa and sb and not stem_shared:
        if why is not None:
            why.append(f"ISBN 不同 (different ISBNs) {_isbn_text(a)} vs {_isbn_text(b)} {_VETO}")
        return _DIFFERENT
    if stem_shared:
        if why is not None:
            why.append("ISBN 前 12 位相同，一方校验位错误 (same ISBN but a wrong check digit)")
        return _SAME
    return _UNKNOWN


def _isbn_text(r: MatchRecord) -> str:
    return ",".join(r.isbns) or ",".join(s + "?" for s in r.stems)


def _numbers_rule(a: MatchRecord, b: MatchRecord, part_in_title: bool,
                  why: list[str] | None) -> str:
    """The digit runs of the titles proper must be equal: '94 and '95 中国发展报告 are
    different books.  Not asked when the part is typed into one title (its number is
    the other's volume)."""
    if a.numbers != b.numbers and not part_in_title:
        if why is not None:
            why.append(f"题名中的数字不同 (numbers in title) {' '.join(a.numbers) or '—'} vs "
                       f"{' '.join(b.numbers) or '—'} {_VETO}")
        return _DIFFERENT
    return _SAME


def _title_rule(a: MatchRecord, b: MatchRecord, part_in_title: bool,
                why: list[str] | None) -> str:
    """The title must be the same after normalization, or within a small character-level
    Levenshtein distance for long titles (`_title_relation`); a title that carries the
    other's part counts as the same.  Anything else stops the match."""
    title_rel, sim = (_EXACT, 1.0) if part_in_title else _title_relation(a, b)
    if why is not None:
        if title_rel == _EXACT:
            why.append(f"题名相同（繁简、全半角、标点归一后） (same title): {a.title}")
        elif title_rel == _SIMILAR:
            why.append(f"题名相近 (similar title) {sim:.2f}: {a.title} / {b.title}")
        else:
            why.append(f"题名不同 (different title): {a.title_full or a.title or '—'} / "
                       f"{b.title_full or b.title or '—'} {_VETO}")
    return title_rel


def _author_rule(a: MatchRecord, b: MatchRecord, why: list[str] | None) -> str:
    """The first author must not be another person (`_author_relation`: the same name,
    one found in the other's statement of responsibility, which bridges 约翰·史密斯 and
    "Smith, John", or a name one character off).  Unknown — no author, or names in two
    scripts only — lets the other rules decide."""
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
    return author_rel


def _publisher_rule(a: MatchRecord, b: MatchRecord, why: list[str] | None) -> str:
    """The publisher must not be another one (`_publisher_relation`: a typo or one name
    inside the other is similar; a missing one, or names in two scripts, unknown)."""
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
    return pub_rel


def _year_rule(a: MatchRecord, b: MatchRecord, slack: int, strong: bool,
               why: list[str] | None) -> str:
    """The year must be equal (see `YEAR_SLACK` for why not ±1): same.  A gap within
    `slack` is tolerated (similar) only when title, first author and publisher are all
    the same (`strong`); a missing year is unknown."""
    if a.year is None or b.year is None:
        if why is not None:
            why.append("出版年缺失 (year missing)")
        return _UNKNOWN
    gap = abs(a.year - b.year)
    if gap == 0:
        if why is not None:
            why.append(f"出版年相同 (same year): {a.year}")
        return _SAME
    if gap <= slack and strong:
        if why is not None:
            why.append(f"出版年 {a.year} vs {b.year}（相差 {gap} 年；题名、著者、出版者均相同，"
                       "容许 (tolerated)）")
        return _SIMILAR
    if why is not None:
        why.append(f"出版年不同 (different year) {a.year} vs {b.year} {_VETO}")
    return _DIFFERENT


def _enough_rule(exact_title: bool, author: str, publisher: str, year: str,
                 stem_shared: bool, why: list[str] | None) -> bool:
    """Sufficiency: nothing contradicts, but how much agrees besides the title decides
    whether that is enough.  The same author needs one more agreeing fact with the exact
    title (a year, the publisher or an ISBN stem), and with a near-equal title an ISBN
    stem or the same year and the same or a similar publisher; a similar or unknown
    author needs the exact title, the same year and the same publisher (or an ISBN
    stem)."""
    if author == _SAME:
        if exact_title:
            enough = year != _UNKNOWN or publisher == _SAME or stem_shared
        else:
            enough = stem_shared or (year == _SAME and publisher in (_SAME, _SIMILAR))
    else:  # similar or unknown author: title, year and publisher must carry it
        enough = exact_title and year == _SAME and (publisher == _SAME or stem_shared)
    if not enough and why is not None:
        why.append(f"依据不足 (not enough agreeing evidence) {_VETO}")
    return enough


# ------------------------------------------------------------------------ the public face


def isbn_reused(a: MatchRecord, b: MatchRecord) -> str:
    """The ISBN two records share although they are two books (一号多书), or "".

    The very test `_isbn_rule` refuses the merge with, so the quality report lists
    exactly the pairs the record page explains that way.  Volumes of a set, other
    editions and other material types under one number are not listed: a veto keeps
    them apart for its own, legitimate, reason (a set ISBN is printed on every volume).
    The year is not looked at: a number on two different books is a fault however far
    apart they appeared."""
    shared = set(a.isbns) & set(b.isbns)
    if not shared:
        return ""
    part_in_title = a.volume != b.volume and _part_in_title(a, b)
    if part_in_title or _veto(a, b, None, False) or not _title_and_author_differ(a, b):
        return ""
    return min(shared)


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
