"""Blocking: which pairs of records are worth judging at all.

Candidate pairs come only from blocks — ISBN stem, exact title key (also with the part
appended), title prefix/suffix with the first author (`_blocks`, `_block_keys`) — and a
big block is split into author+year and year+publisher sub-blocks (`_rep_pairs`);
records with identical normalized fields are judged once (`_signature`).  Within a
block, pairs are found through ISBN, year and volume indexes (`_group_pairs`): only
pairs that the cheap vetoes of `rules._quick_check` let through are judged.  Blocks are
listed in a fixed order (records in key order), so the result does not depend on input
order.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from harvest.matching.keys import MatchRecord
from harvest.matching.normalize import _volume_split, volumes_compatible
from harvest.matching.relations import TITLE_FUZZY_MIN_LEN

#: Blocks larger than this are compared through per-signature representatives, and the
#: representatives only within author / year sub-blocks.
BLOCK_LIMIT = 60


def _blocks(recs: Sequence[MatchRecord]) -> list[tuple[list[int], str]]:
    """(members, rule) of every block of two or more records, in processing order
    (`_named_blocks`, without the names)."""
    return [(members, rule) for members, rule, _ in _named_blocks(recs)]


def _named_blocks(recs: Sequence[MatchRecord]
                  ) -> list[tuple[list[int], str, tuple[str, Any]]]:
    """(members, rule, name) of every block of two or more records, in processing order;
    the name is (kind, key) as `_block_hash` takes it.

    Pass 1: ISBN stems (valid ISBN-13s, and mistyped ones by their first 12 digits).
    Pass 2: exact title keys; pass 3: prefix/suffix blocks for near-equal long
    titles.  Keys are the title strings themselves, not hashes: a hash collision
    would only add comparisons, but str hashes change between processes, and the
    result must not."""
    stems: dict[str, list[int]] = {}
    titles: dict[str, list[int]] = {}
    fuzzy: dict[tuple[str, Any], list[int]] = {}
    for i, r in enumerate(recs):
        for stem in r.stems:
            stems.setdefault(stem, []).append(i)
        for kind, value in _block_keys(r):
            members = (titles.setdefault(value, []) if kind == "t"
                       else fuzzy.setdefault((kind, value), []))
            if not members or members[-1] != i:  # a title key given twice
                members.append(i)
    blocks: list[tuple[list[int], str, tuple[str, Any]]] = [
        (stems[stem], "isbn-stem", ("s", stem))
        for stem in sorted(k for k, members in stems.items() if len(members) > 1)]
    blocks.extend((members, "title", ("t", value))
                  for value, members in titles.items() if len(members) > 1)
    blocks.extend((members, "title-fuzzy", key)
                  for key, members in fuzzy.items() if len(members) > 1)
    return blocks


def _signature(r: MatchRecord) -> tuple[Any, ...]:
    """Everything the rules read of a record: records with one signature are judged
    alike, so a block judges each against its first occurrence only (`_run_block`)."""
    return (r.title, r.title_full, r.volume, r.volume_text, r.edition, r.authors, r.resp,
            r.year, r.publisher, r.material, r.language, r.stems, r.isbns)


def _block_keys(r: MatchRecord) -> Iterable[tuple[str, Any]]:
    """Title-pass blocks: the exact title (also with the part appended, to meet a record
    that typed the part into its title), and for long titles — where a small difference
    is tolerated — the first and last four characters with the first author.  A title
    that is not exactly equal only ever matches with the same author (see `_judge`), so
    blocks by author are all the near-equal titles need."""
    if r.title:
        yield ("t", r.title)
        if r.volume_text:
            yield ("t", r.title + r.volume_text)
    if r.title_full:
        yield ("t", r.title_full)
    t = r.title
    if len(t) >= TITLE_FUZZY_MIN_LEN and r.author:
        yield ("pa", (t[:4], r.author))
        yield ("sa", (t[-4:], r.author))


def block_hashes(r: MatchRecord) -> list[int]:
    """Every block `_blocks` files `r` under (ISBN stems, title keys, prefix/suffix keys),
    as stable signed 64-bit hashes, sorted: what the store's block table holds so that an
    incremental merge finds the records sharing a block with a changed one without reading
    every record.  A collision only joins two components of the block graph: more records
    re-judged, never another result."""
    texts = [_block_text("s", s) for s in r.stems]
    texts.extend(_block_text(kind, value) for kind, value in _block_keys(r))
    return sorted({_stable_hash(t) for t in texts})


def _block_text(kind: str, value: Any) -> str:
    """What a block's hash is taken of: its kind ("s" ISBN stem, "t" title, "pa"/"sa"
    prefix/suffix with the author) and key."""
    if kind in ("s", "t"):
        return f"{kind}\x1f{value}"
    return f"{kind}\x1f{value[0]}\x1f{value[1]}"


def _block_hash(kind: str, value: Any) -> int:
    """The hash `block_hashes` gives the block named (kind, key) (`_named_blocks`)."""
    return _stable_hash(_block_text(kind, value))


def stem_block_hashes(r: MatchRecord) -> list[int]:
    """The ISBN-stem blocks among `block_hashes(r)`: a record arriving or leaving there can
    change what a set ISBN is (`_set_stems`) for every other holder."""
    return sorted({_stable_hash(_block_text("s", s)) for s in r.stems})


def signature_hash(r: MatchRecord) -> int:
    """`_signature(r)` as a stable signed 64-bit hash: the block table keeps it beside each
    row, so that an incremental merge can count a block's representatives (and so decide
    its big/small mode, `BLOCK_LIMIT`) without reading the block's records."""
    parts = ["\x1e".join(v) if isinstance(v, tuple) else "" if v is None else str(v)
             for v in _signature(r)]
    return _stable_hash("\x1f".join(parts))


