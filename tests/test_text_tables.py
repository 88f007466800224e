"""index/text.py as tables: a string in, the terms, pinyin forms or keys out.

These pin what the index stores and what a query asks for (issue 21): a change to any
row changes which records a reader finds.  Fast — no index, no peers.
"""

from __future__ import annotations

import pytest

from index import text


@pytest.fixture(autouse=True)
def _uncached() -> None:
    """Each row analysed afresh: the module caches per value, and a row answered from
    an earlier row's cache would not be checking the code."""
    for cached in (text._pinyin, text._short_segments, text.split_syllables,
                   text._word_readings, text._cover, text.folded):
        cached.cache_clear()


def test_syllable_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_syllables", None)
    known = text._syllable_set()
    assert {"zhuang", "nv", "lv", "lve", "nve", "a", "er", "xian"} <= known
    assert not known & {"hm", "ng", "n", "m", "ü", "nü", "lǜ", "v"}
    assert all(s.isascii() and s.isalpha() and s.islower() for s in known)
    assert 380 < len(known) < 450  # toneless Mandarin syllables
    assert text._syllable_set() is known  # built once


def test_rjieba_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import rjieba

    monkeypatch.setattr(text, "_jieba", None)
    assert text._rjieba() is rjieba
    assert text._jieba is rjieba


@pytest.mark.parametrize("value, terms", [
    ("紅樓夢", ["红楼", "红楼梦"]),  # traditional folded, search-mode words inside the word
    ("ＡＢＣ１２３", ["abc123"]),  # full width folded, case dropped
    ("Python 3.11 编程", ["python", "3.11", "编程"]),  # decimals whole
    ("C++ 与 C# 入门", ["c++", "与", "c#", "入门"]),
    ("I242.4 中国", ["i242.4", "中国"]),
    ("中华人民共和国", ["中华", "华人", "人民", "共和", "共和国", "中华人民共和国"]),
    ("a_b", ["a", "b"]),  # underscore separates
    ("𠀀字", ["𠀀", "字"]),  # supplementary-plane Han is Han
    ("——！", []),
])
def test_index_terms(value: str, terms: list[str]) -> None:
    assert text.tokens(value) == terms


def test_long_values_are_analysed_like_short_ones() -> None:
    short = "中国发展报告" * 2
    long = "中国发展报告" * 20  # past the cached length
    assert len(long) > text._CACHED_LENGTH >= len(short)
    assert text.tokens(long) == text.tokens(short) * 10


@pytest.mark.parametrize("query, words", [
    ("中国的发展", [("中国", ()), ("发展", ())]),  # stopword dropped
    ("的", [("的", ())]),  # ... unless it is all there is
    ("计算机网络", [("计算机网络", ("计算机", "网络"))]),  # long word: its cover
    ("红楼梦 红楼梦", [("红楼梦", ("红楼", "梦"))]),  # de-duplicated
    ("红楼梦红楼梦水浒", [("红楼梦", ("红楼", "梦")), ("水浒", ())]),  # within one run
    ("县志", [("县志", ())]),  # two characters: no cover
    ("python 入门", [("python", ()), ("入门", ())]),
    ("abcdef", [("abcdef", ())]),  # Latin words are not covered
])
def test_query_words(query: str, words: list[tuple[str, tuple[str, ...]]]) -> None:
    assert text.query_words(query) == words


@pytest.mark.parametrize("value, pairs", [
    ("礼泉县志", ["礼泉", "泉县", "县志"]),
    ("红A楼梦", ["楼梦"]),  # pairs never cross a Latin letter
    ("abc", []),
    ("中", []),
])
def test_bigrams(value: str, pairs: list[str]) -> None:
    assert text.bigrams(value) == pairs


@pytest.mark.parametrize("title, parts", [
    ("红楼梦：校注本", ["红楼梦：校注本", "红楼梦", "校注本"]),
    ("题名 / 并列题名", ["题名 / 并列题名", "题名", "并列题名"]),
    ("A - B", ["A - B", "A", "B"]),
    ("书名（第二版）", ["书名（第二版）", "书名", "第二版"]),
    ("a:b", ["a:b", "a", "b"]),
    ("平凡的世界", ["平凡的世界"]),
    ("2-3", ["2-3"]),  # a hyphen without spaces is not a separator
    ("书名（ ）", ["书名（ ）"]),  # an empty bracket is no part
])
def test_title_parts(title: str, parts: list[str]) -> None:
    assert text.title_parts(title) == parts


