"""An entry's holdings: the one answer to "who holds this book, and how many copies".

A merged entry (cluster) is several libraries' records of one book.  The result list, the
record page, "other editions", the ILL matrix, its CSV and the JSON API all show who holds
it; when each counted on its own they drifted apart (a record without items was one copy
in the list and none on the record page; a union-catalogue record held by four county
libraries counted as one library).  So every view goes through `entry_holdings` (one row
per copy or group of copies) and, where it only needs a line per library,
`library_copies` over those rows — which also counts the copies known to be on the shelf
(`available`), the number behind "本馆在架" and "3 馆在架可借".

Two kinds of row exist beyond a record's own `Holding`s:

* a record with no item data at all is still in its library's catalogue: one row for that
  library, one copy, with a note saying the source gave no item data;
* a digitized document (``online_url``) is an online holding of its library: a row marked
  ``online`` with the link, shown as 在线阅读.

Rows from live sources (searched at query time, never harvested) carry ``live=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.model import Record
from core.status import common_status

NO_ITEM_DATA = "来源未提供单册信息"  # a catalogue record without items: the library has it
ONLINE_LOCATION = "在线阅读"
DERIVED = -1  # `EntryHolding.index` of a row made from the record itself, not a Holding


@dataclass(frozen=True)
class EntryHolding:
    """One row of an entry's holdings: a copy or group of copies, or an online copy."""

    record: str  # store key of the record it came from
    index: int  # position in that record's holdings; DERIVED for a row made from the record
    source: str
    library: str
    location: str = ""
    call_number: str = ""
    barcode: str = ""
    status: str = ""  # as the source reported it, unmapped
    copies: int = 1
    note: str = ""
    online_url: str = ""  # the digitized object; set only on online rows
    live: bool = False  # from a live source at query time

    @property
    def online(self) -> bool:
        return bool(self.online_url)


@dataclass(frozen=True)
class LibraryCopies:
    """One holding library of an entry: copies summed over its rows."""

    library: str
    copies: int
    online: bool = False  # it offers the book online
    live: bool = False  # every row of it came from a live source
    # Copies whose harvested status reads "on the shelf, may be borrowed" (`core.status`);
    # an unknown status never counts, so 0 means "none known to be on the shelf".
    available: int = 0


def on_shelf(row: EntryHolding) -> int:
    """Copies of a row known to be on the shelf: its status maps to `available`."""
    return row.copies if not row.online and common_status(row.status).available else 0


def record_holdings(record: Record, live: bool = False) -> list[EntryHolding]:
    """The rows one record contributes."""
    rows = [EntryHolding(record.key, i, record.source, h.library or record.library,
                         h.location, h.call_number, h.barcode, h.status,
                         max(0, int(h.copies or 0)), h.note, live=live)
            for i, h in enumerate(record.holdings)]
    if record.online_url:
        rows.append(EntryHolding(record.key, DERIVED, record.source, record.library,
                                 ONLINE_LOCATION, online_url=record.online_url, live=live))
    elif not rows:
        rows.append(EntryHolding(record.key, DERIVED, record.source, record.library,
                                 note=NO_ITEM_DATA, live=live))
    return rows


def entry_holdings(records: Iterable[Record], live: Iterable[Record] = ()) -> list[EntryHolding]:
    """Every row of an entry: its catalogue records' first, then live records'."""
    rows = [row for r in records for row in record_holdings(r)]
    rows += [row for r in live for row in record_holdings(r, live=True)]
    return rows


def library_copies(rows: Iterable[EntryHolding]) -> list[LibraryCopies]:
    """One line per holding library, in first-seen order (views sort by their own rule).
    Copies are summed over every row, an online copy counting as one."""
    return combine(LibraryCopies(r.library, r.copies, r.online, r.live, on_shelf(r))
                   for r in rows)


def combine(*parts: Iterable[LibraryCopies]) -> list[LibraryCopies]:
    """Lines of the same entry from different places (the index's stored summary, live
    records) as one line per library — what `library_copies` gives over all their rows."""
    out: dict[str, LibraryCopies] = {}
    for part in parts:
        for lc in part:
            had = out.get(lc.library)
            out[lc.library] = lc if had is None else LibraryCopies(
                lc.library, had.copies + lc.copies, had.online or lc.online,
                had.live and lc.live, had.available + lc.available)
    return list(out.values())


__all__ = ["DERIVED", "NO_ITEM_DATA", "ONLINE_LOCATION", "EntryHolding", "LibraryCopies",
           "combine", "entry_holdings", "library_copies", "on_shelf", "record_holdings"]
