"""Simulated ANPR cameras, speaking the cameras' own bytes over real HTTP.

- ``SimulatedCamera``: pushes the multipart POST a Hikvision camera sends
  (built with ``hikvision_anpr.build_anpr_post``): the EventNotificationAlert
  XML and two JPEGs, the plate close-up and the scene.
- ``SimulatedVzenithCamera``: pushes Vzenith-style JSON with base64 pictures.
- ``SimulatedDahuaCamera``: an HTTP server with Digest auth that serves the
  attachFileProc event stream the station connects to.
"""

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from urllib.request import parse_http_list, parse_keqv_list

import httpx
from aiohttp import web

from zhichao.protocols.dahua_traffic import (
    build_event_text,
    build_heartbeat,
    build_part,
)
from zhichao.protocols.hikvision_anpr import (
    PLATE_PICTURE,
    SCENE_PICTURE,
    build_anpr_post,
)
from zhichao.protocols.readings import Picture, PlateColor
from zhichao.protocols.vzenith import build_vzenith_post
from zhichao.sim.devices.pictures import plate_jpeg, scene_jpeg
from zhichao.timeutil import SHANGHAI, utcnow

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0


class SimulatedCamera:
    """Posts plate events to ``url`` (the station's camera listener)."""

    def __init__(self, url: str, *, name: str = "", timeout_s: float = TIMEOUT_S):
        self.url = url
        self.name = name
        self._timeout_s = timeout_s
        self.posted = 0

    def event(
        self,
        plate: str | None,
        color: PlateColor = PlateColor.YELLOW,
        when: datetime | None = None,
        confidence: int | None = 95,
        direction: str | None = "forward",
    ) -> tuple[bytes, str]:
        """(body, content type) of one event, pictures included."""
        when = when or utcnow().astimezone(SHANGHAI)  # cameras send local time
        shown = plate or "无车牌"
        pictures = (
            Picture(PLATE_PICTURE, plate_jpeg(shown, when, color), role="plate"),
            Picture(SCENE_PICTURE, scene_jpeg(shown, when, self.name, color), "scene"),
        )
        return build_anpr_post(
            plate,
            color,
            when,
            pictures,
            confidence=confidence,
            direction=direction,
        )

    async def post(self, plate: str | None, **event) -> httpx.Response:
        """Send one plate event; return the listener's answer."""
        body, content_type = self.event(plate, **event)
        return await self.post_raw(body, content_type)

    async def post_raw(self, body: bytes, content_type: str) -> httpx.Response:
        """Send any body, e.g. a broken one, as the camera would."""
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            response = await client.post(
                self.url, content=body, headers={"Content-Type": content_type}
            )
        self.posted += 1
        logger.debug(
            "camera %s posted %d bytes -> %s",
            self.name,
            len(body),
            response.status_code,
        )
        return response


class SimulatedVzenithCamera(SimulatedCamera):
    """Posts Vzenith-style JSON plate results (pictures as base64)."""

    def event(
        self,
        plate: str | None,
        color: PlateColor = PlateColor.YELLOW,
        when: datetime | None = None,
        confidence: int | None = 95,
        direction: str | None = None,
    ) -> tuple[bytes, str]:
        when = when or utcnow().astimezone(SHANGHAI)
        shown = plate or "无车牌"
        pictures = (
            Picture("plate.jpg", plate_jpeg(shown, when, color), role="plate"),
            Picture("scene.jpg", scene_jpeg(shown, when, self.name, color), "scene"),
        )
        return build_vzenith_post(plate, color, when, pictures, confidence=confidence)


DAHUA_PATH = "/cgi-bin/snapManager.cgi"
DAHUA_REALM = "Login to zhichao-sim"
_DROP = object()


