"""The one fold of text for comparing titles and names, wherever they are compared.

Libraries type the same title in many ways a reader does not see as different: full-width
forms (ＡＢＣ１２３, （）), upper or lower case, traditional or simplified characters
(紅樓夢 / 红楼梦).  Whether two titles are "the same" is asked in four places — the
matcher merging records, the quality report finding a book catalogued twice, the index
cutting words, interlibrary loan counting a pasted title as held — and when each folded
its own way, the report called duplicates what the matcher kept apart and ILL missed
what the search found.  So there is one fold, here:

* `fold`: NFKC (width), lower case, OpenCC t2s (script).  Lower case, not `casefold`: the
  matcher's stored keys (`MatchRecord.to_json`, versioned by `MATCH_VERSION`) were built
  with it, and the two differ only on a few Latin letters (ß) no catalogue here compares.
* `squash`: letters and digits only, so punctuation and spaces never make two titles
  differ.
* `title_key`: both — a title (or a name, a volume designation) as compared.

What a caller adds on top stays with the caller and is applied after the fold: the
matcher's variant characters (锺/钟), HTML entities, leading articles, brackets and
volume parts (`harvest.matching.normalize`); the index's word segmentation and pinyin
(`index.text`).  The OpenCC converter loads once, lazily, on the first non-ASCII text,
so importing this module is free.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

__all__ = ["fold", "squash", "title_key"]

_lock = threading.Lock()
_t2s: Any = None
_NOT_WORD = re.compile(r"[\W_]+")


def _converter() -> Any:
    """OpenCC's t2s converter, built once: loading its dictionaries takes ~0.1 s."""
    global _t2s
    if _t2s is None:
        with _lock:
            if _t2s is None:
                import opencc

                _t2s = opencc.OpenCC("t2s")
    return _t2s


def fold(text: str) -> str:
    """Fold width, case and script so equal-looking text compares equal.

    ASCII-only text skips NFKC and OpenCC: it is most of what numbers and codes look like,
    and both are no-ops on it.
    """
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower()
    if text.isascii():
        return text
    simplified: str = _converter().convert(text)
    return simplified


def squash(folded: str) -> str:
    """Letters and digits only: punctuation and spaces never make two titles differ."""
    return _NOT_WORD.sub("", folded)


def title_key(text: str) -> str:
    """A title or name as compared: `fold`, then `squash` (紅樓夢（上） → 红楼梦上)."""
    return _NOT_WORD.sub("", fold(text))
