"""Vzenith (臻识) and similar JSON-pushing ANPR cameras: the plate result POST.

Follows the JSON push of Vzenith's parking cameras as their HTTP push setting
sends it: one POST per recognition with a JSON body
``{"AlarmInfoPlate": {"result": {"PlateResult": {...}}}}``. Fields read from
``PlateResult``:

- ``license``: the plate text (``无车牌`` or ``_无_`` when none was read);
- ``colorType``: 1 blue, 2 yellow, 5 green; other codes are unknown, and a
  new-energy plate then takes the colour its form fixes;
- ``confidence``, ``direction`` (kept as text), ``type`` (vehicle type code);
- ``timeStamp.Timeval``: ``decyear decmon decday dechour decmin decsec``
  (the camera's local time, read in the camera's zone, an option that
  defaults to Asia/Shanghai), else ``sec`` and ``usec`` (seconds since 1970);
- pictures as base64: ``imageFile`` (the scene) and ``imageFragmentFile``
  (the plate close-up), each with an optional byte count
  (``imageFileLen``, ``imageFragmentFileLen``).

The body is UTF-8 unless the Content-Type names another charset (GBK,
GB2312, GB18030); a body that is not UTF-8 is tried as GB18030. A picture that
is not valid base64, does not match its byte count or is not a JPEG is left
out and logged; the plate event itself still counts.
"""

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo

from zhichao.errors import ProtocolError
from zhichao.protocols.plates import color_from_form, parse_plate_color, read_plate_text
from zhichao.protocols.readings import Picture, PlateColor, PlateRead
from zhichao.timeutil import SHANGHAI

logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8"
SCENE_FIELD = "imageFile"
PLATE_FIELD = "imageFragmentFile"
NO_PLATE_TEXT = "_无_"
LOCAL_FIELDS = ("decyear", "decmon", "decday", "dechour", "decmin", "decsec")
_GB_CHARSETS = ("gbk", "gb2312", "gb18030", "cp936")
_COLOR_CODES = {PlateColor.BLUE: 1, PlateColor.YELLOW: 2, PlateColor.GREEN: 5}


def parse_vzenith_post(
    body: bytes,
    content_type: str = "application/json",
    *,
    camera: str = "",
    zone: tzinfo = SHANGHAI,
    max_bytes: int = MAX_BODY,
) -> PlateRead:
    """Turn the body of a camera's plate POST into a PlateRead.

    Raises ProtocolError for anything that is not a plate result and
    PlateError when the plate text is not a valid plate.
    """
    if len(body) > max_bytes:
        raise ProtocolError(f"body is {len(body)} bytes; the limit is {max_bytes}")
    result = _plate_result(_load(body, content_type))
    if "license" not in result:
        raise ProtocolError("PlateResult without a license field")

    plate, prefix_color = read_plate_text(_text(result, "license"))
    color = parse_plate_color(_scalar(result, "colorType"), vendor="vzenith")
    if color is PlateColor.UNKNOWN:
        color = prefix_color
    if color is PlateColor.UNKNOWN:
        color = color_from_form(plate)
    return PlateRead(
        plate=plate,
        color=color,
        camera_time=_camera_time(result.get("timeStamp"), zone),
        confidence=_int(result, "confidence"),
        direction=_text(result, "direction"),
        vehicle_type=_text(result, "type"),
        pictures=_pictures(result, camera),
        camera=camera,
    )


def _load(body: bytes, content_type: str) -> object:
    charset = _charset(content_type)
    try:
        gb = charset in _GB_CHARSETS
        return json.loads(body.decode("gb18030") if gb else _utf8_or_gb(body))
    except (UnicodeError, ValueError, RecursionError) as err:
        raise ProtocolError(f"broken JSON: {err}") from err


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return "utf-8"


