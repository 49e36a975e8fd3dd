"""Modbus RTU frames for relay boards (继电器板): coils and discrete inputs.

Follows the Modbus application protocol (V1.1b3) and its serial line guide:
an RTU frame is ``unit | function | data | CRC``, the CRC-16 with the reflected
polynomial 0xA001 and initial value 0xFFFF, sent low byte first. Only what a
barrier relay and a board of inputs need is here: write single coil (05), read
coils (01) and read discrete inputs (02), the replies to them and exception
replies. Pure: no port, no clock.

Example from DESIGN §4: coil 0 of unit 1 on is ``01 05 00 00 FF 00 8C 3A``.
"""

from dataclasses import dataclass

from zhichao.errors import ChecksumError, EncodingError, FrameError, ProtocolError

READ_COILS = 0x01
READ_DISCRETE_INPUTS = 0x02
WRITE_SINGLE_COIL = 0x05
EXCEPTION_FLAG = 0x80
COIL_ON = 0xFF00
COIL_OFF = 0x0000
MAX_READ_BITS = 2000  # the protocol's limit for one read
MAX_FRAME = 256

ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03


class ModbusReplyError(ProtocolError):
    """The device answered with a Modbus exception (e.g. illegal address)."""

    def __init__(self, function: int, code: int) -> None:
        super().__init__(f"Modbus exception {code:02X} to function {function:02X}")
        self.function = function
        self.code = code


@dataclass(frozen=True)
class RtuFrame:
    """One checked RTU frame: the unit (slave) id, function code and data."""

    unit: int
    function: int
    data: bytes


