"""Station configuration: one TOML file, validated with a message per bad key.

An example is ``docs/station.example.toml``; every key is documented in
``docs/station.md``.
"""

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zhichao.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class ScaleSettings(_Section):
    port: str  # a serial device path or a pyserial URL such as socket://host:port
    protocol: str = "xk3190-tf0"
    unit: Literal["kg", "t"] = "kg"
    baudrate: int = Field(default=9600, ge=300, le=115200)


class StabilitySettings(_Section):
    division_kg: int = Field(default=20, gt=0)
    window_s: float = Field(default=1.0, gt=0)
    band_divisions: float = Field(default=2, gt=0)
    slope_divisions_per_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=15.0, gt=0)


class CameraSettings(_Section):
    front: str | None = None  # the camera id in its push URL /cameras/{id}
    rear: str | None = None


class BarrierSettings(Endpoint):
    unit_id: int = Field(default=1, ge=0, le=247)
    coil: int = Field(default=0, ge=0, le=65535)
    pulse_s: float = Field(default=1.0, gt=0, le=30)


class LaneSettings(_Section):
    lane_no: str = Field(pattern=r"^\d{2}$")
    tolerance_kg: int = Field(default=0, ge=0)
    occupied_kg: int = Field(default=1000, gt=0)
    empty_kg: int = Field(default=200, ge=0)
    scale: ScaleSettings
    stability: StabilitySettings = StabilitySettings()
    cameras: CameraSettings = CameraSettings()
    axle: Endpoint | None = None
    display: Endpoint | None = None
    barrier: BarrierSettings | None = None
    camera_skew_s: float = Field(default=10.0, gt=0)
    scale_silence_s: float = Field(default=5.0, gt=0)


class UploadSettings(_Section):
    batch_size: int = Field(default=200, ge=1, le=500)
    timeout_s: float = Field(default=10.0, gt=0)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    refused_retry_s: float = Field(default=60.0, gt=0)
    idle_poll_s: float = Field(default=2.0, gt=0)


class StationSettings(_Section):
    station_code: str = Field(pattern=r"^\d{10}$")
    name: str = ""
    platform_url: str
    data_dir: Path = Path("var/station")
    camera_listen: Endpoint = Endpoint(port=8081)
    min_free_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    photo_quota_bytes: int = Field(default=20 * 1024**3, ge=0)
    heartbeat_s: float = Field(default=30.0, gt=0)
    clock_skew_limit_s: float = Field(default=60.0, gt=0)
    upload: UploadSettings = UploadSettings()
    lanes: list[LaneSettings] = Field(min_length=1)

    @field_validator("platform_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("lanes")
    @classmethod
    def _unique_lanes(cls, lanes: list[LaneSettings]) -> list[LaneSettings]:
        numbers = [lane.lane_no for lane in lanes]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"lane_no values must be unique, got {numbers}")
        cameras = [c for lane in lanes for c in (lane.cameras.front, lane.cameras.rear)]
        cameras = [c for c in cameras if c]
        if len(set(cameras)) != len(cameras):
            raise ValueError("a camera id may serve only one lane position")
        return lanes


def parse_settings(data: dict, source: str = "configuration") -> StationSettings:
    """Validate a configuration mapping; ConfigError names every bad key."""
    try:
        return StationSettings.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            key = _key_path(item["loc"])
            problems.append(f"{key}: {item['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from err


def _key_path(loc: tuple) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key.lstrip(".") or "(top level)"


def load_settings(path: Path | str) -> StationSettings:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such configuration file") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    return parse_settings(data, str(path))
