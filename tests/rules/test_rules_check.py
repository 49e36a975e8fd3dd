"""check(): the Art. 3 table, each adjustment and its order, errors, rounding."""

import dataclasses
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from zhichao.errors import RulesInputError
from zhichao.rules import RULES_VERSION, VehicleInput, Verdict, check

ART3 = "《超限运输车辆行驶公路管理规定》第三条"


def vehicle(**kwargs) -> VehicleInput:
    kwargs.setdefault("axles", 2)
    kwargs.setdefault("gross_kg", 0)
    return VehicleInput(**kwargs)


# (kind, axles, single_drive_axle, limit_kg, item of Art. 3 para. 1)
ART3_ROWS = [
    ("truck", 2, False, 18000, "第一款第（四）项"),
    ("truck", 3, False, 25000, "第一款第（五）项"),
    ("combination", 3, False, 27000, "第一款第（五）项"),
    ("truck", 4, False, 31000, "第一款第（六）项"),
    ("combination", 4, False, 36000, "第一款第（六）项"),
    ("combination", 5, False, 43000, "第一款第（七）项"),
    ("combination", 6, False, 49000, "第一款第（八）项"),
    ("combination", 7, False, 49000, "第一款第（八）项"),
    ("combination", 12, False, 49000, "第一款第（八）项"),
    ("combination", 6, True, 46000, "第一款第（八）项"),
    ("combination", 8, True, 46000, "第一款第（八）项"),
]


@pytest.mark.parametrize(("kind", "axles", "single_drive", "limit", "item"), ART3_ROWS)
def test_art3_row_at_the_limit_is_not_overloaded(
    kind, axles, single_drive, limit, item
):
    verdict = check(
        vehicle(kind=kind, axles=axles, single_drive_axle=single_drive, gross_kg=limit)
    )

    assert verdict.limit_kg == limit
    assert verdict.over_kg == 0
    assert verdict.over_rate_pct == Decimal("0.00")
    assert verdict.overloaded is False
    assert item in verdict.basis and str(limit) in verdict.basis
    assert verdict.flags == ()


@pytest.mark.parametrize(("kind", "axles", "single_drive", "limit", "item"), ART3_ROWS)
def test_art3_row_one_kg_over_is_overloaded(kind, axles, single_drive, limit, item):
    verdict = check(
        vehicle(
            kind=kind, axles=axles, single_drive_axle=single_drive, gross_kg=limit + 1
        )
    )

    assert verdict.over_kg == 1
    assert verdict.overloaded is True


@pytest.mark.parametrize(
    ("axles", "limit"),
    [(2, 18000), (3, 25000), (4, 31000), (5, 43000), (6, 46000), (9, 46000)],
)
def test_unknown_kind_takes_the_lowest_limit_for_the_axle_count(axles, limit):
    verdict = check(vehicle(kind=None, axles=axles, gross_kg=limit + 20))

    assert verdict.limit_kg == limit
    assert verdict.overloaded is True
    assert verdict.flags == ("unknown_configuration",)
    assert verdict.basis.startswith("车型未知")


@pytest.mark.parametrize("kind", [None, "truck", "combination"])
def test_no_axle_count_takes_the_lowest_limit_of_the_table(kind):
    verdict = check(vehicle(kind=kind, axles=None, gross_kg=40000))

    assert verdict.limit_kg == 18000
    assert verdict.over_kg == 22000
    assert verdict.flags == ("no_axle_count",)


def test_no_axle_count_skips_axle_dependent_adjustments():
    verdict = check(
        vehicle(
            kind="combination",
            axles=None,
            single_drive_axle=True,
            single_tyre_axles=3,
            air_suspension=True,
            gross_kg=18000,
        )
    )

    assert verdict.limit_kg == 18000
    assert verdict.flags == ("no_axle_count",)


