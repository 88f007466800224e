"""My library: a reader names a home library, and every list then says where the nearest
copy on the shelf is — 本馆在架, 同县 2 馆在架, 需馆际互借.

The home library is a cookie holding a library code (no account, no login, nothing kept on
the server): chosen from a list or found from a unified reader card's number through
`reader_ranges` in config.yaml.  Nearness is `core.nearness` (config's hierarchy, never
geolocation); copies on the shelf are `core.entry`'s count, the same the record page uses.
The page works without JavaScript: a form posts, the portal sets the cookie and sends the
reader back where they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from core.config import Library
from core.nearness import CITY, COUNTY, HOME, PROVINCE, tier
from portal.core import CONFIG, EMPTY_FORM, render
from portal.i18n import N_, _

COOKIE = "tongjian_home"
COOKIE_AGE = 365 * 24 * 3600  # a reader's library rarely changes
MAX_CARD = 32

# Group headings on the record page when a home library is set (the tiers of core.nearness).
TIER_TITLES = {HOME: N_("本馆"), COUNTY: N_("同县"), CITY: N_("同市"),
               PROVINCE: N_("省内其他馆"), PROVINCE + 1: N_("其他")}


def home_library(request: web.Request) -> Library | None:
    """The reader's home library from the cookie; None when unset or no longer in config."""
    code = request.cookies.get(COOKIE, "")
    return request.app[CONFIG].libraries.get(code) if code else None


def availability(lines: Sequence[Mapping[str, Any]], home: Library | None,
                 libraries: Mapping[str, Library]) -> dict[str, Any]:
    """Where the nearest copy on the shelf is, for one entry's holding lines (one per
    library, with `available` copies from `core.entry`): a `kind` and a count of
    libraries `n`, which the template words (and translates).

    Kinds: home (本馆在架), county / city (同县 / 同市 n 馆在架), online (可在线阅读),
    ill (需馆际互借: on the shelf only farther away, n libraries), home_out (本馆收藏但不在架),
    ill_none (held only elsewhere, none known on the shelf), none (no copy known to be on
    the shelf), shelf (no home library: n 馆在架可借).
    A copy whose status is unknown is never counted as on the shelf (`core.status`)."""
    on_shelf = [line for line in lines if int(line.get("available") or 0) > 0]
    online = any(line.get("online") for line in lines)
    if home is None:
        if on_shelf:
            return {"kind": "shelf", "n": len(on_shelf)}
        return {"kind": "online" if online else "none", "n": 0}
    tiers = [tier(home, str(line["library"]), libraries) for line in on_shelf]
    if HOME in tiers:
        return {"kind": "home", "n": 1}
    for near, kind in ((COUNTY, "county"), (CITY, "city")):
        if near in tiers:
            return {"kind": kind, "n": tiers.count(near)}
    if online:
        return {"kind": "online", "n": 0}
    if on_shelf:
        return {"kind": "ill", "n": len(on_shelf)}
    if any(line.get("library") == home.code for line in lines):
        return {"kind": "home_out", "n": 0}
    return {"kind": "ill_none" if lines else "none", "n": 0}


def nearest_first(lines: Sequence[Mapping[str, Any]], home: Library | None,
                  libraries: Mapping[str, Library], key: str = "library") -> list[Any]:
    """`lines` ordered my library, my county, my city, the province — a stable sort, so
    each tier keeps the order the view already had (levels, regions)."""
    if home is None:
        return list(lines)
    return sorted(lines, key=lambda line: tier(home, str(line[key]), libraries))


def annotate_hits(hits: list[dict[str, Any]], home: Library | None,
                  libraries: Mapping[str, Library]) -> list[dict[str, Any]]:
    """Result lines with their holdings nearest first and their availability summary."""
    return [{**hit, "holdings": nearest_first(hit["holdings"], home, libraries),
             "availability": availability(hit["holdings"], home, libraries)} for hit in hits]


def holding_groups(rows: Sequence[dict[str, Any]], home: Library | None,
                   libraries: Mapping[str, Library]) -> list[dict[str, Any]]:
    """The record page's holdings table groups: by region as catalogued, or — for a reader
    with a home library — by nearness (本馆, 同县, 同市, 省内其他馆)."""
    if home is None:
        return [{"region": region, "rows": list(group)}
                for region, group in groupby(rows, key=lambda r: r["region"])]
    ordered = nearest_first(rows, home, libraries)
    return [{"region": _(TIER_TITLES[t]), "rows": list(group)}
            for t, group in groupby(ordered, key=lambda r: tier(home, r["library"], libraries))]


def safe_next(target: str) -> str:
    """Only a path on this site to go back to — never another host (an open redirect)."""
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc
            or "\\" in target or any(not ch.isprintable() for ch in target)):
        return "/"
    return target


def _choices(libraries: Mapping[str, Library]) -> list[dict[str, Any]]:
    """Libraries grouped by city, as a reader looks for theirs."""
    ordered = sorted(libraries.values(), key=lambda lib: (lib.region, lib.county, lib.code))
    return [{"region": region, "libraries": list(group)}
            for region, group in groupby(ordered, key=lambda lib: lib.region)]


async def my_library_page(request: web.Request, error: str = "", status: int = 200,
                          next_url: str | None = None) -> web.Response:
    config = request.app[CONFIG]
    nxt = next_url if next_url is not None else safe_next(request.query.get("next", "/"))
    return await render(request, "my_library.html", status=status, form=EMPTY_FORM,
                        home_lib=home_library(request), choices=_choices(config.libraries),
                        error=error, next_url=nxt,
                        has_cards=any(lib.reader_ranges for lib in config.libraries.values()))


async def set_my_library(request: web.Request) -> web.StreamResponse:
    """The form's answer: a library code, a reader-card number, or "forget"."""
    config = request.app[CONFIG]
    form = await request.post()
    nxt = safe_next(str(form.get("next", "/")))
    if form.get("clear"):
        response = _see_other(nxt)
        response.del_cookie(COOKIE, path="/")
        return response
    card = str(form.get("card", "")).strip()[:MAX_CARD + 1]
    code = str(form.get("library", "")).strip()
    if card:
        lib = config.reader_library(card) if len(card) <= MAX_CARD else None
        if lib is None:
            return await my_library_page(
                request, status=400, next_url=nxt,
                error=_("这个读者证号不属于任何成员馆的读者证号段。请核对证号，或直接从列表中选择您的图书馆。"))
    else:
        lib = config.libraries.get(code)
        if lib is None:
            return await my_library_page(request, status=400, next_url=nxt,
                                         error=_("请从列表中选择一个图书馆，或输入读者证号。"))
    response = _see_other(nxt)
    response.set_cookie(COOKIE, lib.code, max_age=COOKIE_AGE, path="/", httponly=True,
                        samesite="Lax", secure=request.secure)
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def setup_my_library(app: web.Application) -> None:
    app.router.add_get("/my-library", my_library_page)
    app.router.add_post("/my-library", set_my_library)


__all__ = ["COOKIE", "annotate_hits", "availability", "holding_groups", "home_library",
           "nearest_first", "safe_next", "setup_my_library"]
