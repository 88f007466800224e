"""The search backend interface: one shape of request and result for every engine.

The index holds one document per merged entry (cluster), so a book held by ten libraries
is one hit.  The document shape is built by `index.documents.cluster_document`:

    id            str          cluster id (also the record page id)
    title         str          display title (vernacular first)
    title_alt     list[str]    other / parallel / romanized titles
    title_pinyin  str
    authors       list[str]
    responsibility str
    publisher     str
    place         str
    subjects      list[str]
    series        list[str]
    summary       str
    isbn          list[str]    ISBN-13, exact match
    isbn_invalid  list[str]    as catalogued, failing the check digit: found by the ISBN
                               each was meant to be (`index.text.meant_isbn`), never shown
    issn          list[str]
    call_number   list[str]    索书号, exact match
    clc           list[str]    中图分类号
    clc_top       str          A–Z
    year          int | None
    language      str
    material_type str
    library       list[str]    library codes holding it
    region        list[str]    regions of those libraries
    summary_doc   dict         what a hit shows: id, title, authors, year, isbn, publisher,
                               holdings=[{library, name, region, copies, online}]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any, Literal, Protocol

from core.config import Config, ConfigError

# Facet name -> index field.  `year_range` is derived from `year` by YEAR_RANGES.
FACETS: tuple[str, ...] = (
    "library", "region", "clc_top", "year_range", "language", "material_type",
)

# (label, first year inclusive, last year inclusive); None = open end.
YEAR_RANGES: tuple[tuple[str, int | None, int | None], ...] = (
    ("2020-", 2020, None),
    ("2010-2019", 2010, 2019),
    ("2000-2009", 2000, 2009),
    ("1990-1999", 1990, 1999),
    ("1980-1989", 1980, 1989),
    ("-1979", None, 1979),
)

SearchField = Literal["any", "title", "author", "isbn", "subject", "call_number"]
Sort = Literal["relevance", "year_desc", "year_asc"]


@dataclass
class SearchRequest:
    q: str = ""  # user's words; empty = browse everything
    field: SearchField = "any"
    # facet name -> values: OR within one facet, AND across facets
    filters: dict[str, list[str]] = _field(default_factory=dict)
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = 20


@dataclass
class SearchHit:
    id: str
    score: float
    doc: dict[str, Any]  # the `summary_doc` stored with the document


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[tuple[str, int]]]  # facet -> [(value, count)], biggest first


@dataclass(frozen=True)
class Suggestion:
    """A title or name to offer while the reader types (`SearchBackend.suggest`)."""

    text: str
    field: Literal["title", "author"]


class SearchBackend(Protocol):
    """An engine holding the documents above.  Changes are visible after `commit`.

    Indexing is two steps, so that a bulk rebuild can spread the first over processes:
    `prepare` is an engine's work on one document that needs no index (tantivy: the
    Chinese text analysis of `index.text`; a Meilisearch backend, whose server analyses
    text itself: the document's JSON), a plain function whose result pickles; and
    `add_prepared` hands prepared documents to the engine from this process (tantivy: its
    writer; Meilisearch: `add_documents` in batches).  `add` is both in one.
    """

    path: Path | None  # where the index lives (its format marker too); None in memory

    @staticmethod
    def prepare(doc: dict[str, Any]) -> Any:
        """One document made ready for `add_prepared` of the same kind of backend.  A
        module-level function: worker processes are handed it by name."""
        ...

    def add_prepared(self, docs: Iterable[Any], replace: bool = True) -> int:
        """Add documents `prepare` made (in any process); returns how many.
        `replace=False` promises that none of their ids is in the index (right after
        `clear`), so an engine may skip removing an older version of each."""
        ...

    def add(self, docs: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents (by id); returns how many: `add_prepared` of each
        one `prepare`d."""
        ...

    def delete(self, ids: Iterable[str]) -> None: ...

    def clear(self) -> None:
        """Drop every document (a rebuild starts here)."""
        ...

    def commit(self) -> None: ...

    def search(self, request: SearchRequest) -> SearchResult: ...

    def count(self) -> int: ...

    def suggest(self, q: str, limit: int = 8) -> list[Suggestion]:
        """Titles and names starting with a partial query: in characters, pinyin or
        initials (hong → 红楼梦, hlm → 红楼梦), for search-as-you-type; fast (no search)."""
        ...

    def did_you_mean(self, q: str, limit: int = 3) -> list[str]:
        """Queries near one that found nothing or little (你是不是要找): titles or names
        one pinyin letter or one character away (in either script)."""
        ...

    def close(self) -> None: ...


def open_backend(config: Config) -> SearchBackend:
    """The engine config.yaml names (`index.backend`), opened on its path."""
    if config.index.backend == "tantivy":
        from index.tantivy_backend import TantivyBackend

        return TantivyBackend(config.resolve(config.index.path),
                              cache_entries=config.index.cache_entries)
    if config.index.backend == "meilisearch":
        import os

        from index.meili_backend import MeiliBackend

        return MeiliBackend(config.index.url, os.environ.get(config.index.key_env),
                            uid=config.index.uid, path=config.resolve(config.index.path))
    raise ConfigError(f"{config.path}: index.backend {config.index.backend!r} is not "
                      "available — use tantivy or meilisearch")
