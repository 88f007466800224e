"""The interfaces connectors implement, the errors they raise, and the live item type.

Modelled on sickle and VuFind's ILS drivers: a connector is a small client plus one
iterator that hides paging, and what it can do is said by its class: ``harvest``
(`HarvestConnector`), ``live_search = True`` (searched at query time, see
`connectors.broadcast.LiveConnector`), ``status_by`` (live item status,
`StatusConnector`: VuFind's ``getStatuses``).  Errors are typed so the harvester can tell
"the server is down" (retry later, show it in the portal) from "the server said no" (a
diagnostic to show the admin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from core.status import Status


@dataclass(frozen=True)
class RawRecord:
    """A record exactly as a member system returned it."""

    source: str  # source name from config.yaml
    position: int  # 1-based position in the result set / harvest stream
    data: bytes  # ISO 2709, MARCXML or other XML, as received
    syntax: str  # usmarc | unimarc | marcxml | oai_dc | …
    record_id: str = ""  # the server's identifier, when it gives one apart from the data
    deleted: bool = False  # a deletion notice: `record_id` names the record, `data` is empty
    datestamp: str = ""  # when the source last changed it, in the source's own format


@dataclass(frozen=True)
class Checkpoint:
    """A point in a harvest stream where everything before it has been delivered.

    The harvester stores `state` in the same transaction as the records before it, so a
    harvest killed at any moment resumes from the last checkpoint and every record ends up
    stored exactly once.  `state` must be JSON-serializable and is handed back verbatim to
    `harvest(state=…)`.  The last checkpoint of a complete harvest has `final=True`; its
    state is where the next incremental harvest starts (e.g. an OAI-PMH `from` datestamp).
    """

    state: dict[str, Any] = field(default_factory=dict)
    final: bool = False


class ConnectorError(Exception):
    """Base class: something went wrong talking to a member system."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class Unreachable(ConnectorError):
    """Connection refused, timed out, DNS failure: the server is down or the address wrong."""


class Diagnostic(ConnectorError):
    """The server answered with a protocol diagnostic (Bib-1, SRU, OAI error code …)."""

    def __init__(self, source: str, code: int | str, message: str, addinfo: str = "") -> None:
        detail = f"diagnostic {code}: {message}" + (f" ({addinfo})" if addinfo else "")
        super().__init__(source, detail)
        self.code = code
        self.diag_message = message
        self.addinfo = addinfo


class NotOffered(ConnectorError):
    """The server cannot give live item status (no OPAC record syntax, a protocol without
    it): an answer about the server, so callers stop asking it for a while."""


ErrorCallback = Callable[[int, str], None]


class Connector(Protocol):
    """What every connector is, whatever else its class offers (see the module docstring);
    `connectors.registry.open_connector` is the one place that builds them."""

    name: str

    def close(self) -> None: ...


class HarvestConnector(Protocol):
    """What the harvester needs from a source in mode `harvest`.

    `incremental` says whether `harvest(state=<final checkpoint state>)` returns only what
    changed since (OAI-PMH `from`, a modified-since query …) including deletion notices.
    When it is False the harvester treats every run as a full harvest and deletes what the
    source no longer returns — but only after a complete run.
    """

    name: str
    incremental: bool

    def harvest(self, state: dict[str, Any] | None = None,
                on_error: ErrorCallback | None = None) -> Iterator[RawRecord | Checkpoint]:
        """Yield records (and deletion notices) interleaved with checkpoints.

        `state=None`: everything, from the start.  `state` from a non-final checkpoint:
        continue the interrupted harvest after that point.  `state` from a final
        checkpoint: what changed since (or everything, when not `incremental`).
        A record the server cannot deliver is reported through `on_error(position,
        reason)` and skipped: one bad record never ends a harvest."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LiveItem:
    """One copy as its system reports it now, in the common vocabulary (`core.status`);
    ``raw`` is the system's own words, kept for the admin and for the record page."""

    status: Status
    raw: str = ""
    barcode: str = ""
    call_number: str = ""
    location: str = ""


class StatusConnector(Protocol):
    """Live item status (VuFind's ``getStatuses``), asked one key at a time so the caller
    can stop at its deadline between requests.

    ``status_by`` says what a key is: an item barcode ("item": Symphony, one request per
    copy) or the record's id in the source ("bib": Koha, the Z39.50 OPAC record by local
    number — every copy of the record in one answer).  ``keep_alive`` says whether an idle
    connector may serve a later check: an HTTP session may; a Z39.50 session is closed by
    most servers when idle, and a dead one would be taken for a dead server.
    """

    status_by: Literal["item", "bib"]
    keep_alive: bool

    def item_statuses(self, key: str) -> tuple[LiveItem, ...] | None:
        """The copies under ``key`` now; None when the source has no such item or record.
        Raises `NotOffered` when the server cannot give live status at all, `Diagnostic`
        when this one request failed (the next key may still work), `Unreachable` or
        `TimeoutError` when the server is down or too slow."""
        ...

    def close(self) -> None: ...
