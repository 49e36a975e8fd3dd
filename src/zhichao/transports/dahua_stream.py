"""The client that reads a Dahua camera's attachFileProc event stream.

The station connects to the camera (``…/cgi-bin/snapManager.cgi?action=
attachFileProc&Flags[0]=Event&Events=[TrafficJunction]&heartbeat=5``) with HTTP
Digest and reads the ``multipart/x-mixed-replace`` answer for as long as the
camera keeps it open. Parts go through ``dahua_traffic.PartFramer`` and
``EventReader``; each plate read goes to the callback with the camera id.

A lost connection (refused, reset, silent past the read timeout, closed by the
camera) is retried with a growing delay; the loss is logged once when it
starts and once when the stream is back. A wrong user name or password is a
DeviceError that says so, logged at ERROR (a person must fix the
configuration) and retried like any other loss. Bad parts are counted and
logged with their raw bytes (rate-limited); they never stop the stream.
"""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo

import httpx

from zhichao.errors import DeviceError, ProtocolError
from zhichao.protocols.dahua_traffic import (
    MAX_PART,
    EventReader,
    PartFramer,
    Rejected,
    StreamPart,
    stream_boundary,
)
from zhichao.protocols.readings import PlateRead
from zhichao.timeutil import SHANGHAI
from zhichao.transports.badinput import BadInputLog

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
Deliver = Callable[[str, PlateRead], Awaitable[None] | None]


class WrongPasswordError(DeviceError):
    """The camera answered 401: the user name or password is wrong."""


class DahuaStream:
    """Reads one camera's event stream until stopped, reconnecting as needed."""

    kind = "dahua"

    def __init__(
        self,
        camera_id: str,
        url: str,
        username: str,
        password: str,
        on_plate: Deliver,
        *,
        zone: tzinfo = SHANGHAI,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        read_timeout_s: float = 30.0,
        max_part: int = MAX_PART,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self._auth = httpx.DigestAuth(username, password)
        self._on_plate = on_plate
        self._zone = zone
        self._delays = (reconnect_min_s, reconnect_max_s)
        self._timeout = httpx.Timeout(CONNECT_TIMEOUT_S, read=read_timeout_s)
        self._max_part = max_part
        self._task: asyncio.Task | None = None
        self._outage: str | None = None  # the kind of the current loss
        self._bad = BadInputLog(logger, f"camera {camera_id}")
        self.connected = asyncio.Event()
        self.last_error: DeviceError | None = None
        self.stats = {
            "events": 0,
            "rejected": 0,
            "connects": 0,
            "failures": 0,
            "callback_errors": 0,
        }

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"dahua-{self.camera_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._bad.flush(force=True)

    async def run(self) -> None:
        """Read, and reconnect after every loss, until cancelled."""
        delay = self._delays[0]
        while True:
            try:
                await self.read_session()
            except DeviceError as err:
                self._lost(err)
            if self.connected.is_set():
                delay = self._delays[0]  # the last session did connect
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._delays[1])

    async def read_session(self) -> None:
        """One connection, read to its end; raises DeviceError for every loss."""
        client = httpx.AsyncClient(auth=self._auth, timeout=self._timeout)
        try:
            async with client, client.stream("GET", self.url) as response:
                boundary = self._check(response)
                self._recovered()
                await self._read(response, boundary)
        except httpx.HTTPError as err:
            raise DeviceError(f"camera {self.camera_id}: {_describe(err)}") from err
        raise DeviceError(f"camera {self.camera_id} closed the event stream")

    def _check(self, response: httpx.Response) -> bytes:
        if response.status_code == 401:
            raise WrongPasswordError(
                f"camera {self.camera_id} refused the user name or password (401)"
            )
        if response.status_code != 200:
            raise DeviceError(
                f"camera {self.camera_id} answered HTTP {response.status_code}"
            )
        try:
            return stream_boundary(response.headers.get("content-type", ""))
        except ProtocolError as err:
            raise DeviceError(f"camera {self.camera_id}: {err}") from err

    async def _read(self, response: httpx.Response, boundary: bytes) -> None:
        framer = PartFramer(boundary, self._max_part)
        reader = EventReader(camera=self.camera_id, zone=self._zone)
        try:
            async for chunk in response.aiter_bytes():
                for item in framer.feed(chunk):
                    await self._take(reader, item)
        finally:
            for item in framer.flush():
                await self._take(reader, item)
            for item in reader.flush():
                await self._handle(item)

    async def _take(self, reader: EventReader, item: StreamPart | Rejected) -> None:
        if isinstance(item, Rejected):
            await self._handle(item)
            return
        for result in reader.add(item):
            await self._handle(result)

    async def _handle(self, item: PlateRead | Rejected) -> None:
        if isinstance(item, Rejected):
            self.stats["rejected"] += 1
            self._bad.report(f"part refused ({item.error})", item.raw, "refused parts")
            return
        if item.plate is None:
            self.stats["rejected"] += 1
            self._bad.report("event carries no plate", b"", "events without a plate")
            return
        self.stats["events"] += 1
        logger.debug("camera %s read %s", self.camera_id, item.plate)
        try:
            result = self._on_plate(self.camera_id, item)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.stats["callback_errors"] += 1
            logger.exception("camera %s plate callback failed", self.camera_id)

    def _recovered(self) -> None:
        self.stats["connects"] += 1
        self.connected.set()
        if self._outage is not None:
            logger.info("camera %s event stream is back", self.camera_id)
        else:
            logger.info("camera %s event stream connected", self.camera_id)
        self._outage = None
        self.last_error = None

    def _lost(self, err: DeviceError) -> None:
        self.stats["failures"] += 1
        self.last_error = err
        kind = type(err).__name__
        if self._outage == kind:
            logger.debug("%s (still down)", err)
            return
        self._outage = kind
        if isinstance(err, WrongPasswordError):
            logger.error("%s; retrying with backoff", err)
        else:
            logger.warning("%s; retrying with backoff", err)


def _describe(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.TimeoutException):
        return "no data before the read timeout"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect ({err})"
    return f"event stream broken ({type(err).__name__}: {err})"
