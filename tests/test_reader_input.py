"""Searching the way Chinese readers type: initials, pinyin in order and per field, mixed
input, typos, substrings, class numbers (issue 12) — on a real tantivy index."""

from __future__ import annotations

import pytest

from core.model import Author, Holding, Record
from index import text
from index.backend import SearchRequest
from index.documents import cluster_document
from index.tantivy_backend import TantivyBackend

LIBS = {"L": {"code": "L", "name": "测试馆", "region": "西安市", "level": "city"}}


def book(title: str, *authors: str, clc: str = "", call: str = "", **kw: object) -> Record:
    return Record(source="t", source_id=title, library="L", title=title,
                  authors=[Author(a) for a in authors], clc=[clc] if clc else [],
                  clc_top=clc[:1], holdings=[Holding(library="L", call_number=call)],
                  **kw)  # type: ignore[arg-type]


BOOKS = {
    "hlm": book("红楼梦", "曹雪芹", clc="I242.47", call="I242.47/2"),
    "hlm-study": book("红楼梦研究", "俞平伯", clc="I207.411"),
    "hlm-latin": book("HLM手册", "张三"),
    "grass": book("草原", "薛勤"),
    "bear": book("小熊的梦", "王五"),
    "elephant": book("大象先生的梦", "赵六"),
    "math": book("中国数学史", "李俨"),
    "scholar": book("中国学术史", "张岱"),
    "people": book("人民概论", "赵明"),
    "democracy": book("民主概论", "任峰文"),
    "report": book("中国发展报告", "国家统计局"),
    "subtitle": book("总人口意见：印度洋委员会文化", "周七"),
    "bank": book("重庆银行史", "钱八"),
    "letters": book("曾国藩家书", "曾国藩", clc="K827"),
    "poetry": book("唐诗选", "孙九", clc="I222.742", call="I222.742/15"),
}


@pytest.fixture(scope="module")
def index() -> TantivyBackend:
    backend = TantivyBackend(None)
    backend.add(cluster_document(cid, [r], LIBS) for cid, r in BOOKS.items())
    backend.commit()
    return backend


def ids(index: TantivyBackend, q: str, field: str = "any") -> list[str]:
    request = SearchRequest(q=q, field=field, page_size=50)  # type: ignore[arg-type]
    return [h.id for h in index.search(request).hits]


def test_initials_find_titles_whole_before_prefix(index: TantivyBackend) -> None:
    assert ids(index, "zgfzbg") == ["report"]
    found = ids(index, "hlm")
    # characters typed as letters (HLM手册) first, then the whole initials, then a prefix
    assert found[:3] == ["hlm-latin", "hlm", "hlm-study"]
    assert "grass" not in found and "math" not in found


def test_one_letter_is_no_initials_query(index: TantivyBackend) -> None:
    assert ids(index, "h") == []


def test_mixed_characters_and_letters(index: TantivyBackend) -> None:
    assert ids(index, "红lm")[0] == "hlm"
    assert ids(index, "hong楼梦")[0] == "hlm"


def test_spaced_pinyin_matches_in_order(index: TantivyBackend) -> None:
    assert ids(index, "zhong guo shu xue shi")[0] == "math"
    assert ids(index, "zhongguoshuxueshi")[0] == "math"


def test_title_pinyin_outranks_author_pinyin(index: TantivyBackend) -> None:
    found = ids(index, "ren min gai lun")
    assert found[0] == "people"
    # the reader who chose the author field gets the author's book
    assert ids(index, "ren feng wen", field="author") == ["democracy"]


def test_author_name_as_phrase_not_scattered_syllables(index: TantivyBackend) -> None:
    found = ids(index, "cao xueqin")
    assert found[0] == "hlm"


def test_joined_pinyin_of_each_title_part(index: TantivyBackend) -> None:
    assert ids(index, "zongrenkouyijian") == ["subtitle"]
    assert ids(index, "yinduyangweiyuanhuiwenhua") == ["subtitle"]


def test_polyphonic_characters_follow_phrases_and_keep_alternatives(
        index: TantivyBackend) -> None:
    assert ids(index, "chongqingyinhang")[0] == "bank"  # 重庆 chong, 银行 hang
    assert ids(index, "chong qing yin hang shi")[0] == "bank"
    # 曾 alone reads ceng or zeng: both are indexed
    assert ids(index, "zengguofan")[0] == "letters"
    assert ids(index, "cengguofan")[0] == "letters"


