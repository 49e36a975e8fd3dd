"""Hikvision ANPR events posted as JSON (bare or as a multipart part)."""

import contextlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.errors import PlateError, ProtocolError
from zhichao.protocols.hikvision_anpr import build_anpr_json, parse_anpr_post
from zhichao.protocols.readings import PlateColor

WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("plate", "color"),
    [
        ("粤B12345D", PlateColor.YELLOW_GREEN),
        ("京AD12345", PlateColor.GREEN),
        ("鲁A1234挂", PlateColor.YELLOW),
        (None, PlateColor.UNKNOWN),
    ],
)
def test_round_trip(plate, color):
    body, content_type = build_anpr_json(
        plate, color, WHEN, confidence=90, direction="forward"
    )

    read = parse_anpr_post(body, content_type, camera="front")

    assert (read.plate, read.color, read.confidence) == (plate, color, 90)
    assert read.camera_time == WHEN
    assert read.camera_time.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "not an object"),
        ({"eventType": "ANPR", "ANPR": []}, "without an ANPR element"),
        ({"eventType": {"x": 1}}, "eventType is a dict"),
        (
            {"eventType": "ANPR", "ANPR": {"licensePlate": ["晋E12345"]}},
            "licensePlate is a list",
        ),
        (
            {"eventType": "ANPR", "ANPR": {"licensePlate": "晋E12345"}},
            "without a dateTime",
        ),
    ],
)
def test_malformed_json_events(event, message):
    body = json.dumps(event).encode()
    with pytest.raises(ProtocolError, match=message):
        parse_anpr_post(body, "application/json")


def test_bad_plate_is_a_plate_error():
    body, content_type = build_anpr_json("晋E1234", PlateColor.YELLOW, WHEN)
    with pytest.raises(PlateError, match="晋E1234"):
        parse_anpr_post(body, content_type)


def test_build_refuses_a_naive_time():
    with pytest.raises(ValueError, match="offset"):
        build_anpr_json("晋E12345", PlateColor.YELLOW, WHEN.replace(tzinfo=None))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(["dateTime", "eventType", "ANPR", "EventNotificationAlert"])


@given(st.dictionaries(_KEYS, _JSON_VALUES | st.just("ANPR"), max_size=4))
def test_fuzz_json_shapes_raise_only_protocol_errors(event):
    body = json.dumps(event).encode()
    with contextlib.suppress(ProtocolError):
        parse_anpr_post(body, "application/json")


@given(st.binary(max_size=300))
def test_fuzz_json_bytes_raise_only_protocol_errors(body):
    with contextlib.suppress(ProtocolError):
        parse_anpr_post(body, "application/json")
