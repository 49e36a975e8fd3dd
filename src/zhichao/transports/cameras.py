"""Cameras by kind, as a station's configuration names them.

``open_camera(camera_id, options, on_plate, listener=...)`` gives a
CameraSource for one ``[cameras.<id>]`` table:

- ``kind = "hikvision"``: the camera pushes ISAPI events (multipart XML or
  JSON) to the station's CameraListener at ``/cameras/<id>``;
- ``kind = "vzenith"``: the camera pushes JSON plate results to the same
  listener;
- ``kind = "dahua"``: the station connects to the camera's attachFileProc
  ``url`` with ``username`` and ``password`` (HTTP Digest) and reads.

Every kind takes ``zone`` (default ``Asia/Shanghai``): the zone a camera time
without an offset is read in. A bad option is a ConfigError naming its key,
e.g. ``cameras.front.url: required for kind "dahua"``.
"""

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zhichao.errors import ConfigError
from zhichao.protocols import hikvision_anpr, vzenith
from zhichao.transports.camera_listener import CameraListener, Deliver, Parse
from zhichao.transports.dahua_stream import DahuaStream

logger = logging.getLogger(__name__)

PUSH_KINDS = ("hikvision", "vzenith")
PULL_KINDS = ("dahua",)
KINDS = PUSH_KINDS + PULL_KINDS
DEFAULT_ZONE = "Asia/Shanghai"
COMMON_OPTIONS = ("kind", "zone")
DAHUA_REQUIRED = ("url", "username", "password")
DAHUA_NUMBERS = {"reconnect_min_s": 1.0, "reconnect_max_s": 30.0}
DAHUA_NUMBERS["read_timeout_s"] = 30.0


class CameraSource(Protocol):
    """A started camera gives its plate reads to the callback until stopped."""

    camera_id: str
    kind: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def stats(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class CameraOptions:
    """One camera's checked options."""

    camera_id: str
    kind: str
    zone: tzinfo
    url: str | None = None
    username: str | None = None
    password: str | None = None
    reconnect_min_s: float = DAHUA_NUMBERS["reconnect_min_s"]
    reconnect_max_s: float = DAHUA_NUMBERS["reconnect_max_s"]
    read_timeout_s: float = DAHUA_NUMBERS["read_timeout_s"]


class PushCamera:
    """A camera that posts to the shared listener, served by its own parser."""

    def __init__(
        self,
        camera_id: str,
        kind: str,
        parse: Parse,
        on_plate: Deliver,
        listener: CameraListener,
    ) -> None:
        self.camera_id = camera_id
        self.kind = kind
        self.parse = parse
        self._on_plate = on_plate
        self._listener = listener

    @property
    def url(self) -> str:
        """Where the camera's HTTP push must point (once the listener runs)."""
        return self._listener.url(self.camera_id)

    @property
    def stats(self) -> Mapping[str, int]:
        return self._listener.camera_stats.get(self.camera_id, {})

    async def start(self) -> None:
        self._listener.add_camera(self.camera_id, self.parse, self._on_plate)

    async def stop(self) -> None:
        self._listener.remove_camera(self.camera_id)


def check_camera_options(camera_id: str, options: Mapping) -> CameraOptions:
    """Check one camera's options; ConfigError names the first bad key."""
    key = f"cameras.{camera_id}"
    kind = options.get("kind")
    if kind is None:
        raise ConfigError(f"{key}.kind: required, one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{key}.kind: {kind!r} is not one of {', '.join(KINDS)}")
    known = COMMON_OPTIONS + (
        DAHUA_REQUIRED + tuple(DAHUA_NUMBERS) if kind in PULL_KINDS else ()
    )
    for name in options:
        if name not in known:
            raise ConfigError(
                f"{key}.{name}: unknown option for kind {kind!r}; "
                f"known: {', '.join(known)}"
            )
    zone = _zone(f"{key}.zone", options.get("zone", DEFAULT_ZONE))
    if kind in PUSH_KINDS:
        return CameraOptions(camera_id, kind, zone)
    return _dahua_options(key, camera_id, options, zone)


def _zone(key: str, name: object) -> tzinfo:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}: a zone name such as {DEFAULT_ZONE!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"{key}: unknown zone {name!r}") from err


def _dahua_options(
    key: str, camera_id: str, options: Mapping, zone: tzinfo
) -> CameraOptions:
    texts = {}
    for name in DAHUA_REQUIRED:
        value = options.get(name)
        if value is None:
            raise ConfigError(f'{key}.{name}: required for kind "dahua"')
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}.{name}: must be a non-empty string")
        texts[name] = value
    parts = urlsplit(texts["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}.url: {texts['url']!r} is not an http(s) URL")
    numbers = {}
    for name, default in DAHUA_NUMBERS.items():
        value = options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{key}.{name}: must be a number of seconds above 0")
        numbers[name] = float(value)
    if numbers["reconnect_max_s"] < numbers["reconnect_min_s"]:
        raise ConfigError(f"{key}.reconnect_max_s: below reconnect_min_s")
    return CameraOptions(camera_id, "dahua", zone, **texts, **numbers)


def open_camera(
    camera_id: str,
    options: Mapping,
    on_plate: Deliver,
    *,
    listener: CameraListener | None = None,
) -> CameraSource:
    """A camera source of the configured kind; call ``start`` to run it.

    Push kinds need the station's ``listener``; they are served by it once
    started. ConfigError names the first bad option.
    """
    checked = check_camera_options(camera_id, options)
    if checked.kind == "dahua":
        return DahuaStream(
            camera_id,
            checked.url or "",
            checked.username or "",
            checked.password or "",
            on_plate,
            zone=checked.zone,
            reconnect_min_s=checked.reconnect_min_s,
            reconnect_max_s=checked.reconnect_max_s,
            read_timeout_s=checked.read_timeout_s,
        )
    if listener is None:
        raise ValueError(f"camera {camera_id}: a push camera needs the listener")
    return PushCamera(camera_id, checked.kind, push_parser(checked), on_plate, listener)


def push_parser(checked: CameraOptions) -> Parse:
    """The parse function the listener uses for a push camera."""
    if checked.kind == "vzenith":
        return functools.partial(vzenith.parse_vzenith_post, zone=checked.zone)
    return hikvision_anpr.parse_anpr_post
