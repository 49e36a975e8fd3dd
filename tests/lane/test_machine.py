import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lane_streams import noise_stream, reading

from zhichao.errors import RulesInputError
from zhichao.lane.clock import ManualClock
from zhichao.lane.events import (
    AxleEvent,
    OpenBarrier,
    PlateEvent,
    ShowText,
    StoreFailed,
    StoreRecord,
    Tick,
    WeightEvent,
)
from zhichao.lane.machine import Lane, LaneConfig, LaneState
from zhichao.protocols.readings import AxleReading, Picture, PlateColor, PlateRead
from zhichao.rules import check

STATION, LANE_NO = "1405250001", "01"
BEIJING = timezone(timedelta(hours=8))
START = datetime(2026, 6, 17, 22, 6, 30, tzinfo=UTC)
FPS = 10
RECORD_ID = re.compile(r"^1405250001-01-\d{8}T\d{6}Z-\d{6}$")
PROTOCOL_FIELDS = {
    "schema_version", "record_id", "kind", "station_code", "lane_no", "seq",
    "prev_hash", "signature", "detected_at", "entered_at", "front_plate",
    "front_plate_color", "rear_plate", "rear_plate_color", "vehicle_kind", "axles",
    "axle_weights_kg", "gross_kg", "limit_kg", "tolerance_kg", "over_kg",
    "over_rate_pct", "overloaded", "verdict", "basis", "rules_version", "flags",
    "reweigh_of", "photos", "left_without_weighing", "video",
}  # fmt: skip


class Bench:
    """A lane on a fake clock, with helpers that drive it like a station would."""

    def __init__(self, next_seq=1, judge=check, **config):
        self.clock = ManualClock(START, monotonic=1000.0)
        self.lane = Lane(
            LaneConfig(STATION, LANE_NO, **config),
            self.clock,
            next_seq=next_seq,
            judge=judge,
        )

    @property
    def state(self):
        return self.lane.state

    def send(self, event):
        return self.lane.handle(event)

    def plate(self, plate, position="front", color=PlateColor.YELLOW, camera=None):
        read = PlateRead(
            plate=plate,
            color=color,
            camera_time=self.clock.now().astimezone(BEIJING),
            pictures=(Picture(f"{position}.jpg", _jpeg(plate, position), "plate"),),
            camera=camera or f"cam-{position}",
        )
        return self.send(PlateEvent(read, position))

    def axles(self, count):
        return self.send(AxleEvent(AxleReading(count)))

    def frames(self, weights):
        """One frame per weight at FPS, the clock moving between frames."""
        actions = []
        for weight in weights:
            actions += self.send(WeightEvent(reading(weight)))
            self.clock.advance(1 / FPS)
        return actions

    def weigh(self, kg, seconds=1.5):
        return self.frames([kg] * round(seconds * FPS))

    def leave(self):
        return self.frames([5000, 100])


def _jpeg(*parts) -> bytes:
    return b"\xff\xd8" + "|".join(str(p) for p in parts).encode() + b"\xff\xd9"


def records(actions):
    return [a.record for a in actions if isinstance(a, StoreRecord)]


def texts(actions):
    return [a.lines for a in actions if isinstance(a, ShowText)]


def kinds(actions):
    return [type(a) for a in actions]


# -- (state, event) -> (state, actions) ------------------------------------


def _idle(bench):
    pass


def _weighing(bench):
    bench.frames([30000])


def _released(bench):
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.axles(2)
    bench.weigh(15000)


def _held(bench):
    bench.plate("晋E12345")
    bench.axles(2)
    bench.weigh(30000)


SETUPS = {
    LaneState.IDLE: _idle,
    LaneState.WEIGHING: _weighing,
    LaneState.RELEASED: _released,
    LaneState.HELD: _held,
}
PLATE = PlateEvent(PlateRead("晋E54321", PlateColor.YELLOW, START), "front")

