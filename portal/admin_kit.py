"""The gate in front of /admin and /api/admin: login, logout, sessions, CSRF, rendering.

One middleware guards every path under those prefixes, so a page added later is shut by
default instead of by remembering a decorator.  Who is asking comes from
`portal.principal` (the same answer the ILL view and /metrics get); the gate lets in an
admin session or the admin token.  Every state-changing request from a browser session
must also carry that session's CSRF token and come from this site (Origin/Referer); a
script proves itself with the bearer token, which a foreign page cannot make a browser
send, so it needs neither.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from portal.auth import (
    LOGIN_COOKIE,
    METRICS_TOKEN_ENV,
    PASSWORD_ENV,
    SESSION_COOKIE,
    TOKEN_ENV,
    AuthSettings,
    client_address,
    hash_password,
    same_origin,
    same_secret,
    set_cookie,
    verify,
)
from portal.core import EMPTY_FORM, STORE, Handler, blocking, is_api, json_response, render
from portal.i18n import _
from portal.principal import (
    ADMIN,
    PRINCIPAL,
    AdminState,
    Principal,
    Refusal,
    Via,
    principal,
)

log = logging.getLogger("tongjian.admin")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_DUMMY_HASH = hash_password("no such account", n=2**14)


def is_admin_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ("/admin", "/api/admin"))


async def admin_render(request: web.Request, template: str, status: int = 200,
                       **context: Any) -> web.Response:
    """`render` plus what every admin page needs: who is logged in (for the nav), the CSRF
    token and pending notices.  A caller the gate did not admit shows as no one."""
    who: Principal | None = request.get(PRINCIPAL)
    if who is not None and not who.admin:
        who = None
    session = who.session if who else None
    flash = list(session.flash) if session else []
    if session:
        session.flash.clear()
    return await render(request, template, status=status, form=EMPTY_FORM,
                        csrf=session.csrf if session else "", flash=flash,
                        principal=who, **context)


async def denied(request: web.Request, status: int, message: str,
                 headers: dict[str, str] | None = None) -> web.Response:
    if is_api(request):
        response = json_response({"error": message}, status=status)
    else:
        response = await admin_render(request, "admin_message.html", status=status,
                                      heading=_("无法访问") if status != 429 else _("请稍后再试"),
                                      message=message)
    response.headers.update(headers or {})
    return response


def redirect(location: str) -> web.Response:
    """303 after a POST, so reloading the page does not repeat the action."""
    return web.Response(status=303, headers={"Location": location})


def flash(request: web.Request, message: str) -> None:
    who: Principal | None = request.get(PRINCIPAL)
    if who and who.session:
        who.session.flash.append(message)


# -- the guard ---------------------------------------------------------------------------


@web.middleware
async def admin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_admin_path(request.path):
        return await handler(request)
    response = await _guarded(request, handler)
    response.headers["Cache-Control"] = "no-store"
    return response


#: What a reviewer account's session may open (the rest of /admin is the admin's).
REVIEWER_PATHS = ("/admin/review", "/admin/cataloguing", "/admin/logout")


def reviewer_path(path: str) -> bool:
    return any(path == p or path.startswith((p + "/", p + "."))
               for p in REVIEWER_PATHS)


async def _reviewers_exist(request: web.Request) -> bool:
    store = request.app[STORE]
    return bool(await blocking(request, store.accounts))


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[ADMIN]
    if not state.settings.enabled and not (
            (reviewer_path(request.path) or request.path == "/admin/login")
            and await _reviewers_exist(request)):
        if request.path == "/admin" and request.method in SAFE_METHODS:
            return await disabled_page(request)
        return await denied(request, 403, _("管理功能未启用。"))
    if request.path == "/admin/login":
        return await handler(request)  # checks its own form: there is no session yet
    who = principal(request)
    if who.refusal is Refusal.THROTTLED:
        return await denied(request, 429, _wait_message(who.wait), who.retry_after())
    if who.wrong_token:
        return await denied(request, 401, _("令牌无效。"), _challenge())
    if not who.admin:
        return await _anonymous(request)
    if who.session is not None and who.session.reviewer and not reviewer_path(request.path):
        return await denied(request, 403, _("审校账号只能使用审校清单与编目汇总页面。"))
    if who.via is Via.SESSION and request.method not in SAFE_METHODS:
        form = await request.post()
        sent = str(form.get("csrf") or request.headers.get("X-CSRF-Token", ""))
        if not same_origin(request) or not who.csrf_ok(sent):
            log.warning("admin: refused %s %s from %s (CSRF token or origin)",
                        request.method, request.path, client_address(request))
            return await denied(request, 403, _("表单已失效或来自其他网站，操作未执行。"
                                                "请回到管理页面刷新后重试。"))
    return await handler(request)


async def _anonymous(request: web.Request) -> web.StreamResponse:
    if is_api(request):
        return await denied(request, 401, _("需要管理员令牌：请求头 Authorization: Bearer …"),
                            _challenge())
    if request.method in SAFE_METHODS:
        return redirect("/admin/login?" + urlencode({"next": request.path_qs}))
    return await denied(request, 403, _("请先登录。"))


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="tongjian-admin"'}


def _wait_message(seconds: float) -> str:
    return _("失败次数过多，请 {minutes} 分钟后再试。").format(minutes=int(seconds // 60) + 1)


# -- pages -------------------------------------------------------------------------------


async def disabled_page(request: web.Request) -> web.Response:
    settings = request.app[ADMIN].settings
    return await admin_render(request, "admin_disabled.html", problems=settings.problem_texts(_),
                              password_env=PASSWORD_ENV, token_env=TOKEN_ENV,
                              metrics_env=METRICS_TOKEN_ENV)


def _safe_next(target: str) -> str:
    """Only back into the admin pages of this site — never an open redirect."""
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or "\\" in target or target.startswith("//")
            or not (is_admin_path(parts.path) or parts.path.startswith("/ill"))
            or parts.path == "/admin/login"):
        return "/admin"
    return target


async def login_page(request: web.Request) -> web.StreamResponse:
    if principal(request).via is Via.SESSION:
        return redirect(_safe_next(request.query.get("next", "/admin")))
    return await _login_form(request, 200, "")


async def _login_form(request: web.Request, status: int, error: str,
                      headers: dict[str, str] | None = None) -> web.Response:
    token = secrets.token_urlsafe(32)
    next_url = _safe_next(request.query.get("next", "/admin"))
    settings = request.app[ADMIN].settings
    reviewers = await _reviewers_exist(request)
    response = await admin_render(request, "admin_login.html", status=status, error=error,
                                  login_csrf=token, next_url=next_url, reviewers=reviewers,
                                  password_login=bool(settings.password_hash) or reviewers)
    response.headers.update(headers or {})
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600, path="/admin/login")
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = request.app[ADMIN]
    address = client_address(request)
    wait = state.throttle.wait(address)
    if wait:
        return await _login_form(request, 429, _wait_message(wait),
                                 {"Retry-After": str(int(wait) + 1)})
    form = await request.post()
    sent = str(form.get("csrf", ""))
    if not same_origin(request) or not same_secret(sent, request.cookies.get(LOGIN_COOKIE, "")):
        log.warning("admin: login form from %s refused (CSRF token or origin)", address)
        return await _login_form(request, 403, _("登录表单已过期或来自其他网站，请重新输入。"))
    password = str(form.get("password", ""))[:1024]
    name = str(form.get("account", "")).strip()[:64]
    loop = asyncio.get_running_loop()
    if name:  # a reviewer account from the store
        store = request.app[STORE]
        account = await blocking(request, store.account, name)
        # a made-up hash for an unknown name: the same work, so timing tells nothing
        encoded = account[3] if account else _DUMMY_HASH
        ok = await loop.run_in_executor(None, verify, password, encoded) and account is not None
    elif not state.settings.password_hash:
        return await _login_form(request, 403, _("本站未设置管理口令，只能用令牌访问。"))
    else:
        account = None
        ok = await loop.run_in_executor(None, verify, password, state.settings.password_hash)
    if not ok:
        state.throttle.failed(address)
        log.warning("admin: failed login from %s%s", address, f" as {name!r}" if name else "")
        wrong = _("账号或口令不正确。") if name else _("口令不正确。")
        return await _login_form(request, 401, wrong, _challenge())
    state.throttle.succeeded(address)
    if account is not None:  # always a new id: no session fixation
        session_id, _csrf = state.sessions.create(role=account[1], account=account[0],
                                              library=account[2])
        await blocking(request, request.app[STORE].audit, account[0], "login", "",
                       client_address(request))
    else:
        session_id, _csrf = state.sessions.create()
    log.info("admin: login from %s%s", address, f" as {name!r}" if name else "")
    target = _safe_next(str(form.get("next", "/admin")))
    if account is not None and not reviewer_path(urlsplit(target).path):
        target = "/admin/review"
    response = redirect(target)
    set_cookie(response, request, SESSION_COOKIE, session_id)
    response.del_cookie(LOGIN_COOKIE, path="/admin/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    if who.session_id:
        request.app[ADMIN].sessions.drop(who.session_id)
        log.info("admin: logout from %s", client_address(request))
        if who.session is not None and who.session.reviewer:
            await blocking(request, request.app[STORE].audit, who.session.account, "logout",
                           "", client_address(request))
    response = redirect("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def setup_gate(app: web.Application, settings: AuthSettings | None = None) -> AdminState:
    state = AdminState(settings or AuthSettings.from_env())
    for problem in state.settings.problem_texts():
        log.warning("admin: %s", problem)
    app[ADMIN] = state
    app.middlewares.append(admin_guard)
    app.router.add_get("/admin/login", login_page)
    app.router.add_post("/admin/login", login_submit)
    app.router.add_post("/admin/logout", logout)
    return state
