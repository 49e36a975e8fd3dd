"""Encoders (used by the simulated indicator) against the design's byte examples."""

import pytest

from zhichao.protocols import ascii_line, toledo, xk3190
from zhichao.protocols.readings import WeightStatus

DESIGN_TOLEDO = bytes.fromhex("02 2A 30 20 30 34 39 33 38 30 30 30 30 30 30 30 0D 1F")


def test_toledo_encoder_gives_the_design_example_and_its_motion_variant():
    assert toledo.encode_toledo(49380) == DESIGN_TOLEDO
    moving = toledo.encode_toledo(49380, stable=False)
    assert moving[2] == 0x38 and moving[17] == 0x17
    assert toledo.encode_toledo(49380, checksum=False) == DESIGN_TOLEDO[:17]


def test_toledo_checksum_is_the_7_bit_twos_complement():
    assert toledo.checksum_byte(DESIGN_TOLEDO[:17]) == 0x1F
    assert (sum(DESIGN_TOLEDO) & 0x7F) == 0


@pytest.mark.parametrize(
    ("value", "decimals", "frame"),
    [(3.0, 3, b"=000.3000"), (-1.0, 2, b"=00.1000-"), (49380, 0, b"=08394000")],
)
def test_eq_encoder_matches_the_manual(value, decimals, frame):
    assert xk3190.encode_eq(value, decimals) == frame
    assert xk3190.decode_eq(frame).weight_kg == value


def test_tf1_request_and_reply():
    assert xk3190.encode_tf1_request() == b"\x02AB03\x03"
    reply = xk3190.encode_tf1_reply(20.0, 2, command="net")
    assert reply[:11] == b"\x02AD+0020002"
    assert len(reply) == xk3190.TF1_REPLY_LEN
    reading = xk3190.decode_tf1(reply, "t")
    assert reading.weight_kg == 20000 and reading.net


@pytest.mark.parametrize(
    "status", [WeightStatus.OK, WeightStatus.OVERLOAD, WeightStatus.UNDERLOAD]
)
def test_a12_round_trip(status):
    value = -40 if status is WeightStatus.OK else None
    frame = xk3190.encode_a12(value, status=status, net=True)

    reading = xk3190.decode_a12(frame)

    assert reading.status is status and reading.net
    assert reading.weight_kg == value


@pytest.mark.parametrize("stable", [True, False])
def test_ascii_line_round_trip(stable):
    line = ascii_line.encode_ascii_line(49380, stable=stable)
    assert line == (b"ST" if stable else b"US") + b",GS,+0049380kg\r\n"
    assert ascii_line.decode_ascii_line(line).stable is stable


@pytest.mark.parametrize(
    "encode",
    [
        lambda: xk3190.encode_eq(10_000_000),
        lambda: xk3190.encode_a12(1, decimals=5),
        lambda: toledo.encode_toledo(10_000_000),
        lambda: xk3190.encode_tf1_request(27),
        lambda: xk3190.encode_tf1_request(1, "tare"),
    ],
)
def test_encoders_refuse_what_the_format_cannot_carry(encode):
    with pytest.raises(ValueError):
        encode()
