"""The quarantine: records that could not be read, with their reasons and their raw bytes.

A quarantined record is by definition bytes nobody has vetted — possibly a broken
ISO 2709 file, possibly a hostile one.  It is only ever shown as escaped text (decoded for
reading, with the MARC separators and other control characters made visible) beside a hex
dump, and offered for download as application/octet-stream under a filename built here,
never one taken from the data.

Routes:
    GET /admin/quarantine             list, ?source= to filter, ?page= to page
    GET /admin/quarantine/{id}        one entry: reason, position, the raw record
    GET /admin/quarantine/{id}/raw    the raw bytes as a download
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from aiohttp import web

from harvest.store import QuarantineSummary, RecordStore
from portal.admin_kit import admin_render
from portal.core import CONFIG, STORE, blocking
from portal.i18n import N_, _
from portal.records import local_time

PAGE_SIZE = 50
SHOW_BYTES = 64 * 1024  # decoded for reading; the download has everything
HEX_BYTES = 512

# MARC's own separators get a visible sign and a line break so fields read one per line;
# every other control character, and the bidi overrides that can make text lie about
# its order, are shown as a sign instead of acting.
_VISIBLE = {0x1D: "␝\n", 0x1E: "␞\n", 0x1F: "␟", 0x7F: "␡"}
_VISIBLE.update({c: chr(0x2400 + c) for c in range(0x20) if c not in (0x0A, 0x09)
                 and c not in _VISIBLE})
_VISIBLE.update({c: f"⟦U+{c:04X}⟧" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                             0x200E, 0x200F, 0x061C)})
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def _decode(raw: bytes) -> tuple[str, str]:
    for encoding, label in (("utf-8", "UTF-8"), ("gb18030", "GB18030")):
        try:
            return raw.decode(encoding), label
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace"), N_("UTF-8（无法解码的字节显示为 �）")


def decode_for_display(raw: bytes) -> tuple[str, str]:
    """(text, how it was decoded): UTF-8, else GB18030, else UTF-8 with � for bad bytes;
    control characters made visible."""
    text, label = _decode(raw)
    return text.translate(_VISIBLE), label


def hex_dump(raw: bytes, limit: int = HEX_BYTES) -> str:
    lines = []
    for offset in range(0, min(len(raw), limit), 16):
        chunk = raw[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def download_name(entry_id: int, source: str, raw: bytes) -> str:
    ext = ".mrc" if raw[:5].isdigit() else ".xml" if raw.lstrip()[:1] == b"<" else ".bin"
    return f"quarantine-{entry_id}-{_UNSAFE_NAME.sub('_', source)[:40] or 'source'}{ext}"


def _entry(summary: QuarantineSummary) -> dict[str, Any]:
    entry = asdict(summary)
    entry["when"] = local_time(summary.at)
    return entry


def list_entries(store: RecordStore, source: str, page: int) -> dict[str, Any]:
    """Blocking: one page of entries (without their bytes), newest first, and the total."""
    rows = store.quarantine_summaries(source, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return {"total": store.quarantine_count(source), "entries": [_entry(r) for r in rows],
            "sources": store.quarantine_sources()}


def get_entry(store: RecordStore, entry_id: int) -> tuple[dict[str, Any], bytes] | None:
    entry = store.quarantine_entry(entry_id)
    return None if entry is None else (_entry(entry.summary()), entry.raw)


def _page(request: web.Request) -> int:
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), 100_000)


async def quarantine_page(request: web.Request) -> web.Response:
    source = request.query.get("source", "")[:64]
    page = _page(request)
    data = await blocking(request, list_entries, request.app[STORE], source, page)
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    known = sorted({s.name for s in request.app[CONFIG].sources} | set(data["sources"]))
    return await admin_render(request, "admin_quarantine.html", source=source, page=page,
                              pages=pages, known_sources=known, **data)


def _entry_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def entry_page(request: web.Request) -> web.Response:
    found = await blocking(request, get_entry, request.app[STORE], _entry_id(request))
    if found is None:
        raise web.HTTPNotFound()
    entry, raw = found
    text, decoded_as = decode_for_display(raw[:SHOW_BYTES])
    return await admin_render(request, "admin_quarantine_entry.html", entry=entry,
                              text=text, decoded_as=_(decoded_as), hex=hex_dump(raw),
                              truncated=len(raw) > SHOW_BYTES, show_bytes=SHOW_BYTES,
                              hex_bytes=HEX_BYTES)


async def raw_download(request: web.Request) -> web.Response:
    found = await blocking(request, get_entry, request.app[STORE], _entry_id(request))
    if found is None:
        raise web.HTTPNotFound()
    entry, raw = found
    name = download_name(entry["id"], entry["source"], raw)
    return web.Response(body=raw, content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
    })


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/quarantine", quarantine_page)
    app.router.add_get("/admin/quarantine/{id}", entry_page)
    app.router.add_get("/admin/quarantine/{id}/raw", raw_download)
