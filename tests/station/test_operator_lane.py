"""Operator actions on the lane: each is a record in the chain first, then done."""

from datetime import UTC, datetime

from zhichao.lane.clock import ManualClock
from zhichao.lane.events import (
    MANUAL_AXLES,
    MANUAL_PLATE,
    RELEASE,
    REWEIGH,
    AxleEvent,
    OpenBarrier,
    OperatorEvent,
    PlateEvent,
    ShowText,
    StoreFailed,
    StoreRecord,
    WeightEvent,
)
from zhichao.lane.machine import Lane, LaneConfig, LaneState
from zhichao.protocols.readings import (
    AxleReading,
    PlateColor,
    PlateRead,
    WeightReading,
    WeightStatus,
)

FPS = 10


class Bench:
    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 6, 18, 2, 0, tzinfo=UTC), 100.0)
        self.lane = Lane(LaneConfig("1405250001", "01"), self.clock)

    def send(self, event):
        return self.lane.handle(event)

    def plate(self, plate, position="front"):
        read = PlateRead(plate, PlateColor.YELLOW, self.clock.now(), camera="cam")
        return self.send(PlateEvent(read, position))

    def weigh(self, kg, seconds=1.5):
        actions = []
        for _ in range(round(seconds * FPS)):
            reading = WeightReading(kg, None, WeightStatus.OK, b"")
            actions += self.send(WeightEvent(reading))
            self.clock.advance(1 / FPS)
        return actions

    def operator(self, action, **values):
        return self.send(OperatorEvent(action, "王师傅", "司机申诉", **values))


def _records(actions):
    return [a.record for a in actions if isinstance(a, StoreRecord)]


def _held_truck(bench, kg=25000):
    bench.plate("晋E12345")
    bench.send(AxleEvent(AxleReading(2)))
    [held] = _records(bench.weigh(kg))
    assert held["verdict"] == "held"
    return held


def test_release_of_a_held_truck_is_recorded_as_exactly_that():
    bench = Bench()
    held = _held_truck(bench)

    actions = bench.operator(RELEASE)

    [event] = _records(actions)
    assert event["kind"] == "event"
    assert event["event_type"] == "operator_release"
    assert event["seq"] == held["seq"] + 1
    assert event["detail"] == {
        "operator": "王师傅",
        "reason": "司机申诉",
        "lane_state": "held",
        "record_id": held["record_id"],
        "overloaded": True,
    }
    assert isinstance(actions[0], StoreRecord)  # recorded before the barrier opens
    assert isinstance(actions[-1], OpenBarrier)
    assert any(isinstance(a, ShowText) and "人工放行" in a.lines for a in actions)
    assert bench.lane.state is LaneState.RELEASED


def test_release_is_refused_unless_a_truck_is_held():
    bench = Bench()
    assert bench.lane.operator_refusal(OperatorEvent(RELEASE, "a", "b")) == "not_held"
    assert bench.operator(RELEASE) == []
    bench.plate("晋E12345")
    bench.send(AxleEvent(AxleReading(2)))
    bench.weigh(15000)  # released by the lane itself
    assert bench.operator(RELEASE) == []
    assert bench.lane.next_seq == 2


def test_a_release_not_stored_is_undone_and_gives_its_seq_back():
    bench = Bench()
    _held_truck(bench)
    [event] = _records(bench.operator(RELEASE))

    assert bench.send(StoreFailed(event["record_id"])) == []

    assert bench.lane.state is LaneState.HELD
    assert bench.lane.next_seq == event["seq"]


def test_reweigh_cancels_the_decision_and_the_new_pass_links_to_the_first():
    bench = Bench()
    held = _held_truck(bench)
    bench.clock.advance(600)  # reads older than the plate window stay for it

    [event] = _records(bench.operator(REWEIGH))
    assert event["event_type"] == "operator_reweigh"
    assert event["detail"]["cancels"] == held["record_id"]
    assert bench.lane.state is LaneState.WEIGHING

    [again] = _records(bench.weigh(24000))
    assert again["reweigh_of"] == held["record_id"]
    assert again["front_plate"] == "晋E12345"
    assert again["seq"] == event["seq"] + 1


def test_manual_plate_and_axles_for_the_truck_on_the_deck():
    bench = Bench()
    bench.plate(None)
    bench.weigh(5000, seconds=0.1)  # on the deck, not yet settled
    [plate_event] = _records(bench.operator(MANUAL_PLATE, plate="晋E99999"))
    [axle_event] = _records(bench.operator(MANUAL_AXLES, axles=2))

    [record] = _records(bench.weigh(15000))

    assert plate_event["event_type"] == "operator_manual_plate"
    assert plate_event["detail"]["plate"] == "晋E99999"
    assert axle_event["detail"] | {"identifier_axles": None} == axle_event["detail"]
    assert record["front_plate"] == "晋E99999"
    assert record["axles"] == 2
    assert "manual_plate" in record["flags"] and "manual_axles" in record["flags"]
    assert "no_plate" not in record["flags"]
    assert "no_axle_count" not in record["flags"]
    assert record["manual"] == {
        "plate": "晋E99999",
        "plate_color": "unknown",
        "axles": 2,
        "entries": [plate_event["record_id"], axle_event["record_id"]],
    }
    assert record["limit_kg"] == 18000


def test_manual_entry_after_a_decision_weighs_again():
    bench = Bench()
    held = _held_truck(bench)

    [event] = _records(bench.operator(MANUAL_AXLES, axles=6))
    [again] = _records(bench.weigh(25000))

    assert event["detail"]["cancels"] == held["record_id"]
    assert event["detail"]["identifier_axles"] == 2
    assert again["axles"] == 6 and again["verdict"] == "released"
    assert again["reweigh_of"] == held["record_id"]


def test_nothing_to_enter_for_an_empty_deck():
    bench = Bench()
    assert bench.operator(MANUAL_PLATE, plate="晋E99999") == []
    assert bench.operator(REWEIGH) == []
    assert bench.lane.next_seq == 1
