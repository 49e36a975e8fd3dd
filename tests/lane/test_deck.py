"""Position sensors in the lane: decide only while the truck is wholly on."""

import pytest
from test_machine import Bench, records, texts

from zhichao.lane.events import DeckEvent, OpenBarrier, StoreRecord
from zhichao.lane.machine import LaneState
from zhichao.lane.screen import partly_on
from zhichao.protocols.readings import DeckReading, DeckState

PLATE = "晋E12345"


def deck(bench, state):
    return bench.send(DeckEvent(DeckReading(state, ())))


def sensor_bench():
    bench = Bench(position_sensors=True)
    bench.plate(PLATE)
    bench.plate(PLATE, "rear")
    bench.axles(3)
    return bench


def test_rear_wheels_off_the_deck_are_not_decided_until_wholly_on():
    bench = sensor_bench()
    deck(bench, DeckState.PARTLY)

    waiting = bench.weigh(22000, seconds=6)
    assert records(waiting) == []
    assert bench.state is LaneState.WEIGHING
    assert texts(waiting).count(partly_on(PLATE)) == 1  # asked once, not every second

    assert deck(bench, DeckState.WHOLLY) != []  # the screen goes back to 称重中
    decided = bench.weigh(24000, seconds=2)
    [record] = records(decided)
    assert record["gross_kg"] == 24000
    assert "wheels_off_deck" in record["flags"]
    assert OpenBarrier in [type(a) for a in decided]
    assert bench.state is LaneState.RELEASED


def test_wholly_on_from_the_start_is_decided_without_a_flag():
    bench = sensor_bench()
    deck(bench, DeckState.PARTLY)
    bench.frames([3000, 9000, 15000])  # still driving on, not yet stable
    deck(bench, DeckState.WHOLLY)

    actions = bench.weigh(24000)
    [record] = records(actions)
    assert "wheels_off_deck" not in record["flags"]
    assert partly_on(PLATE) not in texts(actions)


@pytest.mark.parametrize("state", [None, DeckState.EMPTY, DeckState.PARTLY])
def test_no_decision_unless_the_sensors_say_wholly_on(state):
    bench = sensor_bench()
    if state is not None:
        deck(bench, state)
    actions = bench.weigh(24000, seconds=5)
    assert records(actions) == []
    assert partly_on(PLATE) in texts(actions)
    if state is not DeckState.PARTLY:
        deck(bench, DeckState.WHOLLY)
        [record] = records(bench.weigh(24000))
        assert "wheels_off_deck" not in record["flags"]


def test_without_sensors_deck_events_change_nothing():
    bench = Bench()
    bench.plate(PLATE)
    bench.axles(3)
    deck(bench, DeckState.PARTLY)
    [record] = records(bench.weigh(24000))
    assert "wheels_off_deck" not in record["flags"]


def test_the_flag_belongs_to_one_pass_only():
    bench = sensor_bench()
    deck(bench, DeckState.PARTLY)
    bench.weigh(24000, seconds=3)
    deck(bench, DeckState.WHOLLY)
    [first] = records(bench.weigh(24000))
    bench.leave()

    bench.plate("晋E54321")
    bench.axles(3)
    actions = bench.frames([24000] * 20)
    [second] = [a.record for a in actions if isinstance(a, StoreRecord)]
    assert "wheels_off_deck" in first["flags"]
    assert "wheels_off_deck" not in second["flags"]