def test_a_letter_wrong_still_finds_the_title(index: TantivyBackend) -> None:
    assert ids(index, "hongloumen")[0] == "hlm"
    assert ids(index, "hongloumeng")[0] == "hlm"


def test_substring_ranks_above_shared_character(index: TantivyBackend) -> None:
    found = ids(index, "楼梦")
    assert found[0] == "hlm"
    assert found.index("hlm-study") < found.index("bear") if "bear" in found else True


def test_class_numbers_and_call_numbers(index: TantivyBackend) -> None:
    assert ids(index, "I242") == ["hlm"]
    assert ids(index, "I242.47") == ["hlm"]
    assert set(ids(index, "I2")) == {"hlm", "hlm-study", "poetry"}
    assert ids(index, "I222.742/15") == ["poetry"]


def test_class_path() -> None:
    assert text.class_path("I242.47") == ["I", "I2", "I24", "I242", "I242.4", "I242.47"]
    assert text.class_path("tp312-49") == ["T", "TP", "TP3", "TP31", "TP312"]
    assert text.class_path("不是分类号") == []


def test_latin_input_reading() -> None:
    li = text.latin_input("红lm")
    assert li is not None and li.initials == "hlm" and li.syllables == ()
    li = text.latin_input("hong楼梦")
    assert li is not None and li.syllables == ("hong", "lou", "meng")
    assert text.latin_input("红楼梦") is None
    assert text.latin_input("978-7-02") is None
    assert text.split_syllables("xian") == ("xian",)
    assert text.split_syllables("hlm") == ()


def test_display_record_prefers_simplified_and_clean_titles() -> None:
    from index.documents import best_record

    trad = book("紅樓夢", "曹雪芹", clc="I242.47", publisher="人民文學出版社", year=1982)
    spaced = book("红楼 梦", "曹雪芹", year=1982)
    clean = book("红楼梦", "曹雪芹")
    assert best_record([trad, clean], LIBS) is clean  # although less complete
    assert best_record([trad, spaced, clean], LIBS) is clean
    assert best_record([trad, spaced], LIBS) is spaced  # simplified first, then spaces
    doc = cluster_document("c", [trad, clean], LIBS)
    assert doc["title"] == "红楼梦"
    assert "紅樓夢" not in doc["title_alt"]  # folds to the same title: one form is enough
    backend = TantivyBackend(None)
    backend.add([doc])
    backend.commit()
    assert [h.id for h in backend.search(SearchRequest(q="紅樓夢")).hits] == ["c"]


def test_suggest_by_characters_pinyin_and_initials(index: TantivyBackend) -> None:
    def titles(q: str) -> list[str]:
        return [s.text for s in index.suggest(q) if s.field == "title"]

    assert titles("红楼")[:2] == ["红楼梦", "红楼梦研究"]  # shorter first at equal counts
    assert titles("紅樓")[:1] == ["红楼梦"]
    assert titles("hongl")[:2] == ["红楼梦", "红楼梦研究"]
    assert titles("hlm")[:1] == ["红楼梦"]
    assert titles("红l")[:1] == ["红楼梦"]
    assert titles("zongrenkou") == ["总人口意见"]  # the title proper, without its subtitle
    assert [s.text for s in index.suggest("caoxue") if s.field == "author"] == ["曹雪芹"]
    assert index.suggest("h") == []  # one letter: too little to suggest from


def test_did_you_mean(index: TantivyBackend) -> None:
    assert index.did_you_mean("hongloumen") == ["红楼梦"]
    assert index.did_you_mean("红楼孟") == ["红楼梦"]
    assert index.did_you_mean("caoxueqim") == ["曹雪芹"]
    assert index.did_you_mean("紅樓孟") == ["红楼梦"]  # traditional, one character off
    assert index.did_you_mean("全无此书") == []


def test_a_catalogued_isbn_with_a_wrong_check_digit_is_found_by_the_right_one() -> None:
    slip = book("最后的山梁", "顾军燕", isbn_invalid=["7506384645"])
    backend = TantivyBackend(None)
    backend.add([cluster_document("c", [slip], LIBS)])
    backend.commit()
    for q in ("978-7-5063-8464-3", "7-5063-8464-7", "9787506384643", "7506384645"):
        assert [h.id for h in backend.search(SearchRequest(q=q)).hits] == ["c"], q
    assert backend.search(SearchRequest(q="7506384645")).hits[0].doc["isbn"] == []