TABLE = [
    (LaneState.IDLE, WeightEvent(reading(500)), LaneState.IDLE, []),
    (LaneState.IDLE, WeightEvent(reading(30000)), LaneState.WEIGHING, [ShowText]),
    (LaneState.IDLE, WeightEvent(reading(None)), LaneState.IDLE, []),
    (LaneState.IDLE, Tick(), LaneState.IDLE, []),
    (LaneState.IDLE, PLATE, LaneState.IDLE, []),
    (LaneState.IDLE, AxleEvent(AxleReading(3)), LaneState.IDLE, []),
    (LaneState.IDLE, StoreFailed("x"), LaneState.IDLE, []),
    (LaneState.WEIGHING, WeightEvent(reading(100)), LaneState.IDLE, [ShowText]),
    (LaneState.WEIGHING, WeightEvent(reading(None)), LaneState.WEIGHING, []),
    (LaneState.WEIGHING, WeightEvent(reading(800)), LaneState.WEIGHING, []),
    (LaneState.WEIGHING, Tick(), LaneState.WEIGHING, []),
    (LaneState.WEIGHING, PLATE, LaneState.WEIGHING, [ShowText]),
    (LaneState.WEIGHING, AxleEvent(AxleReading(3)), LaneState.WEIGHING, []),
    (LaneState.WEIGHING, StoreFailed("x"), LaneState.WEIGHING, []),
    (LaneState.RELEASED, WeightEvent(reading(15000)), LaneState.RELEASED, []),
    (LaneState.RELEASED, WeightEvent(reading(5000)), LaneState.RELEASED, []),
    (LaneState.RELEASED, WeightEvent(reading(200)), LaneState.IDLE, [ShowText]),
    (LaneState.RELEASED, WeightEvent(reading(None)), LaneState.RELEASED, []),
    (LaneState.RELEASED, Tick(), LaneState.RELEASED, []),
    (LaneState.RELEASED, PLATE, LaneState.RELEASED, []),
    (LaneState.RELEASED, StoreFailed("other"), LaneState.RELEASED, []),
    (LaneState.HELD, WeightEvent(reading(30000)), LaneState.HELD, []),
    (LaneState.HELD, WeightEvent(reading(0)), LaneState.IDLE, [ShowText]),
    (LaneState.HELD, WeightEvent(reading(None)), LaneState.HELD, []),
    (LaneState.HELD, Tick(), LaneState.HELD, []),
    (LaneState.HELD, AxleEvent(AxleReading(3)), LaneState.HELD, []),
    (LaneState.HELD, StoreFailed("other"), LaneState.HELD, []),
]


@pytest.mark.parametrize(
    "state, event, expected_state, expected_actions",
    TABLE,
    ids=[f"{row[0].value}-{type(row[1]).__name__}-{i}" for i, row in enumerate(TABLE)],
)
def test_transition_table(state, event, expected_state, expected_actions):
    bench = Bench()
    SETUPS[state](bench)
    assert bench.state is state

    actions = bench.send(event)

    assert bench.state is expected_state
    assert kinds(actions) == expected_actions


@pytest.mark.parametrize("state", [LaneState.RELEASED, LaneState.HELD])
def test_decision_transitions_from_weighing(state):
    bench = Bench()
    actions = []
    bench.plate("晋E12345")
    bench.axles(2)
    actions = bench.weigh(15000 if state is LaneState.RELEASED else 30000)

    assert bench.state is state
    expected = [ShowText, StoreRecord, ShowText]
    if state is LaneState.RELEASED:
        expected.append(OpenBarrier)
    assert kinds(actions) == expected


def test_unknown_event_is_refused():
    with pytest.raises(TypeError):
        Bench().send("weight")


# -- whole passes ----------------------------------------------------------


def test_full_pass_released():
    bench = Bench(next_seq=123)
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.axles(2)
    bench.frames([3000, 9000, 14000])
    settled = bench.clock.now()

    actions = bench.weigh(17980)

    assert kinds(actions) == [StoreRecord, ShowText, OpenBarrier]
    (record,) = records(actions)
    assert set(record) == PROTOCOL_FIELDS
    detected = settled + timedelta(seconds=1.0)
    assert (
        record["detected_at"] == detected.isoformat(timespec="milliseconds")[:-6] + "Z"
    )
    assert record["record_id"] == (
        f"1405250001-01-{detected.strftime('%Y%m%dT%H%M%SZ')}-000123"
    )
    assert record["seq"] == 123
    assert record["schema_version"] == 1
    assert record["kind"] == "pass"
    assert record["front_plate"] == record["rear_plate"] == "晋E12345"
    assert record["front_plate_color"] == "yellow"
    assert record["vehicle_kind"] == "truck"
    assert record["axles"] == 2
    assert (record["gross_kg"], record["limit_kg"], record["over_kg"]) == (
        17980,
        18000,
        0,
    )
    assert record["over_rate_pct"] == 0.0
    assert record["overloaded"] is False
    assert record["verdict"] == "released"
    assert record["flags"] == []
    assert record["reweigh_of"] is None
    assert record["prev_hash"] is None and record["signature"] is None
    assert texts(actions) == [
        ("晋E12345", "总重 17.98吨", "限重 18.00吨", "正常 请通行")
    ]
    assert bench.state is LaneState.RELEASED
    assert bench.lane.next_seq == 124
    json.dumps(record)

    assert texts(bench.leave()) == [("欢迎", "请上磅", "", "")]
    assert bench.state is LaneState.IDLE


