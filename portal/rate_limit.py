"""Per-client request budgets: a sliding minute per client address.

Shared by live search (each reader starts at most so many live searches a minute) and the
endpoints other systems use (OAI-PMH, SRU): one harvester in a loop must not starve the
readers.  The client is the address `portal.proxies` settled on (behind a trusted proxy,
the reader's own), so one proxy does not count as one client.
"""

from __future__ import annotations

import time
from collections import deque


class PerClientRate:
    """How long each client must wait before its next request, counting this one."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def wait(self, client: str, per_minute: int, now: float | None = None) -> float:
        """Seconds until `client` may make another request (0: now, and it is counted)."""
        now = time.monotonic() if now is None else now
        recent = self._times.setdefault(client, deque())
        while recent and now - recent[0] >= 60.0:
            recent.popleft()
        if len(recent) >= per_minute:
            return 60.0 - (now - recent[0])
        recent.append(now)
        if len(self._times) > 64:
            for other in [c for c, times in self._times.items()
                          if not times or now - times[-1] >= 60.0]:
                del self._times[other]  # forget clients that went quiet
        return 0.0
