"""A simulated weighing indicator streaming XK3190 tF=0 frames to a pty.

The weight behaves like a truck on a weighbridge: it ramps up over a few
seconds as the truck drives on, swings and settles to within one division,
and ramps off again. Frames go out ``rate`` times a second, each one byte by
byte at the pace of a real 8N1 line at ``baudrate`` (ten bits per byte), so a
reader sees the same partial reads it would see on hardware.
"""

import asyncio
import contextlib
import logging
import math
import os
import random
import tty
from collections.abc import Callable
from pathlib import Path

from zhichao.protocols.xk3190 import encode_tf0

logger = logging.getLogger(__name__)

BITS_PER_BYTE = 10  # start bit, 8 data bits, stop bit
XOR_FIELD = slice(9, 11)  # the two ASCII hex digits of a tF=0 frame


def open_pty_pair(link: str | os.PathLike | None = None) -> tuple[int, str]:
    """Open a pseudo-terminal; return (master fd, path a reader opens).

    The slave side is set raw (no echo, no line editing) and closed again, so
    the reader is its only user. With ``link`` the path is a symlink to the
    slave, re-pointed on every call: a stable name, as udev gives a USB port.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    if link is None:
        return master, path

    link = Path(link)
    staging = link.with_name(link.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    staging.symlink_to(path)
    staging.replace(link)
    return master, str(link)


class WeightModel:
    """The true load on the deck over time, as the indicator would display it."""

    def __init__(
        self,
        division_kg: int = 20,
        settle_tau_s: float = 0.7,
        sway_hz: float = 1.3,
        flicker: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.division_kg = division_kg
        self._settle_tau_s = settle_tau_s
        self._sway_hz = sway_hz
        self._flicker = flicker
        self._rng = rng or random.Random()
        self._start_kg = 0.0
        self.target_kg = 0.0
        self._ramp_start = 0.0
        self._ramp_s = 0.0

    def set_target(self, kg: float, now: float, ramp_s: float) -> None:
        self._start_kg = self._true(now)
        self.target_kg = kg
        self._ramp_start = now
        self._ramp_s = max(ramp_s, 0.0)

    def settle_at(self, kg: float) -> None:
        """Be at ``kg`` already, with only the last-division flicker left."""
        self._start_kg = self.target_kg = kg
        self._ramp_start = float("-inf")
        self._ramp_s = 0.0

    def displayed(self, now: float) -> int:
        """The displayed weight at ``now``, rounded to the division."""
        e = self.division_kg
        return round(self._true(now) / e) * e

    def _true(self, now: float) -> float:
        elapsed = now - self._ramp_start
        if elapsed < self._ramp_s:
            share = elapsed / self._ramp_s
            vibration = self._rng.uniform(-3, 3) * self.division_kg
            return (
                self._start_kg + (self.target_kg - self._start_kg) * share + vibration
            )
        if self.target_kg == 0:
            return 0.0  # an empty deck reads zero: zero tracking
        return self.target_kg + self._settling(elapsed - self._ramp_s)

    def _settling(self, since: float) -> float:
        swing = max(abs(self.target_kg - self._start_kg) * 0.02, 5 * self.division_kg)
        amplitude = swing * math.exp(-since / self._settle_tau_s)
        if amplitude >= self.division_kg / 2:
            return amplitude * math.sin(2 * math.pi * self._sway_hz * since)
        if self._rng.random() < self._flicker:
            return self._rng.choice((-1, 1)) * self.division_kg
        return 0.0


class SimulatedIndicator:
    """Writes tF=0 frames to the master side of a pty, like an XK3190."""

    def __init__(
        self,
        master_fd: int,
        *,
        rate: float = 10.0,
        baudrate: int = 9600,
        model: WeightModel | None = None,
        encode: Callable[[int], bytes] = encode_tf0,
        link: str | os.PathLike | None = None,
    ) -> None:
        self._fd = master_fd
        self._period_s = 1.0 / rate
        self._byte_s = BITS_PER_BYTE / baudrate
        self.model = model or WeightModel()
        self._encode = encode
        self._link = link
        self._injected: list[bytes] = []
        self._task: asyncio.Task | None = None
        self.frames_sent = 0
        self.bytes_dropped = 0

    @property
    def master_fd(self) -> int:
        return self._fd

    def drive_on(self, kg: float, ramp_s: float = 3.0) -> None:
        """A truck of ``kg`` gross drives onto the deck."""
        self.model.set_target(kg, _now(), ramp_s)

    def drive_off(self, ramp_s: float = 2.0) -> None:
        self.model.set_target(0, _now(), ramp_s)

    def set_weight(self, kg: float) -> None:
        """Jump to ``kg`` at once (already settled apart from the flicker)."""
        self.model.settle_at(kg)

    def inject(self, raw: bytes) -> None:
        """Send ``raw`` (garbage, a fragment) before the next frame."""
        self._injected.append(bytes(raw))

    def inject_bad_checksum(self) -> None:
        """Send one frame whose XOR digits do not match its content."""
        frame = bytearray(self._encode(self.model.displayed(_now())))
        frame[XOR_FIELD] = b"00" if bytes(frame[XOR_FIELD]) != b"00" else b"FF"
        self.inject(bytes(frame))

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="simulated indicator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def close(self) -> None:
        """Close the master side: the reader sees the port vanish."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def reopen(self) -> str:
        """Close the pty and open a new one (at the same link, if any)."""
        self.close()
        self._fd, path = open_pty_pair(self._link)
        logger.info("indicator reopened at %s", path)
        return path

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_frame = loop.time()
        while True:
            for raw in self._take_injected():
                await self._write_paced(raw)
            await self._write_paced(self._encode(self.model.displayed(_now())))
            self.frames_sent += 1
            next_frame += self._period_s
            await asyncio.sleep(max(0.0, next_frame - loop.time()))

    def _take_injected(self) -> list[bytes]:
        injected, self._injected = self._injected, []
        return injected

    async def _write_paced(self, data: bytes) -> None:
        """Write byte by byte, each when the line would have finished it."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, byte in enumerate(data):
            due = start + (index + 1) * self._byte_s
            await asyncio.sleep(max(0.0, due - loop.time()))
            self._write(bytes([byte]))

    def _write(self, data: bytes) -> None:
        if self._fd < 0:
            self.bytes_dropped += len(data)
            return
        try:
            os.write(self._fd, data)
        except (BlockingIOError, OSError):
            # Nobody is reading the line: the bytes are lost, as on a real wire.
            self.bytes_dropped += len(data)


def _now() -> float:
    return asyncio.get_running_loop().time()
