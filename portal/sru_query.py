"""A CQL query run through the portal's own search: what SRU searches.

An SRU client must find what a reader finds, so every search clause becomes the portal's
`SearchRequest` (the same fields, the same Chinese analysis, the same engine) and goes to
the engine exactly as `portal.query.run_search` sends it (`backend.search`); only what the
portal has no words for is done here: booleans across clauses, exact-title (`==`), `any`,
years compared with < > and right truncation.

A query that is one clause — with any number of library, region, CLC-class or year-range
limits ANDed to it — is one engine search, paged and counted by the engine.  Booleans
across clauses combine the clauses' hit lists, each read up to `SET_LIMIT` hits; a clause
with more than that is refused with diagnostic 60 rather than answered wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.cql import Boolean, Clause, Node, Query, SortKey
from harvest.clc import TOP_CLASSES
from index.backend import YEAR_RANGES, SearchBackend, SearchField, SearchHit, SearchRequest
from index.text import normalize
from portal.query import MAX_QUERY_CHARS

#: Hits one clause may contribute to a boolean combination (the engine's paging window).
SET_LIMIT = 10_000
_PAGE = 500  # the engine's largest page

#: CQL index (lower case, with and without its context set) → the portal's search field.
TEXT_INDEXES: dict[str, SearchField] = {
    "cql.anywhere": "any", "cql.serverchoice": "any", "cql.keywords": "any",
    "anywhere": "any", "serverchoice": "any", "keywords": "any",
    "dc.title": "title", "title": "title", "bath.title": "title",
    "dc.creator": "author", "dc.author": "author", "creator": "author", "author": "author",
    "bath.author": "author", "bath.name": "author",
    "bath.isbn": "isbn", "isbn": "isbn", "dc.identifier": "isbn", "bath.issn": "isbn",
    "dc.subject": "subject", "subject": "subject", "bath.subject": "subject",
    "callnumber": "call_number", "tongjian.callnumber": "call_number",
}
#: CQL index → facet filter of the portal.
FILTER_INDEXES = {
    "library": "library", "tongjian.library": "library", "rec.collectionidentifier": "library",
    "region": "region", "tongjian.region": "region",
    "clc": "clc_top", "tongjian.clc": "clc_top", "dc.clc": "clc_top",
}
YEAR_INDEXES = ("dc.date", "year", "date", "tongjian.year")
#: `cql.allRecords = 1`: every entry (how a harvester over SRU asks for everything).
ALL_RECORDS = ("cql.allrecords", "allrecords")
SORT_INDEXES = {"dc.date": "year", "year": "year", "date": "year", "dc.title": "title",
                "title": "title"}


class Diagnostic(Exception):
    """An SRU diagnostic (info:srw/diagnostic/1/<number>) with its details."""

    def __init__(self, number: int, details: str, message: str) -> None:
        super().__init__(message)
        self.number, self.details, self.message = number, details, message


@dataclass
class Limits:
    """Facet filters and per-hit tests ANDed onto a clause."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    tests: list[Callable[[dict[str, Any]], bool]] = field(default_factory=list)

    def plus(self, other: Limits) -> Limits:
        merged = {k: list(v) for k, v in self.filters.items()}
        for name, values in other.filters.items():
            if name in merged:  # two limits on one facet: both must hold
                both = [v for v in merged[name] if v in values]
                merged[name] = both or ["\0none"]
            else:
                merged[name] = list(values)
        return Limits(merged, [*self.tests, *other.tests])


@dataclass
class Found:
    total: int
    hits: list[SearchHit]  # the requested window (or all, for a combination)


def _index(clause: Clause) -> str:
    return clause.index.lower()


def _is_limit(node: Node) -> bool:
    return isinstance(node, Clause) and (_index(node) in FILTER_INDEXES
                                         or _index(node) in YEAR_INDEXES
                                         or _index(node) in ALL_RECORDS)


def _year_limit(clause: Clause) -> Limits:
    term = clause.term.strip()
    if not term.isdigit() or len(term) != 4:
        raise Diagnostic(36, clause.term, "a year is four digits")
    year = int(term)
    tests = {"=": lambda y: y == year, "==": lambda y: y == year, "<": lambda y: y < year,
             ">": lambda y: y > year, "<=": lambda y: y <= year, ">=": lambda y: y >= year,
             "<>": lambda y: y != year}
    test = tests.get(clause.relation)
    if test is None:
        raise Diagnostic(19, clause.relation, f"relation {clause.relation} is not supported "
                         "for years; use = < > <= >= <>")
    ranges = [label for label, low, high in YEAR_RANGES
              if any(test(y) for y in _span(low, high, year))]
    return Limits({"year_range": ranges or ["\0none"]},
                  [lambda doc: isinstance(doc.get("year"), int) and test(doc["year"])])


