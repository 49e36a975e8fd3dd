"""Build a lane's LED screen from its configuration.

``open_display(options)`` takes a plain mapping (a TOML table) with ``kind``:

- ``onbon-tcp`` / ``onbon-serial``: Onbon (仰邦) frames (``protocols.onbon``)
- ``text-tcp`` / ``text-serial``: zhichao's plain GBK framing
  (``protocols.display_text``)

TCP kinds need ``host`` and ``port``, serial kinds ``port`` (a device path or
pyserial URL) and optionally ``baudrate``. ``lines`` and ``width`` (GBK bytes
per line) describe the board; every screen is fitted to them with
``screen_layout.fit_lines`` before it is sent, so an over-long line is
shortened visibly rather than wrapped or cut by the controller. Nothing is
connected until the first ``show``.
"""

import functools
from collections.abc import Mapping

from zhichao.errors import ConfigError
from zhichao.protocols import display_text, onbon, screen_layout
from zhichao.transports.barriers import _kind, optional, require
from zhichao.transports.display import StreamDisplay, serial_opener, tcp_opener

KINDS = ("onbon-tcp", "onbon-serial", "text-tcp", "text-serial")
DEFAULT_LINES = 4
DEFAULT_WIDTH = 16


def open_display(options: Mapping) -> StreamDisplay:
    """A screen from its configuration; ConfigError naming the bad key."""
    kind = _kind(options, "display", KINDS)
    family, link = kind.split("-")

    lines = optional(options, "display", "lines", int, DEFAULT_LINES)
    width = optional(options, "display", "width", int, DEFAULT_WIDTH)
    if not 1 <= lines <= screen_layout.MAX_LINES:
        raise ConfigError(f"display.lines: 1-{screen_layout.MAX_LINES}, not {lines}")
    if width < screen_layout.MIN_WIDTH:
        raise ConfigError(
            f"display.width: at least {screen_layout.MIN_WIDTH} bytes "
            f"(a whole plate), not {width}"
        )

    if family == "onbon":
        address = optional(options, "display", "address", int, 1)
        encode = functools.partial(onbon.encode_text, address=address)
    else:
        encode = display_text.encode_screen

    if link == "tcp":
        host = require(options, "display", "host", str, kind)
        port = require(options, "display", "port", int, kind)
        opener, where = tcp_opener(host, port), f"{host}:{port}"
    else:
        url = require(options, "display", "port", str, kind)
        baudrate = optional(options, "display", "baudrate", int, 9600)
        opener, where = serial_opener(url, baudrate), url

    return StreamDisplay(
        opener,
        encode,
        tag=f"display {kind} {where}",
        timeout_s=optional(options, "display", "timeout_s", float, 2.0),
        fit=functools.partial(screen_layout.fit_lines, rows=lines, width=width),
    )
