import random

import pytest

from zhichao.protocols.xk3190 import decode_tf0, encode_tf0
from zhichao.sim.devices.scale import WeightModel


def _model(**kwargs) -> WeightModel:
    return WeightModel(rng=random.Random(7), **kwargs)


def _sample(model: WeightModel, start: float, stop: float, step: float = 0.1):
    count = round((stop - start) / step)
    return [model.displayed(start + i * step) for i in range(count)]


@pytest.mark.parametrize("target", [18000, 49380, 31000])
def test_drive_on_ramps_then_settles_within_one_division(target):
    model = _model()
    model.set_target(target, now=0.0, ramp_s=3.0)

    ramp = _sample(model, 0.0, 3.0)
    settled = _sample(model, 8.0, 10.0)

    assert ramp[0] < target / 4 and ramp[-1] > target * 0.8
    assert max(ramp) < target + 10 * 20
    assert all(abs(value - target) <= 20 for value in settled)
    assert all(value % 20 == 0 for value in ramp + settled)


def test_settling_swings_more_than_the_stability_band_at_first():
    model = _model()
    model.set_target(49380, now=0.0, ramp_s=3.0)

    just_after = _sample(model, 3.0, 4.0)

    assert max(just_after) - min(just_after) > 2 * 20


def test_drive_off_returns_to_exact_zero():
    model = _model()
    model.settle_at(40000)
    model.set_target(0, now=0.0, ramp_s=2.0)

    assert set(_sample(model, 2.0, 4.0)) == {0}


def test_flicker_zero_gives_a_steady_reading():
    model = _model(flicker=0.0)
    model.settle_at(25000)

    assert set(_sample(model, 0.0, 5.0)) == {25000}


def test_frames_the_model_feeds_decode_back():
    model = _model()
    model.settle_at(49380)

    frames = [encode_tf0(value) for value in _sample(model, 0.0, 1.0)]

    assert {decode_tf0(frame).weight_kg for frame in frames} <= {49360, 49380, 49400}