def _stable_hash(text: str) -> int:
    """The same in every process and release (str's own hash is salted per process)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: Bump when `block_hashes` or the blocks change: a store's block table of another
#: version is rebuilt by a full merge before any incremental one.
BLOCKS_VERSION = 1


def _set_stems(recs: Sequence[MatchRecord]) -> frozenset[str]:
    """ISBN stems seen on two or more different volumes: set ISBNs (套书号).  They do not
    identify an edition, so a record carrying only the set ISBN is not "a different
    ISBN" from one carrying only its volume's own."""
    seen: dict[str, str] = {}
    out: set[str] = set()
    for r in recs:
        if not r.volume:
            continue
        for s in r.stems:
            v = seen.setdefault(s, r.volume)
            if v != r.volume and not volumes_compatible(v, r.volume):
                out.add(s)
    return frozenset(out)


def _group_pairs(recs: Sequence[MatchRecord], group: Sequence[int], slack: int,
                 set_stems: Collection[str]) -> Iterable[tuple[int, int]]:
    """The pairs (i < j) of `group` that can pass `_quick_check` and the volume veto,
    found through indexes instead of trying all of them: a title block of 2,000 editions
    of 红楼梦 has two million pairs, and almost all of them have two different ISBNs or
    years; 300 volumes of one gazetteer without ISBN all have one year.

    A pair can pass only if it shares an ISBN stem, or one side has no ISBN, or both are
    volumes while set ISBNs exist (`_quick_check`); its years must be within the slack
    unless it shares an ISBN, and its volumes compatible unless the part is typed into
    one title (`_veto`).  Every such pair is yielded once, some failing ones too
    (`_judge` decides), in no particular order: a block's candidates are sorted before
    any union."""
    if len(group) < 2:
        return
    pairs: set[tuple[int, int]] = set()
    by_stem: dict[str, list[int]] = {}
    for i in group:
        for stem in recs[i].stems:  # a shared ISBN is a shared stem: stems hold them all
            by_stem.setdefault(stem, []).append(i)
    for members in by_stem.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    loose = [i for i in group if not recs[i].stems]  # no ISBN: may match any ISBN
    if loose:
        filed = _file_by_volume(recs, group)
        for i in loose:
            for j in _mates(filed, recs[i], slack):
                if i != j:
                    pairs.add((i, j) if i < j else (j, i))
        pairs.update(_part_in_title_pairs(recs, group, frozenset(loose), slack))
    if set_stems:  # volumes of a set: a set ISBN is not "a different ISBN"
        volumes = [i for i in group if recs[i].stems and recs[i].volume]
        filed = _file_by_volume(recs, volumes)
        for i in volumes:
            for j in _mates(filed, recs[i], slack):
                if i < j:
                    pairs.add((i, j))
    yield from pairs


