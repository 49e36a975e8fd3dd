"""Logging of bad device input that stays readable under a flood of garbage.

The first bad frame in a window is logged at WARNING with its raw bytes; the
rest of the window is only counted, and one summary line says how many there
were. A noisy line therefore costs a few log lines a minute, not one per byte.
"""

import logging
import time
from collections.abc import Callable

HEX_LIMIT = 64  # bytes of raw input shown in a log line


def hex_preview(data: bytes, limit: int = HEX_LIMIT) -> str:
    """Raw bytes as spaced hex, truncated to ``limit`` bytes with a note."""
    shown = data[:limit].hex(" ")
    if len(data) > limit:
        shown += f" ... ({len(data)} bytes)"
    return shown


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
        self._window_end = float("-inf")
        self._suppressed = 0
        self._suppressed_bytes = 0

    def report(self, what: str, data: bytes) -> None:
        """Log one bad input, or count it when a line was logged recently."""
        now = self._clock()
        if now < self._window_end:
            self._suppressed += 1
            self._suppressed_bytes += len(data)
            return

        self.flush()
        self._logger.warning("%s %s: %s", self._tag, what, hex_preview(data))
        self._window_end = now + self._window_s

    def flush(self, force: bool = False) -> None:
        """Log the summary of a finished window (or of the current one if forced)."""
        if not self._suppressed:
            return
        if not force and self._clock() < self._window_end:
            return
        self._logger.warning(
            "%s %d more bad inputs (%d bytes) in the last %.0f s, not logged singly",
            self._tag,
            self._suppressed,
            self._suppressed_bytes,
            self._window_s,
        )
        self._suppressed = 0
        self._suppressed_bytes = 0
