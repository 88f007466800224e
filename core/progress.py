"""Progress lines for long work: count, rate and (when the total is known) ETA.

Written to stderr at most every `interval` seconds so a million-record harvest shows life
without flooding a log; stdout stays clean for data (`tongjian normalize` prints JSON).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int | None = None, interval: float = 1.0,
                 stream: TextIO | None = None, unit: str = "records") -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.interval = interval
        self.stream = stream or sys.stderr
        self.count = 0
        self.started = time.monotonic()
        self._last = self.started  # first line after one interval, not at once

    def advance(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.count / elapsed
        text = f"{self.label}: {self.count:,} {self.unit}, {rate:,.0f}/s"
        if self.total:
            left = max(self.total - self.count, 0)
            eta = left / rate if rate > 0 else 0
            text = (f"{self.label}: {self.count:,}/{self.total:,} {self.unit} "
                    f"({100 * self.count / self.total:.0f}%), {rate:,.0f}/s, ETA {eta:,.0f}s")
        return text

    def _print(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)

    def done(self) -> float:
        """Print the final line; returns elapsed seconds."""
        now = time.monotonic()
        self._print(now)
        return now - self.started