@functools.lru_cache(maxsize=4096)
def _volume_slots(volume: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(slots a record with this volume is filed under, slots it looks in): two volumes
    are compatible (`volumes_compatible`) only if one looks where the other is filed —
    both absent, equal numbers, or part names on both sides."""
    if not volume:
        return ("",), ("",)
    number, name = _volume_split(volume)
    if not number:
        return ("name",), ("name", "named")
    if not name:
        return ("#" + number,), ("#" + number,)
    return ("#" + number, "named"), ("#" + number, "name")


def _file_by_volume(recs: Sequence[MatchRecord],
                    members: Iterable[int]) -> dict[str, dict[int | None, list[int]]]:
    """{volume slot: {year: members}}, for `_mates`."""
    filed: dict[str, dict[int | None, list[int]]] = {}
    for i in members:
        r = recs[i]
        for slot in _volume_slots(r.volume)[0]:
            filed.setdefault(slot, {}).setdefault(r.year, []).append(i)
    return filed


def _mates(filed: dict[str, dict[int | None, list[int]]], r: MatchRecord,
           slack: int) -> Iterable[int]:
    """Filed records whose volume may be compatible with r's and whose year is within
    the slack (r itself included)."""
    for slot in _volume_slots(r.volume)[1]:
        by_year = filed.get(slot)
        if by_year:
            yield from _year_mates(by_year, r.year, slack)


def _year_mates(by_year: dict[int | None, list[int]], year: int | None,
                slack: int) -> Iterable[int]:
    """Records whose year is within `slack` of `year`; a missing year is compatible with
    every year."""
    if year is None:
        for members in by_year.values():
            yield from members
        return
    for y in range(year - slack, year + slack + 1):
        yield from by_year.get(y, ())
    yield from by_year.get(None, ())


def _part_in_title_pairs(recs: Sequence[MatchRecord], group: Sequence[int],
                         loose: Collection[int], slack: int) -> Iterable[tuple[int, int]]:
    """Pairs that `_part_in_title` may exempt from the volume veto: a record without a
    volume whose title starts with the whole title of one with a volume; at least one
    of them without ISBN, years within the slack."""
    titled: dict[str, list[int]] = {}
    for i in group:
        if recs[i].volume:
            titled.setdefault(recs[i].title, []).append(i)
    if not titled:
        return
    lengths = sorted({len(t) for t in titled})
    for x in group:
        rx = recs[x]
        if rx.volume:
            continue
        for n in lengths:
            if n >= len(rx.title):
                break
            for y in titled.get(rx.title[:n], ()):
                ry = recs[y]
                if (x in loose or y in loose) and (
                        rx.year is None or ry.year is None or abs(rx.year - ry.year) <= slack):
                    yield (x, y) if x < y else (y, x)


def _rep_pairs(recs: Sequence[MatchRecord], reps: list[int], slack: int,
               set_stems: Collection[str], big: bool | None = None
               ) -> Iterable[tuple[int, int]]:
    """The candidate pairs among a block's representatives (one record per distinct
    signature): all of them for a small block, only pairs sharing an author and a year
    or a year and a publisher for a big one (`big`: decided by the caller, who may pass
    only some of a big block's representatives)."""
    if not (len(reps) > BLOCK_LIMIT if big is None else big):
        yield from _group_pairs(recs, reps, slack, set_stems)
        return
    # A big block (a common title, 400 editions of 红楼梦): only pairs that share an
    # author and a year (± the slack), or a year and a publisher, can match (see
    # `_judge`).  A record without a year is compared with its author's whole group,
    # one without authors or publisher with its whole year.
    by_key: dict[tuple[Any, ...], list[int]] = {}
    loose: list[tuple[tuple[Any, ...], int]] = []
    for i in reps:
        r = recs[i]
        for name in r.authors:
            if r.year is None:
                loose.append((("a", name), i))
            else:
                by_key.setdefault(("ay", name, r.year), []).append(i)
        if r.year is not None:
            if r.publisher:
                by_key.setdefault(("yp", r.year, r.publisher), []).append(i)
            if not r.publisher or not r.authors:
                loose.append((("y", r.year), i))
        elif not r.authors:
            loose.append((("all",), i))
    seen: set[tuple[int, int]] = set()

    def emit(i: int, j: int) -> Iterable[tuple[int, int]]:
        p = (i, j) if i < j else (j, i)
        if i != j and p not in seen:
            seen.add(p)
            yield p

    for key, group in by_key.items():
        for i, j in _group_pairs(recs, group, slack, set_stems):
            yield from emit(i, j)
        if key[0] == "ay":  # the next years, for the year slack
            for d in range(1, slack + 1):
                for j in by_key.get(("ay", key[1], key[2] + d), ()):
                    for i in group:
                        yield from emit(i, j)
    if loose:
        wide: dict[tuple[Any, ...], list[int]] = {("all",): reps}
        for i in reps:
            r = recs[i]
            for name in r.authors:
                wide.setdefault(("a", name), []).append(i)
            wide.setdefault(("y", r.year), []).append(i)
        for key, i in loose:
            for j in wide.get(key, ()):
                yield from emit(i, j)
