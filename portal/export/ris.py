"""RIS (Research Information Systems) for reference managers: EndNote, Zotero, NoteExpress
(which Chinese students use) all import it.  UTF-8; one `TY … ER` block per entry."""

from __future__ import annotations

from portal.export.items import ExportItem

# Record.material_type → RIS reference type.
TYPES = {"book": "BOOK", "serial": "JFULL", "map": "MAP", "score": "MUSIC", "sound": "SOUND",
         "video": "VIDEO", "electronic": "EBOOK", "manuscript": "MANSCPT", "dataset": "DATA",
         "article": "JOUR", "image": "ART", "visual": "ART"}


def _line(tag: str, value: object) -> str:
    text = " ".join(str(value).split())  # a tag's value is one line
    return f"{tag}  - {text}\r\n" if text else ""


def entry(item: ExportItem) -> str:
    r = item.record
    lines = [_line("TY", TYPES.get(r.material_type, "GEN"))]
    lines += [_line("AU", a.name) for a in r.authors if a.name]
    lines.append(_line("TI", r.title + (f" {r.volume}" if r.volume else "")))
    lines += [_line("TT", t) for t in r.title_alt]
    lines.append(_line("PY", r.year or ""))
    lines.append(_line("PB", r.publisher))
    lines.append(_line("CY", r.place))
    lines.append(_line("ET", r.edition))
    lines += [_line("SN", i) for i in (*r.isbn, *r.issn)]
    lines += [_line("KW", s) for s in r.subjects]
    lines += [_line("T3", s) for s in r.series]
    lines.append(_line("AB", r.summary))
    lines.append(_line("LA", r.language))
    lines += [_line("CN", n) for s in item.shelves for n in s.call_numbers[:1]]
    lines.append(_line("AN", item.entry_id))
    lines.append(_line("UR", item.url))
    lines.append(_line("L2", r.online_url))
    lines.append(_line("N1", "收藏馆：" + "、".join(s.name for s in item.shelves)
                       if item.shelves else ""))
    lines.append("ER  - \r\n")
    return "".join(lines)


def ris(items: list[ExportItem]) -> bytes:
    return "\r\n".join(entry(i) for i in items).encode("utf-8")


__all__ = ["ris"]
