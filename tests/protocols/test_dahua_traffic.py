"""Dahua attachFileProc stream: framer, event text, reader, one-shot parse."""

import contextlib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import vector_file

from zhichao import errors
from zhichao.errors import FrameError, PlateError, ProtocolError
from zhichao.protocols.dahua_traffic import (
    BOUNDARY,
    EventReader,
    PartFramer,
    Rejected,
    StreamPart,
    build_event_text,
    build_heartbeat,
    build_part,
    parse_dahua_event,
    parse_event_text,
    stream_boundary,
)
from zhichao.protocols.readings import PlateColor, PlateRead

CASES = yaml.safe_load(
    vector_file("dahua-traffic", "cases.yaml").read_text(encoding="utf-8")
)
STREAMS = [c for c in CASES if "reads" in c]
TEXTS = [c for c in CASES if "error" in c]
STREAM_TYPE = "multipart/x-mixed-replace; boundary=myboundary"
BEIJING = timezone(timedelta(hours=8))
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=BEIJING)
JPEG = b"\xff\xd8\xff\xe0snapshot\xff\xd9"


def body_of(case):
    return vector_file("dahua-traffic", case["file"]).read_bytes()


def run(chunks, camera="front"):
    """Feed chunks through framer and reader: (reads, rejected)."""
    framer, reader = PartFramer(), EventReader(camera=camera)
    out = []
    for chunk in chunks:
        for item in framer.feed(chunk):
            out += reader.add(item) if isinstance(item, StreamPart) else [item]
    out += framer.flush() + reader.flush()
    reads = [item for item in out if isinstance(item, PlateRead)]
    return reads, [item for item in out if isinstance(item, Rejected)]


def summary(read):
    return {
        "plate": read.plate,
        "color": str(read.color),
        "camera_time": read.camera_time.isoformat(timespec="milliseconds"),
        "confidence": read.confidence,
        "direction": read.direction,
        "pictures": len(read.pictures),
    }


@pytest.mark.parametrize("case", STREAMS, ids=[c["file"] for c in STREAMS])
def test_stream_vector(case):
    reads, rejected = run([body_of(case)])

    assert [summary(r) for r in reads] == case["reads"]
    assert len(rejected) == case["rejected"]
    assert all(r.camera == "front" for r in reads)
    assert all(p.data.startswith(b"\xff\xd8") for r in reads for p in r.pictures)


@pytest.mark.parametrize("case", STREAMS, ids=[c["file"] for c in STREAMS])
def test_stream_vector_split_at_every_byte(case):
    body = body_of(case)
    whole = run([body])

    for cut in range(1, len(body)):
        reads, rejected = run([body[:cut], body[cut:]])
        assert [summary(r) for r in reads] == [summary(r) for r in whole[0]], cut
        assert len(rejected) == len(whole[1]), cut


def test_stream_vector_byte_by_byte():
    body = body_of(STREAMS[0])
    reads, rejected = run([body[i : i + 1] for i in range(len(body))])
    assert [summary(r) for r in reads] == STREAMS[0]["reads"] and not rejected


def test_vectors_joined_back_to_back():
    clean = [c for c in STREAMS if c["rejected"] == 0]
    body = b"".join(body_of(c).replace(b"--myboundary--\n", b"") for c in clean)

    reads, rejected = run([body])

    assert [summary(r) for r in reads] == [r for c in clean for r in c["reads"]]
    assert rejected == []


def test_garbage_between_parts_is_rejected_once_and_reading_goes_on():
    event = build_part(
        build_event_text("晋E12345", PlateColor.YELLOW, WHEN), "text/plain"
    )
    picture = build_part(JPEG, "image/jpeg")

    reads, rejected = run([event + b"\x00garbage\xff" + picture + event + picture])

    assert [r.plate for r in reads] == ["晋E12345", "晋E12345"]
    assert len(rejected) == 1 and "outside a part" in str(rejected[0].error)
    assert b"\x00garbage" in rejected[0].raw


