import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import vector_file

from zhichao import errors
from zhichao.errors import PlateError, ProtocolError
from zhichao.protocols.hikvision_anpr import (
    HIKVISION_NS,
    ISAPI_NS,
    build_anpr_post,
    parse_anpr_post,
)
from zhichao.protocols.readings import Picture, PlateColor

CASES = yaml.safe_load(
    vector_file("hikvision-anpr", "cases.yaml").read_text(encoding="utf-8")
)
GOOD = [c for c in CASES if "expect" in c]
BAD = [c for c in CASES if "error" in c]
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=timezone(timedelta(hours=8)))
PLATE_JPEG = b"\xff\xd8\xff\xe0plate-close-up\xff\xd9"
SCENE_JPEG = b"\xff\xd8\xff\xe0whole-truck\xff\xd9"
PLATE_PIC = Picture("licensePlatePicture.jpg", PLATE_JPEG, "plate")
SCENE_PIC = Picture("detectionPicture.jpg", SCENE_JPEG, "scene")


def body_of(case):
    return vector_file("hikvision-anpr", case["file"]).read_bytes()


@pytest.mark.parametrize("case", GOOD, ids=[c["file"] for c in GOOD])
def test_vector(case):
    expect = case["expect"]

    read = parse_anpr_post(body_of(case), case["content_type"], camera="front")

    assert read.plate == expect["plate"]
    assert read.color is PlateColor(expect["color"])
    expected_time = datetime.fromisoformat(expect["camera_time"])
    assert read.camera_time == expected_time
    assert read.camera_time.utcoffset() == expected_time.utcoffset()
    assert read.confidence == expect["confidence"]
    assert read.direction == expect["direction"]
    assert read.vehicle_type == expect["vehicle_type"]
    assert [[p.name, p.role] for p in read.pictures] == expect["pictures"]
    assert all(p.data.startswith(b"\xff\xd8") for p in read.pictures)
    assert read.camera == "front"


@pytest.mark.parametrize("case", BAD, ids=[c["file"] for c in BAD])
def test_bad_vector(case):
    kind_name, fragment = case["error"]
    kind = getattr(errors, kind_name)

    with pytest.raises(kind) as caught:
        parse_anpr_post(body_of(case), case["content_type"])

    assert fragment in str(caught.value)
    if kind is ProtocolError:
        assert not isinstance(caught.value, PlateError)


def test_offset_is_kept():
    case = next(c for c in GOOD if c["file"] == "isapi-namespace.xml")
    read = parse_anpr_post(body_of(case), case["content_type"])
    assert read.camera_time.utcoffset() == timedelta(hours=8)
    assert read.camera_time.astimezone(UTC).hour == 22


@pytest.mark.parametrize("namespace", [ISAPI_NS, HIKVISION_NS, ""])
@pytest.mark.parametrize(
    ("plate", "color"),
    [
        ("晋E12345", PlateColor.YELLOW),
        ("粤B12345D", PlateColor.YELLOW_GREEN),
        ("京AD12345", PlateColor.GREEN),
        ("鲁A1234挂", PlateColor.YELLOW),
        (None, PlateColor.UNKNOWN),
    ],
)
def test_round_trip(namespace, plate, color):
    body, content_type = build_anpr_post(
        plate,
        color,
        WHEN,
        [PLATE_PIC, SCENE_PIC],
        namespace=namespace,
        confidence=91,
        direction="reverse",
        vehicle_type="truck",
    )

    read = parse_anpr_post(body, content_type, camera="rear")

    assert (read.plate, read.color, read.camera_time) == (plate, color, WHEN)
    assert (read.confidence, read.direction, read.vehicle_type) == (
        91,
        "reverse",
        "truck",
    )
    assert read.pictures == (PLATE_PIC, SCENE_PIC)
    assert read.camera == "rear"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_picture_order_is_kept_and_roles_come_from_names(order):
    pictures = [[PLATE_PIC, SCENE_PIC][i] for i in order]
    body, content_type = build_anpr_post("晋E12345", PlateColor.YELLOW, WHEN, pictures)

    read = parse_anpr_post(body, content_type)

    assert [p.role for p in read.pictures] == [p.role for p in pictures]


