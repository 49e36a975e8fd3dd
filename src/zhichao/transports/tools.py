"""Integrator tools on live ports: capture, replay and probe (现场调试工具).

``capture`` records the bytes a port brings, with the time each read arrived,
in a capture file; ``replay`` plays a capture file into a port at the recorded
pace; ``probe`` tries every indicator format on what a port brings and says
which decodes.

A capture file is JSON lines, UTF-8. The first line describes the capture,
``{"capture": "zhichao", "version": 1, "port": URL, "started": ISO time}``;
each further line is one read, ``{"t": seconds since the start, "hex": bytes}``.
``zhichao devices decode`` reads capture files as well as raw bytes.

Ports are pyserial URLs: a device path (``/dev/ttyUSB0``, a pty), or
``socket://host:port`` to connect to a serial-to-Ethernet converter. ``replay``
also takes ``tcp://host:port`` (listen, and play to the first client, as a
converter in server mode does) and ``pty:PATH`` (open a new pseudo-terminal and
make PATH a link to it).
"""

import asyncio
import contextlib
import json
import logging
import os
import pty
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import serial
import serial_asyncio_fast

from zhichao.errors import DeviceError, ProtocolError
from zhichao.protocols.registry import ScaleProtocol, build_scale_protocol

logger = logging.getLogger(__name__)

READ_SIZE = 4096
BAUD_RATES = (9600, 4800, 2400, 1200, 19200, 600)
# (data bits, parity, stop bits) as pyserial names them
FRAMINGS = {"8N1": (8, "N", 1), "7E1": (7, "E", 1), "7O1": (7, "O", 1)}
MIN_FRAMES = 2  # a format must decode this many frames to be named


@dataclass(frozen=True)
class LineSetting:
    baudrate: int = 9600
    framing: str = "8N1"

    def serial_kwargs(self) -> dict:
        bytesize, parity, stopbits = FRAMINGS[self.framing]
        return {
            "baudrate": self.baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
        }


async def open_port(url: str, setting: LineSetting = LineSetting()):
    """Open a pyserial URL as asyncio streams; DeviceError when it cannot."""
    try:
        return await serial_asyncio_fast.open_serial_connection(
            url=url, **setting.serial_kwargs()
        )
    except (OSError, serial.SerialException, ValueError) as err:
        raise DeviceError(f"{url}: cannot be opened: {err}") from err


# --- capture ----------------------------------------------------------------


async def capture(
    url: str,
    out: Path,
    *,
    setting: LineSetting = LineSetting(),
    duration_s: float | None = None,
    max_bytes: int | None = None,
) -> int:
    """Record what ``url`` brings into ``out``; return the byte count.

    Stops after ``duration_s``, after ``max_bytes``, at the end of the stream,
    or when cancelled (the file is complete up to the last read).
    """
    reader, writer = await open_port(url, setting)
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = 0
    header = {
        "capture": "zhichao",
        "version": 1,
        "port": url,
        "started": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    try:
        with open(out, "w", encoding="utf-8") as file:
            file.write(json.dumps(header) + "\n")
            while max_bytes is None or total < max_bytes:
                left = (
                    None if duration_s is None else duration_s - (loop.time() - start)
                )
                if left is not None and left <= 0:
                    break
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), left)
                except TimeoutError:
                    break
                except (OSError, serial.SerialException) as err:
                    logger.warning("capture of %s ended: %s", url, err)
                    break
                if not data:
                    break
                t = round(loop.time() - start, 6)
                file.write(json.dumps({"t": t, "hex": data.hex()}) + "\n")
                file.flush()
                total += len(data)
    finally:
        writer.close()
    return total


def read_capture(path: Path) -> Iterator[tuple[float, bytes]]:
    """(seconds since the start, bytes) of each read in a capture file."""
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if "hex" in record:
                    yield float(record["t"]), bytes.fromhex(record["hex"])
            except (ValueError, TypeError, KeyError) as err:
                raise DeviceError(f"{path} line {number}: {err}") from err


# --- replay -----------------------------------------------------------------


