"""Entry lineage: what became of every merged entry the outside world has seen.

Entry ids are in readers' bookmarks, in other catalogues' links and in harvesters'
databases (OAI-PMH).  A re-merge or a librarian's split makes an id vanish, and both need
to know where its records went: the portal redirects an old record URL to the entry that
now holds its records (or offers a choice when they were split), and the OAI-PMH
provider reports the entry deleted — persistently — naming its successors.  So after
every merge `refresh` compares each affected entry's records (keys and digests) with
what the lineage says, and records what changed, when, and where vanished entries went.
The change time is the entry's OAI-PMH datestamp.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from core.config import Library
from harvest.clc import TOP_CLASSES
from harvest.store import LineageRow, MemberRow, RecordStore

#: The setSpec of digitized local documents (数字化地方文献: records with an online copy).
DIGITIZED_SET = "digitized"
#: How far `resolve` follows entries that went to entries that went on (a cycle guard).
MAX_HOPS = 16


@lru_cache(maxsize=1024)
def region_spec(region: str) -> str:
    """A region's setSpec: its toneless pinyin (setSpecs must be URI-unreserved ASCII)."""
    from pypinyin import Style, lazy_pinyin

    letters = "".join(lazy_pinyin(region, style=Style.NORMAL, errors="ignore"))
    spec = "".join(ch for ch in letters.lower() if ch.isascii() and ch.isalnum())
    return f"region:{spec or 'unknown'}"


def library_spec(code: str) -> str:
    return f"library:{code}"


def clc_spec(top: str) -> str:
    return f"clc:{top}"


def entry_sets(members: list[MemberRow], libraries: Mapping[str, Library]) -> list[str]:
    """The OAI-PMH sets an entry is in: each holding library and its region, the CLC top
    class of its records, and digitized local documents."""
    codes = {m.library for m in members} | {h for m in members for h in m.holding_libraries}
    specs = {library_spec(c) for c in codes if c and _spec_safe(c)}
    specs |= {region_spec(lib.region) for c in codes if (lib := libraries.get(c)) and lib.region}
    specs |= {clc_spec(m.clc_top) for m in members if m.clc_top in TOP_CLASSES}
    if any(m.online for m in members):
        specs.add(DIGITIZED_SET)
    return sorted(specs)


@lru_cache(maxsize=4096)
def _spec_safe(code: str) -> bool:
    return all(ch.isascii() and (ch.isalnum() or ch in "-_.!~*'()") for ch in code)


def members_digest(members: list[MemberRow]) -> str:
    return _digest([f"{m.key}\t{m.digest}" for m in members])


def _digest(lines: list[str]) -> str:
    return hashlib.sha1("\n".join(sorted(lines)).encode("utf-8"),
                        usedforsecurity=False).hexdigest()


@dataclass
class LineageChanges:
    changed: int = 0  # entries new or changed
    deleted: int = 0  # entries that vanished


#: Entries compared per step of a full refresh: memory stays flat for a million.
CHUNK = 2000


def refresh(store: RecordStore, libraries: Mapping[str, Library],
            entries: Collection[str] | None = None, now: float | None = None) -> LineageChanges:
    """Bring the lineage of `entries` (every entry when None) in line with the store after
    a merge; commits.  An entry whose records or their contents changed gets `now` as its
    change time; one that has no records any more becomes a tombstone naming the entries
    its records are in now."""
    now = time.time() if now is None else now
    changes = LineageChanges()
    if entries is not None:
        _refresh(store, libraries, list(entries), now, changes)
    else:
        # Compare digests alone (no record decoded); only what differs is looked at.
        stale: list[str] = []
        digests: dict[str, str] = {}  # of the stale entries: not computed twice
        for group in _chunks(_grouped(store.member_digests()), CHUNK):
            recorded = store.lineage_digests([entry for entry, _ in group])
            for entry, digest in group:
                if recorded.get(entry) != digest:
                    stale.append(entry)
                    digests[entry] = digest
        stale += store.vanished_entries()
        for start in range(0, len(stale), CHUNK):
            _refresh(store, libraries, stale[start:start + CHUNK], now, changes, digests)
    store.commit()
    return changes


def _grouped(rows: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str]]:
    """(entry, members digest) from (entry, key, digest) rows ordered by entry."""
    current: str | None = None
    lines: list[str] = []
    for entry, key, digest in rows:
        if entry != current:
            if current is not None:
                yield current, _digest(lines)
            current, lines = entry, []
        lines.append(f"{key}\t{digest}")
    if current is not None:
        yield current, _digest(lines)


def _chunks(items: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _refresh(store: RecordStore, libraries: Mapping[str, Library], entries: list[str],
             now: float, changes: LineageChanges,
             digests: Mapping[str, str] | None = None) -> None:
    """`digests`: the members digests of (some of) `entries`, already computed from the
    same rows in this transaction."""
    members = store.entry_members(entries)
    known = store.lineage_rows(entries)
    out: list[LineageRow] = []
    for entry, rows in members.items():
        digest = (digests.get(entry) if digests is not None else None) or members_digest(rows)
        old = known.get(entry)
        if old is not None and not old.deleted and old.digest == digest:
            continue
        keep_time = old is not None and not old.deleted and old.digest == ""  # migrated
        out.append(LineageRow(entry, sorted(m.key for m in rows), digest,
                              old.changed if keep_time and old else now,
                              sets=entry_sets(rows, libraries)))
        changes.changed += not keep_time
    for entry, old in known.items():
        if entry in members or old.deleted:
            continue
        successors = sorted(store.entries_of(old.keys) - {entry})
        out.append(LineageRow(entry, old.keys, old.digest, now, True, successors, old.sets))
        changes.deleted += 1
    store.save_lineage(out)


def resolve(store: RecordStore, entry: str) -> list[str] | None:
    """The entries that hold `entry`'s records now: [entry] itself while it exists; for a
    vanished one where its records went (following entries that vanished in turn); [] when
    its records are gone; None when no such entry was ever known."""
    row = store.lineage(entry)
    if row is None:
        return None
    if not row.deleted:
        return [entry]
    found: list[str] = []
    seen = {entry}
    frontier = [row]
    for _ in range(MAX_HOPS):
        following: list[LineageRow] = []
        for gone in frontier:
            targets = store.entries_of(gone.keys) | set(gone.successors)
            for target in sorted(targets - seen):
                seen.add(target)
                nxt = store.lineage(target)
                if nxt is None or not nxt.deleted:
                    found.append(target)
                else:
                    following.append(nxt)
        if not following:
            break
        frontier = following
    return sorted(dict.fromkeys(found))
