"""The platform's own plate check."""

import pytest

from zhichao.platform.plates import is_valid_plate, plate_problem

VALID = [
    "京A12345",
    "晋E12345",
    "鲁A1234挂",
    "粤B12345D",
    "京AD12345",
    "川A1234学",
    "沪B0000警",
]
INVALID = [
    ("京A1234", "7 or 8"),
    ("京A1234567", "7 or 8"),
    ("XA12345", "province"),
    ("京a12345", "not a plate"),
    ("京AI2345", "not a plate"),
    ("京A12O45", "not a plate"),
    ("京A12345挂", "not a plate"),
    ("京1A2345", "not a plate"),
    ("京A 2345", "not a plate"),
]


@pytest.mark.parametrize("plate", VALID)
def test_valid(plate):
    assert is_valid_plate(plate)


@pytest.mark.parametrize(("plate", "reason"), INVALID)
def test_invalid(plate, reason):
    assert reason in plate_problem(plate)
