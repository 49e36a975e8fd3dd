"""``zhichao devices``: look at device bytes without a lane.

``zhichao devices decode`` turns a capture of an indicator's output (a file of
raw bytes, a capture file written by ``zhichao devices capture``, or stdin with
``-``) into one JSON line per frame, so an installer can check a scale's format
and settings on site.

``capture``, ``replay`` and ``probe`` talk to ports, so they live with the
transports (``zhichao.transports.tools``); this group loads them by name when
they are asked for, as the top-level command does for its groups.
"""

import importlib
import json
import logging
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click

from zhichao.errors import ConfigError, ProtocolError
from zhichao.protocols import display_text, modbus_rtu, onbon
from zhichao.protocols.axle_line import AxleLineFramer, decode_axle_line
from zhichao.protocols.camera_bodies import (
    CAMERA_FORMATS,
    decode_body,
    guess_content_type,
)
from zhichao.protocols.readings import WeightReading
from zhichao.protocols.registry import (
    ScaleProtocol,
    build_scale_protocol,
    scale_protocol_names,
)
from zhichao.protocols.xk3190 import UNIT_FACTORS

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
GARBAGE_LINE_LIMIT = 4096  # a longer run of garbage is reported over several lines
CAPTURE_MARK = b'{"capture"'

# command name -> (module, attribute), loaded when used
_PORT_COMMANDS = {
    "capture": ("zhichao.transports.tools", "capture_command"),
    "replay": ("zhichao.transports.tools", "replay_command"),
    "probe": ("zhichao.transports.tools", "probe_command"),
}


class _DevicesGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_PORT_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _PORT_COMMANDS:
            module, attr = _PORT_COMMANDS[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=_DevicesGroup)
def devices() -> None:
    """Inspect device bytes (设备数据): decode, capture, replay, probe."""


