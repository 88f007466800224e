"""CQL (Contextual Query Language) parsed by YAZ's own parser, through libyaz.

Why YAZ: it is the CQL parser the SRU world is tested against, and libyaz is already
loaded for ZOOM (`connectors.zoom`); a home-made grammar would disagree with it on the
corner cases (quoting, relation modifiers, prefixes, sortby).  Its XCQL writer prints
part of its output on the process's stdout (YAZ 5.34), so the parse tree is read directly
from YAZ's `struct cql_node` (yaz/cql.h) and copied into the small Python tree below; no
pointer outlives `parse`.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from connectors.zoom import _lib

_NODE_ST, _NODE_BOOL, _NODE_SORT = 1, 2, 3


class _St(ctypes.Structure):
    _fields_ = [("index", ctypes.c_char_p), ("index_uri", ctypes.c_char_p),
                ("term", ctypes.c_char_p), ("relation", ctypes.c_char_p),
                ("relation_uri", ctypes.c_char_p), ("modifiers", ctypes.c_void_p),
                ("extra_terms", ctypes.c_void_p)]


class _Bool(ctypes.Structure):
    _fields_ = [("value", ctypes.c_char_p), ("left", ctypes.c_void_p),
                ("right", ctypes.c_void_p), ("modifiers", ctypes.c_void_p)]


class _Sort(ctypes.Structure):
    _fields_ = [("index", ctypes.c_char_p), ("next", ctypes.c_void_p),
                ("modifiers", ctypes.c_void_p), ("search", ctypes.c_void_p)]


class _Union(ctypes.Union):
    _fields_ = [("st", _St), ("boolean", _Bool), ("sort", _Sort)]


class _Node(ctypes.Structure):
    _fields_ = [("which", ctypes.c_int), ("u", _Union)]


_lib.cql_parser_create.restype = ctypes.c_void_p
_lib.cql_parser_create.argtypes = []
_lib.cql_parser_destroy.restype = None
_lib.cql_parser_destroy.argtypes = [ctypes.c_void_p]
_lib.cql_parser_string.restype = ctypes.c_int
_lib.cql_parser_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.cql_parser_result.restype = ctypes.c_void_p
_lib.cql_parser_result.argtypes = [ctypes.c_void_p]

#: The longest query handed to the parser (a query is a few words; this is a paste).
MAX_QUERY_BYTES = 4096


class CQLSyntaxError(ValueError):
    """The query is not CQL (SRU diagnostic 10)."""


@dataclass(frozen=True)
class Modifier:
    name: str  # e.g. sort.descending, cql.unmasked
    comparison: str = ""
    value: str = ""


@dataclass(frozen=True)
class Clause:
    """index relation term, e.g. dc.title = 红楼梦."""

    index: str
    relation: str
    term: str
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class Boolean:
    op: str  # and | or | not | prox
    left: Node
    right: Node
    modifiers: tuple[Modifier, ...] = ()


Node = Clause | Boolean


@dataclass(frozen=True)
class SortKey:
    index: str
    modifiers: tuple[Modifier, ...] = ()

    @property
    def descending(self) -> bool:
        return any(m.name.lower().endswith("descending") for m in self.modifiers)


@dataclass(frozen=True)
class Query:
    tree: Node
    sort: tuple[SortKey, ...] = field(default=())


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", errors="replace") if value else ""


def _node(ptr: int | None) -> _Node:
    if not ptr:
        raise CQLSyntaxError("empty query")
    return _Node.from_address(ptr)


def _modifiers(ptr: int | None) -> tuple[Modifier, ...]:
    """A modifier list: search-clause nodes chained through their `modifiers` pointer
    (index = name, relation = comparison, term = value)."""
    out: list[Modifier] = []
    seen = 0
    while ptr and seen < 64:
        node = _Node.from_address(ptr)
        if node.which != _NODE_ST:
            break
        st = node.u.st
        out.append(Modifier(_text(st.index), _text(st.relation), _text(st.term)))
        ptr = st.modifiers
        seen += 1
    return tuple(out)


def _tree(ptr: int | None, depth: int = 0) -> Node:
    if depth > 100:
        raise CQLSyntaxError("the query nests too deeply")
    node = _node(ptr)
    if node.which == _NODE_ST:
        st = node.u.st
        return Clause(_text(st.index), _text(st.relation), _text(st.term),
                      _modifiers(st.modifiers))
    if node.which == _NODE_BOOL:
        b = node.u.boolean
        return Boolean(_text(b.value).lower(), _tree(b.left, depth + 1),
                       _tree(b.right, depth + 1), _modifiers(b.modifiers))
    raise CQLSyntaxError("unexpected node in the query")


def parse(query: str) -> Query:
    """The query's tree and its sortby keys, or CQLSyntaxError."""
    data = query.encode("utf-8")
    if b"\0" in data:
        raise CQLSyntaxError("the query holds a NUL character")
    if len(data) > MAX_QUERY_BYTES:
        raise CQLSyntaxError(f"the query is longer than {MAX_QUERY_BYTES} bytes")
    parser = _lib.cql_parser_create()
    if not parser:
        raise MemoryError("YAZ could not create a CQL parser")
    try:
        if _lib.cql_parser_string(parser, data) != 0:
            raise CQLSyntaxError("not a CQL query")
        root = _node(_lib.cql_parser_result(parser))
        if root.which != _NODE_SORT:
            return Query(_tree(_lib.cql_parser_result(parser)))
        keys: list[SortKey] = []
        search: int | None = None
        ptr: int | None = _lib.cql_parser_result(parser)
        while ptr and len(keys) < 32:
            node = _Node.from_address(ptr)
            if node.which != _NODE_SORT:
                break
            keys.append(SortKey(_text(node.u.sort.index), _modifiers(node.u.sort.modifiers)))
            search = search or node.u.sort.search
            ptr = node.u.sort.next
        return Query(_tree(search), tuple(keys))
    finally:
        _lib.cql_parser_destroy(parser)
