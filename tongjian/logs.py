"""Log lines for people and for log collectors: plain text, or one JSON object per line.

`TONGJIAN_LOG_FORMAT=json` (the systemd unit sets it) makes every event one line of JSON
— time, level, logger, message, and the source and record ids when the code that logged
knew them (``extra={"source": …, "record": …}``) — so journald, Loki or ELK can filter
by source without parsing sentences.  Plain is the default for a terminal.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT = ("source", "record")  # ids a log call may pass in `extra`


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            value = getattr(record, key, None)
            if value not in (None, ""):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def setup_logging(fmt: str | None = None, level: int = logging.INFO) -> str:
    """Configure the root logger once for the process; returns the format used.  An
    unknown format is refused loudly rather than silently logging in another one."""
    fmt = (fmt or os.environ.get("TONGJIAN_LOG_FORMAT") or "plain").strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"TONGJIAN_LOG_FORMAT={fmt!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(PLAIN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nginx keeps the access log (docs/deploy.md); one line per request here is noise.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return fmt
