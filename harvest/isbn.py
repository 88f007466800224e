"""ISBN: validate the check digit, and carry every valid one as ISBN-13.

Libraries record the same book as ISBN-10 or ISBN-13, with hyphens, spaces, prices and
qualifiers ("7-02-000220-6 (平装)").  Merging by ISBN only works on one normal form.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(
    r"(?<![0-9Xx])(97[89][0-9 -]{9,16}[0-9]|[0-9][0-9 -]{7,11}[0-9Xx])(?![0-9])"
)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text).upper()


def valid13(isbn: str) -> bool:
    if len(isbn) != 13 or not isbn.isdigit():
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(isbn[:12]))
    return (10 - total % 10) % 10 == int(isbn[12])


def valid10(isbn: str) -> bool:
    if len(isbn) != 10 or not isbn[:9].isdigit() or not (isbn[9].isdigit() or isbn[9] == "X"):
        return False
    total = sum((10 - i) * int(d) for i, d in enumerate(isbn[:9]))
    check = (11 - total % 11) % 11
    return isbn[9] == ("X" if check == 10 else str(check))


def to13(isbn10: str) -> str:
    core = "978" + isbn10[:9]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core))
    return core + str((10 - total % 10) % 10)


def normalize(text: str) -> tuple[str | None, str]:
    """(valid ISBN-13 or None, the digits as found) for one ISBN subfield."""
    m = _CANDIDATE.search(text.replace("－", "-").replace("—", "-"))
    raw = _digits(m.group(1)) if m else _digits(text)
    if len(raw) == 13 and valid13(raw):
        return raw, raw
    if len(raw) == 10 and valid10(raw):
        return to13(raw), raw
    return None, raw

