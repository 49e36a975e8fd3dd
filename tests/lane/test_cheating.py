"""Cheating and fault checks: (state, event) -> (state, actions) on a fake clock."""

import pytest
from test_machine import BEIJING, Bench, records

from zhichao.lane import checks
from zhichao.lane.events import (
    DeckEvent,
    OperatorEvent,
    PlateEvent,
    StoreFailed,
    StoreRecord,
    Tick,
)
from zhichao.lane.machine import EVENT_RETRY_S, LaneState
from zhichao.protocols.readings import (
    DeckReading,
    DeckState,
    Picture,
    PlateColor,
    PlateRead,
)

PLATE = "晋E12345"
OTHER = "冀B22222"


def read(bench, plate, confidence=None, camera="cam"):
    return PlateRead(
        plate=plate,
        color=PlateColor.YELLOW,
        camera_time=bench.clock.now().astimezone(BEIJING),
        confidence=confidence,
        pictures=(Picture("p.jpg", f"{plate}{confidence}".encode(), "plate"),),
        camera=camera,
    )


def events(actions):
    return [r for r in records(actions) if r["kind"] == "event"]


def passes(actions):
    return [r for r in records(actions) if r["kind"] == "pass"]


def deck(bench, state):
    return bench.send(DeckEvent(DeckReading(state, ())))


def ticks(bench, seconds):
    actions = []
    for _ in range(round(seconds * 10)):
        bench.clock.advance(0.1)
        actions += bench.send(Tick())
    return actions


def weigh_truck(bench, plate=PLATE, kg=15000, axles=2, rear=None):
    bench.plate(plate)
    bench.plate(rear or plate, "rear")
    bench.axles(axles)
    [record] = passes(bench.weigh(kg))
    return record


def drive_off(bench):
    return bench.frames([5000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])


# -- weight jump with no movement (遥控器) ------------------------------------


def test_a_held_truck_whose_weight_steps_down_is_an_event_and_flags_the_reweigh():
    bench = Bench(position_sensors=True)
    deck(bench, DeckState.WHOLLY)
    held = weigh_truck(bench, kg=30000)
    assert bench.state is LaneState.HELD

    stepped = bench.weigh(17000, seconds=2)
    [event] = events(stepped)
    assert event["event_type"] == "weight_jump"
    assert event["detail"]["from_kg"] == 30000
    assert event["detail"]["to_kg"] == 17000
    assert event["detail"]["record_id"] == held["record_id"]
    assert event["seq"] == held["seq"] + 1
    assert event["flags"] == ["weight_jump"]

    bench.send(OperatorEvent("reweigh", "王师傅", "复称"))
    [again] = passes(bench.weigh(17000))
    assert "weight_jump" in again["flags"]
    assert again["reweigh_of"] == held["record_id"]


def test_a_store_failure_then_a_lower_weight_flags_the_new_decision():
    bench = Bench()
    first = weigh_truck(bench, kg=30000)
    bench.send(StoreFailed(first["record_id"]))
    assert bench.state is LaneState.WEIGHING

    lists = []
    for _ in range(20):
        lists.append(bench.weigh(17000, seconds=0.1))
    # never two records in one action list: a failed store gives back one seq
    assert all(len(records(actions)) <= 1 for actions in lists)
    decided = [a for actions in lists for a in actions]
    [record] = passes(decided)
    assert "weight_jump" in record["flags"]
    [event] = events(decided)  # follows the pass, on a later frame
    assert event["event_type"] == "weight_jump"
    assert event["seq"] == record["seq"] + 1


@pytest.mark.parametrize(
    ("between", "second_kg", "jump"),
    [
        (None, 17000, True),
        ("deck", 17000, False),  # the sensors saw movement
        ("plate", 17000, False),  # a camera saw movement
        (None, 29600, False),  # 400 kg: a driver stepping out, under 500 kg
    ],
)
def test_weight_jump_needs_a_big_step_and_no_movement(between, second_kg, jump):
    bench = Bench(position_sensors=True)
    deck(bench, DeckState.WHOLLY)
    weigh_truck(bench, kg=30000)
    if between == "deck":
        deck(bench, DeckState.PARTLY)
        deck(bench, DeckState.WHOLLY)
    elif between == "plate":
        bench.plate(OTHER)
    found = events(bench.weigh(second_kg, seconds=2))
    assert [e["event_type"] for e in found] == (["weight_jump"] if jump else [])


