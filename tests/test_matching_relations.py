"""Field relations as tables: two small `MatchRecord`s (or two keys) in; same, similar,
unknown or different out — one comparison of `harvest/matching/relations.py` at a time.

The rules (`test_matching_tables.py`) read these relations through whole decisions; the
rows here pin each comparison on its own, with its bounds (issue 21: each mutant of
`relations.py` should fail a row).  Records are built as already normalized keys
(`person_key`, `title_key`, `volume_key`), so each row says exactly what is compared."""

from __future__ import annotations

import pytest

from harvest.matching.keys import MatchRecord
from harvest.matching.relations import (
    TITLE_FUZZY_MIN_LEN,
    TITLE_MIN_SIMILARITY,
    _author_relation,
    _in_responsibility,
    _latin_person_same,
    _part_in_title,
    _person_relation,
    _publisher_relation,
    _statements_differ,
    _title_and_author_differ,
    _title_relation,
    _titles_compatible,
)


def m(title: str = "", **fields: object) -> MatchRecord:
    return MatchRecord("k", title=title, **fields)  # type: ignore[arg-type]


def by(*authors: str, resp: str = "", title: str = "书") -> MatchRecord:
    """A record by these authors (the first is `author`), or by a statement alone."""
    return m(title, author=authors[0] if authors else "", authors=authors, resp=resp)


def test_the_thresholds() -> None:
    assert (TITLE_MIN_SIMILARITY, TITLE_FUZZY_MIN_LEN) == (0.9, 8)


# -- persons -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("x", "y", "same"), [
    ("smith,john", "smith,j", True),  # compatible initials
    ("smith,john", "smith,jane", True),  # only the initials are compared
    ("smith,john", "smith,peter", False),
    ("smith,", "smith,john", True),  # a surname alone is compatible with any given name
    ("smith,john", "smith,", True),
    ("smith,john", "jones,john", False),
    ("lu,yao", "yao,lu", True),  # a Chinese name romanized in either order
    ("lu,", "yao,lu", False),  # … but only with both parts on both sides
    ("yao,lu", "lu,", False),
    ("yaolu,", "yao,lu", False),  # a surname alone is not a name in the other order
    ("mao,ze dong", "zedong,mao", True),  # the given name's spaces do not count
    ("zedong,mao", "mao,ze dong", True),
    ("a,b c", "b,c a", True),  # x's given+surname is y's surname+given (spaces out) …
    ("b,c a", "a,b c", True),  # … or y's given+surname is x's surname+given
    ("ab,c", "ba,c", False),
])
def test_latin_person_same(x: str, y: str, same: bool) -> None:
    assert _latin_person_same(x, y) is same


@pytest.mark.parametrize(("x", "y", "relation"), [
    ("张三", "张三", "same"),
    ("约翰史密斯", "smith,john", "unknown"),  # two scripts: the names cannot tell
    ("smith,john", "约翰史密斯", "unknown"),
    ("smith,john", "smith,j", "same"),
    ("smith,john", "smith,peter", "different"),
    ("欧阳修", "欧阳秀", "similar"),  # one typo in a name of three characters
    ("欧阳修文", "欧阳秀武", "different"),  # two
    ("张三", "张四", "different"),  # a two-character name: one character is another person
    ("欧阳修", "欧阳", "different"),
])
def test_person_relation(x: str, y: str, relation: str) -> None:
    assert _person_relation(x, y) == relation


@pytest.mark.parametrize(("name", "resp", "found"), [
    ("", "张三著", False),
    ("张三", "", False),
    ("张三", "张三著", True),
    ("张", "张三著", False),  # one Han character is too little to find
    ("李四", "张三著", False),
    ("smith,john", "byjohnsmith", True),
    ("smith,john", "bypetersmith", False),  # the surname without the given name
    ("smith,john", "byjohnjones", False),
    ("smith,", "bysmith", True),  # no given name: the surname alone
    ("lee,tom", "tomlee", True),  # a surname of three letters is enough …
    ("li,wei", "liwei", False),  # … of two is not
    ("smith,john paul", "johnsmith", True),  # the first given name is looked for
])
def test_in_responsibility(name: str, resp: str, found: bool) -> None:
    assert _in_responsibility(name, resp) is found


