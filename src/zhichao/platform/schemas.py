"""The record as uploaded (docs/protocol.md), validated field by field.

``validate_record`` turns one uploaded JSON object into a ``RecordIn`` or into
the reason it is rejected, written ``"field: reason"`` so the station's operator
can act on it.
"""

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from zhichao.platform.plates import plate_problem
from zhichao.protocols.readings import PlateColor

SCHEMA_VERSION = 1
MAX_MASS_KG = 2_000_000  # far above any road vehicle; keeps values in an INTEGER
MAX_SEQ = 2**63 - 1
RECORD_ID_PATTERN = r"^\d{10}-\d{2}-\d{8}T\d{6}Z-\d{6,}$"
INSTANT_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$"
)
RATE_STEP = Decimal("0.01")
HEX_DIGITS = "0123456789abcdef"
NUL = "\x00"
NUL_REASON = "must not contain the NUL character (\\u0000)"
TEXT_FIELDS = ("prev_hash", "signature", "basis", "rules_version")
AXLE_TYRES_PATTERN = re.compile(r"[SDW]{1,30}")
# rates in hundredths of a percent up to this many have at most 15 significant
# digits: the float nearest to such a decimal is the only float whose shortest
# repr is that decimal (see _rate_matches)
_EXACT_HUNDREDTHS = 10**15


def _parse_instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string")
    if not INSTANT_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not an ISO 8601 time with an offset "
            "(e.g. 2026-06-18T06:06:30.499+08:00)"
        )
    try:
        # fromisoformat reads a final Z as UTC; the pattern allows it nowhere else
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a valid time") from err
    except OverflowError as err:  # 0001-01-01T00:00:00+08:00 is before year 1
        raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from err


def _check_plate(value: str) -> str:
    problem = plate_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def _check_sha256(value: str) -> str:
    if len(value) != 64 or value.strip(HEX_DIGITS):
        raise ValueError("must be 64 lowercase hex digits (SHA-256)")
    return value


Instant = Annotated[datetime, BeforeValidator(_parse_instant)]
Plate = Annotated[StrictStr, AfterValidator(_check_plate)]
Mass = Annotated[StrictInt, Field(ge=0, le=MAX_MASS_KG)]
RecordId = Annotated[StrictStr, Field(pattern=RECORD_ID_PATTERN, max_length=64)]
Sha256 = Annotated[StrictStr, AfterValidator(_check_sha256)]
Label = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class PhotoRef(BaseModel):
    """A photo a record references; its bytes travel separately."""

    model_config = ConfigDict(extra="ignore")

    sha256: Sha256
    role: Literal["plate", "scene"]
    camera: Annotated[StrictStr, Field(max_length=200)]
    captured_at: Instant
    size: Annotated[StrictInt, Field(ge=0)] | None = None


class RecordIn(BaseModel):
    """One weighing pass (称重记录), ``kind`` = ``pass``."""

    model_config = ConfigDict(extra="ignore")

    schema_version: Literal[1]
    record_id: RecordId
    kind: Literal["pass"]
    station_code: Annotated[StrictStr, Field(pattern=r"^\d{10}$")]
    lane_no: Annotated[StrictStr, Field(pattern=r"^\d{2}$")]
    seq: Annotated[StrictInt, Field(ge=1, le=MAX_SEQ)]
    prev_hash: Annotated[StrictStr, Field(max_length=128)] | None = None
    signature: StrictStr | None = None
    detected_at: Instant
    entered_at: Instant | None = None
    front_plate: Plate | None = None
    front_plate_color: PlateColor
    rear_plate: Plate | None = None
    rear_plate_color: PlateColor
    vehicle_kind: Literal["truck", "combination", "low_speed"] | None = None
    axles: Annotated[StrictInt, Field(ge=1, le=30)] | None = None
    axle_weights_kg: list[Mass] | None = None
    gross_kg: Mass
    limit_kg: Annotated[StrictInt, Field(gt=0, le=MAX_MASS_KG)]
    tolerance_kg: Mass
    over_kg: Mass
    over_rate_pct: Annotated[StrictFloat, Field(ge=0)]
    overloaded: StrictBool
    verdict: Literal["released", "held"]
    basis: Annotated[StrictStr, Field(min_length=1)]
    rules_version: Annotated[StrictStr, Field(min_length=1)]
    flags: list[Label]
    reweigh_of: RecordId | None = None
    photos: list[PhotoRef]
    left_without_weighing: StrictBool
    video: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _axle_config(cls, data: Any) -> Any:
        # kept in the raw record only: the stored row has no columns for them
        problem = axle_config_problem(data) if isinstance(data, dict) else None
        if problem:
            raise PydanticCustomError("inconsistent", problem)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "RecordIn":
        problem = consistency_problem(self)
        if problem:
            raise PydanticCustomError("inconsistent", problem)
        return self


