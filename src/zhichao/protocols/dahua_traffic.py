"""Dahua traffic cameras (大华智能交通抓拍): the attachFileProc event stream.

Follows Dahua's HTTP API for ``snapManager.cgi?action=attachFileProc``: the
station GETs the URL (HTTP Digest) and the camera keeps the answer open as
``multipart/x-mixed-replace; boundary=myboundary``. Every part is
``--myboundary``, header lines (``Content-Type``, usually ``Content-Length``),
a blank line and the body. An event is a ``text/plain`` part of ``key=value``
lines (``Events[0].TrafficCar.PlateNumber=鲁A1234挂``,
``Events[0].TrafficCar.PlateColor=Yellow``) followed by the JPEG of the
snapshot; between events the camera sends ``Heartbeat`` text parts.

Three pieces, none of which knows about sockets: ``PartFramer`` cuts the byte
stream into parts, ``parse_event_text`` reads one text part, ``EventReader``
pairs text parts with the pictures that follow them. ``parse_dahua_event``
reads a whole body at once (for ``devices decode`` and tests).

Times: ``Events[i].LocaleTime`` (``2026-06-18 06:06:30``, local time of the
camera) is read in the camera's zone, an option that defaults to
Asia/Shanghai; a LocaleTime that carries an offset keeps it. Otherwise
``Events[i].UTC`` (seconds since 1970, with ``Events[i].UTCMS`` milliseconds)
is taken as an instant and shown in the camera's zone.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from zhichao.errors import FrameError, ProtocolError
from zhichao.protocols.plates import (
    color_from_form,
    parse_plate_color,
    read_plate_text,
)
from zhichao.protocols.readings import Picture, PlateColor, PlateRead
from zhichao.timeutil import SHANGHAI

logger = logging.getLogger(__name__)

BOUNDARY = b"myboundary"
MAX_PART = 8 * 1024 * 1024  # one snapshot JPEG fits well inside
MAX_HEADER = 4096
MAX_BODY = 16 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8"
HEARTBEAT = "Heartbeat"
PLATE_KEY = "TrafficCar.PlateNumber"
STREAM_TYPES = ("multipart/x-mixed-replace", "multipart/mixed")
NO_PLATE_TEXT = "无车牌"

_EVENT_KEY = re.compile(r"Events\[(\d{1,4})\]\.(.+)")
_WHITESPACE = b" \t\r\n"
_DAHUA_COLORS = {
    PlateColor.BLUE: "Blue",
    PlateColor.YELLOW: "Yellow",
    PlateColor.WHITE: "White",
    PlateColor.BLACK: "Black",
    PlateColor.GREEN: "Green",
    PlateColor.YELLOW_GREEN: "YellowGreen",
    PlateColor.UNKNOWN: "Unknown",
}


@dataclass(frozen=True)
class StreamPart:
    """One part of the stream: its content type and its body."""

    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Rejected:
    """Input that was skipped, the reason and the raw bytes (for the log)."""

    error: ProtocolError
    raw: bytes = field(repr=False)


class PartFramer:
    """Cuts a ``multipart/x-mixed-replace`` byte stream into parts.

    Returns nothing until a part is complete. Bytes before the first boundary
    (a stream opened mid-part), parts over ``max_part`` and unreadable headers
    come back as ``Rejected``; the framer then looks for the next boundary.
    """

    def __init__(self, boundary: bytes = BOUNDARY, max_part: int = MAX_PART) -> None:
        if not boundary:
            raise ValueError("a multipart stream needs a boundary")
        self._delimiter = b"--" + boundary
        self._max_part = max_part
        self._buffer = bytearray()
        self._headers: dict[str, str] | None = None  # None: looking for a boundary
        self._skipping = False  # the rest of a refused part, up to the next boundary

    def feed(self, data: bytes) -> list[StreamPart | Rejected]:
        self._buffer += data
        out: list[StreamPart | Rejected] = []
        while True:
            step = self._seek() if self._headers is None else self._body()
            if step is None:
                return out
            if step is not True:
                out.append(step)

    def flush(self, *, body_ended: bool = False) -> list[StreamPart | Rejected]:
        """End of stream: an unfinished part is rejected.

        ``body_ended``: the input was a whole captured body, so a last part
        without Content-Length ends where the body ends.
        """
        headers, self._headers = self._headers, None
        rest = bytes(self._buffer)
        self._buffer.clear()
        if body_ended and headers is not None and "content-length" not in headers:
            return [self._part(headers, _strip_crlf(rest))]
        rest = rest.strip(_WHITESPACE)
        if not rest or rest == self._delimiter + b"--":
            return []
        return [Rejected(FrameError("stream ended inside a part"), rest)]

    def _seek(self) -> StreamPart | Rejected | bool | None:
        """Find a boundary and read the part's headers; None: need more bytes."""
        at = self._buffer.find(self._delimiter)
        if at < 0:
            return self._skip_garbage()
        if at > 0:
            skipped = bytes(self._buffer[:at])
            del self._buffer[:at]
            if skipped.strip(_WHITESPACE) and not self._skipping:
                return Rejected(FrameError("bytes outside a part skipped"), skipped)
        self._skipping = False
        return self._read_headers()

    def _skip_garbage(self) -> Rejected | None:
        keep = len(self._delimiter) - 1  # a boundary may be split across reads
        limit = keep if self._skipping else max(keep, self._max_part)
        if len(self._buffer) <= limit:
            return None
        skipped = bytes(self._buffer[:-keep])
        del self._buffer[:-keep]
        if self._skipping:
            return None
        self._skipping = True
        return Rejected(FrameError("no part boundary in the stream"), skipped)

    def _read_headers(self) -> Rejected | bool | None:
        start = len(self._delimiter)
        end, gap = _header_end(self._buffer, start)
        if end < 0:
            if len(self._buffer) > start + MAX_HEADER:
                return self._drop(start, FrameError("part headers too long"))
            return None
        block = bytes(self._buffer[start:end])
        if block[:2] == b"--":  # the closing boundary --myboundary--
            del self._buffer[: start + 2]
            return True
        try:
            self._headers = _parse_headers(block)
        except FrameError as err:
            return self._drop(end + gap, err)
        del self._buffer[: end + gap]
        return True

    def _body(self) -> StreamPart | Rejected | None:
        headers = self._headers or {}
        length = headers.get("content-length")
        if length is not None:
            return self._counted_body(headers, length)
        at = self._buffer.find(self._delimiter)
        if at < 0:
            if len(self._buffer) > self._max_part + len(self._delimiter):
                return self._oversize()
            return None
        data = bytes(self._buffer[:at])
        del self._buffer[:at]
        return self._part(headers, _strip_crlf(data))

    def _counted_body(
        self, headers: dict[str, str], length: str
    ) -> StreamPart | Rejected | None:
        if not length.isdigit():
            self._headers = None
            return Rejected(FrameError(f"Content-Length {length!r}"), b"")
        size = int(length)
        if size > self._max_part:
            return self._oversize()
        if len(self._buffer) < size:
            return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return self._part(headers, data)

    def _part(self, headers: dict[str, str], data: bytes) -> StreamPart:
        self._headers = None
        content_type = headers.get("content-type", "text/plain")
        return StreamPart(content_type.split(";")[0].strip().lower(), data)

    def _oversize(self) -> Rejected:
        self._headers = None
        self._skipping = True
        error = FrameError(f"part over {self._max_part} bytes skipped")
        skipped = bytes(self._buffer[:64])
        return Rejected(error, skipped)

    def _drop(self, upto: int, error: FrameError) -> Rejected:
        skipped = bytes(self._buffer[:upto])
        del self._buffer[:upto]
        self._headers = None
        return Rejected(error, skipped)


