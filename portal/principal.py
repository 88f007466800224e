"""Who is asking: one answer per request, for the admin pages, the ILL view and /metrics.

Those three used to read the bearer token, count wrong ones against the throttle and look
up the session cookie each in its own copy, so a fix to one (throttling wrong tokens, say)
had to be remembered in the others.  Now `principal(request)` reads the credentials once —
a wrong token is counted once, the answer is kept on the request — and each place only
decides what that answer may do there:

    admin pages   an admin session or the admin token
    ILL view      the same, when the admin login is configured; else anyone
    /metrics      the admin or the metrics token, or a loopback client without a token

A bearer token wins over a session cookie (a script's request says what it means).  The
throttle applies only to tokens: somebody else's wrong guesses must not lock an admin out
of a browser session, nor blind the local Prometheus, which sends no token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from portal.auth import (
    SESSION_COOKIE,
    AuthSettings,
    Session,
    Sessions,
    Throttle,
    bearer,
    client_address,
    same_secret,
)

log = logging.getLogger("tongjian.admin")


@dataclass
class AdminState:
    """The credentials from the environment and what this process remembers about callers."""

    settings: AuthSettings
    sessions: Sessions = field(default_factory=Sessions)
    throttle: Throttle = field(default_factory=Throttle)


ADMIN = web.AppKey("admin", AdminState)


class Via(StrEnum):
    SESSION = "session"  # an admin's browser, logged in; its forms carry the session's CSRF
    TOKEN = "token"  # noqa: S105 - a script with TONGJIAN_ADMIN_TOKEN
    METRICS = "metrics"  # a scraper with TONGJIAN_METRICS_TOKEN: /metrics and nothing else
    ANONYMOUS = "anonymous"


class Refusal(StrEnum):
    THROTTLED = "throttled"  # too many wrong tokens from this address: not even compared
    BAD_TOKEN = "bad_token"  # noqa: S105 - a token that is neither secret (counted)


@dataclass(frozen=True)
class Principal:
    via: Via
    session: Session | None = None
    session_id: str = ""
    refusal: Refusal | None = None  # a token was sent and is not accepted
    wait: float = 0.0  # THROTTLED: seconds until this address may try again

    @property
    def admin(self) -> bool:
        return self.via in (Via.SESSION, Via.TOKEN)

    @property
    def wrong_token(self) -> bool:
        """A bearer token that is not the admin token: a wrong one, or the metrics token
        where an admin is wanted (it opens /metrics and nothing else)."""
        return self.refusal is Refusal.BAD_TOKEN or self.via is Via.METRICS

    @property
    def csrf(self) -> str:
        """The token a session's forms must send back ('' without a session)."""
        return self.session.csrf if self.session else ""

    def csrf_ok(self, sent: str) -> bool:
        return self.session is not None and same_secret(sent, self.session.csrf)

    def retry_after(self) -> dict[str, str]:
        return ({"Retry-After": str(int(self.wait) + 1)} if self.refusal is Refusal.THROTTLED
                else {})


ANONYMOUS = Principal(Via.ANONYMOUS)
# aiohttp ≥ 3.13 wants typed request keys; older releases (the project allows ≥ 3.9) take
# a plain string.
PRINCIPAL: Any = (web.RequestKey("principal", Principal) if hasattr(web, "RequestKey")
                  else "tongjian_principal")


def login_configured(app: web.Application) -> bool:
    """Whether an admin can log in at all (a password hash or an admin token is set)."""
    state = app.get(ADMIN)
    return state is not None and state.settings.enabled


def principal(request: web.Request) -> Principal:
    """Who sent this request; worked out on first use and kept on the request, so a wrong
    token counts once against the throttle however many checks ask."""
    known: Principal | None = request.get(PRINCIPAL)
    if known is None:
        known = request[PRINCIPAL] = _identify(request)
    return known


def _identify(request: web.Request) -> Principal:
    state = request.app.get(ADMIN)
    if state is None:  # an app without the admin gate knows no credentials
        return ANONYMOUS
    token = bearer(request)
    if token is not None:
        return _by_token(request, state, token)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = state.sessions.get(session_id) if session_id else None
    if session is None:
        return ANONYMOUS
    return Principal(Via.SESSION, session, session_id)


def _by_token(request: web.Request, state: AdminState, token: str) -> Principal:
    address = client_address(request)
    wait = state.throttle.wait(address)
    if wait:
        return Principal(Via.ANONYMOUS, refusal=Refusal.THROTTLED, wait=wait)
    if same_secret(token, state.settings.token):
        return Principal(Via.TOKEN)
    if same_secret(token, state.settings.metrics_token):
        return Principal(Via.METRICS)
    state.throttle.failed(address)
    log.warning("wrong token from %s for %s", address, request.path)
    return Principal(Via.ANONYMOUS, refusal=Refusal.BAD_TOKEN)


__all__ = ["ADMIN", "ANONYMOUS", "PRINCIPAL", "AdminState", "Principal", "Refusal", "Via",
           "login_configured", "principal"]
