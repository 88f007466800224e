"""The matcher's normalizers and small rules as tables: a catalogue's text in, the key the
matcher compares out.  (Clustering on real records is in test_matching.py.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.model import Author
from harvest.matching import normalize
from harvest.matching.editions import other_editions
from harvest.matching.keys import MATCH_VERSION, MatchRecord
from harvest.matching.normalize import (
    cn_number,
    edition_key,
    editions_compatible,
    levenshtein,
    person_key,
    publisher_key,
    similarity,
    title_key,
    volume_key,
    volumes_compatible,
)
from harvest.matching.rules import _judge, evidence, is_match, isbn_reused


@pytest.fixture(autouse=True)
def _uncached() -> None:
    """Each row normalized afresh: a key answered from an earlier row's cache would not be
    checking the code."""
    for cached in (normalize._fold, normalize.volume_key, normalize.edition_key,
                   normalize.person_key, normalize.publisher_key):
        cached.cache_clear()


@pytest.mark.parametrize(("text", "n"), [
    ("十二", 12), ("一百零五", 105), ("2019", 2019), ("iv", 4), ("ix", 9), ("xl", 40),
    ("二〇一九", 2019), ("十", 10), ("两百", 200), ("零", 0), ("百", 100), ("三千零二", 3002),
    ("abc", None), ("", None), ("十a", None),
    ("ii", 2), ("xx", 20), ("一千二百", 1200),  # a repeated numeral; two units
])
def test_cn_number(text: str, n: int | None) -> None:
    assert cn_number(text) == n


@pytest.mark.parametrize(("text", "key"), [
    ("The Old Man and the Sea", "oldmanandthesea"), ("《红楼梦》", "红楼梦"), ("紅樓夢", "红楼梦"),
    ("Le Monde ", "monde"), ("An   apple pie!", "applepie"), ("A B", "ab"),  # too short to drop
    ("The", "the"), ("Theory of games", "theoryofgames"), ("...Title", "title"),
])
def test_title_key(text: str, key: str) -> None:
    assert title_key(text) == key


@pytest.mark.parametrize(("text", "key"), [
    ("第1册", "1"), ("v.1", "1"), ("Vol. 1", "1"), ("1", "1"), ("Ⅰ", "1"), ("上册", "上"),
    ("下", "下"), ("秦汉卷", "秦汉卷"), ("第12卷 农业志", "12|农业志"), ("", ""),
    ("黑暗森林", "黑暗森林"), ("第三卷", "3"), ("pt. 2", "2"), ("卷二", "2"),
])
def test_volume_key(text: str, key: str) -> None:
    assert volume_key(text) == key


@pytest.mark.parametrize(("text", "key"), [
    ("第2版", "2"), ("2nd ed.", "2"), ("Second edition", "2"), ("第二版", "2"), ("3版", "3"),
    ("修订版", "rev"), ("rev. ed.", "rev"), ("第1版", ""), ("初版", ""), ("1st ed.", ""),
    ("", ""), ("影印本", "~影印本"),
    ("Oxford world's classics pbk", "~oxfordworldsclassicspbk"),
])
def test_edition_key(text: str, key: str) -> None:
    assert edition_key(text) == key


@pytest.mark.parametrize(("name", "key"), [
    ("曹雪芹著", "曹雪芹"), ("(清)曹雪芹", "曹雪芹"), ("[美]约翰·史密斯", "约翰史密斯"),
    ("主编王力", "王力"), ("王力主编", "王力"), ("曹 雪芹 编著", "曹雪芹"), ("李", "李"),
    ("Austen, Jane, 1775-1817", "austen,jane"), ("Jane Austen", "austen,jane"),
    ("edited by John Smith", "smith,john"), ("Müller, Hans", "muller,hans"), ("ed.", ""),
    ("", ""),
])
def test_person_key(name: str, key: str) -> None:
    assert person_key(name) == key


@pytest.mark.parametrize(("text", "key"), [
    ("人民文学出版社", "人民文学"), ("人民文学出版社有限公司", "人民文学"),
    ("中华书局", "中华书局"),
    ("北京大学出版社", "北京大学"), ("Oxford University Press", "oxforduniversity"),
    ("Penguin Books Inc.", "penguin"), ("[出版者不详]", ""), ("s.n.", ""), ("()", ""),
])
def test_publisher_key(text: str, key: str) -> None:
    assert publisher_key(text) == key


@pytest.mark.parametrize(("a", "b", "limit", "distance"), [
    ("", "abc", None, 3), ("abc", "", None, 3), ("kitten", "sitting", None, 3),
    ("kitten", "sitting", 1, 2), ("红楼梦", "红楼", None, 1), ("abc", "abc", 0, 0),
    ("abcdef", "a", 2, 3), ("ab", "ba", None, 2), ("abcd", "abxd", 1, 1),
])
def test_levenshtein(a: str, b: str, limit: int | None, distance: int) -> None:
    assert levenshtein(a, b, limit) == distance


def test_similarity() -> None:
    assert similarity("", "") == 1.0 and similarity("abc", "abc") == 1.0
    assert similarity("红楼梦", "红楼") == pytest.approx(2 / 3)
    assert similarity("abc", "") == 0.0


@pytest.mark.parametrize(("x", "y", "same"), [
    ("1", "1", True), ("1", "", False), ("", "1", False), ("1|农业志", "1", True),
    ("1|农业志", "农业志", True), ("1", "2", False), ("农业志", "农业誌", False),
    ("1", "上", False), ("秦汉卷", "秦汉", False), ("1|农业志", "2|农业志", False),
    ("1|农业志", "1|农业誌", False), ("1|农业志上编", "1|农业志上篇", True), ("上", "上", True),
])
def test_volumes_compatible(x: str, y: str, same: bool) -> None:
    assert volumes_compatible(x, y) is same


@pytest.mark.parametrize(("x", "y", "same"), [
    ("2", "2", True), ("", "2", False), ("~影印本", "", True), ("", "~影印本", True),
    ("~影印本", "2", False), ("~oxfordpbk", "~oxfordpbk2", True), ("rev", "", False),
    ("~a", "~b", False),
])
def test_editions_compatible(x: str, y: str, same: bool) -> None:
    assert editions_compatible(x, y) is same


def _record(key: str, **kw: object) -> SimpleNamespace:
    base = dict(key=key, title="", volume="", authors=[], isbn=[], isbn_invalid=[],
                responsibility="", year=None, publisher="", edition="", material_type="book",
                language="chi")
    return SimpleNamespace(**{**base, **kw})


def test_match_record_from_a_record() -> None:
    m = MatchRecord.from_record(_record(
        "s:1", title="中国发展报告. 第2卷 : 副题",
        authors=[Author("王力主编", romanized="Wang Li")],
        isbn=["9787300000077"], isbn_invalid=["7503717441", "978730000007X"], year=2001,
        publisher="人民出版社", edition="第2版", language="CHI"))
    assert (m.title, m.volume, m.author, m.authors) == ("中国发展报告", "2", "王力",
                                                        ("王力", "li,wang"))
    assert m.stems == ("978730000007", "978750371744") and m.isbns == ("9787300000077",)
    assert (m.publisher, m.edition, m.language, m.year) == ("人民", "2", "chi", 2001)
    assert MatchRecord.from_json(m.to_json()) == m
    with pytest.raises(ValueError, match="rebuild"):
        MatchRecord.from_json(m.to_json().replace(f'"_":{MATCH_VERSION}', '"_":0'))


@pytest.mark.parametrize(("a", "b", "same"), [
    (dict(title="红楼梦", authors=[Author("曹雪芹")], isbn=["9787300000077"]),
     dict(title="紅樓夢", authors=[Author("(清)曹雪芹著")], isbn=["9787300000077"]), True),
    (dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社"),
     dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社"),
     True),
    (dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社",
          volume="上册"),
     dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社",
          volume="下册"), False),  # never across volumes
    (dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社",
          edition="第2版"),
     dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社"),
     False),  # nor across editions
    (dict(title="'94中国发展报告", year=1994, publisher="中国统计出版社"),
     dict(title="'95中国发展报告", year=1994, publisher="中国统计出版社"), False),
])
def test_is_match(a: dict, b: dict, same: bool) -> None:
    x = MatchRecord.from_record(_record("s:a", **a))
    y = MatchRecord.from_record(_record("t:b", **b))
    assert is_match(x, y) is same and is_match(y, x) is same


def test_other_editions_links_the_same_work_kept_apart() -> None:
    recs = [MatchRecord("a", title="红楼梦", author="曹雪芹"),
            MatchRecord("b", title="红楼梦", author="曹雪芹", edition="2"),
            MatchRecord("c", title="红楼梦", author="曹雪芹", volume="1"),
            MatchRecord("d", title="红楼梦"),  # no author: a title alone names too much
            MatchRecord("e", title="红楼梦", author="曹雪芹"),
            MatchRecord("z", title="红楼梦", author="曹雪芹")]
    clusters = {"a": "C1", "b": "C2", "c": "C3", "d": "C4", "e": "C1"}  # z: no cluster
    assert other_editions(recs, clusters) == {"C1": ["C2"], "C2": ["C1"]}
    untitled = [MatchRecord("u1", author="曹雪芹"), MatchRecord("u2", author="曹雪芹")]
    assert other_editions(untitled, {"u1": "C8", "u2": "C9"}) == {}  # an author alone: no
    many = [MatchRecord(str(i), title="t", author="a") for i in range(5)]
    links = other_editions(many, {str(i): f"C{i}" for i in range(5)}, limit=2)
    assert links["C0"] == ["C1", "C2"] and links["C4"] == ["C0", "C1"]


# ------------------------------------------------------------------ rules.py as a table
# Each row: two records in; the strength and flags of the pairwise rule, its strength with
# year_slack=1, the reused ISBN the quality report would list, and the evidence the record
# page shows — the same code decides and explains, so the words pin the decision.

_H = dict(title="红楼梦", authors=[Author("曹雪芹")], year=1982, publisher="人民文学出版社")


@pytest.mark.parametrize(("a", "b", "judged", "slack1", "reused", "why"), [
    pytest.param(dict(_H, isbn=["9787300000077"]), dict(_H, isbn=["9787300000077"], year=1984),
                 (100, 0), 100, '',
                 [
                  'ISBN 9787300000077 相同 (same ISBN)',
                  '题名相同（繁简、全半角、标点归一后） (same title)',
                  '著者相同 (same author): 曹雪芹',
                  '出版年 1982 vs 1984（ISBN 相同，年份差异视为印刷年）',
                  '结论：合并 (same edition)',
                 ], id='isbn_same'),
    pytest.param(dict(_H, isbn=["9787300000077"]), dict(_H, isbn=["9787300000077"], year=1985),
                 (0, 0), 0, '',
                 [
                  'ISBN 9787300000077 相同 (same ISBN)',
                  'ISBN 相同但出版年相差 3 年 (1982 vs 1985)：视为重印/再版 (a'
                  ' reissue under the same ISBN) → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='isbn_gap'),
    pytest.param(dict(title="区域概论", authors=[Author("秦林娜")], isbn=["9787300000077"]),
                 dict(title="形势概论", authors=[Author("杜辉")], isbn=["9787300000077"]),
                 (0, 0), 0, '9787300000077',
                 [
                  'ISBN 9787300000077 相同 (same ISBN)',
                  'ISBN 相同但题名与著者均不同 (same ISBN, different title and'
                  ' author): 区域概论 / 形势概论, 秦林娜 / 杜辉 → 一号多书，不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='isbn_reused'),
    pytest.param(dict(title="红楼梦", authors=[Author("曹雪芹")], isbn=["9787300000077"]),
                 dict(title="数学分析", authors=[Author("曹雪芹")], isbn=["9787300000077"]),
                 (0, 0), 0, '',
                 [
                  'ISBN 9787300000077 相同 (same ISBN)',
                  'ISBN 相同但题名无关 (unrelated titles: 红楼梦 /'
                  ' 数学分析) → ISBN 可能有误，不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='isbn_unrelated'),
    pytest.param(dict(_H, isbn=["9787300000077"]),
                 dict(_H, isbn=["9787300000077"], material_type="map"),
                 (0, 0), 0, '',
                 [
                  '资料类型不同 (material type) book vs map → 不合并',
                  'ISBN 9787300000077 相同 (same ISBN)',
                  '题名相同（繁简、全半角、标点归一后） (same title)',
                  '著者相同 (same author): 曹雪芹',
                  '出版年相同 (same year): 1982',
                  '结论：不合并 (not the same edition)',
                 ], id='isbn_material'),
    pytest.param(dict(_H), dict(_H, language="eng"),
                 (0, 0), 0, '',
                 [
                  '语种不同 (language) chi vs eng → 不合并',
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：不合并 (not the same edition)',
                 ], id='lang'),
    pytest.param(dict(_H), dict(_H, language="und"),
                 (80, 0), 80, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='lang_und'),
    pytest.param(dict(_H), dict(_H),
                 (80, 0), 80, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='plain'),
    pytest.param(dict(_H), dict(_H, year=None),
                 (75, 2), 75, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年缺失 (year missing)',
                  '结论：合并 (same edition)',
                 ], id='year_missing'),
    pytest.param(dict(_H), dict(_H, year=1983),
                 (0, 0), 75, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年不同 (different year) 1982 vs 1983 → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='year_off'),
    pytest.param(dict(_H), dict(_H, publisher="中华书局"),
                 (0, 0), 0, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者不同 (different publisher): 人民文学 vs 中华书局 → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='other_pub'),
    pytest.param(dict(_H), dict(_H, publisher=""),
                 (75, 0), 75, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者无法比较 (publisher missing or in another script)',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='no_pub'),
    pytest.param(dict(_H), dict(_H, authors=[Author("高鹗")]),
                 (0, 0), 0, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者不同 (different first author): 曹雪芹 vs 高鹗 → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='other_author'),
    pytest.param(dict(_H), dict(_H, authors=[]),
                 (70, 1), 70, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者无法比较 (author missing or in another script)',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='no_author'),
    pytest.param(dict(_H, title="中华人民共和国发展报告"), dict(_H, title="中华人民共和国发展報吿"),
                 (70, 0), 70, '',
                 [
                  '题名相近 (similar title) 0.91: 中华人民共和国发展报告 / 中华人民共和国发展报吿',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='similar_title'),
    pytest.param(dict(_H, isbn=["9787300000077"]), dict(_H, isbn=["9787506384643"]),
                 (0, 0), 0, '',
                 [
                  'ISBN 不同 (different ISBNs) 9787300000077 vs 9787506384643 → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='diff_isbn'),
    pytest.param(dict(_H, isbn=["9787300000077"]), dict(_H, isbn_invalid=["9787300000070"]),
                 (90, 0), 90, '',
                 [
                  'ISBN 前 12 位相同，一方校验位错误 (same ISBN but a wrong check digit)',
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='stem'),
    pytest.param(dict(_H, title="中国发展报告1994"), dict(_H, title="中国发展报告1995"),
                 (0, 0), 0, '',
                 [
                  '卷册不同 (volume/part) 1994 vs 1995 → 不合并',
                  '题名相同（繁简、全半角、标点归一后） (same title): 中国发展报告',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：不合并 (not the same edition)',
                 ], id='numbers'),
    pytest.param(dict(_H, edition="第2版"), dict(_H),
                 (0, 0), 0, '',
                 [
                  '版次不同 (edition) 2 vs 1 → 不合并',
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：不合并 (not the same edition)',
                 ], id='edition'),
    pytest.param(dict(_H, title="中华人民共和国发展报告"),
                 dict(_H, title="中华人民共和国发展報吿", publisher=""),
                 (0, 0), 0, '',
                 [
                  '题名相近 (similar title) 0.91: 中华人民共和国发展报告 / 中华人民共和国发展报吿',
                  '著者相同 (same author): 曹雪芹',
                  '出版者无法比较 (publisher missing or in another script)',
                  '出版年相同 (same year): 1982',
                  '依据不足 (not enough agreeing evidence) → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='similar_title_no_pub'),
    pytest.param(dict(_H, authors=[]), dict(_H, publisher=""),
                 (0, 0), 0, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者无法比较 (author missing or in another script)',
                  '出版者无法比较 (publisher missing or in another script)',
                  '出版年相同 (same year): 1982',
                  '依据不足 (not enough agreeing evidence) → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='no_author_no_pub'),
    pytest.param(dict(_H), dict(_H, publisher="人民文学出版社北京"),
                 (75, 0), 75, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相近 (similar publisher): 人民文学 / 人民文学出版社北京',
                  '出版年相同 (same year): 1982',
                  '结论：合并 (same edition)',
                 ], id='similar_pub'),
    pytest.param(dict(_H, volume="上册"), dict(_H, volume="下册"),
                 (0, 0), 0, '',
                 [
                  '卷册不同 (volume/part) 上 vs 下 → 不合并',
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者相同 (same publisher): 人民文学',
                  '出版年相同 (same year): 1982',
                  '结论：不合并 (not the same edition)',
                 ], id='volumes'),
    pytest.param(dict(_H, year=None, publisher=""), dict(_H, year=None, publisher=""),
                 (0, 0), 0, '',
                 [
                  '题名相同（繁简、全半角、标点归一后） (same title): 红楼梦',
                  '著者相同 (same author): 曹雪芹',
                  '出版者无法比较 (publisher missing or in another script)',
                  '出版年缺失 (year missing)',
                  '依据不足 (not enough agreeing evidence) → 不合并',
                  '结论：不合并 (not the same edition)',
                 ], id='no_year_no_pub_exact'),
])
def test_rules_decide_and_explain(a: dict, b: dict, judged: tuple[int, int], slack1: int,
                                  reused: str, why: list[str]) -> None:
    x = MatchRecord.from_record(_record("s:a", **a))
    y = MatchRecord.from_record(_record("t:b", **b))
    assert _judge(x, y) == judged
    assert _judge(x, y, year_slack=1)[0] == slack1
    assert isbn_reused(x, y) == reused
    assert evidence(x, y) == why


# ------------------------------------------------------------------- keys.py as a table

@pytest.mark.parametrize(("fields", "title", "title_full", "volume", "volume_text", "numbers"), [
    (dict(title="红楼梦 第二册"), "红楼梦", "", "2", "第二册", ()),  # part at the title's end
    (dict(title="红楼梦 : 校注本 第三卷"), "红楼梦", "红楼梦校注本", "3", "第三卷", ()),
    (dict(title="红楼梦 : 校注本. 第2卷"), "红楼梦", "红楼梦校注本", "2", "第2卷", ()),
    (dict(title="红楼梦：脂评本"), "红楼梦", "红楼梦脂评本", "", "", ()),
    (dict(title="三国演义. 上册"), "三国演义", "", "上", "上册", ()),
    (dict(title="下册"), "下册", "", "", "", ()),  # nothing before the part: it is the title
    (dict(title="红楼梦", volume="第2卷"), "红楼梦", "", "2", "第2卷", ()),
    (dict(title="'94中国发展报告"), "94中国发展报告", "", "", "", ("94",)),
    # mojibake (MARC-8 escapes read as text) is no title; a short one is not judged so
    (dict(title="$1!2H!?5!T2!2/!X((B"), "", "", "", "", ()),
    (dict(title="$1!2H"), "12h", "", "", "", ("12",)),
])
def test_match_record_title_and_part(fields: dict, title: str, title_full: str, volume: str,
                                     volume_text: str, numbers: tuple[str, ...]) -> None:
    m = MatchRecord.from_record(_record("s:1", **fields))
    assert (m.title, m.title_full, m.volume, m.volume_text, m.numbers) == (
        title, title_full, volume, volume_text, numbers)


def test_match_record_isbn_stems_authors_and_empty_fields() -> None:
    m = MatchRecord.from_record(_record(
        "s:1", isbn=["9787300000077"],
        isbn_invalid=["7-5063-8464-5", "979-10-90636-07-9", "123", "978730000007X",
                      "1234567890123"],
        authors=[Author("曹雪芹著", romanized="Cao Xueqin"), Author("曹雪芹"),
                 Author("$1!2H!?5!T2")],
        responsibility="曹雪芹著 ; 高鹗续", language=None, material_type=None,
        publisher="$!?$!?$"))
    assert m.stems == ("978730000007", "978750638464", "979109063607")
    assert (m.authors, m.author, m.resp) == (("曹雪芹", "xueqin,cao"), "曹雪芹", "曹雪芹著高鹗续")
    assert (m.language, m.material, m.publisher) == ("", "", "")
    assert MatchRecord("k", isbns=("9787300000077",)).stems == ("978730000007",)


def test_match_record_json_keeps_year_zero_and_lone_surrogates() -> None:
    m = MatchRecord.from_record(_record("s:\ud800", year=0))
    text = m.to_json()
    assert '"y":0' in text and '"t"' not in text  # empty fields left out, year 0 kept
    assert MatchRecord.from_json(text) == m
