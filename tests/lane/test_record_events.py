"""Events share the lane's seq counter; camera clocks off the lane's are flagged."""

from datetime import timedelta

import pytest
from test_machine import BEIJING, Bench, records

from zhichao.lane.events import RecordEvent, StoreFailed, StoreRecord
from zhichao.lane.record import build_event_record
from zhichao.protocols.readings import Picture, PlateColor, PlateRead


def _pass(bench, plate="晋E12345"):
    bench.plate(plate)
    bench.plate(plate, "rear")
    bench.axles(2)
    actions = bench.weigh(15000)
    bench.leave()
    return records(actions)[0]


def test_an_event_takes_the_next_seq_from_the_same_counter_as_passes():
    bench = Bench(next_seq=7)

    first = _pass(bench)
    [action] = bench.send(RecordEvent("device_fault", {"device": "scale"}))
    second = _pass(bench, "晋E54321")

    assert isinstance(action, StoreRecord)
    event = action.record
    assert [first["seq"], event["seq"], second["seq"]] == [7, 8, 9]
    assert event["kind"] == "event"
    assert event["event_type"] == "device_fault"
    assert event["detail"] == {"device": "scale"}
    assert event["record_id"].endswith("-000008")
    assert event["prev_hash"] is None and event["signature"] is None


def test_an_event_that_was_not_stored_gives_its_seq_back():
    bench = Bench(next_seq=3)
    [action] = bench.send(RecordEvent("station_started"))

    assert bench.send(StoreFailed(action.record["record_id"])) == []

    assert bench.lane.next_seq == 3
    assert _pass(bench)["seq"] == 3


def test_a_failed_pass_still_gives_its_seq_back_after_an_event():
    bench = Bench(next_seq=1)
    bench.send(RecordEvent("station_started"))
    bench.plate("晋E12345")
    bench.axles(2)
    [record] = records(bench.weigh(15000))

    bench.send(StoreFailed(record["record_id"]))

    assert bench.lane.next_seq == record["seq"] == 2


def test_event_types_are_words():
    with pytest.raises(ValueError):
        build_event_record("1405250001", "01", 1, Bench().clock.now(), "Bad Type", {})


def _read_with_camera_time(bench, plate, offset_s):
    return PlateRead(
        plate=plate,
        color=PlateColor.YELLOW,
        camera_time=(bench.clock.now() + timedelta(seconds=offset_s)).astimezone(
            BEIJING
        ),
        pictures=(Picture("p.jpg", b"\xff\xd8x\xff\xd9", "plate"),),
        camera="cam-front",
    )


def _weigh_with_skew(offset_s, wait_s=0.0):
    from zhichao.lane.events import PlateEvent

    bench = Bench()
    bench.send(PlateEvent(_read_with_camera_time(bench, "晋E12345", offset_s), "front"))
    bench.clock.advance(wait_s)
    bench.axles(2)
    [record] = records(bench.weigh(15000))
    return record


@pytest.mark.parametrize("offset_s", [300, -300, 10.5])
def test_a_camera_clock_off_the_lanes_is_flagged(offset_s):
    assert "camera_clock_skew" in _weigh_with_skew(offset_s)["flags"]


@pytest.mark.parametrize("offset_s", [0, 9.9, -9.9])
def test_a_camera_clock_within_the_limit_is_not_flagged(offset_s):
    assert "camera_clock_skew" not in _weigh_with_skew(offset_s)["flags"]


def test_a_read_that_waited_for_the_decision_is_not_mistaken_for_skew():
    record = _weigh_with_skew(0, wait_s=90)
    assert "camera_clock_skew" not in record["flags"]
    assert record["front_plate"] == "晋E12345"


def test_the_skew_limit_is_configurable():
    from zhichao.lane.events import PlateEvent

    bench = Bench(camera_skew_s=1.0)
    bench.send(PlateEvent(_read_with_camera_time(bench, "晋E12345", 2), "front"))
    bench.axles(2)
    [record] = records(bench.weigh(15000))
    assert "camera_clock_skew" in record["flags"]