def test_weight_jump_check_can_be_turned_off():
    bench = Bench(position_sensors=True, weight_jump_kg=None)
    deck(bench, DeckState.WHOLLY)
    weigh_truck(bench, kg=30000)
    assert events(bench.weigh(17000, seconds=2)) == []


# -- two vehicles on the deck ------------------------------------------------


def test_two_different_front_plates_while_weighing_flag_two_vehicles():
    bench = Bench()
    bench.plate(PLATE)
    bench.frames([30000])
    bench.clock.advance(5)  # a new camera trigger, not the same snapshot group
    bench.plate(OTHER)
    bench.axles(2)
    [record] = passes(bench.weigh(15000))
    assert "two_vehicles" in record["flags"]


def test_the_same_plate_read_twice_is_one_vehicle():
    bench = Bench()
    bench.plate(PLATE)
    bench.frames([30000])
    bench.clock.advance(5)
    bench.plate(PLATE)
    bench.axles(2)
    [record] = passes(bench.weigh(15000))
    assert "two_vehicles" not in record["flags"]


def test_a_plate_read_before_the_truck_came_on_is_not_a_second_vehicle():
    bench = Bench()
    bench.plate(OTHER)  # drove past without weighing
    bench.clock.advance(5)
    bench.plate(PLATE)
    bench.axles(2)
    [record] = passes(bench.weigh(15000))
    assert "two_vehicles" not in record["flags"]


def test_sensors_show_a_truck_wholly_on_before_the_released_one_left():
    bench = Bench(position_sensors=True)
    deck(bench, DeckState.WHOLLY)
    first = weigh_truck(bench)
    assert bench.state is LaneState.RELEASED
    deck(bench, DeckState.PARTLY)  # the first leaves as the second comes on
    assert bench.state is LaneState.RELEASED
    deck(bench, DeckState.WHOLLY)  # the scale never read an empty deck
    assert bench.state is LaneState.WEIGHING

    bench.plate(OTHER)
    bench.plate(OTHER, "rear")
    [second] = passes(bench.weigh(16000))
    assert second["front_plate"] == OTHER
    assert "two_vehicles" in second["flags"]
    assert second["seq"] == first["seq"] + 1


# -- front and rear plates ---------------------------------------------------


@pytest.mark.parametrize(
    ("front", "rear", "known", "flags"),
    [
        (PLATE, PLATE, None, []),
        (PLATE, "晋E54321", None, ["plate_mismatch"]),
        (PLATE, "晋E5432挂", None, []),  # tractor + trailer: normal
        (PLATE, "晋E5432挂", True, []),
        (PLATE, "晋E5432挂", False, ["unknown_pair"]),
        (PLATE, None, False, []),
    ],
)
def test_plate_flags(front, rear, known, flags):
    lookup = None if known is None else (lambda tractor, trailer: known)
    assert checks.plate_flags(front, rear, lookup) == flags


def test_a_known_pairs_lookup_reaches_the_record():
    asked = []

    def known_pairs(tractor, trailer):
        asked.append((tractor, trailer))
        return False

    bench = Bench()
    bench.lane.known_pairs = known_pairs
    record = weigh_truck(bench, kg=30000, axles=5, rear="晋E5432挂")
    assert asked == [(PLATE, "晋E5432挂")]
    assert "unknown_pair" in record["flags"]
    assert "plate_mismatch" not in record["flags"]


def test_a_single_truck_with_two_different_plates_is_flagged():
    record = weigh_truck(Bench(), rear="晋E54321")
    assert "plate_mismatch" in record["flags"]


# -- the exit camera (逃检) ----------------------------------------------------


def exit_read(bench, plate, confidence=None):
    return bench.send(PlateEvent(read(bench, plate, confidence, "cam-exit"), "exit"))


def exit_and_settle(bench, plate):
    return exit_read(bench, plate) + ticks(bench, 4)


def test_a_plate_at_the_exit_with_no_weighing_is_left_without_weighing():
    bench = Bench()
    assert exit_read(bench, OTHER) == []  # judged once the merge window closes
    found = ticks(bench, 4)
    [event] = events(found)
    assert event["event_type"] == "left_without_weighing"
    assert event["left_without_weighing"] is True
    assert event["detail"]["plate"] == OTHER
    assert event["detail"]["record_id"] is None
    assert len(event["detail"]["photos"]) == 1
    [store] = [a for a in found if isinstance(a, StoreRecord)]
    assert len(store.pictures) == 1


