"""Interlibrary loan (馆际互借) for librarians: a list of ISBNs or titles → a holdings matrix.

A librarian pastes (or uploads as .txt/.csv) up to 1,000 ISBNs or titles and gets, for each,
which libraries hold it, how many copies and how many are on the shelf now — libraries in
region order (city, then its counties), downloadable as CSV for Excel.  Routes:

    GET  /ill                         the form
    POST /ill                         start a lookup → 303 to its page
    GET  /ill/{job}                   progress (static/ill.js polls), then the matrix
    GET  /ill/{job}.csv               the matrix as CSV (UTF-8 with BOM, formulas defused)
    POST /api/holdings/lookup         JSON twin: {"lines": [...]} → the result when done
                                      within SYNC_WAIT seconds, else 202 and a job id
    GET  /api/holdings/lookup/{job}   {state, done, total} (+ the result once done)

Matching: a line that is an ISBN (10 or 13, hyphens, an "ISBN" prefix, trailing words) is
looked up exactly in the index's ISBN field; anything else is searched as a title and only
entries whose title equals the line (letters and digits, width/case/script folded) count —
a near miss is listed as a suggestion under "未找到", never counted as held.

Availability: the first LIVE_LINES lines that found something get live status from the
member systems (`connectors.availability`, each source with its own timeout), as long as
live checking has taken less than LIVE_BUDGET seconds; every other cell shows the
harvested status and is marked so.  That keeps 1,000 lines to well under a minute even when
county servers are slow, and keeps one librarian's list from becoming a load test of them.

Access: when the admin login is configured (`portal.admin_kit`), the view needs an admin
session or the admin token, like /admin; without it the view is public (it only shows what
the record pages show).  POSTs must come from this site (Origin/Referer), a session's form
also carries its CSRF token, and the JSON twin needs an application/json body, which a
cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.availability import AvailabilityService, HoldingStatus
from core.config import Library
from core.fold import title_key
from core.model import Record
from harvest.isbn import normalize as normalize_isbn
from harvest.store import RecordStore
from index.backend import SearchBackend, SearchRequest
from index.text import isbn_key
from portal.admin_kit import ADMIN
from portal.auth import (
    SESSION_COOKIE,
    bearer,
    client_address,
    same_origin,
    same_secret,
)
from portal.availability import AVAILABILITY, harvest_times, setup_availability
from portal.core import BACKEND, CONFIG, LIVE_CATALOGUE, STORE, WORKER, json_response, render
from portal.labels import LEVEL_RANK
from portal.query import MAX_QUERY_CHARS, LiveRecords
from portal.records import UNKNOWN_REGION, iso_time
from portal.views import record_url

log = logging.getLogger(__name__)

MAX_LINES = 1000
MAX_UPLOAD_BYTES = 512 * 1024  # 1,000 long titles are ~100 KB; this is generous
MAX_LINE_CHARS = 300
MATCH_BATCH = 25  # lines per trip to the portal's worker thread (pages interleave)
LIVE_LINES = 100
LIVE_BATCH = 10  # lines whose holdings are checked live together
LIVE_BUDGET = 30.0
MAX_MATCHES = 5  # entries one line may match (one ISBN in a few unmerged entries)
TITLE_CANDIDATES = 10
SUGGESTIONS = 3
SYNC_WAIT = 10.0
JOB_TTL = 3600.0
MAX_JOBS = 50
MAX_RUNNING = 2
NO_FORM = {"q": "", "field": "any"}
ISBN_HEADERS = {"isbn", "isbn号", "标准书号", "国际标准书号", "书号"}
TITLE_HEADERS = {"title", "题名", "书名", "正题名", "题目", "名称"}
_ISBN_FIRST = re.compile(r"^(?:isbn)?[\s:：]*[0-9]", re.IGNORECASE)
_ISBN_LIKE = re.compile(r"^(?:isbn)?[\s:：]*[0-9][0-9xX\-\s]{8,20}$", re.IGNORECASE)
_JOB_ID = r"[A-Za-z0-9_-]{8,64}"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class InputError(ValueError):
    """A submission we refuse, with the sentence to show the librarian."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def too_many(count: int) -> str:
    return (f"一次最多可查 {MAX_LINES} 行，这份清单有 {count} 行。"
            f"请分成几批提交（每批不超过 {MAX_LINES} 行）。")


