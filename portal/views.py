"""HTML view models: the shared response dicts plus the links and labels a page needs.

Links are built here, in Python, with `query.search_url` (urlencode), so templates never
assemble URLs from remote data by string concatenation; the templates only print values,
and Jinja's autoescaping takes care of the HTML side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from core.config import Config, Library
from core.entry import NO_ITEM_DATA
from core.model import Record
from core.status import ONLINE, Status, common_status
from harvest.clc import TOP_CLASSES
from index.backend import FACETS, YEAR_RANGES, SearchRequest
from portal import clc_tree
from portal.export.gbt7714 import cite
from portal.export.routes import export_links, qr_url
from portal.i18n import N_, _
from portal.labels import FACET_TITLES, LANGUAGES, MATERIAL_TYPES, facet_label
from portal.my_library import annotate_hits, holding_groups
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
        return _("暂无馆藏信息")
    shown = "、".join(names[:SUMMARY_LIBRARIES])
    more = "…" if len(names) > SUMMARY_LIBRARIES else ""
    return _("{n} 馆收藏：{names}").format(n=len(names), names=shown + more)


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


def search_context(req: SearchRequest, data: dict[str, Any], config: Config,
                   home: Library | None = None) -> dict[str, Any]:
    active = [
        {"title": FACET_TITLES[facet], "label": facet_label(facet, value, config.libraries),
         "url": search_url(with_filter(req, facet, value, False))}
        for facet in FACETS for value in req.filters.get(facet, [])
    ]
    hits = [{**hit, "url": record_url(hit["id"]), "summary": holdings_summary(hit["holdings"]),
             "material": _(MATERIAL_TYPES[hit["material_type"]])
             if hit.get("material_type") in MATERIAL_TYPES else ""}
            for hit in annotate_hits(data["hits"], home, config.libraries)]
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
        # a reader with a home library can narrow to what it holds (the library facet)
        "mine_url": search_url(with_filter(req, "library", home.code, True))
        if home is not None and home.code not in req.filters.get("library", []) else None,
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
    isbn = [*record["isbn"], *(_("{isbn}（校验位错误）").format(isbn=i)
                               for i in record.get("isbn_invalid", []))]
    language = record.get("language", "")
    material = record.get("material_type", "")
    clc = [_("{code}（{name}）").format(code=c, name=_(TOP_CLASSES[c[0]]))
           if c[:1] in TOP_CLASSES else c for c in record["clc"]]
    rows = [
        (N_("题名"), _plain([title])),
        (N_("其他题名"), _plain(record["title_alt"])),
        (N_("拼音"), _plain([record.get("title_pinyin", "")])),
        (N_("责任说明"), _plain([record["responsibility"]])),
        (N_("著者"), authors),
        (N_("出版者"), _plain(publisher)),
        (N_("出版地"), _plain([record["place"]])),
        (N_("出版年"), _plain([str(record["year"])] if record.get("year") else [])),
        (N_("版本"), _plain([record["edition"]])),
        (N_("ISBN"), _plain(isbn)),
        (N_("ISSN"), _plain(record["issn"])),
        (N_("中图分类号"), _plain(clc)),
        (N_("主题"), [_link(s, "subject") for s in record["subjects"] if s]),
        (N_("地区"), [_link(p, "subject") for p in record.get("places", []) if p]),
        (N_("丛编"), _plain(record["series"])),
        (N_("语种"), _plain([_(LANGUAGES.get(language, language))])),
        (N_("文献类型"), _plain([_(MATERIAL_TYPES.get(material, material))])),
        (N_("摘要"), _plain([record["summary"]])),
    ]
    return [{"label": label, "parts": parts} for label, parts in rows if parts]


def web_url(url: str | None) -> str:
    """Only http(s) links from remote records reach a page: a `javascript:` or `data:` URL
    in a harvested record must never become clickable."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def harvested_status(row: dict[str, Any]) -> dict[str, str]:
    """The record page's status cell before (or without) JavaScript: the harvested status
    in the common vocabulary's words (在架可借, 已借出 · 应还 …), never the source's raw
    code (ON-SHELF, CHECKOUT); a note only when it is ours (来源未提供单册信息), not a
    source's member code."""
    status = Status(ONLINE) if row.get("online_url") else common_status(row.get("status"))
    return {"status_code": status.code, "status_label": status.label,
            "due_date": status.due_date,
            "note": row["note"] if row.get("note") == NO_ITEM_DATA else ""}


def record_context(data: dict[str, Any], config: Config,
                   home: Library | None = None) -> dict[str, Any]:
    rows = [{**row, "online_url": web_url(row.get("online_url")), **harvested_status(row)}
            for row in data["holdings"]]
    groups = holding_groups(rows, home, config.libraries)
    codes = dict.fromkeys(r["library"] for r in data["holdings"])
    contacts = [config.libraries[c] for c in codes
                if c in config.libraries
                and (config.libraries[c].address or config.libraries[c].contact)]
    sources = []
    for s in data["sources"]:
        lib = config.libraries.get(s["library"])
        sources.append({**s, "library_name": lib.name if lib else s["library"],
                        **_attribution_names(s, config.libraries)})
    live_libraries = dict.fromkeys(s["library_name"] for s in sources if s.get("live"))
    return {
        "id": data["id"],
        "live_only": bool(data.get("live_only")),
        "live_libraries": list(live_libraries),
        "record": data["record"],
        "title": data["record"]["title"] or _("（无题名）"),
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
        **export_context(data, groups),
    }


def export_context(data: dict[str, Any], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Export, cite and QR for a catalogue entry (a live-only one is not in the store)."""
    if data.get("live_only"):
        return {"exports": [], "citation": "", "qr": None}
    libraries = list(dict.fromkeys((r["library"], r["name"]) for g in groups for r in g["rows"]
                                   if not r.get("live")))
    return {"exports": export_links(data["id"]),
            "citation": cite(Record.from_dict(data["record"])),
            "qr": {"url": qr_url(data["id"]),
                   "others": [{"name": name, "url": qr_url(data["id"], code)}
                              for code, name in libraries[1:]]} if libraries else None}


def _attribution_names(source: dict[str, Any], libraries: Mapping[str, Library]
                       ) -> dict[str, str]:
    """The names of the members credited with a source record (联合编目: 编目馆, 修改馆)."""
    out = {}
    for key in ("catalogued_by", "modified_by"):
        code = source.get(key) or ""
        lib = libraries.get(code)
        out[key + "_name"] = lib.name if lib else code
    return out
