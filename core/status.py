"""One small status vocabulary for every holding, whatever system reported it.

Member systems describe a copy's state in their own words — Interlib and Huiwen in Chinese
(在馆, 借出, 已通还 …), Symphony as a current-location key (CHECKEDOUT, INTRANSIT …), Koha as
item flags (``status_summary``: "checked out, due 2026-12-01; lost (2)"), Z39.50 OPAC records
as circulation data, other ILSs in English.  A reader asking "can I get this book" needs one
answer, so everything maps to six codes:

    available          on the shelf, may be borrowed
    on_loan            lent out (with the due date when the source gives one)
    library_use_only   on the shelf, for reading in the library only
    in_transit         moving between libraries or back to the shelf
    unavailable        lost, missing, withdrawn, in repair, on order, on the hold shelf …
    unknown            anything we cannot read with confidence

and a seventh that no source word maps to: ``online``, a digitized copy read on the web
(an online holding, `core.entry`), which is there whenever the reader wants it.

The rule that matters most: a word not in these tables is ``unknown``, and ``unknown`` is
never shown as available.  Telling a reader a book is on the shelf when it is not costs
them a trip to a county library; "状态不明" costs a phone call.  So matching is exact (after
folding width, case and punctuation), a phrase is only understood when *every* word of it
is known, and a combination takes the least available reading ("在架；丢失" is unavailable).

The vocabularies are data, below, so a connector admin adding a county library's system
adds its words here and nothing else.  Keys are written in their folded form (see
`_fold`): lower case, half-width, '-' and '_' as spaces.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

AVAILABLE = "available"
ON_LOAN = "on_loan"
LIBRARY_USE_ONLY = "library_use_only"
IN_TRANSIT = "in_transit"
UNAVAILABLE = "unavailable"
UNKNOWN = "unknown"
ONLINE = "online"
CODES: tuple[str, ...] = (AVAILABLE, ON_LOAN, LIBRARY_USE_ONLY, IN_TRANSIT, UNAVAILABLE,
                          UNKNOWN, ONLINE)

# What the portal shows for each code (the record page, the ILL matrix, the CSV).
LABELS: dict[str, str] = {
    AVAILABLE: "在架可借",
    ON_LOAN: "已借出",
    LIBRARY_USE_ONLY: "仅限馆内阅览",
    IN_TRANSIT: "在途",
    UNAVAILABLE: "暂不可借",
    UNKNOWN: "状态不明",
    ONLINE: "在线阅读",
}

# When several words describe one copy, the least available reading wins: a copy that is
# "on the shelf" and "lost" in the same breath is not one to send a reader to.
SEVERITY: tuple[str, ...] = (UNAVAILABLE, ON_LOAN, IN_TRANSIT, LIBRARY_USE_ONLY, AVAILABLE)

# -- vocabularies -----------------------------------------------------------------------------

# Chinese ILS words (Interlib 图创, Huiwen 汇文, Libsys 力博, dp2, ALEPH-CN, MARC 906$s …).
CHINESE: dict[str, str] = {
    # on the shelf
    "在馆": AVAILABLE, "在架": AVAILABLE, "可借": AVAILABLE, "可外借": AVAILABLE,
    "在库": AVAILABLE, "在藏": AVAILABLE, "馆藏在架": AVAILABLE, "在馆可借": AVAILABLE,
    # lent out
    "借出": ON_LOAN, "已借出": ON_LOAN, "外借": ON_LOAN, "已外借": ON_LOAN,
    "借阅中": ON_LOAN, "出借": ON_LOAN, "已借": ON_LOAN, "续借": ON_LOAN, "已续借": ON_LOAN,
    "超期": ON_LOAN, "已超期": ON_LOAN, "催还": ON_LOAN, "应还": ON_LOAN,
    "应还日期": ON_LOAN, "应还期": ON_LOAN, "到期": ON_LOAN, "到期日": ON_LOAN,
    "还书日期": ON_LOAN, "归还日期": ON_LOAN,
    # moving between libraries (通借通还: borrowed in one library, returned in another)
    "在途": IN_TRANSIT, "已通还": IN_TRANSIT, "通借通还中": IN_TRANSIT, "通还": IN_TRANSIT,
    "通还在途": IN_TRANSIT, "调拨中": IN_TRANSIT, "馆际调拨": IN_TRANSIT, "运送中": IN_TRANSIT,
    "传递中": IN_TRANSIT, "待上架": IN_TRANSIT, "上架中": IN_TRANSIT, "待归架": IN_TRANSIT,
    # for reading in the library only
    "阅览": LIBRARY_USE_ONLY, "馆内阅览": LIBRARY_USE_ONLY, "仅供阅览": LIBRARY_USE_ONLY,
    "仅限阅览": LIBRARY_USE_ONLY, "限馆内阅览": LIBRARY_USE_ONLY, "只供阅览": LIBRARY_USE_ONLY,
    "阅览室": LIBRARY_USE_ONLY, "不外借": LIBRARY_USE_ONLY, "不可外借": LIBRARY_USE_ONLY,
    "馆内使用": LIBRARY_USE_ONLY, "保存本": LIBRARY_USE_ONLY, "参考书": LIBRARY_USE_ONLY,
    "工具书": LIBRARY_USE_ONLY, "样本": LIBRARY_USE_ONLY, "库本": LIBRARY_USE_ONLY,
    # not to be had now
    "剔除": UNAVAILABLE, "已剔除": UNAVAILABLE, "注销": UNAVAILABLE, "已注销": UNAVAILABLE,
    "丢失": UNAVAILABLE, "遗失": UNAVAILABLE, "已丢失": UNAVAILABLE, "缺失": UNAVAILABLE,
    "丢失赔偿": UNAVAILABLE, "已赔": UNAVAILABLE, "赔书": UNAVAILABLE, "查找中": UNAVAILABLE,
    "修补": UNAVAILABLE, "修补中": UNAVAILABLE, "修复": UNAVAILABLE, "修复中": UNAVAILABLE,
    "破损": UNAVAILABLE, "装订": UNAVAILABLE, "装订中": UNAVAILABLE, "下架": UNAVAILABLE,
    "停借": UNAVAILABLE, "暂停借阅": UNAVAILABLE, "不可借": UNAVAILABLE,
    "订购中": UNAVAILABLE, "已订购": UNAVAILABLE, "采访中": UNAVAILABLE, "编目中": UNAVAILABLE,
    "加工中": UNAVAILABLE, "典藏中": UNAVAILABLE, "预约": UNAVAILABLE, "已预约": UNAVAILABLE,
    "预约保留": UNAVAILABLE, "预约到书": UNAVAILABLE, "预约保留架": UNAVAILABLE,
    # explicitly unknown
    "未知": UNKNOWN, "状态不明": UNKNOWN,
}

# Symphony current-location keys (the harvested status of a Symphony item), folded.
# Symphony has no status field: an item away from home is wherever its current location
# says, and these are the usual special locations (site-configurable; VuFind, UVA).  A home
# shelving location (STACKS, CN-SOCSCI …) is site-specific and stays unknown: only the live
# check, which sees the item's home location too (`connectors.symphony.location_status`),
# can tell "at home" from "moved".
SYMPHONY: dict[str, str] = {
    "checkedout": ON_LOAN, "intransit": IN_TRANSIT, "reshelving": IN_TRANSIT,
    "holds": UNAVAILABLE, "on hold": UNAVAILABLE, "missing": UNAVAILABLE, "lost": UNAVAILABLE,
    "lost assum": UNAVAILABLE, "lost claim": UNAVAILABLE, "barred": UNAVAILABLE,
    "bursared": UNAVAILABLE, "discard": UNAVAILABLE, "withdrawn": UNAVAILABLE,
    "repair": UNAVAILABLE, "bindery": UNAVAILABLE, "on order": UNAVAILABLE,
    "ord cancld": UNAVAILABLE, "inprocess": UNAVAILABLE, "internet": UNKNOWN,
    "unknown": UNKNOWN, "on shelf": AVAILABLE, "available": AVAILABLE,
}

# Koha `status_summary` words; the code in parentheses is the authorised value, and for
# "not for loan" its sign matters (see KOHA_NEGATIVE).
KOHA: dict[str, str] = {
    "available": AVAILABLE, "checked out": ON_LOAN, "withdrawn": UNAVAILABLE,
    "lost": UNAVAILABLE, "damaged": UNAVAILABLE, "not for loan": LIBRARY_USE_ONLY,
    "restricted": LIBRARY_USE_ONLY,
}
# Koha's default NOT_LOAN values below zero mean "ordered" (-1): not on the shelf at all.
KOHA_NEGATIVE: dict[str, str] = {"not for loan": UNAVAILABLE}

# English circulation words: OPAC records, MARC holdings (876 $j, 999 $k …), Aleph,
# Horizon, Millennium, Evergreen.
ENGLISH: dict[str, str] = {
    "available": AVAILABLE, "on shelf": AVAILABLE, "checked in": AVAILABLE,
    "not checked out": AVAILABLE, "shelved": AVAILABLE,
    "checked out": ON_LOAN, "on loan": ON_LOAN, "loaned": ON_LOAN, "charged": ON_LOAN,
    "due": ON_LOAN, "overdue": ON_LOAN, "recalled": ON_LOAN, "renewed": ON_LOAN,
    "in transit": IN_TRANSIT, "transit": IN_TRANSIT, "transit request": IN_TRANSIT,
    "in transit to home": IN_TRANSIT, "being shelved": IN_TRANSIT, "reshelving": IN_TRANSIT,
    "library use only": LIBRARY_USE_ONLY, "in library use only": LIBRARY_USE_ONLY,
    "in library use": LIBRARY_USE_ONLY, "reference": LIBRARY_USE_ONLY,
    "reference only": LIBRARY_USE_ONLY, "reading room only": LIBRARY_USE_ONLY,
    "reading room": LIBRARY_USE_ONLY, "non circulating": LIBRARY_USE_ONLY,
    "noncirculating": LIBRARY_USE_ONLY, "not for loan": LIBRARY_USE_ONLY,
    "restricted": LIBRARY_USE_ONLY,
    "unavailable": UNAVAILABLE, "not available": UNAVAILABLE, "lost": UNAVAILABLE,
    "missing": UNAVAILABLE, "trace": UNAVAILABLE, "claims returned": UNAVAILABLE,
    "claimed returned": UNAVAILABLE, "long overdue": UNAVAILABLE, "billed": UNAVAILABLE,
    "withdrawn": UNAVAILABLE, "discarded": UNAVAILABLE, "weeded": UNAVAILABLE,
    "damaged": UNAVAILABLE, "mending": UNAVAILABLE, "repair": UNAVAILABLE,
    "in repair": UNAVAILABLE, "at bindery": UNAVAILABLE, "bindery": UNAVAILABLE,
    "on order": UNAVAILABLE, "ordered": UNAVAILABLE, "in process": UNAVAILABLE,
    "in processing": UNAVAILABLE, "processing": UNAVAILABLE, "in cataloging": UNAVAILABLE,
    "cataloging": UNAVAILABLE, "on hold": UNAVAILABLE, "on holds shelf": UNAVAILABLE,
    "hold shelf": UNAVAILABLE, "waiting": UNAVAILABLE, "held": UNAVAILABLE,
    "unknown": UNKNOWN,
}

VOCABULARIES: tuple[dict[str, str], ...] = (CHINESE, SYMPHONY, KOHA, ENGLISH)

# Parts of shelving-location names whose books are read in the library only: an item "at
# home" on such a shelf (Symphony tells home from current location) is library use only.
# Substrings, because names are free text: 地方文献阅览室, 参考工具书阅览室, 保存本库 …
# (借阅室, a lending room, does not contain 阅览室).
READING_ROOM_HINTS: tuple[str, ...] = (
    "阅览室", "参考", "工具书", "保存本", "古籍", "特藏", "reference", "reading room",
)


def _merged() -> dict[str, str]:
    """One lookup table; a word two tables read differently is a bug in the tables."""
    out: dict[str, str] = {}
    for table in VOCABULARIES:
        for word, code in table.items():
            if out.get(word, code) != code:
                raise ValueError(f"status word {word!r} maps to both {out[word]} and {code}")
            out[word] = code
    return out


WORDS: dict[str, str] = _merged()
_HAN_WORDS = sorted((w for w in WORDS if not w.isascii()), key=len, reverse=True)

# -- matching ---------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)(?:[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"|(?P<m8>\d\d)(?P<d8>\d\d))(?!\d)"
)
_PARTS = re.compile(r"[;,|\n、]+")
_CODED = re.compile(r"^(?P<word>[a-z][a-z ]*?)\s*\((?P<code>[+-]?\d+)\)$")
_NOISE = re.compile(r"[\W\d_]+")  # punctuation, digits (codes, counts), spaces


@dataclass(frozen=True)
class Status:
    """A copy's state in the common vocabulary; ``due_date`` (YYYY-MM-DD) only on loan."""

    code: str
    due_date: str = ""

    @property
    def available(self) -> bool:
        return self.code == AVAILABLE

    @property
    def label(self) -> str:
        return LABELS[self.code]


