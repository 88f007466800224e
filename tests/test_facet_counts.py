"""Shortcuts in a search's counting and response assembly (issue 20, item 2) give the
same answers as the long way: facet counts of the multi-valued facets walked off the
posting lists equal the aggregation's and a count done by hand, over a real index with
several segments and deleted entries; result lines built without live records equal
the general rule's."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import index.tantivy_backend as tantivy_backend
from core.config import Library
from core.entry import LibraryCopies, combine
from index.backend import SearchHit, SearchRequest
from index.tantivy_backend import TantivyBackend
from portal.query import hit_json, holding_lines

LIBRARIES = ["SXPL", "XALIB", "XYLIB", "BJLIB", "SMLIB"]
REGIONS = {"SXPL": "西安市", "XALIB": "西安市", "XYLIB": "咸阳市", "BJLIB": "宝鸡市",
           "SMLIB": "榆林市"}
WORDS = ["中国", "历史", "文学", "研究", "陕西"]


def _documents(n: int) -> list[dict[str, object]]:
    rng = random.Random(20)
    docs = []
    for i in range(n):
        held = rng.sample(LIBRARIES, rng.choice([1, 1, 2, 3, 5]))
        docs.append({
            "id": f"c{i}", "title": f"{rng.choice(WORDS)}{rng.choice(WORDS)}之{i}",
            "library": held, "region": list(dict.fromkeys(REGIONS[c] for c in held)),
            "clc_top": rng.choice("IKD"), "language": rng.choice(["chi", "eng"]),
            "material_type": rng.choice(["book", "book", "serial", ""]),
            "year": rng.randint(1975, 2024),
        })
    return docs


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[TantivyBackend,
                                                             list[dict[str, object]]]:
    """600 entries in three commits (so several segments), 40 of them deleted."""
    docs = _documents(600)
    backend = TantivyBackend(Path(tmp_path_factory.mktemp("facets")), cache_entries=0)
    for part in (docs[:250], docs[250:450], docs[450:]):
        backend.add(part)
        backend.commit()
    gone = {f"c{i}" for i in range(0, 600, 15)}
    backend.delete(gone)
    backend.commit()
    return backend, [d for d in docs if d["id"] not in gone]


NARROW = {"library": ["BJLIB"], "year_range": ["-1979"], "clc_top": ["K"]}
REQUESTS = [
    SearchRequest(),  # every entry: the posting-list way
    SearchRequest(filters={"clc_top": ["I"]}),
    SearchRequest(filters={"library": ["BJLIB"], "year_range": ["2010-2019"]}),
    SearchRequest(q="中国"),
    SearchRequest(q="陕西", filters={"region": ["咸阳市"]}),
    SearchRequest(q="文学之37"),
    SearchRequest(q="没有这本书"),
    SearchRequest(filters=NARROW),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.q}{r.filters}")
def test_multi_valued_facets_counted_either_way_are_equal(
        index: tuple[TantivyBackend, list[dict[str, object]]], request_: SearchRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    backend, _ = index
    monkeypatch.setattr(tantivy_backend, "_BROAD", 0)  # never broad: the aggregation
    aggregated = backend.search(request_)
    monkeypatch.setattr(tantivy_backend, "_BROAD", 10**9)  # always: the posting lists
    walked = backend.search(request_)
    assert walked.facets == aggregated.facets
    assert walked.total == aggregated.total
    assert [h.id for h in walked.hits] == [h.id for h in aggregated.hits]


def test_the_counts_are_the_documents_own(
        index: tuple[TantivyBackend, list[dict[str, object]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted by hand over the entries a filter keeps (deleted ones gone), the facets
    of both ways are right, not merely equal."""
    backend, docs = index
    kept = [d for d in docs if d["clc_top"] == "I"]
    for broad in (0, 10**9):
        monkeypatch.setattr(tantivy_backend, "_BROAD", broad)
        result = backend.search(SearchRequest(filters={"clc_top": ["I"]}))
        assert result.total == len(kept)
        for facet in ("library", "region"):
            counts: dict[str, int] = {}
            for d in kept:
                for value in d[facet]:  # type: ignore[attr-defined]
                    counts[value] = counts.get(value, 0) + 1
            assert result.facets[facet] == sorted(counts.items(), key=lambda p: (-p[1], p[0]))


def test_a_broad_query_takes_the_posting_lists(
        index: tuple[TantivyBackend, list[dict[str, object]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The default threshold sends a query matching every entry the posting-list way and
    one matching a single entry the aggregation way (so the test above tests both)."""
    backend, _ = index
    calls: list[str] = []
    real = TantivyBackend._multi_counts

    def spy(searcher, query, total):  # type: ignore[no-untyped-def]
        calls.append("walk" if total * tantivy_backend._BROAD > searcher.num_docs else "agg")
        return real(searcher, query, total)

    monkeypatch.setattr(TantivyBackend, "_multi_counts", staticmethod(spy))
    backend.search(SearchRequest())
    few = backend.search(SearchRequest(filters=NARROW))
    assert 0 < few.total < 20
    assert calls == ["walk", "agg"]


LIBS = {"SXPL": Library("SXPL", "陕西省图书馆", "西安市", level="province"),
        "XYLIB": Library("XYLIB", "咸阳市图书馆", "咸阳市", level="city"),
        "SMLIB": Library("SMLIB", "神木市图书馆", "榆林市", level="county")}
HOLDINGS = [
    [],
    [{"library": "SMLIB", "copies": 2, "available": 1}, {"library": "SXPL", "copies": 1}],
    # the same library twice (summed), one the config no longer has (named as stored),
    # one row with nothing but its code
    [{"library": "XYLIB", "copies": 1, "online": True, "name": "旧名"},
     {"library": "GONE", "name": "撤销的馆", "region": "某市", "copies": 3, "available": 2},
     {"library": "XYLIB", "copies": 4, "available": 3, "name": "咸阳馆"},
     {"library": "SXPL"}],
]


@pytest.mark.parametrize("held", HOLDINGS)
def test_result_lines_without_live_records_follow_the_general_rule(
        held: list[dict[str, object]]) -> None:
    stored = [LibraryCopies(str(h.get("library", "")), int(h.get("copies", 1)),  # type: ignore[call-overload]
                            bool(h.get("online")), False, int(h.get("available", 0)))  # type: ignore[call-overload]
              for h in held]
    names = {str(h.get("library", "")): h for h in held}
    expected = holding_lines(combine(stored, []), LIBS, names)
    hit = SearchHit(id="c1", score=1.0, doc={"title": "书", "holdings": held})
    assert hit_json(hit, LIBS)["holdings"] == expected
