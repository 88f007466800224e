"""Known-item search quality on a judged query set: per kind of query, MRR@10, recall@10
and the share of queries that find nothing.

    python bench/judged_queries.py --demo                 # the demo catalogue (2,000 slots)
    python bench/judged_queries.py --records 100000       # a generated consortium
    python bench/judged_queries.py --demo --write bench/judged_demo.jsonl   # keep the set
    python bench/judged_queries.py --demo --queries bench/judged_demo.jsonl # judge a kept set

The queries are made from the generator's own truth (`tongjian.generator.iter_editions`:
every edition as its title page says it, with the libraries that hold it), never from what
the index holds, so a query is what a reader holding the book would type:

    exact_title      the title as printed            红楼梦
    traditional      the same in traditional script  紅樓夢
    spaced_pinyin    toneless syllables, spaced      hong lou meng
    joined_pinyin    the same joined                 hongloumeng
    initials         first letters (titles of ≥ 4 syllables: how readers use them)  hlm…
    inner_words      the title's distinctive words: dictionary words (≥ 2 characters)
                     rarest first, as many as it takes for no other title to hold them
                     all (≤ 3, never all of the title), in the title's order  延安 经济
    inner_run        the title without its first two characters (over five characters)
                     or its first one, when no other title holds what is left  楼梦研究
    author_word      the first author's name and the title's rarest word
    isbn10           ISBN-10 with hyphens, as printed on books before 2007
    isbn13           ISBN-13 without hyphens, as a barcode scanner types it
    clc_class        the 中图分类号 cut to its class (I242.4 → I242)
    call_number      one holding library's 索书号 for the edition (from its record)
    pinyin_typo      joined pinyin with one letter left out

Diagnostics, printed under the overall line and not counted in it:

    inner_word       the title's one rarest word (the set's kind until 2026-12-04)
    inner_part       the title without its first 1–2 characters, shared or not (the same)

Why the two kinds were remade (2026-12-04): made that way, a query is often held just as
well by dozens of other titles — at 100k most titles' rarest word is shared (乡村, 年鉴),
and a cut title's rest by a series of look-alikes (文化遗产 of 渭南/汉中/宝鸡文化遗产), or
it is another book's whole title (唐诗三百首 of 新编唐诗三百首) — while the judgement
accepts only the title sampled: such a query measures a coin toss among equal matches,
not finding.  Known-item simulation picks the terms a reader remembers by how well they
discriminate (Azzopardi, de Rijke & Balog 2007, "Building simulated queries for
known-item topics": terms drawn by tf-idf, as many as the query length calls for), which
`inner_words` does deterministically (in a title tf is 1, so idf orders the words) with
"singles the title out" as the length; `inner_run` keeps the cut and asks only titles
whose rest is their own.  "Held by another title" is counted on the catalogue (titles,
by title_key, holding every word or the run as contiguous characters), never on a
ranking, and the judgements are unchanged.  Titles the rule cannot serve are not asked
the kind; how many were skipped is printed (at 100k: 73% for inner_words, 34% for
inner_run) — so these kinds say how well the distinctive part of a title finds it, not
how often a reader's partial memory is enough.

A hit is relevant when it is that book as a reader would accept it: for ISBN queries the
entry with that ISBN (or, where the library catalogued it with a wrong check digit and the
entry therefore shows no ISBN, the entry with that edition's title); for title-based
queries an entry with the same title (by `core.fold.title_key`: the other editions of 红楼梦
are just as right for 红楼梦); for a class an entry classed under it; for a call number an
entry a library shelves under it.

The store and index are built by `tongjian import`'s own path (`harvest.bulk`), the data
generated once under /tmp/tongjian-bench like bench_ingest.py's; searches go straight to
`TantivyBackend.search` in this process (no HTTP: this measures ranking, not serving).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import (  # noqa: E402
    RECORDS_PER_EDITION,
    SOURCES,
    describe,
    ensure_data,
    write_config,  # noqa: E402
)

KINDS = ("exact_title", "traditional", "spaced_pinyin", "joined_pinyin", "initials",
         "inner_words", "inner_run", "author_word", "isbn10", "isbn13", "clc_class",
         "call_number", "pinyin_typo")
# Made as before 2026-12-04 and printed below the overall line, not counted in it: one
# word, or one run, that dozens of titles share, judged as if only one of them were meant.
DIAGNOSTIC = ("inner_word", "inner_part")
_MAX_WORDS = 3  # words a reader types for a title remembered in part
_SCAN = 2000  # titles looked at to tell whether words or a run single a title out
DEMO_DATA = ROOT / "tongjian" / "demo_data"


@dataclass
class Judged:
    kind: str
    q: str
    field: str
    judge: dict[str, str]  # title_key | isbn | clc | call_number -> the value to find


def _han(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def make_queries(editions: int, per_kind: int, seed: int, backend: Any,
                 call_numbers: dict[str, list[str]]) -> list[Judged]:
    """`per_kind` queries of each kind from the generator's truth (seeded)."""
    import opencc

    from core.fold import title_key
    from index import text
    from tongjian.generator import DEMO_LIBRARIES, DEMO_SEED, iter_editions
    from tongjian.generator.consortium import pinyin_words

    held = {lib for lib, *_ in SOURCES.values()}
    pool = [ed for ed, codes in iter_editions(DEMO_SEED, DEMO_LIBRARIES, editions)
            if ed.lang == "chi" and held & set(codes) and _han(ed.title) >= 2
            and title_key(ed.title)]
    rng = random.Random(seed)  # noqa: S311 - a reproducible set, not a secret
    rng.shuffle(pool)
    s2t = opencc.OpenCC("s2t")
    searcher = backend._searcher()[0]  # document frequencies pick the distinctive word

    def df(word: str) -> int:
        return int(searcher.doc_freq("title", word))

    def words_of(title: str) -> list[str]:
        return [w for w, _ in text.query_words(title) if _han(w) >= 2 and w != title]

    def rare_word(title: str) -> str:
        words = words_of(title)
        return min(words, key=lambda w: (df(w), w)) if words else ""

    def others_holding(runs: list[str], key: str) -> int:
        """How many other titles (by title_key) hold every one of `runs` as a contiguous
        run of characters: the catalogue's statistics, never a ranking."""
        import tantivy

        phrases = [backend._phrase("title_bigram", text.bigrams(r)) if len(r) > 2 else
                   backend._term("title_bigram", r) for r in runs]
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in phrases])
        keys = set()
        for _, addr in searcher.search(query, _SCAN, count=False).hits:
            title = str(json.loads(bytes(searcher.doc(addr).get_first("summary_doc")))
                        .get("title") or "")
            if all(r in title_key(title) for r in runs):
                keys.add(title_key(title))
        return len(keys - {key})

    def distinct_words(title: str, key: str) -> str:
        """The title's words by tf-idf (rarest first: tf is 1 in a title), as many as it
        takes for no other title to hold them all, at most `_MAX_WORDS` and never every
        word of the title; typed in the title's order.  '' when no such set exists."""
        words = words_of(title)
        chosen: list[str] = []
        for w in sorted(words, key=lambda w: (df(w), w))[:_MAX_WORDS]:
            chosen.append(w)
            typed = [x for x in words if x in chosen]
            if "".join(typed) == key:
                return ""  # all of the title: that is the exact-title kind
            if not others_holding(chosen, key):
                return " ".join(typed)
        return ""

    def distinct_run(title: str, key: str) -> str:
        """The title without its first two characters (titles over five characters) or
        first one, the longer cut first, when what is left is held by no other title."""
        for cut in ((2, 1) if len(title) > 5 else (1,)):
            if not others_holding([title[cut:]], key):
                return title[cut:]
        return ""

    out: list[Judged] = []
    count: dict[str, int] = defaultdict(int)
    tried: dict[str, int] = defaultdict(int)  # titles a kind was attempted on

    def add(kind: str, q: str, judge: dict[str, str], field: str = "any") -> None:
        if q and count[kind] < per_kind:
            count[kind] += 1
            out.append(Judged(kind, q, field, judge))

    for ed in pool:
        by_title = {"title_key": title_key(ed.title)}
        syllables = [s.lower() for w in pinyin_words(ed.title) for s in w
                     if s.isascii() and s.isalpha()]
        add("exact_title", ed.title, by_title)
        trad = s2t.convert(ed.title)
        if trad != ed.title:
            add("traditional", trad, by_title)
        if len(syllables) >= 2:
            add("spaced_pinyin", " ".join(syllables), by_title)
            add("joined_pinyin", "".join(syllables), by_title)
        if len(syllables) >= 4:
            add("initials", "".join(s[0] for s in syllables), by_title)
        if _han(ed.title) >= 4 and _han(ed.title) == len(ed.title):
            cut = 1 if len(ed.title) <= 5 else 2
            add("inner_part", ed.title[cut:], by_title)
            if count["inner_run"] < per_kind:
                tried["inner_run"] += 1
                add("inner_run", distinct_run(ed.title, by_title["title_key"]), by_title)
        if count["inner_words"] < per_kind and len(words_of(ed.title)) >= 2:
            tried["inner_words"] += 1
            add("inner_words", distinct_words(ed.title, by_title["title_key"]), by_title)
        word = rare_word(ed.title)
        if word:
            add("inner_word", word, by_title)
            author = next((p.name for p in ed.persons if not p.corporate and not p.western
                           and _han(p.name) >= 2), "")
            if author:
                add("author_word", f"{author} {word}", by_title)
        if ed.isbn13:
            by_isbn = {"isbn": ed.isbn13, **by_title}
            add("isbn13", ed.isbn13, by_isbn)
            if ed.isbn10 and ed.isbn_prefix:
                add("isbn10", ed.hyphenated(ten=True), by_isbn)
            for call in call_numbers.get(ed.isbn13, [])[:1]:
                add("call_number", call, {"call_number": text.code_key(call)})
        if ed.clc and "." in ed.clc:
            add("clc_class", ed.clc.split(".")[0], {"clc": ed.clc.split(".")[0]})
        joined = "".join(syllables)
        if len(joined) >= 6:
            i = rng.randrange(1, len(joined))
            add("pinyin_typo", joined[:i] + joined[i + 1:], by_title)
        if all(count[k] >= per_kind for k in (*KINDS, *DIAGNOSTIC)):
            break
    for kind, n in tried.items():
        print(f"{kind}: {count[kind]} of {n} titles tried single themselves out "
              f"({1 - count[kind] / max(n, 1):.0%} skipped: what is left is shared)")
    return out


