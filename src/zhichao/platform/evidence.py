"""The evidence photo store, content-addressed by SHA-256, behind one interface.

Two backends share the interface ``EvidenceBackend``: ``EvidenceStore`` (files
on disk, the default) here, and ``S3EvidenceStore`` (an S3-compatible object
store) in ``zhichao.platform.evidence_s3``. ``open_evidence_store(settings)``
builds the one the settings name.

Every upload goes through a ``PhotoUpload``: it counts the bytes against the
size limit, hashes them and keeps the first three, and ``commit`` stores the
photo only if the bytes hash to the SHA-256 it was opened with and start like a
JPEG. A photo is never visible under its name before it has been checked, and
storing the same bytes again changes nothing.

On disk a photo lives at ``<root>/<h[0:2]>/<h[2:4]>/<h>`` where ``h`` is the
lowercase hex SHA-256 of its bytes. Bytes are written to a temporary file under
``<root>/.incoming``, flushed to disk, then renamed into place, so a reader never
sees a partial photo and a crash leaves at most a stray temporary file.
"""

import hashlib
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from zhichao.errors import ConfigError, ZhichaoError

if TYPE_CHECKING:
    from zhichao.platform.settings import PlatformSettings

logger = logging.getLogger(__name__)

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
JPEG_MAGIC = b"\xff\xd8\xff"  # SOI marker followed by the first segment's marker
JPEG_TYPE = "image/jpeg"
CHUNK_BYTES = 64 * 1024


class EvidenceError(ZhichaoError):
    """A photo upload that cannot be stored as it is."""


class PhotoTooLargeError(EvidenceError):
    pass


class PhotoHashError(EvidenceError):
    pass


class NotJpegError(EvidenceError):
    pass


class PhotoMissingError(EvidenceError):
    """The store has no photo under that SHA-256."""


class EvidenceUnavailableError(EvidenceError):
    """The store cannot be reached or refused the operation; try again later."""


def is_sha256(text: str) -> bool:
    return bool(SHA256_PATTERN.match(text))


def checked_name(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


def sharded_name(sha256: str) -> str:
    """``h[0:2]/h[2:4]/h``: the photo's place below the store's root or prefix."""
    checked_name(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class EvidenceBackend(ABC):
    """Where photos are kept: has, write (checked), read as a stream."""

    #: short word for logs and the settings key ``evidence_backend``
    kind = ""

    @abstractmethod
    def has(self, sha256: str) -> bool:
        """Whether the photo is stored (EvidenceUnavailableError if unknowable)."""

    @abstractmethod
    def writer(self, sha256: str, max_bytes: int) -> "PhotoUpload":
        """Start an upload of a photo that must hash to ``sha256``."""

    @abstractmethod
    def open_chunks(
        self, sha256: str, chunk_size: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        """The photo's bytes in chunks.

        The photo is opened before this returns (PhotoMissingError when it is
        not there), so a caller can still answer 404; reading happens as the
        iterator is consumed.
        """

    def local_path(self, sha256: str) -> Path | None:
        """The photo's file, for a backend that has one (served with sendfile)."""
        return None

    def describe(self) -> str:
        return self.kind

    @abstractmethod
    def check(self) -> None:
        """Raise ConfigError, naming the setting, if the store cannot be used."""

    def put(self, data: bytes, max_bytes: int | None = None) -> str:
        """Store ``data`` at once; returns its SHA-256 (for seeding and tests)."""
        sha256 = hashlib.sha256(data).hexdigest()
        upload = self.writer(sha256, max_bytes or max(len(data), 1))
        try:
            upload.write(data)
            upload.commit()
        finally:
            upload.discard()
        return sha256

    def read(self, sha256: str) -> bytes:
        """The whole photo (for tests and small tools)."""
        return b"".join(self.open_chunks(sha256))


class PhotoUpload(ABC):
    """One photo upload in progress: feed chunks, then commit or discard.

    The checks are the same for every backend; a backend says where the bytes
    go while they arrive (``_keep``), how to store them once they passed
    (``commit``) and how to drop them (``discard``, safe to call twice and after
    a commit).
    """

    def __init__(self, sha256: str, max_bytes: int) -> None:
        self.sha256 = checked_name(sha256)
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = b""

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PhotoTooLargeError(
                f"the body is over the limit of {self.max_bytes} bytes"
            )
        if len(self._head) < len(JPEG_MAGIC):
            self._head += chunk[: len(JPEG_MAGIC) - len(self._head)]
        self._hash.update(chunk)
        self._keep(chunk)

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

    @abstractmethod
    def _keep(self, chunk: bytes) -> None: ...

    @abstractmethod
    def commit(self) -> object:
        """Check the bytes, then store them under their SHA-256."""

    @abstractmethod
    def discard(self) -> None: ...


class EvidenceStore(EvidenceBackend):
    """Photo files under ``root`` (the file-system backend)."""

    kind = "file"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"

    def describe(self) -> str:
        return f"file {self.root}"

    def path_for(self, sha256: str) -> Path:
        return self.root / sharded_name(sha256)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"evidence_dir {self.root}: cannot be created ({err.strerror})"
            ) from err

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def local_path(self, sha256: str) -> Path | None:
        return self.path_for(sha256)

    def writer(self, sha256: str, max_bytes: int) -> "PhotoWriter":
        self.incoming.mkdir(parents=True, exist_ok=True)
        return PhotoWriter(self, sha256, max_bytes)

    def open_chunks(
        self, sha256: str, chunk_size: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        try:
            file = self.path_for(sha256).open("rb")
        except FileNotFoundError as err:
            raise PhotoMissingError(f"no photo {sha256} in the store") from err
        return _file_chunks(file, chunk_size)


def _file_chunks(file, chunk_size: int) -> Iterator[bytes]:
    with file:
        while chunk := file.read(chunk_size):
            yield chunk


class PhotoWriter(PhotoUpload):
    """An upload to the file store: a temporary file renamed into place."""

    def __init__(self, store: EvidenceStore, sha256: str, max_bytes: int) -> None:
        super().__init__(sha256, max_bytes)
        self.store = store
        fd, name = tempfile.mkstemp(dir=store.incoming, prefix=sha256[:16] + ".")
        self._file = os.fdopen(fd, "wb")
        self._temp = Path(name)

    def _keep(self, chunk: bytes) -> None:
        self._file.write(chunk)

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


def open_evidence_store(settings: "PlatformSettings") -> EvidenceBackend:
    """The backend ``settings.evidence_backend`` names, ready to use.

    For ``s3`` the bucket is checked once here, so a wrong endpoint, bucket or
    key stops the platform at start with a message naming the setting.
    """
    if settings.evidence_backend == "s3":
        from zhichao.platform.evidence_s3 import S3EvidenceStore

        store: EvidenceBackend = S3EvidenceStore.from_settings(settings)
    else:
        store = EvidenceStore(settings.evidence_dir)
    store.check()
    logger.info("evidence store: %s", store.describe())
    return store
