"""Decoding an uploaded JSON body: ``json.loads`` results, at ``orjson`` speed.

``json.loads`` is the reference: what it gives is what is validated, stored and
hashed, and what it refuses is refused with its message. ``orjson.loads`` is
several times faster and gives the same values for every body it accepts but
one kind: an integer literal beyond 64 bits (below -2**63 or above 2**64 - 1),
which it turns into a float where the reference keeps the exact int. Such a
literal has at least 19 digits in a row, so a body with a run of 19 digits
anywhere (in a number or inside a string) goes to the reference, as does every
body orjson refuses (NaN and Infinity, which the reference accepts; lone
surrogates; UTF-16 or UTF-32 bodies, a byte order mark; and every body that is
not JSON, so that the error message is the reference's).
tests/test_json_body.py holds the two decoders together.
"""

import json
from typing import Any

import orjson

# An integer literal orjson could turn into a float has at least 19 digits. To
# find such a run quickly, every digit becomes "0" and every other byte "."
# (bytes.translate and a substring search run in C; a regular expression
# costs four times orjson's decoding).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x2E for byte in range(256))
_LONG_RUN = b"0" * 19


def loads_body(body: bytes) -> Any:
    """``json.loads(body)``: the same value, or the same exception.

    Raises what the reference raises: ``json.JSONDecodeError``,
    ``UnicodeDecodeError`` or ``RecursionError`` (nesting too deep).
    """
    if _LONG_RUN not in body.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)
