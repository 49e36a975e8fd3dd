"""The fast body decoder gives exactly what json.loads gives, or refuses alike."""

import json
import math
import struct
from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.platform import json_body
from zhichao.platform.json_body import loads_body


def same(a, b) -> bool:
    """Equal values of equal types, floats bit for bit, dict members in order."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a):
            return math.isnan(b)
        return struct.pack("<d", a) == struct.pack("<d", b)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def outcome(decode, body: bytes):
    try:
        return "value", decode(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        return "error", (type(err), str(err))


def assert_as_reference(body: bytes) -> None:
    mine, reference = outcome(loads_body, body), outcome(json.loads, body)
    assert mine[0] == reference[0], (body, mine, reference)
    if mine[0] == "value":
        assert same(mine[1], reference[1]), (body, mine, reference)
    else:
        assert mine[1] == reference[1]


# any text, surrogates included (written escaped, or as CESU-8 bytes)
TEXT = st.text(st.characters(codec=None), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**66).flatmap(
        lambda n: st.sampled_from([n, -n])
    )
    | st.floats()
    | st.floats(-1e6, 1e6).map(lambda f: round(f, 2))
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def bodies(draw) -> bytes:
    value = draw(VALUES)
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, 0, 2, "\t", "\r\n "]))
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    return text.encode("utf-8", "surrogatepass")


@given(bodies())
def test_fuzz_bodies_decode_as_the_reference(body):
    assert_as_reference(body)


@given(bodies(), st.data())
def test_fuzz_damaged_bodies_decode_or_fail_as_the_reference(body, data):
    # a byte changed, dropped or added anywhere: mostly refused, sometimes not
    at = data.draw(st.integers(0, len(body)))
    byte = bytes([data.draw(st.integers(0, 255))])
    how = data.draw(st.sampled_from(["replace", "drop", "insert"]))
    if how == "replace":
        body = body[:at] + byte + body[at + 1 :]
    elif how == "drop":
        body = body[:at] + body[at + 1 :]
    else:
        body = body[:at] + byte + body[at:]
    assert_as_reference(body)


# JSON pieces and near misses, joined at random (most joins are not JSON)
PUNCTUATION = list('{}[],:"') + list(" \t\n\r\x0c\x00\ufeff")
WORDS = ["true", "false", "null", "NaN", "Infinity", "-Infinity", '"a"', '"b"']
NUMBERS = ["0", "-0", "01", "1.", ".5", "1e", "1e400", "-1e400", "2.5e-9"]
BIG = ["18446744073709551616", "-9223372036854775809", "18446744073709551615"]
STRINGS = ['"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\x"', '"\x01"']
MORE_STRINGS = ['"\\u00e9"', '"é"', '"\\"', '"\\/"']
TOKENS = st.sampled_from(PUNCTUATION + WORDS + NUMBERS + BIG + STRINGS + MORE_STRINGS)


@given(st.lists(TOKENS, max_size=12).map("".join), st.sampled_from(["utf-8", "utf-16"]))
def test_fuzz_token_soup_as_the_reference(text, encoding):
    assert_as_reference(text.encode(encoding, "surrogatepass"))


NUMBER = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    st.integers(0, 10**40).map(str),
    st.sampled_from([""]) | st.integers(0, 10**30).map(lambda n: f".{n}"),
    st.sampled_from([""])
    | st.builds(
        lambda e, sign, n: f"{e}{sign}{n}",
        st.sampled_from("eE"),
        st.sampled_from(["", "+", "-"]),
        st.integers(0, 400),
    ),
)


@given(st.lists(NUMBER, min_size=1, max_size=8))
def test_fuzz_number_literals_as_the_reference(numbers):
    assert_as_reference(("[" + ",".join(numbers) + "]").encode())


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=0.0))
def test_fuzz_halfway_between_two_floats_rounds_as_the_reference(value):
    # the exact midpoint to the next float up: the hardest case of rounding
    above = math.nextafter(value, math.inf)
    if math.isinf(above):
        return
    middle = (Decimal(value) + Decimal(above)) / 2
    assert_as_reference(f"[{middle:f}, {middle:e}, {value!r}]".encode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": 18446744073709551616}',
        b'{"n": -9223372036854775809}',
        b"18446744073709551616",
        b"\t-9223372036854775809",
        b"[\r18446744073709551616,\n18446744073709551616]",
        b'{"n":18446744073709551616}',
        b'{"h": "a18446744073709551616", "n": 1}',
        b'{"n": 123456789012345678901234567890, "x": 1.5}',
        b'{"n": 1e400}',
        b'{"n": NaN, "m": -Infinity}',
        b'{"a": 1, "b": 2, "a": 3}',
        b'"\\ud800"',
        b'"\xed\xa0\x80"',
        b"\xef\xbb\xbf{}",
        '{"车牌": "晋E12345"}'.encode("utf-16"),
        '{"车牌": "晋E12345"}'.encode("utf-32-le"),
        b"[" * 5000 + b"]" * 5000,
        b"",
        b"\xff\xfe{}",
        b'{"a": 1,}',
        b'{"a": "\x01"}',
    ],
)
def test_edge_bodies_as_the_reference(body):
    assert_as_reference(body)


def test_orjson_alone_would_change_a_big_integer():
    # why long digit runs go to the reference decoder
    body = b'{"n": 18446744073709551616}'
    assert orjson.loads(body) == {"n": 1.8446744073709552e19}
    assert same(loads_body(body), {"n": 18446744073709551616})


def test_an_ordinary_record_body_is_decoded_without_the_reference(monkeypatch):
    record = {
        "record_id": "1405250001-01-20260617T220631Z-000001",
        "seq": 1,
        "basis": "《超限运输车辆行驶公路管理规定》第三条",
        "over_rate_pct": 6.12,
        "axle_weights_kg": [7000, 11000],
        "signature": "q0Zk+3v/" * 11,
        # hex hashes often hold 19 digits in a row; that is no reason to fall back
        "prev_hash": "e3" + "1844674407370955161600" + "0f" * 20,
    }
    body = json.dumps({"records": [record] * 3}, ensure_ascii=False).encode()

    def refuse(*args, **kwargs):
        raise AssertionError("the reference decoder was used")

    monkeypatch.setattr(json_body.json, "loads", refuse)
    assert same(loads_body(body), {"records": [record] * 3})


def has_lone_surrogate(value) -> bool:
    return json_body.lone_surrogate_path(value) is not None


@given(bodies())
def test_fuzz_a_body_whose_strings_cannot_be_utf8_is_always_suspected(body):
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return
    if has_lone_surrogate(value):
        assert json_body.decode_body(body)[1]  # json.loads decoded it


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud800"}',
        b'{"a": "x\\uDFFF"}',
        b'{"\\udc00": 1}',
        b'{"a": "\xed\xa0\x80"}',
        '{"a": "\ud800"}'.encode("utf-16", "surrogatepass"),
    ],
)
def test_lone_surrogates_are_suspected_and_found(body):
    assert json_body.decode_body(body)[1]
    assert has_lone_surrogate(json.loads(body))


def test_where_the_lone_surrogate_is():
    record = {"video": {"clips": ["ok", "bad\udc00"]}, "seq": 1}
    assert json_body.lone_surrogate_path(record) == "video.clips[1]"
    assert json_body.lone_surrogate_path({"a\ud800": 1}) == "a\ud800"
    assert json_body.lone_surrogate_path({"a": "\U0001f69a", "b": [1.5]}) is None
    assert json_body.decode_body('{"a": "\U0001f69a"}'.encode()) == (
        {"a": "\U0001f69a"},
        False,
    )