class SimulatedDahuaCamera:
    """A Dahua traffic camera's attachFileProc stream, over real HTTP.

    Serves ``GET /cgi-bin/snapManager.cgi?action=attachFileProc…`` behind
    HTTP Digest (MD5, qop=auth) as ``multipart/x-mixed-replace;
    boundary=myboundary``: a text part and a JPEG per ``snap``, a Heartbeat
    part every ``heartbeat_s`` of quiet. ``cut_next`` sends the first bytes
    of an event and drops the connection, as a failing link would.
    """

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "admin123",
        name: str = "dahua",
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.username = username
        self.password = password
        self.name = name
        self._host = host
        self._requested_port = port
        self._heartbeat_s = heartbeat_s
        self._runner: web.AppRunner | None = None
        self._clients: set[asyncio.Queue] = set()
        self._nonces: set[str] = set()
        self.client_joined = asyncio.Event()
        self.port: int | None = None
        self.refused = 0
        self.sessions = 0

    @property
    def url(self) -> str:
        query = "action=attachFileProc&Flags[0]=Event&Events=[TrafficJunction]"
        return f"http://{self._host}:{self.port}{DAHUA_PATH}?{query}&heartbeat=5"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(DAHUA_PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        logger.info("simulated Dahua camera %s on port %s", self.name, self.port)

    async def stop(self) -> None:
        for queue in list(self._clients):
            queue.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def event_bytes(
        self,
        plate: str | None,
        color: PlateColor = PlateColor.YELLOW,
        when: datetime | None = None,
        confidence: int | None = 95,
    ) -> bytes:
        """The two parts (text, JPEG) of one event."""
        when = when or utcnow().astimezone(SHANGHAI)
        text = build_event_text(plate, color, when, confidence=confidence)
        picture = scene_jpeg(plate or "无车牌", when, self.name, color)
        return build_part(text, "text/plain") + build_part(picture, "image/jpeg")

    def snap(self, plate: str | None, **event) -> int:
        """Send one event to every connected client; returns how many."""
        return self.send_raw(self.event_bytes(plate, **event))

    def send_raw(self, data: bytes) -> int:
        for queue in self._clients:
            queue.put_nowait(data)
        return len(self._clients)

    def cut_next(self, plate: str | None, at: int, **event) -> int:
        """Send the first ``at`` bytes of an event, then drop the connection."""
        partial = self.event_bytes(plate, **event)[:at]
        for queue in self._clients:
            queue.put_nowait((_DROP, partial))
        return len(self._clients)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("action") != "attachFileProc":
            return web.Response(status=400, text="Error\r\nBad Request!\r\n")
        if not self._authorised(request):
            self.refused += 1
            return self._challenge()
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=myboundary"}
        )
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        self._clients.add(queue)
        self.sessions += 1
        self.client_joined.set()
        try:
            await self._serve(request, response, queue)
        except (ConnectionResetError, RuntimeError):
            logger.debug("simulated Dahua camera %s: client went away", self.name)
        finally:
            self._clients.discard(queue)
        return response

    async def _serve(
        self, request: web.Request, response: web.StreamResponse, queue: asyncio.Queue
    ) -> None:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self._heartbeat_s)
            except TimeoutError:
                item = build_heartbeat()
            if item is None:
                return
            if isinstance(item, tuple) and item[0] is _DROP:
                await response.write(item[1])
                if request.transport is not None:
                    request.transport.close()
                return
            await response.write(item)

    def _challenge(self) -> web.Response:
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        challenge = f'Digest realm="{DAHUA_REALM}", qop="auth", nonce="{nonce}", '
        challenge += f'opaque="{secrets.token_hex(8)}"'
        return web.Response(
            status=401, text="Unauthorized", headers={"WWW-Authenticate": challenge}
        )

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        fields = parse_keqv_list(parse_http_list(header[len("Digest ") :]))
        if (
            fields.get("username") != self.username
            or fields.get("realm") != DAHUA_REALM
            or fields.get("nonce") not in self._nonces
        ):
            return False
        ha1 = _md5(f"{self.username}:{DAHUA_REALM}:{self.password}")
        ha2 = _md5(f"{request.method}:{fields.get('uri', '')}")
        nonce = fields["nonce"]
        if fields.get("qop") == "auth":
            nc, cnonce = fields.get("nc", ""), fields.get("cnonce", "")
            expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", ""))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # the Digest scheme's hash
