"""PlateMerger: several camera events of one pass become one read."""

from datetime import UTC, datetime

import pytest

from zhichao.lane.plates import MergedRead, PlateMerger
from zhichao.protocols.readings import Picture, PlateColor, PlateRead

WHEN = datetime(2026, 6, 17, 22, 6, 30, tzinfo=UTC)


def read(plate, confidence=None, picture=None):
    pictures = (
        (Picture(picture, b"\xff\xd8" + picture.encode(), "scene"),) if picture else ()
    )
    return PlateRead(
        plate=plate,
        color=PlateColor.YELLOW,
        camera_time=WHEN,
        confidence=confidence,
        pictures=pictures,
    )


# (events as (time, plate, confidence)) -> (best plate, best confidence,
# alternative plates, events in the pass)
CASES = [
    ([(0, "鲁A1234挂", 80)], ("鲁A1234挂", 80, [], 1)),
    ([(0, "鲁A1234挂", 80), (0.5, "鲁A1234挂", 95)], ("鲁A1234挂", 95, [], 2)),
    ([(0, "鲁A1234挂", 95), (0.5, "鲁A1234挂", 80)], ("鲁A1234挂", 95, [], 2)),
    ([(0, "鲁A1234挂", 90), (1, "鲁A1234挂", 90)], ("鲁A1234挂", 90, [], 2)),
    (
        [(0, "鲁A1234挂", 95), (0.5, "鲁A1284挂", 70)],
        ("鲁A1234挂", 95, ["鲁A1284挂"], 2),
    ),
    (
        [(0, "鲁A1284挂", 70), (0.5, "鲁A1234挂", 95)],
        ("鲁A1234挂", 95, ["鲁A1284挂"], 2),
    ),
    (
        [(0, "鲁A1284挂", 60), (0.2, "鲁A1234挂", 95), (0.4, "鲁A1284挂", 75)],
        ("鲁A1234挂", 95, ["鲁A1284挂"], 3),
    ),
    ([(0, None, None), (0.5, "晋E12345", None)], ("晋E12345", None, [], 2)),
    ([(0, "晋E12345", None), (0.5, None, 99)], ("晋E12345", None, [], 2)),
    ([(0, "晋E12345", None), (0.5, "晋E12346", 10)], ("晋E12346", 10, ["晋E12345"], 2)),
    ([(0, "晋E12345", 90), (3.5, "晋E12346", 10)], ("晋E12346", 10, [], 1)),
    ([(0, "晋E12345", 90), (3.0, "晋E12346", 10)], ("晋E12345", 90, ["晋E12346"], 2)),
]


@pytest.mark.parametrize(("events", "expect"), CASES)
def test_merge_table(events, expect):
    merger = PlateMerger(window_s=3.0)
    merged = None
    for at, plate, confidence in events:
        merged = merger.add("front", read(plate, confidence), at)

    best_plate, best_confidence, alternatives, count = expect
    assert (merged.plate, merged.best.confidence) == (best_plate, best_confidence)
    assert [a.plate for a in merged.alternatives] == alternatives
    assert merged.events == count


def test_every_picture_is_kept_in_arrival_order():
    merger = PlateMerger()
    merger.add("front", read("鲁A1234挂", 70, "a.jpg"), 0)
    merger.add("front", read("鲁A1234挂", 95, "b.jpg"), 0.3)
    merged = merger.add("front", read("鲁A1284挂", 60, "c.jpg"), 0.6)

    assert [p.name for p in merged.pictures] == ["a.jpg", "b.jpg", "c.jpg"]
    assert merged.read.plate == "鲁A1234挂" and merged.read.confidence == 95
    assert [p.name for p in merged.read.pictures] == ["a.jpg", "b.jpg", "c.jpg"]
    assert (merged.first_at, merged.last_at) == (0, 0.6)


def test_positions_are_merged_apart():
    merger = PlateMerger()
    front = merger.add("front", read("鲁A1234", 90), 0)
    rear = merger.add("rear", read("鲁A1234挂", 90), 0.1)

    assert (front.plate, rear.plate) == ("鲁A1234", "鲁A1234挂")
    assert merger.current("front", 0.2).alternatives == ()
    assert isinstance(merger.current("rear", 0.2), MergedRead)


def test_current_closes_with_the_window_and_reset_forgets():
    merger = PlateMerger(window_s=2)
    merger.add("front", read("晋E12345", 90), 10)

    assert merger.current("front", 12).plate == "晋E12345"
    assert merger.current("front", 12.01) is None
    assert merger.latest("front").plate == "晋E12345"
    merger.reset("front")
    assert merger.latest("front") is None
    merger.add("rear", read("晋E12345", 90), 0)
    merger.reset()
    assert merger.latest("rear") is None


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="above 0"):
        PlateMerger(window_s=0)
