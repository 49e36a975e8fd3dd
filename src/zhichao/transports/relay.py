"""Modbus relay boards (继电器板): coils out, discrete inputs in.

``ModbusRelay`` pulses one coil of a Modbus TCP board to open a barrier; which
coil and for how long are per-lane settings. ``ModbusTcpInputs`` reads a TCP
board's discrete inputs (light curtains, loops, axle pulses) and ``RtuMaster``
does both over a serial line in Modbus RTU, with zhichao's own RTU frames
(``protocols.modbus_rtu``) over pyserial. Connections are opened on first use
and reopened after a failure; library errors become DeviceError here.
"""

import asyncio
import contextlib
import logging

import serial
import serial_asyncio_fast
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from zhichao.errors import DeviceError, ProtocolError
from zhichao.protocols import modbus_rtu

logger = logging.getLogger(__name__)

TIMEOUT_S = 1.0
RTU_RETRIES = 1  # a request whose reply is lost or damaged is sent once more


class ModbusRelay:
    """One relay output (coil) of a Modbus TCP relay board."""

    def __init__(
        self,
        host: str,
        port: int = 502,
        unit_id: int = 1,
        coil: int = 0,
        pulse_s: float = 0.5,
        *,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.coil = coil
        self.pulse_s = pulse_s
        self._timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._failing = False
        self._tag = f"relay {host}:{port} unit {unit_id} coil {coil}"

    async def pulse(self) -> None:
        """Switch the coil on, wait ``pulse_s``, switch it off again.

        The off command is sent even when the caller is cancelled during the
        pulse, so the barrier output is not left on.
        """
        async with self._lock:
            await self._write(True)
            try:
                await asyncio.sleep(self.pulse_s)
            finally:
                await asyncio.shield(self._write(False))

    async def set(self, on: bool) -> None:
        """Hold the coil on or off (for a barrier kept open by hand)."""
        async with self._lock:
            await self._write(on)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _write(self, on: bool) -> None:
        try:
            client = await self._connected_client()
            response = await client.write_coil(self.coil, on, device_id=self.unit_id)
        except (ModbusException, OSError, TimeoutError) as err:
            await self._fail(f"write coil {'on' if on else 'off'}: {err}", err)
        if response.isError():
            await self._fail(f"write coil refused: {response}", None)

        logger.debug("%s tx coil %s", self._tag, "on" if on else "off")
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False

    async def _connected_client(self) -> AsyncModbusTcpClient:
        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.host,
                port=self.port,
                timeout=self._timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        if not self._client.connected and not await self._client.connect():
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
        return self._client

    async def _fail(self, message: str, err: Exception | None) -> None:
        if not self._failing:
            logger.warning("%s failed: %s", self._tag, message)
            self._failing = True
        await self.close()  # the next call connects afresh
        raise DeviceError(f"{self._tag}: {message}") from err


class ModbusTcpInputs:
    """The discrete inputs (function 02) of one unit of a Modbus TCP board."""

    def __init__(
        self,
        host: str,
        port: int = 502,
        unit_id: int = 1,
        *,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self._timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._tag = f"inputs {host}:{port} unit {unit_id}"

    async def read(self, start: int, count: int) -> tuple[bool, ...]:
        """Inputs ``start`` .. ``start + count - 1``; DeviceError if unreadable."""
        async with self._lock:
            try:
                client = await self._connected_client()
                response = await client.read_discrete_inputs(
                    start, count=count, device_id=self.unit_id
                )
            except (ModbusException, OSError, TimeoutError) as err:
                await self._drop()
                raise DeviceError(f"{self._tag}: read inputs: {err}") from err
            if response.isError():
                raise DeviceError(f"{self._tag}: read inputs refused: {response}")
        bits = tuple(bool(bit) for bit in response.bits[:count])
        logger.debug("%s rx inputs %s", self._tag, _bits(bits))
        return bits

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected_client(self) -> AsyncModbusTcpClient:
        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.host,
                port=self.port,
                timeout=self._timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        if not self._client.connected and not await self._client.connect():
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
        return self._client


class RtuMaster:
    """A Modbus RTU master on one serial line (RS-485 through a USB adapter).

    ``url`` is anything pyserial opens (``/dev/ttyUSB0``, a pty, or
    ``socket://host:port`` for a serial server in raw mode). One request at a
    time; after a timeout or a damaged reply the port is reopened, so stale
    bytes never answer the next request, and the request is sent again up to
    ``retries`` times (a frame lost to noise on the line is not yet a fault;
    every request this master sends may be repeated without harm).
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        timeout_s: float = TIMEOUT_S,
        retries: int = RTU_RETRIES,
    ) -> None:
        self.url = url
        self._serial = {
            "baudrate": baudrate,
            "parity": parity,
            "stopbits": stopbits,
            "bytesize": 8,
        }
        # 3.5 character times of silence end a frame (11 bits per character)
        self._silence_s = max(3.5 * 11 / baudrate, 0.00175)
        self._timeout_s = timeout_s
        self._retries = retries
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._failing = False
        self._tag = f"rtu {url}"

    async def write_coil(self, unit: int, coil: int, on: bool) -> None:
        request = modbus_rtu.write_coil_request(unit, coil, on)
        reply = await self._transact(request, modbus_rtu.WRITE_SINGLE_COIL)
        if modbus_rtu.parse_write_coil(reply) != (coil, on) or reply.unit != unit:
            raise DeviceError(f"{self._tag}: write coil {coil} echo does not match")

    async def read_inputs(self, unit: int, start: int, count: int) -> tuple[bool, ...]:
        function = modbus_rtu.READ_DISCRETE_INPUTS
        request = modbus_rtu.read_bits_request(unit, function, start, count)
        reply = await self._transact(request, function)
        return modbus_rtu.parse_read_bits_reply(reply, function, count)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _transact(self, request: bytes, function: int) -> modbus_rtu.RtuFrame:
        async with self._lock:
            for attempt in range(self._retries + 1):
                try:
                    frame = await self._exchange(request, function)
                    break
                except asyncio.CancelledError:
                    await self._drop()  # a reply may still come: never read it
                    raise
                except modbus_rtu.ModbusReplyError as err:
                    raise DeviceError(f"{self._tag}: refused: {err}") from err
                except (
                    ProtocolError,
                    OSError,
                    TimeoutError,
                    serial.SerialException,
                ) as e:
                    await self._drop()
                    reason = self._reason(e)
                    if attempt < self._retries:
                        logger.debug("%s %s; asking again", self._tag, reason)
                        continue
                    self._note_failure(reason)
                    raise DeviceError(f"{self._tag}: {reason}") from e
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False
        return frame

    async def _exchange(self, request: bytes, function: int) -> modbus_rtu.RtuFrame:
        if self._writer is None:
            self._reader, self._writer = await asyncio.wait_for(
                serial_asyncio_fast.open_serial_connection(
                    url=self.url, **self._serial
                ),
                self._timeout_s,
            )
        await asyncio.sleep(self._silence_s)
        logger.debug("%s tx %s", self._tag, request.hex(" "))
        self._writer.write(request)
        await asyncio.wait_for(self._writer.drain(), self._timeout_s)

        reply = await asyncio.wait_for(self._read_reply(function), self._timeout_s)
        logger.debug("%s rx %s", self._tag, reply.hex(" "))
        frame = modbus_rtu.decode_frame(reply)
        if frame.unit != request[0]:
            raise ProtocolError(f"reply from unit {frame.unit}, asked {request[0]}")
        if frame.function == function | modbus_rtu.EXCEPTION_FLAG:
            raise modbus_rtu.ModbusReplyError(function, frame.data[0])
        return frame

    async def _read_reply(self, function: int) -> bytes:
        reply = bytearray()
        while True:
            size = modbus_rtu.reply_length(bytes(reply), function)
            if size is not None and len(reply) >= size:
                return bytes(reply[:size])
            chunk = await self._reader.read(256 if size is None else size - len(reply))
            if not chunk:
                raise ConnectionError("serial line closed")
            reply += chunk

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), self._timeout_s)

    def _reason(self, err: Exception) -> str:
        if isinstance(err, TimeoutError):  # str() of a timeout is empty
            return f"no reply within {self._timeout_s:g} s"
        return str(err) or type(err).__name__

    def _note_failure(self, reason: str) -> None:
        if not self._failing:
            logger.warning("%s failed: %s", self._tag, reason)
            self._failing = True


class RtuInputs:
    """The discrete inputs of one unit on an RTU line, read like ModbusTcpInputs."""

    def __init__(self, master: RtuMaster, unit_id: int = 1) -> None:
        self.master = master
        self.unit_id = unit_id

    async def read(self, start: int, count: int) -> tuple[bool, ...]:
        return await self.master.read_inputs(self.unit_id, start, count)

    async def close(self) -> None:
        await self.master.close()


def _bits(bits: tuple[bool, ...]) -> str:
    return "".join("1" if bit else "0" for bit in bits)
