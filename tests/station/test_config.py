import pytest

from zhichao.errors import ConfigError
from zhichao.station.config import load_settings, parse_settings

GOOD = {
    "station_code": "1405250001",
    "platform_url": "http://127.0.0.1:8000",
    "lanes": [{"lane_no": "01", "scale": {"port": "/dev/pts/9"}}],
}


def test_minimal_configuration_gets_the_design_defaults():
    settings = parse_settings(GOOD)
    lane = settings.lanes[0]
    assert lane.scale.protocol == "xk3190-tf0"
    assert lane.stability.division_kg == 20
    assert lane.stability.timeout_s == 15.0
    assert lane.tolerance_kg == 0


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"station_code": "14052"}, "station_code"),
        ({"platform_url": "ftp://x"}, "platform_url"),
        ({"lanes": []}, "lanes"),
        ({"lanes": [{"lane_no": "1", "scale": {"port": "x"}}]}, "lanes[0].lane_no"),
        ({"lanes": [{"lane_no": "01"}]}, "lanes[0].scale"),
        (
            {"lanes": [{"lane_no": "01", "scale": {"port": "x", "unit": "lb"}}]},
            "lanes[0].scale.unit",
        ),
        ({"colour": "red"}, "colour"),
        (
            {"lanes": [{"lane_no": "01", "scale": {"port": "x"}, "tolerance_kg": -5}]},
            "lanes[0].tolerance_kg",
        ),
    ],
)
def test_bad_values_name_their_key(change, key):
    with pytest.raises(ConfigError) as err:
        parse_settings(GOOD | change)
    assert key in str(err.value)


def test_bad_toml_says_where(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('station_code = "1405250001"\nlanes = [\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "absent.toml")


@pytest.mark.parametrize("empty_kg", [5000, 1000])
def test_empty_threshold_must_be_below_the_occupied_one(empty_kg):
    lane = {"lane_no": "01", "scale": {"port": "x"}, "occupied_kg": 1000}

    with pytest.raises(ConfigError) as err:
        parse_settings(GOOD | {"lanes": [lane | {"empty_kg": empty_kg}]})

    assert "lanes[0].empty_kg" in str(err.value)
    assert "below occupied_kg (1000)" in str(err.value)
    assert parse_settings(GOOD | {"lanes": [lane | {"empty_kg": 999}]})
