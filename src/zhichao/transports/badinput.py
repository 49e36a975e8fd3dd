"""Logging of bad device input that stays readable under a flood of garbage.

Bad input is logged per kind (a run of garbage, a frame with a wrong checksum,
a camera post without a plate, ...): the first input of a kind in a window is
logged at WARNING with its raw bytes; the rest of that kind in the window is
only counted, and one summary line says how many there were. Each kind of bad
input therefore shows its raw bytes once, and a noisy line costs a few log
lines a minute per kind, not one per byte.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

HEX_LIMIT = 64  # bytes of raw input shown in a log line
DEFAULT_KIND = "bad inputs"
MAX_KINDS = 32  # kinds beyond these share one window, so a flood stays bounded


def hex_preview(data: bytes, limit: int = HEX_LIMIT) -> str:
    """Raw bytes as spaced hex, truncated to ``limit`` bytes with a note."""
    shown = data[:limit].hex(" ")
    if len(data) > limit:
        shown += f" ... ({len(data)} bytes)"
    return shown


@dataclass
class _Window:
    """One kind's logging window: when it ends and what it has held back."""

    end: float = float("-inf")
    suppressed: int = 0
    suppressed_bytes: int = 0


class BadInputLog:
    """Rate-limited WARNING lines for bad frames, tagged with lane and device."""

    def __init__(
        self,
        logger: logging.Logger,
        tag: str,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._tag = tag
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def report(self, what: str, data: bytes, kind: str = DEFAULT_KIND) -> None:
        """Log one bad input, or count it when its kind was logged recently.

        ``kind`` names the kind of input in the plural ("checksum errors"); the
        summary of the inputs held back says it.
        """
        now = self._clock()
        if kind not in self._windows and len(self._windows) >= MAX_KINDS:
            kind = DEFAULT_KIND
        window = self._windows.setdefault(kind, _Window())
        if now < window.end:
            window.suppressed += 1
            window.suppressed_bytes += len(data)
            return

        self._summarise(kind, window)
        self._logger.warning("%s %s: %s", self._tag, what, hex_preview(data))
        window.end = now + self._window_s

    def flush(self, force: bool = False) -> None:
        """Log the summaries of finished windows (of every window if forced)."""
        now = self._clock()
        for kind, window in self._windows.items():
            if force or now >= window.end:
                self._summarise(kind, window)

    def _summarise(self, kind: str, window: _Window) -> None:
        if not window.suppressed:
            return
        self._logger.warning(
            "%s %d more %s (%d bytes) in the last %.0f s, not logged singly",
            self._tag,
            window.suppressed,
            kind,
            window.suppressed_bytes,
            self._window_s,
        )
        window.suppressed = 0
        window.suppressed_bytes = 0