def test_other_jpeg_names_are_scene():
    extra = Picture("vehiclePicture.jpg", SCENE_JPEG, "plate")
    body, content_type = build_anpr_post(None, PlateColor.UNKNOWN, WHEN, [extra])
    assert [p.role for p in parse_anpr_post(body, content_type).pictures] == ["scene"]


def test_build_is_deterministic_and_honours_a_boundary():
    first = build_anpr_post("晋E12345", PlateColor.YELLOW, WHEN, [PLATE_PIC])
    assert first == build_anpr_post("晋E12345", PlateColor.YELLOW, WHEN, [PLATE_PIC])

    body, content_type = build_anpr_post(
        "晋E12345", PlateColor.YELLOW, WHEN, [], boundary="b0undary"
    )
    assert content_type == "multipart/form-data; boundary=b0undary"
    assert body.startswith(b"--b0undary\r\n") and body.endswith(b"--b0undary--\r\n")


def test_build_refuses_a_naive_time_and_a_clashing_boundary():
    with pytest.raises(ValueError, match="offset"):
        build_anpr_post("晋E12345", PlateColor.YELLOW, WHEN.replace(tzinfo=None), [])
    with pytest.raises(ValueError, match="boundary"):
        build_anpr_post(
            "晋E12345", PlateColor.YELLOW, WHEN, [PLATE_PIC], boundary="plate-close"
        )


def test_body_over_the_limit_is_refused():
    body, content_type = build_anpr_post("晋E12345", PlateColor.YELLOW, WHEN, [])
    with pytest.raises(ProtocolError, match="limit is 100"):
        parse_anpr_post(body, content_type, max_bytes=100)
    assert parse_anpr_post(body, content_type, max_bytes=len(body)).plate


def test_default_limit_is_16_mib():
    with pytest.raises(ProtocolError, match="16777216"):
        parse_anpr_post(b"x" * (16 * 1024 * 1024 + 1), "application/xml")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{}", "application/json", "eventType is None"),
        (b"{}", "image/png", "not multipart/form-data, XML or JSON"),
        (b"--x--\r\n", "multipart/form-data", "without a boundary"),
        (b"garbage", "multipart/form-data; boundary=x", "broken multipart"),
        (
            b"--x\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
            "none of the 1 parts",
        ),
        (b"<Other/>", "text/xml", "not EventNotificationAlert"),
        (
            b"<EventNotificationAlert><eventType>ANPR</eventType><ANPR>"
            b"<licensePlate>\xe6\x99\x8bE12345</licensePlate></ANPR>"
            b"</EventNotificationAlert>",
            "text/xml",
            "without a dateTime",
        ),
    ],
)
def test_malformed_posts(body, content_type, message):
    with pytest.raises(ProtocolError, match=message):
        parse_anpr_post(body, content_type)


def test_bad_plate_in_multipart_raises_plate_error_with_the_text():
    body, content_type = build_anpr_post("晋E1234", PlateColor.YELLOW, WHEN, [])
    with pytest.raises(PlateError, match="晋E1234"):
        parse_anpr_post(body, content_type)


def _mutate(data: bytes, cuts: list[int]) -> bytes:
    out = bytearray(data)
    for cut in cuts:
        if out:
            out[cut % len(out)] ^= 0x5A
    return bytes(out)


_GOOD_BODY = build_anpr_post(
    "晋E12345", PlateColor.YELLOW, WHEN, [PLATE_PIC, SCENE_PIC]
)


@given(
    st.binary(max_size=300),
    st.sampled_from(
        ["application/xml", "multipart/form-data; boundary=zz", _GOOD_BODY[1]]
    ),
)
def test_fuzz_arbitrary_bodies_raise_only_protocol_errors(body, content_type):
    with contextlib.suppress(ProtocolError):
        parse_anpr_post(body, content_type)


@given(st.lists(st.integers(min_value=0), min_size=1, max_size=6))
def test_fuzz_corrupted_posts_raise_only_protocol_errors(cuts):
    body, content_type = _GOOD_BODY
    with contextlib.suppress(ProtocolError):
        parse_anpr_post(_mutate(body, cuts), content_type)


@given(st.text(max_size=80))
def test_fuzz_content_type_raises_only_protocol_errors(content_type):
    with contextlib.suppress(ProtocolError):
        parse_anpr_post(_GOOD_BODY[0], content_type)
