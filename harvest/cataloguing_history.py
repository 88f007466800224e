"""What a harvest saw change, for the monthly quantity figures (工作数量).

The centre counts per member and month: new records, modified records and new copies
(册, what retro-conversion subsidies are paid on).  A record's first appearance is its
row's `first_seen`; this module decides, when a stored record is delivered again with a
different digest, whether its *bibliographic* part changed (a copy checked out changes
the digest too, and is nobody's cataloguing) and which copies are new.

A change is read from the source's own stamp when both versions carry one (005,
Symphony modifiedDate): a new stamp is a change, the same stamp is none, whatever our
crosswalk now makes of the record.  Without stamps the description is compared field by
field, leaving out the holdings and what attribution and bookkeeping add — and any field
one version lacks, so an upgrade that adds fields to the model is not a month of
"modifications".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Fields that are not the description a cataloguer writes.
NOT_DESCRIPTION = frozenset({
    "holdings", "catalogued_by", "modified_by", "catalogue_agency", "modify_agency",
    "attributed_from", "cataloguer", "modifier", "created", "modified", "source",
    "source_id", "library", "encoding",
})


@dataclass(frozen=True)
class Change:
    """One delivery of a stored record: was its description changed, by whom (the
    member, and the person where the record names one) and when (stamp), and which
    copies are new (item id, library, the source's date for it)."""

    modified: bool
    library: str
    stamp: str
    new_items: tuple[tuple[str, str, str], ...]
    person: str = ""


def item_ids(data: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(item id, library, created) of every copy: the barcode, else library, call number
    and the copy's place among the alike."""
    seen: dict[str, int] = {}
    for h in data.get("holdings") or []:
        library = str(h.get("library") or data.get("library") or "")
        barcode = str(h.get("barcode") or "").strip()
        if barcode:
            item = barcode
        else:
            base = f"{library}|{h.get('call_number') or ''}"
            seen[base] = seen.get(base, 0) + 1
            item = f"{base}|{seen[base]}"
        yield item, library, str(h.get("created") or "")


def described_alike(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for name in old.keys() & new.keys():
        if name not in NOT_DESCRIPTION and old[name] != new[name]:
            return False
    return True


def compare(old: dict[str, Any], new: dict[str, Any]) -> Change:
    old_stamp, new_stamp = str(old.get("modified") or ""), str(new.get("modified") or "")
    modified = old_stamp != new_stamp if old_stamp and new_stamp else not described_alike(old, new)
    before = {item for item, _, _ in item_ids(old)}
    added = tuple(i for i in item_ids(new) if i[0] not in before)
    member = str(new.get("modified_by") or new.get("catalogued_by") or new.get("library")
                 or "")
    person = str(new.get("modifier") or new.get("cataloguer") or "")
    return Change(modified, member, new_stamp, added, person)
