"""The interface every connector implements, and the errors they raise.

Modelled on sickle and VuFind's ILS drivers: a connector is a small client plus one
iterator that hides paging.  Errors are typed so the harvester can tell "the server is
down" (retry later, show it in the portal) from "the server said no" (a diagnostic to
show the admin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RawRecord:
    """A record exactly as a member system returned it."""

    source: str  # source name from config.yaml
    position: int  # 1-based position in the result set / harvest stream
    data: bytes  # ISO 2709, MARCXML or other XML, as received
    syntax: str  # usmarc | unimarc | marcxml | oai_dc | …
    record_id: str = ""  # the server's identifier, when it gives one apart from the data


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


class HarvestConnector(Protocol):
    """What the harvester needs from a source in mode `harvest`."""

    name: str

    def harvest(self, on_error: Callable[[int, str], None] | None = None
                ) -> Iterator[RawRecord]:
        """Yield every record the source offers, in a stable order.

        A record the server cannot deliver (a surrogate diagnostic) is reported through
        `on_error(position, reason)` and skipped: one bad record never ends a harvest."""
        ...

    def close(self) -> None: ...
