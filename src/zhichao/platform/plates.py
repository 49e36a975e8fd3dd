"""Licence plate check on the platform side.

A plate is a province character, a letter for the issuing city, then five
characters from digits and letters other than I and O, the last of which may
instead be a use suffix (``挂`` trailer, ``学``, ``警``, ``港``, ``澳``); a
new-energy plate has six such characters (8 in all: ``京AD12345``, ``粤B12345D``).
"""

import re

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SUFFIXES = "挂学警港澳"
_SERIAL = "[A-HJ-NP-Z0-9]"  # letters I and O are never used

PLATE_PATTERN = re.compile(
    rf"^[{PROVINCES}][A-Z](?:{_SERIAL}{{5}}|{_SERIAL}{{4}}[{SUFFIXES}]|{_SERIAL}{{6}})$"
)


def plate_problem(plate: str) -> str | None:
    """Why ``plate`` is not a valid plate, or None when it is."""
    if len(plate) not in (7, 8):
        return f"must be 7 or 8 characters, got {len(plate)}"
    if plate[0] not in PROVINCES:
        return f"must start with a province character, not {plate[0]!r}"
    if not PLATE_PATTERN.match(plate):
        return (
            "is not a plate: province, city letter, then 5 or 6 of 0-9 and A-Z "
            f"without I and O (the last may be one of {SUFFIXES})"
        )
    return None


def is_valid_plate(plate: str) -> bool:
    return plate_problem(plate) is None
