"""CSV for spreadsheets: one row per entry, holding libraries with call numbers in one cell.
UTF-8 with a byte-order mark (Excel on a Chinese Windows reads a CSV without one as GBK),
or GB18030 on request for older tools."""

from __future__ import annotations

import csv
import io

from core.spreadsheet import safe_cell
from portal.export.items import ExportItem

HEADER = ("编号", "题名", "著者", "版本", "出版地", "出版者", "出版年", "ISBN", "中图分类号",
          "文献类型", "语种", "收藏馆及索书号", "链接")


def table(items: list[ExportItem], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for item in items:
        r = item.record
        shelves = "；".join(s.name + (f"（{'、'.join(s.call_numbers)}）" if s.call_numbers else "")
                           for s in item.shelves)
        writer.writerow([safe_cell(v) for v in (
            item.entry_id, r.title + (f" {r.volume}" if r.volume else ""),
            "；".join(a.name for a in r.authors if a.name), r.edition, r.place, r.publisher,
            str(r.year or ""), " ".join(r.isbn), " ".join(r.clc), r.material_type, r.language,
            shelves, item.url)])
    text = out.getvalue()
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8" else text.encode(encoding)


__all__ = ["HEADER", "table"]
