"""Chinese motor-vehicle licence plates (机动车号牌): normalising and validating.

A plate is a province character, a letter for the issuing city, then five
characters of digits and letters other than I and O, the last of which may be a
class character (挂 trailer, 学 driving school, 警 police, 港 and 澳 cross-border).
New-energy plates (新能源号牌) have eight characters: small green plates carry
D or F third (京AD12345), large yellow-green plates carry D or F last (粤B12345D).
"""

import logging
import re
import unicodedata

from zhichao.errors import ConfigError, PlateError
from zhichao.protocols.readings import PlateColor

logger = logging.getLogger(__name__)

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CLASS_CHARS = "挂学警港澳"
NEW_ENERGY_CHARS = "DF"
NO_PLATE_TEXTS = frozenset(
    {"无车牌", "车牌", "无牌", "未识别", "_无_", "NOPLATE", "UNKNOWN"}
)

_SEPARATORS = re.compile(r"[\s·・•\-]+")
_SERIAL = "0-9A-HJ-NP-Z"  # digits and letters without I and O
_ORDINARY = re.compile(rf"[{_SERIAL}]{{4}}[{_SERIAL}{CLASS_CHARS}]")
_SMALL_NEW_ENERGY = re.compile(rf"[{NEW_ENERGY_CHARS}][{_SERIAL}][0-9]{{4}}")
_LARGE_NEW_ENERGY = re.compile(rf"[0-9]{{5}}[{NEW_ENERGY_CHARS}]")

# Colour words as cameras send them, keyed by their folded form (lower case,
# no separators). Chinese words double as prefixes of the plate text.
_COLOR_WORDS = {
    "blue": PlateColor.BLUE,
    "yellow": PlateColor.YELLOW,
    "white": PlateColor.WHITE,
    "black": PlateColor.BLACK,
    "green": PlateColor.GREEN,
    "yellowgreen": PlateColor.YELLOW_GREEN,
    "蓝": PlateColor.BLUE,
    "黄": PlateColor.YELLOW,
    "白": PlateColor.WHITE,
    "黑": PlateColor.BLACK,
    "绿": PlateColor.GREEN,
    "黄绿": PlateColor.YELLOW_GREEN,
}
_CHINESE_PREFIXES = ("黄绿", "蓝", "黄", "白", "黑", "绿")  # longest first
_VZENITH_CODES = {1: PlateColor.BLUE, 2: PlateColor.YELLOW, 5: PlateColor.GREEN}
VENDORS = ("hikvision", "dahua", "vzenith")


def normalize_plate(text: str) -> str:
    """Fold full-width forms, drop spaces and separators, upper-case letters."""
    folded = unicodedata.normalize("NFKC", text)
    return _SEPARATORS.sub("", folded).upper()


def validate_plate(text: str) -> str:
    """Return the normalised plate, or raise PlateError saying what is wrong."""
    plate = normalize_plate(text)
    if not plate:
        raise PlateError(f"empty plate text {text!r}")
    if len(plate) not in (7, 8):
        raise PlateError(
            f"plate {plate!r} has {len(plate)} characters; a plate has 7, "
            "or 8 for a new-energy plate"
        )
    if plate[0] not in PROVINCES:
        raise PlateError(f"plate {plate!r} does not start with a province character")
    if not "A" <= plate[1] <= "Z":
        raise PlateError(f"plate {plate!r}: the second character must be a letter A-Z")
    _check_serial(plate)
    return plate


def _check_serial(plate: str) -> None:
    serial = plate[2:]
    if "I" in serial or "O" in serial:
        raise PlateError(f"plate {plate!r}: I and O are never used after the city")
    if len(plate) == 7 and _ORDINARY.fullmatch(serial):
        return
    if len(plate) == 8 and (
        _SMALL_NEW_ENERGY.fullmatch(serial) or _LARGE_NEW_ENERGY.fullmatch(serial)
    ):
        return
    if len(plate) == 8:
        raise PlateError(
            f"plate {plate!r}: an 8-character plate is new-energy, with D or F "
            "third and four digits last, or five digits then D or F"
        )
    raise PlateError(
        f"plate {plate!r}: after the city come five digits or letters, "
        f"the last of which may be one of {CLASS_CHARS}"
    )


def is_no_plate(text: str | None) -> bool:
    """True for the texts cameras send when they read no plate (无车牌)."""
    return text is None or normalize_plate(text) in NO_PLATE_TEXTS | {""}


def split_color_prefix(text: str) -> tuple[PlateColor, str]:
    """Split a colour word some cameras put before the plate (黄晋E12345).

    黑 is also a province, so a prefix is split off only when a province
    character follows it.
    """
    plate = normalize_plate(text)
    for prefix in _CHINESE_PREFIXES:
        rest = plate[len(prefix) :]
        if plate.startswith(prefix) and rest[:1] and rest[0] in PROVINCES:
            return _COLOR_WORDS[prefix], rest
    return PlateColor.UNKNOWN, plate


def read_plate_text(text: str | None) -> tuple[str | None, PlateColor]:
    """A camera's plate text -> (validated plate or None for no plate, colour).

    The colour is the one prefixed to the text, UNKNOWN when there is none.
    Raises PlateError when the text is neither a plate nor a no-plate marker.
    """
    if is_no_plate(text):
        return None, PlateColor.UNKNOWN
    color, rest = split_color_prefix(text)
    if is_no_plate(rest):
        return None, color
    return validate_plate(rest), color


def parse_plate_color(
    text: str | int | None, *, vendor: str = "hikvision"
) -> PlateColor:
    """A camera's plate colour -> PlateColor; anything unknown is UNKNOWN.

    Hikvision and Dahua send words (``yellow``, ``yellowGreen``, ``黄绿``);
    Vzenith sends codes (1 blue, 2 yellow, 5 green).
    """
    if vendor not in VENDORS:
        raise ConfigError(f"unknown camera vendor {vendor!r}; known: {VENDORS}")
    if text is None or isinstance(text, bool):
        return PlateColor.UNKNOWN
    if vendor == "vzenith":
        return _vzenith_color(text)
    if isinstance(text, int):
        return PlateColor.UNKNOWN
    folded = normalize_plate(text).lower().replace("_", "")
    return _COLOR_WORDS.get(folded, PlateColor.UNKNOWN)


def color_from_form(plate: str | None) -> PlateColor:
    """The colour a plate's form fixes, UNKNOWN when the form leaves it open.

    Only new-energy plates fix their colour: D or F third is a small green
    plate, D or F last a large yellow-green one. Used when a camera reports no
    colour (or a code zhichao does not know).
    """
    if plate is None or len(plate) != 8:
        return PlateColor.UNKNOWN
    if plate[-1] in NEW_ENERGY_CHARS:
        return PlateColor.YELLOW_GREEN
    if plate[2] in NEW_ENERGY_CHARS:
        return PlateColor.GREEN
    return PlateColor.UNKNOWN


def _vzenith_color(code: str | int) -> PlateColor:
    try:
        return _VZENITH_CODES.get(int(code), PlateColor.UNKNOWN)
    except ValueError:
        return PlateColor.UNKNOWN
