"""The matcher's normalizers and small rules as tables: a catalogue's text in, the key the
matcher compares out.  (Clustering on real records is in test_matching.py.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.model import Author
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
from harvest.matching.rules import is_match


@pytest.mark.parametrize(("text", "n"), [
    ("十二", 12), ("一百零五", 105), ("2019", 2019), ("iv", 4), ("ix", 9), ("xl", 40),
    ("二〇一九", 2019), ("十", 10), ("两百", 200), ("零", 0), ("百", 100), ("三千零二", 3002),
    ("abc", None), ("", None), ("十a", None),
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
