"""Decoding an uploaded JSON body: ``json.loads`` results, at ``orjson`` speed.

``json.loads`` is the reference: what it gives is what is validated, stored and
hashed, and what it refuses is refused with its message. ``orjson.loads`` is
several times faster and gives the same values for every body it accepts but
one kind: an integer literal beyond 64 bits (below -2**63 or above 2**64 - 1),
which it turns into a float where the reference keeps the exact int. Such a
literal is a run of at least 19 digits after a byte that can come before a
number (``[ , :``, a minus sign, JSON whitespace) or at the very start, so a
body with such a run anywhere (in a number, or by chance inside a string) goes
to the reference. So does every body orjson refuses: NaN and Infinity, which
the reference accepts; lone surrogates; UTF-16 or UTF-32 bodies, a byte order
mark; and every body that is not JSON, so that the error message is the
reference's. A run of digits inside a hex hash follows a letter or a quote and
does not count: hashes have such runs often.
tests/test_json_body.py holds the two decoders together.
"""

import json
from typing import Any

import orjson

# To find a long integer literal quickly, every digit becomes "0", every byte
# that can come before a number "(" and every other byte "." (bytes.translate
# and a substring search run in C; a regular expression costs several times
# orjson's decoding).
_BEFORE_NUMBER = b"-[,: \t\n\r"
_SHAPES = bytes(
    0x30 if 0x30 <= byte <= 0x39 else 0x28 if byte in _BEFORE_NUMBER else 0x2E
    for byte in range(256)
)
_LONG_RUN = b"0" * 19  # the shortest literal beyond 64 bits: -9223372036854775809


def _may_hold_a_long_integer(body: bytes) -> bool:
    shapes = body.translate(_SHAPES)
    return shapes.startswith(_LONG_RUN) or b"(" + _LONG_RUN in shapes


def loads_body(body: bytes) -> Any:
    """``json.loads(body)``: the same value, or the same exception.

    Raises what the reference raises: ``json.JSONDecodeError``,
    ``UnicodeDecodeError`` or ``RecursionError`` (nesting too deep).
    """
    return decode_body(body)[0]


def decode_body(body: bytes) -> tuple[Any, bool]:
    """``(json.loads(body), by_reference)``, raising as ``loads_body`` does.

    ``by_reference`` is True when json.loads itself decoded the body. Only then
    can a string hold a lone surrogate: orjson refuses them.
    """
    if not _may_hold_a_long_integer(body):
        try:
            return orjson.loads(body), False
        except orjson.JSONDecodeError:
            pass
    return json.loads(body), True


def lone_surrogate_path(value: Any, path: str = "") -> str | None:
    """Where in ``value`` a string (or key) holds a lone surrogate, or None.

    UTF-8 cannot carry such a string, so it can be neither hashed nor signed.
    """
    if isinstance(value, str):
        return None if _encodes(value) else path or "record"
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _encodes(key):
                return where
            found = lone_surrogate_path(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
