"""The one query path: request parameters → SearchRequest → response dict.

The HTML page and `/api/search` both go through `parse_params` and `run_search`, so what
a reader sees and what an API client gets cannot drift apart, and every rule about bad
input lives here once.  Input is judged strictly: an unknown parameter, field or sort is
almost always a typo or a stale link, and a 400 naming the fix helps more than silently
searching for something else.

Long queries are *rejected* (not truncated): a truncated query searches for something the
reader did not ask for, and a 200-character query is a pasted paragraph, not a search.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from core.config import Library
from core.entry import LibraryCopies, combine, entry_holdings, library_copies
from core.fold import title_key
from core.model import Record
from index.backend import FACETS, SearchBackend, SearchHit, SearchRequest, SearchResult
from index.text import isbn_key, issn_key, looks_like_call_number
from portal.clc_tree import is_facet_class
from portal.i18n import N_, _
from portal.labels import (
    FACET_TITLES,
    FIELD_TITLES,
    LEVEL_RANK,
    SORT_TITLES,
    YEAR_RANGE_TITLES,
    facet_label,
)

MAX_QUERY_CHARS = 200
MAX_PAGE = 500  # a larger page number is refused as nonsense
MAX_RESULTS = 10_000  # deepest hit the pager offers (the tantivy backend's paging window)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100  # larger requests are capped, not refused
MAX_FILTERS = 20
MAX_FILTER_CHARS = 100
SCALAR_PARAMS = ("q", "field", "sort", "page", "page_size")
IGNORED_PARAMS = ("lang",)  # the reader's language: portal.i18n reads it, searches ignore it
_DIGITS = re.compile(r"[0-9]{1,9}")
_SPACES = {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}


class QueryError(ValueError):
    """Bad input, with a message written for the reader (what is wrong, what to do)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _shown(value: str, limit: int = 30) -> str:
    """Echo user input in a message without echoing a whole pasted page back."""
    return value if len(value) <= limit else value[:limit] + "…"