def parse_options(pairs: tuple[str, ...], custom_file: Path | None) -> dict[str, Any]:
    """``--option key=value`` pairs, over the table of a ``--custom`` TOML file.

    Values are TOML values where they parse as one (``true``, ``3``,
    ``"text"``), else plain text.
    """
    options: dict[str, Any] = {}
    if custom_file is not None:
        try:
            options.update(tomllib.loads(custom_file.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise click.BadParameter(str(err), param_hint="--custom") from err
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r} is not key=value", param_hint="--option"
            )
        try:
            options[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            options[key] = value
    return options


def protocol_from_cli(
    name: str, pairs: tuple[str, ...], custom_file: Path | None
) -> ScaleProtocol:
    try:
        return build_scale_protocol(name, parse_options(pairs, custom_file))
    except ConfigError as err:
        raise click.UsageError(str(err)) from err


def _axle_line(frame: bytes) -> dict:
    reading = decode_axle_line(frame)
    return {"axles": reading.axles, "groups": reading.groups, "tyres": reading.tyres}


def _rtu_request(frame: bytes) -> dict:
    parsed = modbus_rtu.decode_frame(frame)
    line: dict[str, Any] = {"unit": parsed.unit, "function": parsed.function}
    if parsed.function == modbus_rtu.WRITE_SINGLE_COIL:
        line["coil"], line["on"] = modbus_rtu.parse_write_coil(parsed)
    else:
        line["start"], line["count"] = modbus_rtu.parse_read_request(parsed)
    return line


# The byte streams of the other devices: name -> (new framer, frame -> JSON).
DEVICE_FORMATS: dict[str, tuple[Callable[[], Any], Callable[[bytes], dict]]] = {
    "axle-line": (AxleLineFramer, _axle_line),
    "onbon": (onbon.OnbonFramer, lambda f: {"lines": list(onbon.decode_screen(f))}),
    "screen-text": (
        display_text.ScreenFramer,
        lambda f: {"lines": list(display_text.decode_screen(f))},
    ),
    "modbus-rtu": (modbus_rtu.RtuRequestFramer, _rtu_request),
}

protocol_option = click.option(
    "--protocol",
    "protocol_name",
    required=True,
    type=click.Choice(
        scale_protocol_names() + sorted(DEVICE_FORMATS) + list(CAMERA_FORMATS)
    ),
    help=(
        "The indicator's output format, as set on the indicator; or axle-line, "
        "onbon, screen-text (what a screen is sent), modbus-rtu (requests), "
        "or a camera's event body: hikvision-anpr, vzenith, dahua."
    ),
)
options_option = click.option(
    "--option",
    "option_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A protocol option (e.g. checksum=false, parity_bit=even); repeatable.",
)
custom_option = click.option(
    "--custom",
    "custom_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file describing a custom format (see docs/devices.md).",
)


@devices.command()
@protocol_option
@options_option
@custom_option
@click.option(
    "--unit",
    type=click.Choice(sorted(UNIT_FACTORS)),
    default="kg",
    show_default=True,
    help="The unit the indicator displays.",
)
@click.option(
    "--content-type",
    help="A camera body's Content-Type header (guessed from the body if left out).",
)
@click.argument("file", type=click.File("rb"))
def decode(
    protocol_name: str,
    option_pairs: tuple[str, ...],
    custom_file: Path | None,
    unit: str,
    content_type: str | None,
    file: BinaryIO,
) -> None:
    """Decode device bytes from FILE (- for stdin), one JSON line per frame.

    FILE holds raw bytes, or a capture written by ``zhichao devices capture``;
    for a camera, the body it posted (or the bytes of a Dahua event stream).
    """
    if protocol_name not in scale_protocol_names() and (option_pairs or custom_file):
        raise click.UsageError(
            f"--option and --custom apply to indicator formats, not {protocol_name}"
        )
    if protocol_name in CAMERA_FORMATS:
        body = b"".join(_chunks(file))
        kind = content_type or guess_content_type(protocol_name, body)
        lines = decode_body(protocol_name, body, kind)
    elif protocol_name in DEVICE_FORMATS:
        new_framer, describe = DEVICE_FORMATS[protocol_name]
        lines = decode_frames(new_framer, describe, _chunks(file))
    else:
        protocol = protocol_from_cli(protocol_name, option_pairs, custom_file)
        lines = decode_stream(protocol, unit, _chunks(file))
    for line in lines:
        click.echo(json.dumps(line, ensure_ascii=False))


def decode_stream(
    protocol: ScaleProtocol, unit: str, chunks: Iterator[bytes]
) -> Iterator[dict]:
    """Yield one dict per frame or per run of discarded bytes, in stream order."""

    def describe(frame: bytes) -> dict:
        return _reading_line(protocol.decode(frame, unit))

    return decode_frames(protocol.new_framer, describe, chunks)


def decode_frames(
    new_framer: Callable[[], Any],
    describe: Callable[[bytes], dict],
    chunks: Iterator[bytes],
) -> Iterator[dict]:
    """One dict per frame (``describe``'s, or an error) or per discarded run."""
    framer = new_framer()
    garbage = bytearray()
    for chunk in chunks:
        for is_frame, data in _items(framer, chunk):
            if not is_frame:
                garbage += data
                if len(garbage) >= GARBAGE_LINE_LIMIT:
                    yield from _garbage_lines(garbage)
                continue
            yield from _garbage_lines(garbage)
            yield _frame_line(describe, data)
    for _, data in framer.flush() or ():
        garbage += data
    if not hasattr(framer, "feed_items"):
        garbage += framer.take_discarded()  # its flush keeps them
    yield from _garbage_lines(garbage)


def _items(framer: Any, chunk: bytes) -> list[tuple[bool, bytes]]:
    if hasattr(framer, "feed_items"):
        return framer.feed_items(chunk)
    frames = framer.feed(chunk)  # a framer that cannot tell the order
    return [(False, framer.take_discarded())] + [(True, f) for f in frames]


def _garbage_lines(garbage: bytearray) -> Iterator[dict]:
    """Report and clear the discarded bytes collected so far."""
    for start in range(0, len(garbage), GARBAGE_LINE_LIMIT):
        yield _discarded_line(bytes(garbage[start : start + GARBAGE_LINE_LIMIT]))
    garbage.clear()


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    first = file.read(CHUNK_SIZE)
    if first.startswith(CAPTURE_MARK):
        yield from capture_chunks(first, file)
        return
    if first:
        yield first
    while chunk := file.read(CHUNK_SIZE):
        yield chunk


def capture_chunks(first: bytes, file: BinaryIO) -> Iterator[bytes]:
    """The bytes of a capture file: JSON lines, ``{"t": seconds, "hex": ...}``."""
    rest = first + file.read()
    for number, line in enumerate(rest.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "hex" in record:
                yield bytes.fromhex(record["hex"])
        except (ValueError, TypeError, AttributeError) as err:
            raise click.ClickException(f"capture line {number}: {err}") from err


def _frame_line(describe: Callable[[bytes], dict], frame: bytes) -> dict:
    try:
        line = describe(frame)
    except ProtocolError as err:
        return {"error": str(err), "raw": frame.hex()}
    return {**line, "raw": frame.hex()}


def _reading_line(reading: WeightReading) -> dict:
    return {
        "weight_kg": reading.weight_kg,
        "stable": reading.stable,
        "status": str(reading.status),
        **({"net": True} if reading.net else {}),
        "raw": reading.raw.hex(),
    }


def _discarded_line(data: bytes) -> dict:
    return {"error": f"{len(data)} bytes outside any frame", "raw": data.hex()}
