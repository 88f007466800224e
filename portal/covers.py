"""Covers of digitized documents, fetched by the portal and served from its own origin.

Why not hot-link the member server's `cover_url`: every reader's browser would then tell a
county server which book they are looking at (a privacy leak); an http:// image on the
portal's https:// page is blocked as mixed content; and a dead county server leaves a
broken image.  So `GET /covers/{id}` looks up the entry's cover URL, fetches it here and
answers from the portal's origin — or with a fixed placeholder for the entry's material
type when there is no cover or it cannot be had.

The URL comes from harvested data, i.e. from anyone who can edit a member's catalogue, so
the fetch is guarded as a server-side request on someone else's behalf:

* only http(s), and only hosts the consortium configured (the host of some source's
  `address`, plus `portal.cover_hosts`) — the portal cannot be made to fetch internal or
  arbitrary URLs; a redirect is followed only to an allowed host, checked hop by hop;
* a total time limit, a size limit enforced while streaming (a 5 GB "cover" is dropped at
  2 MiB, not downloaded first), no content decoding (no compression bombs);
* the bytes must *be* a JPEG, PNG, GIF or WebP by their magic numbers, and the type served
  is the one the bytes say — a server's `image/jpeg` on an HTML page proves nothing, and
  SVG (which can carry script) is never passed through.

Fetched covers are kept on disk next to the record store, named by a hash of the URL (no
name or path from remote data ever reaches the filesystem), written atomically, fresh for
`ttl`; a failure is remembered for `failure_ttl` so a dead server is not asked on every
page view, and a stale cover keeps being served while its server fails.  Requests for the
same cover while it is being fetched share that one fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

from core.config import Config
from core.model import Record
from harvest.store import RecordStore
from index.documents import best_record
from portal.core import CONFIG, LIVE_CATALOGUE, STORE, blocking
from portal.live_catalogue import is_live_id

log = logging.getLogger(__name__)

PLACEHOLDER_DIR = Path(__file__).parent / "static" / "covers"
# Material types (core.model.Record.material_type) → placeholder file; the rest: other.
PLACEHOLDER_KINDS = ("book", "manuscript", "map", "score", "serial", "electronic", "video",
                     "sound", "image", "other")
PLACEHOLDER_ALIASES = {"visual": "image", "article": "serial"}
MAX_ID_CHARS = 200
REDIRECTS = {301, 302, 303, 307, 308}
IMAGE_HEADERS = {
    "Cache-Control": "public, max-age=86400",
    "X-Content-Type-Options": "nosniff",
    # Opened on its own, a cover (or a placeholder SVG) may run nothing and load nothing.
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
# A placeholder may be replaced by the real cover once its server answers again.
PLACEHOLDER_MAX_AGE = 3600


@dataclass(frozen=True)
class CoverSource:
    """What the route needs to know about an entry: where its cover is, and what kind of
    document it is (for the placeholder when there is no cover)."""

    url: str
    material_type: str = ""


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str




class CoverRefused(Exception):
    """Why a cover is not served; the message is ours (for the log), never remote text."""


def image_type(data: bytes) -> str | None:
    """The MIME type the bytes themselves declare, or None when they are no image we serve."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _host_key(host: str) -> str:
    """One spelling per host — IDNA, lower case, no trailing dot — so 例子.中国, its
    punycode and `EXAMPLE.org.` compare as the servers they name."""
    host = host.strip().strip("[]")
    try:
        raw = URL.build(scheme="http", host=host).raw_host or ""
    except ValueError:
        return ""
    return raw.lower().rstrip(".")


def source_host(address: str) -> str:
    """The host of a source address: a URL (OAI-PMH, Koha, Symphony) or YAZ's
    `[tcp:|ssl:]host:port/database` (Z39.50, SRU)."""
    address = address.strip()
    if "://" not in address:
        for prefix in ("tcp:", "ssl:", "http:", "https:"):
            if address.lower().startswith(prefix):
                address = address[len(prefix):]
                break
        address = "//" + address
    try:
        return _host_key(URL(address).host or "")
    except ValueError:
        return ""


def allowed_hosts(config: Config) -> frozenset[str]:
    hosts = {source_host(s.address) for s in config.sources}
    hosts.update(_host_key(h) for h in config.portal.cover_hosts)
    hosts.discard("")
    return frozenset(hosts)


