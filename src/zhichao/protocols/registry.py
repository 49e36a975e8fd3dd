"""Scale protocols by name, as a lane's configuration names them.

The format of an indicator is always a per-lane setting, never guessed from a
model name: the same model can be set to several output modes.

``build_scale_protocol(name, options)`` builds a protocol from its name and an
options mapping (the lane's ``[scale.options]`` table, or ``--option`` on the
command line). Every protocol takes ``parity_bit`` (``none``, ``even``,
``odd``): the parity of 7-bit data read on a port set to 8 data bits, checked
and removed on the bytes. The other options are listed in ``OPTIONS``.
"""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from zhichao.errors import ConfigError
from zhichao.protocols import ascii_line, custom, toledo, xk3190
from zhichao.protocols.framing import PARITIES, Item, ParityStripper
from zhichao.protocols.readings import WeightReading

DEFAULT_POLL_INTERVAL_S = 0.1


class Framer(Protocol):
    """Cuts a device byte stream into candidate frames."""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every frame they complete (nothing until complete)."""
        ...

    def take_discarded(self) -> bytes:
        """Bytes skipped since the last call: garbage, fragments, overlong runs."""
        ...

    def flush(self) -> Any:
        """End of stream: move an unfinished frame to the discarded bytes."""
        ...


class OrderedFramer(Framer, Protocol):
    """A framer that can also report frames and discarded runs in order."""

    def feed_items(self, data: bytes) -> list[Item]: ...


@dataclass(frozen=True)
class ScaleProtocol:
    """A weighing indicator's output format: how to frame it and decode a frame.

    ``decode(frame, unit)`` takes the unit the indicator displays ("kg" or "t").
    A command-mode format has a ``poll_request`` the host sends every
    ``poll_interval_s`` seconds; continuous formats have None.
    """

    name: str
    new_framer: Callable[[], Framer]
    decode: Callable[[bytes, str], WeightReading]
    poll_request: bytes | None = None
    poll_interval_s: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def _xk3190_tf1(options: Mapping[str, Any]) -> dict:
    address = _int_option(options, "address", 1, 1, 26)
    command = options.get("command", "gross")
    if command not in xk3190.TF1_COMMANDS:
        raise ConfigError(f"option 'command' must be gross or net, got {command!r}")
    interval = _float_option(options, "poll_interval_s", DEFAULT_POLL_INTERVAL_S)
    return {
        "new_framer": xk3190.Tf1Framer,
        "decode": functools.partial(xk3190.decode_tf1, address=address),
        "poll_request": xk3190.encode_tf1_request(address, command),
        "poll_interval_s": interval,
    }


def _toledo(options: Mapping[str, Any]) -> dict:
    checksum = _bool_option(options, "checksum", True)
    return {
        "new_framer": functools.partial(toledo.ToledoFramer, checksum),
        "decode": functools.partial(toledo.decode_toledo, checksum=checksum),
    }


def _custom(options: Mapping[str, Any]) -> dict:
    described = custom.parse_custom(
        {k: v for k, v in options.items() if k != "parity_bit"}
    )
    return {"new_framer": described.new_framer, "decode": described.decode}


def _fixed(new_framer, decode) -> Callable[[Mapping[str, Any]], dict]:
    return lambda options: {"new_framer": new_framer, "decode": decode}


# name -> (builder from options, the options it takes besides parity_bit)
_BUILDERS: dict[str, tuple[Callable[[Mapping[str, Any]], dict], tuple[str, ...]]] = {
    "xk3190-tf0": (_fixed(xk3190.Tf0Framer, xk3190.decode_tf0), ()),
    "xk3190-tf1": (_xk3190_tf1, ("address", "command", "poll_interval_s")),
    "xk3190-eq": (_fixed(xk3190.EqFramer, xk3190.decode_eq), ()),
    "xk3190-a12": (_fixed(xk3190.A12Framer, xk3190.decode_a12), ()),
    "toledo-continuous": (_toledo, ("checksum",)),
    "ascii-line": (
        _fixed(ascii_line.AsciiLineFramer, ascii_line.decode_ascii_line),
        (),
    ),
    "custom": (_custom, custom.OPTIONS),
}
OPTIONS = {name: ("parity_bit", *keys) for name, (_, keys) in _BUILDERS.items()}


def scale_protocol_names() -> list[str]:
    """The names a lane's configuration may use, sorted."""
    return sorted(_BUILDERS)


def get_scale_protocol(name: str) -> ScaleProtocol:
    """Look a scale protocol up by name, with default options."""
    return build_scale_protocol(name)


def build_scale_protocol(
    name: str, options: Mapping[str, Any] | None = None
) -> ScaleProtocol:
    """Build a protocol from its name and options; ConfigError names the key."""
    options = dict(options or {})
    try:
        builder, keys = _BUILDERS[name]
    except KeyError:
        known = ", ".join(scale_protocol_names())
        raise ConfigError(
            f"unknown scale protocol {name!r}; known protocols: {known}"
        ) from None
    unknown = sorted(set(options) - set(OPTIONS[name]))
    if unknown and name != "custom":
        raise ConfigError(
            f"scale protocol {name!r}: unknown option {unknown[0]!r}; "
            f"options: {', '.join(OPTIONS[name])}"
        )

    parts = builder(options)
    parity = options.get("parity_bit", "none")
    if parity not in PARITIES:
        raise ConfigError(
            f"option 'parity_bit' must be one of {', '.join(PARITIES)}, got {parity!r}"
        )
    if parity != "none":
        inner = parts["new_framer"]
        parts["new_framer"] = functools.partial(_with_parity, inner, parity)
    return ScaleProtocol(name=name, options=options, **parts)


def _with_parity(new_framer: Callable[[], Any], parity: str) -> ParityStripper:
    return ParityStripper(new_framer(), parity)


def _int_option(
    options: Mapping[str, Any], key: str, default: int, low: int, high: int
) -> int:
    value = options.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"option {key!r} must be {low}-{high}, got {value!r}")
    return number


def _float_option(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not 0 < number <= 60:
        raise ConfigError(f"option {key!r} must be a number of seconds, got {value!r}")
    return number


def _bool_option(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(f"option {key!r} must be true or false, got {value!r}")
    return value
