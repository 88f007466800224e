"""Admin authentication: password hash or token from the environment, reviewer accounts
from the store, sessions, CSRF, throttling.

There is no default password and no password in config.yaml (which is committed and shown
around): the admin pages stay shut until the operator sets, in the service's environment,

    TONGJIAN_ADMIN_PASSWORD_HASH   a hash made by `python -m portal.auth` (never the password)
    TONGJIAN_ADMIN_TOKEN           a long random bearer token, for scripts (curl, cron)
    TONGJIAN_METRICS_TOKEN         optional: a token that may read /metrics and nothing else

Reviewers of the cataloguing centre (issue 16) log in through the same form with their own
account (`tongjian reviewer add`: a scrypt hash in the store's `accounts` table, never a
password in config); their sessions carry the role and library and open only the review
and summary pages.

Sessions live in this process's memory: a restart logs everybody out, which for a handful
of connector admins is a feature, and there is no session table to leak or to clean.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from portal.i18n import N_

# Names of environment variables, not secrets.
PASSWORD_ENV = "TONGJIAN_ADMIN_PASSWORD_HASH"  # noqa: S105
TOKEN_ENV = "TONGJIAN_ADMIN_TOKEN"  # noqa: S105
METRICS_TOKEN_ENV = "TONGJIAN_METRICS_TOKEN"  # noqa: S105
MIN_TOKEN = 24  # characters: `secrets.token_urlsafe(32)` gives 43

SESSION_COOKIE = "tongjian_admin"
LOGIN_COOKIE = "tongjian_login"  # CSRF token of the login form, before there is a session
IDLE_TIMEOUT = 30 * 60.0
ABSOLUTE_TIMEOUT = 8 * 3600.0
MAX_SESSIONS = 200

# scrypt at n=2**14, r=8: 16 MiB and ~50 ms per guess — cheap for one login, dear for a
# dictionary.  Parameters travel in the hash so they can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PBKDF2_ITERATIONS = 600_000
_MAX_SCRYPT_N = 2**20


# -- hashing -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """`scrypt$n=16384,r=8,p=1$<salt>$<key>` (base64): says how to check itself."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                         maxmem=_maxmem(n, r, p))
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def _maxmem(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p + 2) + 1024 * 1024


def parse_hash(encoded: str) -> tuple[str, dict[str, int], bytes, bytes]:
    """(scheme, parameters, salt, key); ValueError for anything else — a plain password
    pasted into the variable by mistake must be refused, not compared."""
    parts = encoded.strip().split("$")
    try:
        if len(parts) == 4 and parts[0] == "scrypt":
            params = {k: int(v) for k, v in (kv.split("=", 1) for kv in parts[1].split(","))}
            if set(params) != {"n", "r", "p"} or not (
                    1 < params["n"] <= _MAX_SCRYPT_N and params["n"] & (params["n"] - 1) == 0
                    and 0 < params["r"] <= 32 and 0 < params["p"] <= 16):
                raise ValueError("scrypt parameters out of range")
        elif len(parts) == 4 and parts[0] == "pbkdf2_sha256":
            params = {"iterations": int(parts[1])}
            if not 10_000 <= params["iterations"] <= 10_000_000:
                raise ValueError("pbkdf2 iterations out of range")
        else:
            raise ValueError("not scrypt$… or pbkdf2_sha256$…")
        salt, key = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"not a password hash made by `python -m portal.auth`: {e}") from None
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("salt or key too short")
    return parts[0], params, salt, key


def verify(password: str, encoded: str) -> bool:
    """Constant-time comparison; False (never an exception) for a malformed hash."""
    try:
        scheme, params, salt, key = parse_hash(encoded)
    except ValueError:
        return False
    secret = password.encode("utf-8")
    if scheme == "scrypt":
        n, r, p = params["n"], params["r"], params["p"]
        got = hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=len(key),
                             maxmem=_maxmem(n, r, p))
    else:
        got = hashlib.pbkdf2_hmac("sha256", secret, salt, params["iterations"], len(key))
    return hmac.compare_digest(got, key)


def same_secret(given: str, expected: str) -> bool:
    """Token comparison in constant time (no early exit on the first wrong character)."""
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"),
                                                  expected.encode("utf-8"))


# -- settings ----------------------------------------------------------------------------


BAD_HASH = N_("{env} 不是有效的口令散列值（不能直接填写口令），已忽略")
SHORT_TOKEN = N_("{env} 太短（至少 {n} 个字符），已忽略")


