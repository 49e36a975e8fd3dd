"""Camera event bodies saved to a file, read as the station reads them.

``zhichao devices decode --protocol hikvision-anpr|vzenith|dahua`` uses these:
an integrator saves what a camera posted (or the bytes of a Dahua event
stream) and sees the plate reads zhichao takes from it, or why it refuses it.
"""

from collections.abc import Iterator

from zhichao.errors import ProtocolError
from zhichao.protocols import dahua_traffic, hikvision_anpr, vzenith
from zhichao.protocols.readings import PlateRead

CAMERA_FORMATS = ("dahua", "hikvision-anpr", "vzenith")


def guess_content_type(protocol: str, body: bytes) -> str:
    """The Content-Type a camera of ``protocol`` would have sent with ``body``."""
    if protocol == "dahua":
        return "multipart/x-mixed-replace"  # Dahua's boundary when none is given
    head = body.lstrip()[:1]
    if head == b"{":
        return "application/json"
    if protocol == "hikvision-anpr" and body.startswith(b"--"):
        boundary = body[2:].split(b"\r\n", 1)[0].decode("latin-1")
        return f"multipart/form-data; boundary={boundary}"
    return "application/xml"


def decode_body(protocol: str, body: bytes, content_type: str) -> Iterator[dict]:
    """One dict per plate read in ``body`` (or per refusal), in order."""
    if protocol == "dahua":
        yield from _dahua_stream(body, content_type)
        return
    parse = (
        hikvision_anpr.parse_anpr_post
        if protocol == "hikvision-anpr"
        else vzenith.parse_vzenith_post
    )
    try:
        yield read_line(parse(body, content_type))
    except ProtocolError as err:
        yield {"error": str(err)}


def _dahua_stream(body: bytes, content_type: str) -> Iterator[dict]:
    try:
        framer = dahua_traffic.PartFramer(dahua_traffic.stream_boundary(content_type))
    except ProtocolError as err:
        yield {"error": str(err)}
        return
    reader = dahua_traffic.EventReader()
    for item in framer.feed(body) + framer.flush(body_ended=True):
        if isinstance(item, dahua_traffic.StreamPart):
            outputs = reader.add(item)
        else:
            outputs = [item]  # a part the framer refused
        for out in outputs:
            yield _item_line(out)
    for out in reader.flush():
        yield _item_line(out)


def _item_line(item) -> dict:
    if isinstance(item, PlateRead):
        return read_line(item)
    return {"error": str(item.error), "raw": item.raw[:64].hex()}


def read_line(read: PlateRead) -> dict:
    return {
        "plate": read.plate,
        "color": str(read.color),
        "camera_time": read.camera_time.isoformat(),
        "confidence": read.confidence,
        "direction": read.direction,
        "vehicle_type": read.vehicle_type,
        "pictures": [
            {"name": p.name, "role": p.role, "bytes": len(p.data)}
            for p in read.pictures
        ],
    }