def test_record_photos_reference_each_picture_by_hash():
    bench = Bench()
    bench.plate("晋E12345", camera="A1")
    bench.plate("晋E12345", "rear", camera="A2")
    bench.axles(2)

    (action,) = [a for a in bench.weigh(15000) if isinstance(a, StoreRecord)]

    photos = action.record["photos"]
    assert [p["camera"] for p in photos] == ["A1", "A2"]
    for photo, picture in zip(photos, action.pictures, strict=True):
        assert photo["sha256"] == hashlib.sha256(picture.data).hexdigest()
        assert photo["size"] == len(picture.data)
        assert photo["role"] == "plate"
        assert photo["captured_at"] == "2026-06-17T22:06:30.000Z"


def test_overloaded_pass_held_then_reweighed_and_linked():
    bench = Bench()
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")
    bench.axles(6)

    first = bench.weigh(55000)

    assert kinds(first) == [ShowText, StoreRecord, ShowText]
    (held,) = records(first)
    assert held["vehicle_kind"] == "combination"
    assert (held["limit_kg"], held["over_kg"], held["over_rate_pct"]) == (
        49000,
        6000,
        12.24,
    )
    assert held["verdict"] == "held" and held["overloaded"] is True
    assert texts(first)[-1] == ("晋E12345", "总重 55.00吨", "超限 6.00吨", "请退回卸载")
    assert bench.state is LaneState.HELD

    bench.leave()
    bench.clock.advance(1800)
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")
    bench.axles(6)
    second = bench.weigh(48960)

    (again,) = records(second)
    assert again["reweigh_of"] == held["record_id"]
    assert again["seq"] == held["seq"] + 1
    assert again["verdict"] == "released"
    assert OpenBarrier in kinds(second)


def test_reweigh_link_expires():
    bench = Bench(reweigh_window_s=600)
    bench.plate("晋E12345")
    bench.axles(2)
    bench.weigh(30000)
    bench.leave()
    bench.clock.advance(601)
    bench.plate("晋E12345")
    bench.axles(2)

    (record,) = records(bench.weigh(17000))

    assert record["reweigh_of"] is None


def test_no_axle_reading_uses_the_lowest_limit_and_flags_it():
    bench = Bench()
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")

    (record,) = records(bench.weigh(30000))

    assert record["axles"] is None
    assert record["limit_kg"] == 18000
    assert record["flags"] == ["no_axle_count"]
    assert record["verdict"] == "held"


def test_no_plate_is_flagged_and_still_judged():
    bench = Bench()
    bench.axles(6)

    actions = bench.weigh(45000)

    (record,) = records(actions)
    assert record["front_plate"] is None and record["rear_plate"] is None
    assert record["front_plate_color"] == record["rear_plate_color"] == "unknown"
    assert record["vehicle_kind"] is None
    assert record["flags"] == ["no_plate", "unknown_configuration"]
    assert record["limit_kg"] == 46000
    assert texts(actions)[-1][0] == "未识别车牌"
    assert OpenBarrier in kinds(actions)


def test_front_only_plate_is_an_unknown_configuration():
    bench = Bench()
    bench.plate("晋E12345")
    bench.axles(3)

    (record,) = records(bench.weigh(24000))

    assert record["vehicle_kind"] is None
    assert record["flags"] == ["unknown_configuration"]
    assert record["limit_kg"] == 25000


