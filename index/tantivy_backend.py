"""The embedded search engine: tantivy (Rust, via tantivy-py), no server to run.

Text is analysed in Python by `index.text` and handed to tantivy pre-tokenized, because
tantivy-py can only register tantivy's own Rust tokenizers and none of them segments
Chinese (its ngram tokenizer could make the character pairs, but pairs must follow the
script fold and stop at punctuation, which only `index.text` knows).  Queries are built
term by term with `tantivy.Query` constructors and never go through tantivy's query
parser, so no user input can be a syntax error or an injected operator: `AND OR ( ) " *
: ~ ^ [` are punctuation here like anywhere else.

Matching rules (what a librarian would call "the search behaviour"):

* every query word must match somewhere (title, other titles, authors, subjects, series,
  publisher, summary); a word matches as itself or, scored lower, as all of its shorter
  dictionary parts or all of its Han character pairs in a title or name (for text jieba
  cut differently); a word in Latin letters also as pinyin of a title or name — joined
  (hongloumeng), as its syllables in order (a phrase), or as initials (hlm, whole, or
  the start of a title's initials);
* the whole query also counts as a contiguous run of a title (楼梦 in 红楼梦: its
  character pairs in order) and, when it has Latin letters, read as pinyin (cao xueqin,
  hong楼梦: syllables in order within one title or one name; 红lm: initials) — title
  above author, characters above pinyin above initials, by the boosts below;
* if that finds nothing and the query had several words, half of them (rounded up) must
  match instead, so one misspelt or absent word does not empty the page; and if pinyin
  still finds nothing, titles and names one letter away from it (hongloumen);
* a title equal to the whole query (ignoring punctuation and script) gets a large bonus,
  a whole part of a title or an alternative title (唐诗三百首 of 唐诗三百首：注释本) a
  smaller one;
* among titles holding a Han query as a contiguous run, the more of the title the run
  covers, the higher (西年鉴: 陕西年鉴 before 陕西年鉴2019), and among matches otherwise
  equal, the entry more libraries hold first (popularity, as discovery systems break
  ties by holdings) — both small bonuses that never lift a worse match over a better;
* ISBN-shaped input (ISBN-10 or -13, hyphens allowed) is also looked up on `isbn` (which
  holds, too, the ISBN a catalogued one with a wrong check digit was meant to be), ISSN-
  shaped input on `issn`, call-number-shaped input exactly on `call_number` and as a
  class on `clc_path` (I242 finds I242.47).

Facet counts are computed over the filtered result set by one aggregation request; the
class facet counts the level below the class the reader chose only when one is chosen.
`suggest` reads titles and names off the term dictionary (no search runs);
`did_you_mean` looks one pinyin letter or one character away.  The index must be rebuilt
(see `clear`) when the schema below changes; an index of another release whose format
marker says so is emptied on open and rebuilt from the store, any other schema mismatch
raises a ValueError that says so.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson
import tantivy

from index import marker, text
from index.backend import (
    FACETS,
    YEAR_RANGES,
    SearchHit,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from index.nearby import CLASS_FIELDS as _CLASS_FIELDS
from index.nearby import FUZZY_FIELDS as _FUZZY_FIELDS
from index.nearby import SEP as _SEP
from index.nearby import class_below as _class_below
from index.nearby import class_values_by_level, distinct_corrections, pinyin_letters
from index.nearby import one_edit as _one_edit
from index.nearby import spelt as _spelt
from index.nearby import suggest_keys as _suggest_keys

# Analysed text fields and their weight in an "any field" search.  Title dominates: a word
# in the title says far more about a book than the same word in its summary.
_TEXT_BOOSTS: dict[str, float] = {
    "title": 6.0,
    "title_alt": 3.0,
    "authors": 4.0,
    "responsibility": 2.0,
    "subjects": 2.5,
    "series": 1.5,
    "publisher": 1.0,
    "summary": 0.5,
}
# Pinyin fields, queried only with Latin-letter input, per side (title, author).  A title
# match outranks an author match at every level, and within a side the forms rank joined
# pinyin > syllables in order > initials > a prefix of the initials — so whatever a reader
# types, a fuller spelling of the title wins.  Han fields weigh more than any of them:
# characters typed as characters are the most exact input there is.
_PINYIN_BOOSTS: dict[str, float] = {
    "title_pinyin": 2.0,  # syllables one by one (in order: the pairs fields, below)
    "author_pinyin": 1.5,
    "title_pinyin_joined": 4.0,
    "author_pinyin_joined": 3.0,
    "title_pinyin_whole": 6.0,  # a whole title part, joined: the pinyin twin of title_key
    "title_initials": 1.5,
    "author_initials": 1.0,
    "title_initials_prefix": 0.8,
}
# A whole query read as one syllable sequence (cao xueqin, hong楼梦) found in order.
_PHRASE_BOOSTS: dict[str, float] = {"title": 8.0, "author": 5.0}
# A whole query read as initials (hlm, 红lm).
_INITIALS_BOOSTS: dict[str, float] = {"title_initials": 3.0, "author_initials": 2.0,
                                      "title_initials_prefix": 1.5}
_PREFIX_MIN = 2  # shortest initials prefix indexed: one letter would match a 20th of titles
# Han character pairs (see index.text.bigrams): the rescue for a word jieba cut otherwise
# in the document, weighted well under the word itself; in order (a phrase of pairs) they
# are a contiguous substring of the title, which outranks titles sharing one character.
_BIGRAM_BOOSTS: dict[str, float] = {"title_bigram": 1.5, "author_bigram": 1.0}
_SUBSTRING_BOOST = 6.0
_BOOSTS = {**_TEXT_BOOSTS, **_PINYIN_BOOSTS, **_BIGRAM_BOOSTS}
# Adjacent syllables of a title or name, joined (中国历史 → zhong_guo guo_li li_shi), with
# positions: syllables in order are a phrase of these pairs, as a Han run is a phrase of
# character pairs.  A phrase over single syllables would intersect two of the most common
# terms there are (zhong, guo) and check positions in a good share of all entries; a pair
# is about as rare as the word it spells.
_PAIR_FIELDS = {"title": "title_pinyin_pairs", "author": "author_pinyin_pairs"}
_POSITIONS = (*_PAIR_FIELDS.values(), "title_bigram")
_ANALYSERS = {
    "text": text.tokens,
    "bigram": text.bigrams,
    "syllables": lambda v: text.pinyin_forms(v).syllables,
    "pairs": lambda v: syllable_pairs(text.pinyin_forms(v).syllables),
    "joined": lambda v: text.pinyin_forms(v).joined,
    "whole": lambda v: text.pinyin_forms(v).whole,
    "initials": lambda v: text.pinyin_forms(v).initials,
    "prefix": lambda v: [i[:n] for i in text.pinyin_forms(v).initials
                         for n in range(_PREFIX_MIN, len(i))],
}
_KINDS = {
    "title_pinyin": "syllables", "author_pinyin": "syllables",
    "title_pinyin_joined": "joined", "author_pinyin_joined": "joined",
    "title_pinyin_whole": "whole",
    "title_initials": "initials", "author_initials": "initials",
    "title_initials_prefix": "prefix",
    **dict.fromkeys(_PAIR_FIELDS.values(), "pairs"),
    **dict.fromkeys(_BIGRAM_BOOSTS, "bigram"),
}  # fmt: skip

# request.field -> (text fields, pinyin sides, bigram fields)
_FIELD_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "any": (tuple(_TEXT_BOOSTS), ("title", "author"), tuple(_BIGRAM_BOOSTS)),
    "title": (("title", "title_alt"), ("title",), ("title_bigram",)),
    "author": (("authors", "responsibility"), ("author",), ("author_bigram",)),
    "subject": (("subjects",), (), ()),
}
_ISBN_SHAPED = re.compile(r"[0-9]{9}[0-9X]|97[89][0-9]{10}")
_EXACT_TITLE_BOOST = 20.0
# A query equal to a whole part of a title (唐诗三百首 of 唐诗三百首：注释本) or to an
# alternative title: below the whole title, above a run inside a longer title.
_EXACT_PART_BOOST = 12.0
# Coverage: among titles holding the query as a contiguous run, the more of the title the
# run covers, the likelier it is the book meant (西年鉴 → 陕西年鉴 before 陕西年鉴2019).
# (share of the title's characters covered at least, bonus), cumulative: a title the run
# covers wholly gets every bonus.  The sum (6) is one substring bonus: coverage orders
# titles that hold the run, it never lifts a title that does not above one that does.
_COVERAGE: tuple[tuple[float, float], ...] = ((1 / 3, 1.5), (1 / 2, 1.5), (3 / 4, 3.0))
# Popularity, the tie-breaker of discovery systems (Primo, Summon, VuFind boost by
# holdings): a known-item reader is likelier after a book many libraries hold.  Bonus per
# doubling of the holding libraries (≥ 2, ≥ 4, ≥ 8, ≥ 16), far below any matching rule's
# weight, so it orders equally good matches and nothing else.
_POPULAR: tuple[tuple[int, float], ...] = ((2, 0.25), (4, 0.25), (8, 0.25), (16, 0.25))
_COVER_CHARS = 60
_FACET_FIELDS: tuple[str, ...] = tuple(f for f in FACETS if f != "year_range")
_FACET_SIZE = 1000  # more values than any facet of a provincial consortium has
# A facet with exactly one value per document (`cluster_document` gives each entry one
# material type, possibly none): its buckets plus the missing bucket add up to the number
# of matches.  _MISSING can be no real value: facet values are words or codes.
_TOTAL_FACET = "material_type"
_MISSING = "\x00none"
_MAX_WINDOW = 10_000  # deepest hit reachable by paging (offset + page_size)
_MAX_PAGE_SIZE = 500
_MAX_QUERY_WORDS = 32  # a pasted paragraph is cut here rather than becoming 1,000 clauses
_WRITER_HEAP = 256_000_000
log = logging.getLogger(__name__)
_CACHE_ENTRIES = 8192  # counts+facets of a query (a few KB) or one page's ranking (~1 KB)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    # Pre-tokenized fields; "whitespace" is the tokenizer that would reproduce the
    # space-joined token text, should anyone ever parse a query against them.
    for name in (*_BOOSTS, *_PAIR_FIELDS.values()):
        sb.add_text_field(name, tokenizer_name="whitespace",
                          index_option="position" if name in _POSITIONS else "freq")
    # clc_path: every class a number belongs to (I242.47 → I, I2, I24, I242, I242.4 …).
    # suggest: "key\x1f" + t|a + display form, keys a title's or name's characters, joined
    # pinyin and initials — search-as-you-type reads display forms off the term dictionary.
    for name in ("title_key", "isbn", "issn", "call_number", "clc", "clc_path", "suggest"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    for name in (*_FACET_FIELDS, *_CLASS_FIELDS[1:]):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_integer_field("year", indexed=True, fast=True)
    # title_part_key: each part of the title and each alternative title, as title_key.
    # title_cover, held: terms only ranked by (`_cover_terms`, `_held_terms`); terms, not
    # integer ranges, because a range query gathers every document in range on each search.
    for name in ("title_part_key", "title_cover", "held"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("summary_doc", stored=True)
    return sb.build()


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v not in (None, "")]


def syllable_pairs(syllables: Iterable[str]) -> list[str]:
    """Each two adjacent syllables, joined by "_" (no syllable holds one)."""
    s = list(syllables)
    return [f"{a}_{b}" for a, b in zip(s, s[1:], strict=False)]


@lru_cache(maxsize=100_000)
def _analysed(kind: str, value: str) -> str:
    """A value's terms, space-joined.  Cached: authors, publishers, places, subjects and
    series recur across thousands of documents, and jieba + OpenCC + pinyin cost far more
    than a lookup."""
    return " ".join(_ANALYSERS[kind](value))


def _to_json(value: Any) -> str:
    """A document as JSON for the writer: orjson, ~5× the standard library's encoder.  The
    writer parses it, so only the values count, not the spacing (tests/
    test_ingest_identity.py compares the values with what the code before it made)."""
    return orjson.dumps(value).decode("utf-8")


def _year(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


_SUGGEST_CHARS = 60  # longer titles are not typed, and make long terms


def _suggest_terms(title: str, authors: list[str]) -> list[str]:
    """Suggest terms of an entry: its title proper and each name under every key a reader
    may start typing (characters, joined pinyin, initials)."""
    out: list[str] = []
    for kind, value in [("t", title), *(("a", a) for a in authors)]:
        value = " ".join(value.split())
        if not value or len(value) > _SUGGEST_CHARS:
            continue
        forms = text.pinyin_forms(value)
        keys = [text.title_key(value), *forms.whole[:1], *forms.initials[:1]]
        out += [f"{k}{_SEP}{kind}{value}" for k in dict.fromkeys(keys) if k]
    return out


def _cover_terms(length: int) -> list[str]:
    """Coverage terms of a title `length` characters long: "i:n" for every run length n
    that covers at least the share of `_COVERAGE[i]` (n from ⌈share × length⌉ to length),
    so a query run of n characters asks one term per tier.  Titles longer than
    `_COVER_CHARS` get none: nobody types a run covering a third of them."""
    if length > _COVER_CHARS:
        return []
    return [f"{i}:{n}" for i, (share, _) in enumerate(_COVERAGE)
            for n in range(max(1, math.ceil(share * length - 1e-9)), length + 1)]


def _held_terms(libraries: int) -> list[str]:
    """The popularity tiers (`_POPULAR`) an entry held by `libraries` libraries is in."""
    return [str(least) for least, _ in _POPULAR if libraries >= least]


class Analysed(NamedTuple):
    """A document ready for the writer: its id, and its fields as tantivy JSON."""

    id: str
    json: str


def analyse_document(doc: dict[str, Any]) -> Analysed:
    """All the Python-side work of indexing one document (jieba, pinyin, pairs, keys).

    A module function, not a method, so worker processes can run it without an index;
    the writer then only parses JSON in Rust.  Analysed fields go in as their terms
    joined by spaces, and the schema's "whitespace" tokenizer splits them back into the
    very same terms (no term holds a space: `index.text` cuts on every non-word
    character), which costs far less than building a `tantivy.Token` per term.
    """
    doc_id = str(doc["id"])
    title = str(doc.get("title") or "")
    authors = _as_list(doc.get("authors"))
    title_alt = _as_list(doc.get("title_alt"))
    series = _as_list(doc.get("series"))
    catalogued = _as_list(doc.get("title_pinyin"))  # as the cataloguer wrote it (Hong lou meng)
    parts = text.title_parts(title)
    values: dict[str, list[str]] = {
        "title": [title],
        "title_alt": title_alt,
        "authors": authors,
        "responsibility": _as_list(doc.get("responsibility")),
        "subjects": _as_list(doc.get("subjects")),
        "series": series,
        "publisher": _as_list(doc.get("publisher")) + _as_list(doc.get("place")),
        "summary": _as_list(doc.get("summary")),
        "title_pinyin": [title, *title_alt, *catalogued],
        "author_pinyin": authors,
        "title_pinyin_pairs": [title, *title_alt, *catalogued],
        "author_pinyin_pairs": authors,
        "title_pinyin_joined": [*parts, *title_alt, *catalogued],
        "title_pinyin_whole": [*parts, *title_alt, *catalogued],
        "author_pinyin_joined": authors,
        "title_initials": [*parts, *title_alt, *catalogued],
        "author_initials": authors,
        "title_initials_prefix": [title, *title_alt],
        "title_bigram": [title, *title_alt, *series],
        "author_bigram": authors,
    }
    out: dict[str, Any] = {"id": doc_id}
    for name, items in values.items():
        kind = _KINDS.get(name, "text")
        joined = [terms for item in items if (terms := _analysed(kind, item))]
        if joined:
            out[name] = joined
    if key := text.title_key(title):
        out["title_key"] = key
        out["title_cover"] = _cover_terms(len(key))
    part_keys = [k for value in [*parts[1:], *title_alt]
                 for part in text.title_parts(value) if (k := text.title_key(part)) != key]
    if part_keys := [k for k in dict.fromkeys(part_keys) if k]:
        out["title_part_key"] = part_keys
    if held := _held_terms(len(set(_as_list(doc.get("library"))))):
        out["held"] = held
    if suggest := _suggest_terms(parts[1] if len(parts) > 1 else title, authors):
        out["suggest"] = suggest
    keyed = {
        "isbn": [text.isbn_key(v) or text.code_key(v) for v in _as_list(doc.get("isbn"))]
        + [k for v in _as_list(doc.get("isbn_invalid"))
           for k in (text.meant_isbn(v), text.code_key(v)) if k],
        "issn": [text.issn_key(v) or text.code_key(v) for v in _as_list(doc.get("issn"))],
        "call_number": [text.code_key(v) for v in _as_list(doc.get("call_number"))],
        "clc": [text.code_key(v) for v in _as_list(doc.get("clc"))],
        "clc_path": list(dict.fromkeys(
            p for v in _as_list(doc.get("clc")) for p in text.class_path(v))),
    }
    for name in _FACET_FIELDS:
        keyed[name] = list(dict.fromkeys(_as_list(doc.get(name))))
    # The class facet is a hierarchy: every class an entry is in, one field per level
    # (I242.47 → clc_top I, clc_2 I2, clc_3 I24), so a filter on I24 keeps I242.47, and a
    # search counts only the level below the reader's choice.
    paths = [text.class_path(v) for v in _as_list(doc.get("clc"))]
    for level, name in enumerate(_CLASS_FIELDS[1:], 2):
        keyed[name] = list(dict.fromkeys(p[level - 1] for p in paths
                                         if len(p) >= level and "." not in p[level - 1]))
    keyed[_TOTAL_FACET] = keyed[_TOTAL_FACET][:1]  # one value at most: totals count on it
    out.update((name, values) for name, values in keyed.items() if values)
    year = _year(doc.get("year"))
    if year is not None:
        out["year"] = year
    summary = doc.get("summary_doc") or {"id": doc_id, "title": title}
    raw = orjson.dumps(summary)
    out["summary_doc"] = base64.b64encode(raw).decode("ascii")  # bytes fields take base64
    return Analysed(doc_id, _to_json(out))


class TantivyBackend:
    """SearchBackend on a tantivy index: on disk at `path`, or in memory when None.

    The writer is created on the first change, not on open, so a portal process can search
    an index another process is building (tantivy allows one writer per index directory).

    Counts and facets are cached per query, as Elasticsearch's shard request cache does
    for aggregations, and a page's ranking (document addresses, not documents) per query,
    sort and page, as Solr's queryResultCache does: counting, faceting and ranking a broad
    query (中国 matches a third of a million entries) is most of a search's time, and
    readers page through results, re-sort them and repeat popular queries.  The cache
    belongs to one index generation: the reader reloads only here — after this process
    commits, or when a search sees that another process committed (tantivy rewrites
    meta.json on every commit) — and entries are keyed by generation, so a search only
    ever uses what was computed on its own searcher; each reload empties the cache.
    """

    def __init__(self, path: Path | None = None, writer_heap: int = _WRITER_HEAP,
                 cache_entries: int = _CACHE_ENTRIES) -> None:
        self._schema = _schema()
        self._cache_size = cache_entries
        self.path = Path(path) if path is not None else None
        self._writer_heap = writer_heap
        self._meta: Path | None = None
        if path is None:
            self._index = tantivy.Index(self._schema)
        else:
            path = Path(path)
            path.mkdir(parents=True, exist_ok=True)
            try:
                self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
            except ValueError as exc:
                if marker.stale_reason(path) and (path / "meta.json").exists():
                    # Another release's index (its marker says so, or it has none): the
                    # index is disposable, so it is emptied here and rebuilt from the store
                    # before it is served (`tongjian.commands.current_index`).
                    log.warning("the index at %s was built by another release (%s); "
                                "emptying it to rebuild from the store", path,
                                marker.stale_reason(path))
                    _empty(path)
                    self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
                    self._meta = path / "meta.json"
                    self._start()
                    return
                raise ValueError(
                    f"the search index at {path} was built with a different schema or "
                    f"tantivy version ({exc}); delete the directory and rebuild the index"
                ) from exc
            self._meta = path / "meta.json"
        self._start()

    def _start(self) -> None:
        self._writer: Any = None
        self._index.config_reader(reload_policy="Manual")
        self._lock = threading.Lock()
        self._stamp: bytes | None = None
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._generation = 0
        self._reload()

    # -- writing ---------------------------------------------------------------------

    def _w(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=self._writer_heap)
        return self._writer

    @staticmethod
    def prepare(doc: dict[str, Any]) -> Analysed:
        """`analyse_document`: the text analysis needs no index, so a bulk rebuild runs it
        in worker processes, on every core."""
        return analyse_document(doc)

    def add(self, docs: Iterable[dict[str, Any]]) -> int:
        return self.add_prepared(analyse_document(doc) for doc in docs)

    def add_prepared(self, docs: Iterable[Analysed], replace: bool = True) -> int:
        """Add documents `analyse_document` made (here or in a worker process): the writer
        only parses their JSON.  `replace=False` skips the delete-by-id, for an index
        known to be empty (right after `clear`)."""
        writer = self._w()
        n = 0
        for analysed in docs:
            if replace:
                writer.delete_documents_by_term("id", analysed.id)
            writer.add_json(analysed.json)
            n += 1
        return n

    def delete(self, ids: Iterable[str]) -> None:
        writer = self._w()
        for doc_id in ids:
            writer.delete_documents_by_term("id", str(doc_id))

    def clear(self) -> None:
        # Rollback first: tantivy's delete_all_documents drops the committed segments but
        # keeps documents added since the last commit.
        writer = self._w()
        writer.rollback()
        writer.delete_all_documents()

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
        self._reload()

    def close(self) -> None:
        """Release the writer (and its lock).  Uncommitted changes are discarded."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.rollback()
            writer.wait_merging_threads()

    def count(self) -> int:
        return int(self._searcher()[0].num_docs)

    # -- reader generations ----------------------------------------------------------

    def _meta_stamp(self) -> bytes | None:
        """meta.json's content: tantivy rewrites it on every commit with a new opstamp, so
        unlike its inode, mtime or size it never repeats (a few KB, read per search)."""
        if self._meta is None:
            return None
        try:
            return self._meta.read_bytes()
        except OSError:
            return None

    def _reload(self) -> None:
        with self._lock:
            # Stamp first: the reload then reads a meta.json at least as new as the stamp,
            # so a commit racing with it costs one more reload, never a stale searcher.
            self._stamp = self._meta_stamp()
            self._index.reload()
            self._generation += 1
            self._cache.clear()

    def _searcher(self) -> tuple[Any, int]:
        """The current searcher and its generation, reloaded first if another process has
        committed."""
        if self._meta is not None and self._meta_stamp() != self._stamp:
            self._reload()
        with self._lock:
            return self._index.searcher(), self._generation

    def _cached(self, key: tuple[Any, ...], generation: int) -> Any:
        """What a search of `generation` remembered under `key`.  The generation is part of
        the key: a search still holding the previous searcher must not use counts or
        document addresses computed on the new one (nor the other way round)."""
        with self._lock:
            hit = self._cache.get((generation, *key))
            if hit is not None:
                self._cache.move_to_end((generation, *key))
            return hit

    def _remember(self, key: tuple[Any, ...], generation: int, value: Any) -> None:
        with self._lock:
            if self._cache_size <= 0 or generation != self._generation:
                return  # a reload happened meanwhile: the value belongs to the old index
            self._cache[(generation, *key)] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # -- searching -------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        searcher, generation = self._searcher()
        filters = self._filters(request.filters)
        page_size = max(1, min(int(request.page_size), _MAX_PAGE_SIZE))
        offset = (max(1, int(request.page)) - 1) * page_size

        # The strict query, then the relaxed one if the strict one found nothing.  The
        # facet pass counts the matches too, so the ranking pass needs no count and can
        # skip documents that cannot reach the page (block-max WAND).
        what = (request.q, request.field,
                tuple(sorted((k, tuple(sorted(map(str, v)))) for k, v in
                             (request.filters or {}).items() if v)))
        cached = self._cached(("counts", what), generation)  # (query no., total, facets)
        total, facets, full = 0, _no_facets(), tantivy.Query.empty_query()
        n = -1
        for n, query in enumerate(self._queries(request, searcher)):
            full = self._with_filters(query, filters)
            if cached is not None:
                if n < cached[0]:
                    continue
                total, facets = cached[1], cached[2]
                break
            total, facets = self._facets(searcher, full, _class_below(request.filters))
            if total:
                break
        if cached is None:
            self._remember(("counts", what), generation, (n if total else -1, total, facets))
        # Each caller gets its own lists: the cached ones are shared by every request.
        facets = {name: list(pairs) for name, pairs in facets.items()}
        hits: list[SearchHit] = []
        if total and offset + page_size <= _MAX_WINDOW:
            # Past the window only the total is reported: a top-k heap of offset + limit
            # entries is what deep paging would cost.
            page = ("page", what, request.sort, offset, page_size)
            ranked = self._cached(page, generation)
            if ranked is None:
                ranked = self._top(searcher, full, request.sort, offset, page_size)
                self._remember(page, generation, ranked)
            hits = [self._hit(searcher, key, addr, request.sort) for key, addr in ranked]
        return SearchResult(total=total, hits=hits, facets=facets)

    def suggest(self, q: str, limit: int = 8) -> list[Suggestion]:
        """Titles and names starting with what the reader has typed so far — in
        characters, joined pinyin or initials — the most common first (an entry count per
        display form), then the shortest.  Read off the term dictionary: no search runs."""
        keys = list(dict.fromkeys(_suggest_keys(q)))
        if not keys:
            return []
        searcher, generation = self._searcher()
        # Readers type the same first keystrokes (中, zh, hl …): kept like a query's counts.
        remembered = self._cached(("suggest", tuple(keys), limit), generation)
        if remembered is not None:
            return list(remembered)
        found: dict[tuple[Literal["title", "author"], str], tuple[bool, int]] = {}
        for key in keys:
            for term, count in searcher.terms_with_prefix("suggest", key, limit=_SUGGEST_SCAN):
                head, _, rest = str(term).partition(_SEP)
                if not rest:
                    continue
                kind: Literal["title", "author"] = "title" if rest[0] == "t" else "author"
                item = (kind, rest[1:])
                exact, n = found.get(item, (False, 0))
                found[item] = (exact or head == key, max(n, int(count)))
        ranked = sorted(found.items(), key=lambda kv: (not kv[1][0], -kv[1][1],
                                                        len(kv[0][1]), kv[0]))
        out = [Suggestion(text=display, field=kind) for (kind, display), _ in ranked[:limit]]
        self._remember(("suggest", tuple(keys), limit), generation, tuple(out))
        return out

    def did_you_mean(self, q: str, limit: int = 3) -> list[str]:
        """Queries near one that found little: for pinyin, titles and names one letter
        away; for characters, titles one character away, in either script (紅樓孟 →
        红楼梦: the comparison is on the folded title).  Each is a whole title or name, so
        following it finds something."""
        q = " ".join(q.split())
        out: list[str] = []
        searcher, _ = self._searcher()
        latin = text.latin_input(q)
        queries: list[tuple[str, tantivy.Query]] = []
        letters = pinyin_letters(q)
        if latin is not None:
            if letters:
                queries += [(side, tantivy.Query.fuzzy_term_query(
                    self._schema, _FUZZY_FIELDS[side], letters, distance=1))
                    for side in ("title", "author")]
        elif (key := text.title_key(q)) and 2 <= len(key) <= 30:
            queries.append(("title", tantivy.Query.fuzzy_term_query(
                self._schema, "title_key", key, distance=1)))
        for side, query in queries:
            for _, addr in searcher.search(query, limit, count=False).hits:
                raw = searcher.doc(addr).get_first("summary_doc")
                stored = json.loads(bytes(raw).decode("utf-8")) if raw is not None else {}
                if not letters:
                    out.append(str(stored.get("title") or ""))
                    continue
                # the title (part) or name that is one letter away, not 红楼梦研究 for
                # hongloumen nor the book's other authors
                values = (text.title_parts(str(stored.get("title") or "")) if side == "title"
                          else [str(n) for n in stored.get("authors") or []])
                out += [v for v in values if _one_edit(_spelt(v), letters)]
        return distinct_corrections(q, out, limit)

    def _top(self, searcher: Any, query: tantivy.Query, sort: str, offset: int,
             limit: int) -> list[tuple[Any, Any]]:
        kwargs: dict[str, Any] = {}
        if sort in ("year_desc", "year_asc"):
            kwargs["order_by_field"] = "year"
            kwargs["order"] = tantivy.Order.Desc if sort == "year_desc" else tantivy.Order.Asc
        hits: list[tuple[Any, Any]] = searcher.search(query, limit, count=False, offset=offset,
                                                      **kwargs).hits
        return hits

    def _hit(self, searcher: Any, key: Any, addr: Any, sort: str) -> SearchHit:
        stored = searcher.doc(addr)
        doc_id = stored.get_first("id")
        raw = stored.get_first("summary_doc")
        summary = orjson.loads(raw) if raw is not None else {}
        score = float(key) if sort == "relevance" and key is not None else 0.0
        return SearchHit(id=str(doc_id), score=score, doc=summary)

    def _facets(self, searcher: Any, query: tantivy.Query, below: str = ""
                ) -> tuple[int, dict[str, list[tuple[str, int]]]]:
        """(number of matches, facet counts) in one aggregation pass.

        The number of matches is the sum of the `_TOTAL_FACET` buckets: that facet holds
        exactly one value per document, the "missing" bucket counting those without one.
        `below`: the class level field to count too (the subclasses of the class the
        reader chose), reported in the class facet beside the top classes.
        """
        raw = searcher.aggregate(query, _aggregations_for(below))
        counted = raw.get(_TOTAL_FACET, {})
        total = int(counted.get("sum_other_doc_count", 0)) + sum(
            int(b["doc_count"]) for b in counted.get("buckets", []))
        if not total:
            return 0, _no_facets()
        facets: dict[str, list[tuple[str, int]]] = {}
        order = {label: i for i, (label, _, _) in enumerate(YEAR_RANGES)}
        for name in FACETS:
            buckets = raw.get(name, {}).get("buckets", [])
            pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets
                     if b["doc_count"] and b["key"] != _MISSING]
            if name == "year_range":  # tantivy adds its own gap buckets; keep ours
                pairs = [p for p in pairs if p[0] in order]
                pairs.sort(key=lambda p: (-p[1], order[p[0]]))
            else:
                pairs.sort(key=lambda p: (-p[1], p[0]))
            facets[name] = pairs
        if below:
            sub = [(str(b["key"]), int(b["doc_count"]))
                   for b in raw.get(below, {}).get("buckets", []) if b["doc_count"]]
            facets["clc_top"] += sorted(sub, key=lambda p: (-p[1], p[0]))
        return total, facets

    # -- query building --------------------------------------------------------------

    def _phrase(self, field: str, words: Iterable[str]) -> tantivy.Query:
        """`words` in this order, next to each other, within one value of `field`."""
        terms: list[str | tuple[int, str]] = list(words)
        return tantivy.Query.phrase_query(self._schema, field, terms)

    def _syllables(self, side: str, syllables: Iterable[str]) -> tantivy.Query:
        """`syllables` (two or more) in this order within one title or one name of `side`:
        one pair term, or a phrase of pairs."""
        pairs = syllable_pairs(syllables)
        if len(pairs) == 1:
            return self._term(_PAIR_FIELDS[side], pairs[0])
        return self._phrase(_PAIR_FIELDS[side], pairs)

    def _term(self, field: str, value: Any) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, field, value)

    def _queries(self, request: SearchRequest, searcher: Any) -> Iterator[tantivy.Query]:
        """The query to run, then (lazily) the relaxed one to try when it finds nothing."""
        q = (request.q or "").strip()
        if not q:
            yield tantivy.Query.all_query()
            return
        field = request.field
        if field == "isbn":
            key = text.isbn_key(q) or text.issn_key(q)
            exact = [self._term("isbn", key), self._term("issn", key)] if key else []
            code = text.code_key(q)
            exact += [self._term("isbn", code), self._term("issn", code)]
            yield self._any_of(exact)
            return
        if field == "call_number":
            code = text.code_key(q)
            if not code:
                return
            yield self._term("call_number", code)
            # No exact hit: the call numbers starting with the input (shelf browsing).
            # Looked up in the term dictionary, so no pattern is ever built from input.
            shelf = [t for t, _ in searcher.terms_with_prefix("call_number", code, limit=1000)]
            yield tantivy.Query.term_set_query(self._schema, "call_number", shelf)
            return
        fields = _FIELD_GROUPS.get(field, _FIELD_GROUPS["any"])
        words = text.query_words(q)[:_MAX_QUERY_WORDS]
        latin = text.latin_input(q) if fields[1] else None
        # One pinyin word (zhongguo) read in order is the whole query read in order: its
        # phrase is asked once, by `_whole_pinyin`, with both boosts — the same score sum
        # as asking it twice, for the price of one phrase over two common syllables.
        once = (latin is not None and len(words) == 1
                and text.split_syllables(words[0][0]) == latin.syllables)
        groups = [self._word(w, parts, *fields, phrase=not once) for w, parts in words]
        extra: list[tantivy.Query] = []
        if field in ("any", "title") and (key := text.title_key(q)):
            title_hit = self._term("title_key", key)
            extra.append(tantivy.Query.boost_query(title_hit, _EXACT_TITLE_BOOST))
            part_hit = self._term("title_part_key", key)
            extra.append(tantivy.Query.boost_query(part_hit, _EXACT_PART_BOOST))
        if field in ("any", "title"):
            extra += self._substring(q, searcher)
        if latin is not None:
            extra += self._whole_pinyin(latin, fields[1], with_word=once)
        if field == "any":
            extra += self._identifier_queries(q)
        if field == "subject" and text.looks_like_call_number(q):
            extra.append(self._term("clc_path", text.code_key(q)))
        strict = self._any_of(([self._all_of(groups)] if groups else []) + extra)
        yield self._popular(strict, searcher)
        if len(groups) >= 2 and not (field == "any" and (text.isbn_key(q) or text.issn_key(q))):
            # An identifier is never relaxed: half an ISBN's digit groups match junk.
            need = math.ceil(len(groups) / 2)
            relaxed = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, g) for g in groups], minimum_number_should_match=need
            )
            yield self._popular(self._any_of([relaxed, *extra]), searcher)
        if latin is not None and (letters := pinyin_letters(q)):
            # Still nothing: a letter typed wrong (hongloumen).  Pinyin one edit away from
            # a whole title part or name, only now, so exact spellings never compete.
            yield self._popular(self._any_of([
                tantivy.Query.boost_query(tantivy.Query.fuzzy_term_query(
                    self._schema, _FUZZY_FIELDS[side], letters, distance=1),
                    _PHRASE_BOOSTS[side])
                for side in fields[1]]), searcher)

    def _popular(self, query: tantivy.Query, searcher: Any) -> tantivy.Query:
        """`query`, its matches ordered among equals by how many libraries hold them
        (`_POPULAR`): bonuses beside a required clause add to the score and never match on
        their own, and a count needs no score, so they cost the count nothing."""
        return self._with_bonuses(query, [("held", str(least), bonus)
                                          for least, bonus in _POPULAR], searcher)

    def _with_bonuses(self, query: tantivy.Query, bonuses: Iterable[tuple[str, str, float]],
                      searcher: Any) -> tantivy.Query:
        """`query`, plus a constant bonus for each (field, term, bonus) its match has.

        Nested, one bonus per level (`query` required, one term optional), not one boolean
        with every bonus optional: tantivy scores several optional clauses through a union
        that walks their posting lists window by window — and a popularity or coverage
        term is in a good share of all entries — while a lone optional term is only
        skipped forward to the documents `query` matches.  A term no entry has (four
        holding libraries, in a catalogue of three) is left out: its level would still
        be passed for every document scored.  The scores are the same sums, so the
        ranking is the same (bench_search_cpu's responses were identical byte for byte),
        for less CPU per request: the figures are in docs/benchmarks.md."""
        for field, term, bonus in bonuses:
            if not searcher.doc_freq(field, term):
                continue
            optional = tantivy.Query.const_score_query(self._term(field, term), bonus)
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                                 (tantivy.Occur.Should, optional)])
        return query

    def _substring(self, q: str, searcher: Any) -> list[tantivy.Query]:
        """A Han query as a contiguous run of a title (楼梦 in 红楼梦): its character pairs
        in order.  Ranks the title holding the run above titles sharing one character, and
        among those, the one the run covers more of.  A query of one word is matched as
        itself, or as its pairs, by `_word`, and gets no coverage bonus: for a word as
        common as 中国 that clause would score every title holding it, and a shorter
        title already scores higher on the word itself (BM25's length norm)."""
        runs = [(run, words) for is_han, run, words in text.segments(q) if is_han]
        if len(runs) != 1 or len(runs[0][1]) < 2:
            return []
        run = runs[0][0]
        pairs = text.bigrams(run)
        query = (self._term("title_bigram", pairs[0]) if len(pairs) == 1 else
                 self._phrase("title_bigram", pairs))
        # the share of the title the run covers (`_COVERAGE`, `_cover_terms`)
        held = tantivy.Query.boost_query(query, _SUBSTRING_BOOST)
        return [self._with_bonuses(held, [("title_cover", f"{i}:{len(run)}", bonus)
                                          for i, (_, bonus) in enumerate(_COVERAGE)],
                                   searcher)]

    def _whole_pinyin(self, latin: text.LatinInput, sides: tuple[str, ...],
                      with_word: bool = False) -> list[tantivy.Query]:
        """The whole query read as pinyin: its syllables in order (a phrase in one title
        or one name, so cao xueqin finds 曹雪芹 and not 草 … 雪 … 琴), the same joined, and
        as initials (hlm, 红lm).  `with_word`: the query is one word whose own phrase
        (`_pinyin_word`) was left out, so its boost is added here."""
        out: list[tantivy.Query] = []
        syllables = list(latin.syllables)
        if len(syllables) >= 2:
            for side in sides:
                boost = _PHRASE_BOOSTS[side]
                phrase = self._syllables(side, syllables)
                out.append(tantivy.Query.boost_query(
                    phrase, boost + (_BOOSTS[f"{side}_pinyin"] if with_word else 0.0)))
                joined = self._term(f"{side}_pinyin_joined", "".join(syllables))
                out.append(tantivy.Query.boost_query(joined, boost))
            if "title" in sides:
                whole = self._term("title_pinyin_whole", "".join(syllables))
                out.append(tantivy.Query.boost_query(whole, _PHRASE_BOOSTS["title"]))
        if len(latin.initials) >= _PREFIX_MIN:
            for name, boost in _INITIALS_BOOSTS.items():
                if name.split("_", 1)[0] in sides:
                    out.append(tantivy.Query.boost_query(self._term(name, latin.initials),
                                                         boost))
        return out

    def _word(
        self,
        word: str,
        parts: tuple[str, ...],
        text_fields: tuple[str, ...],
        sides: tuple[str, ...],
        bigram_fields: tuple[str, ...],
        phrase: bool = True,
    ) -> tantivy.Query:
        """One query word: the word itself in any field, or else (scored lower) all of its
        shorter parts, or all of its character pairs in a title or name; a word in Latin
        letters also as pinyin — joined, as syllables in order (unless not `phrase`), or
        as initials."""
        alternatives = [self._in_fields(word, list(text_fields))]
        if sides and word.isascii() and word.isalpha():
            alternatives += self._pinyin_word(word, sides, phrase)
        if parts:
            whole_parts = self._all_of([self._in_fields(p, list(text_fields)) for p in parts])
            alternatives.append(tantivy.Query.boost_query(whole_parts, 0.5))
        pairs = list(dict.fromkeys(text.bigrams(word))) if bigram_fields else []
        if pairs:
            in_pairs = [self._in_fields(p, list(bigram_fields)) for p in pairs]
            alternatives.append(self._all_of(in_pairs))
        return alternatives[0] if len(alternatives) == 1 else self._any_of(alternatives)

    def _pinyin_word(self, word: str, sides: tuple[str, ...],
                     phrase: bool = True) -> list[tantivy.Query]:
        syllables = text.split_syllables(word)
        fields = [f"{side}_pinyin_joined" for side in sides]
        if len(syllables) == 1:
            fields += [f"{side}_pinyin" for side in sides]
        if len(word) >= _PREFIX_MIN:
            fields += [f"{side}_initials" for side in sides]
            if "title" in sides:
                fields.append("title_initials_prefix")
        out = [self._in_fields(word, fields)]
        if len(syllables) > 1 and phrase:
            out += [tantivy.Query.boost_query(
                self._syllables(side, syllables),
                _BOOSTS[f"{side}_pinyin"]) for side in sides]
        return out

    def _in_fields(self, term: str, fields: list[str]) -> tantivy.Query:
        subqueries = [tantivy.Query.boost_query(self._term(f, term), _BOOSTS[f]) for f in fields]
        if len(subqueries) == 1:
            return subqueries[0]
        return tantivy.Query.disjunction_max_query(subqueries, tie_breaker=0.1)

    def _identifier_queries(self, q: str) -> list[tantivy.Query]:
        """Exact lookups for input that looks like an ISBN, ISSN or call number."""
        out: list[tantivy.Query] = []
        if isbn := text.isbn_key(q):
            out.append(tantivy.Query.boost_query(self._term("isbn", isbn), _EXACT_TITLE_BOOST))
        elif _ISBN_SHAPED.fullmatch(typed := text.code_key(q).replace("-", "")):
            # a wrong check digit, as some record has it catalogued
            out.append(tantivy.Query.boost_query(self._term("isbn", typed), _EXACT_TITLE_BOOST))
        if issn := text.issn_key(q):
            out.append(tantivy.Query.boost_query(self._term("issn", issn), _EXACT_TITLE_BOOST))
        if text.looks_like_call_number(q):
            code = text.code_key(q)
            out.append(
                tantivy.Query.boost_query(self._term("call_number", code), _EXACT_TITLE_BOOST)
            )
            out.append(tantivy.Query.boost_query(self._term("clc_path", code), 2.0))
        return out

    @staticmethod
    def _all_of(queries: list[tantivy.Query]) -> tantivy.Query:
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])

    @staticmethod
    def _any_of(queries: list[tantivy.Query]) -> tantivy.Query:
        if not queries:
            return tantivy.Query.empty_query()
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    # -- filters ---------------------------------------------------------------------

    def _filters(self, filters: dict[str, list[str]]) -> list[tantivy.Query]:
        """One query per facet: OR within a facet's values, AND across facets.

        Unknown facet names are ignored (they come from URLs); an unknown year-range label
        matches nothing, as any value no document has would.
        """
        out: list[tantivy.Query] = []
        for name, values in (filters or {}).items():
            values = [str(v) for v in (values or []) if str(v)]
            if not values or name not in FACETS:
                continue
            if name == "year_range":
                bounds = {label: (a, b) for label, a, b in YEAR_RANGES}
                ranges = [
                    tantivy.Query.range_query(
                        self._schema, "year", tantivy.FieldType.Integer, *bounds[v]
                    )
                    for v in values
                    if v in bounds
                ]
                out.append(self._any_of(ranges))
            elif name == "clc_top":  # a class of any level: the field of its level
                by_level = [tantivy.Query.term_set_query(self._schema, field, chosen)
                            for field, chosen in class_values_by_level(values)]
                out.append(self._any_of(by_level))
            else:
                out.append(tantivy.Query.term_set_query(self._schema, name, values))
        return out

    @staticmethod
    def _with_filters(query: tantivy.Query, filters: list[tantivy.Query]) -> tantivy.Query:
        if not filters:
            return query
        # Filters restrict without scoring, so they never reorder relevance.
        clauses = [(tantivy.Occur.Must, query)] + [
            (tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters
        ]
        return tantivy.Query.boolean_query(clauses)


def _empty(path: Path) -> None:
    """Remove an index's files (tantivy's and the format marker), nothing else."""
    for f in path.iterdir():
        if f.is_file() and (f.name in ("meta.json", ".managed.json", marker.MARKER)
                            or f.suffix in (".idx", ".pos", ".term", ".store", ".fast",
                                            ".fieldnorm", ".del", ".lock")
                            or f.name.startswith(".tantivy")):
            f.unlink()


_SUGGEST_SCAN = 200  # most common display forms per key considered


def _no_facets() -> dict[str, list[tuple[str, int]]]:
    return {name: [] for name in FACETS}


def _aggregations() -> dict[str, Any]:
    """One terms aggregation per facet field and the year ranges, as tantivy takes them."""
    aggs: dict[str, Any] = {
        name: {"terms": {"field": name, "size": _FACET_SIZE}} for name in _FACET_FIELDS
    }
    aggs[_TOTAL_FACET]["terms"]["missing"] = _MISSING
    ranges = []
    for label, first, last in YEAR_RANGES:
        r: dict[str, Any] = {"key": label}
        if first is not None:
            r["from"] = first
        if last is not None:
            r["to"] = last + 1  # tantivy ranges exclude `to`
        ranges.append(r)
    aggs["year_range"] = {"range": {"field": "year", "ranges": ranges}}
    return aggs


_AGGREGATIONS = _aggregations()


@lru_cache(maxsize=len(_CLASS_FIELDS))
def _aggregations_for(below: str) -> dict[str, Any]:
    if not below:
        return _AGGREGATIONS
    return {**_AGGREGATIONS, below: {"terms": {"field": below, "size": _FACET_SIZE}}}