@pytest.mark.parametrize("word, syllables", [
    ("zhongguo", ("zhong", "guo")),
    ("pingfan", ("ping", "fan")),  # two-syllable words stay findable joined (issue 21)
    ("shijie", ("shi", "jie")),
    ("xian", ("xian",)),  # fewest syllables: not xi an
    ("zhuangzhuang", ("zhuang", "zhuang")),  # six-letter syllables
    ("hongloumeng", ("hong", "lou", "meng")),
    ("nvren", ("nv", "ren")),  # ü typed v, tone mark on the ü (女 nǚ)
    ("lvse", ("lv", "se")),  # 绿 lǜ
    ("lve", ("lve",)),  # 略 lüè
    ("a", ("a",)),
    ("hm", ()),  # vowel-less interjections are not syllables: initials
    ("ng", ()),
    ("hlm", ()),
    ("python", ()),
    ("", ()),
])
def test_split_syllables(word: str, syllables: tuple[str, ...]) -> None:
    assert text.split_syllables(word) == syllables


@pytest.mark.parametrize("value, syllables, joined, whole, initials", [
    ("平凡的世界", ["ping", "fan", "de", "shi", "jie"],
     ["pingfan", "shijie", "pingfandeshijie", "pianfandeshijie", "pingfandishijie",
      "pianfandishijie"],
     ["pingfandeshijie", "pianfandeshijie", "pingfandishijie", "pianfandishijie"],
     ["pfdsj"]),
    ("曾国藩", ["ceng", "guo", "fan"], ["cengguofan", "zengguofan"],
     ["cengguofan", "zengguofan"], ["cgf", "zgf"]),  # 曾 both ways
    ("重庆", ["chong", "qing"], ["chongqing"], ["chongqing"], ["cq"]),  # phrase reading
    ("银行", ["yin", "hang"], ["yinhang"], ["yinhang"], ["yh"]),
    ("C语言", ["c", "yu", "yan"], ["yuyan", "cyuyan"], ["cyuyan"], ["cyy"]),
    ("Pride and Prejudice", ["pride", "and", "prejudice"], ["prideandprejudice"],
     ["prideandprejudice"], []),  # not pinyin: no initials
    ("zhongguo", ["zhong", "guo"], ["zhongguo"], ["zhongguo"], ["zg"]),
    # one syllable: no joined form, no initials; its other reading kept as a whole form
    ("红", ["hong"], [], ["hong", "gong"], []),
    ("2024年", ["2024", "nian"], ["2024nian", "2024ning"], ["2024nian", "2024ning"],
     ["2n"]),  # a number inside a Chinese title keeps initials
])
def test_pinyin_forms(value: str, syllables: list[str], joined: list[str],
                      whole: list[str], initials: list[str]) -> None:
    p = text.pinyin_forms(value)
    assert (p.syllables, p.joined, p.whole, p.initials) == (syllables, joined, whole,
                                                            initials)


def test_overlong_values_have_no_whole_joined_form() -> None:
    p = text.pinyin_forms("中华人民共和国" * 5)
    assert p.whole == [] and all(len(j) <= text._MAX_JOINED for j in p.joined)
    assert p.initials  # initials still made


def test_ambiguous_readings_are_capped() -> None:
    p = text.pinyin_forms("曾长重行")  # four heteronyms in a row
    assert len(p.whole) == text._MAX_VARIANTS


def test_pinyin_tokens() -> None:
    assert text.pinyin_tokens("平凡的世界")[:7] == ["ping", "fan", "de", "shi", "jie",
                                                   "pingfan", "shijie"]
    assert text.pinyin_tokens("红楼梦") == ["hong", "lou", "meng", "hongloumeng"]


@pytest.mark.parametrize("query, syllables, initials", [
    ("hong楼梦", ("hong", "lou", "meng"), ""),  # spelt out: not initials
    ("红lm", (), "hlm"),
    ("hlm", (), "hlm"),
    ("shanxi", ("shan", "xi"), ""),
    ("lvse", ("lv", "se"), ""),
    ("python", (), "python"),
    ("zhongguo xiandai", ("zhong", "guo", "xian", "dai"), ""),
])
def test_latin_input(query: str, syllables: tuple[str, ...], initials: str) -> None:
    got = text.latin_input(query)
    assert got is not None
    assert (got.syllables, got.initials) == (syllables, initials)


