"""The status vocabulary as a table: a system's words in, the reader's state out.

The rule that matters most is pinned first: a word not in the tables is unknown, and
unknown is never shown (or counted) as available."""

from __future__ import annotations

import pytest

from core.status import (
    AVAILABLE,
    CHINESE,
    CODES,
    ENGLISH,
    IN_TRANSIT,
    KOHA,
    LABELS,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    ONLINE,
    SYMPHONY,
    UNAVAILABLE,
    UNKNOWN,
    Status,
    best,
    combine,
    common_status,
    due_date,
    label,
    location_use_only,
)


@pytest.mark.parametrize(("raw", "code", "due"), [
    # Chinese ILS words, alone and combined
    ("在架", AVAILABLE, ""), ("在馆可借", AVAILABLE, ""), ("可借", AVAILABLE, ""),
    ("已借出", ON_LOAN, ""), ("借出 应还日期:2026-12-01", ON_LOAN, "2026-12-01"),
    ("借出，应还2026年12月1日", ON_LOAN, "2026-12-01"),
    ("已借出在途", ON_LOAN, ""),  # two table words run together: the less available wins
    ("在途", IN_TRANSIT, ""), ("通还在途", IN_TRANSIT, ""),
    ("阅览", LIBRARY_USE_ONLY, ""), ("仅供阅览", LIBRARY_USE_ONLY, ""),
    ("丢失", UNAVAILABLE, ""), ("在架；丢失", UNAVAILABLE, ""), ("在架、丢失", UNAVAILABLE, ""),
    ("在架|修补中", UNAVAILABLE, ""), ("在架\n剔除", UNAVAILABLE, ""),
    ("状态不明", UNKNOWN, ""), ("未知", UNKNOWN, ""),
    # words not in the tables: never available
    ("在架待定", UNKNOWN, ""), ("可借?", UNKNOWN, ""), ("可借？", UNKNOWN, ""),
    ("在架；神秘状态", UNKNOWN, ""), ("在架, frobnicated", UNKNOWN, ""),
    ("已借出；神秘状态", ON_LOAN, ""),  # an unknown part keeps the definite non-available one
    ("", UNKNOWN, ""), ("   ", UNKNOWN, ""), (None, UNKNOWN, ""), ("2026-12-01", UNKNOWN, ""),
    ("—", UNKNOWN, ""),
    # Symphony current locations, folded
    ("CHECKEDOUT", ON_LOAN, ""), ("INTRANSIT", IN_TRANSIT, ""), ("LOST-ASSUM", UNAVAILABLE, ""),
    ("ON_ORDER", UNAVAILABLE, ""), ("STACKS", UNKNOWN, ""),
    # Koha status_summary
    ("available", AVAILABLE, ""), ("checked out, due 2026-12-01", ON_LOAN, "2026-12-01"),
    ("lost (2)", UNAVAILABLE, ""), ("not for loan (1)", LIBRARY_USE_ONLY, ""),
    ("not for loan (-1)", UNAVAILABLE, ""),  # ordered: not on the shelf at all
    ("damaged (+1)", UNAVAILABLE, ""), ("mystery (3)", UNKNOWN, ""),
    ("available; mystery (3)", UNKNOWN, ""),  # an unknown word with a code: not available
    ("not for loan (0)", LIBRARY_USE_ONLY, ""), ("not_for_loan (-1)", UNAVAILABLE, ""),
    ("丢失在架", UNAVAILABLE, ""), ("在架 丢失", UNAVAILABLE, ""),
    ("available; restricted (1)", LIBRARY_USE_ONLY, ""),
    # English words, width and case folded
    ("Checked-Out", ON_LOAN, ""), ("ＡＶＡＩＬＡＢＬＥ", AVAILABLE, ""),
    ("In Transit", IN_TRANSIT, ""), ("Library use only", LIBRARY_USE_ONLY, ""),
    ("due 2026-02-30", ON_LOAN, ""),  # an impossible date is no due date
    ("on loan 2026-02-30 2026-03-02", ON_LOAN, "2026-03-02"),  # the next real one is
    ("on shelf", AVAILABLE, ""), ("available 2026-12-01", AVAILABLE, ""),  # date only on loan
])
def test_common_status(raw: str | None, code: str, due: str) -> None:
    assert common_status(raw) == Status(code, due)


