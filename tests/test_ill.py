"""The interlibrary-loan view: a list of ISBNs or titles → a holdings matrix.

A real store and tantivy index holding this file's records (conftest's small world), the
real aiohttp app, and real peers for the availability column: a Koha simulator for one
library (live status), a server that never answers (to make a lookup slow enough to watch
its progress), and OAI-PMH sources, which offer no live status at all.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from connectors.availability import AvailabilityService
from connectors.koha import status_summary
from core.model import Author, Holding, Record
from harvest.isbn import valid10, valid13
from peers.koha import KohaSimulator, demo_records
from portal import ill, ill_lookup
from portal.availability import AVAILABILITY
from portal.ill import csv_lines, decode_upload, parse_query, safe_cell
from tests.conftest import HangServer, MakeClient, MakeWorld, World

KOHA_ID, KOHA_SECRET = "tongjian-ill", "ill-secret-value"
HONGLOU13 = "9787020002207"
HONGLOU10 = "702000220X"  # the same book's ISBN-10
SLOW13 = "9787530212004"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","点我")'

LIBRARIES = [
    {"code": "YLLIB", "name": "榆林市星元图书楼", "region": "榆林市", "level": "county",
     "county": "榆阳区"},
    {"code": "LQLIB", "name": "礼泉县图书馆", "region": "咸阳市", "county": "礼泉县",
     "level": "county"},
    {"code": "HYLIB", "name": "鄠邑区图书馆", "region": "西安市", "county": "鄠邑区",
     "level": "county"},
    {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
    {"code": "XALIB", "name": "西安图书馆", "region": "西安市", "level": "city"},
    {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
     "level": "county"},
]
# columns: 西安市 (the province's city) first, its own libraries before its counties';
# then 咸阳市 (a city library); then 榆林市 (county libraries only)
COLUMN_ORDER = ["SXPL", "XALIB", "HYLIB", "XYLIB", "LQLIB", "SMLIB", "YLLIB"]


def test_isbn_fixtures_are_valid() -> None:
    assert valid13(HONGLOU13) and valid10(HONGLOU10) and valid13(SLOW13)


KOHA_BIBLIO = 501  # 红楼梦 at 神木市图书馆, whose Koha answers live


def _oai(name: str, library: str) -> dict[str, Any]:
    return {"name": name, "library": library, "protocol": "oaipmh",
            "address": "http://127.0.0.1:9/oai", "metadata_prefix": "oai_dc"}


@pytest.fixture
def koha(monkeypatch: pytest.MonkeyPatch) -> Iterator[KohaSimulator]:
    monkeypatch.setenv("TJTEST_ILL_KOHA_ID", KOHA_ID)
    monkeypatch.setenv("TJTEST_ILL_KOHA_SECRET", KOHA_SECRET)
    koha = KohaSimulator(demo_records(5), first_biblio_id=500,
                         clients={KOHA_ID: KOHA_SECRET}).start()
    yield koha
    koha.stop()


@pytest.fixture
def hang() -> Iterator[HangServer]:
    hang = HangServer()
    yield hang
    hang.close()


@pytest.fixture
def world(make_world: MakeWorld, koha: KohaSimulator, hang: HangServer) -> World:
    auth = {"client_id_env": "TJTEST_ILL_KOHA_ID", "client_secret_env": "TJTEST_ILL_KOHA_SECRET"}
    config = {"libraries": LIBRARIES, "sources": [
        _oai("sxpl", "SXPL"), _oai("xa", "XALIB"), _oai("hy", "HYLIB"), _oai("xy", "XYLIB"),
        _oai("lq", "LQLIB"), _oai("yl", "YLLIB"),
        {"name": "smlib", "library": "SMLIB", "protocol": "koha", "address": koha.base_url,
         "auth": auth},
        {"name": "slow", "library": "YLLIB", "protocol": "koha",
         "address": f"http://127.0.0.1:{hang.port}", "auth": auth},
    ]}
    koha_items = koha.items_of(KOHA_BIBLIO)
    honglou = {"title": "红楼梦", "authors": [Author("曹雪芹", "著")], "year": 1982,
               "publisher": "人民文学出版社", "isbn": [HONGLOU13]}
    clusters = {
        "c1": [
            Record("sxpl", "s1", "SXPL", holdings=[
                Holding("SXPL", "书库", "I242.4/1", "S1", "在架"),
                Holding("SXPL", "书库", "I242.4/1", "S2", "借出")], **honglou),
            Record("lq", "l1", "LQLIB", holdings=[Holding("LQLIB", "", "I242.4/2", "L1", "在馆")],
                   **honglou),
            Record("hy", "h1", "HYLIB", holdings=[Holding("HYLIB", "", "I242.4/3", "H1", "剔除")],
                   **honglou),
            Record("smlib", str(KOHA_BIBLIO), "SMLIB", holdings=[
                Holding("SMLIB", i["location"] or "", i["callnumber"] or "", i["external_id"],
                        status_summary(i)) for i in koha_items], **honglou),
        ],
        "c2": [Record("xy", "x1", "XYLIB", title="中国发展报告", year=2020,
                      holdings=[Holding("XYLIB", "期刊室", "F124/20", "X1", "在架")])],
        "c3": [Record("xa", "a1", "XALIB", title="中国发展报告 2021", year=2021,
                      holdings=[Holding("XALIB", "", "F124/21", "A1", "阅览")])],
        "c4": [Record("yl", "y1", "YLLIB", title=FORMULA_TITLE,
                      holdings=[Holding("YLLIB", "", "Z1", "Y1", "在架")])],
        "c5": [Record("slow", "9", "YLLIB", title="平凡的世界", isbn=[SLOW13],
                      holdings=[Holding("YLLIB", "", "I247.5/1", "Y9", "在架")])],
    }
    return make_world(config, clusters, run="all")


async def _client(make_client: MakeClient, world: World, **service: Any) -> TestClient:
    service.setdefault("timeouts", {"slow": 0.3})
    return await make_client(availability=AvailabilityService(world.config, **service))


@pytest.fixture
async def client(make_client: MakeClient, world: World) -> TestClient:
    return await _client(make_client, world)


def origin(client: TestClient) -> dict[str, str]:
    return {"Origin": f"http://{client.host}:{client.port}"}


async def lookup(client: TestClient, lines: list[str]) -> dict[str, Any]:
    response = await client.post("/api/holdings/lookup", json={"lines": lines})
    assert response.status == 200, await response.text()
    return await response.json()


# -- input parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "isbn", "title"), [
    ("978-7-02-000220-7", HONGLOU13, ""),
    ("7-02-000220-X", HONGLOU13, ""),
    ("702000220x", HONGLOU13, ""),
    ("ISBN 978-7-02-000220-7", HONGLOU13, ""),
    ("ISBN:7-02-000220-X（平装）", HONGLOU13, ""),
    (f"{HONGLOU13} 红楼梦", HONGLOU13, ""),
    ("  红楼梦\u3000 ", "", "红楼梦"),
])
def test_lines_are_read_as_isbn_or_title(line: str, isbn: str, title: str) -> None:
    q = parse_query(1, line)
    assert (q.isbn, q.title, q.problem) == (isbn, title, "")


def test_a_bad_isbn_is_not_searched_as_a_title() -> None:
    q = parse_query(3, "7-02-000220-6")
    assert q.isbn == "" and q.title == "" and "ISBN" in q.problem


def test_uploads_decode_and_csv_columns() -> None:
    assert decode_upload("红楼梦\n".encode("gb18030")) == "红楼梦\n"
    assert decode_upload("\ufeff红楼梦\n".encode()) == "红楼梦\n"
    assert decode_upload("红楼梦\n".encode("utf-16")) == "红楼梦\n"
    with_header = "序号,题名,ISBN\n1,红楼梦,978-7-02-000220-7\n2,中国发展报告,\n3,,\n"
    assert csv_lines(with_header) == ["978-7-02-000220-7", "中国发展报告"]
    assert csv_lines("红楼梦,曹雪芹\n,平凡的世界\n") == ["红楼梦", "平凡的世界"]
    assert csv_lines("isbn\ttitle\n7-02-000220-X\t红楼梦\n") == ["7-02-000220-X"]


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+1", "'=1+1"), ("+86 29", "'+86 29"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("红楼梦", "红楼梦"), (3, "3"), (None, ""),
])
def test_csv_cells_cannot_be_formulas(value: Any, shown: str) -> None:
    assert safe_cell(value) == shown


# -- the lookup -------------------------------------------------------------------------------


async def test_json_lookup_isbns_titles_and_unmatched(koha: KohaSimulator,
                                                     client: TestClient) -> None:
    lines = ["978-7-02-000220-7", "7-02-000220-X", "ISBN 9787020002207 红楼梦", "紅樓夢",
             "中国发展报告", "中国发展", "7-02-000220-6", "", "不存在的书名"]
    data = await lookup(client, lines)
    assert data["state"] == "done" and data["done"] == data["total"] == 8  # blank line dropped
    items = data["items"]
    assert [i["matched"] for i in items[:4]] == [["c1"]] * 4
    assert [i["kind"] for i in items[:4]] == ["isbn", "isbn", "isbn", "title"]
    assert items[4]["matched"] == ["c2"]  # the exact title only: not 中国发展报告 2021
    assert items[5]["matched"] == [] and {s["id"] for s in items[5]["suggestions"]} >= {"c2"}
    assert "ISBN" in items[6]["problem"]
    assert [u["line"] for u in data["unmatched"]] == [6, 7, 8]
    assert [u["query"] for u in data["unmatched"]] == ["中国发展", "7-02-000220-6", "不存在的书名"]

    honglou = items[0]
    by_lib = {h["library"]: h for h in honglou["holdings"]}
    assert [h["library"] for h in honglou["holdings"]] == ["SXPL", "HYLIB", "LQLIB", "SMLIB"]
    assert (by_lib["SXPL"]["copies"], by_lib["SXPL"]["available"]) == (2, 1)  # 在架 + 借出
    assert (by_lib["HYLIB"]["copies"], by_lib["HYLIB"]["available"]) == (1, 0)  # 剔除
    assert not by_lib["SXPL"]["live"] and by_lib["SXPL"]["reasons"] == ["不提供实时状态"]
    assert by_lib["SXPL"]["as_of"].endswith("+08:00")
    koha_items = koha.items_of(KOHA_BIBLIO)
    assert by_lib["SMLIB"]["live"] and by_lib["SMLIB"]["copies"] == len(koha_items)
    assert by_lib["SMLIB"]["available"] == sum(1 for i in koha_items if not i["checked_out_date"])
    assert honglou["copies"] == 4 + len(koha_items)
    assert honglou["available"] == 2 + by_lib["SMLIB"]["available"]


async def test_live_status_follows_the_koha_system(koha: KohaSimulator,
                                                   client: TestClient) -> None:
    free = [i for i in koha.items_of(KOHA_BIBLIO) if not i["checked_out_date"]]
    before = (await lookup(client, [HONGLOU13]))["items"][0]
    koha.set_item(free[0]["item_id"], lost_status=1)  # lost since the harvest
    koha.revoke_tokens()
    app_service = client.app[AVAILABILITY]
    app_service.forget()  # past the cache's 60 s
    after = (await lookup(client, [HONGLOU13]))["items"][0]
    koha_before = next(h for h in before["holdings"] if h["library"] == "SMLIB")
    koha_after = next(h for h in after["holdings"] if h["library"] == "SMLIB")
    assert koha_after["available"] == koha_before["available"] - 1
    assert koha_after["statuses"].get("暂不可借") == 1


async def test_matrix_is_sorted_by_region(client: TestClient) -> None:
    data = await lookup(client, [HONGLOU13, "中国发展报告", "中国发展报告 2021", FORMULA_TITLE,
                                 SLOW13])
    assert [lib["library"] for lib in data["libraries"]] == COLUMN_ORDER
    assert [lib["region"] for lib in data["libraries"]] == \
        ["西安市", "西安市", "西安市", "咸阳市", "咸阳市", "榆林市", "榆林市"]


async def test_lines_beyond_the_live_limit_use_harvested_status(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ill_lookup, "LIVE_LINES", 1)  # lines of one group: the cap splits it
    data = await lookup(client, [HONGLOU13, "不存在的书名", HONGLOU13, HONGLOU13])
    first, *others = (next(h for h in i["holdings"] if h["library"] == "SMLIB")
                      for i in data["items"] if i["matched"])
    assert first["live"] and first["reasons"] == []
    assert [(h["live"], h["reasons"]) for h in others] == [(False, ["未实时查询"])] * 2
    assert data["live_lines"] == 1


# -- HTML, CSV, limits ------------------------------------------------------------------------


async def _submit(client: TestClient, lines: list[str]) -> str:
    response = await client.post("/ill", data={"lines": "\n".join(lines)}, headers=origin(client),
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    return response.headers["Location"]


async def _wait(client: TestClient, job_url: str) -> dict[str, Any]:
    job = job_url.rsplit("/", 1)[1]
    for _ in range(200):
        progress = await (await client.get(f"/api/holdings/lookup/{job}?progress=1")).json()
        if progress["state"] != "running":
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError("lookup did not finish")


async def test_form_page_matrix_and_csv(client: TestClient) -> None:
    form = await client.get("/ill")
    html = await form.text()
    assert form.status == 200 and 'enctype="multipart/form-data"' in html and "1000" in html
    lines = [HONGLOU13, FORMULA_TITLE, "-2+3", "中国发展报告"]
    job_url = await _submit(client, lines)
    assert re.fullmatch(r"/ill/[A-Za-z0-9_-]+", job_url)
    assert (await _wait(client, job_url))["state"] == "done"

    page = await (await client.get(job_url)).text()
    header = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert header is not None
    names = re.findall(r'<th scope="col">([^<]+)', header.group(1))  # library columns
    by_code = {lib["code"]: lib["name"] for lib in LIBRARIES}
    assert names == [by_code[c] for c in COLUMN_ORDER if c != "XALIB"]
    assert "&lt;" not in FORMULA_TITLE and "=HYPERLINK(&#34;http" in page  # escaped, not markup
    assert "未找到" in page and "-2+3" in page and f'href="{job_url}.csv"' in page

    response = await client.get(job_url + ".csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:9] == ["行号", "查询内容", "匹配", "题名", "ISBN", "收藏馆数", "总册数",
                           "在架可借", "状态来源"]
    assert rows[0][9].startswith("陕西省图书馆（西安市）") and rows[0][9].endswith("册数")
    by_line = {r[0]: r for r in rows[1:]}
    assert by_line["1"][2] == "c1" and by_line["1"][4] == HONGLOU13
    assert by_line["2"][1] == "'" + FORMULA_TITLE and by_line["2"][3] == "'" + FORMULA_TITLE
    assert by_line["3"][1] == "'-2+3" and by_line["3"][2] == "未找到"
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


async def test_more_than_1000_lines_are_refused(client: TestClient) -> None:
    lines = [HONGLOU13] * 1001
    response = await client.post("/ill", data={"lines": "\n".join(lines)}, headers=origin(client),
                                 allow_redirects=False)
    assert response.status == 400
    html = await response.text()
    assert "一次最多可查 1000 行，这份清单有 1001 行" in html
    assert html.count(HONGLOU13) >= 1001  # the list is kept for trimming
    api = await client.post("/api/holdings/lookup", json={"lines": lines})
    assert api.status == 400
    data = await api.json()
    assert data["max_lines"] == 1000 and data["lines"] == 1001 and "1000" in data["error"]
    ok = await client.post("/api/holdings/lookup", json={"lines": lines[:1000]})
    assert ok.status in (200, 202)


async def test_uploaded_gb18030_csv_and_bad_files(client: TestClient) -> None:
    data = FormData()
    data.add_field("lines", "")
    data.add_field("file", "题名,ISBN\n中国发展报告,\n,7-02-000220-X\n".encode("gb18030"),
                   filename="清单.csv", content_type="text/csv")
    response = await client.post("/ill", data=data, headers=origin(client), allow_redirects=False)
    assert response.status == 303
    job_url = response.headers["Location"]
    await _wait(client, job_url)
    result = await (await client.get("/api/holdings/lookup/" + job_url.rsplit("/", 1)[1])).json()
    assert [i["matched"] for i in result["items"]] == [["c2"], ["c1"]]

    bad = FormData()
    bad.add_field("file", b"%PDF-1.4", filename="list.pdf", content_type="application/pdf")
    response = await client.post("/ill", data=bad, headers=origin(client))
    assert response.status == 400 and ".txt 或 .csv" in await response.text()

    big = FormData()
    big.add_field("file", b"9787020002207\n" * 40000, filename="big.txt",
                  content_type="text/plain")
    response = await client.post("/ill", data=big, headers=origin(client))
    assert response.status == 413 and "太大" in await response.text()


async def test_cross_site_posts_are_refused(client: TestClient) -> None:
    plain = await client.post("/ill", data={"lines": HONGLOU13}, allow_redirects=False)
    assert plain.status == 403  # no Origin or Referer at all
    foreign = await client.post("/ill", data={"lines": HONGLOU13},
                                headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert foreign.status == 403
    api = await client.post("/api/holdings/lookup", data='{"lines": ["x"]}',
                            headers={"Content-Type": "text/plain"})
    assert api.status == 415  # a cross-site form can send text/plain, never JSON
    api = await client.post("/api/holdings/lookup", json={"lines": ["x"]},
                            headers={"Origin": "https://evil.example"})
    assert api.status == 403


async def test_job_progress_is_reported(make_client: MakeClient, world: World,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # every line is held by the never-answering source (0.3 s per group of lines), so the
    # lookup takes long enough to watch
    monkeypatch.setattr(ill_lookup, "MATCH_BATCH", 4)
    monkeypatch.setattr(ill_lookup, "LIVE_BATCH", 2)
    monkeypatch.setattr(ill, "SYNC_WAIT", 0.2)
    client = await _client(make_client, world, failure_ttl=0)
    response = await client.post("/api/holdings/lookup", json={"lines": [SLOW13] * 8})
    assert response.status == 202
    started = await response.json()
    job = started["job"]
    assert response.headers["Location"] == f"/api/holdings/lookup/{job}"
    assert started["total"] == 8 and started["state"] == "running"

    page = await (await client.get(f"/ill/{job}")).text()
    assert '<progress id="ill-progress"' in page and 'src="/static/ill.js"' in page
    assert "<script>" not in page  # no inline script (CSP)
    seen = []
    while True:
        p = await (await client.get(f"/api/holdings/lookup/{job}?progress=1")).json()
        seen.append(p["done"])
        if p["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert p == {"job": job, "state": "done", "done": 8, "total": 8, "error": ""}
    assert any(0 < d < 8 for d in seen) and seen == sorted(seen)
    result = await (await client.get(f"/api/holdings/lookup/{job}")).json()
    reasons = {r for i in result["items"] for h in i["holdings"] for r in h["reasons"]}
    assert reasons == {"超时"}
    assert (await client.get("/api/holdings/lookup/nosuchjob00")).status == 404
    assert (await client.get("/static/ill.js")).status == 200


async def test_behind_the_admin_login_when_it_is_configured(
        make_client: MakeClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "t" * 40
    monkeypatch.setenv("TONGJIAN_ADMIN_TOKEN", token)
    client = await _client(make_client, world)
    page = await client.get("/ill", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/admin/login")
    api = await client.post("/api/holdings/lookup", json={"lines": [HONGLOU13]})
    assert api.status == 401
    wrong = await client.post("/api/holdings/lookup", json={"lines": [HONGLOU13]},
                              headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status == 401
    ok = await client.post("/api/holdings/lookup", json={"lines": [HONGLOU13]},
                           headers={"Authorization": f"Bearer {token}"})
    assert ok.status == 200 and (await ok.json())["items"][0]["matched"] == ["c1"]