def entry_facts(store_path: Path) -> tuple[dict[str, dict[str, set[str]]], dict[str, list[str]]]:
    """Per entry its class paths and call numbers (to judge hits), and per ISBN the call
    numbers libraries gave it (to make call-number queries)."""
    from harvest.store import RecordStore
    from index import text

    facts: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"clc": set(),
                                                                  "call_number": set()})
    calls: dict[str, list[str]] = defaultdict(list)
    with RecordStore.open_read_only(store_path) as store:
        for cluster, records in store.clusters():
            for r in records:
                for c in r.clc:
                    facts[cluster]["clc"].update(text.class_path(c))
                for h in r.holdings:
                    if h.call_number:
                        facts[cluster]["call_number"].add(text.code_key(h.call_number))
                        for isbn in r.isbn:
                            calls[isbn].append(h.call_number)
    return facts, calls


def relevant(j: Judged, hit: Any, facts: dict[str, dict[str, set[str]]]) -> bool:
    from core.fold import title_key

    if "isbn" in j.judge and j.judge["isbn"] in (hit.doc.get("isbn") or []):
        return True
    if "isbn" in j.judge and "title_key" in j.judge and hit.doc.get("isbn"):
        # a record whose ISBN failed its check digit shows none: the book is found when
        # the hit is that edition's title and the hit holds no other ISBN
        return False
    if "title_key" in j.judge:  # the title, or its title proper (红楼梦 : 校注本)
        title = str(hit.doc.get("title") or "")
        proper = title.split(" : ")[0].split("：")[0]
        return j.judge["title_key"] in (title_key(title), title_key(proper))
    if "clc" in j.judge:
        return j.judge["clc"] in facts.get(hit.id, {}).get("clc", set())
    return j.judge["call_number"] in facts.get(hit.id, {}).get("call_number", set())


