"""`zhichao station init`: one key per lane, never overwritten; `run` needs them."""

import stat
import subprocess
import sys

import pytest

from zhichao.chain import Enrolment, StationKey
from zhichao.errors import ConfigError
from zhichao.station.config import parse_settings
from zhichao.station.keys import init_keys, key_path, load_lane_keys

CONFIG = """
station_code = "1405250001"
platform_url = "http://127.0.0.1:9"
data_dir = "{data}"

[[lanes]]
lane_no = "01"
[lanes.scale]
port = "socket://127.0.0.1:9"

[[lanes]]
lane_no = "02"
[lanes.scale]
port = "socket://127.0.0.1:9"
"""


def _settings(tmp_path):
    return parse_settings(
        {
            "station_code": "1405250001",
            "platform_url": "http://127.0.0.1:9",
            "data_dir": str(tmp_path / "data"),
            "lanes": [
                {"lane_no": "01", "scale": {"port": "x"}},
                {"lane_no": "02", "scale": {"port": "y"}},
            ],
        }
    )


def test_init_creates_one_private_key_per_lane(tmp_path):
    settings = _settings(tmp_path)
    keys = init_keys(settings)

    assert [k.lane_no for k in keys] == ["01", "02"]
    for lane in keys:
        assert lane.created
        assert lane.path == key_path(settings.data_dir, lane.lane_no)
        assert lane.path.name == f"lane{lane.lane_no}.key"
        assert stat.S_IMODE(lane.path.stat().st_mode) == 0o600
        parsed = Enrolment.parse(lane.enrolment.code)
        assert (parsed.station_code, parsed.lane_no) == ("1405250001", lane.lane_no)
        assert parsed.public_key == StationKey.load(lane.path).public_key
    assert keys[0].key.public_key != keys[1].key.public_key


def test_init_never_replaces_a_key(tmp_path):
    settings = _settings(tmp_path)
    first = init_keys(settings)
    second = init_keys(settings)

    assert not any(k.created for k in second)
    assert [k.enrolment.code for k in first] == [k.enrolment.code for k in second]


def test_a_lane_without_a_key_is_refused(tmp_path):
    settings = _settings(tmp_path)
    with pytest.raises(ConfigError, match="station init"):
        load_lane_keys(settings)
    init_keys(settings)
    key_path(settings.data_dir, "02").unlink()
    with pytest.raises(ConfigError, match="lane 02"):
        load_lane_keys(settings)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "zhichao", "station", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_init_prints_codes_and_run_refuses_without_keys(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data"), encoding="utf-8")

    refused = _cli("run", "--config", str(config))
    assert refused.returncode != 0
    assert "station init" in refused.stderr

    done = _cli("init", "--config", str(config))
    assert done.returncode == 0, done.stderr
    codes = [w for w in done.stdout.split() if w.startswith("ZC1.")]
    assert [Enrolment.parse(c).lane_no for c in codes] == ["01", "02"]
    assert "enroll-station" in done.stdout
    assert "fingerprint" in done.stdout

    again = _cli("init", "--config", str(config))
    assert [w for w in again.stdout.split() if w.startswith("ZC1.")] == codes
    assert "existing key kept" in again.stdout
