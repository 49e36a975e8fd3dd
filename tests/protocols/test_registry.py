import pytest

from zhichao.errors import ConfigError
from zhichao.protocols import xk3190
from zhichao.protocols.registry import (
    build_scale_protocol,
    get_scale_protocol,
    scale_protocol_names,
)


def test_xk3190_tf0_is_registered():
    protocol = get_scale_protocol("xk3190-tf0")

    assert protocol.name == "xk3190-tf0"
    assert isinstance(protocol.new_framer(), xk3190.Tf0Framer)
    assert protocol.new_framer() is not protocol.new_framer()
    assert protocol.decode(xk3190.encode_tf0(49.38, 2), "t").weight_kg == 49380


@pytest.mark.parametrize("name", ["", "XK3190-TF0", "toledo", "xk3190"])
def test_unknown_name_lists_the_known_ones(name):
    with pytest.raises(ConfigError) as caught:
        get_scale_protocol(name)
    assert all(known in str(caught.value) for known in scale_protocol_names())
    assert repr(name) in str(caught.value)


def test_every_design_protocol_is_registered():
    assert scale_protocol_names() == [
        "ascii-line",
        "custom",
        "toledo-continuous",
        "xk3190-a12",
        "xk3190-eq",
        "xk3190-tf0",
        "xk3190-tf1",
    ]


def test_tf1_polls_indicator_a_for_the_gross_weight():
    protocol = build_scale_protocol("xk3190-tf1")

    assert protocol.poll_request == bytes.fromhex("02 41 42 30 33 03")
    assert protocol.poll_interval_s == 0.1
    reply = xk3190.encode_tf1_reply(49380, address=1)
    assert protocol.decode(reply, "kg").weight_kg == 49380


def test_tf1_options():
    protocol = build_scale_protocol(
        "xk3190-tf1", {"address": 3, "command": "net", "poll_interval_s": 0.5}
    )

    assert protocol.poll_request == xk3190.encode_tf1_request(3, "net")
    assert xk3190.decode_tf1_request(protocol.poll_request) == (3, "net")
    assert protocol.poll_interval_s == 0.5
    assert get_scale_protocol("xk3190-tf0").poll_request is None


@pytest.mark.parametrize(
    ("name", "options", "key"),
    [
        ("xk3190-tf0", {"speed": 1}, "speed"),
        ("xk3190-tf1", {"address": 0}, "address"),
        ("xk3190-tf1", {"address": "x"}, "address"),
        ("xk3190-tf1", {"command": "tare"}, "command"),
        ("xk3190-tf1", {"poll_interval_s": 0}, "poll_interval_s"),
        ("toledo-continuous", {"checksum": "maybe"}, "checksum"),
        ("ascii-line", {"parity_bit": "mark"}, "parity_bit"),
        ("custom", {}, "end"),
        ("custom", {"end": "\n"}, "regex"),
        ("custom", {"end": "\n", "regex": "(", "fields": {}}, "regex"),
        ("custom", {"end": "\n", "regex": "("}, "regex"),
        ("custom", {"end": "\n", "regex": "(?P<w>\\d+)"}, "weight"),
        ("custom", {"end": "\n", "fields": {"weight": [0]}}, "fields.weight"),
        ("custom", {"end": "\n", "fields": {"colour": [0, 1]}}, "fields"),
        ("custom", {"length": 9, "regex": "(?P<weight>.*)"}, "start"),
        ("custom", {"end": "\n", "regex": "(?P<weight>.*)", "scale": -1}, "scale"),
        ("custom", {"end": "吨", "regex": "(?P<weight>.*)"}, "end"),
        ("custom", {"end": "\n", "regex": "(?P<weight>.*)", "stop": 1}, "stop"),
        ("custom", {"end": "\n", "regex": "(?P<weight>.*)", "stable": 1}, "stable"),
    ],
)
def test_bad_options_are_config_errors_naming_the_key(name, options, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        build_scale_protocol(name, options)


def test_parity_bit_option_wraps_any_framer():
    plain = get_scale_protocol("xk3190-tf0")
    seven = build_scale_protocol("xk3190-tf0", {"parity_bit": "even"})
    frame = xk3190.encode_tf0(49380)
    on_wire = bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in frame)

    assert plain.new_framer().feed(on_wire) == []
    assert seven.new_framer().feed(on_wire) == [frame]