@dataclass
class AuthSettings:
    password_hash: str = ""
    token: str = ""
    metrics_token: str = ""
    # what was set but ignored, and why: (message, its values), translated where shown
    problems: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def problem_texts(self, translate: Callable[[str], str] = str) -> list[str]:
        return [translate(message).format(**values) for message, values in self.problems]

    @property
    def enabled(self) -> bool:
        return bool(self.password_hash or self.token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if environ is None else environ
        out = cls()
        raw_hash = env.get(PASSWORD_ENV, "").strip()
        if raw_hash:
            try:
                parse_hash(raw_hash)
                out.password_hash = raw_hash
            except ValueError:
                out.problems.append((BAD_HASH, {"env": PASSWORD_ENV}))
        for name, attr in ((TOKEN_ENV, "token"), (METRICS_TOKEN_ENV, "metrics_token")):
            value = env.get(name, "").strip()
            if value and len(value) < MIN_TOKEN:
                out.problems.append((SHORT_TOKEN, {"env": name, "n": MIN_TOKEN}))
            elif value:
                setattr(out, attr, value)
        return out


# -- sessions ----------------------------------------------------------------------------


@dataclass
class Session:
    csrf: str
    created: float
    seen: float
    flash: list[str] = field(default_factory=list)  # one-time notices after a POST
    # Who logged in: the admin (the password from the environment), or a reviewer account
    # from the store (roles centre, city, member; `portal.review`), limited to the review
    # and summary pages.
    role: str = "admin"
    account: str = "admin"
    library: str = ""

    @property
    def reviewer(self) -> bool:
        return self.role != "admin"


class Sessions:
    """Server-side sessions keyed by a digest of the cookie value (a memory dump or a log
    of this dict does not hand out live cookies)."""

    def __init__(self, idle: float = IDLE_TIMEOUT, absolute: float = ABSOLUTE_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle, self.absolute, self.clock = idle, absolute, clock
        self._by_digest: dict[bytes, Session] = {}

    @staticmethod
    def _digest(session_id: str) -> bytes:
        return hashlib.sha256(session_id.encode("utf-8", "replace")).digest()

    def create(self, role: str = "admin", account: str = "admin",
               library: str = "") -> tuple[str, Session]:
        self._prune()
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), created=now, seen=now, role=role,
                          account=account, library=library)
        self._by_digest[self._digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        """The live session, its idle clock restarted; None when unknown or expired."""
        digest = self._digest(session_id)
        session = self._by_digest.get(digest)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle or now - session.created > self.absolute:
            del self._by_digest[digest]
            return None
        session.seen = now
        return session

    def drop(self, session_id: str) -> None:
        self._by_digest.pop(self._digest(session_id), None)

    def __len__(self) -> int:
        return len(self._by_digest)

    def _prune(self) -> None:
        now = self.clock()
        for digest, s in list(self._by_digest.items()):
            if now - s.seen > self.idle or now - s.created > self.absolute:
                del self._by_digest[digest]
        while len(self._by_digest) >= MAX_SESSIONS:  # oldest out
            oldest = min(self._by_digest, key=lambda d: self._by_digest[d].created)
            del self._by_digest[oldest]


# -- throttling --------------------------------------------------------------------------


class Throttle:
    """Failed logins (and wrong tokens) per client address: after `limit` failures within
    `window` seconds that address waits until the oldest failure ages out."""

    def __init__(self, limit: int = 5, window: float = 15 * 60.0,
                 clock: Callable[[], float] = time.monotonic, max_addresses: int = 10_000) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}

    def wait(self, address: str) -> float:
        """Seconds this address must wait before trying again (0: go ahead)."""
        failures = self._failures.get(address)
        if not failures:
            return 0.0
        now = self.clock()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0.0
        return self.window - (now - failures[0])

    def failed(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            now = self.clock()
            for addr in [a for a, f in self._failures.items()
                         if not f or now - f[-1] > self.window]:
                del self._failures[addr]
            if len(self._failures) >= self.max_addresses:  # under attack from everywhere
                self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(address, deque(maxlen=self.limit)).append(self.clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


# -- request checks ----------------------------------------------------------------------


def client_address(request: web.Request) -> str:
    """The reader's address: the TCP peer, or behind a proxy named in
    `portal.trusted_proxies` the address it forwarded (`portal.proxies`).  Forwarded-for
    headers from anyone else are ignored: anybody can send them."""
    return request.remote or "unknown"


def same_origin(request: web.Request) -> bool:
    """A cross-site form post carries the attacker's Origin (or Referer).  Browsers send
    Origin on every POST; a request with neither header is refused too.  Only the host is
    compared, so an https proxy in front of a plain-http portal still matches."""
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            if value == "null":
                return False
            return urlsplit(value).netloc.lower() == request.host.lower()
    return False


def bearer(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, None without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
               max_age: float | None = None, path: str = "/") -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="Strict",
                        secure=request.secure,
                        max_age=int(max_age) if max_age is not None else None)


def main() -> None:
    """`python -m portal.auth`: ask for a password twice, print its hash for the env."""
    import getpass

    first = getpass.getpass("新的管理口令（至少 12 个字符）: ")
    if len(first) < 12:
        raise SystemExit("口令太短：至少 12 个字符。")
    if getpass.getpass("再输入一次: ") != first:
        raise SystemExit("两次输入不一致。")
    print(f"{PASSWORD_ENV}='{hash_password(first)}'")


if __name__ == "__main__":
    main()