def _span(low: int | None, high: int | None, year: int) -> list[int]:
    """Years standing for a range when testing whether any of it can pass."""
    lo = low if low is not None else min(year, 1000) - 1
    hi = high if high is not None else max(year, 3000) + 1
    return [lo, hi, min(max(year, lo), hi), min(max(year - 1, lo), hi),
            min(max(year + 1, lo), hi)]


def _facet_limit(clause: Clause) -> Limits:
    facet = FILTER_INDEXES[_index(clause)]
    if clause.relation not in ("=", "==", "any", "exact"):
        raise Diagnostic(19, clause.relation, f"relation {clause.relation} is not supported "
                         f"for {clause.index}; use = or any")
    values = clause.term.split() if clause.relation == "any" else [clause.term.strip()]
    if facet == "clc_top":
        values = [v.upper()[:1] for v in values]
        bad = [v for v in values if v not in TOP_CLASSES]
        if bad:
            raise Diagnostic(36, clause.term, "a CLC class here is its top class letter "
                             "(A–Z, e.g. I for 文学); for a full class number search dc.subject")
    return Limits({facet: values})


def limit_of(clause: Clause) -> Limits:
    if _index(clause) in ALL_RECORDS:
        return Limits()  # limits nothing
    return _year_limit(clause) if _index(clause) in YEAR_INDEXES else _facet_limit(clause)


