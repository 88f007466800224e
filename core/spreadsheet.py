"""Text bound for a spreadsheet (CSV, XLSX) that must not run as a formula.

Titles, notes and names come from remote catalogues and from users; a cell starting with
= + - @ (or a tab or carriage return) is a formula to Excel and its kin, so such text gets
a leading apostrophe (OWASP's advice on CSV injection).  Every export of the project goes
through this one function.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
