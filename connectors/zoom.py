"""A thin ctypes binding of YAZ's ZOOM C API (libyaz.so.5).

Why ctypes and not a Python Z39.50 stack: YAZ is what every Z39.50/SRU client in the
library world uses and what member systems are tested against (BER encoding, character
set negotiation, SRU over HTTP, the odd server quirk).  There is no maintained Python
binding, and the API we need is a dozen functions, so we bind those directly.

Rules this module keeps, so callers do not have to think about C:

* Every function used has its ``argtypes``/``restype`` declared; handles are opaque
  ``c_void_p`` values and never escape this module.
* Record data is copied out with ``ctypes.string_at(ptr, len)`` while the result set that
  owns it is alive (ISO 2709 may contain NUL-free but arbitrary bytes; a length is
  always used, never C-string semantics).  Callers only ever see ``bytes``/``str``.
* Result sets and connections are destroyed exactly once: explicitly via ``close()``,
  or by the context managers, or when the owning ``Connection`` closes.
* Every ZOOM call here blocks (ZOOM is used in synchronous mode).  A ``Connection`` and
  its result sets must be used by one thread at a time; async code wraps calls in
  ``asyncio.to_thread``.

No protocol logic lives here: errors come back as ``ZoomError`` with ZOOM's own code,
message, additional info and diagnostic set; ``connectors.z3950`` decides what they mean.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

# ZOOM's own error codes (yaz/zoom.h); server diagnostics use their diagset's codes.
ERROR_CONNECT = 10000
ERROR_MEMORY = 10001
ERROR_ENCODE = 10002
ERROR_DECODE = 10003
ERROR_CONNECTION_LOST = 10004
ERROR_INIT = 10005
ERROR_INTERNAL = 10006
ERROR_TIMEOUT = 10007
ERROR_UNSUPPORTED_PROTOCOL = 10008
ERROR_UNSUPPORTED_QUERY = 10009
ERROR_INVALID_QUERY = 10010
ERROR_CQL_PARSE = 10011
ERROR_CQL_TRANSFORM = 10012

ZOOM_DIAGSET = "ZOOM"  # the diagset ZOOM reports for its own (client-side) errors

_c_void_p = ctypes.c_void_p
_c_char_p = ctypes.c_char_p
_c_int = ctypes.c_int
_c_size_t = ctypes.c_size_t
_p_char_p = ctypes.POINTER(ctypes.c_char_p)

# (name, restype, argtypes) for every function this module calls.
_SIGNATURES: list[tuple[str, object, list[object]]] = [
    ("ZOOM_connection_create", _c_void_p, [_c_void_p]),
    ("ZOOM_connection_connect", None, [_c_void_p, _c_char_p, _c_int]),
    ("ZOOM_connection_option_set", None, [_c_void_p, _c_char_p, _c_char_p]),
    ("ZOOM_connection_option_get", _c_char_p, [_c_void_p, _c_char_p]),
    ("ZOOM_connection_error_x", _c_int, [_c_void_p, _p_char_p, _p_char_p, _p_char_p]),
    ("ZOOM_connection_search", _c_void_p, [_c_void_p, _c_void_p]),
    ("ZOOM_connection_destroy", None, [_c_void_p]),
    ("ZOOM_query_create", _c_void_p, []),
    ("ZOOM_query_prefix", _c_int, [_c_void_p, _c_char_p]),
    ("ZOOM_query_cql", _c_int, [_c_void_p, _c_char_p]),
    ("ZOOM_query_destroy", None, [_c_void_p]),
    ("ZOOM_resultset_size", _c_size_t, [_c_void_p]),
    ("ZOOM_resultset_option_set", None, [_c_void_p, _c_char_p, _c_char_p]),
    ("ZOOM_resultset_records", None, [_c_void_p, ctypes.POINTER(_c_void_p), _c_size_t,
                                      _c_size_t]),
    ("ZOOM_resultset_cache_reset", None, [_c_void_p]),
    ("ZOOM_resultset_destroy", None, [_c_void_p]),
    # restype c_void_p, not c_char_p: record data is binary and read with its length.
    ("ZOOM_record_get", _c_void_p, [_c_void_p, _c_char_p, ctypes.POINTER(_c_int)]),
    ("ZOOM_record_error", _c_int, [_c_void_p, _p_char_p, _p_char_p, _p_char_p]),
    ("ZOOM_diag_str", _c_char_p, [_c_int]),
]


def _load() -> ctypes.CDLL:
    """Load libyaz and declare signatures; fail with an actionable message if absent."""
    candidates = ["libyaz.so.5", ctypes.util.find_library("yaz")]
    errors = []
    for name in candidates:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
            continue
        for fname, restype, argtypes in _SIGNATURES:
            fn = getattr(lib, fname)
            fn.restype = restype
            fn.argtypes = argtypes
        return lib
    raise ImportError(
        "YAZ's ZOOM library (libyaz.so.5) is not installed; on Debian: apt-get install "
        "libyaz5. Tried: " + "; ".join(errors or ["no candidate found"])
    )


_lib = _load()


def _text(value: bytes | None) -> str:
    # Server messages are usually ASCII, but addinfo may echo the user's UTF-8 term.
    return value.decode("utf-8", errors="replace") if value else ""


def _enc(value: str) -> bytes:
    if "\x00" in value:
        raise ValueError("NUL byte in a ZOOM string argument")
    return value.encode("utf-8")


@dataclass(frozen=True)
class ErrorInfo:
    """One ZOOM error: ``diagset`` says whose code it is ("ZOOM", "Bib-1", SRU's URI …)."""

    code: int
    message: str
    addinfo: str
    diagset: str


class ZoomError(Exception):
    """A ZOOM call failed; carries ZOOM's error triple unchanged."""

    def __init__(self, info: ErrorInfo) -> None:
        detail = f" ({info.addinfo})" if info.addinfo else ""
        super().__init__(f"{info.diagset} {info.code}: {info.message}{detail}")
        self.info = info


@dataclass(frozen=True)
class RecordData:
    """One result-set position after a present, copied out of C memory.

    ``offset`` is ZOOM's 0-based position.  Exactly one of ``data``/``error`` is set:
    ``error`` is a surrogate diagnostic for that record, or a ZOOM-side note when the
    server sent nothing for the position.
    """

    offset: int
    data: bytes | None
    syntax: str  # the syntax the server actually used ("USmarc", "Unimarc", "XML" …)
    error: ErrorInfo | None = None


def _error_triple(fn: Callable[..., int], handle: int) -> ErrorInfo | None:
    """Call ZOOM_connection_error_x / ZOOM_record_error; the strings belong to ZOOM."""
    msg, addinfo, diagset = _c_char_p(), _c_char_p(), _c_char_p()
    code = fn(handle, ctypes.byref(msg), ctypes.byref(addinfo), ctypes.byref(diagset))
    if not code:
        return None
    return ErrorInfo(code, _text(msg.value), _text(addinfo.value), _text(diagset.value))


def diag_str(code: int) -> str:
    """ZOOM's own text for one of its error codes."""
    return _text(_lib.ZOOM_diag_str(code))


class Connection:
    """A ZOOM connection: set options first, then ``connect``; always ``close``.

    Options are set before connecting because ZOOM reads several of them (timeout,
    user/password, sru, charset) while it connects and sends the Init request.
    """

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        handle = _lib.ZOOM_connection_create(None)
        if not handle:
            raise MemoryError("ZOOM_connection_create returned NULL")
        self._handle: int | None = handle
        self._resultsets: set[ResultSet] = set()
        for key, value in (options or {}).items():
            self.set_option(key, value)

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Destroy every open result set, then the connection (closing its socket)."""
        for rs in list(self._resultsets):
            rs.close()
        if self._handle is not None:
            _lib.ZOOM_connection_destroy(self._handle)
            self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:  # last resort; callers should close explicitly
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self.close()

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("ZOOM connection is closed")
        return self._handle

    # -- options and errors ----------------------------------------------------------
    def set_option(self, key: str, value: str) -> None:
        _lib.ZOOM_connection_option_set(self.handle, _enc(key), _enc(value))

    def get_option(self, key: str) -> str | None:
        value = _lib.ZOOM_connection_option_get(self.handle, _enc(key))
        return None if value is None else _text(value)

    def error(self) -> ErrorInfo | None:
        """The connection's current error (after the last operation), or None."""
        return _error_triple(_lib.ZOOM_connection_error_x, self.handle)

    def check(self) -> None:
        """Raise ZoomError if the last operation left an error on the connection."""
        info = self.error()
        if info is not None:
            raise ZoomError(info)

    # -- operations ------------------------------------------------------------------
    def connect(self, host: str, port: int = 0) -> None:
        """Connect and (Z39.50) send Init; ``host`` may carry port and database."""
        _lib.ZOOM_connection_connect(self.handle, _enc(host), port)
        self.check()

    def search_pqf(self, pqf: str) -> ResultSet:
        return self._search("prefix", pqf)

    def search_cql(self, cql: str) -> ResultSet:
        """Send CQL as is (SRU's native query; Z39.50 servers must support type-104)."""
        return self._search("cql", cql)

    def _search(self, kind: str, text: str) -> ResultSet:
        query = _lib.ZOOM_query_create()
        if not query:
            raise MemoryError("ZOOM_query_create returned NULL")
        try:
            setter = _lib.ZOOM_query_prefix if kind == "prefix" else _lib.ZOOM_query_cql
            if setter(query, _enc(text)) != 0:
                raise ZoomError(ErrorInfo(ERROR_INVALID_QUERY, diag_str(ERROR_INVALID_QUERY),
                                          text, ZOOM_DIAGSET))
            handle = _lib.ZOOM_connection_search(self.handle, query)
        finally:
            _lib.ZOOM_query_destroy(query)  # the result set keeps its own reference
        if not handle:
            self.check()
            raise MemoryError("ZOOM_connection_search returned NULL")
        rs = ResultSet(self, handle)
        try:
            self.check()
        except BaseException:
            rs.close()
            raise
        return rs


class ResultSet:
    """A server-side result set; records are only valid while it is open."""

    def __init__(self, connection: Connection, handle: int) -> None:
        self._connection = connection
        self._handle: int | None = handle
        connection._resultsets.add(self)

    def close(self) -> None:
        if self._handle is not None:
            _lib.ZOOM_resultset_destroy(self._handle)
            self._handle = None
            self._connection._resultsets.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise ValueError("ZOOM result set is closed")
        return self._handle

    def __len__(self) -> int:
        return int(_lib.ZOOM_resultset_size(self.handle))

    def set_option(self, key: str, value: str) -> None:
        _lib.ZOOM_resultset_option_set(self.handle, _enc(key), _enc(value))

    def cache_reset(self) -> None:
        """Drop records ZOOM keeps cached, so a long harvest does not hold them all."""
        _lib.ZOOM_resultset_cache_reset(self.handle)

    def records(self, offset: int, count: int, render: str = "raw") -> list[RecordData]:
        """Present ``count`` records from 0-based ``offset`` and copy them out.

        ``render`` is the ZOOM_record_get type ("raw", "xml", "render; charset=…").
        ZOOM splits the present into chunks of the result set's "presentChunk" option.
        Raises ZoomError for a failure of the whole present (connection lost, a
        non-surrogate diagnostic); per-record problems come back in ``error``.
        """
        if count <= 0:
            return []
        array = (_c_void_p * count)()
        _lib.ZOOM_resultset_records(self.handle, array, offset, count)
        self._connection.check()
        return [_copy_record(offset + i, array[i], render) for i in range(count)]


def _copy_record(offset: int, rec: int | None, render: str) -> RecordData:
    if not rec:
        info = ErrorInfo(0, "no record returned for this position", "", ZOOM_DIAGSET)
        return RecordData(offset, None, "", info)
    syntax = _record_get(rec, "syntax")
    error = _error_triple(_lib.ZOOM_record_error, rec)
    if error is not None:
        return RecordData(offset, None, _text(syntax), error)
    data = _record_get(rec, render)
    if data is None:
        info = ErrorInfo(0, f"record cannot be rendered as {render!r}", "", ZOOM_DIAGSET)
        return RecordData(offset, None, _text(syntax), info)
    return RecordData(offset, data, _text(syntax))


def _record_get(rec: int, kind: str) -> bytes | None:
    length = _c_int(0)
    ptr = _lib.ZOOM_record_get(rec, _enc(kind), ctypes.byref(length))
    if not ptr:
        return None
    return ctypes.string_at(ptr, length.value)
