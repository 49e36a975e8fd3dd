"""Barriers (道闸): one interface over Modbus TCP coils, Modbus RTU coils and
the Hikvision barrier ISAPI.

Every barrier has ``async open()`` (let the truck through), ``async close()``
(lower the arm) and ``async aclose()`` (release the connection). A relay
barrier opens with a pulse on ``open_coil`` (or holds it on when ``hold`` is
set), and closes with a pulse on ``close_coil`` when the controller has a close
input; without one, ``close()`` only switches a held open coil off and the
barrier's own loop lowers the arm behind the truck.

``open_barrier(options)`` builds one from a plain mapping (a TOML table);
``docs/devices-outputs.md`` lists the keys per ``kind``.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import httpx

from zhichao.errors import ConfigError, DeviceError
from zhichao.transports.relay import RTU_RETRIES, ModbusRelay, RtuMaster

logger = logging.getLogger(__name__)

KINDS = ("modbus-tcp", "modbus-rtu", "hikvision-isapi")
ISAPI_PATH = "/ISAPI/Parking/channels/{channel}/barrierGate"
ISAPI_NAMESPACE = "http://www.isapi.org/ver20/XMLSchema"
ISAPI_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<BarrierGate version="2.0" xmlns="{namespace}">'
    "<ctrlMode>{mode}</ctrlMode>"
    "</BarrierGate>"
)
TIMEOUT_S = 2.0


class Barrier(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def aclose(self) -> None: ...


class RelayBarrier:
    """A barrier wired to relay coils; ``write(coil, on)`` drives one coil."""

    def __init__(
        self,
        write,
        release,
        *,
        open_coil: int,
        close_coil: int | None,
        pulse_s: float,
        hold: bool,
        tag: str,
    ) -> None:
        self._write = write
        self._release = release
        self.open_coil = open_coil
        self.close_coil = close_coil
        self.pulse_s = pulse_s
        self.hold = hold
        self._lock = asyncio.Lock()
        self._tag = tag

    async def open(self) -> None:
        async with self._lock:
            if self.hold:
                await self._write(self.open_coil, True)
            else:
                await self._pulse(self.open_coil)
        logger.info("%s opened", self._tag)

    async def close(self) -> None:
        async with self._lock:
            if self.hold:
                await self._write(self.open_coil, False)
            if self.close_coil is not None:
                await self._pulse(self.close_coil)
        logger.info("%s closed", self._tag)

    async def pulse(self) -> None:
        """The older name of ``open`` (the station runtime calls it)."""
        await self.open()

    async def aclose(self) -> None:
        await self._release()

    async def _pulse(self, coil: int) -> None:
        try:
            await self._write(coil, True)
            await asyncio.sleep(self.pulse_s)
        finally:
            # switched off even when cancelled, so the output is not left on
            await asyncio.shield(self._write(coil, False))


class HikvisionBarrier:
    """A Hikvision barrier controller (or ANPR camera driving one) over ISAPI.

    ``PUT /ISAPI/Parking/channels/<channel>/barrierGate`` with the body
    ``ISAPI_BODY``, ``ctrlMode`` ``open`` or ``close``; HTTP Digest auth.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str = "",
        password: str = "",
        channel: int = 1,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.url = url.rstrip("/") + ISAPI_PATH.format(channel=channel)
        auth = httpx.DigestAuth(username, password) if username else None
        self._client = httpx.AsyncClient(auth=auth, timeout=timeout_s)
        self._failing = False
        self._tag = f"barrier {self.url}"

    async def open(self) -> None:
        await self._send("open")

    async def close(self) -> None:
        await self._send("close")

    async def pulse(self) -> None:
        await self.open()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, mode: str) -> None:
        body = ISAPI_BODY.format(namespace=ISAPI_NAMESPACE, mode=mode)
        logger.debug("%s tx %s", self._tag, body)
        try:
            response = await self._client.put(
                self.url,
                content=body.encode(),
                headers={"Content-Type": "application/xml"},
            )
        except httpx.HTTPError as err:
            self._note_failure(err)
            reason = str(err) or f"{type(err).__name__}, no answer"
            raise DeviceError(f"{self._tag}: {mode}: {reason}") from err
        if response.status_code != 200:
            self._note_failure(response.status_code)
            raise DeviceError(
                f"{self._tag}: {mode} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False
        logger.info("%s %s", self._tag, mode)

    def _note_failure(self, what) -> None:
        if not self._failing:
            logger.warning("%s failed: %s", self._tag, what)
            self._failing = True


def open_barrier(options: Mapping) -> Barrier:
    """A barrier from its configuration; ConfigError naming the bad key."""
    kind = _kind(options, "barrier", KINDS)
    if kind == "hikvision-isapi":
        return HikvisionBarrier(
            require(options, "barrier", "url", str, kind),
            username=optional(options, "barrier", "username", str, ""),
            password=optional(options, "barrier", "password", str, ""),
            channel=optional(options, "barrier", "channel", int, 1),
            timeout_s=optional(options, "barrier", "timeout_s", float, TIMEOUT_S),
        )

    coils = {
        "open_coil": optional(options, "barrier", "open_coil", int, 0),
        "close_coil": optional(options, "barrier", "close_coil", int, None),
        "pulse_s": optional(options, "barrier", "pulse_s", float, 0.5),
        "hold": optional(options, "barrier", "hold", bool, False),
    }
    unit_id = optional(options, "barrier", "unit_id", int, 1)
    if kind == "modbus-tcp":
        host = require(options, "barrier", "host", str, kind)
        port = optional(options, "barrier", "port", int, 502)
        relays: dict[int, ModbusRelay] = {}

        async def write_tcp(coil: int, on: bool) -> None:
            if coil not in relays:
                relays[coil] = ModbusRelay(host, port, unit_id=unit_id, coil=coil)
            await relays[coil].set(on)

        async def release_tcp() -> None:
            for relay in relays.values():
                await relay.close()

        tag = f"barrier modbus-tcp {host}:{port}"
        return RelayBarrier(write_tcp, release_tcp, tag=tag, **coils)

    master = rtu_master(options, "barrier", kind)

    async def write_rtu(coil: int, on: bool) -> None:
        await master.write_coil(unit_id, coil, on)

    tag = f"barrier modbus-rtu {master.url} unit {unit_id}"
    return RelayBarrier(write_rtu, master.close, tag=tag, **coils)


# -- option helpers shared by the device factories -------------------------


def rtu_master(options: Mapping, section: str, kind: str) -> RtuMaster:
    parity = optional(options, section, "parity", str, "N")
    if parity not in ("N", "E", "O"):
        raise ConfigError(f'{section}.parity: "N", "E" or "O", not {parity!r}')
    return RtuMaster(
        require(options, section, "port", str, kind),
        baudrate=optional(options, section, "baudrate", int, 9600),
        parity=parity,
        stopbits=optional(options, section, "stopbits", int, 1),
        timeout_s=optional(options, section, "timeout_s", float, 1.0),
        retries=optional(options, section, "retries", int, RTU_RETRIES),
    )


def _kind(options: Mapping, section: str, kinds: tuple[str, ...]) -> str:
    if not isinstance(options, Mapping):
        raise ConfigError(f"{section}: a table of options is required")
    kind = options.get("kind")
    if kind is None:
        raise ConfigError(f"{section}.kind: required, one of {', '.join(kinds)}")
    if kind not in kinds:
        raise ConfigError(f"{section}.kind: {kind!r} is not one of {', '.join(kinds)}")
    return kind


def require(options: Mapping, section: str, key: str, kind_of: type, kind: str):
    if options.get(key) is None:
        raise ConfigError(f'{section}.{key}: required for kind "{kind}"')
    return _typed(options, section, key, kind_of)


def optional(options: Mapping, section: str, key: str, kind_of: type, default):
    if options.get(key) is None:
        return default
    return _typed(options, section, key, kind_of)


def _typed(options: Mapping, section: str, key: str, kind_of: type):
    value = options[key]
    if kind_of is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind_of is int and isinstance(value, bool):
        raise ConfigError(f"{section}.{key}: a whole number, not {value!r}")
    if not isinstance(value, kind_of):
        raise ConfigError(f"{section}.{key}: must be {kind_of.__name__}, not {value!r}")
    if kind_of in (int, float) and value < 0:
        raise ConfigError(f"{section}.{key}: must not be negative, not {value!r}")
    return value