def test_oversize_part_is_rejected_once_and_the_next_event_is_read():
    event = build_part(
        build_event_text("晋E12345", PlateColor.YELLOW, WHEN), "text/plain"
    )
    big = build_part(b"\xff\xd8" + b"x" * 5000, "image/jpeg")
    framer, reader = PartFramer(max_part=1000), EventReader()

    out = []
    for item in framer.feed(event + big + event + build_part(JPEG, "image/jpeg")):
        out += reader.add(item) if isinstance(item, StreamPart) else [item]

    rejected = [i for i in out if isinstance(i, Rejected)]
    reads = [i for i in out if isinstance(i, PlateRead)]
    assert [str(r.error) for r in rejected] == ["part over 1000 bytes skipped"]
    assert isinstance(rejected[0].error, FrameError)
    assert [len(r.pictures) for r in reads] == [0, 1]


def test_oversize_part_without_length_is_rejected_without_holding_it_all():
    head = b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8"
    framer = PartFramer(max_part=1000)

    out = framer.feed(head) + framer.feed(b"x" * 3000) + framer.feed(b"y" * 3000)

    assert [str(r.error) for r in out] == ["part over 1000 bytes skipped"]
    assert len(framer._buffer) < 100


def test_a_stream_of_garbage_is_rejected_once_and_not_held():
    framer = PartFramer(max_part=1000)
    out = []
    for _ in range(10):
        out += framer.feed(b"\x55" * 1000)
    assert len(out) == 1 and "no part boundary" in str(out[0].error)
    assert len(framer._buffer) < 100


def test_headers_that_never_end_are_rejected():
    out = PartFramer().feed(b"--myboundary\r\n" + b"X" * 5000)
    assert [str(r.error) for r in out] == ["part headers too long"]


def test_unfinished_part_at_the_end_of_the_stream():
    framer = PartFramer()
    assert framer.feed(b"--myboundary\r\nContent-Length: 10\r\n\r\nabc") == []
    rejected = framer.flush()
    assert len(rejected) == 1 and "ended inside a part" in str(rejected[0].error)


def test_picture_before_any_event_is_rejected():
    reads, rejected = run([build_part(JPEG, "image/jpeg")])
    assert reads == [] and "without an event" in str(rejected[0].error)


def test_a_picture_that_is_not_a_jpeg_is_rejected_and_the_event_kept():
    text = build_event_text("晋E12345", PlateColor.YELLOW, WHEN)
    body = build_part(text, "text/plain") + build_part(b"PNG...", "image/jpeg")

    reads, rejected = run([body])

    assert [(r.plate, len(r.pictures)) for r in reads] == [("晋E12345", 0)]
    assert "not a JPEG" in str(rejected[0].error)


@pytest.mark.parametrize("case", TEXTS, ids=[c["file"] for c in TEXTS])
def test_bad_text_vector(case):
    kind_name, fragment = case["error"]
    kind = getattr(errors, kind_name)

    with pytest.raises(kind) as caught:
        parse_event_text(body_of(case))

    assert fragment in str(caught.value)
    if kind is ProtocolError:
        assert not isinstance(caught.value, PlateError)


def test_bad_text_in_a_stream_is_rejected_with_its_bytes_and_reading_goes_on():
    bad = body_of(next(c for c in TEXTS if c["file"] == "bad-plate.txt"))
    good = build_event_text("鲁A1234挂", PlateColor.YELLOW, WHEN)
    body = build_part(bad, "text/plain") + build_part(good, "text/plain")

    reads, rejected = run([body + build_heartbeat()])

    assert [r.plate for r in reads] == ["鲁A1234挂"]
    assert isinstance(rejected[0].error, PlateError) and rejected[0].raw == bad


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
def test_round_trip(plate, color):
    text = build_event_text(plate, color, WHEN, confidence=90)
    body = build_part(text, "text/plain") + build_part(JPEG, "image/jpeg")

    read = parse_dahua_event(body, STREAM_TYPE, camera="rear")

    assert (read.plate, read.color, read.confidence) == (plate, color, 90)
    assert read.camera_time == WHEN
    assert read.camera == "rear" and read.pictures[0].data == JPEG