def test_several_exit_events_of_one_truck_are_one_finding_with_the_best_plate():
    bench = Bench()
    exit_read(bench, "冀B22223", confidence=70)
    bench.clock.advance(0.5)
    exit_read(bench, OTHER, confidence=95)
    [event] = events(ticks(bench, 4))
    assert event["detail"]["plate"] == OTHER
    assert event["detail"]["alternatives"] == ["冀B22223"]
    assert len(event["detail"]["photos"]) == 2


def _released_and_gone(bench):
    weigh_truck(bench)
    drive_off(bench)


def _released_on_deck(bench):
    weigh_truck(bench)


def _held_and_backed_off(bench):
    weigh_truck(bench, kg=30000)
    drive_off(bench)


def _held_on_deck(bench):
    weigh_truck(bench, kg=30000)


def _held_then_released(bench):
    weigh_truck(bench, kg=30000)
    drive_off(bench)
    bench.clock.advance(600)
    weigh_truck(bench, kg=17000)
    drive_off(bench)


def _released_long_ago(bench):
    weigh_truck(bench)
    drive_off(bench)
    bench.clock.advance(1801)


def _released_by_hand(bench):
    weigh_truck(bench, kg=30000)
    bench.send(OperatorEvent("release", "王师傅", "车辆故障无法卸载"))


@pytest.mark.parametrize(
    ("setup", "finding"),
    [
        (_released_and_gone, None),
        (_released_on_deck, None),
        (_held_and_backed_off, "overloaded_left"),
        (_held_on_deck, "overloaded_left"),
        (_held_then_released, None),
        (_released_long_ago, "left_without_weighing"),
        (_released_by_hand, None),  # recorded as released by the operator
    ],
)
def test_exit_camera_findings(setup, finding):
    bench = Bench()
    setup(bench)
    before = bench.lane.next_seq
    found = events(exit_and_settle(bench, PLATE))
    assert [e["event_type"] for e in found] == ([finding] if finding else [])
    if finding:
        assert found[0]["seq"] == before
        assert found[0]["left_without_weighing"] is (finding == "left_without_weighing")


def test_overloaded_left_names_the_held_pass():
    bench = Bench()
    held = weigh_truck(bench, kg=30000)
    [event] = events(exit_and_settle(bench, PLATE))
    assert event["detail"]["record_id"] == held["record_id"]


def test_exit_check_can_be_turned_off():
    bench = Bench(exit_window_s=None)
    assert events(exit_and_settle(bench, OTHER)) == []


def test_a_check_event_not_stored_is_tried_again_with_the_same_seq():
    bench = Bench()
    exit_read(bench, OTHER)
    [event] = events(ticks(bench, 4))
    assert bench.send(StoreFailed(event["record_id"])) == []
    assert bench.lane.next_seq == event["seq"]
    assert events(ticks(bench, EVENT_RETRY_S - 1)) == []
    [again] = events(ticks(bench, 2))
    assert again["event_type"] == "left_without_weighing"
    assert again["seq"] == event["seq"]
    assert events(ticks(bench, 10)) == []


# -- the same plate re-weighed soon after a release --------------------------


@pytest.mark.parametrize(
    ("first_kg", "after_s", "quick"),
    [(15000, 300, True), (15000, 700, False), (30000, 300, False)],
)
def test_quick_reweigh(first_kg, after_s, quick):
    bench = Bench()
    weigh_truck(bench, kg=first_kg)
    drive_off(bench)
    bench.clock.advance(after_s)
    record = weigh_truck(bench, kg=15000)
    assert ("quick_reweigh" in record["flags"]) is quick


def test_quick_reweigh_window_is_a_setting():
    bench = Bench(quick_reweigh_s=1200)
    weigh_truck(bench)
    drive_off(bench)
    bench.clock.advance(700)
    assert "quick_reweigh" in weigh_truck(bench)["flags"]


# -- the scale does not return to zero ---------------------------------------