def label(code: str) -> str:
    return LABELS.get(code, LABELS[UNKNOWN])


def location_use_only(name: str | None) -> bool:
    """Whether a shelving location's name says its books stay in the library."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return any(hint in folded for hint in READING_ROOM_HINTS)


def due_date(text: str) -> str:
    """The first real calendar date in `text` as YYYY-MM-DD ('' when there is none)."""
    for m in _DATE.finditer(text):
        year = int(m["y"])
        month, day = (m["m"], m["d"]) if m["m"] else (m["m8"], m["d8"])
        try:
            return date(year, int(month), int(day)).isoformat()
        except ValueError:
            continue
    return ""


def _fold(text: str) -> str:
    """Width and case folded, so 'CHECKEDOUT', 'Checked-Out' and full-width forms meet one
    table key (separators such as '-' and '_' are `_NOISE`, turned into spaces after)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _segment_han(text: str) -> list[str] | None:
    """A run of Chinese cut into table words, longest first; None when any part is not a
    known word (then the whole phrase is not understood)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        word = next((w for w in _HAN_WORDS if text.startswith(w, i)), None)
        if word is None:
            return None
        out.append(word)
        i += len(word)
    return out


def _part_code(part: str) -> str | None:
    """The code of one comma/semicolon-separated part; None for a part that carries no
    status (a bare date or number)."""
    light = " ".join(unicodedata.normalize("NFKC", part).casefold().replace("_", " ").split())
    coded = _CODED.match(light)
    if coded:  # Koha's "lost (2)", "not for loan (-1)"
        word = coded["word"].strip()
        if int(coded["code"]) < 0 and word in KOHA_NEGATIVE:
            return KOHA_NEGATIVE[word]
        return WORDS.get(word, UNKNOWN)
    if "?" in light:  # "可借?" is a doubt, not a status (full-width ？ folds to ?)
        return UNKNOWN
    key = " ".join(_NOISE.sub(" ", _fold(part)).split())
    if not key:
        return None
    if key in WORDS:
        return WORDS[key]
    codes: list[str] = []
    for word in key.split():
        if word in WORDS:
            codes.append(WORDS[word])
            continue
        pieces = None if word.isascii() else _segment_han(word)
        if pieces is None:
            return UNKNOWN
        codes.extend(WORDS[p] for p in pieces)
    return combine(codes)


def combine(codes: list[str]) -> str:
    """Several readings of one copy → one: the least available wins; an unknown part
    leaves only the definite non-available readings, else unknown (never available)."""
    if not codes:
        return UNKNOWN
    known = [c for c in codes if c != UNKNOWN]
    if len(known) < len(codes):
        known = [c for c in known if c != AVAILABLE]
    for code in SEVERITY:
        if code in known:
            return code
    return UNKNOWN


def common_status(raw: str | None) -> Status:
    """A source's own status text → Status.  Unrecognized, empty or contradictory-with-
    unknown text is ``unknown``; a due date is kept only for ``on_loan``."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return Status(UNKNOWN)
    due = due_date(text)
    without_dates = _DATE.sub(" ", text)
    codes = [c for c in (_part_code(p) for p in _PARTS.split(without_dates)) if c is not None]
    code = combine(codes)
    return Status(code, due if code == ON_LOAN else "")


def best(statuses: list[Status]) -> Status:
    """The reader's best chance among several copies summarized as one (an OPAC holding
    with several circulation entries): available first, then library use, transit, loan
    (earliest due date), unavailable; unknown only when nothing else is known."""
    order = (AVAILABLE, LIBRARY_USE_ONLY, IN_TRANSIT, ON_LOAN, UNAVAILABLE)
    for code in order:
        matching = [s for s in statuses if s.code == code]
        if matching:
            return min(matching, key=lambda s: s.due_date or "9999")
    return Status(UNKNOWN)


__all__ = [
    "AVAILABLE", "CODES", "IN_TRANSIT", "LABELS", "LIBRARY_USE_ONLY", "ON_LOAN", "ONLINE",
    "UNAVAILABLE", "UNKNOWN", "Status", "best", "combine", "common_status", "due_date", "label",
    "location_use_only",
]