def _choices(titles: dict[str, str]) -> str:
    return "、".join(f"{code}（{_(title)}）" for code, title in titles.items())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def clean_q(raw: str) -> str:
    """Normalise whitespace, drop invisible format characters, reject what cannot be a query.

    Tabs and newlines come from pasting out of a spreadsheet and are harmless; other
    control characters never occur in a title and usually mean a broken client.
    Zero-width spaces and the like (category Cf) are silently removed because they are
    invisible to the reader who pasted them.
    """
    text = raw.translate(_SPACES)
    if _has_control(text):
        raise QueryError(_("检索词中含有不可见的控制字符。请删除后重新输入，"
                           "或直接键入题名、著者等文字。"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(_("检索词过长（{n} 个字符），最多 {max} 个字符。"
                           "请只输入题名或著者中的几个关键词。").format(n=len(text),
                                                                      max=MAX_QUERY_CHARS))
    if text and not any(ch.isalnum() for ch in text):
        raise QueryError(_("检索词只有标点或符号。请输入题名、著者、ISBN 等文字或数字。"))
    return text


def _integer(raw: str | None, what: str, low: int, high: int | None, default: int,
             advice: str) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    bound = (_(" {low} 到 {high} 之间").format(low=low, high=high) if high
             else _("不小于 {low} ").format(low=low))
    if not _DIGITS.fullmatch(text) or int(text) < low or (high and int(text) > high):
        raise QueryError(_("{what}“{value}”无效：应为{bound}的整数。{advice}").format(
            what=_(what), value=_shown(text), bound=bound, advice=advice))
    return int(text)


def _clean_filter(facet: str, raw: str) -> str:
    value = raw.strip()
    title = _(FACET_TITLES[facet])
    if _has_control(value):
        raise QueryError(_("筛选条件“{title}”中含有控制字符。请从检索结果页的筛选列表中重新"
                           "选择。").format(title=title))
    if len(value) > MAX_FILTER_CHARS:
        raise QueryError(_("筛选条件“{title}”的值过长（最多 {max} 个字符）。"
                           "请从检索结果页的筛选列表中重新选择。").format(
                               title=title, max=MAX_FILTER_CHARS))
    if facet == "year_range" and value and value not in YEAR_RANGE_TITLES:
        raise QueryError(_("出版年范围“{value}”无效。可用的范围：{choices}。").format(
            value=_shown(value), choices="、".join(YEAR_RANGE_TITLES)))
    if facet == "clc_top" and value:
        value = value.upper()
        if not is_facet_class(value):
            raise QueryError(_("中图分类“{value}”无效：应为一个大类字母或前三级类号，"
                               "例如 I（文学）、I24（小说）、K（历史、地理）；更细的类号"
                               "（如 I242）请直接在检索框中输入。").format(value=_shown(value)))
    return value


def parse_params(pairs: Iterable[tuple[str, str]]) -> SearchRequest:
    """Turn query-string pairs (repeats allowed) into a SearchRequest, or raise QueryError.

    Empty values mean "default", so a form that submits `field=` or `library=` behaves
    like one that leaves them out.  For a repeated scalar the first value wins.
    """
    scalars: dict[str, str] = {}
    filters: dict[str, list[str]] = {}
    for name, raw in pairs:
        if name in IGNORED_PARAMS:
            continue
        if name in SCALAR_PARAMS:
            scalars.setdefault(name, raw)
        elif name in FACETS:
            value = _clean_filter(name, raw)
            values = filters.setdefault(name, [])
            if value and value not in values:
                values.append(value)
        else:
            raise QueryError(_("未知的参数或筛选条件“{name}”。可用的筛选条件：{choices}；"
                               "其他参数：q、field、sort、page、page_size、lang。").format(
                                   name=_shown(name), choices=_choices(FACET_TITLES)))
    filters = {k: v for k, v in filters.items() if v}
    if sum(len(v) for v in filters.values()) > MAX_FILTERS:
        raise QueryError(_("筛选条件过多（最多 {max} 个）。请先清除部分筛选条件。").format(
            max=MAX_FILTERS))
    field = scalars.get("field", "").strip() or "any"
    if field not in FIELD_TITLES:
        raise QueryError(_("不支持的检索字段“{value}”。可用字段：{choices}。").format(
            value=_shown(field), choices=_choices(FIELD_TITLES)))
    sort = scalars.get("sort", "").strip() or "relevance"
    if sort not in SORT_TITLES:
        raise QueryError(_("不支持的排序方式“{value}”。可用的排序：{choices}。").format(
            value=_shown(sort), choices=_choices(SORT_TITLES)))
    page = _integer(scalars.get("page"), N_("页码"), 1, MAX_PAGE, 1,
                    _("请使用结果列表下方的翻页链接；结果太多时，可用筛选条件缩小范围。"))
    page_size = min(_integer(scalars.get("page_size"), N_("每页条数"), 1, None,
                             DEFAULT_PAGE_SIZE,
                             _("超过 {max} 时按 {max} 条计。").format(max=MAX_PAGE_SIZE)),
                    MAX_PAGE_SIZE)
    return SearchRequest(q=clean_q(scalars.get("q", "")), field=field,  # type: ignore[arg-type]
                         filters=filters, sort=sort, page=page,  # type: ignore[arg-type]
                         page_size=page_size)


def to_params(req: SearchRequest) -> list[tuple[str, str]]:
    """The inverse of `parse_params`, leaving defaults out so links stay short."""
    pairs: list[tuple[str, str]] = []
    if req.q:
        pairs.append(("q", req.q))
    if req.field != "any":
        pairs.append(("field", req.field))
    for facet in FACETS:
        pairs.extend((facet, v) for v in req.filters.get(facet, []))
    if req.sort != "relevance":
        pairs.append(("sort", req.sort))
    if req.page != 1:
        pairs.append(("page", str(req.page)))
    if req.page_size != DEFAULT_PAGE_SIZE:
        pairs.append(("page_size", str(req.page_size)))
    return pairs


def search_url(req: SearchRequest) -> str:
    """URL-encoded via urlencode: facet values are remote data and may hold anything."""
    pairs = to_params(req)
    return "/search?" + urlencode(pairs) if pairs else "/search"


def with_filter(req: SearchRequest, facet: str, value: str, on: bool) -> SearchRequest:
    """A changed filter changes the result set, so paging starts again at 1."""
    values = [v for v in req.filters.get(facet, []) if v != value]
    if on:
        values.append(value)
    filters = {k: list(v) for k, v in req.filters.items() if k != facet}
    if values:
        filters[facet] = values
    return replace(req, filters=filters, page=1)


def page_count(total: int, page_size: int) -> int:
    """Pages the pager offers: deep pages cost the engine a top-k heap and no reader goes
    there, so past MAX_RESULTS the reader is better served by narrowing with a facet."""
    return min(math.ceil(total / page_size), MAX_RESULTS // page_size, MAX_PAGE)


def describe(req: SearchRequest) -> dict[str, Any]:
    """The query as understood, echoed to API clients so they can see caps and defaults."""
    return {"q": req.q, "field": req.field, "sort": req.sort, "page": req.page,
            "page_size": req.page_size, "filters": {k: list(v) for k, v in req.filters.items()}}


LiveRecords = Callable[[Iterable[str]], Mapping[str, Sequence[Record]]]
"""entry ids → the live records joined to each (`portal.live_catalogue`)."""


def hit_json(hit: SearchHit, libraries: dict[str, Library],
             live: Sequence[Record] = ()) -> dict[str, Any]:
    """One result line.  Copies per library are the index's stored `core.entry`
    summary plus the live records joined to the entry, summed by the same rule.  Names and
    regions come from the current config, not the index, so renaming a library shows at
    once; libraries are listed province, city, county …, as on the record page."""
    doc = hit.doc
    stored = [LibraryCopies(str(h.get("library", "")), int(h.get("copies", 1)),
                            bool(h.get("online")), False, int(h.get("available", 0)))
              for h in doc.get("holdings") or []]
    names = {str(h.get("library", "")): h for h in doc.get("holdings") or []}
    holdings = holding_lines(combine(stored, library_copies(entry_holdings((), live))),
                             libraries, names)
    return {"id": hit.id, "title": doc.get("title", ""), "authors": list(doc.get("authors") or []),
            "year": doc.get("year"), "isbn": list(doc.get("isbn") or []),
            "publisher": doc.get("publisher", ""), "holdings": holdings,
            "material_type": doc.get("material_type", ""),
            "live_sources": sorted({r.source for r in live})}


def holding_lines(copies: Iterable[LibraryCopies], libraries: dict[str, Library],
                  stored: Mapping[str, Mapping[str, Any]] | None = None
                  ) -> list[dict[str, Any]]:
    """A result line's holdings: one per library, named from the current config (else
    from what the index stored), province, city, county … — the index's order within a
    level stays (the sort is stable)."""
    stored = stored or {}
    lines = []
    for lc in copies:
        lib = libraries.get(lc.library)
        old = stored.get(lc.library, {})
        lines.append({"library": lc.library,
                      "name": lib.name if lib else str(old.get("name") or lc.library),
                      "region": lib.region if lib else str(old.get("region", "")),
                      "copies": lc.copies, "online": lc.online, "live": lc.live,
                      "available": lc.available})

    def level(line: dict[str, Any]) -> int:
        lib = libraries.get(line["library"])
        return LEVEL_RANK.get(lib.level, 9) if lib else 10

    return sorted(lines, key=level)


@functools.lru_cache(maxsize=65_536)
def _filterable(facet: str, value: str) -> bool:
    """Offer only values `parse_params` accepts back, so no facet link leads to a 400.
    Cached: the same few hundred facet values come back with every search."""
    try:
        return bool(value) and _clean_filter(facet, value) == value
    except QueryError:
        return False


DID_YOU_MEAN_BELOW = 3  # fewer hits than this on page 1: offer queries near the reader's
DID_YOU_MEAN_FIELDS = ("any", "title", "author")


def _identifier(q: str) -> bool:
    """An ISBN, ISSN or call number: a near miss of one is another book, not a typo to
    offer (and looking for one costs a search)."""
    return bool(isbn_key(q) or issn_key(q) or looks_like_call_number(q)
                or not any(ch.isalpha() for ch in q))


def run_search(backend: SearchBackend, req: SearchRequest, libraries: dict[str, Library],
               live: LiveRecords | None = None) -> dict[str, Any]:
    """Blocking (the engine is synchronous): call it from the portal's worker thread.
    `live` adds the live copies recent live searches joined to the hits shown; a query
    that finds nothing or very little gets 你是不是要找 links (`did_you_mean`)."""
    result = backend.search(req)
    data = search_json(result, req, libraries, live)
    near: list[str] = []
    if (req.q and req.page == 1 and not req.filters and result.total < DID_YOU_MEAN_BELOW
            and req.field in DID_YOU_MEAN_FIELDS and not _identifier(req.q)
            # the title asked for is there: nothing to correct
            and not any(title_key(str(h.doc.get("title") or "")) == title_key(req.q)
                        for h in result.hits)):
        near = backend.did_you_mean(req.q)
    data["did_you_mean"] = [{"q": q, "url": search_url(SearchRequest(q=q, field=req.field))}
                            for q in near]
    return data


def search_json(result: SearchResult, req: SearchRequest, libraries: dict[str, Library],
                live: LiveRecords | None = None) -> dict[str, Any]:
    joined = live(h.id for h in result.hits) if live is not None else {}
    facets = {
        facet: [{"value": value, "label": facet_label(facet, value, libraries), "count": count}
                for value, count in result.facets.get(facet, []) if _filterable(facet, value)]
        for facet in FACETS
    }
    return {"query": describe(req), "total": result.total, "page": req.page,
            "page_size": req.page_size,
            "hits": [hit_json(h, libraries, joined.get(h.id, ())) for h in result.hits],
            "facets": facets}
