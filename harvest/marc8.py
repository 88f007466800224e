"""MARC-8 (including EACC CJK) to Unicode through YAZ's converter.

pymarc's own MARC-8 table gets real CJK records wrong (yaz's marc12: a 520 left as raw EACC
bytes, a 500 cut short); YAZ's `yaz_iconv` is what Koha and VuFind rely on and converts
them exactly.  So MARC-8 goes through libyaz, bound with ctypes.  One converter per thread,
reset before every string, because MARC-8 escape state must not leak between subfields.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import unicodedata

_lib: ctypes.CDLL | None = None
_local = threading.local()


class Marc8Error(ValueError):
    """The bytes are not valid MARC-8 (or libyaz cannot convert them)."""


def _yaz() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("yaz") or "libyaz.so.5"
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise Marc8Error(
                f"cannot load libyaz ({e}); install the Debian package libyaz5 — "
                "MARC-8 records cannot be converted without it"
            ) from None
        lib.yaz_iconv_open.restype = ctypes.c_void_p
        lib.yaz_iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.yaz_iconv.restype = ctypes.c_size_t
        lib.yaz_iconv.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.yaz_iconv_error.restype = ctypes.c_int
        lib.yaz_iconv_error.argtypes = [ctypes.c_void_p]
        _lib = lib
    return _lib


def _converter() -> int:
    cd: int | None = getattr(_local, "cd", None)
    if cd is None:
        cd = _yaz().yaz_iconv_open(b"UTF-8", b"MARC8")
        if not cd:
            raise Marc8Error("libyaz has no MARC8 to UTF-8 converter")
        _local.cd = cd  # lives as long as the thread; a handful of bytes
    return cd


def decode(data: bytes) -> str:
    """Convert one MARC-8 string (a subfield or control field) to NFC Unicode text."""
    if not data:
        return ""
    if all(b < 0x80 for b in data) and 0x1B not in data:
        return _strip_controls(data.decode("ascii"))
    lib, cd = _yaz(), _converter()
    lib.yaz_iconv(cd, None, None, None, None)  # reset shift state
    inbuf = ctypes.c_char_p(data)
    inleft = ctypes.c_size_t(len(data))
    size = len(data) * 4 + 16
    out = ctypes.create_string_buffer(size)
    outp = ctypes.c_char_p(ctypes.addressof(out))
    outleft = ctypes.c_size_t(size)
    # Keep a plain pointer to the input start, so ctypes cannot free it mid-call.
    r = lib.yaz_iconv(cd, ctypes.byref(inbuf), ctypes.byref(inleft),
                      ctypes.byref(outp), ctypes.byref(outleft))
    if r == ctypes.c_size_t(-1).value:
        err = lib.yaz_iconv_error(cd)
        done = len(data) - inleft.value
        raise Marc8Error(f"invalid MARC-8 at byte {done} (yaz_iconv error {err})")
    lib.yaz_iconv(cd, None, None, ctypes.byref(outp), ctypes.byref(outleft))  # flush
    text = out.raw[: size - outleft.value].decode("utf-8")
    return _strip_controls(unicodedata.normalize("NFC", text))


def _strip_controls(text: str) -> str:
    """C0 controls inside field text are transmission debris (e.g. stray 0x0C); drop them."""
    if not any(ord(c) < 0x20 for c in text):
        return text
    return "".join(c for c in text if ord(c) >= 0x20)