def records_cover(records: list[Record], config: Config) -> CoverSource | None:
    """The cover of an entry: the best record's (the one the record page describes), else
    the first other record's that has one."""
    if not records:
        return None
    best = best_record(records, config.libraries)
    candidates = [best, *(r for r in records if r is not best)]
    url = next((r.cover_url.strip() for r in candidates if _is_web(r.cover_url)), "")
    return CoverSource(url, best.material_type)


def _is_web(url: str) -> bool:
    try:
        return bool(url) and URL(url.strip()).scheme in ("http", "https")
    except ValueError:
        return False


def store_cover(store: RecordStore, config: Config, cluster_id: str) -> CoverSource | None:
    """Blocking: runs on the store's thread."""
    return records_cover(store.cluster(cluster_id), config)


async def entry_cover(request: web.Request, cover_id: str) -> CoverSource | None:
    """A catalogue entry's cover from the store; a live-only entry's from its live records."""
    app = request.app
    if is_live_id(cover_id):
        return records_cover(app[LIVE_CATALOGUE].records_for(cover_id), app[CONFIG])
    return await blocking(request, store_cover, app[STORE], app[CONFIG], cover_id)


@dataclass
class _Cached:
    image: Image | None  # what is on disk, fresh or not
    fresh: bool
    failed_recently: bool


