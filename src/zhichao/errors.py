"""One error hierarchy for the whole product.

Library errors are converted to these at the boundary (``raise ... from err``),
so callers only ever catch zhichao's own types.
"""


class ZhichaoError(Exception):
    """Base of every error zhichao raises on purpose."""


class ConfigError(ZhichaoError):
    """A configuration file or value is unusable; the message names the key."""


class RulesInputError(ZhichaoError, ValueError):
    """A vehicle description the limits table cannot apply to (e.g. 5-axle truck)."""


class ProtocolError(ZhichaoError):
    """Bytes from a device that do not follow its protocol."""


class FrameError(ProtocolError):
    """A frame is malformed: wrong length, bad delimiters, bad characters."""


class ChecksumError(FrameError):
    """A frame's checksum does not match its content."""


class PlateError(ProtocolError):
    """A licence plate or plate colour that fails validation."""


class DeviceError(ZhichaoError):
    """A device cannot be reached, or went silent."""


class StoreError(ZhichaoError):
    """The station's local store cannot take a record (disk full, I/O error)."""


class StoreFullError(StoreError):
    """The station's disk (or its configured reserve) is full: no new passes."""


class UploadError(ZhichaoError):
    """The platform did not accept an upload.

    ``retry_after_s`` is set when the platform said when to come back (a 503
    busy answer with ``Retry-After``).
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EncodingError(ProtocolError, ValueError):
    """Text or a reading that a device format cannot carry (e.g. a non-GBK char)."""