@pytest.mark.parametrize(("a", "b", "relation", "decided_by"), [
    (by(), by("张三"), "unknown", ""),  # nothing to compare on one side
    (by("张三"), by(), "unknown", ""),
    (by("张三"), by("张三"), "same", "张三"),
    (by("张三", "李四"), by("李四"), "same", "李四"),  # b's first author among a's
    (by("李四"), by("张三", "李四"), "same", "李四"),  # a's first author among b's
    (by("张三"), by(resp="张三主编"), "same", "张三"),  # named in b's statement
    (by(resp="张三主编"), by("张三"), "same", "张三"),
    (by("约翰史密斯", "李明"), by("smith,john", "李明"), "same", "李明"),  # the translator
    (by("smith,john"), by("smith,j"), "same", "smith,john"),
    (by("约翰史密斯"), by("smith,john"), "unknown", ""),  # no script shared
    (by("张三"), by("李四"), "different", ""),
    (by("欧阳修"), by("欧阳秀"), "similar", "欧阳修"),
    (by("欧阳秀", "欧阳修"), by("欧阳修", "王五"), "same", "欧阳修"),
    (by("王五", "欧阳修"), by("赵六", "欧阳修"), "same", "欧阳修"),  # a later author shared
    # Han names similar, Latin ones different: similar wins, in either order of scripts
    (by("欧阳修", "smith,john"), by("欧阳秀", "jones,peter"), "similar", "欧阳修"),
    (by("smith,john", "欧阳修"), by("jones,peter", "欧阳秀"), "similar", "smith,john"),
    (by("张三", "smith,john"), by("李四", "smith,j"), "same", "smith,john"),
    (by("张三", "smith,john"), by("李四", "jones,peter"), "different", ""),
    # a statement alone that does not name the other's (Han) first author: another person
    (by("张三"), by(resp="李四著"), "different", ""),
    (by(resp="李四著"), by("张三"), "different", ""),
    (by("张三"), by(resp="byjones"), "unknown", ""),  # … a Latin statement proves nothing
    (by("smith,john"), by(resp="李四著"), "unknown", ""),
    (by(resp="张三著"), by(resp="李四著"), "unknown", ""),  # two statements alone
])
def test_author_relation(a: MatchRecord, b: MatchRecord, relation: str,
                         decided_by: str) -> None:
    assert _author_relation(a, b) == (relation, decided_by)


# -- titles ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "part"), [
    # the volume designation squashed into the title, exactly
    (m("三体iii死神永生"), m("三体", volume="3|死神永生", volume_text="iii死神永生"), True),
    (m("三体", volume="3|死神永生", volume_text="iii死神永生"), m("三体iii死神永生"), True),
    (m("红楼梦第2卷"), m("红楼梦", volume="2", volume_text="第2卷"), True),  # read as a part
    (m("红楼梦第2卷"), m("红楼梦", volume="3", volume_text="第3卷"), False),
    (m("红楼梦二"), m("红楼梦", volume="2"), True),  # a Chinese numeral
    (m("红楼梦ii"), m("红楼梦", volume="2"), True),  # a Roman one
    (m("红楼梦上"), m("红楼梦", volume="上"), True),  # 上/中/下 kept as words
    (m("红楼梦下"), m("红楼梦", volume="上"), False),
    (m("红楼梦中"), m("红楼梦", volume="中"), True),
    (m("红楼梦下"), m("红楼梦", volume="下"), True),
    (m("全集1农业志"), m("全集", volume="1|农业志"), True),  # number and name
    (m("全集1林业志"), m("全集", volume="1|农业志"), False),
    (m("陕西通史秦汉卷"), m("陕西通史", volume="秦汉卷"), True),  # a name, no number
    (m("陕西通史隋唐卷"), m("陕西通史", volume="秦汉卷"), False),
    (m("红楼梦零"), m("红楼梦", volume="0"), False),  # no number read, no name left
    (m("水浒传第1卷"), m("红楼梦", volume="1"), False),  # another title
    (m("红楼梦第1卷", volume="2"), m("红楼梦", volume="1"), False),  # both have a volume
    (m("红楼梦"), m("红楼梦", volume="1"), False),  # the title is not longer
    (m("红楼梦1"), m("红楼梦1", volume="1"), False),
])
def test_part_in_title(a: MatchRecord, b: MatchRecord, part: bool) -> None:
    assert _part_in_title(a, b) is part


