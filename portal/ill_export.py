"""The result as a librarian reads it: libraries in region order, the matrix, the CSV.

Columns follow the record page's order of regions (the city, then its counties), counties
and names in pinyin order, so the matrix reads like the consortium's own member list.
The CSV is for Excel: UTF-8 with a BOM, and no cell Excel would run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from core import spreadsheet
from core.config import Library
from portal.i18n import _
from portal.labels import LEVEL_RANK
from portal.records import UNKNOWN_REGION
from portal.views import record_url


def library_sort(codes: Iterable[str], libraries: dict[str, Library]) -> list[str]:
    """Region by region (regions ordered by their highest-level library, as the record
    page does), the city's own libraries before its counties', counties in pinyin order,
    then level and name."""
    codes = list(dict.fromkeys(codes))

    def region(code: str) -> str:
        lib = libraries.get(code)
        return lib.region if lib else UNKNOWN_REGION

    def rank(code: str) -> int:
        lib = libraries.get(code)
        return LEVEL_RANK.get(lib.level, 9) if lib else 10

    region_rank: dict[str, int] = {}
    for code in codes:
        region_rank[region(code)] = min(region_rank.get(region(code), 99), rank(code))

    def key(code: str) -> tuple[Any, ...]:
        lib = libraries.get(code)
        return (region_rank[region(code)], region(code), _pinyin(lib.county if lib else ""),
                rank(code), _pinyin(lib.name if lib else code), code)

    return sorted(codes, key=key)


def _pinyin(text: str) -> str:
    """Counties and names in dictionary (pinyin) order, as a librarian reads a list —
    not in code-point order, which puts 榆阳区 before 神木市."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3)) if text else ""


def library_json(code: str, libraries: dict[str, Library]) -> dict[str, str]:
    lib = libraries.get(code)
    return {"library": code, "name": lib.name if lib else code,
            "region": lib.region if lib else UNKNOWN_REGION, "county": lib.county if lib else ""}


def matrix(result: dict[str, Any]) -> dict[str, Any]:
    """The result arranged for the table: region header cells and one cell per library."""
    regions: list[dict[str, Any]] = []
    for lib in result["libraries"]:
        if regions and regions[-1]["region"] == lib["region"]:
            regions[-1]["span"] += 1
        else:
            regions.append({"region": lib["region"], "span": 1})
    rows = []
    for item in result["items"]:
        by_code = {h["library"]: h for h in item["holdings"]}
        cells: list[dict[str, Any] | None] = []
        for lib in result["libraries"]:
            h = by_code.get(lib["library"])
            if h is None:
                cells.append(None)
                continue
            detail = "；".join(_("{status} {n} 册").format(status=_(k), n=v)
                              for k, v in h["statuses"].items())
            if not h["live"]:
                when = (_("，截至 {time}").format(time=local_time_iso(h["as_of"]))
                        if h["as_of"] else "")
                reasons = "、".join(_(r) for r in h["reasons"]) or _("同步记录")
                detail += f"（{reasons}{when}）"
            cells.append({**h, "detail": detail})
        rows.append({**item, "cells": cells,
                     "urls": [record_url(c) for c in item["matched"]]})
    return {"regions": regions, "rows": rows}


def local_time_iso(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


def safe_cell(value: Any) -> str:
    """A cell Excel will not run: text starting with = + - @ (or a tab/CR) is a formula
    to it, so such text gets a leading apostrophe (OWASP's CSV-injection advice)."""
    return spreadsheet.safe_cell("" if value is None else str(value))


def csv_text(result: dict[str, Any]) -> str:
    libraries = result["libraries"]
    head = ["行号", "查询内容", "匹配", "题名", "ISBN", "收藏馆数", "总册数", "在架可借",
            "状态来源"]
    for lib in libraries:
        place = lib["region"] + (f"·{lib['county']}" if lib["county"] else "")
        head += [f"{lib['name']}（{place}）册数", f"{lib['name']}（{place}）可借"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in head])
    for item in result["items"]:
        by_code = {h["library"]: h for h in item["holdings"]}
        source = ("" if not item["holdings"] else "实时" if item["live"]
                  else "部分实时" if any(h["live"] for h in item["holdings"]) else "同步记录")
        row: list[Any] = [item["line"], item["query"],
                          "；".join(item["matched"]) or item["problem"], item["title"],
                          item["isbn"], item["libraries"], item["copies"], item["available"],
                          source]
        for lib in libraries:
            h = by_code.get(lib["library"])
            row += [h["copies"], h["available"]] if h else ["", ""]
        writer.writerow([safe_cell(c) for c in row])
    return "\ufeff" + out.getvalue()


__all__ = ["csv_text", "library_json", "library_sort", "matrix", "safe_cell"]