def evaluate(backend: Any, queries: list[Judged], facts: dict[str, dict[str, set[str]]],
             show_misses: int = 0) -> dict[str, dict[str, float]]:
    from index.backend import SearchRequest

    per: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for j in queries:
        t0 = time.perf_counter()
        result = backend.search(SearchRequest(q=j.q, field=j.field, page_size=10))  # type: ignore[arg-type]
        ms = (time.perf_counter() - t0) * 1000
        rank = next((i for i, h in enumerate(result.hits, 1) if relevant(j, h, facts)), 0)
        if rank != 1 and show_misses and sum(1 for r in per[j.kind] if r[0] < 1) < show_misses:
            shown = " | ".join(str(h.doc.get("title")) for h in result.hits[:3])
            print(f"  miss {j.kind} {j.q!r} {j.judge} rank={rank} total={result.total}: "
                  f"{shown}")
        per[j.kind].append((1 / rank if rank else 0.0, 1.0 if rank else 0.0,
                            1.0 if result.total == 0 else 0.0, ms))
    out: dict[str, dict[str, float]] = {}
    for kind in [*KINDS, "overall", *DIAGNOSTIC]:
        rows = [r for k in KINDS for r in per[k]] if kind == "overall" else per[kind]
        if not rows:
            continue
        times = sorted(r[3] for r in rows)
        out[kind] = {"n": len(rows), "mrr10": sum(r[0] for r in rows) / len(rows),
                     "recall10": sum(r[1] for r in rows) / len(rows),
                     "zero": sum(r[2] for r in rows) / len(rows),
                     "p95_ms": times[int(0.95 * (len(times) - 1))]}
    return out


