"""Scale protocols by name, as a lane's configuration names them.

The format of an indicator is always a per-lane setting, never guessed from a
model name: the same model can be set to several output modes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from zhichao.errors import ConfigError
from zhichao.protocols import xk3190
from zhichao.protocols.readings import WeightReading


class Framer(Protocol):
    """Cuts a device byte stream into candidate frames."""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every frame they complete (nothing until complete)."""
        ...

    def take_discarded(self) -> bytes:
        """Bytes skipped since the last call: garbage, fragments, overlong runs."""
        ...

    def flush(self) -> None:
        """End of stream: move an unfinished frame to the discarded bytes."""
        ...


@dataclass(frozen=True)
class ScaleProtocol:
    """A weighing indicator's output format: how to frame it and decode a frame.

    ``decode(frame, unit)`` takes the unit the indicator displays ("kg" or "t").
    """

    name: str
    new_framer: Callable[[], Framer]
    decode: Callable[[bytes, str], WeightReading]


_SCALE_PROTOCOLS = {
    p.name: p
    for p in (ScaleProtocol("xk3190-tf0", xk3190.Tf0Framer, xk3190.decode_tf0),)
}


def scale_protocol_names() -> list[str]:
    """The names a lane's configuration may use, sorted."""
    return sorted(_SCALE_PROTOCOLS)


def get_scale_protocol(name: str) -> ScaleProtocol:
    """Look a scale protocol up by name; ConfigError lists the known names."""
    try:
        return _SCALE_PROTOCOLS[name]
    except KeyError:
        known = ", ".join(scale_protocol_names())
        raise ConfigError(
            f"unknown scale protocol {name!r}; known protocols: {known}"
        ) from None
