import json
import subprocess
import sys
from pathlib import Path

import pytest

from zhichao.protocols.cli import DEVICE_FORMATS, decode_frames, decode_stream
from zhichao.protocols.registry import get_scale_protocol

ZHICHAO = [str(Path(sys.executable).parent / "zhichao")]
M20 = bytes.fromhex("022B30303230303032314203")
M49 = bytes.fromhex("022B30343933383030314403")
BAD_XOR = M20[:9] + b"1C" + M20[11:]


def run(args, stdin=b""):
    done = subprocess.run(
        ZHICHAO + ["devices", "decode", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return done.returncode, lines, done.stderr.decode()


def test_manual_frames_from_a_file(tmp_path):
    capture = tmp_path / "scale.bin"
    capture.write_bytes(M20 + M49)

    rc, lines, _ = run(["--protocol", "xk3190-tf0", str(capture)])

    assert rc == 0
    assert lines == [
        {"weight_kg": 20, "stable": None, "status": "ok", "raw": M20.hex()},
        {"weight_kg": 49380, "stable": None, "status": "ok", "raw": M49.hex()},
    ]


def test_garbage_stream_on_stdin_in_order():
    stream = b"\x00\xff" + M49[6:] + M20 + BAD_XOR + b"junk" + M49 + M20[:4]

    rc, lines, _ = run(["--protocol", "xk3190-tf0", "--unit", "t", "-"], stream)

    assert rc == 0
    assert [line.get("weight_kg") for line in lines] == [
        None,
        20_000,
        None,
        None,
        49_380_000,
        None,
    ]
    assert lines[0]["raw"] == (b"\x00\xff" + M49[6:]).hex()
    assert "XOR" in lines[2]["error"] and lines[2]["raw"] == BAD_XOR.hex()
    assert lines[3] == {"error": "4 bytes outside any frame", "raw": b"junk".hex()}
    assert lines[5]["raw"] == M20[:4].hex()


def test_large_input_streams_every_frame(tmp_path):
    capture = tmp_path / "long.bin"
    capture.write_bytes((M49 + b"\r\n") * 20_000)

    rc, lines, _ = run(["--protocol", "xk3190-tf0", str(capture)])

    assert rc == 0
    weights = [line["weight_kg"] for line in lines if "weight_kg" in line]
    assert weights == [49380] * 20_000
    assert sum(len(bytes.fromhex(line["raw"])) for line in lines) == 14 * 20_000


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--protocol", "toledo-x", "-"], "xk3190-tf0"),
        (["--protocol", "xk3190-tf0", "--unit", "lb", "-"], "kg"),
    ],
)
def test_unknown_protocol_or_unit_is_a_usage_error(args, named):
    rc, lines, err = run(args)
    assert rc == 2
    assert lines == []
    assert named in err


def test_long_garbage_is_reported_in_bounded_lines():
    lines = list(
        decode_stream(get_scale_protocol("xk3190-tf0"), "kg", iter([b"x" * 10_000]))
    )
    assert [len(bytes.fromhex(line["raw"])) for line in lines] == [4096, 4096, 1808]


ONBON_TRAILER = bytes.fromhex(
    "a5 01 00 10 16 00 01 14 c2 b3 41 31 32 33 34 b9 d2 20 b3 ac cf de"
    "31 32 2e 33 b6 d6 9b d5 5a"
)
SCREEN_TEXT = b"\x02" + "鲁A1234挂\n超限12.3吨".encode("gbk") + b"\x03"
RTU_COIL_ON = bytes.fromhex("01 05 00 00 ff 00 8c 3a")
RTU_READ = bytes.fromhex("01 02 00 00 00 08 79 cc")


