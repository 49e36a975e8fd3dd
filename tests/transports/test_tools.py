"""capture -> replay round trips through a real pty and real TCP ports; probe."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.transports import tools
from zhichao.transports.tools import LineSetting, capture, probe, probe_bytes, replay

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

ZHICHAO = str(Path(sys.executable).parent / "zhichao")
PASSIVE = ["xk3190-tf0", "xk3190-eq", "xk3190-a12", "toledo-continuous", "ascii-line"]


def load_vectors(protocol):
    vectors = []
    for path in sorted((VECTORS / protocol).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["raw"] = bytes.fromhex(data["hex"])
        vectors.append(data)
    return vectors


def write_capture(path, records):
    lines = [json.dumps({"capture": "zhichao", "version": 1, "port": "test"})]
    lines += [json.dumps({"t": t, "hex": data.hex()}) for t, data in records]
    path.write_text("\n".join(lines) + "\n")


async def test_capture_from_a_simulated_indicator_on_a_pty(tmp_path):
    master, path = open_pty_pair()
    sim = SimulatedIndicator(master, rate=20, model=WeightModel(flicker=0.0))
    sim.set_weight(49380)
    sim.start()
    out = tmp_path / "scale.jsonl"
    try:
        total = await capture(path, out, duration_s=0.6)
    finally:
        await sim.stop()
        sim.close()

    records = list(tools.read_capture(out))
    data = b"".join(d for _, d in records)
    assert total == len(data) > 60
    assert data.count(bytes.fromhex("022B30343933383030314403")) >= 5
    times = [t for t, _ in records]
    assert times == sorted(times) and times[-1] - times[0] > 0.3
    assert json.loads(out.read_text().splitlines()[0])["capture"] == "zhichao"


async def test_replay_into_a_pty_is_captured_back_at_the_recorded_pace(tmp_path):
    frame = bytes.fromhex("022B30343933383030314403")
    source = tmp_path / "in.jsonl"
    write_capture(source, [(k * 0.1, frame[:5]) for k in range(8)])
    link = tmp_path / "ttyReplay"
    ready = asyncio.Event()
    out = tmp_path / "out.jsonl"

    player = asyncio.create_task(
        replay(source, f"pty:{link}", delay_s=0.3, on_ready=lambda _: ready.set())
    )
    await ready.wait()
    total = await capture(str(link), out, duration_s=1.6)
    assert await player == 40

    records = list(tools.read_capture(out))
    assert total == 40
    assert b"".join(d for _, d in records) == frame[:5] * 8
    span = records[-1][0] - records[0][0]
    assert 0.5 < span < 1.2  # 0.7 s recorded


async def test_round_trip_over_tcp_with_speed(tmp_path):
    sim = SimulatedIndicator(-1, rate=20, protocol="toledo-continuous")
    sim.set_weight(25000)
    port = await sim.listen_tcp()
    sim.start()
    first = tmp_path / "first.jsonl"
    try:
        await capture(f"socket://127.0.0.1:{port}", first, duration_s=0.6)
    finally:
        await sim.stop()
    ready = asyncio.Event()
    ports = []

    def on_ready(where):
        ports.append(where)
        ready.set()

    second = tmp_path / "second.jsonl"
    player = asyncio.create_task(
        replay(first, "tcp://127.0.0.1:0", speed=2.0, on_ready=on_ready)
    )
    await ready.wait()
    await capture(f"socket://127.0.0.1:{ports[0]}", second, duration_s=1.0)
    await player

    a, b = list(tools.read_capture(first)), list(tools.read_capture(second))
    assert b"".join(d for _, d in a) == b"".join(d for _, d in b)
    assert b"".join(d for _, d in b).count(b"\x02") >= 5
    span_a, span_b = a[-1][0] - a[0][0], b[-1][0] - b[0][0]
    assert span_b < span_a * 0.8  # twice as fast, with slack for scheduling


@pytest.mark.parametrize("name", PASSIVE)
def test_probe_picks_the_protocol_of_each_vector_stream(name):
    vectors = [v for v in load_vectors(name) if "expect" in v]
    stream = b"\xff\x13" + b"".join(v["raw"] for v in vectors * 3)

    best = probe_bytes(stream)[0]

    parity = {v.get("options", {}).get("parity_bit") for v in vectors} - {None}
    if parity:  # a mix of 8-bit and 7E1 vectors: only the 8-bit ones
        stream = b"".join(v["raw"] for v in vectors * 3 if "options" not in v)
        best = probe_bytes(b"\n" + stream)[0]
    assert best.protocol == name, best
    assert best.decodes


def test_probe_tells_toledo_checksum_and_7e1():
    frame = bytes.fromhex("02 2A 30 20 30 34 39 33 38 30 30 30 30 30 30 30 0D 1F")
    even = bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in frame)

    assert dict(probe_bytes(frame * 5)[0].options) == {"checksum": True}
    assert dict(probe_bytes(frame[:17] * 5)[0].options) == {"checksum": False}
    assert dict(probe_bytes(even * 5)[0].options) == {
        "checksum": True,
        "parity_bit": "even",
    }


def test_probe_tells_toledo_checksum_wherever_the_read_starts_and_stops():
    # The probe reads for a while and stops at any byte: a stop between CR and
    # the checksum byte leaves a whole frame for the format without checksum.
    frame = bytes.fromhex("02 2A 30 20 30 34 39 33 38 30 30 30 30 30 30 30 0D 1F")
    bare = frame[:17]

    for lead in range(len(frame)):
        for cut in range(len(frame) + 1):
            with_checksum = probe_bytes(frame[lead:] + frame * 3 + frame[:cut])[0]
            without = probe_bytes(bare[lead % 17 :] + bare * 3 + bare[: cut % 18])[0]

            assert dict(with_checksum.options) == {"checksum": True}, (lead, cut)
            assert dict(without.options) == {"checksum": False}, (lead, cut)


def test_real_serial_ports_get_every_baud_rate_and_framing_ptys_one():
    settings = tools.line_settings("/dev/ttyUSB0")
    assert LineSetting(9600, "8N1") in settings and LineSetting(1200, "7E1") in settings
    assert len(settings) == len(tools.BAUD_RATES) * len(tools.FRAMINGS)
    _, pty_path = open_pty_pair()
    assert tools.line_settings(pty_path) == [LineSetting()]
    assert tools.line_settings("socket://10.0.0.5:4001") == [LineSetting()]


@pytest.mark.parametrize("name", ["xk3190-a12", "ascii-line"])
async def test_probe_a_live_pty(name):
    master, path = open_pty_pair()
    sim = SimulatedIndicator(master, rate=20, protocol=name)
    sim.set_weight(30000)
    sim.start()
    try:
        [(setting, scores)] = await probe(path, seconds=0.8)
    finally:
        await sim.stop()
        sim.close()

    assert setting == LineSetting()
    assert scores[0].protocol == name and scores[0].frames >= 5


async def test_poll_probe_finds_a_command_mode_indicator():
    sim = SimulatedIndicator(-1, protocol="xk3190-tf1")
    sim.set_weight(18000)
    port = await sim.listen_tcp()
    try:
        found = await tools.poll_probe(f"socket://127.0.0.1:{port}", seconds=0.8)
    finally:
        await sim.stop()

    assert found.protocol == "xk3190-tf1" and found.decodes


def test_cli_capture_file_decodes(tmp_path):
    frame = bytes.fromhex("022B30343933383030314403")
    source = tmp_path / "in.jsonl"
    write_capture(source, [(0.0, frame[:7]), (0.05, frame[7:] + frame)])

    done = subprocess.run(
        [ZHICHAO, "devices", "decode", "--protocol", "xk3190-tf0", str(source)],
        capture_output=True,
        timeout=60,
    )

    lines = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert [line["weight_kg"] for line in lines] == [49380, 49380]


def test_cli_decode_custom_format_from_options_and_file(tmp_path):
    spec = tmp_path / "fmt.toml"
    spec.write_text('end = "\\r\\n"\nregex = "W(?P<weight>\\\\d+)"\nscale = 10\n')
    capture_file = tmp_path / "raw.bin"
    capture_file.write_bytes(b"W1234\r\nW4938\r\nW4939\r\n")

    by_file = subprocess.run(
        [ZHICHAO, "devices", "decode", "--protocol", "custom", "--custom", str(spec)]
        + [str(capture_file)],
        capture_output=True,
        timeout=60,
    )
    by_option = subprocess.run(
        [ZHICHAO, "devices", "decode", "--protocol", "custom"]
        + ["--option", 'end="\\r\\n"', "--option", "regex=W(?P<weight>\\d+)"]
        + [str(capture_file)],
        capture_output=True,
        timeout=60,
    )
    bad = subprocess.run(
        [ZHICHAO, "devices", "decode", "--protocol", "custom", "--option", "end=x"]
        + [str(capture_file)],
        capture_output=True,
        timeout=60,
    )

    weights = [json.loads(x).get("weight_kg") for x in by_file.stdout.splitlines()]
    assert weights == [None, 49380, 49390]  # the first line is a fragment
    weights = [json.loads(x).get("weight_kg") for x in by_option.stdout.splitlines()]
    assert weights == [None, 4938, 4939]
    assert bad.returncode == 2 and b"'regex'" in bad.stderr


def test_cli_probe_names_the_format(tmp_path):
    master, path = open_pty_pair()

    async def run():
        sim = SimulatedIndicator(master, rate=20, protocol="toledo-continuous")
        sim.set_weight(30000)
        sim.start()
        proc = await asyncio.create_subprocess_exec(
            ZHICHAO,
            "devices",
            "probe",
            "--port",
            path,
            "--seconds",
            "2",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        await sim.stop()
        sim.close()
        return proc.returncode, out.decode()

    rc, out = asyncio.run(run())
    assert rc == 0
    assert "best: toledo-continuous checksum=True at 9600 8N1" in out
