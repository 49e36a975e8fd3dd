"""HTTP listener that ANPR cameras push their plate events to.

Cameras POST each event to ``/cameras/{camera_id}`` (the camera's "alarm
host" or HTTP push setting points at it). The body goes to the parse function
registered for that camera id with ``add_camera`` (each camera kind has its
own: Hikvision XML/JSON, Vzenith JSON), or else to the listener's default
parse function, e.g. ``zhichao.protocols.hikvision_anpr.parse_anpr_post``; a
good event is answered 200 at once and handed to a callback with the camera id.
Anything the parser refuses, or an event without a plate, is answered 400 with
a short plain message, counted and logged; the listener keeps running.
"""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

from zhichao.errors import PlateError, ProtocolError
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
    ``parse`` and ``on_plate`` serve any camera id not added with
    ``add_camera``; without ``parse`` only added cameras are served.
    ``cameras`` limits the ids the default parse serves (None: any id).
    """

    def __init__(
        self,
        parse: Parse | None = None,
        on_plate: Deliver | None = None,
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
        self._routes: dict[str, tuple[Parse, Deliver | None]] = {}
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task] = set()
        self._bad = BadInputLog(logger, "camera listener")
        self.port: int | None = None
        self.stats = {"events": 0, "rejected": 0, "too_large": 0, "callback_errors": 0}
        self.camera_stats: dict[str, dict[str, int]] = {}

    def add_camera(
        self, camera_id: str, parse: Parse, on_plate: Deliver | None = None
    ) -> None:
        """Serve ``camera_id`` with its own parser (and callback, else the default)."""
        self._routes[camera_id] = (parse, on_plate)
        self.camera_stats.setdefault(camera_id, {"events": 0, "rejected": 0})

    def remove_camera(self, camera_id: str) -> None:
        self._routes.pop(camera_id, None)

    def _route(self, camera_id: str) -> tuple[Parse, Deliver | None] | None:
        if camera_id in self._routes:
            return self._routes[camera_id]
        if self._parse is None:
            return None
        if self._cameras is not None and camera_id not in self._cameras:
            return None
        return self._parse, self._on_plate

    def _count(self, camera_id: str, what: str) -> None:
        self.stats[what] += 1
        counts = self.camera_stats.setdefault(camera_id, {"events": 0, "rejected": 0})
        counts[what] = counts.get(what, 0) + 1

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
        route = self._route(camera_id)
        if route is None:
            return _plain(404, f"unknown camera {camera_id}")
        parse, on_plate = route
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._count(camera_id, "too_large")
            self._bad.report(
                f"camera {camera_id} body over {self._max_body}",
                b"",
                f"oversized posts from camera {camera_id}",
            )
            return _plain(413, f"body over the limit of {self._max_body} bytes")

        content_type = request.headers.get("Content-Type", "")
        problem, kind, plate_read = _read_event(parse, camera_id, body, content_type)
        if problem:
            self._count(camera_id, "rejected")
            self._bad.report(
                f"camera {camera_id} post refused ({problem})",
                body,
                f"{kind} from camera {camera_id}",
            )
            return _plain(400, problem)

        self._count(camera_id, "events")
        self._deliver(on_plate or self._on_plate, camera_id, plate_read)
        return _plain(200, "OK")

    def _deliver(
        self, on_plate: Deliver | None, camera_id: str, plate_read: PlateRead
    ) -> None:
        """Run the callback without holding up the camera's answer."""
        if on_plate is None:
            logger.warning("camera %s: no one takes its plates", camera_id)
            return
        try:
            result = on_plate(camera_id, plate_read)
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


def _read_event(
    parse: Parse, camera_id: str, body: bytes, content_type: str
) -> tuple[str, str, PlateRead | None]:
    """The problem with a post (empty if none), its kind for the log, the read."""
    try:
        plate_read = parse(body, content_type, camera=camera_id)
    except PlateError as err:
        return _short(str(err)), "posts with an invalid plate", None
    except ProtocolError as err:
        return _short(str(err)), "unreadable posts", None
    if plate_read.plate is None:
        return "event carries no plate", "posts without a plate", None
    return "", "", plate_read


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


def _short(message: str, limit: int = 200) -> str:
    line = message.splitlines()[0] if message else "unreadable event"
    return line if len(line) <= limit else line[: limit - 3] + "..."
