"""Sample data for the registry tests: valid credit codes, a county's list."""

from pathlib import Path

from zhichao.platform.importer import write_units_xlsx
from zhichao.platform.units import CREDIT_ALPHABET, credit_check_char


def credit_code(serial: int, region: str = "140525") -> str:
    """A valid unified social credit code (企业, 91…) with ``serial`` in it."""
    org = ""
    for _ in range(9):
        serial, digit = divmod(serial, len(CREDIT_ALPHABET))
        org = CREDIT_ALPHABET[digit] + org
    first = "91" + region + org
    return first + credit_check_char(first)


def bad_check(code: str) -> str:
    """``code`` with a wrong check character."""
    wrong = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(code[17]) + 1) % 31]
    return code[:17] + wrong


def good_row(serial: int, region: str = "泽州县", kind: str = "煤矿") -> list:
    return [
        f"泽州县第{serial}煤矿",
        credit_code(serial),
        kind,
        region,
        f"泽州县某镇{serial}号",
        112.85 + serial / 1000,
        35.5,
        "张三",
        "0356-1234567",
        "驻场监管",
        "李四",
        "是",
    ]


def county_list(path: Path, good: int = 5, title: str | None = "泽州县源头单位名单"):
    """A county list: ``good`` good rows then the five kinds of bad row.

    Row numbers (with the title row): header 2, good rows 3…; the bad rows
    follow in this order: bad credit code, unknown kind, unknown region,
    duplicate of the first row, empty name.
    """
    rows = [good_row(i) for i in range(1, good + 1)]
    bad_code = good_row(101)
    bad_code[1] = bad_check(bad_code[1])
    bad_kind = good_row(102, kind="养猪场")
    bad_region = good_row(103, region="太原市小店区")
    duplicate = good_row(104)
    duplicate[1] = rows[0][1]
    empty_name = good_row(105)
    empty_name[0] = "  "
    rows += [bad_code, bad_kind, bad_region, duplicate, empty_name]
    return write_units_xlsx(path, rows, title=title)
