"""What the Meilisearch backend sends, checked without a server: the documents carry
tantivy's very terms, and no reader input can change a filter's meaning."""

from __future__ import annotations

import json

from core.model import Holding, Record
from index.documents import cluster_document
from index.meili_backend import SETTINGS, _any_value, prepare_document, primary_key
from index.tantivy_backend import analyse_document

LIBS = {"BJL": {"code": "BJL", "name": "宝鸡市图书馆", "region": "宝鸡市", "level": "city"}}


def _doc(**kw: object) -> dict:
    record = Record(source="bjl", source_id="2", library="BJL",
                    holdings=[Holding(library="BJL", call_number="I242.4/12")], **kw)
    return cluster_document("c-hlm", [record], LIBS)


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
    assert SETTINGS["searchableAttributes"][:2] == ["title_key", "title"]


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