@pytest.mark.parametrize("table", [CHINESE, SYMPHONY, KOHA, ENGLISH])
def test_every_table_word_reads_as_its_code(table: dict[str, str]) -> None:
    for word, code in table.items():
        if table is KOHA and word == "not for loan":
            continue  # a code's sign decides (above)
        assert common_status(word).code == code, word


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01", "2026-12-01"), ("2026/1/5", "2026-01-05"), ("2026.01.05", "2026-01-05"),
    ("2026年1月5日", "2026-01-05"), ("20261205", "2026-12-05"), ("due 1999-12-31", "1999-12-31"),
    ("2026-13-01", ""), ("2026-02-30 then 2026-03-01", "2026-03-01"), ("12026-01-01", ""),
    ("1899-01-01", ""), ("2126-01-01", ""), ("202612051", ""), ("no date", ""),
])
def test_due_date(text: str, expected: str) -> None:
    assert due_date(text) == expected


@pytest.mark.parametrize(("codes", "expected"), [
    ([], UNKNOWN), ([AVAILABLE], AVAILABLE), ([AVAILABLE, ON_LOAN], ON_LOAN),
    ([ON_LOAN, UNAVAILABLE], UNAVAILABLE), ([IN_TRANSIT, ON_LOAN], ON_LOAN),
    ([LIBRARY_USE_ONLY, IN_TRANSIT], IN_TRANSIT), ([AVAILABLE, LIBRARY_USE_ONLY],
                                                    LIBRARY_USE_ONLY),
    ([AVAILABLE, UNKNOWN], UNKNOWN), ([LIBRARY_USE_ONLY, UNKNOWN], LIBRARY_USE_ONLY),
    ([UNKNOWN, UNKNOWN], UNKNOWN), ([ONLINE], UNKNOWN),
])
def test_combine_takes_the_least_available_reading(codes: list[str], expected: str) -> None:
    assert combine(codes) == expected


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], Status(UNKNOWN)),
    ([Status(UNKNOWN), Status(AVAILABLE)], Status(AVAILABLE)),
    ([Status(LIBRARY_USE_ONLY), Status(AVAILABLE)], Status(AVAILABLE)),
    ([Status(IN_TRANSIT), Status(LIBRARY_USE_ONLY)], Status(LIBRARY_USE_ONLY)),
    ([Status(ON_LOAN, "2026-12-09"), Status(IN_TRANSIT)], Status(IN_TRANSIT)),
    ([Status(ON_LOAN, "2026-12-09"), Status(ON_LOAN, "2026-12-01"), Status(ON_LOAN)],
     Status(ON_LOAN, "2026-12-01")),
    ([Status(ON_LOAN), Status(UNAVAILABLE)], Status(ON_LOAN)),
    ([Status(UNAVAILABLE), Status(UNKNOWN)], Status(UNAVAILABLE)),
    ([Status(UNKNOWN)], Status(UNKNOWN)),
])
def test_best_is_the_readers_best_chance(statuses: list[Status], expected: Status) -> None:
    assert best(statuses) == expected


def test_the_tables_merge_into_one_and_a_contradiction_is_refused(monkeypatch) -> None:
    from core import status

    assert status._merged() == status.WORDS
    assert status.WORDS["checked out"] == ON_LOAN and status.WORDS["在架"] == AVAILABLE
    monkeypatch.setattr(status, "VOCABULARIES", ({"lost": UNAVAILABLE}, {"lost": AVAILABLE}))
    with pytest.raises(ValueError, match="status word 'lost' maps to both unavailable and "
                                         "available"):
        status._merged()


def test_labels_and_availability() -> None:
    assert [label(c) for c in CODES] == [LABELS[c] for c in CODES]
    assert label(AVAILABLE) == "在架可借" and label(LIBRARY_USE_ONLY) == "仅限馆内阅览"
    assert label("frobnicated") == "状态不明"  # an unknown code is never 在架可借
    assert Status(AVAILABLE).available and Status(AVAILABLE).label == "在架可借"
    assert not any(Status(c).available for c in CODES if c != AVAILABLE)
    assert Status(ON_LOAN, "2026-12-01").label == "已借出"


@pytest.mark.parametrize(("name", "use_only"), [
    ("地方文献阅览室", True), ("参考工具书阅览室", True), ("参考书库", True), ("保存本库", True),
    ("古籍部", True), ("特藏室", True), ("Reference", True), ("READING ROOM 2", True),
    ("ｒｅｆｅｒｅｎｃｅ", True), ("中文借阅室", False), ("书库", False), ("", False),
    (None, False),
])
def test_location_use_only(name: str | None, use_only: bool) -> None:
    assert location_use_only(name) is use_only