class Searcher:
    """Runs one CQL query against the engine."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def search(self, query: Query, start: int, count: int) -> Found:
        """Hits start..start+count-1 (1-based) and the total."""
        order = self._order(query.sort)
        tree = query.tree
        native = self._native(tree)
        if native is not None and order in ("relevance", "year_desc", "year_asc"):
            clause, limits = native
            if not limits.tests:
                req = self._request(clause, limits, order)
                return self._window(req, start, count)
        hits = self._evaluate(tree, Limits())
        if order == "year_desc":
            hits.sort(key=lambda h: -(h.doc.get("year") or 0))
        elif order == "year_asc":
            hits.sort(key=lambda h: h.doc.get("year") or 9999)
        elif order == "title":
            hits.sort(key=lambda h: normalize(str(h.doc.get("title", ""))))
        return Found(len(hits), hits[start - 1:start - 1 + count])

    # -- planning ------------------------------------------------------------------------

    @staticmethod
    def _order(keys: tuple[SortKey, ...]) -> str:
        if not keys:
            return "relevance"
        key = keys[0]
        kind = SORT_INDEXES.get(key.index.lower())
        if kind is None or len(keys) > 1:
            raise Diagnostic(80, key.index, "sorting is by dc.date or dc.title, one key")
        if kind == "year":
            return "year_desc" if key.descending else "year_asc"
        return "title"

    def _native(self, tree: Node) -> tuple[Clause | None, Limits] | None:
        """(the one text clause or None, the limits ANDed to it) when the query is that
        shape; None when it needs combining."""
        conjuncts: list[Node] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Boolean) and node.op == "and":
                stack += [node.right, node.left]
            else:
                conjuncts.append(node)
        texts = [n for n in conjuncts if not _is_limit(n)]
        if len(texts) > 1 or any(isinstance(n, Boolean) for n in texts):
            return None
        clause = texts[0] if texts else None
        if isinstance(clause, Clause) and (clause.relation not in ("=", "all", "adj",
                                                                   "scr")
                                           or clause.term.endswith("*")):
            return None
        limits = Limits()
        for node in conjuncts:
            if _is_limit(node):
                assert isinstance(node, Clause)
                limits = limits.plus(limit_of(node))
        return clause, limits  # type: ignore[return-value]

    def _request(self, clause: Clause | None, limits: Limits, sort: str = "relevance",
                 term: str | None = None) -> SearchRequest:
        field: SearchField = "any"
        q = ""
        if clause is not None:
            index = _index(clause)
            if index not in TEXT_INDEXES:
                raise Diagnostic(16, clause.index, f"index {clause.index} is not supported; "
                                 "see explain for the list")
            field = TEXT_INDEXES[index]
            whole = clause.term.strip()
            if "?" in whole or "*" in whole.rstrip("*"):
                raise Diagnostic(28, clause.term, "only right truncation (a trailing *) "
                                 "is supported")
            q = " ".join((clause.term if term is None else term).split())
            if not q.strip("*? "):
                raise Diagnostic(27, clause.term, "an empty term finds nothing; give words")
            if len(q) > MAX_QUERY_CHARS:
                raise Diagnostic(10, clause.term[:40], f"a term may have at most "
                                 f"{MAX_QUERY_CHARS} characters")
        return SearchRequest(q=q, field=field, filters=limits.filters,
                             sort=sort if sort in ("year_desc", "year_asc") else "relevance")  # type: ignore[arg-type]

    def _window(self, req: SearchRequest, start: int, count: int) -> Found:
        """Hits start..start+count-1 of one engine search, read page by page."""
        first = self.backend.search(_paged(req, 1, 1))
        total = first.total
        hits: list[SearchHit] = []
        end = min(start - 1 + count, total, SET_LIMIT)
        position = start - 1
        while position < end:
            # one small page when the window starts the list, else the engine's pages
            page_size = end if position == 0 and end <= _PAGE else _PAGE
            page = position // page_size + 1
            result = self.backend.search(_paged(req, page, page_size))
            offset = position % page_size
            got = result.hits[offset:offset + end - position]
            if not got:
                break
            hits += got
            position += len(got)
        return Found(total, hits)

    # -- combining -------------------------------------------------------------------------

    def _all(self, req: SearchRequest, clause: Clause | None) -> list[SearchHit]:
        found = self.backend.search(_paged(req, 1, 1))
        if found.total > SET_LIMIT:
            where = clause.index + " " + clause.relation + " " + clause.term if clause else ""
            raise Diagnostic(60, str(found.total), f"the clause {where} matches "
                             f"{found.total} entries; combine it with narrower clauses "
                             f"(at most {SET_LIMIT} per clause in a boolean query)")
        return self._window(req, 1, SET_LIMIT).hits

    def _evaluate(self, node: Node, limits: Limits) -> list[SearchHit]:
        if isinstance(node, Boolean):
            if node.op == "and":
                # limits among the conjuncts apply to the others as engine filters
                if _is_limit(node.left) and not _is_limit(node.right):
                    return self._evaluate(node.right, limits.plus(limit_of(node.left)))  # type: ignore[arg-type]
                if _is_limit(node.right):
                    return self._evaluate(node.left, limits.plus(limit_of(node.right)))  # type: ignore[arg-type]
                left = self._evaluate(node.left, limits)
                right = {h.id for h in self._evaluate(node.right, limits)}
                return [h for h in left if h.id in right]
            if node.op == "or":
                left = self._evaluate(node.left, limits)
                seen = {h.id for h in left}
                return left + [h for h in self._evaluate(node.right, limits)
                               if h.id not in seen]
            if node.op == "not":
                left = self._evaluate(node.left, limits)
                right = {h.id for h in self._evaluate(node.right, limits)}
                return [h for h in left if h.id not in right]
            raise Diagnostic(37, node.op, f"boolean {node.op} is not supported; use and, or, "
                             "not")
        if _is_limit(node):
            both = limits.plus(limit_of(node))
            return self._tested(self._all(self._request(None, both), None), both)
        return self._clause(node, limits)

    def _clause(self, clause: Clause, limits: Limits) -> list[SearchHit]:
        relation = clause.relation.lower()
        if any(m.name.lower() not in ("cql.unmasked", "cql.masked") for m in clause.modifiers):
            raise Diagnostic(20, clause.modifiers[0].name, "relation modifiers are not "
                             "supported")
        term = clause.term.strip()
        truncated = term.endswith("*")
        stem = term.rstrip("*")
        if relation in ("=", "all", "adj", "scr", "=="):
            hits = self._all(self._request(clause, limits, term=stem), clause)
        elif relation == "any":
            hits = []
            seen: set[str] = set()
            for word in stem.split():
                for hit in self._all(self._request(clause, limits, term=word), clause):
                    if hit.id not in seen:
                        seen.add(hit.id)
                        hits.append(hit)
        else:
            raise Diagnostic(19, clause.relation, f"relation {clause.relation} is not "
                             "supported for text; use =, ==, all, any, adj")
        field = TEXT_INDEXES.get(_index(clause))
        if relation == "==" and field == "title":
            want = normalize(stem)
            hits = [h for h in hits if (normalize(str(h.doc.get("title", ""))).startswith(want)
                                        if truncated else
                                        normalize(str(h.doc.get("title", ""))) == want)]
        elif truncated and field == "title":
            want = normalize(stem)
            hits = [h for h in hits if want in normalize(str(h.doc.get("title", "")))]
        return self._tested(hits, limits)

    @staticmethod
    def _tested(hits: list[SearchHit], limits: Limits) -> list[SearchHit]:
        return [h for h in hits if all(test(h.doc) for test in limits.tests)]


def _paged(req: SearchRequest, page: int, page_size: int) -> SearchRequest:
    return SearchRequest(q=req.q, field=req.field, filters=req.filters, sort=req.sort,
                         page=page, page_size=page_size)