@pytest.mark.parametrize("query", ["红楼梦", "isbn123", "I242.4", "9787300000075", ""])
def test_latin_input_none(query: str) -> None:
    assert text.latin_input(query) is None


@pytest.mark.parametrize("typed, key", [
    ("979-7-5611-0001-3", "9797561100013"),  # hyphenated 979 (issue 21)
    ("979 10 90636 07 1", "9791090636071"),
    ("isbn:9787300000075", "9787300000075"),
    ("ISBN 978-7-300-00007-5", "9787300000075"),
    ("ISBN 7-300-00007-x", "9787300000077"),  # ISBN-10, lowercase x, converted
    ("7-300-00007-X", "9787300000077"),
    ("7-300-00006-1", "9787300000060"),  # ISBN-13 check digit 0
    ("730000006112", None),  # a valid ISBN-10 with more digits after it
    ("7-5063-8464-7", "9787506384643"),
    ("978-7-300-00007-4", "9787300000074"),  # bad check digit on a 13: kept as typed
    ("7300000070", None),  # bad check digit on a 10: not converted
    ("7-5063-8464-5", None),
    ("1234567890123", None),  # no 978/979 prefix
    ("97873000000751", None),
    ("12345", None),
    ("红楼梦", None),
])
def test_isbn_key(typed: str, key: str | None) -> None:
    assert text.isbn_key(typed) == key


@pytest.mark.parametrize("catalogued, meant", [
    ("7-5063-8464-5", "9787506384643"),
    ("9787506384645", "9787506384643"),
    ("7-300-00007-X", "9787300000077"),
    ("7-300-00007-x", "9787300000077"),
    ("7-300-00006-9", "9787300000060"),  # check digit 0
    ("979-10-90636-07-9", "9791090636071"),
    ("979109063607X", None),
    ("9771234567898", None),
    ("abc", None),
])
def test_meant_isbn(catalogued: str, meant: str | None) -> None:
    assert text.meant_isbn(catalogued) == meant


@pytest.mark.parametrize("typed, key", [
    ("1671-5004", "1671-5004"),
    ("ISSN 0254-411x", "0254-411X"),
    ("issn:0254-411X", "0254-411X"),
    ("12345678", "1234-5678"),
    ("1234-567", None),
    ("ISSN", None),
])
def test_issn_key(typed: str, key: str | None) -> None:
    assert text.issn_key(typed) == key


@pytest.mark.parametrize("typed, key", [
    ("i 242.4 / 12", "I242.4/12"),  # inner spaces folded (issue 21)
    ("Ｉ２４２", "I242"),
    ("tp312", "TP312"),
])
def test_code_key(typed: str, key: str) -> None:
    assert text.code_key(typed) == key


@pytest.mark.parametrize("clc, path", [
    ("I242.47", ["I", "I2", "I24", "I242", "I242.4", "I242.47"]),
    ("TP312", ["T", "TP", "TP3", "TP31", "TP312"]),
    ("I242.4-49", ["I", "I2", "I24", "I242", "I242.4"]),
    ("tp3(2)", ["T", "TP", "TP3"]),
    ("I.", ["I"]),
    ("中国", []),
    ("", []),
])
def test_class_path(clc: str, path: list[str]) -> None:
    assert text.class_path(clc) == path


@pytest.mark.parametrize("typed, call_number", [
    ("I242.4/12", True),
    ("TP312", True),
    ("TU/345", True),
    ("Ｉ２４２", True),
    ("I 242", False),
    ("ABCD1", False),
    ("I", False),
    ("红楼梦", False),
    ("isbn", False),
])
def test_looks_like_call_number(typed: str, call_number: bool) -> None:
    assert text.looks_like_call_number(typed) is call_number


@pytest.mark.parametrize(("title", "key"), [
    ("紅樓夢（上）", "红楼梦上"),  # traditional folded, brackets dropped
    ("ＡＢＣ １２３", "abc123"),  # full width folded, case and spaces dropped
    ("Perl : the complete reference", "perlthecompletereference"),
    ("", ""),
])
def test_title_key(title: str, key: str) -> None:
    """The title key through the fold cache is `core.fold.title_key`, also the second time
    a value is folded (answered from the cache)."""
    from core.fold import title_key

    assert text.title_key(title) == key == title_key(title)
    assert text.title_key(title) == key
    assert text.folded(title) == text.normalize(title)
