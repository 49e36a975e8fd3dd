"""Axle identifiers (轮轴识别器): the line format, or relay pulses counted.

Many axle identifiers (and plain axle switches in the road) close a relay once
per axle that rolls over them. The relay is wired to a discrete input of a
Modbus board; ``AxlePulseCounter`` polls that input, counts its rising edges
and, once no new pulse has come for ``gap_s``, reports one ``AxleReading``
with the count for that vehicle. Polling must be faster than the shortest
pulse and the shortest pause between pulses (``docs/devices-outputs.md``).

``open_axle_counter(options, on_reading)`` builds either kind from a plain
mapping: ``line-tcp`` / ``line-serial`` read zhichao's ``AXLE,...`` lines
(``protocols.axle_line``), ``pulses-modbus-tcp`` / ``pulses-modbus-rtu`` count
pulses. Both have ``start()`` and ``stop()``.
"""

import logging
from collections.abc import Callable, Mapping

from zhichao.errors import ConfigError
from zhichao.protocols.axle_line import AxleLineFramer, decode_axle_line
from zhichao.protocols.readings import AxleReading
from zhichao.transports.barriers import _kind, optional, require
from zhichao.transports.position import InputPoller, deliver, input_source
from zhichao.transports.stream_reader import FrameReader

logger = logging.getLogger(__name__)

KINDS = ("line-tcp", "line-serial", "pulses-modbus-tcp", "pulses-modbus-rtu")
POLL_S = 0.01
GAP_S = 2.0
MAX_AXLES = 20


class PulseCounter:
    """Count rising edges of one input; a vehicle ends after ``gap_s`` of quiet."""

    def __init__(self, gap_s: float = GAP_S) -> None:
        self.gap_s = gap_s
        self._level = False
        self._count = 0
        self._last_edge = 0.0

    def update(self, now: float, level: bool) -> AxleReading | None:
        if level and not self._level:
            self._count += 1
            self._last_edge = now
        self._level = level
        if self._count and not level and now - self._last_edge >= self.gap_s:
            count, self._count = self._count, 0
            if count > MAX_AXLES:
                logger.warning("%d axle pulses for one vehicle; not reported", count)
                return None
            return AxleReading(axles=count)
        return None


class AxlePulseCounter(InputPoller):
    """Axle pulses on one discrete input, reported per vehicle."""

    def __init__(
        self,
        source,
        input_no: int,
        on_reading: Callable,
        *,
        poll_s: float = POLL_S,
        gap_s: float = GAP_S,
        invert: bool = False,
        tag: str = "axle pulses",
    ) -> None:
        super().__init__(source, (input_no,), poll_s=poll_s, invert=invert, tag=tag)
        self._on_reading = on_reading
        self._counter = PulseCounter(gap_s)

    async def handle(self, now: float, inputs: tuple[bool, ...]) -> None:
        reading = self._counter.update(now, inputs[0])
        if reading is None:
            return
        self.stats["readings"] += 1
        logger.info("%s: %d axles", self._tag, reading.axles)
        await deliver(self._on_reading, reading)


def open_axle_counter(options: Mapping, on_reading: Callable):
    """An axle identifier from its configuration; ConfigError naming the key."""
    kind = _kind(options, "axle", KINDS)
    if kind == "line-tcp":
        host = require(options, "axle", "host", str, kind)
        port = require(options, "axle", "port", int, kind)
        return FrameReader(
            f"socket://{host}:{port}",
            AxleLineFramer,
            decode_axle_line,
            on_reading,
            device="axle identifier",
        )
    if kind == "line-serial":
        return FrameReader(
            require(options, "axle", "port", str, kind),
            AxleLineFramer,
            decode_axle_line,
            on_reading,
            baudrate=optional(options, "axle", "baudrate", int, 9600),
            device="axle identifier",
        )

    input_no = require(options, "axle", "input", int, kind)
    poll_s = optional(options, "axle", "poll_s", float, POLL_S)
    gap_s = optional(options, "axle", "gap_s", float, GAP_S)
    if gap_s <= poll_s:
        raise ConfigError(f"axle.gap_s: must be longer than poll_s ({poll_s} s)")
    return AxlePulseCounter(
        input_source(options, "axle", kind),
        input_no,
        on_reading,
        poll_s=poll_s,
        gap_s=gap_s,
        invert=optional(options, "axle", "invert", bool, False),
        tag=f"axle pulses {kind}",
    )
