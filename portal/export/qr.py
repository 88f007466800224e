"""A QR code to carry a book to the shelf: title, call number and library as plain text
(any phone's camera shows it, no app and no network needed in the stacks), rendered as
SVG on the server — no script, no image service."""

from __future__ import annotations

import io

import segno

MAX_TITLE = 80  # a QR code stays small enough to scan from a screen


def shelf_text(title: str, call_number: str, library: str, url: str = "") -> str:
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE] + "…"
    lines = [title, f"索书号 {call_number}" if call_number else "", library, url]
    return "\n".join(line for line in lines if line)


def qr_svg(text: str, title: str = "") -> bytes:
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=2, title=title or None, xmldecl=True,
              svgclass=None, lineclass=None, encoding="utf-8")
    return out.getvalue()


__all__ = ["qr_svg", "shelf_text"]