def _header_end(buffer: bytearray, start: int) -> tuple[int, int]:
    """Index and length of the blank line that ends a part's headers."""
    crlf = buffer.find(b"\r\n\r\n", start)
    lf = buffer.find(b"\n\n", start)
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    return lf, (2 if lf >= 0 else 0)


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    text = block.decode("latin-1")
    for line in text.splitlines()[1:]:  # the rest of the boundary line first
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FrameError(f"part header line {line[:60]!r} is not Name: value")
        headers[name.strip().lower()] = value.strip()
    return headers


def _strip_crlf(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


def parse_event_text(
    data: bytes, *, camera: str = "", zone: tzinfo = SHANGHAI
) -> PlateRead | None:
    """One text part -> a PlateRead (no pictures yet), or None for a heartbeat.

    Raises ProtocolError for text that is not an event with a plate field and
    PlateError when the plate text is not a valid plate.
    """
    text = _decode(data)
    if text.strip() == HEARTBEAT:
        return None
    events = _event_fields(text)
    index = next((i for i in sorted(events) if PLATE_KEY in events[i]), None)
    if index is None:
        raise ProtocolError(f"event without Events[i].{PLATE_KEY}")
    fields = events[index]

    plate, prefix_color = read_plate_text(fields[PLATE_KEY])
    color = parse_plate_color(fields.get("TrafficCar.PlateColor"), vendor="dahua")
    if color is PlateColor.UNKNOWN:
        color = prefix_color
    if color is PlateColor.UNKNOWN:
        color = color_from_form(plate)
    return PlateRead(
        plate=plate,
        color=color,
        camera_time=_event_time(fields, zone),
        confidence=_confidence(fields),
        direction=fields.get("JunctionDirection") or None,
        vehicle_type=fields.get("TrafficCar.VehicleType") or None,
        camera=camera,
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # older firmwares send GBK text
    except UnicodeDecodeError as err:
        raise ProtocolError("event text is neither UTF-8 nor GBK") from err


def _event_fields(text: str) -> dict[int, dict[str, str]]:
    """``Events[i].key=value`` lines -> {i: {key: value}}; other keys ignored."""
    events: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise ProtocolError(f"event line {line[:60]!r} is not key=value")
        match = _EVENT_KEY.fullmatch(key.strip())
        if match:
            index, name = int(match.group(1)), match.group(2)
            events.setdefault(index, {})[name] = value.strip()
    return events


def _event_time(fields: dict[str, str], zone: tzinfo) -> datetime:
    local = fields.get("LocaleTime")
    if local:
        try:
            when = datetime.fromisoformat(local)
        except ValueError as err:
            raise ProtocolError(f"LocaleTime {local!r} is not a time") from err
        if not when.microsecond and (fields.get("UTCMS") or "").isdigit():
            when = when.replace(microsecond=min(int(fields["UTCMS"]), 999) * 1000)
        return when if when.tzinfo else when.replace(tzinfo=zone)
    seconds = fields.get("UTC")
    if not seconds:
        raise ProtocolError("event without LocaleTime or UTC")
    try:
        epoch = float(seconds) + int(fields.get("UTCMS") or 0) / 1000
        return datetime.fromtimestamp(epoch, zone)
    except (ValueError, OverflowError, OSError) as err:
        raise ProtocolError(f"UTC {seconds!r} is not seconds since 1970") from err


def _confidence(fields: dict[str, str]) -> int | None:
    for name in ("TrafficCar.Confidence", "Object.Confidence"):
        value = fields.get(name, "")
        if value.isdigit() and len(value) < 6:
            return int(value)
    return None


class EventReader:
    """Pairs each event's text part with the snapshot JPEG that follows it.

    An event is complete with its first JPEG; an event whose picture never
    comes is given out without one when the next text part (or heartbeat)
    arrives, or on ``flush``. The picture of a refused text part is dropped
    with it, so one bad event counts once.
    """

    def __init__(self, *, camera: str = "", zone: tzinfo = SHANGHAI) -> None:
        self._camera = camera
        self._zone = zone
        self._pending: PlateRead | None = None
        self._refused = False  # the last text part was refused
        self._pictures = 0

    def add(self, part: StreamPart) -> list[PlateRead | Rejected]:
        if part.content_type.startswith("image/"):
            return self._picture(part)
        out: list[PlateRead | Rejected] = self.flush()
        try:
            self._pending = parse_event_text(
                part.data, camera=self._camera, zone=self._zone
            )
        except ProtocolError as err:
            self._refused = True
            out.append(Rejected(err, part.data))
        return out

    def flush(self) -> list[PlateRead | Rejected]:
        pending, self._pending = self._pending, None
        self._refused = False
        return [] if pending is None else [pending]

    def _picture(self, part: StreamPart) -> list[PlateRead | Rejected]:
        if self._pending is None:
            if self._refused:
                self._refused = False
                return []
            return [Rejected(FrameError("picture without an event"), part.data)]
        if not part.data.startswith(JPEG_MAGIC):
            return [Rejected(FrameError("picture part is not a JPEG"), part.data)]
        self._pictures += 1
        name = f"dahua-{self._camera or 'camera'}-{self._pictures}.jpg"
        picture = Picture(name=name, data=part.data, role="scene")
        read = self._pending
        self._pending = None
        return [_with_pictures(read, (picture,))]


def _with_pictures(read: PlateRead, pictures: tuple[Picture, ...]) -> PlateRead:
    return PlateRead(
        plate=read.plate,
        color=read.color,
        camera_time=read.camera_time,
        confidence=read.confidence,
        direction=read.direction,
        vehicle_type=read.vehicle_type,
        pictures=pictures,
        camera=read.camera,
    )


def stream_boundary(content_type: str) -> bytes:
    """The boundary of a stream's Content-Type; ProtocolError if it is not one."""
    mime, _, params = content_type.partition(";")
    if mime.strip().lower() not in STREAM_TYPES:
        raise ProtocolError(f"content type {mime.strip()!r} is not a multipart stream")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"').encode("latin-1", "replace")
    return BOUNDARY  # Dahua's own fixed boundary when the header omits it


def parse_dahua_event(
    body: bytes,
    content_type: str,
    *,
    camera: str = "",
    zone: tzinfo = SHANGHAI,
    max_bytes: int = MAX_BODY,
) -> PlateRead:
    """The first event of a captured body (a stream, or one bare text part).

    Raises ProtocolError when the body holds no event, or when anything in it
    before the first event is refused.
    """
    if len(body) > max_bytes:
        raise ProtocolError(f"body is {len(body)} bytes; the limit is {max_bytes}")
    if content_type.split(";")[0].strip().lower() == "text/plain":
        read = parse_event_text(body, camera=camera, zone=zone)
        if read is None:
            raise ProtocolError("body is a heartbeat, not an event")
        return read

    framer = PartFramer(stream_boundary(content_type))
    reader = EventReader(camera=camera, zone=zone)
    items: list[StreamPart | Rejected | PlateRead] = []
    for item in framer.feed(body):
        items += reader.add(item) if isinstance(item, StreamPart) else [item]
    for item in framer.flush(body_ended=True):
        items += reader.add(item) if isinstance(item, StreamPart) else [item]
    items += reader.flush()
    for item in items:
        if isinstance(item, Rejected):
            raise item.error
        if isinstance(item, PlateRead):
            return item
    raise ProtocolError("body holds no plate event")


def build_event_text(
    plate: str | None,
    color: PlateColor,
    when: datetime,
    *,
    confidence: int | None = None,
    index: int = 0,
) -> bytes:
    """The text part of one TrafficJunction event, for simulators."""
    if when.tzinfo is None:
        raise ValueError("camera time must carry its zone")
    prefix = f"Events[{index}]."
    lines = [
        f"{prefix}EventBaseInfo.Code=TrafficJunction",
        f"{prefix}EventBaseInfo.Action=Pulse",
        f"{prefix}LocaleTime={when.strftime('%Y-%m-%d %H:%M:%S')}",
        f"{prefix}UTC={int(when.timestamp())}",
        f"{prefix}UTCMS={when.microsecond // 1000}",
        f"{prefix}{PLATE_KEY}={plate or NO_PLATE_TEXT}",
        f"{prefix}TrafficCar.PlateColor={_DAHUA_COLORS[color]}",
    ]
    if confidence is not None:
        lines.append(f"{prefix}TrafficCar.Confidence={confidence}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def build_part(data: bytes, content_type: str, boundary: bytes = BOUNDARY) -> bytes:
    """One stream part, as the camera writes it."""
    head = (
        b"--" + boundary + b"\r\n"
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n"
        b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n"
    )
    return head + data + b"\r\n"


def build_heartbeat(boundary: bytes = BOUNDARY) -> bytes:
    return build_part(HEARTBEAT.encode(), "text/plain", boundary)