class EventIn(BaseModel):
    """One event record (事件记录), ``kind`` = ``event``, in the lane's chain."""

    model_config = ConfigDict(extra="ignore")

    schema_version: Literal[1]
    record_id: RecordId
    kind: Literal["event"]
    station_code: Annotated[StrictStr, Field(pattern=r"^\d{10}$")]
    lane_no: Annotated[StrictStr, Field(pattern=r"^\d{2}$")]
    seq: Annotated[StrictInt, Field(ge=1, le=MAX_SEQ)]
    prev_hash: Annotated[StrictStr, Field(max_length=128)] | None = None
    signature: StrictStr | None = None
    event_type: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    detected_at: Instant
    detail: dict[str, Any]
    flags: list[Label] = []

    @model_validator(mode="after")
    def _consistent(self) -> "EventIn":
        problem = text_problem(self)
        if problem:
            raise PydanticCustomError("unstorable", problem)
        expected_id = expected_record_id(self)
        if self.record_id != expected_id:
            raise PydanticCustomError(
                "inconsistent",
                "record_id: does not match station_code, lane_no, detected_at "
                f"and seq (expected {expected_id})",
            )
        return self


def expected_rate_pct(over_kg: int, limit_kg: int) -> Decimal:
    """超限率 in percent, rounded half up to two decimals."""
    return (Decimal(over_kg) * 100 / Decimal(limit_kg)).quantize(
        RATE_STEP, rounding=ROUND_HALF_UP
    )


def expected_record_id(record: "RecordIn | EventIn") -> str:
    stamp = _stamp(record.detected_at)
    return f"{record.station_code}-{record.lane_no}-{stamp}-{record.seq:06d}"


def _stamp(at: datetime) -> str:
    """``at.strftime("%Y%m%dT%H%M%SZ")``, without strftime's cost.

    strftime writes years below 1000 without leading zeros; it is kept for them.
    """
    if at.year < 1000:
        return at.strftime("%Y%m%dT%H%M%SZ")
    fields = (at.year, at.month, at.day, at.hour, at.minute, at.second)
    return "%d%02d%02dT%02d%02d%02dZ" % fields  # noqa: UP031 (the quickest form)


def _rate_matches(sent: float, over_kg: int, limit_kg: int) -> bool:
    """``Decimal(repr(sent)) == expected_rate_pct(over_kg, limit_kg)``, cheaper.

    The expected rate in hundredths of a percent, rounded half up, is
    ``(2 * over_kg * 10000 + limit_kg) // (2 * limit_kg)`` (both non-negative).
    When it has at most 15 digits, a float's shortest repr is exactly that
    decimal only for the float nearest to it, which ``hundredths / 100`` is
    (int division is correctly rounded). tests/platform/test_schema_fast.py
    holds the two together.
    """
    hundredths = (2 * over_kg * 10000 + limit_kg) // (2 * limit_kg)
    if hundredths >= _EXACT_HUNDREDTHS or type(sent) is not float:
        return Decimal(repr(float(sent))) == expected_rate_pct(over_kg, limit_kg)
    return sent == hundredths / 100


def text_problem(record: "RecordIn | EventIn") -> str | None:
    """A free-text field holding NUL, which a PostgreSQL text column cannot store.

    The other strings are held to patterns or lists of words; JSON columns
    (``video``, ``detail``, ``flags``, ``raw``) store NUL as ``\\u0000``.
    """
    for name in TEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None and NUL in value:
            return f"{name}: {NUL_REASON}"
    for index, photo in enumerate(getattr(record, "photos", ())):
        if NUL in photo.camera:
            return f"photos[{index}].camera: {NUL_REASON}"
    return None


def consistency_problem(record: RecordIn) -> str | None:
    """The first disagreement between fields, as ``"field: reason"``."""
    problem = text_problem(record)
    if problem:
        return problem
    over = max(0, record.gross_kg - record.limit_kg)
    if record.over_kg != over:
        return f"over_kg: is {record.over_kg}, but gross_kg - limit_kg gives {over}"
    if not _rate_matches(record.over_rate_pct, over, record.limit_kg):
        rate = expected_rate_pct(over, record.limit_kg)
        return (
            f"over_rate_pct: is {record.over_rate_pct}, "
            f"but over_kg / limit_kg gives {rate}"
        )
    overloaded = record.gross_kg > record.limit_kg + record.tolerance_kg
    if record.overloaded != overloaded:
        return (
            f"overloaded: is {str(record.overloaded).lower()}, but gross_kg > "
            f"limit_kg + tolerance_kg is {str(overloaded).lower()}"
        )
    expected_id = expected_record_id(record)
    if record.record_id != expected_id:
        return (
            "record_id: does not match station_code, lane_no, detected_at "
            f"and seq (expected {expected_id})"
        )
    if record.reweigh_of == record.record_id:
        return "reweigh_of: a record cannot re-weigh itself"
    return None


