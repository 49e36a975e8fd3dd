"""TcpDisplay against the simulated screen over real TCP."""

import pytest

from zhichao.errors import DeviceError, EncodingError
from zhichao.sim.demo import free_port
from zhichao.sim.devices.display import SimulatedDisplay
from zhichao.transports.display import TcpDisplay


@pytest.fixture
async def screen():
    display = SimulatedDisplay()
    await display.start()
    yield display
    await display.stop()


async def test_show_puts_text_on_the_screen(screen):
    display = TcpDisplay("127.0.0.1", screen.port)

    await display.show(["鲁A1234挂", "超限12.3吨"])
    await display.show(["请下磅卸货"])
    await screen.wait_for_screens(2)
    await display.close()

    assert screen.history == [("鲁A1234挂", "超限12.3吨"), ("请下磅卸货",)]
    assert screen.current == ("请下磅卸货",)


async def test_text_outside_gbk_is_refused_before_sending(screen):
    display = TcpDisplay("127.0.0.1", screen.port)

    with pytest.raises(EncodingError, match="GBK"):
        await display.show(["😀"])
    await display.close()

    assert screen.history == []


async def test_display_reconnects_after_the_screen_restarts(screen):
    display = TcpDisplay("127.0.0.1", screen.port)
    await display.show(["一"])
    await screen.wait_for_screens(1)
    port = screen.port

    await screen.stop()
    restarted = SimulatedDisplay(port=port)
    await restarted.start()
    try:
        await display.show(["二"])
        await restarted.wait_for_screens(1)
    finally:
        await display.close()
        await restarted.stop()

    assert restarted.current == ("二",)


async def test_unreachable_screen_is_device_error():
    port = free_port()
    display = TcpDisplay("127.0.0.1", port, timeout_s=0.5)

    with pytest.raises(DeviceError, match="display 127.0.0.1"):
        await display.show(["放行"])
