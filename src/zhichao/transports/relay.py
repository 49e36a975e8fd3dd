"""Barrier relay on Modbus TCP: pulse one coil to open the barrier.

Which coil opens the barrier and for how long the pulse lasts are per-lane
settings. The connection is opened on first use and reopened after a failure;
pymodbus errors become DeviceError here.
"""

import asyncio
import logging

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from zhichao.errors import DeviceError

logger = logging.getLogger(__name__)

TIMEOUT_S = 1.0


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
