"""The search-server backend: Meilisearch, through its official Python client.

For a province whose catalogue outgrows one machine's index (docs/scaling.md) the index
moves to a Meilisearch server that several portal processes and machines share.  What
stays the same is everything a reader can tell apart:

* **The same Chinese analysis.**  Documents are prepared by the tantivy backend's own
  `analyse_document` (jieba words, traditional/simplified fold, pinyin, Han pairs, ISBN
  and call-number keys) and sent as those terms, space-joined, and queries are cut by
  `index.text.query_words`, so both engines see the same words.  Meilisearch's own
  segmenter folds traditional script only after it has segmented, so 紅樓夢 left to it is
  cut differently from 红楼梦; pre-analysed terms sidestep that.  Typo tolerance is off
  for the Han fields (a one-character "typo" of a two-character word is another word)
  and prefix search is off (tantivy matches whole terms only; `suggest` below).
* **The same fields, weights and facets.**  The searchable attributes are tantivy's
  weighted fields in the order of their weights (Meilisearch ranks by attribute order,
  not by numeric boosts), preceded by `title_key` so a title equal to the query ranks
  first, as tantivy's exact-title bonus does.  Facets are `index.backend.FACETS`; the
  year ranges are stored as a label per document (Meilisearch has no range facets).
* **Exact identifiers.**  ISBN, ISSN, call number and CLC are filters (exact), never
  full-text; call-number shelf browsing uses every prefix of each call number.
* **The count.**  As in tantivy, the number of matches is the sum of the
  `material_type` facet, which holds exactly one value per document (a hidden value for
  none): Meilisearch's own exhaustive count stops at `maxTotalHits`, which also bounds
  how deep it ranks and is therefore kept at the paging window.

Where it differs, said plainly: the relaxed second try for a query that finds nothing
(tantivy: any half of the words) is Meilisearch's `matchingStrategy: last`, with the
words that match nothing put last and the rarer words first, so one absent or misspelt
word still does not empty the page; and the ranking among equally good matches is
Meilisearch's bucket sort, not BM25.

Issue 12's behaviours: initials (hlm), mixed input (红lm) and joined pinyin are terms of
the analysed fields, so they match as words; the class query (I242 → I242.4) filters on
`clc_path`, and the class facet filters on the field of the chosen level and counts the
level below (`index.nearby`), as tantivy does.  Not said alike: tantivy's phrase query
over pinyin syllables and over character pairs (substring) — Meilisearch's proximity
rule ranks adjacent words first but does not require them — and its numeric boosts
(title phrase 8 > author phrase 5), here the attribute order (title fields before
author fields).  Tantivy's coverage and popularity bonuses are, here, the last two ranking
rules: among matches the built-in rules call equal, the shorter title first (`title_chars`,
so the query covers more of it), then the entry more libraries hold (`held_by`); a whole
title part or alternative title (`title_part_key`) is searched right after the title.
`suggest` keeps prefix search off (it would loosen every query): each document stores
every prefix (≤ 16 characters) of its suggest keys as an exact filter, and the facet
distribution of the matching entries' suggest terms gives the same terms and counts
tantivy reads off its term dictionary.  `did_you_mean` takes candidates from
Meilisearch (typo tolerance on the whole-pinyin fields; titles sharing a character pair)
and keeps those `nearby.one_edit` away, as tantivy's fuzzy terms are; Meilisearch counts
a typo on a word's first letter as two, so a first-letter slip (hongloumeng → jongloumeng)
may find no candidate, and a two-character title with its other character changed shares
no pair with the query.

Indexing is asynchronous on the server: `add_prepared` sends batches and remembers their
tasks, `commit` waits until every task has succeeded (and raises with the server's error
otherwise), so "visible after commit" holds as for tantivy.  Needs Meilisearch ≥ 1.12
(`prefixSearch`, `localizedAttributes`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from index import nearby, text
from index.backend import (
    FACETS,
    YEAR_RANGES,
    SearchHit,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from index.tantivy_backend import (
    _BOOSTS,
    _FACET_SIZE,
    _FIELD_GROUPS,
    _MAX_PAGE_SIZE,
    _MAX_QUERY_WORDS,
    _MAX_WINDOW,
    _PAIR_FIELDS,
    _PINYIN_BOOSTS,
    _TOTAL_FACET,
    _as_list,
    analyse_document,
)

_NONE = "_none"  # the hidden material type of a document without one (counts add up)
_FACET_FIELDS = tuple(f for f in FACETS if f != "year_range")
_CODES = ("isbn", "issn", "call_number", "call_number_prefix", "clc", "clc_path")
_SUGGEST_PREFIX = 16  # longest suggest-key prefix stored; a longer input is checked after
_SUGGEST_SCAN = 1000  # suggest terms counted per request (the facet size)
_NEAR_SCAN = 20  # candidates per query that did_you_mean checks for one edit
# Every analysed field, the heaviest first: Meilisearch's `attribute` rule ranks by order.
# title_part_key (a whole part of the title, an alternative title) right after the title.
_SEARCHABLE = ("title_key", "title_part_key", *sorted(_BOOSTS, key=lambda f: -_BOOSTS[f]))
_NO_TITLE = 10_000  # title_chars of an entry without a title: after every titled one
_HAN_FIELDS = tuple(f for f in _SEARCHABLE if f not in _PINYIN_BOOSTS)
_PK = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
BATCH = 5_000  # documents per add_documents request (a few MB of JSON)
_MAX_PENDING = 8  # tasks sent and not yet finished before a rebuild waits for the server
_TASK_TIMEOUT_MS = 3_600_000  # a 10M-entry rebuild's last batch can take minutes

SETTINGS: dict[str, Any] = {
    "searchableAttributes": list(_SEARCHABLE),
    "displayedAttributes": ["id", "summary_doc"],
    "filterableAttributes": [*_FACET_FIELDS, *nearby.CLASS_FIELDS[1:], "year_range", "year",
                             *_CODES, "suggest", "suggest_prefix"],
    "sortableAttributes": ["year"],
    # `sort` first: a sorted list is in year order, as tantivy's; without a sort the rule
    # does nothing and relevance decides.  Among equally good matches, as tantivy's
    # coverage and popularity bonuses: the shorter title (the query covers more of it),
    # then the entry more libraries hold.
    "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness",
                     "title_chars:asc", "held_by:desc"],
    "typoTolerance": {"enabled": True, "disableOnAttributes": list(_HAN_FIELDS)},
    "faceting": {"maxValuesPerFacet": _FACET_SIZE, "sortFacetValuesBy": {"*": "count"}},
    "pagination": {"maxTotalHits": _MAX_WINDOW},
    "prefixSearch": "disabled",
    "localizedAttributes": [{"attributePatterns": list(_HAN_FIELDS), "locales": ["cmn"]}],
    "stopWords": [],
    "synonyms": {},
}
# request.field -> the attributes searched (None: all of them)
_ATTRIBUTES: dict[str, list[str] | None] = {
    "any": None,
    **{name: ([*(["title_key", "title_part_key"] if name == "title" else []),
               *(f for g in groups for f in g)])
       for name, groups in _FIELD_GROUPS.items() if name != "any"},
}


class IndexServerError(RuntimeError):
    """The search server failed or refused; the message names it and what to do."""


def primary_key(doc_id: str) -> str:
    """Meilisearch's primary key: the entry id when it is a valid key (cluster ids are hex),
    else a hash of it (the id itself is stored and returned as is)."""
    if _PK.match(doc_id):
        return doc_id
    return "h" + hashlib.sha1(doc_id.encode("utf-8"), usedforsecurity=False).hexdigest()


def _year_range(year: Any) -> str | None:
    if not isinstance(year, int):
        return None
    for label, first, last in YEAR_RANGES:
        if (first is None or year >= first) and (last is None or year <= last):
            return label
    return None


def _prefixes(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(c[:i] for c in codes for i in range(1, len(c) + 1)))


def prepare_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A cluster document as Meilisearch's JSON: tantivy's analysed fields (the very same
    terms), the summary as an object, the year-range label, call-number prefixes."""
    fields: dict[str, Any] = json.loads(analyse_document(doc).json)
    raw = fields.pop("summary_doc", None)
    summary = json.loads(base64.b64decode(raw)) if raw else {"id": fields["id"]}
    fields["pk"] = primary_key(fields["id"])
    # tantivy's coverage and popularity terms become the numbers the custom ranking rules
    # sort by (every document has both: a rule on a missing value sorts undefined)
    fields.pop("title_cover", None)
    fields.pop("held", None)
    # tantivy's syllable pairs serve its phrase queries; here proximity ranks order
    for name in _PAIR_FIELDS.values():
        fields.pop(name, None)
    fields["title_chars"] = len(fields.get("title_key") or "") or _NO_TITLE
    fields["held_by"] = len(set(_as_list(doc.get("library"))))
    fields["summary_doc"] = summary
    fields[_TOTAL_FACET] = fields.get(_TOTAL_FACET) or [_NONE]
    if label := _year_range(fields.get("year")):
        fields["year_range"] = label
    if fields.get("call_number"):
        fields["call_number_prefix"] = _prefixes(fields["call_number"])
    if fields.get("suggest"):
        keys = [t.partition(nearby.SEP)[0][:_SUGGEST_PREFIX] for t in fields["suggest"]]
        fields["suggest_prefix"] = _prefixes(keys)
    return fields


