"""The one place connectors are built: config.yaml's ``protocol`` → connector class.

Harvest, live search, item status, ``source probe`` and ``source test`` all open their
connectors here, so a source's credentials, harvest query and timeouts reach every path
the same way (they once did not: the harvest dropped the Z39.50 login the live search
sent).  Each class builds itself from a config `Source` with ``from_source(source,
timeout=…)``; ``timeout`` replaces the source's own for callers with a tighter budget (a
live search's time left, an availability check's few seconds).

What a connector can do is read off its class, without opening anything: ``live_search``
(broadcast search) and ``status_by`` (live item status, `connectors.base.StatusConnector`).
Classes are imported on first use, so importing this module pulls in no protocol stack.
`tests/test_registry.py` fails when any product module builds a connector elsewhere.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal, Protocol

from connectors.base import Connector, ConnectorError

if TYPE_CHECKING:  # config is only a type here; connectors stay importable on their own
    from core.config import Source

CONNECTORS: dict[str, str] = {
    "z3950": "connectors.z3950:Z3950Connector",
    "sru": "connectors.z3950:Z3950Connector",  # YAZ speaks both through one API
    "oaipmh": "connectors.oaipmh:OAIPMHConnector",
    "symphony": "connectors.symphony:SymphonyConnector",
    "koha": "connectors.koha:KohaConnector",
}
"""protocol → "module:Class"; adding a member system's kind is one line here and one file."""


class ConnectorFactory(Protocol):
    """`open_connector`'s shape, for callers that take a factory (tests pass their own)."""

    def __call__(self, source: Source, *, timeout: float | None = None) -> Any: ...


def connector_class(protocol: str) -> type[Any] | None:
    """The class serving ``protocol`` (None when no connector speaks it)."""
    target = CONNECTORS.get(protocol)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def open_connector(source: Source, *, timeout: float | None = None) -> Any:
    """A new connector for ``source``; ``timeout`` (seconds per blocking call) overrides
    the source's own.  Returns the protocol's class (a `Connector`; harvest, live-search
    and status connectors as the class offers) — typed loosely because callers use the
    protocol-specific calls they asked for."""
    cls = connector_class(source.protocol)
    if cls is None:
        known = ", ".join(CONNECTORS)
        raise ConnectorError(source.name, f"no connector for protocol {source.protocol!r} "
                             f"(known: {known})")
    conn: Connector = cls.from_source(source, timeout=timeout)
    return conn


def live_searchable(protocol: str) -> bool:
    """Whether sources of ``protocol`` can be searched at query time (``mode: live``)."""
    return bool(getattr(connector_class(protocol), "live_search", False))


def status_by(protocol: str) -> Literal["item", "bib"] | None:
    """How live item status is asked of ``protocol``'s servers — per item barcode or per
    record id (`connectors.base.StatusConnector`) — or None when its connector gives none."""
    return getattr(connector_class(protocol), "status_by", None)


__all__ = ["CONNECTORS", "ConnectorFactory", "connector_class", "live_searchable",
           "open_connector", "status_by"]
