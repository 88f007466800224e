"""HTML view models: the shared response dicts plus the links and labels a page needs.

Links are built here, in Python, with `query.search_url` (urlencode), so templates never
assemble URLs from remote data by string concatenation; the templates only print values,
and Jinja's autoescaping takes care of the HTML side.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import groupby
from typing import Any
from urllib.parse import quote, urlsplit

from core.config import Config
from harvest.clc import TOP_CLASSES
from index.backend import FACETS, YEAR_RANGES, SearchRequest
from portal import clc_tree
from portal.labels import FACET_TITLES, LANGUAGES, MATERIAL_TYPES, facet_label
from portal.query import (
    QueryError,
    clean_q,
    page_count,
    search_url,
    to_params,
    with_filter,
)

FACET_VISIBLE = 8  # values beyond this go behind a "更多" disclosure
SUMMARY_LIBRARIES = 3  # library names spelled out in a hit's holdings line
YEAR_RANGE_ORDER = {label: i for i, (label, _, _) in enumerate(YEAR_RANGES)}


def record_url(cluster_id: str) -> str:
    return "/record/" + quote(cluster_id, safe="")


def holdings_summary(holdings: list[dict[str, Any]]) -> str:
    names = [h["name"] for h in holdings]
    if not names:
        return "暂无馆藏信息"
    shown = "、".join(names[:SUMMARY_LIBRARIES])
    more = "…" if len(names) > SUMMARY_LIBRARIES else ""
    return f"{len(names)} 馆收藏：{shown}{more}"


def _pager(req: SearchRequest, total: int) -> dict[str, Any]:
    """Numbers around the current page plus first and last, with gaps between."""
    last = page_count(total, req.page_size)
    numbers = sorted({1, last, *range(req.page - 2, req.page + 3)} & set(range(1, last + 1)))
    items: list[dict[str, Any] | None] = []
    previous = 0
    for number in numbers:
        if number - previous > 1:
            items.append(None)  # a gap, shown as …
        items.append({"number": number, "url": search_url(replace(req, page=number)),
                      "current": number == req.page})
        previous = number
    # Past the end (an old link, a hand-edited URL), "previous" leads back to the last page.
    prev = min(req.page - 1, last)
    return {
        "last": last,
        "pages": items if last > 1 else [],
        "prev": search_url(replace(req, page=prev)) if prev >= 1 else None,
        "next": search_url(replace(req, page=req.page + 1)) if req.page < last else None,
    }


def _facets(req: SearchRequest, data: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    """Drill-down facets: a facet with a value chosen shows just that value, removable.

    Counts are computed over the current (filtered) results, so a count next to another
    value of the *same* facet would not predict what clicking it gives (whether two values
    of one facet combine by AND or OR is the engine's business); hiding them keeps every
    number on the page true.  Several values per facet remain possible through the URL/API.
    """
    out = []
    for facet in FACETS:
        active = req.filters.get(facet, [])
        items = data["facets"].get(facet, [])
        if facet == "clc_top":  # (issue 12) a hierarchy: browse down from the chosen class
            if values := _class_facet(req, items, active):
                out.append({"name": facet, "title": FACET_TITLES[facet],
                            "shown": values[:FACET_VISIBLE], "more": values[FACET_VISIBLE:]})
            continue
        if facet == "year_range":  # chronological, newest first, reads better than by count
            items = sorted(items, key=lambda i: YEAR_RANGE_ORDER.get(i["value"], 99))
        counts = {i["value"]: i["count"] for i in items}
        if active:
            values = [{"value": v, "label": facet_label(facet, v, config.libraries),
                       "count": counts.get(v), "active": True,
                       "url": search_url(with_filter(req, facet, v, False))} for v in active]
        else:
            values = [{**i, "active": False, "url": search_url(with_filter(req, facet, i["value"],
                                                                          True))}
                      for i in items]
        if values:
            out.append({"name": facet, "title": FACET_TITLES[facet],
                        "shown": values[:FACET_VISIBLE], "more": values[FACET_VISIBLE:]})
    return out


def _class_facet(req: SearchRequest, items: list[dict[str, Any]],
                 active: list[str]) -> list[dict[str, Any]]:
    """The 中图分类 facet as a tree: with no class chosen, the top classes; with one chosen,
    the path down to it (each step a link back up, the chosen one removable) and its
    subclasses, each replacing the choice with itself (I 文学 → I2 中国文学 → I24 小说)."""
    counts = {i["value"]: i["count"] for i in items}
    chosen = max(active, key=len) if active else ""

    def choose(code: str) -> str:
        filters = {k: list(v) for k, v in req.filters.items() if k != "clc_top"}
        if code:
            filters["clc_top"] = [code]
        return search_url(replace(req, filters=filters, page=1))

    steps = [{"value": c, "label": clc_tree.label(c), "count": counts.get(c),
              "active": c == chosen, "step": True,
              "url": choose(clc_tree.parent(c) if c == chosen else c)}
             for c in clc_tree.path(chosen)]
    below = [{**i, "label": clc_tree.label(i["value"]), "active": False, "step": False,
              "url": choose(i["value"])}
             for i in items if clc_tree.parent(i["value"]) == chosen
             and len(i["value"]) <= clc_tree.LEVELS]
    below.sort(key=lambda i: i["value"])
    return steps + below


def search_context(req: SearchRequest, data: dict[str, Any], config: Config) -> dict[str, Any]:
    active = [
        {"title": FACET_TITLES[facet], "label": facet_label(facet, value, config.libraries),
         "url": search_url(with_filter(req, facet, value, False))}
        for facet in FACETS for value in req.filters.get(facet, [])
    ]
    hits = [{**hit, "url": record_url(hit["id"]), "summary": holdings_summary(hit["holdings"])}
            for hit in data["hits"]]
    first = (req.page - 1) * req.page_size + 1
    return {
        "req": req,
        "total": data["total"],
        "hits": hits,
        "first": first,
        "last_shown": first + len(hits) - 1,
        "facets": _facets(req, data, config),
        "active": active,
        "clear_url": search_url(replace(req, filters={}, page=1)),
        "did_you_mean": data.get("did_you_mean", []),  # (issue 12) 你是不是要找
        "pager": _pager(req, data["total"]),
        # the sort form resubmits everything else as hidden fields (no JavaScript needed)
        "sort_hidden": [p for p in to_params(replace(req, page=1)) if p[0] != "sort"],
    }


def _link(text: str, field: str) -> dict[str, str | None]:
    """A search link for a name on the record page, unless the name could not be a query."""
    try:
        q = clean_q(text)
    except QueryError:
        q = ""
    url = search_url(SearchRequest(q=q, field=field)) if q else None  # type: ignore[arg-type]
    return {"text": text, "url": url, "extra": ""}


def _plain(values: list[str]) -> list[dict[str, str | None]]:
    return [{"text": v, "url": None, "extra": ""} for v in values if v]


def description(record: dict[str, Any]) -> list[dict[str, Any]]:
    """(label, items) rows for the fields the best record has; empty fields are left out."""
    title = record["title"] + (f" {record['volume']}" if record.get("volume") else "")
    authors = []
    for a in record["authors"]:
        item = _link(a["name"], "author")
        extra = " / ".join(x for x in (a.get("pinyin"), a.get("romanized")) if x)
        item["text"] = " ".join(x for x in (a["name"], a.get("role", "")) if x)
        item["extra"] = extra
        authors.append(item)
    publisher = [record["publisher"], *record.get("publisher_alt", [])]
    isbn = [*record["isbn"], *(f"{i}（校验位错误）" for i in record.get("isbn_invalid", []))]
    language = record.get("language", "")
    material = record.get("material_type", "")
    clc = [f"{c}（{TOP_CLASSES[c[0]]}）" if c[:1] in TOP_CLASSES else c for c in record["clc"]]
    rows = [
        ("题名", _plain([title])),
        ("其他题名", _plain(record["title_alt"])),
        ("拼音", _plain([record.get("title_pinyin", "")])),
        ("责任说明", _plain([record["responsibility"]])),
        ("著者", authors),
        ("出版者", _plain(publisher)),
        ("出版地", _plain([record["place"]])),
        ("出版年", _plain([str(record["year"])] if record.get("year") else [])),
        ("版本", _plain([record["edition"]])),
        ("ISBN", _plain(isbn)),
        ("ISSN", _plain(record["issn"])),
        ("中图分类号", _plain(clc)),
        ("主题", [_link(s, "subject") for s in record["subjects"] if s]),
        ("地区", [_link(p, "subject") for p in record.get("places", []) if p]),
        ("丛编", _plain(record["series"])),
        ("语种", _plain([LANGUAGES.get(language, language)])),
        ("文献类型", _plain([MATERIAL_TYPES.get(material, material)])),
        ("摘要", _plain([record["summary"]])),
    ]
    return [{"label": label, "parts": parts} for label, parts in rows if parts]


def web_url(url: str | None) -> str:
    """Only http(s) links from remote records reach a page: a `javascript:` or `data:` URL
    in a harvested record must never become clickable."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def record_context(data: dict[str, Any], config: Config) -> dict[str, Any]:
    rows = [{**row, "online_url": web_url(row.get("online_url"))} for row in data["holdings"]]
    groups = [{"region": region, "rows": list(group)}
              for region, group in groupby(rows, key=lambda r: r["region"])]
    codes = dict.fromkeys(r["library"] for r in data["holdings"])
    contacts = [config.libraries[c] for c in codes
                if c in config.libraries
                and (config.libraries[c].address or config.libraries[c].contact)]
    sources = []
    for s in data["sources"]:
        lib = config.libraries.get(s["library"])
        sources.append({**s, "library_name": lib.name if lib else s["library"]})
    live_libraries = dict.fromkeys(s["library_name"] for s in sources if s.get("live"))
    return {
        "id": data["id"],
        "live_only": bool(data.get("live_only")),
        "live_libraries": list(live_libraries),
        "record": data["record"],
        "title": data["record"]["title"] or "（无题名）",
        "description": description(data["record"]),
        "groups": groups,
        "holdings_count": len(data["holdings"]),
        "library_count": len(codes),
        "contacts": contacts,
        "sources": sources,
        "merge": data.get("merge", []),
        "kept_apart": data.get("kept_apart", []),
        "other_editions": data.get("other_editions", []),
        "source_names": {f"{s['source']}:{s['source_id']}": s["library_name"] for s in sources},
        "cover_url": "/covers/" + quote(data["id"], safe=""),  # fetched by us: portal/covers.py
        "online_url": web_url(data["record"].get("online_url")),
    }
