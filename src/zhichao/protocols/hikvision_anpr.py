"""Hikvision ANPR cameras (海康威视车牌识别): the event a camera pushes by HTTP.

Follows Hikvision's ISAPI event notification as cameras send it when set to
"listen" (HTTP host) mode: a ``multipart/form-data`` POST whose parts are one
XML document, ``EventNotificationAlert`` with ``eventType`` ANPR, and the JPEG
pictures (``licensePlatePicture.jpg`` for the plate close-up,
``detectionPicture.jpg`` for the scene) in no fixed order. Some firmwares post
the bare XML instead, and some post the same event as JSON (a bare
``application/json`` body, or a JSON part in place of the XML part) with the
same names: ``{"dateTime": …, "eventType": "ANPR", "ANPR": {"licensePlate": …,
"plateColor": …, "confidenceLevel": …, "direction": …, "vehicleType": …}}``.
Cameras usually post without authentication, so the XML is read with a parser
that refuses entity declarations and external references.

A part that claims to be a picture but does not start like a JPEG (FF D8) is
left out of the read and logged; the plate event itself still counts.
"""

import hashlib
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import defusedxml
import defusedxml.ElementTree as SafeET
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from zhichao.errors import ProtocolError
from zhichao.protocols.plates import parse_plate_color, read_plate_text
from zhichao.protocols.readings import Picture, PlateColor, PlateRead

logger = logging.getLogger(__name__)

ISAPI_NS = "http://www.isapi.org/ver20/XMLSchema"
HIKVISION_NS = "http://www.hikvision.com/ver20/XMLSchema"
MAX_BODY = 16 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8"
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json", "text/json")
ANPR_FIELDS = ("licensePlate", "plateColor", "confidenceLevel", "direction")
ANPR_FIELDS += ("vehicleType",)
XML_PART_NAME = "anpr.xml"
PLATE_PICTURE = "licensePlatePicture.jpg"
SCENE_PICTURE = "detectionPicture.jpg"
NO_PLATE_TEXT = "无车牌"

# PlateColor -> the word ISAPI uses
_ISAPI_COLORS = {
    PlateColor.BLUE: "blue",
    PlateColor.YELLOW: "yellow",
    PlateColor.WHITE: "white",
    PlateColor.BLACK: "black",
    PlateColor.GREEN: "green",
    PlateColor.YELLOW_GREEN: "yellowGreen",
    PlateColor.UNKNOWN: "unknown",
}


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)

    @property
    def content_type(self) -> str:
        header = self.headers.get("content-type")
        return _parse_header(header, "part content type")[0].decode("latin-1")

    @property
    def filename(self) -> str:
        header = self.headers.get("content-disposition")
        _, options = _parse_header(header, "content disposition")
        raw = options.get(b"filename") or options.get(b"name") or b""
        return raw.decode("utf-8", "replace")


def _parse_header(value: str | None, what: str) -> tuple[bytes, dict[bytes, bytes]]:
    """An HTTP header value with options, or ProtocolError when it is not one."""
    try:
        return parse_options_header(value)
    except (UnicodeError, ValueError) as err:
        raise ProtocolError(f"unreadable {what} {value!r}") from err


def parse_anpr_post(
    body: bytes, content_type: str, *, camera: str = "", max_bytes: int = MAX_BODY
) -> PlateRead:
    """Turn the body of a camera's ANPR POST into a PlateRead.

    Raises ProtocolError for anything that is not a well-formed ANPR event and
    PlateError when the camera's plate text is not a valid plate.
    """
    if len(body) > max_bytes:
        raise ProtocolError(f"body is {len(body)} bytes; the limit is {max_bytes}")
    mime, options = _parse_header(content_type, "content type")
    mime_type = mime.decode("latin-1").lower()

    if mime_type in XML_TYPES:
        event, pictures = bytes(body), ()
    elif mime_type in JSON_TYPES:
        return _read_fields(_json_fields(bytes(body)), (), camera)
    elif mime_type == "multipart/form-data":
        event, pictures = _split_multipart(body, options.get(b"boundary"))
    else:
        raise ProtocolError(
            f"content type {mime_type!r} is not multipart/form-data, XML or JSON"
        )
    if event.lstrip()[:1] == b"{":
        return _read_fields(_json_fields(event), pictures, camera)
    return _read_fields(_xml_fields(_parse_xml(event)), pictures, camera)


