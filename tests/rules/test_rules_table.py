"""The limits table: the shipped data, and refusal of a malformed table."""

from importlib import resources

import pytest
import yaml

from zhichao.errors import ConfigError
from zhichao.rules import VehicleInput, check
from zhichao.rules.table import default_table, load_table

SHIPPED = (
    resources.files("zhichao.rules").joinpath("limits_2016.yaml").read_text("utf-8")
)


def test_shipped_table_holds_exactly_the_art3_rows():
    rows = {
        (row.kind, row.axles, row.and_more, row.single_drive_axle): row.limit_kg
        for row in default_table().rows
    }

    assert rows == {
        ("truck", 2, False, False): 18000,
        ("truck", 3, False, False): 25000,
        ("combination", 3, False, False): 27000,
        ("truck", 4, False, False): 31000,
        ("combination", 4, False, False): 36000,
        ("combination", 5, False, False): 43000,
        ("combination", 6, True, False): 49000,
        ("combination", 6, True, True): 46000,
    }


def test_every_row_carries_a_citation():
    table = default_table()

    for row in table.rows:
        assert row.basis.startswith("《超限运输车辆行驶公路管理规定》第三条第一款")
    for row in table.gb1589_rows:
        assert row.basis.startswith("GB 1589—2016")
    assert "第二款第（二）项" in table.single_tyre_basis
    assert "第二款第（四）项" in table.low_speed_basis
    assert "第二款第（五）项" in table.gb1589_basis
    assert table.single_tyre_reduction_kg == 3000


def test_gb1589_rows_only_ever_raise_the_art3_figure():
    table = default_table()

    for raised in table.gb1589_rows:
        row = table.row(raised.kind, raised.axles, single_drive_axle=False)
        assert row is not None and raised.limit_kg > row.limit_kg


def test_default_table_is_loaded_once():
    assert default_table() is default_table()


def _edited(edit) -> str:
    data = yaml.safe_load(SHIPPED)
    edit(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _set(path, value):
    def edit(data):
        *parents, last = path
        for key in parents:
            data = data[key]
        data[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (_set(["version"], ""), "version"),
        (_set(["art3", 0, "limit_kg"], -18000), r"art3\[0\].limit_kg"),
        (_set(["art3", 1, "limit_kg"], "25000"), r"art3\[1\].limit_kg"),
        (_set(["art3", 2, "kind"], "bus"), r"art3\[2\].kind"),
        (_set(["art3", 3, "axles"], 1), r"art3\[3\].axles"),
        (_set(["art3", 4, "basis"], ""), r"art3\[4\].basis"),
        (_set(["art3", 6, "and_more"], "yes"), r"art3\[6\].and_more"),
        (_set(["art3", 1, "axles"], 2), "same configuration"),
        (_set(["art3"], []), "no rows"),
        (_set(["single_tyre", "reduction_kg"], 0), "single_tyre.reduction_kg"),
        (_set(["low_speed"], None), "low_speed"),
        (
            _set(["gb1589", "rows", 0, "air_suspension"], False),
            "air_suspension",
        ),
        (_set(["gb1589", "rows", 1, "flags"], "x"), "flags"),
        (_set(["gb1589", "rows", 1, "axles"], 3), "same configuration"),
    ],
)
def test_malformed_table_is_refused_naming_the_key(edit, named):
    with pytest.raises(ConfigError, match=named):
        load_table(_edited(edit))


@pytest.mark.parametrize("text", ["", "- a list", "version: [unclosed"])
def test_table_that_is_not_a_mapping_is_refused(text):
    with pytest.raises(ConfigError):
        load_table(text)


def test_check_applies_another_table_version():
    def regional(data):
        data["version"] = "regional-test.1"
        data["art3"][0]["limit_kg"] = 17000

    table = load_table(_edited(regional))
    verdict = check(VehicleInput(axles=2, gross_kg=17500, kind="truck"), table)

    assert verdict.limit_kg == 17000
    assert verdict.overloaded is True
    assert verdict.rules_version == "regional-test.1"