# -- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One line of the list: ``isbn`` (ISBN-13) when it is one — alone, or first or last
    beside a title — else a ``title``."""

    line: int
    text: str
    isbn: str = ""
    title: str = ""
    problem: str = ""  # why it cannot be looked up at all


def parse_query(line: int, raw: str) -> Query:
    text = " ".join(raw.replace("\u3000", " ").split())[:MAX_LINE_CHARS]
    words = text.split(" ")
    isbn = isbn_key(text) or isbn_key(words[0]) or isbn_key(words[-1]) or ""
    if not isbn and _ISBN_FIRST.match(text):  # "ISBN:7-02-000220-X（平装）", as in 010 $a
        isbn = normalize_isbn(text)[0] or ""
    if isbn:
        return Query(line, text, isbn=isbn)
    if _ISBN_LIKE.match(text):
        return Query(line, text, problem="不是有效的 ISBN（位数或校验位不对）")
    return Query(line, text, title=text[:MAX_QUERY_CHARS])


def decode_upload(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), or GB18030
    (GBK files from Windows) — in that order, since GB18030 accepts most byte soup."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("无法识别文件的文字编码：请另存为 UTF-8 或 GB18030（GBK）编码的 "
                     ".txt 或 .csv 文件。")


def csv_lines(text: str) -> list[str]:
    """One query per row: the ISBN or title column when a header names one (an ISBN that
    is valid wins over the title; a row with neither is skipped — its other cells are
    numbers, notes …), else the row's first non-empty cell."""
    first = text.split("\n", 1)[0]
    dialect = "excel-tab" if "\t" in first and "," not in first else "excel"
    rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = [c.casefold().replace(" ", "") for c in rows[0]]
    isbn_col = next((i for i, c in enumerate(header) if c in ISBN_HEADERS), None)
    title_col = next((i for i, c in enumerate(header) if c in TITLE_HEADERS), None)
    if isbn_col is None and title_col is None:
        return [next(c for c in r if c) for r in rows]
    out = []
    for row in rows[1:]:
        isbn = row[isbn_col] if isbn_col is not None and isbn_col < len(row) else ""
        title = row[title_col] if title_col is not None and title_col < len(row) else ""
        if isbn and (isbn_key(isbn) or not title):
            out.append(isbn)
        elif title:
            out.append(title)
    return out


def text_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def build_queries(lines: Sequence[str]) -> list[Query]:
    if len(lines) > MAX_LINES:
        raise InputError(too_many(len(lines)))
    if not lines:
        raise InputError("请粘贴或上传至少一行 ISBN 或题名。")
    return [parse_query(n, text) for n, text in enumerate(lines, 1)]


# -- matching (blocking: the portal's worker thread) ------------------------------------------


@dataclass
class Match:
    query: Query
    clusters: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    suggestions: list[dict[str, str]] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)


def match_query(store: RecordStore, backend: SearchBackend, query: Query,
                live: LiveRecords | None = None) -> Match:
    match = Match(query)
    if query.problem:
        return match
    if query.isbn:
        result = backend.search(SearchRequest(q=query.isbn, field="isbn",
                                              page_size=MAX_MATCHES))
        hits = [h for h in result.hits if query.isbn in (h.doc.get("isbn") or [])]
    else:
        wanted = title_key(query.title)
        if not wanted:
            return match
        result = backend.search(SearchRequest(q=query.title, field="title",
                                              page_size=TITLE_CANDIDATES))
        hits = [h for h in result.hits if title_key(str(h.doc.get("title") or "")) == wanted]
        if not hits:
            match.suggestions = [{"id": h.id, "title": str(h.doc.get("title") or ""),
                                  "url": record_url(h.id)}
                                 for h in result.hits[:SUGGESTIONS]]
    for hit in hits[:MAX_MATCHES]:
        records = store.cluster(hit.id)
        if records:
            match.clusters.append(hit.id)
            match.titles.append(str(hit.doc.get("title") or records[0].title))
            match.records.extend(records)
    match.seen = harvest_times(store, [r.key for r in match.records])
    # The live copies recent live searches joined to these entries count here as on
    # every other page that shows the entry.
    joined = live(match.clusters) if live is not None and match.clusters else {}
    for cid in match.clusters:
        match.records.extend(joined.get(cid, ()))
    return match


