"""The portal in two languages: 中文 (the default, the msgids themselves) and English.

Text is written in Chinese and marked where it is written — `{{ _("…") }}` in templates,
`_("…")` in Python for text made while answering a request, `N_("…")` for module-level
constants translated where they are shown — and translated through gettext catalogues
(`portal/locale/<lang>/LC_MESSAGES/messages.po`).  The .po files are the only committed
form: they are compiled to gettext's binary form in memory when the portal starts
(`load_catalogues`; on first use outside the portal), so a fresh clone, an editable
install and the wheel all work without a build step (the wheel carries the .po files as
package data).  `python -m portal.catalogues`
extracts, updates and checks them (docs/i18n.md).

The reader's language is per request: `?lang=en` chooses it and is remembered in a cookie,
otherwise the cookie, otherwise Chinese.  The middleware puts the request's translations
in a context variable, so `_()` works anywhere in the request's task (and in the worker
threads `portal.core` runs for it, which copy the context) without passing a language
through every function.  Outside a request (the CLI, tests calling functions directly)
`_()` is Chinese.  The catalogue data — titles, names, library names — is never
translated: it is shown as catalogued.
"""

from __future__ import annotations

import gettext as gettext_module
import io
import json
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from babel.messages.pofile import read_po
from markupsafe import Markup

DEFAULT = "zh"
# code in ?lang= and the cookie → (the <html lang> value, the name shown in the switch)
LANGUAGES: dict[str, tuple[str, str]] = {"zh": ("zh-CN", "中文"), "en": ("en", "English")}
COOKIE = "tongjian_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
STATIC = Path(__file__).parent / "static"
# The language a request is answered in.  aiohttp ≥ 3.13 wants typed request keys; older
# releases (the project allows ≥ 3.9) take a plain string, as in portal.principal.
REQUEST_LANG: Any = (web.RequestKey("lang", str) if hasattr(web, "RequestKey")
                     else "tongjian_lang")

_NULL = gettext_module.NullTranslations()
_current: ContextVar[gettext_module.NullTranslations] = ContextVar("portal_translations",
                                                                    default=_NULL)


def N_(message: str) -> str:
    """Marks a constant for extraction; it is translated where it is shown, with `_()`."""
    return message


def _(message: str) -> str:
    """`message` in the current request's language (Chinese outside a request)."""
    return _current.get().gettext(message)


def in_source_language() -> bool:
    """True while answering in Chinese, the language every message is written in (also
    outside a request): a caption from a Chinese data table can be shown as it is."""
    return _current.get() is _NULL


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().ngettext(singular, plural, n)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """The language's catalogue, compiled from its .po in memory (once per process).
    Chinese is the source language: its translations are the msgids themselves."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return _NULL
    from babel.messages.mofile import write_mo

    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out: shown in Chinese until reviewed
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


async def load_catalogues(app: web.Application) -> None:
    """Compile every catalogue when the portal starts: a broken .po stops the start with
    its error, instead of failing the first English page."""
    for lang in LANGUAGES:
        translations(lang)


def language(request: web.Request) -> str:
    lang: str = request.get(REQUEST_LANG, DEFAULT)
    return lang


def chosen_language(request: web.Request) -> tuple[str, bool]:
    """(language, whether the request chose it with ?lang=)."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    remembered = request.cookies.get(COOKIE, "")
    return (remembered if remembered in LANGUAGES else DEFAULT), False


@web.middleware
async def language_middleware(request: web.Request,
                              handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    lang, asked = chosen_language(request)
    request[REQUEST_LANG] = lang
    token = _current.set(translations(lang))
    try:
        response: web.StreamResponse = await handler(request)
    finally:
        _current.reset(token)
    if asked and request.cookies.get(COOKIE) != lang and not response.prepared:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax",
                            httponly=True, secure=request.secure)
    return response


# -- templates -----------------------------------------------------------------------------


def _jinja_gettext(t: gettext_module.NullTranslations
                   ) -> tuple[Callable[..., str], Callable[..., str]]:
    """The request's `gettext` for Jinja's i18n extension, behaving as the extension's own
    "newstyle" gettext: autoescape-aware, and `%(name)s` filled from keyword arguments
    (escaped), so `{{ _("共 %(n)s 条", n=total) }}` is one translatable sentence."""

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, string: str, **variables: Any) -> str:
        rv: str = t.gettext(string)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 -- our own catalogue text, not remote data
        return rv % variables

    @jinja2.pass_context
    def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, num: int,
                 **variables: Any) -> str:
        variables.setdefault("num", num)
        rv: str = t.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 -- our own catalogue text, not remote data
        return rv % variables

    return gettext, ngettext


def template_context(request: web.Request) -> dict[str, Any]:
    """What every page needs to speak the request's language: gettext for `_()`, the
    `<html lang>`, the link to the other language (same page, same query) and the
    JavaScript messages."""
    lang = language(request)
    t = translations(lang)
    gettext, ngettext_ = _jinja_gettext(t)
    other = "en" if lang == DEFAULT else DEFAULT
    # A query-only link ("?…") stays on this page whatever its path looks like; every
    # parameter (repeated filters too) is kept.
    switch = "?" + urlencode([*((k, v) for k, v in request.query.items() if k != "lang"),
                              ("lang", other)])
    return {
        "gettext": gettext,
        "ngettext": ngettext_,
        "lang": lang,
        "html_lang": LANGUAGES[lang][0],
        "other_lang": {"code": other, "name": LANGUAGES[other][1], "url": switch,
                       "html_lang": LANGUAGES[other][0]},
        "js_messages": js_messages(t) if lang != DEFAULT else "",
    }


# -- JavaScript ----------------------------------------------------------------------------


@cache
def js_msgids() -> tuple[str, ...]:
    """The strings the portal's scripts show, marked `T("…")` in them."""
    from babel.messages.extract import extract_javascript

    found: dict[str, None] = {}
    for script in sorted(STATIC.glob("*.js")):
        with script.open("rb") as f:
            for _lineno, _func, message, _comments in extract_javascript(
                    f, {"T": None}, [], {}):
                if isinstance(message, str):
                    found[message] = None
    return tuple(found)


def js_messages(t: gettext_module.NullTranslations) -> str:
    """JSON for `<script type="application/json" id="i18n">`: msgid → translation, read by
    the scripts' `T()`.  `<` is escaped so the text cannot close the script element."""
    table = {m: t.gettext(m) for m in js_msgids()}
    return json.dumps(table, ensure_ascii=False).replace("<", "\\u003c")
