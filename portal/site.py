"""Small things every site is expected to answer: `/favicon.ico`.

Browsers ask for `/favicon.ico` on every first visit whatever the page links to; without
it each visit logs a 404 and the tab shows a blank icon.  The icon (an open book on 朱红,
the portal's accent colour) is a file in `static/`, served here with a long cache life.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

FAVICON = Path(__file__).parent / "static" / "favicon.ico"


async def favicon(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(FAVICON, headers={"Content-Type": "image/x-icon",
                                              "Cache-Control": "public, max-age=604800"})


def setup_site(app: web.Application) -> None:
    app.router.add_get("/favicon.ico", favicon)
