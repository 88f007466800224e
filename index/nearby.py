"""Search-as-you-type keys, "one letter away" and the class levels: one definition for
every backend, so tantivy and Meilisearch suggest, correct and count classes alike.

The suggest terms each document carries are `key SEP kind display` (built by
`index.tantivy_backend.analyse_document`); a partial query is turned into the keys
such a term must start with by `suggest_keys`.  `did_you_mean` of either engine fetches
candidates its own way and keeps only those `one_edit` away from what was typed.
"""

from __future__ import annotations

from index import text

SEP = "\x1f"  # between a suggest term's key and its display form: in no key, no title
# The whole query, as pinyin letters, against whole title parts and whole names.
FUZZY_FIELDS = {"title": "title_pinyin_whole", "author": "author_pinyin_joined"}
FUZZY_MIN = 5  # letters a typo-tolerant pinyin look-up needs (hlm± a letter is noise)
# The class facet's levels, one field each (portal.clc_tree.LEVELS): I, I2, I24.
CLASS_FIELDS = ("clc_top", "clc_2", "clc_3")


def spelt(value: str) -> str:
    """A title or name as its pinyin letters, joined (红楼梦 → hongloumeng)."""
    return "".join(text.pinyin_forms(value).syllables)


def one_edit(a: str, b: str) -> bool:
    """Within one insertion, deletion, substitution or swap of neighbours."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return (a[i + 1:] == b[i + 1:] or a[i + 1:] == b[i:] or a[i:] == b[i + 1:]
            or (a[i:i + 2] == b[i:i + 2][::-1] and a[i + 2:] == b[i + 2:]))


def suggest_keys(q: str) -> list[str]:
    """The suggest-term prefixes for a partial query: its characters (folded), and for
    letters their pinyin or initials reading (红l → hl)."""
    q = " ".join(q.split())
    keys = []
    key = text.title_key(q)
    if key and (not key.isascii() or len(key) >= 2):
        keys.append(key)
    latin = text.latin_input(q)
    if latin is not None:
        if latin.syllables:
            keys.append("".join(latin.syllables))
        if len(latin.initials) >= 2:
            keys.append(latin.initials)
    return list(dict.fromkeys(keys))


def pinyin_letters(q: str) -> str:
    """The letters a pinyin "did you mean" compares ('' when the query is no pinyin long
    enough to correct: hlm ± a letter is noise)."""
    latin = text.latin_input(" ".join(q.split()))
    if latin is None:
        return ""
    letters = "".join(latin.syllables) or q.replace(" ", "").lower()
    ok = len(letters) >= FUZZY_MIN and letters.isascii() and letters.isalpha()
    return letters if ok else ""


def class_below(filters: dict[str, list[str]] | None) -> str:
    """The class level field to count: the one below the deepest class chosen ('' when no
    class is chosen, or the deepest level is: the top classes are always counted)."""
    chosen = [v for v in (filters or {}).get("clc_top", []) if v]
    depth = max((len(v) for v in chosen), default=0)
    return CLASS_FIELDS[depth] if 0 < depth < len(CLASS_FIELDS) else ""


def class_values_by_level(values: list[str]) -> list[tuple[str, list[str]]]:
    """Chosen classes of any level, grouped by the field of their level (I → clc_top,
    I24 → clc_3); a value deeper than the levels indexed matches nothing."""
    return [(field, chosen) for level, field in enumerate(CLASS_FIELDS, 1)
            if (chosen := [v for v in values if len(v) == level])]


def distinct_corrections(q: str, found: list[str], limit: int) -> list[str]:
    """Corrections in the order found, each once (by folded title), never the query."""
    seen = {text.title_key(q)}
    unique = []
    for item in found:
        if text.title_key(item) not in seen:
            seen.add(text.title_key(item))
            unique.append(item)
    return unique[:limit]