@pytest.mark.parametrize(("a", "b", "relation", "score"), [
    (m(""), m("红楼梦"), "unknown", 0.0),
    (m("红楼梦"), m(""), "unknown", 0.0),
    (m("红楼梦"), m("红楼梦"), "exact", 1.0),
    (m("红楼梦", title_full="红楼梦脂评本"), m("红楼梦"), "exact", 1.0),  # a subtitle on one
    (m("红楼梦"), m("红楼梦", title_full="红楼梦脂评本"), "exact", 1.0),
    (m("红楼梦脂评本"), m("红楼梦", title_full="红楼梦脂评本"), "exact", 1.0),
    (m("红楼梦", title_full="红楼梦脂评本"), m("红楼梦脂评本"), "exact", 1.0),
    # other title information on both: the whole titles are compared (two Perl books)
    (m("perl", title_full="perlprogrammersreference"),
     m("perl", title_full="perlthecompletereference"), "different", 0.0),
    (m("perl", title_full="perlthecompletereference"),
     m("perl", title_full="perlthecompletereference"), "exact", 1.0),
    (m("perl", title_full="perlthecompletereferenc"),
     m("perl", title_full="perlthecompletereference"), "similar", 1 - 1 / 24),
    # a small difference in a long title: one edit in ten characters (the bound) …
    (m("中华人民共和国史稿本"), m("中华人民共和国史搞本"), "similar", 0.9),
    (m("中华人民共和国经济史稿"), m("中华人民共和国经济史搞"), "similar", 1 - 1 / 11),
    (m("中华人民共和国经济史稿"), m("中华人民共和国经纪史搞"), "different", 0.0),  # … two
    (m("中华人民共和国史稿"), m("中华人民共和国史搞"), "different", 0.0),  # nine: none
    (m("中国小说"), m("中国散文"), "different", 0.0),  # short: any difference is a book
    (m("abcdefghijklmnopqrst"), m("abcdefghijklmnopqrsx"), "similar", 0.95),
    (m("abcdefghijklmnopqrst"), m("abcdefghijklmnopqryx"), "similar", 0.9),
    (m("abcdefghijklmnopqrst"), m("abcdefghijklmnopqxyx"), "different", 0.0),
    # the best of the two pairs: the titles proper, the whole titles
    (m("abcdefghijkl", title_full="abcdefghijklxyz"), m("abcdefghijkm"), "similar",
     1 - 1 / 12),
])
def test_title_relation(a: MatchRecord, b: MatchRecord, relation: str, score: float) -> None:
    got, value = _title_relation(a, b)
    assert (got, value) == (relation, pytest.approx(score))


@pytest.mark.parametrize(("a", "b", "compatible"), [
    (m(""), m("红楼梦"), True),  # nothing to disagree with
    (m("红楼梦"), m(""), True),
    (m("红楼梦"), m("红楼梦"), True),
    (m("中华人民共和国经济史稿"), m("中华人民共和国经济史搞"), True),  # similar
    (m("abcdefghijklmnopqrst"), m("abcdefghijklmnopqryx"), True),  # similar, two edits
    (m("年鉴1994"), m("年鉴1995"), False),  # numbers differ: two books
    (m("年鉴1994"), m("年鉴"), True),  # a number on one side only
    (m("年鉴"), m("年鉴1995"), True),
    (m("红楼梦"), m("红楼梦脂评本"), True),  # a subtitle in one title only
    (m("红楼梦脂评本"), m("红楼梦"), True),
    (m("红楼梦", title_full="红楼梦脂评本"), m("红楼梦脂"), True),
    (m("红楼梦脂"), m("红楼梦", title_full="红楼梦脂评本"), True),
    (m("红"), m("红楼梦"), False),  # one character is no beginning
    (m("红楼梦"), m("红"), False),
    (m("红楼梦"), m("红楼孟"), True),  # one mistyped character
    (m("陕西通史秦汉卷"), m("陕西通史隋唐卷"), False),  # two endings after one beginning
    (m("红楼梦魇记"), m("红色梦境记"), True),  # one character in common at the start
    (m("红楼梦"), m("西游记"), False),  # unrelated
    (m("中国小说史"), m("中国散文史"), False),  # a beginning of two characters is enough
    (m("红楼梦记"), m("西游梦记"), True),  # half the characters in common: the bound
    (m("红楼梦记事"), m("西游记事本"), False),
])
def test_titles_compatible(a: MatchRecord, b: MatchRecord, compatible: bool) -> None:
    assert _titles_compatible(a, b) is compatible