def crc16(data: bytes) -> int:
    """The Modbus CRC-16 of ``data`` (reflected 0xA001, initial 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def encode_frame(unit: int, function: int, data: bytes) -> bytes:
    if not 0 <= unit <= 247 or not 1 <= function <= 0xFF:
        raise EncodingError(f"unit {unit} or function {function} out of range")
    body = bytes([unit, function]) + data
    return body + crc16(body).to_bytes(2, "little")


def decode_frame(frame: bytes) -> RtuFrame:
    """Check the CRC of one whole frame; ChecksumError or FrameError otherwise."""
    if len(frame) < 4:
        raise FrameError(f"RTU frame too short: {frame.hex(' ')}")
    if len(frame) > MAX_FRAME:
        raise FrameError(f"RTU frame of {len(frame)} bytes; the limit is {MAX_FRAME}")
    body = frame[:-2]
    got = int.from_bytes(frame[-2:], "little")
    if got != crc16(body):
        raise ChecksumError(f"RTU CRC is {got:04X}, frame gives {crc16(body):04X}")
    return RtuFrame(unit=body[0], function=body[1], data=bytes(body[2:]))


# -- requests (the master sends) ------------------------------------------


def write_coil_request(unit: int, coil: int, on: bool) -> bytes:
    _check_address(coil)
    value = COIL_ON if on else COIL_OFF
    return encode_frame(
        unit, WRITE_SINGLE_COIL, coil.to_bytes(2, "big") + value.to_bytes(2, "big")
    )


def read_bits_request(unit: int, function: int, start: int, count: int) -> bytes:
    """Read coils (01) or discrete inputs (02) ``start`` .. ``start+count-1``."""
    if function not in (READ_COILS, READ_DISCRETE_INPUTS):
        raise EncodingError(f"function {function:02X} does not read bits")
    _check_address(start)
    if not 1 <= count <= MAX_READ_BITS or start + count > 0x10000:
        raise EncodingError(f"cannot read {count} bits from {start}")
    return encode_frame(
        unit, function, start.to_bytes(2, "big") + count.to_bytes(2, "big")
    )


def parse_write_coil(frame: RtuFrame) -> tuple[int, bool]:
    """(coil, on) of a write-coil request, or of its reply (an echo of it)."""
    _expect(frame, WRITE_SINGLE_COIL)
    if len(frame.data) != 4:
        raise FrameError(f"write coil carries {len(frame.data)} bytes, not 4")
    coil = int.from_bytes(frame.data[0:2], "big")  # bytes 2-3: coil address
    value = int.from_bytes(frame.data[2:4], "big")  # bytes 4-5: FF00 on, 0000 off
    if value not in (COIL_ON, COIL_OFF):
        raise FrameError(f"write coil value {value:04X} is neither FF00 nor 0000")
    return coil, value == COIL_ON


def parse_read_request(frame: RtuFrame) -> tuple[int, int]:
    """(start, count) of a read coils / read discrete inputs request."""
    if frame.function not in (READ_COILS, READ_DISCRETE_INPUTS):
        raise FrameError(f"function {frame.function:02X} is not a bit read")
    if len(frame.data) != 4:
        raise FrameError(f"read request carries {len(frame.data)} bytes, not 4")
    start = int.from_bytes(frame.data[0:2], "big")
    count = int.from_bytes(frame.data[2:4], "big")
    if not 1 <= count <= MAX_READ_BITS:
        raise FrameError(f"read of {count} bits is outside 1-{MAX_READ_BITS}")
    return start, count


# -- replies (the slave sends) --------------------------------------------


def read_bits_reply(unit: int, function: int, bits) -> bytes:
    """The reply to a bit read: byte count, then the bits, first bit lowest."""
    bits = list(bits)
    packed = bytearray((len(bits) + 7) // 8)
    for index, bit in enumerate(bits):
        if bit:
            packed[index // 8] |= 1 << (index % 8)
    return encode_frame(unit, function, bytes([len(packed)]) + bytes(packed))


def exception_reply(unit: int, function: int, code: int) -> bytes:
    return encode_frame(unit, function | EXCEPTION_FLAG, bytes([code]))


def parse_read_bits_reply(frame: RtuFrame, function: int, count: int) -> tuple:
    """The ``count`` bits a reply to a bit read carries."""
    _expect(frame, function)
    if not frame.data or frame.data[0] != (count + 7) // 8:
        raise FrameError(f"bit reply does not hold {count} bits")
    if len(frame.data) != 1 + frame.data[0]:
        raise FrameError("bit reply length disagrees with its byte count")
    packed = frame.data[1:]
    return tuple(bool(packed[i // 8] >> (i % 8) & 1) for i in range(count))


def reply_length(head: bytes, function: int) -> int | None:
    """Bytes of the whole reply to ``function`` that begins with ``head``.

    None while too few bytes have come to tell. An exception reply is 5 bytes.
    """
    if len(head) < 2:
        return None
    if head[1] == function | EXCEPTION_FLAG:
        return 5
    if function == WRITE_SINGLE_COIL:
        return 8
    if function in (READ_COILS, READ_DISCRETE_INPUTS):
        return 5 + head[2] if len(head) >= 3 else None
    raise EncodingError(f"no reply length known for function {function:02X}")


def request_length(head: bytes) -> int | None:
    """Bytes of the whole request beginning with ``head``; 0 if not one we read."""
    if len(head) < 2:
        return None
    if head[1] in (READ_COILS, READ_DISCRETE_INPUTS, WRITE_SINGLE_COIL):
        return 8
    return 0


def _expect(frame: RtuFrame, function: int) -> None:
    if frame.function == function | EXCEPTION_FLAG:
        code = frame.data[0] if frame.data else 0
        raise ModbusReplyError(function, code)
    if frame.function != function:
        raise FrameError(f"function {frame.function:02X}, expected {function:02X}")


def _check_address(address: int) -> None:
    if not 0 <= address <= 0xFFFF:
        raise EncodingError(f"Modbus address {address} is outside 0-65535")


class RtuRequestFramer:
    """Cut a slave's input into whole requests, resynchronising byte by byte.

    RTU marks frame ends by silence, which a byte stream does not keep; the
    slave therefore takes the length from the function code and checks the
    CRC. A candidate that fails (noise, a function we do not serve) loses its
    first byte and the search goes on, so a damaged request never hides the
    next one.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarded = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while True:
            size = request_length(bytes(self._buffer[:2]))
            if size is None or len(self._buffer) < (size or 1):
                return frames
            candidate = bytes(self._buffer[:size])
            if size and crc16(candidate[:-2]) == int.from_bytes(
                candidate[-2:], "little"
            ):
                frames.append(candidate)
                del self._buffer[:size]
                continue
            self._discarded.append(self._buffer.pop(0))

    def take_discarded(self) -> bytes:
        discarded = bytes(self._discarded)
        self._discarded.clear()
        return discarded

    def flush(self) -> None:
        self._discarded += self._buffer
        self._buffer.clear()