@pytest.mark.parametrize(
    ("axles", "registered", "limit", "flags"),
    [
        (2, 4500, 4500, ()),
        (3, 30000, 30000, ()),
        (None, 4500, 4500, ("no_axle_count",)),
        (2, None, 18000, ("registered_mass_missing",)),
        (4, None, 31000, ("registered_mass_missing",)),
        (6, None, 46000, ("registered_mass_missing",)),
        (None, None, 18000, ("no_axle_count", "registered_mass_missing")),
    ],
)
def test_low_speed_vehicle_limit_is_its_registered_mass(
    axles, registered, limit, flags
):
    verdict = check(
        vehicle(
            kind="low_speed", axles=axles, registered_gross_kg=registered, gross_kg=5000
        )
    )

    assert verdict.limit_kg == limit
    assert verdict.flags == flags
    assert "第二款第（四）项" in verdict.basis


def test_low_speed_vehicle_ignores_air_suspension_and_single_tyres():
    verdict = check(
        vehicle(
            kind="low_speed",
            axles=3,
            registered_gross_kg=12000,
            air_suspension=True,
            single_tyre_axles=1,
            gross_kg=12000,
        )
    )

    assert verdict.limit_kg == 12000
    assert verdict.flags == ("single_tyre_not_applicable",)


@pytest.mark.parametrize(
    ("kind", "axles", "single_tyres", "limit"),
    [
        ("truck", 3, 1, 22000),
        ("truck", 4, 2, 25000),
        ("combination", 3, 1, 24000),
        ("combination", 5, 3, 34000),
        ("combination", 6, 4, 37000),
        (None, 3, 1, 22000),
        (None, 6, 2, 40000),
    ],
)
def test_single_tyre_axles_lower_the_limit_by_3000_each(
    kind, axles, single_tyres, limit
):
    verdict = check(
        vehicle(kind=kind, axles=axles, single_tyre_axles=single_tyres, gross_kg=limit)
    )

    assert verdict.limit_kg == limit
    assert verdict.overloaded is False
    assert "single_tyre_reduction" in verdict.flags
    assert f"减{single_tyres * 3000}千克" in verdict.basis
    assert "第二款第（二）项" in verdict.basis


@pytest.mark.parametrize(
    ("kind", "axles", "limit"), [("truck", 4, 31000), ("combination", 6, 49000)]
)
def test_wide_tyres_cancel_the_single_tyre_reduction(kind, axles, limit):
    verdict = check(
        vehicle(
            kind=kind, axles=axles, single_tyre_axles=2, wide_tyres=True, gross_kg=1
        )
    )

    assert verdict.limit_kg == limit
    assert verdict.flags == ("wide_tyres",)
    assert "加宽轮胎" in verdict.basis


def test_wide_tyres_alone_change_nothing():
    verdict = check(vehicle(kind="truck", axles=3, wide_tyres=True, gross_kg=1))

    assert verdict.limit_kg == 25000
    assert verdict.flags == ()


@pytest.mark.parametrize(
    ("kind", "axles", "limit", "flags"),
    [
        (
            "truck",
            3,
            26000,
            ("gb1589_air_suspension", "twin_drive_tyres_assumed"),
        ),
        (
            "truck",
            4,
            32000,
            ("gb1589_air_suspension", "twin_drive_tyres_assumed"),
        ),
        (
            "combination",
            4,
            37000,
            (
                "gb1589_air_suspension",
                "twin_drive_tyres_assumed",
                "trailer_axle_spacing_assumed",
            ),
        ),
    ],
)
def test_air_suspension_takes_the_higher_gb1589_figure(kind, axles, limit, flags):
    verdict = check(
        vehicle(kind=kind, axles=axles, air_suspension=True, gross_kg=limit)
    )

    assert verdict.limit_kg == limit
    assert verdict.overloaded is False
    assert verdict.flags == flags
    assert "GB 1589" in verdict.basis and "第二款第（五）项" in verdict.basis


@pytest.mark.parametrize(
    ("kind", "axles", "limit"),
    [
        ("truck", 2, 18000),
        ("combination", 3, 27000),
        ("combination", 5, 43000),
        ("combination", 6, 49000),
        (None, 3, 25000),
        (None, 4, 31000),
    ],
)
def test_air_suspension_without_a_higher_gb1589_figure_changes_nothing(
    kind, axles, limit
):
    verdict = check(vehicle(kind=kind, axles=axles, air_suspension=True, gross_kg=1))

    assert verdict.limit_kg == limit
    assert "gb1589_air_suspension" not in verdict.flags
    assert "GB 1589" not in verdict.basis


