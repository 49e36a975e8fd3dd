import pytest

from zhichao.errors import ConfigError
from zhichao.protocols import xk3190
from zhichao.protocols.registry import get_scale_protocol, scale_protocol_names


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