def _differs(current: Any, wanted: Any) -> bool:
    """Whether the server's settings lack what we want (it adds defaults of its own)."""
    if isinstance(wanted, dict) and isinstance(current, dict):
        return any(_differs(current.get(k), v) for k, v in wanted.items())
    return bool(current != wanted)


def _quote(value: str) -> str:
    """A filter value as a Meilisearch string literal: no input can end the quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _any_value(field: str, values: Iterable[str]) -> str:
    return f"{field} IN [{', '.join(_quote(v) for v in dict.fromkeys(values))}]"


class MeiliBackend:
    """SearchBackend on one Meilisearch index (`uid`) of the server at `url`.

    `path` is a local folder for the index format marker (`index.marker`), so an upgrade
    that changes the analysis rebuilds the server's index as it rebuilds tantivy's.
    """

    @staticmethod
    def prepare(doc: dict[str, Any]) -> dict[str, Any]:
        return prepare_document(doc)

    def __init__(self, url: str, key: str | None = None, uid: str = "tongjian",
                 path: Path | None = None, batch: int = BATCH) -> None:
        self.url, self.uid = url, uid
        self.path = Path(path) if path is not None else None
        self._batch = batch
        self._pending: list[int] = []
        self._client = meilisearch.Client(url, key or None, timeout=60)
        self._index = self._client.index(uid)
        self._ensure_index()

    # -- server calls ----------------------------------------------------------------

    def _fail(self, doing: str, e: Exception) -> IndexServerError:
        return IndexServerError(
            f"search server {self.url} (index {self.uid!r}): {doing} failed: {e} — check "
            "that Meilisearch ≥ 1.12 runs there and that index.key_env names a key "
            "allowed to search and write this index")

    def _ensure_index(self) -> None:
        """Create the index with its settings when missing; fix settings that differ (a
        settings change makes the server re-index, so it is sent only when needed)."""
        try:
            try:
                current = self._index.get_settings()
            except MeilisearchApiError as e:
                if getattr(e, "code", "") != "index_not_found":
                    raise
                self._wait([self._client.create_index(self.uid, {"primaryKey": "pk"}).task_uid])
                current = {}
            if _differs(current, SETTINGS):
                self._wait([self._index.update_settings(SETTINGS).task_uid])
        except MeilisearchError as e:
            raise self._fail("setting up the index", e) from e

    def _wait(self, uids: list[int]) -> None:
        for uid in uids:
            task = self._client.wait_for_task(uid, timeout_in_ms=_TASK_TIMEOUT_MS,
                                              interval_in_ms=100)
            if task.status != "succeeded":
                raise IndexServerError(
                    f"search server {self.url} (index {self.uid!r}): task {uid} "
                    f"({task.type}) {task.status}: {task.error} — see the server's log; "
                    "`tongjian index --rebuild` starts the index again from the store")

    def _send(self, uid: int) -> None:
        self._pending.append(uid)
        if len(self._pending) > _MAX_PENDING:  # bound what the server queues
            self._wait(self._pending[:-_MAX_PENDING])
            del self._pending[:-_MAX_PENDING]

    # -- SearchBackend ---------------------------------------------------------------

    def add_prepared(self, docs: Iterable[Any], replace: bool = True) -> int:
        # Meilisearch replaces a document with the same primary key either way.
        n = 0
        batch: list[dict[str, Any]] = []
        try:
            for doc in docs:
                batch.append(doc)
                if len(batch) >= self._batch:
                    self._send(self._index.add_documents(batch, "pk").task_uid)
                    n += len(batch)
                    batch = []
            if batch:
                self._send(self._index.add_documents(batch, "pk").task_uid)
                n += len(batch)
        except MeilisearchError as e:
            raise self._fail("sending documents", e) from e
        return n

    def add(self, docs: Iterable[dict[str, Any]]) -> int:
        return self.add_prepared(prepare_document(d) for d in docs)

    def delete(self, ids: Iterable[str]) -> None:
        keys = [primary_key(str(i)) for i in ids]
        try:
            for start in range(0, len(keys), self._batch):
                self._send(self._index.delete_documents(keys[start:start + self._batch])
                           .task_uid)
        except MeilisearchError as e:
            raise self._fail("deleting documents", e) from e

    def clear(self) -> None:
        try:
            self._send(self._index.delete_all_documents().task_uid)
        except MeilisearchError as e:
            raise self._fail("clearing the index", e) from e

    def commit(self) -> None:
        pending, self._pending = self._pending, []
        try:
            self._wait(pending)
        except MeilisearchError as e:
            raise self._fail("waiting for indexing", e) from e

    def count(self) -> int:
        try:
            return int(self._index.get_stats().number_of_documents)
        except MeilisearchError as e:
            raise self._fail("counting documents", e) from e

    def close(self) -> None:
        self.commit()

    def drop(self) -> None:
        """Delete the whole index from the server (tests, or retiring a deployment)."""
        self._wait([self._client.delete_index(self.uid).task_uid])

    # -- suggest and did-you-mean ----------------------------------------------------

    def suggest(self, q: str, limit: int = 8) -> list[Suggestion]:
        """Titles and names starting with what the reader typed: the entries whose suggest
        keys have that prefix (an exact filter on stored prefixes, so prefix search stays
        off for every other query), and their suggest terms counted by the facet
        distribution — the same terms, counts and order as tantivy's term dictionary."""
        keys = nearby.suggest_keys(q)
        if not keys:
            return []
        params: dict[str, Any] = {
            "filter": _any_value("suggest_prefix", [k[:_SUGGEST_PREFIX] for k in keys]),
            "facets": ["suggest"], "limit": 0,
        }
        try:
            raw = self._index.search("", params)
        except MeilisearchError as e:
            raise self._fail("suggesting", e) from e
        terms = (raw.get("facetDistribution") or {}).get("suggest", {})
        found: dict[tuple[Literal["title", "author"], str], tuple[bool, int]] = {}
        for term, count in terms.items():
            head, _, rest = str(term).partition(nearby.SEP)
            matched = [k for k in keys if head.startswith(k)]
            if not rest or not matched:
                continue
            kind: Literal["title", "author"] = "title" if rest[0] == "t" else "author"
            item = (kind, rest[1:])
            exact, n = found.get(item, (False, 0))
            found[item] = (exact or head in matched, max(n, int(count)))
        ranked = sorted(found.items(), key=lambda kv: (not kv[1][0], -kv[1][1],
                                                        len(kv[0][1]), kv[0]))
        return [Suggestion(text=display, field=kind) for (kind, display), _ in ranked[:limit]]

    def did_you_mean(self, q: str, limit: int = 3) -> list[str]:
        """Titles and names one pinyin letter or one character away, as tantivy's: the
        candidates come from Meilisearch (its typo tolerance on the whole-pinyin fields;
        for characters, titles sharing a character pair), and only those `nearby.one_edit`
        away from the query are kept."""
        q = " ".join(q.split())
        letters = nearby.pinyin_letters(q)
        queries: list[tuple[str, dict[str, Any]]] = []
        if text.latin_input(q) is not None:
            if letters:
                queries = [(side, {"q": letters, "attributesToSearchOn": [field]})
                           for side, field in nearby.FUZZY_FIELDS.items()]
        elif (key := text.title_key(q)) and 2 <= len(key) <= 30:
            queries = [("title", {"q": pair, "attributesToSearchOn": ["title_bigram"],
                                  "locales": ["cmn"]})
                       for pair in dict.fromkeys(text.bigrams(key))]
        if not queries:
            return []
        try:
            found = self._client.multi_search(
                [{"indexUid": self.uid, "limit": _NEAR_SCAN, **params}
                 for _, params in queries])["results"]
        except MeilisearchError as e:
            raise self._fail("looking for near queries", e) from e
        out: list[str] = []
        for (side, _), result in zip(queries, found, strict=True):
            for hit in result.get("hits") or []:
                stored = hit.get("summary_doc") or {}
                title = str(stored.get("title") or "")
                if not letters:
                    if nearby.one_edit(text.title_key(title), text.title_key(q)):
                        out.append(title)
                    continue
                values = (text.title_parts(title) if side == "title"
                          else [str(n) for n in stored.get("authors") or []])
                out += [v for v in values if nearby.one_edit(nearby.spelt(v), letters)]
        return nearby.distinct_corrections(q, out, limit)

    # -- search ----------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        page_size = max(1, min(int(request.page_size or 20), _MAX_PAGE_SIZE))
        page = max(1, int(request.page or 1))
        filters = self._filters(request.filters)
        below = nearby.class_below(request.filters)
        result = SearchResult(total=0, hits=[], facets={name: [] for name in FACETS})
        try:
            for q, extra, options in self._plan(request):
                result = self._run(q, [*filters, *extra], options, request.sort, page,
                                   page_size, below)
                if result.total:
                    break
        except MeilisearchError as e:
            raise self._fail("searching", e) from e
        return result

    @staticmethod
    def _filters(filters: dict[str, list[str]]) -> list[str]:
        """One filter per facet: OR within its values, AND across facets; unknown facet
        names are ignored (they come from URLs), as tantivy does."""
        out = []
        for name, values in (filters or {}).items():
            values = [str(v) for v in (values or []) if str(v)]
            if not values or name not in FACETS:
                continue
            if name == "clc_top":  # a class of any level: the field of its level
                by_level = [_any_value(field, chosen)
                            for field, chosen in nearby.class_values_by_level(values)]
                out.append(" OR ".join(by_level) if by_level else 'clc_top IN [""]')
            else:
                out.append(_any_value(name, values))
        return out

    def _plan(self, request: SearchRequest) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
        """(query words, extra filters, search options) to try in turn until one finds
        something: tantivy's matching rules, as far as Meilisearch can say them."""
        q = (request.q or "").strip()
        if not q:
            yield "", [], {}
            return
        field = request.field
        code = text.code_key(q)
        if field == "isbn":
            keys = [k for k in (text.isbn_key(q), text.issn_key(q), code) if k]
            yield "", [f"{_any_value('isbn', keys)} OR {_any_value('issn', keys)}"], {}
            return
        if field == "call_number":
            if code:
                yield "", [_any_value("call_number", [code])], {}
                yield "", [_any_value("call_number_prefix", [code])], {}
            return
        if field == "any":
            if key := text.isbn_key(q):
                yield "", [_any_value("isbn", [key])], {}
            if key := text.issn_key(q):
                yield "", [_any_value("issn", [key])], {}
            if text.looks_like_call_number(q):
                yield "", [_any_value("call_number", [code])], {}
                yield "", [_any_value("clc_path", [code])], {}
        if field == "subject" and text.looks_like_call_number(q):
            yield "", [_any_value("clc_path", [code])], {}
        words = [w for w, _ in text.query_words(q)][:_MAX_QUERY_WORDS]
        if not words:
            return
        options: dict[str, Any] = {"matchingStrategy": "all"}
        if _HAN.search(q):  # Han alone could be taken for Japanese and cut otherwise
            options["locales"] = ["cmn"]
        if (attributes := _ATTRIBUTES.get(field)) is not None:
            options["attributesToSearchOn"] = attributes
        yield " ".join(words), [], options
        if len(words) > 1 and not (text.isbn_key(q) or text.issn_key(q)):
            yield " ".join(self._relaxed_order(words, options)), [], {
                **options, "matchingStrategy": "last"}

    def _relaxed_order(self, words: list[str], options: dict[str, Any]) -> list[str]:
        """Words that match something first, rarest first; words matching nothing last —
        `matchingStrategy: last` gives up words from the end."""
        queries = [{"indexUid": self.uid, "q": w, "limit": 0, **options} for w in words]
        found = self._client.multi_search(queries)["results"]
        counts = [int(r.get("estimatedTotalHits", 0)) for r in found]
        order = sorted(range(len(words)), key=lambda i: (counts[i] == 0, counts[i], i))
        return [words[i] for i in order]

    def _run(self, q: str, filters: list[str], options: dict[str, Any], sort: str,
             page: int, page_size: int, below: str = "") -> SearchResult:
        in_window = page * page_size <= _MAX_WINDOW
        params: dict[str, Any] = {
            **options,
            "facets": [*_FACET_FIELDS, "year_range", *([below] if below else [])],
            "page": page if in_window else 1,
            "hitsPerPage": page_size if in_window else 0,
            "showRankingScore": True,
        }
        if filters:
            params["filter"] = [f"({f})" for f in filters]
        if sort in ("year_desc", "year_asc"):
            params["sort"] = [f"year:{'desc' if sort == 'year_desc' else 'asc'}"]
        raw = self._index.search(q, params)
        distribution: dict[str, dict[str, int]] = raw.get("facetDistribution") or {}
        total = sum(int(n) for n in distribution.get(_TOTAL_FACET, {}).values())
        if not total:
            return SearchResult(total=0, hits=[], facets={name: [] for name in FACETS})
        order = {label: i for i, (label, _, _) in enumerate(YEAR_RANGES)}
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in FACETS:
            pairs = [(str(v), int(n)) for v, n in distribution.get(name, {}).items()
                     if n and v != _NONE]
            if name == "year_range":
                pairs.sort(key=lambda p: (-p[1], order.get(p[0], 99)))
            else:
                pairs.sort(key=lambda p: (-p[1], p[0]))
            facets[name] = pairs
        if below:  # the level under the class chosen, as tantivy counts it
            sub = [(str(v), int(n)) for v, n in distribution.get(below, {}).items() if n]
            facets["clc_top"] += sorted(sub, key=lambda p: (-p[1], p[0]))
        hits = [SearchHit(id=str(h["id"]),
                          score=float(h.get("_rankingScore", 0.0)) if sort == "relevance"
                          else 0.0,
                          doc=h.get("summary_doc") or {"id": h["id"]})
                for h in (raw.get("hits") or [])] if in_window else []
        return SearchResult(total=total, hits=hits, facets=facets)
