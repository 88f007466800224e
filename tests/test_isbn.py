"""ISBN behaviour, as a table: a subfield as cataloguers write it in, (ISBN-13, digits) out.

Check digits are computed here by the textbook rule, not by the module under test."""

from __future__ import annotations

import pytest

from harvest import isbn


def _check13(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str(-total % 10)


def _check10(first9: str) -> str:
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    c = -total % 11
    return first9 + ("X" if c == 10 else str(c))


@pytest.mark.parametrize(("text", "expected"), [
    ("9787300000077", ("9787300000077", "9787300000077")),
    ("978-7-300-00007-7", ("9787300000077", "9787300000077")),
    ("7-300-00007-X (平装) CNY25.00", ("9787300000077", "730000007X")),  # the docstring's case
    ("7-300-00007-x", ("9787300000077", "730000007X")),  # lowercase check digit
    ("730000007X", ("9787300000077", "730000007X")),
    ("ISBN 7-5037-1744-0 : CNY12.00", ("9787503717444", "7503717440")),
    ("7－5037－1744－0 (平装) CNY12.00", ("9787503717444", "7503717440")),  # full-width
    ("7—5037—1744—0 (平装) CNY12.00", ("9787503717444", "7503717440")),  # em dashes
    ("979-10-90636-07-1", ("9791090636071", "9791090636071")),  # hyphenated 979
    ("9787300000060 (精装)", ("9787300000060", "9787300000060")),  # check digit 0
    ("7300000061", ("9787300000060", "7300000061")),  # becomes an ISBN-13 ending in 0
    ("7-5037-1744-1", (None, "7503717441")),  # wrong check digit: kept, not valid
    ("9787300000078", (None, "9787300000078")),
    ("978730000007X", (None, "978730000007X")),  # X is no ISBN-13 check digit
    ("CNY25.00", (None, "2500")),
    ("", (None, "")),
    ("定价 12 元", (None, "12")),
])
def test_normalize(text: str, expected: tuple[str | None, str]) -> None:
    assert isbn.normalize(text) == expected


@pytest.mark.parametrize("first12", ["978730000006", "978711100000", "978730000007", "979109063607",
                                     "978750371744", "978000000000", "978999999999"])
def test_valid13_agrees_with_the_textbook_rule_for_every_check_digit(first12: str) -> None:
    good = _check13(first12)
    assert isbn.valid13(good)
    for d in "0123456789":
        if d != good[-1]:
            assert not isbn.valid13(first12 + d)


@pytest.mark.parametrize("first9", ["730000007", "750371744", "000000000", "999999999",
                                    "711100000", "020161622", "123456789"])
def test_valid10_and_to13_agree_with_the_textbook_rule(first9: str) -> None:
    good = _check10(first9)
    assert isbn.valid10(good)
    for d in "0123456789X":
        if d != good[-1]:
            assert not isbn.valid10(first9 + d)
    assert isbn.to13(good) == _check13("978" + first9)


@pytest.mark.parametrize("bad", ["97873000000", "97873000000777", "978730000007a",
                                 "x787300000077"])
def test_valid13_refuses_wrong_shapes(bad: str) -> None:
    assert not isbn.valid13(bad)


@pytest.mark.parametrize("bad", ["730000007", "730000007XX", "73000000XX", "7300000x7X",
                                 "a30000007X"])
def test_valid10_refuses_wrong_shapes(bad: str) -> None:
    assert not isbn.valid10(bad)
