"""Simulated barriers: a Modbus RTU relay board on a pty, and a Hikvision
barrier controller answering the ISAPI over HTTP with Digest auth.

``SimulatedRtuBoard`` reads RTU requests from the master side of a
pseudo-terminal with zhichao's own RTU framing, answers write single coil (05),
read coils (01) and read discrete inputs (02), and records every coil write
like the TCP relay simulator does. Its discrete inputs are set by the test
(curtains, loops, axle pulses).

``SimulatedHikvisionBarrier`` serves ``PUT /ISAPI/Parking/channels/<n>/
barrierGate`` and records the ``ctrlMode`` of each accepted body.
"""

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets

import defusedxml.ElementTree as SafeET
from aiohttp import web

from zhichao.errors import ProtocolError
from zhichao.protocols import modbus_rtu
from zhichao.sim.devices.relay import CoilWrite
from zhichao.sim.devices.scale import open_pty_pair
from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)

REALM = "zhichao-barrier"
CTRL_MODES = ("open", "close", "lock", "unlock")
_DIGEST_PART = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')


class SimulatedRtuBoard:
    """A relay board answering Modbus RTU on a pty; ``path`` is its port."""

    def __init__(self, *, unit_id: int = 1, coils: int = 16, inputs: int = 16):
        self.unit_id = unit_id
        self.coils = [False] * coils
        self.inputs = [False] * inputs
        self.writes: list[CoilWrite] = []
        self.requests = 0
        self.bad_requests = 0
        self.lose_replies = 0  # the next this many replies are lost on the line
        self.path: str | None = None
        self._fd = -1
        self._task: asyncio.Task | None = None
        self._written = asyncio.Condition()

    def coil_state(self, coil: int) -> bool:
        return self.coils[coil]

    def set_input(self, number: int, on: bool) -> None:
        self.inputs[number] = on

    async def pulse_input(
        self, number: int, count: int = 1, high_s: float = 0.05, low_s: float = 0.05
    ) -> None:
        for index in range(count):
            self.set_input(number, True)
            await asyncio.sleep(high_s)
            self.set_input(number, False)
            if index + 1 < count:
                await asyncio.sleep(low_s)

    async def start(self) -> None:
        self._fd, self.path = open_pty_pair()
        self._task = asyncio.create_task(self._serve(), name="simulated rtu board")
        logger.info("RTU relay board unit %s on %s", self.unit_id, self.path)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    async def wait_for_writes(self, count: int, timeout: float = 5.0) -> None:
        async with self._written:
            await asyncio.wait_for(
                self._written.wait_for(lambda: len(self.writes) >= count), timeout
            )

    async def _serve(self) -> None:
        framer = modbus_rtu.RtuRequestFramer()
        while True:
            data = await read_master(self._fd)
            for request in framer.feed(data):
                reply = await self._answer(request)
                if reply is not None and self.lose_replies > 0:
                    self.lose_replies -= 1
                elif reply is not None:
                    _write_master(self._fd, reply)
            if framer.take_discarded():
                self.bad_requests += 1

    async def _answer(self, raw: bytes) -> bytes | None:
        try:
            frame = modbus_rtu.decode_frame(raw)
        except ProtocolError:
            self.bad_requests += 1
            return None
        if frame.unit != self.unit_id:
            return None  # another unit on the same line
        self.requests += 1
        try:
            if frame.function == modbus_rtu.WRITE_SINGLE_COIL:
                return await self._write_coil(frame, raw)
            return self._read_bits(frame)
        except IndexError:
            code = modbus_rtu.ILLEGAL_ADDRESS
        except ProtocolError:
            code = modbus_rtu.ILLEGAL_VALUE
        return modbus_rtu.exception_reply(self.unit_id, frame.function, code)

    async def _write_coil(self, frame, raw: bytes) -> bytes:
        coil, on = modbus_rtu.parse_write_coil(frame)
        self.coils[coil] = on
        now = asyncio.get_running_loop().time()
        self.writes.append(CoilWrite(self.unit_id, coil, on, now, utcnow()))
        logger.info("RTU board coil %s %s", coil, "on" if on else "off")
        async with self._written:
            self._written.notify_all()
        return raw  # the reply to write single coil echoes the request

    def _read_bits(self, frame) -> bytes:
        start, count = modbus_rtu.parse_read_request(frame)
        table = self.coils if frame.function == modbus_rtu.READ_COILS else self.inputs
        if start + count > len(table):
            raise IndexError(start + count)
        bits = table[start : start + count]
        return modbus_rtu.read_bits_reply(self.unit_id, frame.function, bits)


async def read_master(fd: int) -> bytes:
    """The next bytes from a pty master; waits while no one holds the slave."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_reader(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            continue
        except OSError as err:
            if err.errno != errno.EIO:
                raise
            await asyncio.sleep(0.05)  # the slave is closed: nobody on the line
            continue
        if data:
            return data
        await asyncio.sleep(0.05)


def _write_master(fd: int, data: bytes) -> None:
    with contextlib.suppress(BlockingIOError, OSError):
        os.write(fd, data)


class SimulatedHikvisionBarrier:
    """An HTTP server on ``host:port`` that takes barrier commands by ISAPI."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "admin",
        password: str = "sim12345",
    ) -> None:
        self._host = host
        self._requested_port = port
        self._username = username
        self._password = password
        self._nonces: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.port: int | None = None
        self.commands: list[tuple[int, str]] = []  # (channel, ctrlMode)
        self.bodies: list[bytes] = []
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return bool(self.commands) and self.commands[-1][1] == "open"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_put(
            r"/ISAPI/Parking/channels/{channel:\d+}/barrierGate", self._put
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        logger.info("Hikvision barrier ISAPI on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for_commands(self, count: int, timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.commands) >= count), timeout
            )

    async def _put(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            self.refused += 1
            nonce = secrets.token_hex(16)
            self._nonces.add(nonce)
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{nonce}"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})

        body = await request.read()
        mode = _ctrl_mode(body)
        if mode is None:
            return _isapi_status(400, "badXmlContent")
        self.bodies.append(body)
        self.commands.append((int(request.match_info["channel"]), mode))
        logger.info("Hikvision barrier %s", mode)
        async with self._changed:
            self._changed.notify_all()
        return _isapi_status(200, "OK")

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        parts = {m[1]: m[2] or m[3] for m in _DIGEST_PART.finditer(header[7:])}
        if parts.get("username") != self._username or parts.get("nonce") not in (
            self._nonces
        ):
            return False
        ha1 = _md5(f"{self._username}:{REALM}:{self._password}")
        ha2 = _md5(f"{request.method}:{parts.get('uri', '')}")
        expected = _md5(
            ":".join(
                (ha1, parts["nonce"], parts.get("nc", ""), parts.get("cnonce", ""))
                + (parts.get("qop", ""), ha2)
            )
        )
        return secrets.compare_digest(expected, parts.get("response", ""))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _ctrl_mode(body: bytes) -> str | None:
    try:
        root = SafeET.fromstring(body)
    except Exception:  # broken or hostile XML: refused, as the device would
        return None
    if root.tag.rpartition("}")[2] != "BarrierGate":
        return None
    for child in root:
        if child.tag.rpartition("}")[2] == "ctrlMode" and child.text in CTRL_MODES:
            return child.text
    return None


def _isapi_status(status: int, text: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        f"<statusCode>{1 if status == 200 else 4}</statusCode>"
        f"<statusString>{text}</statusString>"
        "</ResponseStatus>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")