def test_scale_not_back_to_zero_is_an_event_and_flags_the_next_pass():
    bench = Bench()
    first = weigh_truck(bench)
    left = bench.frames([5000, 120]) + bench.frames([120] * 20)
    [event] = events(left)
    assert event["event_type"] == "zero_not_returned"
    assert event["detail"]["offset_kg"] == 120
    assert event["detail"]["after_record_id"] == first["record_id"]
    assert bench.state is LaneState.IDLE

    assert "scale_not_zeroed" in weigh_truck(bench, OTHER)["flags"]
    drive_off(bench)
    assert "scale_not_zeroed" not in weigh_truck(bench, "晋E33333")["flags"]


def test_scale_back_to_zero_is_no_event():
    bench = Bench()
    weigh_truck(bench)
    assert events(drive_off(bench)) == []
    assert "scale_not_zeroed" not in weigh_truck(bench, OTHER)["flags"]


def test_zero_check_can_be_turned_off():
    bench = Bench(zero_band_divisions=None)
    weigh_truck(bench)
    assert events(bench.frames([5000] + [120] * 20)) == []


# -- axle count against the vehicle's known configuration --------------------


@pytest.mark.parametrize(("known", "flagged"), [(3, True), (2, False), (None, False)])
def test_axle_mismatch(known, flagged):
    bench = Bench()
    bench.lane.known_axles = lambda plate: known
    record = weigh_truck(bench, axles=2)
    assert ("axle_mismatch" in record["flags"]) is flagged


# -- merged plate reads --------------------------------------------------------


def test_several_front_events_become_one_read_with_alternatives():
    bench = Bench()
    bench.send(PlateEvent(read(bench, "晋E12346", 80), "front"))
    bench.clock.advance(0.5)
    bench.send(PlateEvent(read(bench, PLATE, 95), "front"))
    bench.clock.advance(0.5)
    bench.send(PlateEvent(read(bench, None), "front"))
    bench.plate(PLATE, "rear")
    bench.axles(2)
    [record] = passes(bench.weigh(15000))
    assert record["front_plate"] == PLATE
    assert record["plate_alternatives"] == [
        {"position": "front", "plate": "晋E12346", "confidence": 80}
    ]
    assert "two_vehicles" not in record["flags"]
    assert len(record["photos"]) == 3


def test_a_pass_with_one_read_per_camera_has_no_alternatives_field():
    record = weigh_truck(Bench())
    assert "plate_alternatives" not in record
    assert record["flags"] == []  # the checks add nothing to a clean pass


def test_the_event_detail_camera_time_is_utc():
    bench = Bench()
    exit_read(bench, OTHER)
    [event] = events(ticks(bench, 4))
    assert event["detail"]["camera_time"].endswith("Z")
    assert event["detected_at"].endswith("Z")


# -- after a restart ----------------------------------------------------------


def test_a_restarted_lane_recalls_recent_passes_for_the_exit_and_reweigh_checks():
    before = Bench()
    released = weigh_truck(before, PLATE)
    drive_off(before)
    held = weigh_truck(before, OTHER, kg=30000)
    drive_off(before)
    by_hand = weigh_truck(before, "晋E33333", kg=30000)
    [release] = records(
        before.send(OperatorEvent("release", "王师傅", "车辆故障无法卸载"))
    )
    stored = [released, held, by_hand, release]

    after = Bench(next_seq=before.lane.next_seq)
    after.clock = before.clock
    after.lane.clock = before.clock
    after.clock.advance(60)
    after.lane.recall(stored)
    found = []
    for plate in (PLATE, OTHER, "晋E33333", "晋E44444"):
        found += [e["event_type"] for e in events(exit_and_settle(after, plate))]
    assert found == ["overloaded_left", "left_without_weighing"]
    assert "quick_reweigh" in weigh_truck(after, PLATE)["flags"]


def test_an_old_front_read_and_the_truck_on_the_deck_are_not_two_vehicles():
    bench = Bench()
    bench.plate(OTHER)  # drove past long ago
    bench.clock.advance(600)
    bench.frames([30000])
    bench.plate(PLATE)  # the camera triggers once the truck is on
    bench.axles(2)
    [record] = passes(bench.weigh(15000))
    assert record["front_plate"] == PLATE
    assert "two_vehicles" not in record["flags"]


def test_a_zero_band_of_no_division_takes_one_division_as_off_zero():
    bench = Bench(zero_band_divisions=0)
    weigh_truck(bench)
    [event] = events(bench.frames([5000] + [20] * 20))
    assert event["detail"]["offset_kg"] == 20
    assert event["detail"]["zero_band_kg"] == 0
