"""The evidence photo store: files on disk, content-addressed by SHA-256.

A photo lives at ``<root>/<h[0:2]>/<h[2:4]>/<h>`` where ``h`` is the lowercase hex
SHA-256 of its bytes. Bytes are written to a temporary file under
``<root>/.incoming``, flushed to disk, then renamed into place, so a reader never
sees a partial photo and a crash leaves at most a stray temporary file.
"""

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

from zhichao.errors import ZhichaoError

logger = logging.getLogger(__name__)

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
JPEG_MAGIC = b"\xff\xd8\xff"  # SOI marker followed by the first segment's marker


class EvidenceError(ZhichaoError):
    """A photo upload that cannot be stored as it is."""


class PhotoTooLargeError(EvidenceError):
    pass


class PhotoHashError(EvidenceError):
    pass


class NotJpegError(EvidenceError):
    pass


def is_sha256(text: str) -> bool:
    return bool(SHA256_PATTERN.match(text))


class EvidenceStore:
    """Photo files under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"

    def path_for(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def writer(self, sha256: str, max_bytes: int) -> "PhotoWriter":
        """Start writing a photo that must hash to ``sha256``."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        return PhotoWriter(self, sha256, max_bytes)

    def put(self, data: bytes, max_bytes: int | None = None) -> str:
        """Store ``data`` at once; returns its SHA-256 (for seeding and tests)."""
        sha256 = hashlib.sha256(data).hexdigest()
        writer = self.writer(sha256, max_bytes or len(data))
        try:
            writer.write(data)
            writer.commit()
        finally:
            writer.discard()
        return sha256


class PhotoWriter:
    """One photo upload in progress: feed chunks, then commit or discard."""

    def __init__(self, store: EvidenceStore, sha256: str, max_bytes: int) -> None:
        self.store = store
        self.sha256 = sha256
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = b""
        fd, name = tempfile.mkstemp(dir=store.incoming, prefix=sha256[:16] + ".")
        self._file = os.fdopen(fd, "wb")
        self._temp = Path(name)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PhotoTooLargeError(
                f"the body is over the limit of {self.max_bytes} bytes"
            )
        if len(self._head) < len(JPEG_MAGIC):
            self._head += chunk[: len(JPEG_MAGIC) - len(self._head)]
        self._hash.update(chunk)
        self._file.write(chunk)

    def check(self) -> None:
        """Raise unless the bytes hash to the expected SHA-256 and are a JPEG."""
        actual = self._hash.hexdigest()
        if actual != self.sha256:
            raise PhotoHashError(
                f"the body's SHA-256 is {actual}, not the one in the path"
            )
        if self._head != JPEG_MAGIC:
            raise NotJpegError(
                "the body is not a JPEG (it does not start with FF D8 FF)"
            )

    def commit(self) -> Path:
        """Check, flush to disk and move into place; returns the final path."""
        self.check()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

        final = self.store.path_for(self.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temp, final)
        _fsync_dir(final.parent)
        logger.debug("stored photo %s (%s bytes)", self.sha256, self.size)
        return final

    def discard(self) -> None:
        """Drop the temporary file, if it is still there; safe to call twice."""
        if not self._file.closed:
            self._file.close()
        self._temp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
