"""A shortcut in a search's response assembly (issue 20, item 2) gives the same answer
as the long way: result lines built without live records equal the general rule's."""

from __future__ import annotations

import pytest

from core.config import Library
from core.entry import LibraryCopies, combine
from index.backend import SearchHit
from portal.query import hit_json, holding_lines

LIBS = {"SXPL": Library("SXPL", "陕西省图书馆", "西安市", level="province"),
        "XYLIB": Library("XYLIB", "咸阳市图书馆", "咸阳市", level="city"),
        "SMLIB": Library("SMLIB", "神木市图书馆", "榆林市", level="county")}
HOLDINGS = [
    [],
    [{"library": "SMLIB", "copies": 2, "available": 1}, {"library": "SXPL", "copies": 1}],
    # the same library twice (summed), one the config no longer has (named as stored),
    # one row with nothing but its code
    [{"library": "XYLIB", "copies": 1, "online": True, "name": "旧名"},
     {"library": "GONE", "name": "撤销的馆", "region": "某市", "copies": 3, "available": 2},
     {"library": "XYLIB", "copies": 4, "available": 3, "name": "咸阳馆"},
     {"library": "SXPL"}],
]


@pytest.mark.parametrize("held", HOLDINGS)
def test_result_lines_without_live_records_follow_the_general_rule(
        held: list[dict[str, object]]) -> None:
    stored = [LibraryCopies(str(h.get("library", "")), int(h.get("copies", 1)),  # type: ignore[call-overload]
                            bool(h.get("online")), False, int(h.get("available", 0)))  # type: ignore[call-overload]
              for h in held]
    names = {str(h.get("library", "")): h for h in held}
    expected = holding_lines(combine(stored, []), LIBS, names)
    hit = SearchHit(id="c1", score=1.0, doc={"title": "书", "holdings": held})
    assert hit_json(hit, LIBS)["holdings"] == expected
