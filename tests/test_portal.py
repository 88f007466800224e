"""The portal end to end: a real store, the real tantivy index, the real aiohttp app.

Three merged entries over three libraries are enough to see merging (one book, three
libraries), escaping (a title carrying markup, as a careless catalogue export might) and
facet narrowing, without mocking the engine the portal actually runs on.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from core.model import Author, Holding, Record
from index.backend import FACETS, SearchRequest
from portal.query import QueryError, parse_params, to_params
from tests.conftest import MakeClient, MakeWorld, World

SCRIPT_TITLE = "<script>alert(1)</script>平凡的世界"

CONFIG = {
    "consortium": {"name": "测试联合目录"},
    "libraries": [
        {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province",
         "address": "西安市长安路18号", "contact": "029-85360000"},
        {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
        {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
         "level": "county"},
    ],
    "sources": [
        {"name": "sxpl-z3950", "library": "SXPL", "protocol": "z3950",
         "address": "127.0.0.1:21001/Default"},
        {"name": "xylib-z3950", "library": "XYLIB", "protocol": "z3950",
         "address": "127.0.0.1:21002/Default"},
        {"name": "smlib-z3950", "library": "SMLIB", "protocol": "z3950",
         "address": "127.0.0.1:21003/Default"},
    ],
}


def _records() -> dict[str, list[Record]]:
    """cluster id -> records; c1 is one book catalogued by all three libraries."""
    honglou = dict(
        title="红楼梦", authors=[Author("曹雪芹", "著"), Author("高鹗", "续")],
        publisher="人民文学出版社", place="北京", year=1982, isbn=["9787020002207"],
        clc=["I242.4"], clc_top="I", language="chi", material_type="book",
        subjects=["章回小说"],
    )
    return {
        "c1": [
            Record(source="sxpl-z3950", source_id="1001", library="SXPL",
                   responsibility="曹雪芹著", title_pinyin="hong lou meng",
                   summary="中国古典长篇小说。", **honglou,
                   holdings=[Holding("SXPL", "中文图书借阅区", "I242.4/12", "SX00012345", "在架"),
                             Holding("SXPL", "保存本库", "I242.4/12:2", "SX00012346", "不外借")]),
            Record(source="xylib-z3950", source_id="77", library="XYLIB", **honglou,
                   holdings=[Holding("XYLIB", "外借部", "I242.4/3", "XY00000777", "借出")]),
            Record(source="smlib-z3950", source_id="a-5", library="SMLIB", **honglou,
                   holdings=[Holding("SMLIB", "", "I242.4/9", "SM5", "")]),
        ],
        "c2": [
            Record(source="smlib-z3950", source_id="a-6", library="SMLIB", title=SCRIPT_TITLE,
                   authors=[Author("路遥", "著")], publisher="北京十月文艺出版社", year=2012,
                   clc=["I247.5"], clc_top="I", language="chi", material_type="book",
                   holdings=[Holding("SMLIB", "少儿室", "I247.5/1", "SM6", "在架")]),
        ],
        "c3": [
            Record(source="xylib-z3950", source_id="78", library="XYLIB",
                   title="中国发展报告", publisher="中国统计出版社", year=2020,
                   clc=["F124"], clc_top="F", language="chi", material_type="serial",
                   holdings=[Holding("XYLIB", "期刊室", "F124/20", "XY00000778", "在架")]),
        ],
    }


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    world = make_world(CONFIG, _records())
    # Two sources with history: one fine, one whose server was down at the last harvest.
    run = world.store.start_harvest("sxpl-z3950")
    world.store.finish_harvest(run, {"new": 3}, None)
    run = world.store.start_harvest("smlib-z3950")
    world.store.finish_harvest(run, {}, "连接 127.0.0.1:21003 超时")
    return world


# -- search page -------------------------------------------------------------------------


async def test_search_page_shows_hit_with_holdings_summary(client: TestClient) -> None:
    resp = await client.get("/search", params={"q": "红楼梦"})
    body = await resp.text()
    assert resp.status == 200
    assert '<html lang="zh-CN">' in body
    assert 'href="/record/c1"' in body
    assert "曹雪芹" in body and "人民文学出版社" in body and "1982" in body
    # every holding library named, province, then city, then county
    assert "3 馆收藏：陕西省图书馆、咸阳市图书馆、神木市图书馆" in body
    assert "共 <strong>1</strong> 条结果" in body


async def test_markup_in_titles_is_escaped(client: TestClient) -> None:
    for url in ("/search?q=平凡的世界", "/record/c2"):
        body = await (await client.get(url)).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;平凡的世界" in body, url
        assert "<script>" not in body, url


async def test_home_page_on_empty_query(client: TestClient) -> None:
    resp = await client.get("/")
    body = await resp.text()
    assert resp.status == 200
    assert "一次检索" in body
    assert re.search(r"<strong>3</strong> 个成员馆的 <strong>5</strong> 条书目，"
                     r"合并为 <strong>3</strong> 种", body)
    assert "/search?q=%E7%BA%A2%E6%A5%BC%E6%A2%A6" in body  # sample search 红楼梦, URL-encoded
    # browsing: facets are there, with Chinese labels
    assert "I 文学" in body and "收藏馆" in body and "中文" in body


async def test_facet_links_are_url_encoded_and_removable(client: TestClient) -> None:
    body = await (await client.get("/search", params={"q": "红楼梦"})).text()
    links = re.findall(r'href="(/search\?[^"]*)"', body)
    region_links = [dict(parse_qsl(urlsplit(u.replace("&amp;", "&")).query)) for u in links
                    if "region=" in u]
    assert {"q": "红楼梦", "region": "西安市"} in region_links
    assert "region=%E8%A5%BF%E5%AE%89%E5%B8%82" in body  # percent-encoded, not raw
    # the filter applied shows as removable, and its removal link drops only that filter
    body = await (await client.get("/search", params={"q": "红楼梦", "library": "XYLIB"})).text()
    assert "收藏馆：咸阳市图书馆" in body
    assert 'href="/search?q=%E7%BA%A2%E6%A5%BC%E6%A2%A6" title="取消此筛选"' in body
    # drill-down: with a library chosen, the other libraries are not offered in that facet
    assert "library=SXPL" not in body
    assert "library=XYLIB&amp;region=" in body  # other facets still narrow further


async def test_sort_and_paging(client: TestClient) -> None:
    data = await (await client.get("/api/search?sort=year_desc")).json()
    assert [h["year"] for h in data["hits"]] == [2020, 2012, 1982]
    data = await (await client.get("/api/search?sort=year_asc&page_size=1&page=2")).json()
    assert [h["year"] for h in data["hits"]] == [2012]
    body = await (await client.get("/search?sort=year_asc&page_size=1&page=2")).text()
    assert "上一页" in body and "下一页" in body
    assert 'aria-current="page">2<' in body


# -- JSON --------------------------------------------------------------------------------


async def test_api_search_shape(client: TestClient) -> None:
    resp = await client.get("/api/search", params={"q": "红楼梦"})
    assert resp.status == 200
    assert resp.content_type == "application/json"
    data = await resp.json()
    assert set(data) == {"query", "total", "page", "page_size", "hits", "facets", "did_you_mean"}
    assert data["query"] == {"q": "红楼梦", "field": "any", "sort": "relevance", "page": 1,
                             "page_size": 20, "filters": {}}
    assert data["total"] == 1
    hit = data["hits"][0]
    assert set(hit) == {"id", "title", "authors", "year", "isbn", "publisher", "holdings",
                        "live_sources", "material_type"}
    assert hit["id"] == "c1" and hit["title"] == "红楼梦" and hit["year"] == 1982
    assert hit["material_type"] == "book"
    assert {h["library"] for h in hit["holdings"]} == {"SXPL", "XYLIB", "SMLIB"}
    assert set(hit["holdings"][0]) == {"library", "name", "region", "copies", "online", "live",
                                       "available"}
    # on the shelf: SXPL's 在架 copy, not its 不外借 one, XYLIB's 借出 or SMLIB's unknown
    assert {h["library"]: h["available"] for h in hit["holdings"]} == {
        "SXPL": 1, "XYLIB": 0, "SMLIB": 0}
    assert set(data["facets"]) == set(FACETS)
    assert {"value": "I", "label": "I 文学", "count": 1} in data["facets"]["clc_top"]
    assert {"value": "SXPL", "label": "陕西省图书馆", "count": 1} in data["facets"]["library"]


async def test_facet_filters_narrow_the_total(client: TestClient) -> None:
    async def total(query: str) -> int:
        resp = await client.get("/api/search?" + query)
        assert resp.status == 200, await resp.text()
        return (await resp.json())["total"]

    assert await total("") == 3
    assert await total("library=XYLIB") == 2
    assert await total("library=XYLIB&clc_top=F") == 1
    assert await total("year_range=2010-2019") == 1
    assert await total("material_type=serial&region=%E5%92%B8%E9%98%B3%E5%B8%82") == 1


async def test_page_past_the_end_is_empty_not_an_error(client: TestClient) -> None:
    resp = await client.get("/api/search?page=7")
    data = await resp.json()
    assert resp.status == 200
    assert data["total"] == 3 and data["hits"] == [] and data["page"] == 7
    body = await (await client.get("/search?page=7")).text()
    assert "超出范围" in body


async def test_page_size_is_capped(client: TestClient) -> None:
    data = await (await client.get("/api/search?page_size=5000")).json()
    assert data["page_size"] == 100 and data["query"]["page_size"] == 100


async def test_api_record(client: TestClient) -> None:
    resp = await client.get("/api/records/c1")
    data = await resp.json()
    assert resp.status == 200
    assert data["id"] == "c1"
    # best record: the most complete one, the provincial library's
    assert data["record"]["summary"] == "中国古典长篇小说。"
    assert len(data["holdings"]) == 4
    assert set(data["holdings"][0]) >= {"library", "name", "region", "county", "location",
                                        "call_number", "barcode", "status"}
    assert [h["library"] for h in data["holdings"]] == ["SXPL", "SXPL", "XYLIB", "SMLIB"]
    assert data["holdings"][3]["county"] == "神木市"
    assert {(s["source"], s["source_id"]) for s in data["sources"]} == {
        ("sxpl-z3950", "1001"), ("xylib-z3950", "77"), ("smlib-z3950", "a-5")}


async def test_unknown_record_is_404(client: TestClient) -> None:
    resp = await client.get("/api/records/unknown")
    assert resp.status == 404
    assert "error" in await resp.json()
    resp = await client.get("/record/unknown")
    body = await resp.text()
    assert resp.status == 404
    assert "没有找到这条书目" in body and "Traceback" not in body


async def test_api_sources(client: TestClient) -> None:
    data = await (await client.get("/api/sources")).json()
    by_name = {s["name"]: s for s in data}
    assert by_name["sxpl-z3950"]["status"] == "ok"
    assert by_name["sxpl-z3950"]["records"] == 1
    assert by_name["smlib-z3950"]["status"] == "failing"
    assert "超时" in by_name["smlib-z3950"]["last_harvest"]["error"]
    assert by_name["xylib-z3950"]["status"] == "never harvested"
    assert by_name["xylib-z3950"]["last_harvest"] is None
    assert set(by_name["xylib-z3950"]) >= {"name", "library", "protocol", "mode", "records",
                                           "quarantined"}


# -- record page -------------------------------------------------------------------------


async def test_record_page_shows_digital_object_with_safe_links_only(
        client: TestClient, world: World) -> None:
    records = [
        Record(source="sxpl-z3950", source_id="oai:dfwx:9", library="SXPL",
               title="礼泉县志", year=1999, material_type="book", places=["礼泉县"],
               cover_url="http://127.0.0.1:9/objects/9.jpg",
               online_url="http://127.0.0.1:9/objects/9.pdf"),
        # the same entry's other record carries script URLs: they must never become links
        Record(source="xylib-z3950", source_id="oai:evil:1", library="XYLIB",
               title="礼泉县志", year=1999, material_type="book",
               cover_url="javascript:alert(1)", online_url="data:text/html,<b>x</b>"),
    ]
    for r in records:
        world.store.put(r, raw=b"", raw_format="test")
    world.store.set_clusters([(r.key, "c4") for r in records])
    world.store.commit()
    body = await (await client.get("/record/c4")).text()
    assert 'src="/covers/c4"' in body and "objects/9.jpg" not in body  # issue 11: no hot-link
    assert 'href="http://127.0.0.1:9/objects/9.pdf"' in body and "在线阅读" in body
    assert "礼泉县" in body
    assert "javascript:" not in body and "data:text" not in body


async def test_record_page_lists_every_holding(client: TestClient) -> None:
    resp = await client.get("/record/c1")
    body = await resp.text()
    assert resp.status == 200
    for call_number, barcode in (("I242.4/12", "SX00012345"), ("I242.4/12:2", "SX00012346"),
                                 ("I242.4/3", "XY00000777"), ("I242.4/9", "SM5")):
        assert call_number in body and barcode in body
    for column in ("馆藏单位", "地区", "馆藏地点", "索书号", "条码号", "状态"):
        assert f"<th scope=\"col\">{column}</th>" in body
    # the harvested status in the common vocabulary's words, not the source's own code
    assert "仅限馆内阅览" in body and "已借出" in body and "不外借" not in body
    # grouped by region: the provincial library's city first, the county library last
    assert body.index("西安市") < body.index("咸阳市") < body.index("榆林市 · 神木市")
    assert "西安市长安路18号" in body and "029-85360000" in body  # contact from config
    assert "来源记录" in body and "a-5" in body and "xylib-z3950" in body
    assert "曹雪芹 著" in body and "中国古典长篇小说。" in body and "hong lou meng" in body
    assert 'href="/search?q=%E6%9B%B9%E9%9B%AA%E8%8A%B9&amp;field=author"' in body


# -- bad input ---------------------------------------------------------------------------

BAD_QUERIES = [
    ("q=" + "书" * 2000, "过长"),
    ("q=%21%21%21%EF%BC%9F", "标点"),
    ("q=a%00b", "控制字符"),
    ("q=x&field=bogus", "检索字段"),
    ("q=x&sort=bogus", "排序"),
    ("page=abc", "页码"),
    ("page=0", "页码"),
    ("page=-1", "页码"),
    (f"page={10**9}", "页码"),
    ("page_size=0", "每页条数"),
    ("colour=red", "筛选条件"),
    ("year_range=1850-1860", "出版年范围"),
    ("clc_top=%E6%96%87", "中图分类"),
]


@pytest.mark.parametrize(("query", "words"), BAD_QUERIES)
async def test_bad_input_is_400_with_a_message(client: TestClient, query: str,
                                               words: str) -> None:
    resp = await client.get("/api/search?" + query)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert words in error
    resp = await client.get("/search?" + query)
    body = await resp.text()
    assert resp.status == 400
    assert words in body and "Traceback" not in body
    assert 'role="alert"' in body


async def test_long_query_message_states_the_limit(client: TestClient) -> None:
    error = (await (await client.get("/api/search?q=" + "书" * 2000)).json())["error"]
    assert "2000" in error and "200" in error


async def test_unexpected_errors_are_a_plain_500(make_client: MakeClient) -> None:
    class Broken:
        def search(self, request: SearchRequest) -> Any:
            raise RuntimeError("secret internal detail")

    client = await make_client(backend=Broken())
    for url, is_json in (("/search?q=x", False), ("/api/search?q=x", True)):
        resp = await client.get(url)
        body = await resp.text()
        assert resp.status == 500
        assert "secret internal detail" not in body and "Traceback" not in body
        assert "服务器" in body
        assert (resp.content_type == "application/json") is is_json


async def test_unknown_path_is_a_chinese_404(client: TestClient) -> None:
    resp = await client.get("/no/such/page")
    assert resp.status == 404
    assert "找不到这个页面" in await resp.text()
    resp = await client.get("/api/nothing")
    assert resp.status == 404 and "error" in await resp.json()


# -- security and status -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/search?q=红楼梦", "/record/c1", "/api/search",
                                 "/static/style.css", "/api/records/unknown", "/search?page=0"])
async def test_security_headers(client: TestClient, url: str) -> None:
    resp = await client.get(url)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "same-origin"


async def test_failing_source_shows_on_every_page(client: TestClient) -> None:
    for url in ("/", "/search?q=红楼梦", "/record/c1"):
        body = await (await client.get(url)).text()
        assert "数据源不可用" in body, url
        assert "神木市图书馆（smlib-z3950）" in body and "连接 127.0.0.1:21003 超时" in body
        assert "sxpl-z3950" not in body.split("数据源不可用")[1].split("</div>")[0]


async def test_sources_page(client: TestClient) -> None:
    body = await (await client.get("/sources")).text()
    assert "尚未采集" in body and "失败" in body and "正常" in body


# -- the query path itself ---------------------------------------------------------------


def test_params_round_trip() -> None:
    pairs = [("q", " 红楼梦\t曹雪芹 "), ("field", "title"), ("library", "SXPL"),
             ("library", "XYLIB"), ("library", "SXPL"), ("clc_top", "i"), ("sort", "year_desc"),
             ("page", "3"), ("region", "")]
    req = parse_params(pairs)
    assert req.q == "红楼梦 曹雪芹"
    assert req.filters == {"library": ["SXPL", "XYLIB"], "clc_top": ["I"]}
    assert parse_params(to_params(req)) == req


def test_zero_width_characters_are_dropped_not_refused() -> None:
    assert parse_params([("q", "红楼\u200b梦")]).q == "红楼梦"
    with pytest.raises(QueryError):
        parse_params([("q", "\u200b!")])


def test_web_url_lets_only_http_links_through() -> None:
    from portal.views import web_url

    assert web_url(" https://example.org/a.pdf ") == "https://example.org/a.pdf"
    assert web_url("http://127.0.0.1:9/objects/9.jpg") == "http://127.0.0.1:9/objects/9.jpg"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x",
                "//evil.example/x", "file:///etc/passwd", "http:///nohost", "", None):
        assert web_url(bad) == "", bad