async def replay(
    path: Path,
    to: str,
    *,
    speed: float = 1.0,
    setting: LineSetting = LineSetting(),
    delay_s: float = 0.0,
    on_ready=None,
) -> int:
    """Play a capture into ``to`` at the recorded pace (times ``speed``).

    ``on_ready(path_or_port)`` is called once the target can be opened by the
    reader under test. Returns the byte count written.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    records = list(read_capture(path))
    if to.startswith("tcp://"):
        return await _replay_tcp(records, to, speed, delay_s, on_ready)
    if to.startswith("pty:"):
        return await _replay_pty(records, to[4:], speed, delay_s, on_ready)
    _, writer = await open_port(to, setting)
    try:
        if on_ready:
            on_ready(to)
        await asyncio.sleep(delay_s)
        return await _play(records, speed, writer.write, writer.drain)
    finally:
        writer.close()


async def _play(records, speed, write, drain) -> int:
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = 0
    for t, data in records:
        await asyncio.sleep(max(0.0, start + t / speed - loop.time()))
        write(data)
        await drain()
        total += len(data)
    return total


async def _replay_tcp(records, to, speed, delay_s, on_ready) -> int:
    host, _, port = to[len("tcp://") :].rpartition(":")
    connected: asyncio.Future = asyncio.get_running_loop().create_future()

    async def client(reader, writer):
        if not connected.done():
            connected.set_result(writer)
        else:
            writer.close()

    server = await asyncio.start_server(client, host or "127.0.0.1", int(port))
    try:
        if on_ready:
            on_ready(server.sockets[0].getsockname()[1])
        writer = await connected
        await asyncio.sleep(delay_s)
        try:
            return await _play(records, speed, writer.write, writer.drain)
        finally:
            writer.close()
    finally:
        server.close()


async def _replay_pty(records, link, speed, delay_s, on_ready) -> int:
    master, slave = pty.openpty()
    try:
        tty.setraw(slave)
        link_path = Path(link)
        staging = link_path.with_name(link_path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        staging.symlink_to(os.ttyname(slave))
        staging.replace(link_path)
        if on_ready:
            on_ready(str(link_path))
        await asyncio.sleep(delay_s)

        def write(data: bytes) -> None:
            os.write(master, data)

        async def drain() -> None:
            return None

        # The slave stays open here, unread, so bytes wait for the reader.
        return await _play(records, speed, write, drain)
    finally:
        await asyncio.sleep(0.2)  # let the reader take the last bytes
        os.close(master)
        os.close(slave)


# --- probe ------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeScore:
    """How one candidate format fared on the bytes of one line setting."""

    label: str
    protocol: str
    options: tuple[tuple[str, object], ...]
    frames: int
    bad_frames: int
    discarded_bytes: int
    gaps: int = 0  # runs of discarded bytes between two frames

    @property
    def decodes(self) -> bool:
        return self.frames >= MIN_FRAMES and self.frames > self.bad_frames


def candidates() -> list[tuple[str, ScaleProtocol]]:
    """Every passive format and variant the probe tries (custom excluded)."""
    out = []
    variants = {
        "xk3190-tf0": [{}],
        "xk3190-eq": [{}],
        "xk3190-a12": [{}],
        "ascii-line": [{}],
        "toledo-continuous": [{"checksum": True}, {"checksum": False}],
    }
    for name, option_sets in variants.items():
        for options in option_sets:
            for parity in ("none", "even", "odd"):
                full = dict(options)
                if parity != "none":
                    full["parity_bit"] = parity
                label = name + "".join(f" {k}={v}" for k, v in full.items())
                out.append((label, build_scale_protocol(name, full)))
    return out


def score(data: bytes, label: str, protocol: ScaleProtocol) -> ProbeScore:
    framer = protocol.new_framer()
    frames = bad = discarded = gaps = 0
    seen_frame = after_discard = False
    for is_frame, chunk in [*framer.feed_items(data), *framer.flush()]:
        if not is_frame:
            discarded += len(chunk)
            after_discard = seen_frame
            continue
        gaps += after_discard
        seen_frame, after_discard = True, False
        try:
            protocol.decode(chunk, "kg")
            frames += 1
        except ProtocolError:
            bad += 1
    options = tuple(sorted(protocol.options.items()))
    return ProbeScore(label, protocol.name, options, frames, bad, discarded, gaps)


def probe_bytes(data: bytes) -> list[ProbeScore]:
    """Score every candidate on ``data``, best first.

    The read starts and stops at whatever byte the line is at, so the bytes
    before the first frame and after the last say nothing about the format,
    and a stop just before a trailing byte (the Toledo checksum) hands a
    format without it one whole frame more. Bytes left over *between* frames
    do tell: each such gap counts against a format like a bad frame.
    """
    scores = [score(data, label, protocol) for label, protocol in candidates()]
    return sorted(
        scores,
        key=lambda s: (
            not s.decodes,
            s.bad_frames + s.gaps - s.frames,
            s.discarded_bytes,
        ),
    )


def line_settings(url: str) -> list[LineSetting]:
    """The settings to try: every baud rate and framing on a real serial port.

    A pty or a TCP converter has no line settings of its own to find, so one
    setting is tried there.
    """
    if "://" in url:
        return [LineSetting()]
    real = os.path.realpath(url)
    if real.startswith("/dev/pts/") or real == "/dev/ptmx":
        return [LineSetting()]
    return [LineSetting(b, f) for f in FRAMINGS for b in BAUD_RATES]


async def probe(
    url: str, *, seconds: float = 2.0, settings: list[LineSetting] | None = None
) -> list[tuple[LineSetting, list[ProbeScore]]]:
    """Read ``seconds`` of bytes per line setting and score the formats on each."""
    results = []
    for setting in settings or line_settings(url):
        data = await _read_for(url, setting, seconds)
        results.append((setting, probe_bytes(data)))
        if results[-1][1][0].decodes and results[-1][1][0].bad_frames == 0:
            break  # a clean match: no need to try the other settings
    return results


async def poll_probe(url: str, *, seconds: float = 2.0) -> ProbeScore:
    """Send XK3190 tF=1 polls to indicator 1 and score the replies."""
    protocol = build_scale_protocol("xk3190-tf1")
    reader, writer = await open_port(url)
    data = bytearray()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        while loop.time() < end:
            writer.write(protocol.poll_request)
            with contextlib.suppress(TimeoutError):
                data += await asyncio.wait_for(reader.read(READ_SIZE), 0.2)
    finally:
        writer.close()
    return score(bytes(data), "xk3190-tf1 address=1", protocol)


async def _read_for(url: str, setting: LineSetting, seconds: float) -> bytes:
    reader, writer = await open_port(url, setting)
    data = bytearray()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        while (left := end - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(READ_SIZE), left)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
    return bytes(data)


# --- commands (zhichao devices capture / replay / probe) ---------------------


def _setting(baud: int, framing: str) -> LineSetting:
    return LineSetting(baud, framing)


_baud = click.option("--baud", default=9600, show_default=True, help="Baud rate.")
_framing = click.option(
    "--framing",
    type=click.Choice(sorted(FRAMINGS)),
    default="8N1",
    show_default=True,
    help="Data bits, parity, stop bits.",
)


def _run(coro):
    try:
        return asyncio.run(coro)
    except DeviceError as err:
        raise click.ClickException(str(err)) from err
    except KeyboardInterrupt:
        return None


@click.command("capture")
@click.option("--port", "url", required=True, help="Serial path or socket://host:port.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seconds", type=float, default=None, help="Stop after this long.")
@click.option("--max-bytes", type=int, default=None, help="Stop after this many bytes.")
@_baud
@_framing
def capture_command(url, out, seconds, max_bytes, baud, framing) -> None:
    """Record timestamped raw bytes from a live port into a capture file."""
    total = _run(
        capture(
            url,
            out,
            setting=_setting(baud, framing),
            duration_s=seconds,
            max_bytes=max_bytes,
        )
    )
    click.echo(f"{total or 0} bytes captured to {out}", err=True)


@click.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "to", required=True, help="Path, socket://, tcp:// or pty:PATH.")
@click.option("--speed", type=float, default=1.0, show_default=True)
@click.option("--delay", type=float, default=0.0, help="Seconds to wait first.")
@_baud
@_framing
def replay_command(file, to, speed, delay, baud, framing) -> None:
    """Play a capture file into a port at the recorded pace."""
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    total = _run(
        replay(
            file,
            to,
            speed=speed,
            setting=_setting(baud, framing),
            delay_s=delay,
            on_ready=lambda where: click.echo(f"replaying into {where}", err=True),
        )
    )
    click.echo(f"{total or 0} bytes replayed", err=True)


@click.command("probe")
@click.option("--port", "url", required=True, help="Serial path or socket://host:port.")
@click.option("--seconds", type=float, default=2.0, show_default=True)
@click.option("--poll/--no-poll", default=True, help="Try XK3190 tF=1 polling too.")
def probe_command(url, seconds, poll) -> None:
    """Try every indicator format (and line setting) on a port; name what decodes."""
    started = time.monotonic()
    results = _run(probe(url, seconds=seconds)) or []
    found = None
    for setting, scores in results:
        for s in scores:
            if s.decodes or s.frames:
                click.echo(_score_line(setting, s))
        if scores and scores[0].decodes and found is None:
            found = (setting, scores[0])
    if found is None and poll:
        polled = _run(poll_probe(url, seconds=seconds))
        if polled is not None:
            click.echo(_score_line(LineSetting(), polled))
            if polled.decodes:
                found = (LineSetting(), polled)
    if found is None:
        raise click.ClickException(
            f"no format decodes on {url} ({time.monotonic() - started:.1f} s)"
        )
    setting, best = found
    click.echo(
        f"best: {best.label} at {setting.baudrate} {setting.framing} "
        f"({best.frames} frames, {best.bad_frames} bad)"
    )


def _score_line(setting: LineSetting, s: ProbeScore) -> str:
    return json.dumps(
        {
            "protocol": s.protocol,
            "options": dict(s.options),
            "baud": setting.baudrate,
            "framing": setting.framing,
            "frames": s.frames,
            "bad_frames": s.bad_frames,
            "discarded_bytes": s.discarded_bytes,
        }
    )