@pytest.mark.parametrize(("a", "b", "differ"), [
    (by("秦林娜", title="区域概论"), by("杜辉", title="形势概论"), True),  # 一号多书
    (by("秦林娜", title=""), by("杜辉", title="形势概论"), False),
    (by("秦林娜", title="区域概论"), by("杜辉", title=""), False),
    (by("秦林娜", title="区域概论"), by("杜辉", title="区域概论"), False),  # same title
    (by("秦林娜", title="区域概论"), by("秦林娜", title="形势概论"), False),  # same author
    (by("秦林娜", title="区域概论"), by(title="形势概论"), False),  # an author missing
    (by("秦林娜", title="区域概论"), by("smith,john", title="形势概论"), False),  # scripts
    (by("秦林娜", title="中华人民共和国经济史稿"), by("杜辉", title="中华人民共和国经济史搞"),
     False),  # similar titles
    (by("秦林娜", title="区域概论"), by("杜辉", title="区域概论续编"), False),  # a subtitle
    (by("秦林娜", title="区域概论续编"), by("杜辉", title="区域概论"), False),
    (m("区域概论", title_full="区域概论续编", author="秦林娜", authors=("秦林娜",)),
     by("杜辉", title="区域概论续"), False),
    (by("杜辉", title="区域概论续"),
     m("区域概论", title_full="区域概论续编", author="秦林娜", authors=("秦林娜",)), False),
    (by("秦林娜", title="史"), by("杜辉", title="史记学"), True),  # one character: no start
    (by("秦林娜", title="史记"), by("杜辉", title="史记学"), False),  # two: a start
    # statements alone, on both sides
    (by(resp="梁颖等著", title="区域概论"), by(resp="苏秋兰著", title="形势概论"), True),
    (by(resp="梁颖等著", title="区域概论"), by(resp="梁颖著", title="形势概论"), False),
    # an author on one side only, a statement on the other that does not name them
    (by("梁颖", title="区域概论"), by(resp="苏秋兰著", title="形势概论"), True),
])
def test_title_and_author_differ(a: MatchRecord, b: MatchRecord, differ: bool) -> None:
    assert _title_and_author_differ(a, b) is differ


@pytest.mark.parametrize(("x", "y", "differ"), [
    ("梁颖等著", "苏秋兰著", True),
    ("梁颖等著", "梁颖著", False),  # one inside the other: one statement
    ("梁颖著", "梁颖等著", False),
    ("主编张三", "张三主编", False),
    ("张三李四编", "张三等编", False),
    ("张三著", "李四著", True),  # two characters are enough …
    ("张著", "李四著", False),  # … one is not
    ("李四著", "张著", False),
    ("bysmith", "苏秋兰著", False),  # Han statements only
    ("苏秋兰著", "bysmith", False),
])
def test_statements_differ(x: str, y: str, differ: bool) -> None:
    assert _statements_differ(x, y) is differ


@pytest.mark.parametrize(("x", "y", "relation"), [
    ("", "人民文学出版社", "unknown"),
    ("人民文学出版社", "", "unknown"),
    ("", "oxforduniversitypress", "unknown"),
    ("人民文学出版社", "人民文学出版社", "same"),
    ("foreignlanguageteachingandresearch", "外语教学与研究出版社", "unknown"),  # two scripts
    ("人民", "人民文学", "different"),  # a short name inside a longer one: another press
    ("人民文学", "人民文学出版社", "similar"),  # four characters inside: the same press
    ("人民文学出版社", "人民文学", "similar"),
    ("人民文学出版社", "人民文学出板社", "similar"),  # one typo in a Han name
    ("人民文学出版社", "人民文字出板社", "different"),  # two
    ("人民文学出版社", "人民美术出版社", "different"),
    ("中国社会科学院出版社", "中国社会科学阮出板社", "different"),  # a long Han name: one typo
    ("oxforduniv", "oxforduniversity", "similar"),
    ("abcdefghij", "abcdefghxy", "similar"),  # 20 % of the longer Latin name: two edits
    ("abcdefghi", "abcdefgxij", "similar"),  # … of the longer, not the shorter
    ("abcdefghij", "abcdefgxyz", "different"),  # three
    ("abcd", "abce", "different"),  # 20 % of four letters: no edit
])
def test_publisher_relation(x: str, y: str, relation: str) -> None:
    assert _publisher_relation(m(publisher=x), m(publisher=y)) == relation
