"""What the lane's LED screen (显示屏) says, line by line.

Every screen has four lines, each at most ``LINE_BYTES`` bytes in GBK, the size
of a common 4-line LED board: 8 Chinese characters or 16 ASCII ones. A plate of
8 characters takes 9 bytes, so it is always shown whole.
"""

from decimal import ROUND_HALF_UP, Decimal

LINES = 4
LINE_BYTES = 16
NO_PLATE = "未识别车牌"


def tonnes(kg: int) -> str:
    """Kilograms as tonnes with two decimals, rounded half up: 49385 → "49.39"."""
    value = (Decimal(kg) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}"


def gbk_bytes(line: str) -> int:
    return len(line.encode("gbk"))


def idle() -> tuple[str, ...]:
    return _screen("欢迎", "请上磅")


def weighing(plate: str | None) -> tuple[str, ...]:
    return _screen(_plate(plate), "正在称重", "请停稳")


def partly_on(plate: str | None) -> tuple[str, ...]:
    """The position sensors say a wheel is off the deck."""
    return _screen(_plate(plate), "请完全上磅")


def unstable(plate: str | None) -> tuple[str, ...]:
    return _screen(_plate(plate), "重量不稳 请停稳")


def released(plate: str | None, gross_kg: int, limit_kg: int) -> tuple[str, ...]:
    return _screen(
        _plate(plate),
        f"总重 {tonnes(gross_kg)}吨",
        f"限重 {tonnes(limit_kg)}吨",
        "正常 请通行",
    )


def held(plate: str | None, gross_kg: int, over_kg: int) -> tuple[str, ...]:
    return _screen(
        _plate(plate),
        f"总重 {tonnes(gross_kg)}吨",
        f"超限 {tonnes(over_kg)}吨",
        "请退回卸载",
    )


def store_failed(plate: str | None) -> tuple[str, ...]:
    return _screen(_plate(plate), "系统故障 请稍候")


def _plate(plate: str | None) -> str:
    return plate or NO_PLATE


def _screen(*lines: str) -> tuple[str, ...]:
    return tuple(lines) + ("",) * (LINES - len(lines))
