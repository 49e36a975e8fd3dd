"""Every scale indicator protocol through the registry: vectors, framers, fuzz.

Vectors live in tests/vectors/<protocol>/*.yaml with the options the lane would
configure; each protocol's framer gets every vector split at every byte, joined
back to back, opened mid-frame and mixed with garbage.
"""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import load_vectors

from zhichao import errors
from zhichao.errors import ProtocolError
from zhichao.protocols.readings import WeightStatus
from zhichao.protocols.registry import build_scale_protocol, scale_protocol_names

PROTOCOLS = scale_protocol_names()
UNCHECKED = ("xk3190-eq", "ascii-line", "custom")  # formats without a checksum
VECTORS = [(p, v) for p in PROTOCOLS for v in load_vectors(p)]
GOOD = [(p, v) for p, v in VECTORS if "expect" in v]
BAD = [(p, v) for p, v in VECTORS if "error" in v]


def ids(pairs):
    return [f"{p}/{v['name']}" for p, v in pairs]


def protocol_of(name, vector):
    return build_scale_protocol(name, vector.get("options"))


def decode(name, vector, frame=None):
    protocol = protocol_of(name, vector)
    return protocol.decode(vector["raw"] if frame is None else frame, vector["unit"])


def frames_of(protocol, stream, size=None):
    framer = protocol.new_framer()
    if size is None:
        return framer.feed(stream)
    return [
        f
        for i in range(0, len(stream), size)
        for f in framer.feed(stream[i : i + size])
    ]


def test_every_protocol_has_vectors_with_a_source():
    for name in PROTOCOLS:
        vectors = load_vectors(name)
        assert sum("expect" in v for v in vectors) >= 3, name
        assert sum("error" in v for v in vectors) >= 1, name
        assert all(v["source"] and v["description"] for v in vectors), name


def test_the_design_examples_are_vectors():
    names = {f"{p}/{v['name']}" for p, v in VECTORS}
    assert {
        "xk3190-tf0/manual-20.00",
        "xk3190-tf0/manual-49380",
        "xk3190-eq/manual-3.000",
        "xk3190-eq/manual-minus-1.00",
        "toledo-continuous/design-49380-stable",
        "toledo-continuous/design-49380-motion",
        "ascii-line/design-49380",
    } <= names


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_decode_vector(name, vector):
    reading = decode(name, vector, protocol_framed(name, vector))
    expect = vector["expect"]

    assert reading.weight_kg == expect["weight_kg"]
    assert reading.stable is expect["stable"]
    assert reading.status == WeightStatus(expect["status"])
    assert reading.net is expect.get("net", False)
    if reading.status is not WeightStatus.OK:
        assert reading.weight_kg is None


def protocol_framed(name, vector):
    """The vector as the framer hands it on (parity stripped, where set)."""
    framed = frames_of(protocol_of(name, vector), sync(name, vector) + vector["raw"])
    assert len(framed) == 1, framed
    return framed[0]


def sync(name, vector):
    """Line formats drop the first line: give them a line end before the frame."""
    protocol = protocol_of(name, vector)
    framer = protocol.new_framer()
    inner = getattr(framer, "inner", framer)
    return inner.end if not inner.start else b""


@pytest.mark.parametrize(("name", "vector"), BAD, ids=ids(BAD))
def test_bad_vector_raises_the_named_error(name, vector):
    kind = getattr(errors, vector["error"])
    framed = frames_of(protocol_of(name, vector), sync(name, vector) + vector["raw"])
    frame = framed[0] if len(framed) == 1 else vector["raw"]

    with pytest.raises(kind) as caught:
        decode(name, vector, frame)

    assert type(caught.value) is kind


# --- framers --------------------------------------------------------------


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_framer_every_split_yields_the_frame_once(name, vector):
    protocol = protocol_of(name, vector)
    stream = sync(name, vector) + vector["raw"]
    [expected] = frames_of(protocol, stream)
    for cut in range(len(stream) + 1):
        framer = protocol.new_framer()

        first = framer.feed(stream[:cut])
        second = framer.feed(stream[cut:])

        assert first + second == [expected], cut


