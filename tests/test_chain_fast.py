"""The fast canonical encoder writes exactly the reference encoder's bytes."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.chain import ChainError, _encode, canonical_text

KEYS = st.text(st.characters(codec="utf-8"), max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(-1e6, 1e6).map(lambda f: round(f, 2))
    | st.text(st.characters(codec="utf-8"))
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5)
    ),
    max_leaves=25,
)


@given(JSON_VALUES)
def test_fuzz_fast_encoding_equals_the_reference(value):
    assert canonical_text(value) == _encode(value)


@given(JSON_VALUES)
def test_fuzz_fast_encoding_after_a_json_round_trip(value):
    # what the platform encodes is what json.loads gave it
    parsed = json.loads(json.dumps(value, ensure_ascii=False))
    assert canonical_text(parsed) == _encode(parsed)


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -0.0,
        5.0,
        -12.0,
        1e15,
        1e16,
        1e23,
        -1e22,
        1e-5,
        1.5e-7,
        0.0001,
        123456789012345.6,
        6.12,
        0.0001,
        0.00011,
        999999999999999.9,
        2**63,
        -(2**64) - 1,
        {"a": 2**70, "b": 1.5},
        "\ud800",
        Decimal("6.10"),
        (1, 2.0, "x"),
        {"\U0001f600": 1, "\ufb01": 2, "a": 3},
        {"b": [1.0, {"c": 2.5e-9}], "a": '\u0000\u001f\u007f"\\\n\u2028'},
        [[], {}, [{}], {"k": []}],
    ],
)
def test_edge_values_equal_the_reference(value):
    assert canonical_text(value) == _encode(value)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), {1: "x"}, {"a": [object()]}, b"x"]
)
def test_what_the_reference_refuses_is_refused(value):
    with pytest.raises(ChainError):
        canonical_text(value)
