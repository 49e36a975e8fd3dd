"""Screen layouts (屏幕排版) for LED boards of 2 to 4 lines, measured in GBK bytes.

An LED board shows a fixed number of lines, each a fixed number of bytes wide
in GBK: a Chinese character takes two bytes, an ASCII one one byte, so a board
16 bytes wide shows 8 Chinese characters. A plate (up to 8 characters, at most
``PLATE_BYTES`` bytes) always gets a line of its own or shares one only when
both fit; the other lines choose the longest wording that fits. Text that
still does not fit is shortened visibly with ``ELLIPSIS`` and never cut inside
a two-byte character. Pure: strings in, strings out.
"""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from zhichao.errors import EncodingError

ENCODING = "gbk"
ELLIPSIS = ".."  # ASCII: every LED font has it, and it costs two bytes
PLATE_BYTES = 10  # the longest plate in GBK: 8 characters, one or two Chinese
MIN_WIDTH = PLATE_BYTES
MIN_LINES = 2
MAX_LINES = 4


def gbk_width(text: str) -> int:
    """How many bytes ``text`` takes on the screen."""
    try:
        return len(text.encode(ENCODING))
    except UnicodeEncodeError as err:
        raise EncodingError(f"{text!r} has a character GBK cannot encode") from err


def shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` bytes, else its head and ``ELLIPSIS``.

    The cut falls between characters, so the result is always valid GBK.
    """
    if gbk_width(text) <= width:
        return text
    room = width - len(ELLIPSIS)
    if room < 0:
        return ELLIPSIS[:width]
    head, used = "", 0
    for char in text:
        size = gbk_width(char)
        if used + size > room:
            break
        head += char
        used += size
    return head + ELLIPSIS


def first_fitting(candidates: Sequence[str], width: int) -> str:
    """The first wording that fits, else the last one shortened."""
    for text in candidates:
        if gbk_width(text) <= width:
            return text
    return shorten(candidates[-1], width)


def tonnes(kg: int) -> str:
    """Kilograms as tonnes with two decimals, rounded half up: 49385 → "49.39"."""
    value = (Decimal(kg) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}"


def decision_layout(
    lines: int,
    width: int,
    plate: str | None,
    gross_kg: int,
    limit_kg: int,
    overloaded: bool,
) -> tuple[str, ...]:
    """The decision screen: plate, gross, limit and verdict on ``lines`` lines."""
    _check_size(lines, width)
    shown_plate = plate or "未识别车牌"
    gross, limit = tonnes(gross_kg), tonnes(limit_kg)
    verdict = _verdict_wordings(overloaded)
    word = verdict[-1]

    gross_line = [f"总重 {gross}吨", f"总重{gross}吨", f"总{gross}吨", f"总{gross}"]
    limit_line = [f"限重 {limit}吨", f"限重{limit}吨", f"限{limit}吨", f"限{limit}"]
    both = [
        f"总重{gross} 限重{limit}",
        f"总{gross} 限{limit}",
        f"总{gross}/{limit}",
    ]
    if lines == 4:
        rows = [[shown_plate], gross_line, limit_line, verdict]
    elif lines == 3:
        rows = [[shown_plate], both, verdict]
    else:
        rows = _two_line_rows(shown_plate, word, gross, limit, both, width)
    return tuple(first_fitting(row, width) for row in rows)


def idle_layout(lines: int, width: int, unit_name: str = "") -> tuple[str, ...]:
    """The screen between trucks: the unit's name (shortened) and a greeting."""
    _check_size(lines, width)
    greeting = ["欢迎 请上磅", "请上磅"]
    rows = [[unit_name or "欢迎"], greeting] if unit_name else [["欢迎"], ["请上磅"]]
    fitted = [first_fitting(row, width) for row in rows]
    return _pad(fitted, lines)


def fit_lines(lines: Sequence[str], rows: int, width: int) -> tuple[str, ...]:
    """Any screen's lines on a board of ``rows`` x ``width`` bytes.

    Trailing blank lines are dropped; when more lines remain than the board has,
    the surplus is joined onto the last row with spaces. Every row is then
    shortened to the width, visibly. The first line (where a plate goes) is
    kept whole whenever it fits the width.
    """
    _check_size(rows, width, minimum=1)
    kept = list(lines)
    while kept and not kept[-1].strip():
        kept.pop()
    if len(kept) > rows:
        tail = " ".join(line for line in kept[rows - 1 :] if line.strip())
        kept = kept[: rows - 1] + [tail]
    return _pad([shorten(line, width) for line in kept], rows)


def _two_line_rows(plate, word, gross, limit, both, width):
    with_word = [f"{plate} {word}", f"{plate}{word}"]
    if any(gbk_width(text) <= width for text in with_word):
        return [with_word, both]
    weights = [f"{word} 总{gross}", f"{word}{gross}吨", f"{word}{gross}", word]
    return [[plate], weights]


def _verdict_wordings(overloaded: bool) -> list[str]:
    if overloaded:
        return ["超限 请退回卸载", "超限 请卸载", "超限"]
    return ["正常 请通行", "正常通行", "正常"]


def _pad(rows: list[str], lines: int) -> tuple[str, ...]:
    return tuple(rows[:lines]) + ("",) * (lines - len(rows[:lines]))


def _check_size(lines: int, width: int, minimum: int = MIN_LINES) -> None:
    if not minimum <= lines <= MAX_LINES:
        raise ValueError(f"a layout has {minimum}-{MAX_LINES} lines, not {lines}")
    if width < MIN_WIDTH:
        raise ValueError(f"a screen line of {width} bytes cannot hold a plate")