def test_new_energy_colour_comes_from_the_form_when_the_camera_gives_none():
    text = build_event_text("粤B12345D", PlateColor.UNKNOWN, WHEN)
    assert parse_event_text(text).color is PlateColor.YELLOW_GREEN


def test_time_without_offset_is_read_in_the_configured_zone():
    text = build_event_text("晋E12345", PlateColor.YELLOW, WHEN)
    urumqi = ZoneInfo("Asia/Urumqi")

    read = parse_event_text(text, zone=urumqi)

    assert read.camera_time.utcoffset() == timedelta(hours=6)
    assert read.camera_time.replace(tzinfo=None) == WHEN.replace(tzinfo=None)


def test_local_time_with_an_offset_keeps_it():
    text = b"Events[0].LocaleTime=2026-06-18T06:06:30.499+08:00\r\n"
    text += "Events[0].TrafficCar.PlateNumber=晋E12345\r\n".encode()
    read = parse_event_text(text, zone=ZoneInfo("UTC"))
    assert read.camera_time == WHEN and read.camera_time.utcoffset() == timedelta(
        hours=8
    )


def test_utc_seconds_are_an_instant_shown_in_the_zone():
    text = "Events[0].UTC=1781733990\nEvents[0].TrafficCar.PlateNumber=晋E12345\n"
    read = parse_event_text(text.encode(), zone=ZoneInfo("UTC"))
    assert read.camera_time == WHEN.replace(microsecond=0)
    assert read.camera_time.utcoffset() == timedelta(0)


def test_heartbeat_text_is_no_event():
    assert parse_event_text(b"Heartbeat\r\n") is None
    with pytest.raises(ProtocolError, match="heartbeat"):
        parse_dahua_event(b"Heartbeat", "text/plain")


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (STREAM_TYPE, b"myboundary"),
        ('multipart/x-mixed-replace; boundary="other"', b"other"),
        ("multipart/x-mixed-replace", BOUNDARY),
    ],
)
def test_stream_boundary(content_type, boundary):
    assert stream_boundary(content_type) == boundary


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"x" * 101, STREAM_TYPE, "limit is 100"),
        (b"<html/>", "text/html", "not a multipart stream"),
        (build_heartbeat(), STREAM_TYPE, "no plate event"),
        (b"--myboundary\r\n\r\nEvents[0].X=1\r\n", STREAM_TYPE, "without Events"),
    ],
)
def test_one_shot_parse_refusals(body, content_type, message):
    with pytest.raises(ProtocolError, match=message):
        parse_dahua_event(body, content_type, max_bytes=100)


def test_builder_refuses_a_naive_time():
    with pytest.raises(ValueError, match="zone"):
        build_event_text("晋E12345", PlateColor.YELLOW, WHEN.replace(tzinfo=None))


_GOOD = build_part(build_event_text("晋E12345", PlateColor.YELLOW, WHEN), "text/plain")
_GOOD += build_part(JPEG, "image/jpeg")


@given(st.binary(max_size=400))
def test_fuzz_text_parts_raise_only_protocol_errors(data):
    with contextlib.suppress(ProtocolError):
        parse_event_text(data)


@given(st.binary(max_size=400), st.sampled_from([STREAM_TYPE, "text/plain"]))
def test_fuzz_bodies_raise_only_protocol_errors(body, content_type):
    with contextlib.suppress(ProtocolError):
        parse_dahua_event(body, content_type)


@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6))
def test_fuzz_corrupted_stream_raises_only_protocol_errors(changes):
    body = bytearray(_GOOD)
    for at, value in changes:
        body[at % len(body)] = value
    with contextlib.suppress(ProtocolError):
        parse_dahua_event(bytes(body), STREAM_TYPE)


@given(st.lists(st.binary(max_size=60), max_size=12))
def test_fuzz_framer_and_reader_give_only_parts_reads_and_rejections(chunks):
    reads, rejected = run(chunks + [_GOOD])
    assert all(isinstance(r.error, ProtocolError) for r in rejected)
    assert all(isinstance(r, PlateRead) for r in reads)
