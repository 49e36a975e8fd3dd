"""Vzenith-style JSON plate pushes."""

import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import vector_file

from zhichao import errors
from zhichao.errors import PlateError, ProtocolError
from zhichao.protocols.readings import Picture, PlateColor
from zhichao.protocols.vzenith import build_vzenith_post, parse_vzenith_post

CASES = yaml.safe_load(vector_file("vzenith", "cases.yaml").read_text(encoding="utf-8"))
GOOD = [c for c in CASES if "expect" in c]
BAD = [c for c in CASES if "error" in c]
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=timezone(timedelta(hours=8)))
PLATE_PIC = Picture("imageFragmentFile.jpg", b"\xff\xd8plate\xff\xd9", "plate")
SCENE_PIC = Picture("imageFile.jpg", b"\xff\xd8scene\xff\xd9", "scene")


def body_of(case):
    return vector_file("vzenith", case["file"]).read_bytes()


def case_id(case):
    return f"{case['file']}-{case['content_type']}"


@pytest.mark.parametrize("case", GOOD, ids=[case_id(c) for c in GOOD])
def test_vector(case):
    expect = case["expect"]

    read = parse_vzenith_post(body_of(case), case["content_type"], camera="front")

    assert read.plate == expect["plate"]
    assert read.color is PlateColor(expect["color"])
    expected_time = datetime.fromisoformat(expect["camera_time"])
    assert read.camera_time == expected_time
    assert read.camera_time.utcoffset() == expected_time.utcoffset()
    assert read.confidence == expect["confidence"]
    assert [[p.name, p.role] for p in read.pictures] == expect["pictures"]
    assert all(p.data.startswith(b"\xff\xd8") for p in read.pictures)
    assert read.camera == "front"


@pytest.mark.parametrize("case", BAD, ids=[c["file"] for c in BAD])
def test_bad_vector(case):
    kind_name, fragment = case["error"]
    kind = getattr(errors, kind_name)

    with pytest.raises(kind) as caught:
        parse_vzenith_post(body_of(case), case["content_type"])

    assert fragment in str(caught.value)
    if kind is ProtocolError:
        assert not isinstance(caught.value, PlateError)


def test_a_left_out_picture_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="zhichao.protocols.vzenith")
    case = next(c for c in GOOD if c["file"] == "bad-picture.json")

    parse_vzenith_post(body_of(case), camera="gate")

    messages = [r.getMessage() for r in caplog.records]
    assert any("imageFile is not valid base64" in m for m in messages)
    assert any("imageFragmentFile is not a JPEG" in m for m in messages)


@pytest.mark.parametrize("local_time", [True, False])
@pytest.mark.parametrize(
    ("plate", "color"),
    [
        ("粤B12345D", PlateColor.YELLOW_GREEN),
        ("京AD12345", PlateColor.GREEN),
        ("鲁A1234挂", PlateColor.YELLOW),
        ("晋E12345", PlateColor.BLUE),
        (None, PlateColor.UNKNOWN),
    ],
)
def test_round_trip(plate, color, local_time):
    body, content_type = build_vzenith_post(
        plate, color, WHEN, [SCENE_PIC, PLATE_PIC], confidence=91, local_time=local_time
    )

    read = parse_vzenith_post(body, content_type, camera="rear")

    assert (read.plate, read.color, read.confidence) == (plate, color, 91)
    assert read.camera_time == WHEN
    assert read.pictures == (PLATE_PIC, SCENE_PIC)


def test_local_time_is_read_in_the_configured_zone():
    body, _ = build_vzenith_post("晋E12345", PlateColor.YELLOW, WHEN)
    read = parse_vzenith_post(body, zone=ZoneInfo("Asia/Urumqi"))
    assert read.camera_time.utcoffset() == timedelta(hours=6)
    assert read.camera_time.hour == 6


def test_epoch_seconds_are_an_instant_in_any_zone():
    body, _ = build_vzenith_post("晋E12345", PlateColor.YELLOW, WHEN, local_time=False)
    read = parse_vzenith_post(body, zone=ZoneInfo("UTC"))
    assert read.camera_time == WHEN
    assert read.camera_time.astimezone(UTC).hour == 22


def test_body_over_the_limit_is_refused():
    body, content_type = build_vzenith_post("晋E12345", PlateColor.YELLOW, WHEN)
    with pytest.raises(ProtocolError, match="limit is 100"):
        parse_vzenith_post(body, content_type, max_bytes=100)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"license": ["x"]}, "license is a list"),
        ({"license": "晋E12345", "colorType": {}}, "colorType is a dict"),
        ({"license": "晋E12345", "timeStamp": {"Timeval": {}}}, "neither local"),
        ({"license": "晋E12345", "timeStamp": []}, "without timeStamp"),
    ],
)
def test_malformed_results(result, message):
    body = json.dumps({"AlarmInfoPlate": {"result": {"PlateResult": result}}})
    with pytest.raises(ProtocolError, match=message):
        parse_vzenith_post(body.encode())


def test_build_refuses_a_naive_time():
    with pytest.raises(ValueError, match="zone"):
        build_vzenith_post("晋E12345", PlateColor.YELLOW, WHEN.replace(tzinfo=None))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_FIELDS = st.sampled_from(
    ["license", "colorType", "confidence", "timeStamp", "imageFile", "imageFileLen"]
)
_TIMEVAL = st.dictionaries(
    st.sampled_from(["sec", "usec", "decyear", "decmon", "decday", "dechour"]),
    st.integers(),
)


@given(
    st.dictionaries(
        _FIELDS,
        _JSON | st.just("鲁A1234挂") | _TIMEVAL.map(lambda t: {"Timeval": t}),
        max_size=6,
    )
)
def test_fuzz_plate_results_raise_only_protocol_errors(result):
    body = json.dumps({"AlarmInfoPlate": {"result": {"PlateResult": result}}})
    with contextlib.suppress(ProtocolError):
        parse_vzenith_post(body.encode())


@given(st.binary(max_size=300), st.sampled_from(["", "application/json; charset=gbk"]))
def test_fuzz_bytes_raise_only_protocol_errors(body, content_type):
    with contextlib.suppress(ProtocolError):
        parse_vzenith_post(body, content_type)


@given(st.text(max_size=60))
def test_fuzz_content_type_raises_only_protocol_errors(content_type):
    body, _ = build_vzenith_post("晋E12345", PlateColor.YELLOW, WHEN)
    with contextlib.suppress(ProtocolError):
        parse_vzenith_post(body, content_type)