@pytest.mark.parametrize(
    ("protocol", "stream", "expected"),
    [
        (
            "axle-line",
            b"AXLE,6,1-2-3,SDDWWW\r\nAXLE,2\r\n",
            [
                {"axles": 6, "groups": [1, 2, 3], "tyres": "SDDWWW"},
                {"axles": 2, "groups": None, "tyres": None},
            ],
        ),
        ("onbon", ONBON_TRAILER, [{"lines": ["鲁A1234挂 超限12.3吨"]}]),
        ("screen-text", SCREEN_TEXT, [{"lines": ["鲁A1234挂", "超限12.3吨"]}]),
        (
            "modbus-rtu",
            RTU_COIL_ON + RTU_READ,
            [
                {"unit": 1, "function": 5, "coil": 0, "on": True},
                {"unit": 1, "function": 2, "start": 0, "count": 8},
            ],
        ),
    ],
)
def test_other_device_streams_decode_after_garbage(protocol, stream, expected):
    rc, lines, _ = run(["--protocol", protocol, "-"], b"junk" + stream)

    assert rc == 0
    assert lines[0] == {"error": "4 bytes outside any frame", "raw": b"junk".hex()}
    assert [{k: v for k, v in x.items() if k != "raw"} for x in lines[1:]] == expected
    assert "".join(x["raw"] for x in lines) == (b"junk" + stream).hex()


@pytest.mark.parametrize(
    ("protocol", "frame"),
    [
        ("axle-line", b"AXLE,6,1-2-3,SDDWWW\r\n"),
        ("onbon", ONBON_TRAILER),
        ("modbus-rtu", RTU_COIL_ON),
    ],
)
def test_a_damaged_frame_of_a_checked_format_is_never_a_reading(protocol, frame):
    new_framer, describe = DEVICE_FORMATS[protocol]
    for index in range(len(frame)):
        damaged = frame[:index] + bytes([frame[index] ^ 0x01]) + frame[index + 1 :]

        lines = list(decode_frames(new_framer, describe, iter([damaged])))

        assert lines and all("error" in line for line in lines), (index, lines)


def test_options_are_refused_for_a_format_without_any():
    rc, _, err = run(["--protocol", "onbon", "--option", "x=1", "-"], b"")
    assert rc == 2 and "apply to indicator formats" in err


CAMERA_VECTORS = Path(__file__).resolve().parent.parent / "vectors"


@pytest.mark.parametrize(
    ("protocol", "file", "plates"),
    [
        ("hikvision-anpr", "hikvision-anpr/pictures-first.multipart", ["晋E12345"]),
        ("hikvision-anpr", "hikvision-anpr/isapi-namespace.xml", ["晋E12345"]),
        ("vzenith", "vzenith/new-energy-large.json", ["粤B12345D"]),
        ("dahua", "dahua-traffic/two-events.stream", ["鲁A1234挂", "鲁A1234挂"]),
    ],
)
def test_camera_bodies_decode_to_their_plate_reads(protocol, file, plates):
    rc, lines, _ = run(["--protocol", protocol, str(CAMERA_VECTORS / file)])

    assert rc == 0
    assert [line["plate"] for line in lines] == plates
    assert all(line["camera_time"].endswith("+08:00") for line in lines)


def test_camera_body_with_pictures_lists_them_by_role():
    file = CAMERA_VECTORS / "hikvision-anpr/pictures-first.multipart"

    _, [line], _ = run(["--protocol", "hikvision-anpr", str(file)])

    assert sorted(p["role"] for p in line["pictures"]) == ["plate", "scene"]


@pytest.mark.parametrize(
    ("protocol", "file", "says"),
    [
        ("hikvision-anpr", "hikvision-anpr/billion-laughs.xml", "XML refused"),
        ("hikvision-anpr", "hikvision-anpr/bad-plate.xml", "never used after"),
        ("vzenith", "vzenith/bad-plate.json", "has 6 characters"),
    ],
)
def test_refused_camera_bodies_say_why(protocol, file, says):
    rc, [line], _ = run(["--protocol", protocol, str(CAMERA_VECTORS / file)])

    assert rc == 0
    assert says in line["error"]
