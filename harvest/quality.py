"""The monthly data-quality review (审校) of each member's catalogue, computed from the store.

Today three cataloguers read member records one by one (逐条审校) and total them by hand
each month.  The machine can at least find the mechanical faults for them — no ISBN, no
CLC class, a bad ISBN check digit, damaged encoding, a book catalogued twice, copies with
no call number — and leave the judgement to people.

One pass over the `records` table, row by row (never the whole table in memory), so a
million-record store is reviewed in well under a minute.  Two cheap tricks keep it fast:
the encoding checks first run one regular expression over the record's stored JSON text
and only look closer when it matches, and duplicates are remembered as 64-bit hashes
with the first record's rowid, not as records.

The field-level rules (`harvest.quality_marc`: required subfields, indicators, 100$a and
008, CLC notation) need the raw MARC read again, which costs more than everything else;
their findings are kept per record version (`marc_findings`), so a scan reads the raw
records only of what is new or changed since the last one.  Every rule reports under a
code of the table in `harvest.quality_rules`, and under the member that catalogued the
record (`catalogued_by`), not the source's owner.

One kind needs records of every library at once: an ISBN on two different books (一号多书),
which the merge keeps apart and somebody should correct.  The pass files (ISBN, rowid,
work key) in a temporary table — SQLite sorts a million rows on disk, not in this
process — and afterwards only ISBNs whose records disagree on the work key (normalized
title + first author) are judged, by the matcher's own rule
(`harvest.matching.isbn_reused`): the ISBNs every library catalogued alike, nearly all of
them, cost nothing but a row in that table.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from core.cataloguing import Cataloguing
from core.config import Config
from core.fold import title_key as _norm  # the one title/name fold, as the matcher's
from harvest import quality_marc
from harvest.clc import TOP_CLASSES
from harvest.matching import MatchRecord, isbn_reused
from harvest.quality_rules import ISBN_SINCE, KIND_CODES, KIND_LABELS, KINDS, Kind
from harvest.store import IsbnScratch, RecordStore

__all__ = ["ISBN_SINCE", "KINDS", "KIND_CODES", "KIND_LABELS", "Kind", "Problem", "Scan"]

# Books only got ISBNs in China from 1987 (统一书号 before); serials, maps, manuscripts,
# recordings never have one.  Counting those as "missing ISBN" would bury the real faults
# under every 古籍 and 期刊 of a provincial library.
ISBN_MATERIALS = frozenset({"", "book"})
# The rules themselves — code, severity, explanation, fix — are data in
# `harvest.quality_rules`; the checks below and in `harvest.quality_marc` report by code.


# -- encoding damage ---------------------------------------------------------------------


def _gbk_markers() -> str:
    """Characters GBK produces from the lead bytes of UTF-8 CJK text (E3–E9, EF) — 鍙 涓
    銆 锛 …  Derived, not listed: there are 1,520 of them."""
    chars = []
    for lead in (*range(0xE3, 0xEA), 0xEF):
        for trail in range(0x40, 0xFF):
            try:
                chars.append(bytes((lead, trail)).decode("gbk"))
            except UnicodeDecodeError:
                continue
    return "".join(sorted(set(chars)))


_MARKERS = re.escape(_gbk_markers())
# cp1252 shows UTF-8 continuation bytes 0x80–0x9F as these; Latin-1 as C1 controls.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_LATIN_RUN = re.compile(f"[\u0080-\u00ff{_CP1252_HIGH}]{{2,}}")
_CJK = re.compile("[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _utf8_read_as_gbk(text: str) -> bool:
    """Confirm by undoing it: the text back to GBK bytes must read as UTF-8 Chinese.

    Genuine Chinese almost never survives that round trip (GBK trail bytes rarely form
    valid UTF-8 sequences), while mojibake does, except at the edges of a run where a
    byte was lost — hence the tolerance for a few replacement characters."""
    for run in re.finditer("[^\x00-\x7f\ufffd]{2,}", text):
        try:
            raw = run.group().encode("gbk")
        except UnicodeEncodeError:
            continue
        decoded = raw.decode("utf-8", "replace")
        good = len(_CJK.findall(decoded))
        if good >= 2 and decoded.count("\ufffd") * 2 <= good:
            return True
    return False


def _cp1252_byte(ch: str) -> bytes:
    try:
        return ch.encode("cp1252")
    except UnicodeEncodeError:
        return ch.encode("latin-1")  # 0x81 0x8D 0x8F 0x90 0x9D: undefined in cp1252


def _utf8_read_as_latin1(text: str) -> bool:
    """"Ã©" is "é" read byte by byte; a genuine "é" or "Größe" does not decode as UTF-8."""
    for run in _LATIN_RUN.finditer(text):
        raw = b"".join(_cp1252_byte(ch) for ch in run.group())
        decoded = raw.decode("utf-8", "replace")
        good = sum(1 for ch in decoded if ord(ch) > 0x7F and ch != "\ufffd")
        if good and decoded.count("\ufffd") < good:
            return True
    return False


@dataclass(frozen=True)
class Damage:
    code: str
    label: str
    pattern: re.Pattern[str]  # cheap test, run over the whole stored record first
    confirm: Callable[[str], bool] | None = None  # the closer look, per field


ENCODING_DAMAGE: tuple[Damage, ...] = (
    Damage("replacement", "替换字符 �（解码失败）", re.compile("\ufffd")),
    Damage("kunjinkao", "“锟斤拷”类乱码", re.compile("锟斤拷|烫烫烫|屯屯屯")),
    Damage("utf8_as_gbk", "UTF-8 被当作 GBK 读出（如“涓浗”）",
           re.compile(f"[{_MARKERS}][^\x00-\x7f]{{0,2}}[{_MARKERS}]"), _utf8_read_as_gbk),
    Damage("utf8_as_latin1", "UTF-8 被当作 Latin-1 读出（如“Ã©”“â€™”）",
           re.compile(f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_HIGH}]"), _utf8_read_as_latin1),
)
# One character class covering the first character of every pattern above: a single cheap
# test per character of the stored record, where the alternation would cost ten times more.
_TRIGGER = re.compile(f"[\ufffd锟烫屯{_MARKERS}\u00c2-\u00f4]")

FIELD_NAMES = {
    "title": "题名", "title_alt": "其他题名", "title_pinyin": "题名拼音", "volume": "分卷",
    "responsibility": "责任说明", "authors": "著者", "publisher": "出版者",
    "publisher_alt": "出版者", "place": "出版地", "edition": "版本", "subjects": "主题",
    "series": "丛编", "summary": "提要", "places": "地名", "holdings": "馆藏",
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def encoding_damage(text: str) -> Damage | None:
    """The first kind of damage in one string, or None."""
    if not _TRIGGER.search(text):
        return None
    for damage in ENCODING_DAMAGE:
        if damage.pattern.search(text) and (damage.confirm is None or damage.confirm(text)):
            return damage
    return None


def record_damage(data: dict[str, Any]) -> str | None:
    """A detail line naming the damage and the field it is in, or None."""
    for key, label in FIELD_NAMES.items():
        for text in _strings(data.get(key)):
            damage = encoding_damage(text)
            if damage is not None:
                return f"{damage.label}：{label}“{_snippet(text, damage)}”"
    return None


def _snippet(text: str, damage: Damage, width: int = 24) -> str:
    m = damage.pattern.search(text)
    start = max(0, (m.start() if m else 0) - width // 2)
    piece = text[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


# -- duplicates --------------------------------------------------------------------------


def title_key(data: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """What makes two ISBN-less records the same book: title, first author, year, part."""
    title = _norm(data.get("title") or "")
    if not title:
        return None
    authors = data.get("authors") or []
    author = _norm(authors[0].get("name", "") if authors else data.get("responsibility") or "")
    return title, author, str(data.get("year") or ""), _norm(data.get("volume") or "")


# -- the pass ----------------------------------------------------------------------------


@dataclass
class Problem:
    library: str
    kind: str
    key: str  # source:source_id
    cluster: str  # '' before the merge step has run
    title: str
    detail: str

    @property
    def url(self) -> str:
        return "/record/" + quote(self.cluster, safe="") if self.cluster else ""


class ScanStopped(Exception):
    pass


#: Rows of (ISBN, rowid, work key) written to the scratch table at a time.
ISBN_BATCH = 5000
#: MARC findings of new or changed records staged at a time.
FINDINGS_BATCH = 2000


def _judged_alike(m: MatchRecord) -> tuple[Any, ...]:
    """Everything `isbn_reused` reads: records alike in it are judged once per group."""
    return (m.title, m.title_full, m.authors, m.resp, m.volume, m.volume_text, m.edition,
            m.material, m.language)


class Scan:
    """Iterate for the problems; `records` and `holdings` count per library as it goes."""

    def __init__(self, store: RecordStore, stop: threading.Event | None = None,
                 config: Config | None = None) -> None:
        self.store = store
        self.stop = stop  # set at shutdown: a scan must not hold the process for a minute
        # config.yaml's word on pinyin and barcode ranges; without it those rules rest
        self.cataloguing = config.cataloguing if config else Cataloguing()
        self.ranges = {code: [r for r in map(_barcode_range, lib.barcode_ranges) if r]
                       for code, lib in (config.libraries.items() if config else ())}
        self.records: Counter[str] = Counter()
        self.holdings: Counter[str] = Counter()
        self._isbn_seen: dict[int, int] = {}
        self._title_seen: dict[int, int] = {}
        self._isbn_rows: list[tuple[str, int, str]] = []
        self._isbns: IsbnScratch | None = None  # while iterating
        self._findings: list[tuple[str, str, str]] = []  # (key, digest, MARC findings JSON)

    def __iter__(self) -> Iterator[Problem]:
        with self.store.isbn_scratch() as self._isbns:
            rows = self.store.scan_records()
            try:
                try:
                    for n, (rowid, key, source, library, cluster, isbn, work, text, digest,
                            seen_digest, seen) in enumerate(rows):
                        self._check_stop(n)
                        if isbn:
                            self._file_isbns(isbn, rowid, work or "")
                        findings = seen if seen is not None and seen_digest == digest else None
                        yield from self.check(rowid, key, source, library, cluster or "",
                                              isbn, text, findings, digest)
                finally:
                    rows.close()  # at once, not when a traceback lets go: it locks the table
                self.flush_findings()
                yield from self._reused_isbns()
            finally:
                self._isbn_rows.clear()

    def _check_stop(self, n: int) -> None:
        if self.stop is not None and n % 4096 == 0 and self.stop.is_set():
            raise ScanStopped("stopped before the end: nothing was saved")

    def _file_isbns(self, isbn: str, rowid: int, work: str) -> None:
        self._isbn_rows.extend((one, rowid, work) for one in isbn.split())
        if len(self._isbn_rows) >= ISBN_BATCH:
            self._flush_isbns()

    def _flush_isbns(self) -> None:
        assert self._isbns is not None, "only while iterating"
        self._isbns.add(self._isbn_rows)
        self._isbn_rows.clear()

    def _reused_isbns(self) -> Iterator[Problem]:
        """一号多书: records of any library sharing an ISBN that the matcher calls two
        books (title and author both differ).  Each record is reported once, under its
        own library, naming the first other book and how many more there are."""
        self._flush_isbns()
        merged = self._librarian_merges()
        others: dict[int, list[int]] = {}  # rowid → rowids of other books, in ISBN order
        isbn_of: dict[int, str] = {}
        assert self._isbns is not None, "only while iterating"
        groups = self._isbns.disputed()
        try:
            for n, (isbn, members) in enumerate(itertools.groupby(groups, lambda r: r[0])):
                self._check_stop(n)
                rids = [rid for _, rid in members]
                for x, y in self._two_books(isbn, rids, merged):
                    for a, b in ((x, y), (y, x)):
                        others.setdefault(a, []).append(b)
                        isbn_of.setdefault(a, isbn)
        finally:
            groups.close()
        for rowid in sorted(others):
            key, library, cluster, title, _ = self._described(rowid)
            partners = list(dict.fromkeys(others[rowid]))
            other_key, _, _, other_title, other_author = self._described(partners[0])
            more = f"等 {len(partners)} 条记录" if len(partners) > 1 else ""
            yield Problem(library, "isbn_reused", key, cluster, title,
                          f"ISBN {isbn_of[rowid]} 亦著录于 {other_key}《{other_title}》"
                          f"（{other_author or '著者不详'}）{more}，题名与著者均不同（一号多书）")

    def _described(self, rowid: int) -> tuple[str, str, str, str, str]:
        """(key, library, cluster, title, first author) of a record, for a detail line."""
        # None cannot happen within the scan's one read transaction
        return self.store.record_brief(rowid) or ("?", "", "", "", "")

    def _two_books(self, isbn: str, rids: list[int], merged: set[frozenset[str]]
                   ) -> Iterator[tuple[int, int]]:
        """Pairs of rowids of one ISBN group that are two books.  Records alike in all
        the rule reads are judged once: a group is mostly copies of one description."""
        alike: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
        reps: list[MatchRecord] = []
        for rowid, key, match in self.store.match_rows(rids):
            m = self._match_record(rowid, match)
            if isbn not in m.isbns:
                continue
            sig = _judged_alike(m)
            if sig not in alike:
                alike[sig] = []
                reps.append(m)
            alike[sig].append((rowid, key))
        sigs = list(alike)
        for i, a in enumerate(reps):
            for j in range(i + 1, len(reps)):
                if not isbn_reused(a, reps[j]):
                    continue
                for x, kx in alike[sigs[i]]:
                    for y, ky in alike[sigs[j]]:
                        if frozenset((kx, ky)) not in merged:
                            yield x, y

    def _match_record(self, rowid: int, match: str | None) -> MatchRecord:
        """The stored MatchRecord, or one rebuilt from the record when it is missing or
        from older matching rules (as the merge step does; the store is not written)."""
        if match:
            try:
                return MatchRecord.from_json(match)
            except (TypeError, ValueError):
                pass
        record = self.store.record_at(rowid)
        if record is None:  # cannot happen within the scan's one read transaction
            raise LookupError(f"record at rowid {rowid} vanished during the scan")
        return MatchRecord.from_record(record)

    def _librarian_merges(self) -> set[frozenset[str]]:
        """Pairs a librarian merged by hand: they looked, and it is one book."""
        return self.store.links()[1]

    def check(self, rowid: int, key: str, source: str, library: str, cluster: str, isbn: str,
              text: str, findings: str | None = None, digest: str = "") -> Iterator[Problem]:
        """The problems of one record, each under the member that catalogued it (copies'
        problems under the copies' library).  `findings`: the MARC checks' JSON from an
        earlier scan of this very version of the record (`digest`), else they are run."""
        data = json.loads(text)
        title = data.get("title") or ""
        owner = library
        library = data.get("catalogued_by") or library
        self.records[library] += 1

        def problem(kind: str, detail: str, where: str = library) -> Problem:
            return Problem(where, kind, key, cluster, title, detail)

        invalid = data.get("isbn_invalid") or []
        year = data.get("year")
        if (not isbn and not invalid and data.get("material_type", "") in ISBN_MATERIALS
                and (not isinstance(year, int) or year >= ISBN_SINCE)):
            yield problem("no_isbn", f"出版年 {year}" if year else "出版年不详")
        if invalid:
            yield problem("isbn_invalid", "著录为：" + "；".join(invalid))
        if not data.get("clc"):
            yield problem("no_clc", "")
        if _TRIGGER.search(text) or "\\u" in text:
            detail = record_damage(data)
            if detail:
                yield problem("encoding", detail)
        # Duplicates are sought within one catalogue (source): the same book arriving
        # through a library's own OPAC and through the union system is what merging is
        # for, not a cataloguing fault.
        volume = _norm(data.get("volume") or "")
        if isbn:
            for one in isbn.split():
                first = self._isbn_seen.setdefault(hash((source, library, one, volume)), rowid)
                if first != rowid:
                    yield problem("duplicate_isbn", f"ISBN {one} 与 {self._other(first)}相同")
                    break
        elif not invalid and (tkey := title_key(data)) is not None:
            first = self._title_seen.setdefault(hash((source, library, tkey)), rowid)
            if first != rowid:
                yield problem("duplicate_title",
                              f"题名、著者、出版年与 {self._other(first)}相同")
        kind = data.get("format") or ""
        yield from self._description(data, library, kind, problem)
        if kind in ("cnmarc", "marc21"):
            for code, detail in self._marc_findings(rowid, key, digest, data, findings):
                yield problem(code, detail)
        yield from self._holdings(data, owner, kind, problem)

    def _marc_findings(self, rowid: int, key: str, digest: str, data: dict[str, Any],
                       findings: str | None) -> list[tuple[str, str]]:
        """Reading the raw MARC again is most of a scan's time, so what it found is kept
        per record version and only new or changed records are read (`FINDINGS_BATCH`
        at a time into a temporary table, saved with the report)."""
        if findings is not None:
            return [(c, d) for c, d in json.loads(findings)]
        raw = self.store.raw(key) if digest else None
        marc = quality_marc.marc_of(raw[0], raw[1], data.get("encoding") or "auto") if (
            raw is not None) else None
        found = list(quality_marc.check(marc, data.get("format") or "")) if marc else []
        if digest:
            self._findings.append((key, digest, json.dumps(found, ensure_ascii=False)))
            if len(self._findings) >= FINDINGS_BATCH:
                self.flush_findings()
        return found

    def flush_findings(self) -> None:
        self.store.stage_marc_findings(self._findings)
        self._findings.clear()

    def _description(self, data: dict[str, Any], library: str, kind: str,
                     problem: Callable[..., Problem]) -> Iterator[Problem]:
        """Rules read off the stored description: pinyin, 200$f vs 7XX."""
        if kind != "cnmarc":
            return
        if (data.get("language") == "chi" and not data.get("title_pinyin")
                and self.cataloguing.requires_pinyin(library)):
            yield problem("pinyin_missing", "正题名无 200$A / $9")
        resp = re.sub(r"\s", "", data.get("responsibility") or "")
        names = [re.sub(r"\s", "", a.get("name") or "") for a in data.get("authors") or []]
        names = [n for n in names if n]
        if resp and not names:
            yield problem("resp_mismatch", f"200$f“{_short(resp)}”无 7XX 检索点")
        elif resp and not any(n in resp for n in names):
            yield problem("resp_mismatch",
                          f"7XX“{'、'.join(names[:3])}”不见于 200$f“{_short(resp)}”")

    def _holdings(self, data: dict[str, Any], library: str, kind: str,
                  problem: Callable[..., Problem]) -> Iterator[Problem]:
        missing: dict[str, list[str]] = {}
        no_barcode: Counter[str] = Counter()
        outside: dict[str, list[str]] = {}
        mismatch: dict[str, str] = {}
        total: Counter[str] = Counter()
        classes = [c.upper() for c in data.get("clc") or []]
        for h in data.get("holdings") or []:
            owner = h.get("library") or library
            total[owner] += 1
            barcode = (h.get("barcode") or "").strip()
            call = (h.get("call_number") or "").strip()
            if not call:
                missing.setdefault(owner, []).append(barcode or h.get("location") or "")
            if kind not in ("cnmarc", "marc21"):
                continue  # a digitized document's online copy has no barcode or shelf
            if not barcode:
                no_barcode[owner] += 1
            elif self.ranges.get(owner) and not any(
                    _in_range(barcode, r) for r in self.ranges[owner]):
                outside.setdefault(owner, []).append(barcode)
            part = call.split("/")[0].strip().upper()
            if (classes and part and part[0] in TOP_CLASSES and owner not in mismatch
                    and not any(c.startswith(part) or part.startswith(c) for c in classes)):
                mismatch[owner] = f"索书号 {call} 与分类号 {'；'.join(classes[:3])}"
        self.holdings.update(total)
        for owner, which in missing.items():
            shown = "、".join(w for w in which[:5] if w)
            yield problem("no_call_number",
                          f"{total[owner]} 条馆藏中 {len(which)} 条无索书号"
                          + (f"（{shown}{'…' if len(which) > 5 else ''}）" if shown else ""),
                          owner)
        for owner, n in no_barcode.items():
            yield problem("no_barcode", f"{total[owner]} 条馆藏中 {n} 条无条码", owner)
        for owner, codes in outside.items():
            yield problem("barcode_range", "条码 " + "、".join(codes[:5])
                          + ("…" if len(codes) > 5 else "") + " 不在本馆号段", owner)
        for owner, detail in mismatch.items():
            yield problem("clc_call_mismatch", detail, owner)

    def _other(self, rowid: int) -> str:
        """The first record of a duplicate group, as "key《title》" for the detail line."""
        brief = self.store.record_brief(rowid)
        return f"{brief[0]}《{brief[3]}》" if brief else "?"


def _short(text: str, width: int = 20) -> str:
    return text if len(text) <= width else text[:width] + "…"


BarcodeRange = tuple[str, int, int, int]  # prefix, low, high, digits


def _barcode_range(spec: str) -> BarcodeRange | None:
    """'XY00000001-XY99999999' → ('XY', 1, 99999999, 8); None when the two ends do not
    share a prefix and a width (config check names such a range)."""
    low, _, high = spec.partition("-")
    m1, m2 = re.fullmatch(r"(\D*)(\d+)", low.strip()), re.fullmatch(r"(\D*)(\d+)", high.strip())
    if not m1 or not m2 or m1[1] != m2[1] or len(m1[2]) != len(m2[2]):
        return None
    return m1[1], int(m1[2]), int(m2[2]), len(m1[2])


def _in_range(barcode: str, r: BarcodeRange) -> bool:
    prefix, low, high, digits = r
    rest = barcode[len(prefix):]
    return (barcode.startswith(prefix) and len(rest) == digits and rest.isdigit()
            and low <= int(rest) <= high)
