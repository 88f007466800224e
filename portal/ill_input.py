"""The librarian's list, read: pasted lines and uploaded .txt/.csv files → one `Query` a line.

Everything here refuses politely (`InputError`, with the sentence to show) rather than
guessing: more than MAX_LINES lines, a file too big or in an unknown encoding, a file that
is neither .txt nor .csv.  A line that looks like an ISBN but fails its check digit is
kept as a line with a `problem`, never searched as a title.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from harvest.isbn import normalize as normalize_isbn
from index.text import isbn_key
from portal.i18n import N_, _
from portal.query import MAX_QUERY_CHARS

MAX_LINES = 1000
MAX_UPLOAD_BYTES = 512 * 1024  # 1,000 long titles are ~100 KB; this is generous
MAX_LINE_CHARS = 300
ISBN_HEADERS = {"isbn", "isbn号", "标准书号", "国际标准书号", "书号"}
TITLE_HEADERS = {"title", "题名", "书名", "正题名", "题目", "名称"}
_ISBN_FIRST = re.compile(r"^(?:isbn)?[\s:：]*[0-9]", re.IGNORECASE)
_ISBN_LIKE = re.compile(r"^(?:isbn)?[\s:：]*[0-9][0-9xX\-\s]{8,20}$", re.IGNORECASE)


class InputError(ValueError):
    """A submission we refuse, with the sentence to show the librarian."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def too_many(count: int) -> str:
    return _("一次最多可查 {max} 行，这份清单有 {count} 行。"
             "请分成几批提交（每批不超过 {max} 行）。").format(max=MAX_LINES, count=count)


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
        return Query(line, text, problem=N_("不是有效的 ISBN（位数或校验位不对）"))
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
    raise InputError(_("无法识别文件的文字编码：请另存为 UTF-8 或 GB18030（GBK）编码的 "
                       ".txt 或 .csv 文件。"))


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
        raise InputError(_("请粘贴或上传至少一行 ISBN 或题名。"))
    return [parse_query(n, text) for n, text in enumerate(lines, 1)]


async def _read_limited(part: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(65536):
        size += len(chunk)
        if size > limit:
            raise InputError(_("提交的内容太大（超过 {kb} KB）。请分批提交。").format(
                kb=limit // 1024), 413)
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
            raise InputError(_("提交的内容太大（超过 {kb} KB）。").format(
                kb=MAX_UPLOAD_BYTES // 1024), 413)
        form = await request.post()
        text, csrf = str(form.get("lines") or ""), str(form.get("csrf") or "")
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise InputError(_("粘贴的内容太大（超过 {kb} KB）。请分批提交。").format(
            kb=MAX_UPLOAD_BYTES // 1024), 413)
    lines = text_lines(text)
    if upload.strip():
        if not filename.lower().endswith((".txt", ".csv")):
            raise InputError(_("只接受 .txt 或 .csv 文件（每行一个 ISBN 或题名）。"))
        decoded = decode_upload(upload)
        lines += csv_lines(decoded) if filename.lower().endswith(".csv") else text_lines(decoded)
    return text, lines, csrf


__all__ = ["MAX_LINES", "MAX_UPLOAD_BYTES", "InputError", "Query", "build_queries",
           "csv_lines", "decode_upload", "parse_query", "read_form", "text_lines", "too_many"]
