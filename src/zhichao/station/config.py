"""Station configuration: one TOML file, validated with a message per bad key.

An example is ``docs/station.example.toml``; every key is documented in
``docs/station.md``.
"""

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

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
    options: dict[str, Any] = {}  # protocol options (docs/devices.md)


class StabilitySettings(_Section):
    division_kg: int = Field(default=20, gt=0)
    window_s: float = Field(default=1.0, gt=0)
    band_divisions: float = Field(default=2, gt=0)
    slope_divisions_per_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=15.0, gt=0)


# Device tables are passed to their factories in zhichao.transports, which
# check every option and name the bad key; ``kind`` picks the device family.
DeviceOptions = dict[str, Any]


class CameraSettings(_Section):
    # A camera id (a Hikvision camera pushing to /cameras/{id}), or a table with
    # ``id``, ``kind`` and the kind's options (docs/devices-cameras.md).
    front: str | DeviceOptions | None = None
    rear: str | DeviceOptions | None = None
    entry: str | DeviceOptions | None = None  # entrance camera (entered_at)
    exit: str | DeviceOptions | None = None  # exit camera: 逃检 checks

    def positions(self) -> list[tuple[str, str, DeviceOptions]]:
        """(position, camera id, options without the id) of each camera."""
        found = []
        for position in ("front", "rear", "entry", "exit"):
            value = getattr(self, position)
            if value is None:
                continue
            if isinstance(value, str):
                found.append((position, value, {"kind": "hikvision"}))
                continue
            options = dict(value)
            camera_id = options.pop("id", None)
            if not isinstance(camera_id, str) or not camera_id:
                raise ValueError(f"{position}.id: required, the camera's id")
            options.setdefault("kind", "hikvision")
            found.append((position, camera_id, options))
        return found


class CheckSettings(_Section):
    """Cheating and fault checks of a lane (docs/lane.md); 0 turns a check off."""

    weight_jump_kg: int = Field(default=500, ge=0)
    quick_reweigh_s: float = Field(default=600.0, ge=0)
    exit_window_s: float = Field(default=1800.0, ge=0)
    zero_check: bool = True
    zero_band_divisions: float = Field(default=1.0, ge=0)
    zero_timeout_s: float = Field(default=15.0, gt=0)
    merge_window_s: float = Field(default=3.0, gt=0)


class LaneSettings(_Section):
    lane_no: str = Field(pattern=r"^\d{2}$")
    tolerance_kg: int = Field(default=0, ge=0)
    occupied_kg: int = Field(default=1000, gt=0)
    empty_kg: int = Field(default=200, ge=0)
    scale: ScaleSettings
    stability: StabilitySettings = StabilitySettings()
    cameras: CameraSettings = CameraSettings()
    axle: DeviceOptions | None = None  # default kind "line-tcp"
    display: DeviceOptions | None = None  # default kind "text-tcp"
    barrier: DeviceOptions | None = None  # default kind "modbus-tcp"
    position: DeviceOptions | None = None  # light curtains / loops; kind required
    camera_skew_s: float = Field(default=10.0, gt=0)
    scale_silence_s: float = Field(default=5.0, gt=0)
    checks: CheckSettings = CheckSettings()

    @field_validator("empty_kg")
    @classmethod
    def _empty_below_occupied(cls, value: int, info: ValidationInfo) -> int:
        occupied = info.data.get("occupied_kg")
        if occupied is not None and value >= occupied:
            raise ValueError(
                f"must be below occupied_kg ({occupied}): below empty_kg the deck "
                "is empty, above occupied_kg a truck is on it"
            )
        return value


class UploadSettings(_Section):
    batch_size: int = Field(default=200, ge=1, le=500)
    timeout_s: float = Field(default=10.0, gt=0)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    refused_retry_s: float = Field(default=60.0, gt=0)
    idle_poll_s: float = Field(default=2.0, gt=0)


class OperatorSettings(_Section):
    """The operator page on the weighbridge office's own screen (docs/station.md)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    password_hash: str  # argon2id, from ``zhichao station operator-password``
    session_s: float = Field(default=12 * 3600, gt=0)
    default_lang: Literal["zh", "en"] = "zh"

    @field_validator("password_hash")
    @classmethod
    def _argon2id(cls, value: str) -> str:
        if not value.startswith("$argon2id$"):
            raise ValueError("must be an argon2id hash ($argon2id$...)")
        return value


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
    # seconds between downloads of the vehicle register (zhichao.station.register)
    register_refresh_s: float = Field(default=600.0, gt=0)
    upload: UploadSettings = UploadSettings()
    operator: OperatorSettings | None = None  # no table: no operator page
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
        cameras = [c for lane in lanes for _, c, _ in lane.cameras.positions()]
        if len(set(cameras)) != len(cameras):
            raise ValueError("a camera id may serve only one lane position")
        return lanes


DEFAULT_KINDS = {"axle": "line-tcp", "display": "text-tcp", "barrier": "modbus-tcp"}


def device_options(lane: LaneSettings, device: str) -> DeviceOptions | None:
    """A lane's options for ``device``, with the default kind filled in."""
    options = getattr(lane, device)
    if options is None:
        return None
    options = dict(options)
    if device in DEFAULT_KINDS:
        options.setdefault("kind", DEFAULT_KINDS[device])
    return options


def parse_settings(data: dict, source: str = "configuration") -> StationSettings:
    """Validate a configuration mapping; ConfigError names every bad key.

    Device tables are checked by their factories here too, without opening
    any port, so a bad option is reported before anything starts.
    """
    try:
        settings = StationSettings.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            key = _key_path(item["loc"])
            problems.append(f"{key}: {item['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from err
    for index, lane in enumerate(settings.lanes):
        try:
            check_lane_devices(lane)
        except ConfigError as err:
            raise ConfigError(f"{source}: lanes[{index}].{err}") from err
    return settings


def check_lane_devices(lane: LaneSettings) -> None:
    """Build (but do not start) each device once, so its factory checks it."""
    # Imported here: the transports pull in serial, HTTP and Modbus libraries,
    # which the configuration model itself does not need.
    from zhichao.protocols.registry import build_scale_protocol
    from zhichao.transports.axle_pulses import open_axle_counter
    from zhichao.transports.barriers import open_barrier
    from zhichao.transports.cameras import check_camera_options
    from zhichao.transports.displays import open_display
    from zhichao.transports.position import open_position_sensor

    try:
        build_scale_protocol(lane.scale.protocol, lane.scale.options)
    except ConfigError as err:
        raise ConfigError(f"scale: {err}") from err
    for _, camera_id, options in lane.cameras.positions():
        check_camera_options(camera_id, options)
    checks = {
        "axle": lambda o: open_axle_counter(o, _ignore),
        "display": open_display,
        "barrier": open_barrier,
        "position": lambda o: open_position_sensor(o, _ignore),
    }
    for device, check in checks.items():
        options = device_options(lane, device)
        if options is not None:
            check(options)


def _ignore(*_args) -> None:
    return None


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
