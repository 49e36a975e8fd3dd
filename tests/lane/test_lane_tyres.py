import pytest

from zhichao.lane.tyres import NOT_COUNTED, TyreInputs, axle_config, tyre_inputs
from zhichao.protocols.readings import AxleReading


@pytest.mark.parametrize(
    ("groups", "tyres", "kind", "expected"),
    [
        # steering axle and the tractor's drive group never count
        ((1, 2, 3), "SSSDDD", "combination", TyreInputs()),
        ((1, 2, 3), "SDDDSS", "combination", TyreInputs(single_tyre_axles=2)),
        ((1, 2, 3), "SDDSSS", None, TyreInputs(single_tyre_axles=3)),
        ((1, 1, 3), "SDSSS", None, TyreInputs(single_tyre_axles=3)),
        ((1, 2, 3), "SDDWWW", "combination", TyreInputs(3, wide_tyres=True)),
        # wide singles lower nothing; only the true singles are counted
        ((1, 2, 3), "SDDWSS", "combination", TyreInputs(single_tyre_axles=2)),
        ((1, 1, 2), "SDSS", "combination", TyreInputs(single_tyre_axles=2)),
        # a 4-axle vehicle without a trailer plate may be a truck: not placed
        ((1, 1, 2), "SDSS", None, TyreInputs(flags=(NOT_COUNTED,))),
        ((1, 2), "SDS", "truck", TyreInputs(flags=(NOT_COUNTED,))),
        ((2, 2), "SSDD", "truck", TyreInputs()),
        ((1, 1, 2), "SSDD", "truck", TyreInputs()),  # twin steer, twin drive
        ((1, 2), "SDW", "truck", TyreInputs()),  # wide singles lower nothing
        ((1, 1), "SD", "truck", TyreInputs()),
    ],
)
def test_tyre_inputs(groups, tyres, kind, expected):
    reading = AxleReading(sum(groups), groups, tyres=tyres)

    assert tyre_inputs(reading, kind) == expected


@pytest.mark.parametrize(
    "reading",
    [
        None,
        AxleReading(6),
        AxleReading(6, (1, 2, 3)),
        AxleReading(6, (1, 2, 3), tyres="SDDSS"),  # a letter short
        AxleReading(6, (1, 2, 2), tyres="SDDSSS"),  # groups do not add up
        AxleReading(6, (1, 2, 3), tyres="SDDxSS"),
    ],
)
def test_nothing_is_counted_without_usable_tyres(reading):
    assert tyre_inputs(reading, "combination") == TyreInputs()


def test_axle_config_members():
    assert axle_config(None) == {}
    assert axle_config(AxleReading(6)) == {}
    assert axle_config(AxleReading(6, (1, 2, 3))) == {"axle_groups": [1, 2, 3]}
    assert axle_config(AxleReading(6, (1, 2, 3), tyres="SDDDDD")) == {
        "axle_groups": [1, 2, 3],
        "axle_tyres": "SDDDDD",
    }