def build(work: Path, data: dict[str, list[Path]]) -> None:
    from core.config import load
    from harvest.bulk import import_sources

    shutil.rmtree(work, ignore_errors=True)
    write_config(work)
    stats = import_sources(load(work / "config.yaml"), data, processes=2, reindex="rebuild")
    print(f"built: {stats.records:,} records → {stats.index_entries:,} entries in "
          f"{stats.seconds:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--demo", action="store_true", help="the demo catalogue's files")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--reuse", action="store_true",
                        help="search the store and index of the last run as they are")
    parser.add_argument("--show-misses", type=int, default=0, metavar="N",
                        help="print up to N queries per kind whose first hit is not relevant")
    parser.add_argument("--queries", type=Path, help="judge this kept set (JSON lines, as "
                        "--write makes them; bench/judged_demo.jsonl is the demo's) instead "
                        "of making one")
    parser.add_argument("--write", type=Path, help="also write the judged set (JSON lines)")
    args = parser.parse_args(argv)
    base = Path(tempfile.gettempdir()) / "tongjian-bench"
    if args.demo:
        from tongjian.generator import DEMO_EDITIONS

        editions, name = DEMO_EDITIONS, "demo"
        files = {src: sorted(DEMO_DATA.glob(pattern)) for src, (_, pattern, *_)
                 in SOURCES.items()}
    else:
        editions = round(args.records / RECORDS_PER_EDITION + 0.5)
        name = str(args.records)
        data = base / f"data-{args.records}"
        ensure_data(data, args.records, 2)
        files = {src: sorted(data.glob(pattern)) for src, (_, pattern, *_) in SOURCES.items()}
    work = base / f"judged-{name}"
    print(f"# python bench/judged_queries.py {' '.join(argv or sys.argv[1:])}")
    print(f"machine: {describe()}")
    if not (args.reuse and (work / "index").exists()):
        build(work, files)

    from index.tantivy_backend import TantivyBackend

    backend = TantivyBackend(work / "index", cache_entries=0)
    facts, calls = entry_facts(work / "store.db")
    if args.queries:
        queries = [Judged(**json.loads(line)) for line in
                   args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        queries = make_queries(editions, args.per_kind, args.seed, backend, calls)
    if args.write:
        args.write.write_text("".join(json.dumps(j.__dict__, ensure_ascii=False) + "\n"
                                      for j in queries), encoding="utf-8")
    results = evaluate(backend, queries, facts, args.show_misses)
    print(f"{backend.count():,} entries; {len(queries)} judged queries\n")
    print(f"{'kind':<14} {'n':>4} {'MRR@10':>7} {'recall@10':>9} {'zero':>6} {'p95 ms':>7}")
    for kind, r in results.items():
        if kind == DIAGNOSTIC[0]:
            print("diagnostic, not in overall (one word or run many titles share):")
        print(f"{kind:<14} {r['n']:>4.0f} {r['mrr10']:>7.3f} {r['recall10']:>9.3f} "
              f"{r['zero']:>6.1%} {r['p95_ms']:>7.1f}")
    (base / f"judged-{name}.json").write_text(json.dumps(results, indent=1))
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
