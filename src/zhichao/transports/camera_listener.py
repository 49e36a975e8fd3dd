"""HTTP listener that ANPR cameras push their plate events to.

Cameras POST each event to ``/cameras/{camera_id}`` (the camera's "alarm
host" or HTTP push setting points at it). The body goes to an injected parse
function, e.g. ``zhichao.protocols.hikvision_anpr.parse_anpr_post``; a good
event is answered 200 at once and handed to a callback with the camera id.
Anything the parser refuses, or an event without a plate, is answered 400 with
a short plain message, counted and logged; the listener keeps running.
"""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

from zhichao.errors import ProtocolError
from zhichao.protocols.readings import PlateRead
from zhichao.transports.badinput import BadInputLog

logger = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024  # two evidence JPEGs and the XML fit well inside
ROUTE = "/cameras/{camera_id}"

Parse = Callable[..., PlateRead]  # (body, content_type, *, camera) -> PlateRead
Deliver = Callable[[str, PlateRead], Awaitable[None] | None]


class CameraListener:
    """An aiohttp server to embed in the station's running event loop.

    ``port=0`` picks a free port; ``port`` gives the real one after ``start``.
    ``cameras`` limits the accepted camera ids (None: any id).
    """

    def __init__(
        self,
        parse: Parse,
        on_plate: Deliver,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body: int = MAX_BODY,
        cameras: Collection[str] | None = None,
    ) -> None:
        self._parse = parse
        self._on_plate = on_plate
        self._host = host
        self._requested_port = port
        self._max_body = max_body
        self._cameras = None if cameras is None else frozenset(cameras)
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task] = set()
        self._bad = BadInputLog(logger, "camera listener")
        self.port: int | None = None
        self.stats = {"events": 0, "rejected": 0, "too_large": 0, "callback_errors": 0}

    def url(self, camera_id: str) -> str:
        """The URL a camera with this id must post to."""
        return f"http://{self._host}:{self.port}/cameras/{camera_id}"

    async def start(self) -> None:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(ROUTE, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        logger.info("camera listener on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._bad.flush(force=True)
        logger.info("camera listener stopped")

    async def _handle(self, request: web.Request) -> web.Response:
        camera_id = request.match_info["camera_id"]
        if self._cameras is not None and camera_id not in self._cameras:
            return _plain(404, f"unknown camera {camera_id}")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.stats["too_large"] += 1
            self._bad.report(f"camera {camera_id} body over {self._max_body}", b"")
            return _plain(413, f"body over the limit of {self._max_body} bytes")

        content_type = request.headers.get("Content-Type", "")
        problem, plate_read = self._read_event(camera_id, body, content_type)
        if problem:
            self.stats["rejected"] += 1
            self._bad.report(f"camera {camera_id} post refused ({problem})", body)
            return _plain(400, problem)

        self.stats["events"] += 1
        self._deliver(camera_id, plate_read)
        return _plain(200, "OK")

    def _read_event(
        self, camera_id: str, body: bytes, content_type: str
    ) -> tuple[str, PlateRead | None]:
        try:
            plate_read = self._parse(body, content_type, camera=camera_id)
        except ProtocolError as err:
            return _short(str(err)), None
        if plate_read.plate is None:
            return "event carries no plate", None
        return "", plate_read

    def _deliver(self, camera_id: str, plate_read: PlateRead) -> None:
        """Run the callback without holding up the camera's answer."""
        try:
            result = self._on_plate(camera_id, plate_read)
        except Exception:
            self.stats["callback_errors"] += 1
            logger.exception("camera %s plate callback failed", camera_id)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._pending.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._pending.discard(task)
        with contextlib.suppress(asyncio.CancelledError):
            if task.exception() is not None:
                self.stats["callback_errors"] += 1
                logger.error("plate callback failed", exc_info=task.exception())


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


def _short(message: str, limit: int = 200) -> str:
    line = message.splitlines()[0] if message else "unreadable event"
    return line if len(line) <= limit else line[: limit - 3] + "..."