def test_store_failed_keeps_the_truck_held_and_decides_again():
    bench = Bench(next_seq=7)
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.axles(2)
    (first,) = records(bench.weigh(15000, seconds=1.1))

    actions = bench.send(StoreFailed(first["record_id"]))

    assert texts(actions) == [("晋E12345", "系统故障 请稍候", "", "")]
    assert bench.state is LaneState.WEIGHING
    assert bench.lane.next_seq == 7

    retry = bench.weigh(15000, seconds=1.1)

    (second,) = records(retry)
    assert second["seq"] == 7
    assert second["record_id"] != first["record_id"]
    assert kinds(retry) == [StoreRecord, ShowText, OpenBarrier]
    assert bench.lane.next_seq == 8


def test_store_failed_of_a_held_pass_does_not_link_a_reweighing():
    bench = Bench()
    bench.plate("晋E12345")
    bench.axles(2)
    (first,) = records(bench.weigh(30000, seconds=1.1))
    bench.send(StoreFailed(first["record_id"]))
    (second,) = records(bench.weigh(30000, seconds=1.1))
    bench.leave()
    bench.plate("晋E12345")
    bench.axles(2)

    (third,) = records(bench.weigh(17000))

    assert third["reweigh_of"] == second["record_id"]
    assert [r["seq"] for r in (first, second, third)] == [1, 1, 2]


def test_stale_plate_read_is_ignored():
    bench = Bench(plate_window_s=120)
    bench.plate("晋E12345")
    bench.clock.advance(121)
    bench.axles(2)

    actions = bench.weigh(15000)

    (record,) = records(actions)
    assert record["front_plate"] is None
    assert "no_plate" in record["flags"]
    assert record["photos"] == []
    assert texts(actions)[-1][0] == "未识别车牌"


def test_two_trucks_in_a_row():
    bench = Bench()
    bench.plate("晋E11111")
    bench.plate("晋E11111", "rear")
    bench.axles(2)
    (first,) = records(bench.weigh(15000))
    bench.leave()

    bench.plate("冀B22222")
    (second,) = records(bench.weigh(16000))

    assert (first["seq"], second["seq"]) == (1, 2)
    assert second["front_plate"] == "冀B22222"
    assert second["rear_plate"] is None
    assert second["axles"] is None  # the first truck's count was forgotten
    assert second["record_id"].endswith("-000002")
    assert RECORD_ID.match(first["record_id"]) and RECORD_ID.match(second["record_id"])


def test_plate_read_after_the_decision_goes_to_the_next_truck():
    bench = Bench()
    bench.plate("晋E11111")
    bench.axles(2)
    bench.weigh(15000)
    bench.plate("晋E11111")  # the same truck read again: nothing new
    bench.plate("冀B22222")  # the next truck, seen before the first has gone
    bench.leave()

    (record,) = records(bench.weigh(16000))

    assert record["front_plate"] == "冀B22222"


def test_truck_leaving_before_stable_is_forgotten():
    bench = Bench()
    bench.plate("晋E11111")
    bench.axles(2)
    bench.frames([20000, 25000])

    actions = bench.leave()

    assert records(actions) == []
    assert bench.state is LaneState.IDLE
    (record,) = records(bench.weigh(15000))
    assert record["front_plate"] is None and record["axles"] is None


def test_stability_timeout_shows_unstable_and_makes_no_record():
    bench = Bench()
    bench.plate("晋E12345")
    bench.axles(2)
    noise = [w for _, w in noise_stream(FPS, seed=3, centre=15000, seconds=15.5)]

    actions = bench.frames(noise)

    assert records(actions) == []
    assert ("晋E12345", "重量不稳 请停稳", "", "") in texts(actions)
    assert bench.state is LaneState.WEIGHING

    (record,) = records(bench.weigh(15000))
    assert record["gross_kg"] == 15000


def test_tick_times_out_a_silent_indicator():
    bench = Bench()
    bench.frames([30000])
    bench.clock.advance(14.0)
    assert bench.send(Tick()) == []

    bench.clock.advance(1.0)

    assert texts(bench.send(Tick())) == [("未识别车牌", "重量不稳 请停稳", "", "")]
    assert bench.state is LaneState.WEIGHING