@pytest.mark.parametrize(
    ("kind", "axles", "single_tyres", "limit"),
    [
        # GB 1589 first (25000 -> 26000), then the reduction: 26000 - 3000
        ("truck", 3, 1, 23000),
        # 36000 -> 37000, then 2 x 3000
        ("combination", 4, 2, 31000),
        ("truck", 4, 2, 26000),
    ],
)
def test_gb1589_figure_is_applied_before_the_single_tyre_reduction(
    kind, axles, single_tyres, limit
):
    verdict = check(
        vehicle(
            kind=kind,
            axles=axles,
            air_suspension=True,
            single_tyre_axles=single_tyres,
            gross_kg=limit,
        )
    )

    assert verdict.limit_kg == limit
    steps = verdict.basis.split("；")
    assert ART3 in steps[0]
    assert "GB 1589" in steps[1] and "第二款第（五）项" in steps[1]
    assert "第二款第（二）项" in steps[2]
    assert verdict.flags[0] == "gb1589_air_suspension"
    assert verdict.flags[-1] == "single_tyre_reduction"


@pytest.mark.parametrize(
    ("gross", "tolerance", "over", "overloaded", "flags"),
    [
        (25000, 0, 0, False, ()),
        (25001, 0, 1, True, ()),
        (25001, 60, 1, False, ("within_tolerance",)),
        (25060, 60, 60, False, ("within_tolerance",)),
        (25061, 60, 61, True, ()),
        (24000, 60, 0, False, ()),
    ],
)
def test_tolerance_changes_only_overloaded(gross, tolerance, over, overloaded, flags):
    verdict = check(
        vehicle(kind="truck", axles=3, gross_kg=gross, tolerance_kg=tolerance)
    )

    assert verdict.limit_kg == 25000
    assert verdict.over_kg == over
    assert verdict.overloaded is overloaded
    assert verdict.flags == flags
    assert ("容差" in verdict.basis) is (tolerance > 0)


@pytest.mark.parametrize(
    ("kwargs", "rate"),
    [
        # 8 / 32000 = 0.025 %: half up gives 0.03, half even would give 0.02
        (
            {"kind": "truck", "axles": 4, "air_suspension": True, "gross_kg": 32008},
            "0.03",
        ),
        # 5 / 20000 = 0.025 %
        (
            {"kind": "low_speed", "registered_gross_kg": 20000, "gross_kg": 20005},
            "0.03",
        ),
        # 2 / 40000 = 0.005 %: half up 0.01, half even 0.00
        (
            {"kind": "low_speed", "registered_gross_kg": 40000, "gross_kg": 40002},
            "0.01",
        ),
    ],
)
def test_overload_rate_rounds_half_up_where_half_even_would_not(kwargs, rate):
    verdict = check(vehicle(**kwargs))

    exact = Decimal(verdict.over_kg) * 100 / Decimal(verdict.limit_kg)
    assert verdict.over_rate_pct == Decimal(rate)
    assert exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) != Decimal(rate)


@pytest.mark.parametrize(
    ("kind", "axles", "gross", "rate"),
    [
        ("truck", 2, 21600, "20.00"),
        ("truck", 2, 36000, "100.00"),
        ("combination", 6, 50000, "2.04"),  # 2.0408...
        ("truck", 3, 25001, "0.00"),  # 0.004 rounds down
        ("combination", 5, 43000 * 3, "200.00"),
    ],
)
def test_overload_rate_in_percent(kind, axles, gross, rate):
    verdict = check(vehicle(kind=kind, axles=axles, gross_kg=gross))

    assert verdict.over_rate_pct == Decimal(rate)
    assert verdict.over_rate_pct.as_tuple().exponent == -2


def test_verdict_records_the_rules_version_and_is_frozen():
    verdict = check(vehicle(kind="truck", gross_kg=1))

    assert isinstance(verdict, Verdict)
    assert verdict.rules_version == RULES_VERSION == "cn-2016.1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.limit_kg = 1


