"""open_display: Onbon and plain GBK screens over TCP and a pty."""

import pytest

from zhichao.errors import ConfigError
from zhichao.sim.devices.display import SimulatedDisplay, SimulatedSerialDisplay
from zhichao.transports.displays import open_display

TEXT = ("鲁A1234挂", "超限12.3吨")


@pytest.mark.parametrize("protocol", ["onbon", "text"])
async def test_tcp_screens_show_the_text(protocol):
    screen = SimulatedDisplay(protocol=protocol)
    await screen.start()
    display = open_display(
        {"kind": f"{protocol}-tcp", "host": "127.0.0.1", "port": screen.port}
    )
    try:
        await display.show(TEXT)
        await screen.wait_for_screens(1)
    finally:
        await display.close()
        await screen.stop()

    assert screen.history == [TEXT + ("", "")]
    assert screen.bad_frames == 0


@pytest.mark.parametrize("protocol", ["onbon", "text"])
async def test_serial_screens_show_the_text(protocol):
    screen = SimulatedSerialDisplay(protocol=protocol)
    await screen.start()
    display = open_display(
        {"kind": f"{protocol}-serial", "port": screen.path, "lines": 2}
    )
    try:
        await display.show(("粤B12345D", "正常 请通行"))
        await display.show(("京AD12345", "总重 31.00吨", "限重 31.00吨", "正常 请通行"))
        await screen.wait_for_screens(2)
    finally:
        await display.close()
        await screen.stop()

    assert screen.history == [
        ("粤B12345D", "正常 请通行"),
        ("京AD12345", "总重 31.00吨 .."),
    ]


async def test_onbon_screen_fits_long_lines_to_the_board_width():
    screen = SimulatedDisplay(protocol="onbon")
    await screen.start()
    display = open_display(
        {
            "kind": "onbon-tcp",
            "host": "127.0.0.1",
            "port": screen.port,
            "lines": 3,
            "width": 12,
        }
    )
    try:
        await display.show(("晋城市泽州县某某煤业有限公司", "欢迎 请上磅"))
        await screen.wait_for_screens(1)
    finally:
        await display.close()
        await screen.stop()
    assert screen.current == ("晋城市泽州..", "欢迎 请上磅", "")


async def test_the_text_screen_refuses_an_onbon_frame():
    screen = SimulatedDisplay(protocol="text")
    await screen.start()
    display = open_display(
        {"kind": "onbon-tcp", "host": "127.0.0.1", "port": screen.port}
    )
    try:
        await display.show(("京A12345",))
        await display.show(("京A12345",))
    finally:
        await display.close()
    await screen.stop()
    assert screen.history == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "onbon-serial"}, 'display.port: required for kind "onbon-serial"'),
        (
            {"kind": "text-tcp", "port": 5000},
            'display.host: required for kind "text-tcp"',
        ),
        ({"kind": "onbon-tcp", "host": "h"}, "display.port: required"),
        ({"kind": "led"}, "display.kind: 'led' is not one of"),
        ({"kind": "text-serial", "port": "/dev/x", "width": 8}, "display.width"),
        ({"kind": "text-serial", "port": "/dev/x", "lines": 6}, "display.lines"),
        ({"kind": "onbon-serial", "port": "/dev/x", "address": "1"}, "display.address"),
    ],
)
def test_bad_options_name_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        open_display(options)
