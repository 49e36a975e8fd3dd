"""The demo's traffic: what a Jincheng coal lane sees, over a seeded day's trucks."""

import random
from collections import Counter

from zhichao.lane.tyres import tyre_inputs
from zhichao.protocols.plates import validate_plate
from zhichao.protocols.readings import AxleReading
from zhichao.rules import VehicleInput, check
from zhichao.sim.traffic import next_vehicle

COUNT = 5000


def _judged(vehicle):
    """The verdict as the lane makes it, from what the identifier reports."""
    reading = AxleReading(vehicle.axles, vehicle.groups, tyres=vehicle.tyres)
    tyres = tyre_inputs(reading, vehicle.kind)
    return check(
        VehicleInput(
            axles=vehicle.axles,
            kind=vehicle.kind,
            gross_kg=vehicle.gross_kg,
            single_tyre_axles=tyres.single_tyre_axles,
            wide_tyres=tyres.wide_tyres,
        )
    )


def _verdicts(seed: int = 11):
    rng = random.Random(seed)
    for _ in range(COUNT):
        vehicle = next_vehicle(rng)
        yield vehicle, _judged(vehicle)


def test_mostly_six_axle_combinations_near_49_t_some_three_and_four_axle_trucks():
    pairs = list(_verdicts())
    shapes = Counter((v.kind, v.axles) for v, _ in pairs)
    six = [
        v.gross_kg for v, verdict in pairs if v.axles == 6 and not verdict.overloaded
    ]

    assert shapes[("combination", 6)] / COUNT > 0.7
    assert shapes[("truck", 3)] / COUNT > 0.05
    assert shapes[("truck", 4)] / COUNT > 0.05
    assert set(shapes) <= {
        ("combination", 6),
        ("combination", 5),
        ("truck", 3),
        ("truck", 4),
    }
    assert 47_000 <= sum(six) / len(six) <= 49_000
    assert all(v.gross_kg % 20 == 0 for v, _ in pairs)  # a 20 kg division


def test_a_few_per_cent_are_overloaded_and_unloading_brings_them_under():
    pairs = list(_verdicts())
    overloaded = [(v, verdict) for v, verdict in pairs if verdict.overloaded]

    assert 0.02 <= len(overloaded) / COUNT <= 0.06
    for vehicle, verdict in overloaded:
        assert vehicle.unloaded_kg <= verdict.limit_kg


def test_plates_are_valid_and_combinations_show_a_trailer_plate():
    for vehicle, _ in _verdicts():
        assert validate_plate(vehicle.front_plate) == vehicle.front_plate
        assert validate_plate(vehicle.rear_plate) == vehicle.rear_plate
        if vehicle.kind == "combination":
            assert vehicle.rear_plate.endswith("挂")
        else:
            assert vehicle.rear_plate == vehicle.front_plate


def test_a_seed_reproduces_the_traffic_and_overload_can_be_forced():
    assert list(_verdicts(5)) == list(_verdicts(5))
    rng = random.Random(1)
    forced = [next_vehicle(rng, overloaded=True) for _ in range(200)]
    assert all(_judged(v).overloaded for v in forced)


def test_tyres_are_mostly_told_mostly_twin_and_a_reduced_limit_is_rare():
    pairs = list(_verdicts())
    told = [v for v, _ in pairs if v.tyres is not None]
    reduced = [verdict for _, verdict in pairs if verdict.limit_kg == 40_000]

    assert 0.85 <= len(told) / COUNT <= 0.95
    for vehicle in told:
        assert len(vehicle.tyres) == vehicle.axles == sum(vehicle.groups)
        assert vehicle.tyres[0] == "S"  # a steering axle is single-tyred
    six = [v for v in told if v.axles == 6]
    assert sum(v.tyres == "SDDDDD" for v in six) / len(six) > 0.95  # twin-tyred
    assert 0 < len(reduced) / COUNT < 0.02
    assert all("single_tyre_reduction" in verdict.flags for verdict in reduced)
    assert any("wide_tyres" in verdict.flags for _, verdict in pairs)