BAD_VEHICLES = [
    # (what is wrong, fields, a word the message must contain)
    ("5-axle truck", {"kind": "truck", "axles": 5}, "combination"),
    ("7-axle truck", {"kind": "truck", "axles": 7}, "combination"),
    ("2-axle combination", {"kind": "combination", "axles": 2}, "truck"),
    ("one axle", {"axles": 1}, "axles"),
    ("no axles", {"kind": "truck", "axles": 0}, "axles"),
    ("negative axles", {"axles": -3}, "axles"),
    ("negative gross", {"gross_kg": -1}, "gross_kg"),
    ("float gross", {"gross_kg": 18000.5}, "gross_kg"),
    ("whole float gross", {"gross_kg": 18000.0}, "gross_kg"),
    ("bool gross", {"gross_kg": True}, "gross_kg"),
    ("string gross", {"gross_kg": "18000"}, "gross_kg"),
    ("None gross", {"gross_kg": None}, "gross_kg"),
    ("float axles", {"axles": 3.0}, "axles"),
    ("bool axles", {"axles": True}, "axles"),
    ("negative tolerance", {"tolerance_kg": -20}, "tolerance_kg"),
    ("float tolerance", {"tolerance_kg": 0.5}, "tolerance_kg"),
    ("negative single tyres", {"single_tyre_axles": -1}, "single_tyre_axles"),
    ("single tyres on every axle", {"axles": 3, "single_tyre_axles": 3}, "steering"),
    (
        "single tyres on a 2-axle truck, which has no group or trailer axle",
        {"kind": "truck", "axles": 2, "single_tyre_axles": 1},
        "drive axle",
    ),
    (
        "single tyres on all but the steering axle",
        {"kind": "combination", "axles": 6, "single_tyre_axles": 5},
        "at most 4",
    ),
    (
        "single tyres on a low-speed vehicle's drive axle",
        {"kind": "low_speed", "axles": 2, "single_tyre_axles": 1},
        "drive axle",
    ),
    ("bool single tyres", {"single_tyre_axles": True}, "single_tyre_axles"),
    (
        "single drive axle, 5-axle combination",
        {"kind": "combination", "axles": 5, "single_drive_axle": True},
        "single_drive_axle",
    ),
    (
        "single drive axle, truck",
        {"kind": "truck", "axles": 3, "single_drive_axle": True},
        "single_drive_axle",
    ),
    (
        "single drive axle, low speed",
        {"kind": "low_speed", "axles": 6, "single_drive_axle": True},
        "single_drive_axle",
    ),
    (
        "single drive axle, unknown 4 axles",
        {"axles": 4, "single_drive_axle": True},
        "single_drive_axle",
    ),
    ("zero registered", {"kind": "low_speed", "registered_gross_kg": 0}, "registered"),
    ("negative registered", {"registered_gross_kg": -5}, "registered_gross_kg"),
    ("float registered", {"registered_gross_kg": 4.5e3}, "registered_gross_kg"),
    ("unknown kind", {"kind": "bus"}, "kind"),
    ("kind not a string", {"kind": 3}, "kind"),
    ("string bool", {"wide_tyres": "yes"}, "wide_tyres"),
    ("int bool", {"air_suspension": 1}, "air_suspension"),
    ("None bool", {"single_drive_axle": None}, "single_drive_axle"),
]


@pytest.mark.parametrize(
    ("fields", "word"),
    [case[1:] for case in BAD_VEHICLES],
    ids=[case[0] for case in BAD_VEHICLES],
)
def test_impossible_vehicle_is_refused_with_a_message(fields, word):
    with pytest.raises(RulesInputError, match=word):
        check(vehicle(**fields))


def test_a_reduction_that_leaves_no_limit_is_refused():
    with pytest.raises(RulesInputError, match="single_tyre_axles"):
        check(vehicle(kind="combination", axles=20, single_tyre_axles=18))


def test_type_errors_name_the_expected_and_given_types():
    with pytest.raises(RulesInputError) as caught:
        check(vehicle(gross_kg=True))

    assert str(caught.value) == "gross_kg: expected an integer (kg), got boolean"


def test_rules_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        check(vehicle(axles=1))
