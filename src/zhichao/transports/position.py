"""Position sensors (光幕/地感): is the truck wholly on the deck?

Light curtains across the ends of the deck, and optionally a ground loop
under it, are wired to the discrete inputs of a relay board, read over Modbus
TCP or Modbus RTU. ``DeckSensor`` polls them, debounces them and reports a
``DeckReading`` each time the settled inputs change:

- an end curtain blocked → ``PARTLY`` (a wheel is off the deck);
- both ends clear, and the presence loop (if one is configured) occupied →
  ``WHOLLY``; the loop clear → ``EMPTY``.

Without a presence loop the sensors cannot tell an empty deck from a truck
standing wholly on it; they report ``WHOLLY`` whenever the ends are clear and
the lane takes "occupied" from the weight.

``open_position_sensor(options, on_reading)`` builds one from a plain mapping;
``docs/devices-outputs.md`` lists the keys.
"""

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping

from zhichao.errors import ConfigError, DeviceError
from zhichao.protocols.readings import DeckReading, DeckState
from zhichao.tasks import cancel_and_wait
from zhichao.transports.barriers import _kind, optional, require, rtu_master
from zhichao.transports.relay import ModbusTcpInputs, RtuInputs

logger = logging.getLogger(__name__)

KINDS = ("modbus-tcp", "modbus-rtu")
ROLES = ("front", "rear", "presence")
POLL_S = 0.05
DEBOUNCE_S = 0.2
RETRY_S = 1.0


class Debouncer:
    """Pass a vector of inputs on only once it has held still for ``hold_s``."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self._candidate: tuple[bool, ...] | None = None
        self._since = 0.0
        self.settled: tuple[bool, ...] | None = None

    def update(self, now: float, inputs: tuple[bool, ...]) -> tuple[bool, ...] | None:
        """The new settled inputs when they just changed, else None."""
        if inputs != self._candidate:
            self._candidate, self._since = inputs, now
        if self._candidate == self.settled or now - self._since < self.hold_s:
            return None
        self.settled = self._candidate
        return self.settled


def deck_state(roles: tuple[str, ...], inputs: tuple[bool, ...]) -> DeckState:
    """The deck state that ``inputs`` (True = blocked/occupied) mean."""
    values = dict(zip(roles, inputs, strict=True))
    if values.get("front") or values.get("rear"):
        return DeckState.PARTLY
    if "presence" in values and not values["presence"]:
        return DeckState.EMPTY
    return DeckState.WHOLLY


class InputPoller:
    """Poll a few discrete inputs until stopped; subclasses say what they mean.

    ``source.read(start, count)`` gives the inputs; a failed read is logged
    once when the outage starts and once when it ends, and polling goes on.
    """

    def __init__(
        self,
        source,
        numbers: tuple[int, ...],
        *,
        poll_s: float,
        invert: bool = False,
        tag: str = "inputs",
    ) -> None:
        self.source = source
        self.numbers = numbers
        self.poll_s = poll_s
        self.invert = invert
        self._start = min(numbers)
        self._count = max(numbers) - self._start + 1
        self._task: asyncio.Task | None = None
        self._failing = False
        self._tag = tag
        self.stats = {"polls": 0, "failures": 0, "readings": 0}

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=self._tag)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], what=self._tag)
            self._task = None
        await self.source.close()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            inputs = await self._poll()
            if task is not None and task.cancelling():
                # the Modbus client swallowed the cancellation (pymodbus can):
                # honour it here, or stop() would wait for a poller that never ends
                raise asyncio.CancelledError
            if inputs is not None:
                await self.handle(loop.time(), inputs)
            await asyncio.sleep(self.poll_s if inputs is not None else RETRY_S)

    async def handle(self, now: float, inputs: tuple[bool, ...]) -> None:
        raise NotImplementedError

    async def _poll(self) -> tuple[bool, ...] | None:
        try:
            bits = await self.source.read(self._start, self._count)
        except DeviceError as err:
            self.stats["failures"] += 1
            if not self._failing:
                logger.warning("%s lost: %s", self._tag, err)
                self._failing = True
            return None
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False
        self.stats["polls"] += 1
        return tuple(bits[n - self._start] != self.invert for n in self.numbers)


async def deliver(on_reading: Callable, reading) -> None:
    result = on_reading(reading)
    if inspect.isawaitable(result):
        await result


class DeckSensor(InputPoller):
    """Curtains and loops of one lane, reported as debounced ``DeckReading``s."""

    def __init__(
        self,
        source,
        inputs: Mapping[str, int],
        on_reading: Callable,
        *,
        poll_s: float = POLL_S,
        debounce_s: float = DEBOUNCE_S,
        invert: bool = False,
        tag: str = "position sensors",
    ) -> None:
        self.roles = tuple(role for role in ROLES if role in inputs)
        numbers = tuple(inputs[role] for role in self.roles)
        super().__init__(source, numbers, poll_s=poll_s, invert=invert, tag=tag)
        self._on_reading = on_reading
        self._debouncer = Debouncer(debounce_s)

    async def handle(self, now: float, inputs: tuple[bool, ...]) -> None:
        settled = self._debouncer.update(now, inputs)
        if settled is None:
            return
        reading = DeckReading(deck_state(self.roles, settled), settled)
        self.stats["readings"] += 1
        logger.debug("%s %s %s", self._tag, reading.state.value, settled)
        await deliver(self._on_reading, reading)


def input_source(options: Mapping, section: str, kind: str):
    """The discrete-input reader a ``modbus-tcp`` / ``modbus-rtu`` kind names."""
    unit_id = optional(options, section, "unit_id", int, 1)
    if kind.endswith("modbus-tcp"):
        return ModbusTcpInputs(
            require(options, section, "host", str, kind),
            optional(options, section, "port", int, 502),
            unit_id,
            timeout_s=optional(options, section, "timeout_s", float, 1.0),
        )
    return RtuInputs(rtu_master(options, section, kind), unit_id)


def open_position_sensor(options: Mapping, on_reading: Callable) -> DeckSensor:
    """Position sensors from their configuration; ConfigError naming the key.

    Call ``start()`` on the result to begin polling, ``stop()`` to end.
    """
    kind = _kind(options, "position", KINDS)
    inputs = require(options, "position", "inputs", Mapping, kind)
    unknown = sorted(set(inputs) - set(ROLES))
    if unknown:
        raise ConfigError(
            f"position.inputs: unknown role {unknown[0]!r}; roles are "
            + ", ".join(ROLES)
        )
    if "front" not in inputs and "rear" not in inputs:
        raise ConfigError("position.inputs: needs a front or a rear curtain")
    numbers = {}
    for role, number in inputs.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ConfigError(
                f"position.inputs.{role}: an input number, not {number!r}"
            )
        numbers[role] = number
    if len(set(numbers.values())) != len(numbers):
        raise ConfigError("position.inputs: two roles share one input")

    return DeckSensor(
        input_source(options, "position", kind),
        numbers,
        on_reading,
        poll_s=optional(options, "position", "poll_s", float, POLL_S),
        debounce_s=optional(options, "position", "debounce_s", float, DEBOUNCE_S),
        invert=optional(options, "position", "invert", bool, False),
        tag=f"position sensors {kind}",
    )
