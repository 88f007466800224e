"""What an index was built with, so an upgrade never serves it with the wrong analysis.

An index built by one release and searched by the next gives wrong results silently: the
query is analysed one way (new segmentation, folding, pinyin), the documents were
analysed another, and the document shape may have changed (a new holdings field).  So
beside the engine's own files the index keeps `tongjian-index.json`: the index format and
a fingerprint of the code that analyses text and builds documents.  On open, a missing
or different marker means "rebuild from the store" — the index is disposable, the store
is not.

The fingerprint is a hash of the analysing modules' source rather than a number someone
must remember to bump: any change to them, even a harmless one, costs one rebuild at the
next start, and no change can slip through unversioned.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

MARKER = "tongjian-index.json"
# 5: syllable pairs for pinyin phrases (issue 12's speed at 1M); 4: title parts as keys,
# title length and holding libraries for ranking (issue 12); 3: pinyin phrases and
# initials, class paths, suggest terms (issue 12); 2: summary holdings carry `online`
# (release 0.2.0); 1: release 0.1.0, unmarked
FORMAT = 5
# What decides an index's documents: the text analysis, the document shape, and each
# backend's preparation of a document (tantivy's `analyse_document`, which Meilisearch's
# `prepare_document` reuses, the suggest-term layout).  The backends' files hold query
# code too, so a change to it costs a rebuild it did not need: the price of never
# missing one.
_ANALYSING = ("core/fold.py", "index/text.py", "index/documents.py", "index/nearby.py",
              "index/tantivy_backend.py", "index/meili_backend.py")
_ROOT = Path(__file__).resolve().parents[1]


def analyser_fingerprint() -> str:
    h = hashlib.sha256()
    for name in _ANALYSING:
        path = _ROOT / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()[:16]


def expected() -> dict[str, object]:
    return {"format": FORMAT, "analyser": analyser_fingerprint()}


def stale_reason(index_dir: Path | None) -> str:
    """Why the index at `index_dir` must be rebuilt ('' when it is current).  An index in
    memory (None) is built by the process that uses it, so it is always current."""
    if index_dir is None:
        return ""
    path = Path(index_dir) / MARKER
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "the index carries no format marker (made before release 0.2.0, or never built)"
    except (OSError, ValueError) as e:
        return f"the index format marker is unreadable ({e})"
    want = expected()
    if found.get("format") != want["format"]:
        return f"index format {found.get('format')} → {want['format']}"
    if found.get("analyser") != want["analyser"]:
        return "the text analysis or the document shape changed since the index was built"
    return ""


def write(index_dir: Path | None) -> None:
    """Mark a freshly built index as current (atomically: a crash leaves no half marker)."""
    if index_dir is None:
        return
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".marker-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(expected(), f)
    os.replace(tmp, index_dir / MARKER)
