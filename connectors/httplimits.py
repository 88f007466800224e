"""Bounds on one HTTP request to a member system: a total deadline and a size cap.

A hostile or broken peer must not hold a harvest: one that trickles a byte at a time
never trips a per-read timeout, and one that sends 200 MB fills memory.  So every HTTP
connector reads a response in chunks (``read1``: each returns after one network read),
checks the time left before each read, and stops at ``max_bytes``.  The paging limits
(``max_pages``, a repeated token) live in each connector's paging loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import ConnectorError, Unreachable

CHUNK = 64 * 1024
DEFAULT_REQUEST_DEADLINE = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PAGES = 100_000


@dataclass(frozen=True)
class Limits:
    """Per source (config.yaml ``request_deadline``, ``max_response_bytes``, ``max_pages``)."""

    request_deadline: float = DEFAULT_REQUEST_DEADLINE  # seconds: connect + every read
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_pages: int = DEFAULT_MAX_PAGES  # pages of one listing per harvest call

    def __post_init__(self) -> None:
        if self.request_deadline <= 0 or self.max_response_bytes <= 0 or self.max_pages <= 0:
            raise ValueError("request_deadline, max_response_bytes and max_pages must be "
                             "positive")


class TooLarge(ConnectorError):
    """A response larger than the source's ``max_response_bytes``: reading stopped there."""


def deadline_error(name: str, where: str, limits: Limits) -> Unreachable:
    return Unreachable(name, f"{where}: no complete answer within the request deadline of "
                       f"{limits.request_deadline:g} s (the server is too slow or trickles "
                       "its answer) — raise request_deadline for this source in config.yaml "
                       "if the server is just slow")


def size_error(name: str, where: str, limits: Limits) -> TooLarge:
    return TooLarge(name, f"{where}: the answer is larger than max_response_bytes "
                    f"({limits.max_response_bytes} bytes); reading stopped — raise "
                    "max_response_bytes for this source in config.yaml if such pages are "
                    "expected (or ask for smaller pages)")


def read_bounded(read1: Callable[[int], bytes], *, name: str, where: str, limits: Limits,
                 ends_at: float, set_timeout: Callable[[float], None] | None = None,
                 per_read: float | None = None) -> bytes:
    """The whole body through ``read1(n)`` (returns after one network read; b"" at the
    end), raising `Unreachable` once ``ends_at`` (time.monotonic) has passed and
    `TooLarge` past ``limits.max_response_bytes``.  ``set_timeout``, when given, bounds
    each read by the time left (and by ``per_read``)."""
    parts: list[bytes] = []
    size = 0
    while True:
        left = ends_at - time.monotonic()
        if left <= 0:
            raise deadline_error(name, where, limits)
        if set_timeout is not None:
            set_timeout(min(left, per_read) if per_read else left)
        try:
            chunk = read1(CHUNK)
        except TimeoutError:
            if time.monotonic() >= ends_at - 0.05:
                raise deadline_error(name, where, limits) from None
            raise  # the per-read timeout: the caller says "no answer within timeout"
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limits.max_response_bytes:
            raise size_error(name, where, limits)
        parts.append(chunk)