def test_entry_read_gives_entered_at():
    bench = Bench()
    bench.plate("晋E12345", "entry")
    bench.clock.advance(20)
    bench.plate("晋E12345")
    bench.axles(2)

    (record,) = records(bench.weigh(15000))

    assert record["entered_at"] == "2026-06-17T22:06:30.000Z"
    assert len(record["photos"]) == 2


def test_tolerance_decides_refusal_only():
    bench = Bench(tolerance_kg=40)
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.axles(2)

    actions = bench.weigh(18040)

    (record,) = records(actions)
    assert record["over_kg"] == 40
    assert record["tolerance_kg"] == 40
    assert record["overloaded"] is False
    assert OpenBarrier in kinds(actions)


def test_judge_is_injected_and_refusals_fall_back():
    seen = []

    def judge(vehicle):
        seen.append((vehicle.axles, vehicle.kind))
        if vehicle.kind == "truck":
            raise RulesInputError("axles: no 5-axle truck")
        return check(vehicle)

    bench = Bench(judge=judge)
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.axles(5)

    (record,) = records(bench.weigh(40000))

    assert seen == [(5, "truck"), (5, None)]
    assert record["limit_kg"] == 43000
    assert record["flags"] == ["unknown_configuration"]


def test_unusable_axle_count_falls_back_to_no_count():
    bench = Bench()
    bench.plate("晋E12345")
    bench.axles(1)

    (record,) = records(bench.weigh(15000))

    assert record["axles"] == 1
    assert record["limit_kg"] == 18000
    assert record["flags"] == ["axle_count_unusable", "no_axle_count"]


def test_idle_text():
    assert Bench().lane.idle_text() == ("欢迎", "请上磅", "", "")


def _combination_with_tyres(bench, tyres, groups=(1, 2, 3)):
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")
    bench.send(AxleEvent(AxleReading(sum(groups), groups, tyres=tyres)))


def test_single_tyred_trailer_axles_lower_the_limit_and_the_basis_says_why():
    bench = Bench()
    _combination_with_tyres(bench, "SDDDSS")

    (record,) = records(bench.weigh(45000))

    assert record["limit_kg"] == 49000 - 2 * 3000
    assert record["verdict"] == "held"
    assert record["over_kg"] == 2000
    assert "第三条第二款第（二）项" in record["basis"]
    assert record["basis"].endswith("2轴，减6000千克，为43000千克")
    assert record["flags"] == ["single_tyre_reduction"]
    assert record["axle_groups"] == [1, 2, 3]
    assert record["axle_tyres"] == "SDDDSS"


def test_twin_tyres_and_a_single_tyred_steer_axle_lower_nothing():
    bench = Bench()
    _combination_with_tyres(bench, "SDDDDD")

    (record,) = records(bench.weigh(45000))

    assert record["limit_kg"] == 49000
    assert record["flags"] == []
    assert record["axle_tyres"] == "SDDDDD"


def test_wide_single_trailer_tyres_lower_nothing_and_say_so():
    bench = Bench()
    _combination_with_tyres(bench, "SDDWWW")

    (record,) = records(bench.weigh(45000))

    assert record["limit_kg"] == 49000
    assert record["basis"].endswith("3轴为加宽轮胎，不减")
    assert record["flags"] == ["wide_tyres"]


def test_no_tyres_from_the_identifier_judges_as_twin_tyred():
    bench = Bench()
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")
    bench.send(AxleEvent(AxleReading(6, (1, 2, 3))))

    (record,) = records(bench.weigh(45000))

    assert record["limit_kg"] == 49000
    assert record["flags"] == []
    assert record["axle_groups"] == [1, 2, 3]
    assert "axle_tyres" not in record


def test_a_count_alone_adds_no_axle_members():
    bench = Bench()
    bench.plate("晋E12345")
    bench.plate("晋E1234挂", "rear")
    bench.axles(6)

    (record,) = records(bench.weigh(45000))

    assert record["limit_kg"] == 49000
    assert set(record) == PROTOCOL_FIELDS


def test_a_trucks_single_tyred_rear_axle_is_flagged_not_counted():
    bench = Bench()
    bench.plate("晋E12345")
    bench.plate("晋E12345", "rear")
    bench.send(AxleEvent(AxleReading(3, (1, 2), tyres="SDS")))

    (record,) = records(bench.weigh(24000))

    assert record["limit_kg"] == 25000
    assert record["flags"] == ["single_tyres_not_counted"]