def _utf8_or_gb(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030")


def _plate_result(data: object) -> dict:
    path = ("AlarmInfoPlate", "result", "PlateResult")
    for name in path:
        if not isinstance(data, dict) or not isinstance(data.get(name), dict):
            raise ProtocolError(f"JSON without {'.'.join(path)}")
        data = data[name]
    return data


def _scalar(fields: dict, name: str) -> str | int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ProtocolError(f"{name} is a {type(value).__name__}, not text")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _text(fields: dict, name: str) -> str | None:
    value = _scalar(fields, name)
    return None if value is None else (str(value).strip() or None)


def _int(fields: dict, name: str) -> int | None:
    value = _scalar(fields, name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 10:
        return int(value)
    return None


def _camera_time(stamp: object, zone: tzinfo) -> datetime:
    timeval = stamp.get("Timeval") if isinstance(stamp, dict) else None
    if not isinstance(timeval, dict):
        raise ProtocolError("PlateResult without timeStamp.Timeval")
    try:
        if all(isinstance(timeval.get(f), int) for f in LOCAL_FIELDS):
            parts = [timeval[f] for f in LOCAL_FIELDS]
            micros = _micros(timeval)
            return datetime(*parts, micros, tzinfo=zone)  # type: ignore[misc]
        seconds = timeval.get("sec")
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            return datetime.fromtimestamp(seconds + _micros(timeval) / 1e6, zone)
    except (ValueError, OverflowError, OSError) as err:
        raise ProtocolError(f"timeStamp {timeval!r:.120} is not a time") from err
    raise ProtocolError("timeStamp.Timeval has neither local fields nor sec")


def _micros(timeval: dict) -> int:
    usec = timeval.get("usec")
    if isinstance(usec, int) and not isinstance(usec, bool) and 0 <= usec < 10**6:
        return usec
    return 0


def _pictures(result: dict, camera: str) -> tuple[Picture, ...]:
    pictures = []
    for field_name, role in ((PLATE_FIELD, "plate"), (SCENE_FIELD, "scene")):
        data = _picture_bytes(result, field_name, camera)
        if data is not None:
            name = f"{field_name}.jpg"
            pictures.append(Picture(name=name, data=data, role=role))
    return tuple(pictures)


def _picture_bytes(result: dict, field_name: str, camera: str) -> bytes | None:
    encoded = result.get(field_name)
    if not encoded:
        return None
    problem = ""
    data = b""
    if not isinstance(encoded, str):
        problem = "is not a base64 text"
    else:
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            problem = "is not valid base64"
    declared = result.get(field_name + "Len")
    if not problem and isinstance(declared, int) and declared != len(data):
        problem = f"has {len(data)} bytes, not the {declared} declared"
    if not problem and not data.startswith(JPEG_MAGIC):
        problem = "is not a JPEG"
    if problem:
        logger.warning("camera %s picture %s %s; left out", camera, field_name, problem)
        return None
    return data


def build_vzenith_post(
    plate: str | None,
    color: PlateColor,
    when: datetime,
    pictures: Sequence[Picture] = (),
    *,
    confidence: int | None = None,
    local_time: bool = True,
) -> tuple[bytes, str]:
    """Build the (body, content type) a camera would POST, for simulators.

    ``local_time`` writes the broken-down local time (``decyear`` …), else
    ``sec``/``usec``. Pictures go in by role: plate -> imageFragmentFile.
    """
    if when.tzinfo is None:
        raise ValueError("camera time must carry its zone")
    result: dict[str, object] = {
        "license": plate or NO_PLATE_TEXT,
        "colorType": _COLOR_CODES.get(color, 0),
        "timeStamp": {"Timeval": _timeval(when, local_time)},
        "triggerType": 8,
    }
    if confidence is not None:
        result["confidence"] = confidence
    for picture in pictures:
        field_name = PLATE_FIELD if picture.role == "plate" else SCENE_FIELD
        result[field_name] = base64.b64encode(picture.data).decode("ascii")
        result[field_name + "Len"] = len(picture.data)
    body = {"AlarmInfoPlate": {"channel": 0, "result": {"PlateResult": result}}}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return data, "application/json; charset=utf-8"


def _timeval(when: datetime, local_time: bool) -> dict[str, int]:
    if local_time:
        values = (when.year, when.month, when.day, when.hour, when.minute)
        timeval = dict(zip(LOCAL_FIELDS, (*values, when.second), strict=True))
    else:
        timeval = {"sec": int(when.timestamp())}
    timeval["usec"] = when.microsecond
    return timeval
