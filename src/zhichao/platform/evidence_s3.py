"""Evidence photos in an S3-compatible bucket, through boto3.

A photo is the object ``<s3_prefix><h[0:2]>/<h[2:4]>/<h>`` (``h`` its lowercase
hex SHA-256), the same layout as the file store, so a file store copied into a
bucket (``aws s3 sync``, ``mc mirror``) can be used as it is.

An upload is kept in a spooled temporary file (memory up to 1 MiB, then disk)
while it arrives and is checked like any other: size, SHA-256, JPEG start. Only
then is it sent, in one ``PutObject`` with ``Content-MD5``, so the store refuses
bytes damaged on the way. If the object is already there nothing is sent:
content addressing makes a second upload of the same name the same bytes.
Reads stream the object in chunks and hash it on the way; a mismatch is logged
as an error (the response has started by then and cannot be withdrawn).

boto3's own checksum trailers are switched off (``when_required``): several
S3-compatible servers do not accept them, and Content-MD5 is understood by all.
"""

import base64
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from zhichao.errors import ConfigError
from zhichao.platform.evidence import (
    CHUNK_BYTES,
    JPEG_TYPE,
    EvidenceBackend,
    EvidenceUnavailableError,
    PhotoMissingError,
    PhotoUpload,
    sharded_name,
)

if TYPE_CHECKING:
    from zhichao.platform.settings import PlatformSettings

logger = logging.getLogger(__name__)

SPOOL_BYTES = 1024 * 1024
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
NO_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})
DENIED_CODES = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)


def make_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    addressing_style: str = "path",
) -> Any:
    """A boto3 S3 client for one store; thread-safe, shared by all requests.

    Without a key pair boto3's own credential chain applies (``AWS_*``
    environment variables, ``~/.aws``, an instance role).
    """
    config = Config(
        s3={"addressing_style": addressing_style},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=20,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


class S3EvidenceStore(EvidenceBackend):
    """Photos as objects in ``bucket`` under ``prefix`` (empty or ending in /)."""

    kind = "s3"

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        spool_bytes: int = SPOOL_BYTES,
    ) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.spool_bytes = spool_bytes

    @classmethod
    def from_settings(cls, settings: "PlatformSettings") -> "S3EvidenceStore":
        secret = settings.s3_secret_access_key
        client = make_client(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            addressing_style=settings.s3_addressing_style,
        )
        if settings.s3_bucket is None:  # the settings refuse this already
            raise ConfigError("s3_bucket: required when evidence_backend is s3")
        return cls(
            client,
            settings.s3_bucket,
            settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
        )

    def describe(self) -> str:
        where = self.endpoint_url or "AWS"
        return f"s3 bucket {self.bucket} prefix {self.prefix!r} at {where}"

    def key_for(self, sha256: str) -> str:
        return self.prefix + sharded_name(sha256)

    def check(self) -> None:
        """Ask for the bucket once; ConfigError naming the setting at fault."""
        where = self.endpoint_url or "AWS"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError as err:
            raise ConfigError(
                "s3_access_key_id: no S3 credentials (set s3_access_key_id and"
                " s3_secret_access_key, or AWS_* variables)"
            ) from err
        except ClientError as err:
            code = _error_code(err)
            if code in NO_BUCKET_CODES:
                raise ConfigError(
                    f"s3_bucket: no bucket {self.bucket!r} at {where}"
                ) from err
            if code in DENIED_CODES:
                raise ConfigError(
                    f"s3_access_key_id: access to bucket {self.bucket!r} at"
                    f" {where} refused ({code})"
                ) from err
            raise ConfigError(
                f"s3_bucket: {self.bucket!r} at {where} answered {code}"
            ) from err
        except BotoCoreError as err:
            raise ConfigError(
                f"s3_endpoint_url: {where} cannot be reached ({err})"
            ) from err

    def has(self, sha256: str) -> bool:
        key = self.key_for(sha256)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _error_code(err) in MISSING_CODES:
                return False
            raise self._unavailable("look up", key, err) from err
        except BotoCoreError as err:
            raise self._unavailable("look up", key, err) from err
        return True

    def writer(self, sha256: str, max_bytes: int) -> "S3PhotoUpload":
        return S3PhotoUpload(self, sha256, max_bytes)

    def open_chunks(
        self, sha256: str, chunk_size: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        key = self.key_for(sha256)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _error_code(err) in MISSING_CODES:
                raise PhotoMissingError(f"no photo {sha256} in the store") from err
            raise self._unavailable("read", key, err) from err
        except BotoCoreError as err:
            raise self._unavailable("read", key, err) from err
        return self._stream(answer["Body"], sha256, key, chunk_size)

    def _stream(
        self, body: Any, sha256: str, key: str, chunk_size: int
    ) -> Iterator[bytes]:
        digest = hashlib.sha256()
        try:
            for chunk in body.iter_chunks(chunk_size):
                digest.update(chunk)
                yield chunk
        except BotoCoreError as err:
            raise self._unavailable("read", key, err) from err
        finally:
            body.close()
        if digest.hexdigest() != sha256:
            logger.error(
                "object %s in bucket %s does not hash to its name (got %s)",
                key,
                self.bucket,
                digest.hexdigest(),
            )

    def put_object(self, key: str, body: Any, size: int, md5: bytes) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                ContentType=JPEG_TYPE,
                ContentMD5=base64.b64encode(md5).decode("ascii"),
            )
        except (ClientError, BotoCoreError) as err:
            raise self._unavailable("store", key, err) from err

    def _unavailable(
        self, doing: str, key: str, err: Exception
    ) -> EvidenceUnavailableError:
        logger.warning("S3 %s of %s in %s failed: %s", doing, key, self.bucket, err)
        return EvidenceUnavailableError(
            f"the evidence store could not {doing} the photo; try again later"
        )


class S3PhotoUpload(PhotoUpload):
    """An upload to a bucket: spooled while it arrives, sent once checked."""

    def __init__(self, store: S3EvidenceStore, sha256: str, max_bytes: int) -> None:
        super().__init__(sha256, max_bytes)
        self.store = store
        self._md5 = hashlib.md5(usedforsecurity=False)
        # closed by discard(), which commit() and the caller always reach
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=store.spool_bytes
        )

    def _keep(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._spool.write(chunk)

    def commit(self) -> str:
        """Check, then send unless already stored; returns the object key."""
        self.check()
        key = self.store.key_for(self.sha256)
        try:
            if self.store.has(self.sha256):
                logger.debug("photo %s already in the bucket", self.sha256)
                return key
            self._spool.seek(0)
            self.store.put_object(key, self._spool, self.size, self._md5.digest())
        finally:
            self.discard()
        logger.debug("stored photo %s as %s (%s bytes)", self.sha256, key, self.size)
        return key

    def discard(self) -> None:
        if not self._spool.closed:
            self._spool.close()