def axle_config_problem(data: dict[str, Any]) -> str | None:
    """Optional ``axle_groups`` and ``axle_tyres`` that do not fit ``axles``."""
    groups, tyres = data.get("axle_groups"), data.get("axle_tyres")
    axles = data.get("axles")
    if groups is not None and not (
        isinstance(groups, list)
        and groups
        and all(type(g) is int and 1 <= g <= 30 for g in groups)
    ):
        return "axle_groups: expected a list of axle counts (1 to 30) or null"
    if tyres is not None and not (
        isinstance(tyres, str) and AXLE_TYRES_PATTERN.fullmatch(tyres)
    ):
        return "axle_tyres: expected one letter per axle, S, D or W, or null"
    if tyres is not None and groups is None:
        return "axle_tyres: given without axle_groups"
    if groups is not None and sum(groups) != axles:
        return f"axle_groups: add up to {sum(groups)}, but axles is {axles}"
    if tyres is not None and len(tyres) != axles:
        return f"axle_tyres: {len(tyres)} letters, but axles is {axles}"
    return None


class UnencodableRecord(dict):
    """An uploaded record that UTF-8 cannot carry, with where and why.

    It cannot have been signed, and its canonical encoding cannot be made;
    ``validate_record`` rejects it with ``problem``.
    """

    def __init__(self, data: dict, where: str) -> None:
        super().__init__(data)
        self.problem = (
            f"{where}: holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape "
            "without its pair), which UTF-8 cannot carry"
        )


def validate_record(
    data: Any,
) -> tuple[RecordIn | EventIn | None, str | None]:
    """Validate one uploaded record: ``(record, None)`` or ``(None, reason)``.

    A ``kind`` of ``event`` is validated as an event, anything else as a pass.
    """
    if type(data) is UnencodableRecord:
        return None, data.problem
    if not isinstance(data, dict):
        return None, "record: must be a JSON object"
    model = EventIn if data.get("kind") == "event" else RecordIn
    try:
        return model.model_validate(data), None
    except ValidationError as err:
        return None, describe_errors(err)


def describe_errors(err: ValidationError) -> str:
    return "; ".join(_describe(item) for item in err.errors(include_url=False))


def _describe(item: dict[str, Any]) -> str:
    field = _field_path(item["loc"])
    reason = _reason(item, field)
    return f"{field}: {reason}" if field else reason


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(("function-", "constrained-", "lax-", "strict-")):
            path += f".{part}" if path else part
    return path


def _reason(item: dict[str, Any], field: str) -> str:
    kind = item["type"]
    if kind == "missing":
        return "is required"
    if kind.startswith("int_") and field.split(".")[-1].split("[")[0].endswith("_kg"):
        return "must be an integer number of kilograms"
    if kind == "greater_than_equal" and item["ctx"].get("ge") == 0:
        return "must not be negative"
    message = item["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


# -- heartbeats (docs/protocol.md "Heartbeats") ----------------------------


class DeviceState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    kind: Annotated[StrictStr, Field(max_length=50)]
    state: Literal["ok", "fault", "unknown"]
    since: Instant | None = None
    detail: Annotated[StrictStr, Field(max_length=500)] | None = None


class LaneHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lane_no: Annotated[StrictStr, Field(pattern=r"^\d{2}$")]
    devices: list[DeviceState]


class QueueDepth(BaseModel):
    model_config = ConfigDict(extra="ignore")

    records: Annotated[StrictInt, Field(ge=0)]
    photos: Annotated[StrictInt, Field(ge=0)]


class HeartbeatIn(BaseModel):
    """A station's heartbeat (心跳): telemetry, neither signed nor chained."""

    model_config = ConfigDict(extra="ignore")

    station_code: Annotated[StrictStr, Field(pattern=r"^\d{10}$")]
    sent_at: Instant
    software_version: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    clock: Instant
    queue: QueueDepth
    disk_free_bytes: Annotated[StrictInt, Field(ge=0)]
    lanes: list[LaneHealth]


def validate_heartbeat(data: Any) -> tuple[HeartbeatIn | None, str | None]:
    if not isinstance(data, dict):
        return None, "heartbeat: must be a JSON object"
    try:
        return HeartbeatIn.model_validate(data), None
    except ValidationError as err:
        return None, describe_errors(err)