@pytest.mark.parametrize(("name", "vector"), BAD, ids=ids(BAD))
def test_framer_every_split_of_a_bad_vector_cuts_it_the_same(name, vector):
    protocol = protocol_of(name, vector)
    stream = sync(name, vector) + vector["raw"]
    framer = protocol.new_framer()
    whole = framer.feed_items(stream) + framer.flush()
    for cut in range(len(stream) + 1):
        framer = protocol.new_framer()

        items = framer.feed_items(stream[:cut]) + framer.feed_items(stream[cut:])
        items += framer.flush()

        # the same frames, and the same bytes thrown away, wherever the cut
        assert [c for f, c in items if f] == [c for f, c in whole if f], cut
        assert b"".join(c for f, c in items if not f) == b"".join(
            c for f, c in whole if not f
        ), cut


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_two_frames_in_one_read_and_garbage_between(name, vector):
    protocol = protocol_of(name, vector)
    raw, lead = vector["raw"], sync(name, vector)

    frames = frames_of(protocol, lead + raw + raw + b"\xfe\xff" + lead + raw)

    readings = []
    for frame in frames:
        with contextlib.suppress(ProtocolError):  # a garbage line is a bad frame
            readings.append(protocol.decode(frame, vector["unit"]))
    assert len(readings) == 3
    assert {r.weight_kg for r in readings} == {vector["expect"]["weight_kg"]}


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_stream_opened_mid_frame_never_gives_a_weight_from_the_fragment(name, vector):
    protocol = protocol_of(name, vector)
    raw = vector["raw"]
    whole = protocol.decode(protocol_framed(name, vector), vector["unit"])
    for start in range(1, len(raw)):
        frames = frames_of(protocol, raw[start:] + raw)
        for frame in frames:
            with contextlib.suppress(ProtocolError):
                reading = protocol.decode(frame, vector["unit"])
                # the only weight that may come out is the whole frame's
                assert reading == whole, (start, frame)
        assert len(frames) <= 1, start


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_a_frame_losing_one_byte_is_never_a_weight(name, vector):
    protocol = protocol_of(name, vector)
    raw = vector["raw"]
    if name in ("ascii-line", "custom") and vector["expect"]["status"] == "ok":
        pytest.skip("a text format without a checksum can lose a leading digit")
    for lost in range(len(raw)):
        damaged = raw[:lost] + raw[lost + 1 :]
        for frame in frames_of(protocol, sync(name, vector) + damaged):
            with contextlib.suppress(ProtocolError):
                reading = protocol.decode(frame, vector["unit"])
                assert reading.weight_kg is None, lost  # over range stays so


@pytest.mark.parametrize(("name", "vector"), GOOD, ids=ids(GOOD))
def test_one_corrupt_byte_never_reads_as_0_kg(name, vector):
    protocol = protocol_of(name, vector)
    raw = vector["raw"]
    if vector["expect"]["weight_kg"] == 0:
        pytest.skip("the vector is 0 kg")
    if sum(raw.count(d) for d in b"123456789") < 2 and name in UNCHECKED:
        pytest.skip("one digit from 0 kg in a format without a checksum")
    for index in range(len(raw)):
        for value in (0x00, 0x20, 0x30, 0x2D, 0x4C, 0x7F, 0xFF):
            damaged = raw[:index] + bytes([value]) + raw[index + 1 :]
            for frame in frames_of(protocol, sync(name, vector) + damaged):
                with contextlib.suppress(ProtocolError):
                    reading = protocol.decode(frame, vector["unit"])
                    assert reading.weight_kg != 0, (index, value)
                    assert (reading.weight_kg is None) == (
                        reading.status is not WeightStatus.OK
                    )


@pytest.mark.parametrize("name", PROTOCOLS)
def test_framer_buffer_is_bounded_on_endless_input(name):
    options = _options(name)
    protocol = build_scale_protocol(name, options)
    framer = protocol.new_framer()
    inner = getattr(framer, "inner", framer)
    for filler in (b"\x02", b"W", b"=", b"S", b"x", b"0"):
        for _ in range(50):
            framer.feed(filler * 97)
            assert len(inner._pending) < inner.max_len
    assert len(framer.take_discarded()) <= 4096


# --- fuzz -----------------------------------------------------------------


def _options(name):
    vectors = [v for v in load_vectors(name) if "options" in v]
    return vectors[0]["options"] if name == "custom" else None


_PIECES = {
    name: [v["raw"] for v in load_vectors(name)] + [b"\x02", b"\x03", b"\r\n", b"="]
    for name in PROTOCOLS
}


@pytest.mark.parametrize("name", PROTOCOLS)
@given(data=st.data())
def test_fuzz_framer_is_bounded_loses_no_byte_and_ignores_read_sizes(name, data):
    protocol = build_scale_protocol(name, _options(name))
    pieces = data.draw(
        st.lists(
            st.one_of(st.binary(max_size=24), st.sampled_from(_PIECES[name])),
            max_size=25,
        )
    )
    size = data.draw(st.integers(min_value=1, max_value=20))
    stream = b"".join(pieces)
    framer = protocol.new_framer()
    inner = getattr(framer, "inner", framer)

    items = []
    for i in range(0, len(stream), size):
        items += framer.feed_items(stream[i : i + size])
        assert len(inner._pending) < inner.max_len
    items += framer.flush()

    assert sum(len(chunk) for _, chunk in items) == len(stream)
    assert [c for f, c in items if f] == protocol.new_framer().feed(stream)
    for is_frame, chunk in items:
        if is_frame:
            assert len(chunk) <= inner.max_len


@pytest.mark.parametrize("name", PROTOCOLS)
@given(data=st.data())
def test_fuzz_decoder_raises_only_protocol_errors(name, data):
    protocol = build_scale_protocol(name, _options(name))
    frame = data.draw(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(_PIECES[name]).flatmap(
                lambda raw: st.binary(min_size=len(raw), max_size=len(raw)).map(
                    lambda noise: bytes(
                        a if n % 3 else n for a, n in zip(raw, noise, strict=True)
                    )
                )
            ),
        )
    )
    unit = data.draw(st.sampled_from(["kg", "t"]))
    try:
        reading = protocol.decode(frame, unit)
    except ProtocolError:
        return
    assert (reading.weight_kg is None) == (reading.status is not WeightStatus.OK)
    assert reading.raw == frame