def _split_multipart(
    body: bytes, boundary: bytes | None
) -> tuple[bytes, tuple[Picture, ...]]:
    if not boundary:
        raise ProtocolError("multipart/form-data without a boundary")
    parts = _parse_parts(body, boundary)
    xml_part = next((p for p in parts if _is_event(p)), None)
    if xml_part is None:
        raise ProtocolError(f"none of the {len(parts)} parts is an XML or JSON event")
    pictures = tuple(
        picture
        for part in parts
        if part is not xml_part and (picture := _picture(part)) is not None
    )
    return bytes(xml_part.data), pictures


def _parse_parts(body: bytes, boundary: bytes) -> list[_Part]:
    parts: list[_Part] = []
    name = bytearray()
    value = bytearray()

    def on_header_end() -> None:
        # latin-1 keeps the raw bytes; a UTF-8 file name is decoded later
        parts[-1].headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        name.clear()
        value.clear()

    callbacks = {
        "on_part_begin": lambda: parts.append(_Part()),
        "on_part_data": lambda d, s, e: parts[-1].data.extend(d[s:e]),
        "on_header_field": lambda d, s, e: name.extend(d[s:e]),
        "on_header_value": lambda d, s, e: value.extend(d[s:e]),
        "on_header_end": on_header_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except MultipartParseError as err:
        raise ProtocolError(f"broken multipart body: {err}") from err
    return parts


def _is_event(part: _Part) -> bool:
    start = bytes(part.data[:64]).lstrip()[:1]
    return (
        "xml" in part.content_type
        or "json" in part.content_type
        or part.filename.lower().endswith((".xml", ".json"))
        or start in (b"<", b"{")
    )


def _picture(part: _Part) -> Picture | None:
    name = part.filename
    if not (part.content_type.startswith("image/") or name.lower().endswith(".jpg")):
        logger.debug("ignoring part %r of type %r", name, part.content_type)
        return None
    if not part.data.startswith(JPEG_MAGIC):
        logger.warning("picture part %r is not a JPEG; left out", name)
        return None
    role = "plate" if name.lower() == PLATE_PICTURE.lower() else "scene"
    return Picture(name=name, data=bytes(part.data), role=role)


def _parse_xml(xml: bytes) -> ET.Element:
    try:
        return SafeET.fromstring(xml)
    except defusedxml.DefusedXmlException as err:
        raise ProtocolError(f"XML refused: {err!r}") from err
    except (ET.ParseError, LookupError, ValueError) as err:
        # LookupError: an encoding declaration naming no known codec
        raise ProtocolError(f"broken XML: {err}") from err


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _xml_fields(root: ET.Element) -> dict:
    """The event's fields from the XML, in the shape of the JSON event."""
    if _local(root.tag) != "EventNotificationAlert":
        raise ProtocolError(
            f"XML root is {_local(root.tag)!r}, not EventNotificationAlert"
        )
    fields: dict = {
        "dateTime": _text(root, "dateTime"),
        "eventType": _text(root, "eventType"),
    }
    anpr = _child(root, "ANPR")
    if anpr is not None:
        fields["ANPR"] = {
            name: _text(anpr, name)
            for name in ANPR_FIELDS
            if _child(anpr, name) is not None
        }
    return fields


def _json_fields(data: bytes) -> dict:
    try:
        fields = json.loads(data)
    except (UnicodeError, ValueError) as err:
        raise ProtocolError(f"broken JSON: {err}") from err
    if not isinstance(fields, dict):
        raise ProtocolError("JSON event is not an object")
    # some firmwares wrap the alert in an EventNotificationAlert member
    inner = fields.get("EventNotificationAlert")
    return inner if isinstance(inner, dict) else fields


def _read_fields(fields: dict, pictures: tuple[Picture, ...], camera: str) -> PlateRead:
    event_type = _json_text(fields, "eventType")
    if (event_type or "").upper() != "ANPR":
        raise ProtocolError(f"eventType is {event_type!r}, expected 'ANPR'")
    anpr = fields.get("ANPR")
    if not isinstance(anpr, dict):
        raise ProtocolError("ANPR event without an ANPR element")
    if "licensePlate" not in anpr:
        raise ProtocolError("ANPR element without a licensePlate element")

    plate, prefix_color = read_plate_text(_json_text(anpr, "licensePlate"))
    color = parse_plate_color(_json_text(anpr, "plateColor"))
    return PlateRead(
        plate=plate,
        color=prefix_color if color is PlateColor.UNKNOWN else color,
        camera_time=_camera_time(_json_text(fields, "dateTime")),
        confidence=_optional_int(_json_text(anpr, "confidenceLevel")),
        direction=_json_text(anpr, "direction"),
        vehicle_type=_json_text(anpr, "vehicleType"),
        pictures=pictures,
        camera=camera,
    )


def _json_text(fields: dict, name: str) -> str | None:
    """A field as stripped text; numbers become text, other types are refused."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ProtocolError(f"{name} is a {type(value).__name__}, not text")
    return str(value).strip() or None


def _camera_time(text: str | None) -> datetime:
    if text is None:
        raise ProtocolError("event without a dateTime")
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise ProtocolError(f"dateTime {text!r} is not an ISO 8601 time") from err
    if when.tzinfo is None:
        raise ProtocolError(f"dateTime {text!r} has no UTC offset")
    return when


def _optional_int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        logger.debug("ignoring non-numeric confidenceLevel %r", text)
        return None


def build_anpr_post(
    plate: str | None,
    color: PlateColor,
    when: datetime,
    pictures: Sequence[Picture],
    *,
    namespace: str = ISAPI_NS,
    boundary: str | None = None,
    confidence: int | None = None,
    direction: str | None = None,
    vehicle_type: str | None = None,
) -> tuple[bytes, str]:
    """Build the (body, content type) a camera would POST, for simulators.

    ``namespace=""`` gives an XML without a namespace. Without ``boundary`` one
    is derived from the content, so the same event always gives the same bytes.
    """
    if when.tzinfo is None:
        raise ValueError("camera time must carry its UTC offset")
    extra = {"confidenceLevel": confidence, "direction": direction}
    extra["vehicleType"] = vehicle_type
    xml = _alert_xml(plate, color, when, pictures, namespace, extra)
    parts = [(XML_PART_NAME, "application/xml", xml)]
    parts += [(p.name, p.content_type, p.data) for p in pictures]
    boundary = boundary or _boundary_for(parts)
    if any(boundary.encode() in data for _, _, data in parts):
        raise ValueError(f"boundary {boundary!r} occurs inside a part")
    return _multipart(parts, boundary), f"multipart/form-data; boundary={boundary}"


def _alert_xml(
    plate: str | None,
    color: PlateColor,
    when: datetime,
    pictures: Sequence[Picture],
    namespace: str,
    extra: dict[str, object],
) -> bytes:
    root = ET.Element("EventNotificationAlert", {"version": "2.0"})
    if namespace:
        root.set("xmlns", namespace)
    ET.SubElement(root, "dateTime").text = when.isoformat(timespec="milliseconds")
    ET.SubElement(root, "eventType").text = "ANPR"
    ET.SubElement(root, "eventState").text = "active"
    anpr = ET.SubElement(root, "ANPR")
    ET.SubElement(anpr, "licensePlate").text = plate or NO_PLATE_TEXT
    ET.SubElement(anpr, "plateColor").text = _ISAPI_COLORS[color]
    for name, value in extra.items():
        if value is not None:
            ET.SubElement(anpr, name).text = str(value)
    listing = ET.SubElement(anpr, "pictureInfoList")
    for picture in pictures:
        info = ET.SubElement(listing, "pictureInfo")
        ET.SubElement(info, "fileName").text = picture.name
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _boundary_for(parts: list[tuple[str, str, bytes]]) -> str:
    digest = hashlib.sha256()
    for _, _, data in parts:
        digest.update(data)
    return "zhichao" + digest.hexdigest()[:24]


def _multipart(parts: list[tuple[str, str, bytes]], boundary: str) -> bytes:
    out = bytearray()
    for name, content_type, data in parts:
        out += f"--{boundary}\r\n".encode()
        out += (
            f'Content-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def build_anpr_json(
    plate: str | None,
    color: PlateColor,
    when: datetime,
    *,
    confidence: int | None = None,
    direction: str | None = None,
) -> tuple[bytes, str]:
    """The (body, content type) of the JSON event some firmwares post."""
    if when.tzinfo is None:
        raise ValueError("camera time must carry its UTC offset")
    anpr: dict[str, object] = {
        "licensePlate": plate or NO_PLATE_TEXT,
        "plateColor": _ISAPI_COLORS[color],
    }
    if confidence is not None:
        anpr["confidenceLevel"] = confidence
    if direction is not None:
        anpr["direction"] = direction
    event = {
        "dateTime": when.isoformat(timespec="milliseconds"),
        "eventType": "ANPR",
        "eventState": "active",
        "ANPR": anpr,
    }
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return body, "application/json; charset=utf-8"
