"""What the Meilisearch backend sends, checked without a server: the documents carry
tantivy's very terms, and no reader input can change a filter's meaning."""

from __future__ import annotations

import json

from core.model import Holding, Record
from index.documents import cluster_document
from index.meili_backend import SETTINGS, _any_value, prepare_document, primary_key
from index.tantivy_backend import analyse_document

LIBS = {"BJL": {"code": "BJL", "name": "宝鸡市图书馆", "region": "宝鸡市", "level": "city"}}


def _record(**kw: object) -> Record:
    return Record(source="bjl", source_id="2", library="BJL",
                  holdings=[Holding(library="BJL", call_number="I242.4/12")], **kw)


def _doc(**kw: object) -> dict:
    return cluster_document("c-hlm", [_record(**kw)], LIBS)


def test_documents_carry_the_tantivy_terms_and_derived_fields():
    doc = _doc(title="紅樓夢", year=1982, language="chi")
    sent = prepare_document(doc)
    analysed = json.loads(analyse_document(doc).json)
    assert sent["title"] == analysed["title"] and "红楼梦" in sent["title"][0].split()
    assert sent["title_pinyin"] == analysed["title_pinyin"]
    assert sent["year_range"] == "1980-1989"
    assert sent["material_type"] == ["_none"]  # one value per document: totals add up
    assert "I242.4/1" in sent["call_number_prefix"] and "I" in sent["call_number_prefix"]
    assert sent["summary_doc"]["title"] == "紅樓夢"
    assert sent["pk"] == "c-hlm"


def test_undated_documents_have_no_year_range_and_odd_ids_get_a_valid_key():
    assert "year_range" not in prepare_document(_doc(title="礼泉县志"))
    key = primary_key("live-bjl/2 ü")
    assert key != "live-bjl/2 ü" and key.isalnum()
    assert primary_key("0123abcd") == "0123abcd"


def test_filter_values_are_quoted_so_input_cannot_end_them():
    f = _any_value("library", ['SXPL" OR library = "BJL', "a\\"])
    assert f == 'library IN ["SXPL\\" OR library = \\"BJL", "a\\\\"]'


def test_settings_keep_typos_on_pinyin_only_and_sort_before_relevance():
    off = set(SETTINGS["typoTolerance"]["disableOnAttributes"])
    assert {"title", "authors", "title_bigram", "title_key"} <= off
    assert not off & {"title_pinyin", "author_pinyin"}
    assert SETTINGS["rankingRules"][0] == "sort"
    assert SETTINGS["searchableAttributes"][:3] == ["title_key", "title_part_key", "title"]


def test_ties_go_to_the_shorter_title_then_to_more_libraries():
    # tantivy's coverage and popularity bonuses, as Meilisearch's last ranking rules
    assert SETTINGS["rankingRules"][-2:] == ["title_chars:asc", "held_by:desc"]
    held = Record(source="sxpl", source_id="3", library="SXPL", title="紅樓夢：校注本",
                  holdings=[Holding(library="SXPL")])
    libs = {**LIBS, "SXPL": {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                             "level": "province"}}
    sent = prepare_document(cluster_document("c-hlm", [held, _record(title="红楼梦")], libs))
    assert sent["title_chars"] == len("红楼梦") and sent["held_by"] == 2  # shown: 红楼梦
    assert {"红楼梦校注本", "校注本"} <= set(sent["title_part_key"])  # the other, its parts
    assert "title_cover" not in sent and "held" not in sent  # tantivy's terms only
    untitled = prepare_document(_doc())  # a custom rule needs a value in every document
    assert untitled["title_chars"] > 1000 and untitled["held_by"] == 1


def test_config_needs_the_server_address_and_an_unreachable_server_is_named(tmp_path):
    import pytest

    from core.config import ConfigError, parse
    from index.backend import open_backend
    from index.meili_backend import IndexServerError
    from tests.conftest import free_port

    base = {"libraries": [{"code": "BJL", "name": "宝鸡市图书馆", "region": "宝鸡市",
                           "level": "city"}], "sources": []}
    with pytest.raises(ConfigError, match="index.url"):
        parse({**base, "index": {"backend": "meilisearch"}}, tmp_path / "config.yaml")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = parse({**base, "index": {"backend": "meilisearch", "url": url}},
                   tmp_path / "config.yaml")
    with pytest.raises(IndexServerError, match=f"search server {url}.*Meilisearch ≥ 1.12"):
        open_backend(config)
