"""BibTeX for LaTeX users.  Names are braced whole so BibTeX never splits a Chinese name
or a corporate body into "first" and "last"; every special character is escaped, since a
title from a remote catalogue may hold anything."""

from __future__ import annotations

import re

from portal.export.items import ExportItem

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
            "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}"}
_SPECIAL_RE = re.compile(r"[\\{}&%$#_~^]")


def escape(text: str) -> str:
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], " ".join(text.split()))


def key(item: ExportItem) -> str:
    """A citation key: letters and digits only, unique per entry."""
    year = item.record.year or "nd"
    return f"tongjian{year}{re.sub(r'[^A-Za-z0-9]', '', item.entry_id)[:12]}"


def entry(item: ExportItem) -> str:
    r = item.record
    kind = "book" if r.material_type in ("book", "electronic", "") else "misc"
    fields = [
        ("author", " and ".join("{" + escape(a.name) + "}" for a in r.authors if a.name)),
        ("title", "{" + escape(r.title + (f" {r.volume}" if r.volume else "")) + "}"),
        ("publisher", escape(r.publisher)),
        ("address", escape(r.place)),
        ("year", str(r.year or "")),
        ("edition", escape(r.edition)),
        ("series", escape("; ".join(r.series))),
        ("isbn", ", ".join(r.isbn)),
        ("issn", ", ".join(r.issn)),
        ("language", escape(r.language)),
        ("keywords", escape(", ".join(r.subjects))),
        ("url", escape(r.online_url or item.url)),
        ("note", escape("收藏馆：" + "、".join(s.name for s in item.shelves)
                        if item.shelves else "")),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@{kind}{{{key(item)},\n{body}\n}}\n"


def bibtex(items: list[ExportItem]) -> bytes:
    return "\n".join(entry(i) for i in items).encode("utf-8")


__all__ = ["bibtex", "escape", "key"]
