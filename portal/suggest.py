"""Search-as-you-type: `GET /api/suggest?q=` lists titles and names starting with what the
reader has typed — in characters, pinyin or initials (红楼, hongl, hlm all offer 红楼梦).

The search box's script (`static/suggest.js`) shows them as a listbox under the box; the
box stays a plain form, so without JavaScript nothing changes.  The engine reads the
suggestions off its term dictionary (`SearchBackend.suggest`), no search runs, so a
keystroke costs well under a search.  Input is judged like a search's (`clean_q`), but
a partial query that cannot be searched yet (only punctuation) simply gets no
suggestions: a reader mid-word should not see an error.
"""

from __future__ import annotations

from aiohttp import web

from index.backend import SearchRequest
from portal.core import BACKEND, json_response, searching
from portal.query import QueryError, clean_q, search_url

SUGGESTIONS = 8
PARAMS = ("q",)


async def api_suggest(request: web.Request) -> web.Response:
    unknown = [name for name in request.query if name not in PARAMS]
    if unknown:
        return json_response({"error": f"未知的参数“{unknown[0][:30]}”。/api/suggest 只接受 q。"},
                             status=400)
    try:
        q = clean_q(request.query.get("q", ""))
    except QueryError as exc:
        if "过长" in exc.message:
            return json_response({"error": exc.message}, status=400)
        q = ""
    suggestions = await searching(request, request.app[BACKEND].suggest, q, SUGGESTIONS) if q \
        else []
    return json_response({"q": q, "suggestions": [
        {"text": s.text, "field": s.field,
         "url": search_url(SearchRequest(q=s.text, field=s.field))} for s in suggestions]})


def setup_suggest(app: web.Application) -> None:
    app.router.add_get("/api/suggest", api_suggest)