class Covers:
    """The fetcher and its disk cache, one per portal app."""

    def __init__(self, config: Config, cache_dir: Path | None = None, *,
                 timeout: float = 5.0, max_bytes: int = 2 * 1024 * 1024,
                 ttl: float = 7 * 86400, failure_ttl: float = 3600,
                 max_redirects: int = 3) -> None:
        self.cache_dir = (cache_dir if cache_dir is not None
                          else config.resolve(config.store_path).parent / "covers")
        self.allowed = allowed_hosts(config)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.max_redirects = max_redirects
        self.placeholders = {kind: (PLACEHOLDER_DIR / f"{kind}.svg").read_bytes()
                             for kind in PLACEHOLDER_KINDS}
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[str, asyncio.Task[Image | None]] = {}

    # -- policy ------------------------------------------------------------------------
    def check(self, url: str | URL) -> URL:
        """The URL to request, if the consortium allows fetching it; else CoverRefused.
        yarl parses here and in the client alike, so the host checked is the host asked."""
        try:
            target = url if isinstance(url, URL) else URL(url.strip())
        except (ValueError, TypeError):
            raise CoverRefused("not a URL") from None
        if target.scheme not in ("http", "https") or not target.absolute:
            raise CoverRefused(f"scheme {target.scheme!r} refused")
        if target.user is not None or target.password is not None:
            raise CoverRefused("credentials in URL refused")
        if _host_key(target.raw_host or "") not in self.allowed:
            raise CoverRefused(f"host {target.raw_host!r} is not a configured source host")
        return target

    # -- fetching ----------------------------------------------------------------------
    async def image(self, url: str) -> Image | None:
        """The cover at `url` from the cache or its server; None means placeholder."""
        try:
            self.check(url)
        except CoverRefused as exc:
            log.info("cover %r not fetched: %s", url[:200], exc)
            return None
        key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        cached = await asyncio.to_thread(self._load, key)
        if cached.image is not None and cached.fresh:
            return cached.image
        if cached.failed_recently:
            return cached.image  # stale if any: better than a placeholder
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(key, url))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        # shield: a reader closing the page must not cancel the fetch others wait for
        fetched = await asyncio.shield(task)
        return fetched if fetched is not None else cached.image

    async def _refresh(self, key: str, url: str) -> Image | None:
        # Another request's fetch may have finished between our cache read and now.
        cached = await asyncio.to_thread(self._load, key)
        if cached.image is not None and cached.fresh:
            return cached.image
        try:
            image = await self._download(url)
        except asyncio.CancelledError:
            raise
        except (CoverRefused, aiohttp.ClientError, TimeoutError, ValueError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            log.info("cover %r not available: %s", url[:200], reason)
            await asyncio.to_thread(self._store_failure, key, reason[:200])
            return None
        except Exception:  # a reader gets a placeholder, never a 500, for a bad cover
            log.exception("cover %r: unexpected failure", url[:200])
            await asyncio.to_thread(self._store_failure, key, "unexpected failure")
            return None
        await asyncio.to_thread(self._store, key, image)
        return image

    async def _download(self, url: str) -> Image:
        if self._session is None:
            raise CoverRefused("the portal is not started")
        target = self.check(url)
        async with asyncio.timeout(self.timeout):
            for _hop in range(self.max_redirects + 1):
                async with self._session.get(target, allow_redirects=False) as resp:
                    if resp.status in REDIRECTS:
                        location = resp.headers.get("Location", "")
                        if not location:
                            raise CoverRefused(f"HTTP {resp.status} without Location")
                        target = self.check(target.join(URL(location)))
                        continue
                    if resp.status != 200:
                        raise CoverRefused(f"HTTP {resp.status}")
                    if resp.content_length is not None and resp.content_length > self.max_bytes:
                        raise CoverRefused(f"{resp.content_length} bytes announced")
                    data = bytearray()
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        data += chunk
                        if len(data) > self.max_bytes:
                            raise CoverRefused(f"more than {self.max_bytes} bytes")
                    kind = image_type(bytes(data[:16]))
                    if kind is None:
                        raise CoverRefused("not a JPEG, PNG, GIF or WebP image")
                    return Image(bytes(data), kind)
            raise CoverRefused(f"more than {self.max_redirects} redirects")

    # -- disk --------------------------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.cache_dir / key[:2]
        return folder / f"{key}.img", folder / f"{key}.fail"

    def _load(self, key: str) -> _Cached:
        image_path, fail_path = self._paths(key)
        now = time.time()
        image, fresh = None, False
        try:
            age = now - image_path.stat().st_mtime
            data = image_path.read_bytes()
            kind = image_type(data[:16])
            if kind is not None:  # a damaged file is a miss, never served
                image, fresh = Image(data, kind), age < self.ttl
        except OSError:
            pass
        try:
            failed = now - fail_path.stat().st_mtime < self.failure_ttl
        except OSError:
            failed = False
        return _Cached(image, fresh, failed)

    def _write(self, path: Path, data: bytes) -> None:
        """Temp file + rename: a reader of the cache sees the old file or the whole new
        one, never half a cover, even with several portal processes on one cache."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _store(self, key: str, image: Image) -> None:
        image_path, fail_path = self._paths(key)
        try:
            self._write(image_path, image.data)
            fail_path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not cache cover %s", key)

    def _store_failure(self, key: str, reason: str) -> None:
        try:
            self._write(self._paths(key)[1], reason.encode("utf-8", "replace"))
        except OSError:
            log.exception("could not record cover failure %s", key)

    # -- lifetime ----------------------------------------------------------------------
    async def on_startup(self, _app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=32, limit_per_host=4),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # we ask for identity; a compressed body is no image
            headers={"User-Agent": "Tongjian union catalogue (cover cache)",
                     "Accept": "image/jpeg, image/png, image/gif, image/webp",
                     "Accept-Encoding": "identity"},
        )

    async def on_cleanup(self, _app: web.Application) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        for task in list(self._inflight.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- answers -----------------------------------------------------------------------
    def placeholder(self, material_type: str) -> web.Response:
        kind = PLACEHOLDER_ALIASES.get(material_type, material_type)
        body = self.placeholders.get(kind, self.placeholders["other"])
        return web.Response(body=body, content_type="image/svg+xml", headers={
            **IMAGE_HEADERS, "Cache-Control": f"public, max-age={PLACEHOLDER_MAX_AGE}",
            "X-Cover": "placeholder"})


COVERS = web.AppKey("covers", Covers)


async def cover_image(request: web.Request) -> web.Response:
    covers = request.app[COVERS]
    cover_id = request.match_info["id"]
    source = (await entry_cover(request, cover_id)
              if 0 < len(cover_id) <= MAX_ID_CHARS else None)
    image = await covers.image(source.url) if source and source.url else None
    if image is None:
        return covers.placeholder(source.material_type if source else "")
    return web.Response(body=image.data, content_type=image.content_type,
                        headers=IMAGE_HEADERS)


def setup_covers(app: web.Application, covers: Covers | None = None) -> Covers:
    """Route and fetcher.  To choose limits or the cache folder (tests), pass `covers`, or
    set ``app[COVERS]`` after `create_app` and before the app starts."""
    if COVERS not in app:
        app[COVERS] = covers or Covers(app[CONFIG])
        app.on_startup.append(_startup)
        app.on_cleanup.append(_cleanup)
    app.router.add_get("/covers/{id}", cover_image)
    return app[COVERS]


# Through the app key, so a Covers set after setup_covers is the one started and closed.
async def _startup(app: web.Application) -> None:
    await app[COVERS].on_startup(app)


async def _cleanup(app: web.Application) -> None:
    await app[COVERS].on_cleanup(app)


__all__ = ["COVERS", "CoverRefused", "CoverSource", "Covers", "Image",
           "allowed_hosts", "image_type", "setup_covers", "source_host", "store_cover"]