def match_batch(store: RecordStore, backend: SearchBackend, queries: Sequence[Query],
                live: LiveRecords | None = None) -> list[Match]:
    return [match_query(store, backend, q, live) for q in queries]


# -- the matrix -------------------------------------------------------------------------------


def library_sort(codes: Iterable[str], libraries: dict[str, Library]) -> list[str]:
    """Region by region (regions ordered by their highest-level library, as the record
    page does), the city's own libraries before its counties', counties in pinyin order,
    then level and name."""
    codes = list(dict.fromkeys(codes))

    def region(code: str) -> str:
        lib = libraries.get(code)
        return lib.region if lib else UNKNOWN_REGION

    def rank(code: str) -> int:
        lib = libraries.get(code)
        return LEVEL_RANK.get(lib.level, 9) if lib else 10

    region_rank: dict[str, int] = {}
    for code in codes:
        region_rank[region(code)] = min(region_rank.get(region(code), 99), rank(code))

    def key(code: str) -> tuple[Any, ...]:
        lib = libraries.get(code)
        return (region_rank[region(code)], region(code), _pinyin(lib.county if lib else ""),
                rank(code), _pinyin(lib.name if lib else code), code)

    return sorted(codes, key=key)


def _pinyin(text: str) -> str:
    """Counties and names in dictionary (pinyin) order, as a librarian reads a list —
    not in code-point order, which puts 榆阳区 before 神木市."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3)) if text else ""


def library_json(code: str, libraries: dict[str, Library]) -> dict[str, str]:
    lib = libraries.get(code)
    return {"library": code, "name": lib.name if lib else code,
            "region": lib.region if lib else UNKNOWN_REGION, "county": lib.county if lib else ""}


def item_json(match: Match, statuses: Sequence[HoldingStatus],
              libraries: dict[str, Library]) -> dict[str, Any]:
    """One line of the list with its holdings summed per library, in region order."""
    q = match.query
    per: dict[str, dict[str, Any]] = {}
    for s in statuses:
        entry = per.setdefault(s.library, {
            **library_json(s.library, libraries), "copies": 0, "available": 0,
            "live": True, "reasons": [], "as_of": None, "statuses": {}})
        entry["copies"] += s.copies
        entry["available"] += s.available_copies
        entry["statuses"][s.label] = entry["statuses"].get(s.label, 0) + s.copies
        if not s.live:
            entry["live"] = False
            if s.reason and s.reason not in entry["reasons"]:
                entry["reasons"].append(s.reason)
            if s.as_of and (entry["as_of"] is None or s.as_of < entry["as_of"]):
                entry["as_of"] = s.as_of
    holdings = []
    for code in library_sort(per, libraries):
        entry = per[code]
        entry["as_of"] = iso_time(entry["as_of"])
        holdings.append(entry)
    return {
        "line": q.line, "query": q.text, "kind": "isbn" if q.isbn else "title",
        "isbn": q.isbn, "matched": match.clusters, "titles": match.titles,
        "title": match.titles[0] if match.titles else "",
        "holdings": holdings,
        "libraries": len(holdings),
        "copies": sum(h["copies"] for h in holdings),
        "available": sum(h["available"] for h in holdings),
        "live": bool(holdings) and all(h["live"] for h in holdings),
        "problem": q.problem or ("" if match.clusters else "未找到"),
        "suggestions": match.suggestions,
    }


# -- jobs -------------------------------------------------------------------------------------


@dataclass
class LookupJob:
    id: str
    queries: list[Query]
    created: float
    state: str = "running"  # running | done | failed
    done: int = 0
    live_lines: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    finished: float | None = None
    task: asyncio.Task[None] | None = None

    @property
    def total(self) -> int:
        return len(self.queries)

    def progress(self) -> dict[str, Any]:
        return {"job": self.id, "state": self.state, "done": self.done, "total": self.total,
                "error": self.error}

    def result(self, libraries: dict[str, Library]) -> dict[str, Any]:
        codes = library_sort((h["library"] for item in self.items for h in item["holdings"]),
                             libraries)
        return {
            **self.progress(),
            "live_lines": self.live_lines, "live_limit": LIVE_LINES,
            "libraries": [library_json(c, libraries) for c in codes],
            "items": self.items,
            "unmatched": [{"line": i["line"], "query": i["query"], "reason": i["problem"],
                           "suggestions": i["suggestions"]}
                          for i in self.items if not i["matched"]],
        }


class Busy(Exception):
    """Too many lookups are running."""


class LookupJobs:
    """Lookups in this process's memory: a restart forgets them, which for a result a
    librarian downloads right away is fine."""

    def __init__(self, max_jobs: int = MAX_JOBS, max_running: int = MAX_RUNNING,
                 ttl: float = JOB_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_jobs, self.max_running, self.ttl, self.clock = max_jobs, max_running, ttl, clock
        self._jobs: dict[str, LookupJob] = {}

    def get(self, job_id: str) -> LookupJob | None:
        self._prune()
        return self._jobs.get(job_id)

    def running(self) -> list[LookupJob]:
        return [j for j in self._jobs.values() if j.state == "running"]

    def create(self, queries: list[Query]) -> LookupJob:
        self._prune()
        if len(self.running()) >= self.max_running:
            raise Busy
        while len(self._jobs) >= self.max_jobs:
            oldest = min((j for j in self._jobs.values() if j.state != "running"),
                         key=lambda j: j.created, default=None)
            if oldest is None:
                raise Busy
            del self._jobs[oldest.id]
        job = LookupJob(secrets.token_urlsafe(12), queries, self.clock())
        self._jobs[job.id] = job
        return job

    def _prune(self) -> None:
        now = self.clock()
        for job_id, job in list(self._jobs.items()):
            if job.state != "running" and now - (job.finished or job.created) > self.ttl:
                del self._jobs[job_id]

    async def cancel_all(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task and not j.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


ILL_JOBS = web.AppKey("ill_jobs", LookupJobs)


async def run_job(app: web.Application, job: LookupJob) -> None:
    """Match in batches on the worker thread, then ask for live status line group by line
    group until LIVE_LINES lines or LIVE_BUDGET seconds; `done` moves as lines finish."""
    loop = asyncio.get_running_loop()
    service: AvailabilityService = app[AVAILABILITY]
    libraries = app[CONFIG].libraries
    live_spent = 0.0
    try:
        for start in range(0, job.total, MATCH_BATCH):
            batch = job.queries[start:start + MATCH_BATCH]
            matches = await loop.run_in_executor(app[WORKER], match_batch, app[STORE],
                                                 app[BACKEND], batch,
                                                 app[LIVE_CATALOGUE].entries_with_live)
            for first in range(0, len(matches), LIVE_BATCH):
                group = matches[first:first + LIVE_BATCH]
                held = [m for m in group if m.records]
                room = LIVE_LINES - job.live_lines if live_spent < LIVE_BUDGET else 0
                live_part, rest = held[:max(room, 0)], held[max(room, 0):]
                began = time.monotonic()
                found = await _statuses(service, live_part, live=True)
                if live_part:
                    live_spent += time.monotonic() - began
                    job.live_lines += len(live_part)
                found.update(await _statuses(service, rest, live=False))
                for m in group:
                    job.items.append(item_json(m, found.get(id(m), []), libraries))
                job.done += len(group)
        job.state = "done"
    except asyncio.CancelledError:
        job.state, job.error = "failed", "服务正在停止，查询已中断。"
        raise
    except Exception:
        log.exception("ill: lookup %s failed", job.id)
        job.state, job.error = "failed", "查询过程中出错，已记录。请稍后重试。"
    finally:
        job.finished = time.monotonic()


async def _statuses(service: AvailabilityService, matches: list[Match], *, live: bool
                    ) -> dict[int, list[HoldingStatus]]:
    """Statuses of each match's holdings (keyed by id(match)), with one check for all of
    them: two lines may find the same entry, and each record is asked about once."""
    if not matches:
        return {}
    records = list({r.key: r for m in matches for r in m.records}.values())
    seen = {k: v for m in matches for k, v in m.seen.items()}
    by_record: dict[str, list[HoldingStatus]] = {}
    for s in await service.check(records, as_of=seen, live=live):
        by_record.setdefault(s.record, []).append(s)
    return {id(m): [s for key in dict.fromkeys(r.key for r in m.records)
                    for s in by_record.get(key, [])] for m in matches}


def start_job(app: web.Application, queries: list[Query]) -> LookupJob:
    job = app[ILL_JOBS].create(queries)
    job.task = asyncio.get_running_loop().create_task(run_job(app, job))
    return job


# -- CSV --------------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A cell Excel will not run: text starting with = + - @ (or a tab/CR) is a formula
    to it, so such text gets a leading apostrophe (OWASP's CSV-injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(result: dict[str, Any]) -> str:
    libraries = result["libraries"]
    head = ["行号", "查询内容", "匹配", "题名", "ISBN", "收藏馆数", "总册数", "在架可借",
            "状态来源"]
    for lib in libraries:
        place = lib["region"] + (f"·{lib['county']}" if lib["county"] else "")
        head += [f"{lib['name']}（{place}）册数", f"{lib['name']}（{place}）可借"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in head])
    for item in result["items"]:
        by_code = {h["library"]: h for h in item["holdings"]}
        source = ("" if not item["holdings"] else "实时" if item["live"]
                  else "部分实时" if any(h["live"] for h in item["holdings"]) else "同步记录")
        row: list[Any] = [item["line"], item["query"],
                          "；".join(item["matched"]) or item["problem"], item["title"],
                          item["isbn"], item["libraries"], item["copies"], item["available"],
                          source]
        for lib in libraries:
            h = by_code.get(lib["library"])
            row += [h["copies"], h["available"]] if h else ["", ""]
        writer.writerow([safe_cell(c) for c in row])
    return "\ufeff" + out.getvalue()


# -- access -----------------------------------------------------------------------------------


@dataclass
class Access:
    """Who may use the view: ``via`` public (no admin login configured), session, token."""

    via: str
    csrf: str = ""
    denied: web.StreamResponse | None = None


async def _deny(request: web.Request, status: int, message: str,
                headers: dict[str, str] | None = None) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        response: web.StreamResponse = json_response({"error": message}, status=status)
    else:
        response = await render(request, "ill.html", status=status, form=NO_FORM,
                                error=message, text="", csrf="", limits=_limits(), locked=True)
    response.headers.update(headers or {})
    return response


async def access(request: web.Request) -> Access:
    """The admin gate's own checks (session cookie, bearer token with its throttle),
    applied to this view when the admin login is configured."""
    state = request.app.get(ADMIN)
    if state is None or not state.settings.enabled:
        return Access("public")
    address = client_address(request)
    token = bearer(request)
    if token is not None:
        wait = state.throttle.wait(address)
        if wait:
            return Access("", denied=await _deny(request, 429, "失败次数过多，请稍后再试。",
                                                 {"Retry-After": str(int(wait) + 1)}))
        if not same_secret(token, state.settings.token):
            state.throttle.failed(address)
            log.warning("ill: wrong token from %s", address)
            return Access("", denied=await _deny(request, 401, "令牌无效。"))
        return Access("token")
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = state.sessions.get(session_id) if session_id else None
    if session is not None:
        return Access("session", csrf=session.csrf)
    if request.method == "GET" and not request.path.startswith("/api/"):
        raise web.HTTPSeeOther("/admin/login?next=/ill")
    message = "馆际互借查询仅供馆员使用：请先登录管理页面，或在请求头中提供管理员令牌。"
    return Access("", denied=await _deny(request, 401, message))


def _limits() -> dict[str, Any]:
    return {"max_lines": MAX_LINES, "max_kb": MAX_UPLOAD_BYTES // 1024,
            "live_lines": LIVE_LINES}


# -- handlers ---------------------------------------------------------------------------------


async def _read_limited(part: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(65536):
        size += len(chunk)
        if size > limit:
            raise InputError(f"提交的内容太大（超过 {limit // 1024} KB）。请分批提交。", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: web.Request) -> tuple[str, list[str], str]:
    """(pasted text, lines from text and file, csrf) from the form, within size limits."""
    text, csrf, upload, filename = "", "", b"", ""
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            name = getattr(part, "name", None)
            if name == "file":
                filename = getattr(part, "filename", "") or ""
                upload = await _read_limited(part, MAX_UPLOAD_BYTES)
            elif name in ("lines", "csrf"):
                value = (await _read_limited(part, MAX_UPLOAD_BYTES)).decode("utf-8", "replace")
                text, csrf = (value, csrf) if name == "lines" else (text, value)
            else:
                await part.release()
    else:
        if (request.content_length or 0) > MAX_UPLOAD_BYTES * 2:
            raise InputError(f"提交的内容太大（超过 {MAX_UPLOAD_BYTES // 1024} KB）。", 413)
        form = await request.post()
        text, csrf = str(form.get("lines") or ""), str(form.get("csrf") or "")
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise InputError(f"粘贴的内容太大（超过 {MAX_UPLOAD_BYTES // 1024} KB）。请分批提交。", 413)
    lines = text_lines(text)
    if upload.strip():
        if not filename.lower().endswith((".txt", ".csv")):
            raise InputError("只接受 .txt 或 .csv 文件（每行一个 ISBN 或题名）。")
        decoded = decode_upload(upload)
        lines += csv_lines(decoded) if filename.lower().endswith(".csv") else text_lines(decoded)
    return text, lines, csrf


async def form_page(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    return await render(request, "ill.html", form=NO_FORM, error="", text="", csrf=who.csrf,
                        limits=_limits(), locked=False)


async def submit(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    if not same_origin(request):
        return await _deny(request, 403,
                           "表单来自其他网站或已失效，查询未执行。请回到本页重新提交。")
    text = ""
    try:
        text, lines, csrf = await read_form(request)
        if who.via == "session" and not same_secret(csrf, who.csrf):
            return await _deny(request, 403, "表单已失效，查询未执行。请刷新本页后重新提交。")
        queries = build_queries(lines)
        job = start_job(request.app, queries)
    except InputError as e:
        return await render(request, "ill.html", status=e.status, form=NO_FORM, error=e.message,
                            text=text if len(text) <= MAX_UPLOAD_BYTES else "", csrf=who.csrf,
                            limits=_limits(), locked=False)
    except Busy:
        return await render(request, "ill.html", status=503, form=NO_FORM, text=text,
                            error="正在处理其他馆际互借查询，请稍候一两分钟再提交。",
                            csrf=who.csrf, limits=_limits(), locked=False)
    raise web.HTTPSeeOther(f"/ill/{job.id}")


def _job(request: web.Request) -> LookupJob:
    job = request.app[ILL_JOBS].get(request.match_info["job"])
    if job is None:
        raise web.HTTPNotFound()
    return job


def matrix(result: dict[str, Any]) -> dict[str, Any]:
    """The result arranged for the table: region header cells and one cell per library."""
    regions: list[dict[str, Any]] = []
    for lib in result["libraries"]:
        if regions and regions[-1]["region"] == lib["region"]:
            regions[-1]["span"] += 1
        else:
            regions.append({"region": lib["region"], "span": 1})
    rows = []
    for item in result["items"]:
        by_code = {h["library"]: h for h in item["holdings"]}
        cells = []
        for lib in result["libraries"]:
            h = by_code.get(lib["library"])
            if h is None:
                cells.append(None)
                continue
            detail = "；".join(f"{k} {v} 册" for k, v in h["statuses"].items())
            if not h["live"]:
                when = f"，截至 {local_time_iso(h['as_of'])}" if h["as_of"] else ""
                detail += f"（{'、'.join(h['reasons']) or '同步记录'}{when}）"
            cells.append({**h, "detail": detail})
        rows.append({**item, "cells": cells,
                     "urls": [record_url(c) for c in item["matched"]]})
    return {"regions": regions, "rows": rows}


def local_time_iso(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


async def job_page(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    try:
        job = _job(request)
    except web.HTTPNotFound:
        return await render(request, "ill.html", status=404, form=NO_FORM, csrf=who.csrf,
                            error="这次查询的结果已过期或不存在（结果保留一小时）。请重新提交清单。",
                            text="", limits=_limits(), locked=False)
    context: dict[str, Any] = {"job": {**job.progress(), "id": job.id}, "limits": _limits()}
    if job.state == "done":
        result = job.result(request.app[CONFIG].libraries)
        context.update(result=result, table=matrix(result),
                       matched=sum(1 for i in result["items"] if i["matched"]))
    return await render(request, "ill_job.html", form=NO_FORM, **context)


async def job_csv(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    job = _job(request)
    if job.state != "done":
        raise web.HTTPConflict(text="查询尚未完成")
    body = csv_text(job.result(request.app[CONFIG].libraries)).encode("utf-8")
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="ill-{job.id}.csv"',
        "Cache-Control": "no-store"})


async def api_lookup(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    if request.content_type != "application/json":
        return json_response({"error": "请以 JSON 提交：{\"lines\": [\"ISBN 或题名\", …]}"},
                             status=415)
    if (request.headers.get("Origin") or who.via == "session") and not same_origin(request):
        return json_response({"error": "不接受其他网站发起的请求。"}, status=403)
    if (request.content_length or 0) > MAX_UPLOAD_BYTES * 2:
        return json_response({"error": "提交的内容太大。"}, status=413)
    try:
        body = await request.json()
    except ValueError:
        return json_response({"error": "请求体不是有效的 JSON。"}, status=400)
    raw = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        return json_response({"error": "需要 {\"lines\": [字符串, …]}：每项一个 ISBN 或题名。"},
                             status=400)
    lines = [x for x in raw if x.strip()]
    try:
        job = start_job(request.app, build_queries(lines))
    except InputError as e:
        return json_response({"error": e.message, "max_lines": MAX_LINES, "lines": len(lines)},
                             status=e.status)
    except Busy:
        return _busy()
    assert job.task is not None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(job.task), SYNC_WAIT)
    if job.state == "running":
        response = json_response({**job.progress(),
                                  "status_url": f"/api/holdings/lookup/{job.id}"}, status=202)
        response.headers["Location"] = f"/api/holdings/lookup/{job.id}"
        return response
    return json_response(job.result(request.app[CONFIG].libraries))


def _busy() -> web.Response:
    response = json_response({"error": "正在处理其他查询，请稍后再试。"}, status=503)
    response.headers["Retry-After"] = "30"
    return response


async def api_job(request: web.Request) -> web.StreamResponse:
    who = await access(request)
    if who.denied is not None:
        return who.denied
    job = request.app[ILL_JOBS].get(request.match_info["job"])
    if job is None:
        return json_response({"error": "没有这个查询（结果保留一小时）。"}, status=404)
    if job.state != "done" or request.query.get("progress"):
        response = json_response(job.progress())
    else:
        response = json_response(job.result(request.app[CONFIG].libraries))
    response.headers["Cache-Control"] = "no-store"
    return response


async def _shutdown(app: web.Application) -> None:
    await app[ILL_JOBS].cancel_all()


def setup_ill(app: web.Application, jobs: LookupJobs | None = None) -> None:
    """Routes, job registry, and the availability service it shares with record pages."""
    if AVAILABILITY not in app:
        setup_availability(app)
    app[ILL_JOBS] = jobs or LookupJobs()
    app.on_shutdown.append(_shutdown)
    r = app.router
    r.add_get("/ill", form_page)
    r.add_post("/ill", submit)
    r.add_get(f"/ill/{{job:{_JOB_ID}}}.csv", job_csv)
    r.add_get(f"/ill/{{job:{_JOB_ID}}}", job_page)
    r.add_post("/api/holdings/lookup", api_lookup)
    r.add_get(f"/api/holdings/lookup/{{job:{_JOB_ID}}}", api_job)


__all__ = ["ILL_JOBS", "MAX_LINES", "LookupJobs", "csv_lines", "csv_text", "decode_upload",
           "parse_query", "safe_cell", "setup_ill"]
