"""Platform settings: defaults, an optional TOML file, environment, flags.

Precedence, highest first: explicit overrides (command-line flags), environment
variables ``ZHICHAO_PLATFORM_<KEY>``, the TOML file, the defaults below. A TOML
file may hold the keys at its top level or under a ``[platform]`` table. Every
setting is documented in ``docs/platform.md``.
"""

import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)

ENV_PREFIX = "ZHICHAO_PLATFORM_"
MIB = 1024 * 1024
# S3 bucket naming: 3-63 characters, lower case, digits, dots and hyphens
S3_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
S3_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
# keys whose value is never repeated in an error message
SECRET_KEYS = frozenset({"s3_secret_access_key"})
S3_OPTIONAL_KEYS = (
    "s3_endpoint_url",
    "s3_bucket",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
)


class PlatformSettings(BaseSettings):
    """Settings of one platform deployment (county, city or province tier)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    database_url: str = Field(
        "sqlite:///var/platform/platform.db", min_length=1, description="SQLAlchemy URL"
    )
    evidence_dir: Path = Field(
        Path("var/platform/evidence"), description="photo store root"
    )
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    max_batch_bytes: int = Field(4 * MIB, ge=1024)
    max_batch_records: int = Field(500, ge=1)
    # a guard against upload storms, not a throttle: measured on 2 cores, any
    # limit the 200-lane backlog benchmark reaches makes it drain slower
    max_concurrent_ingest: int = Field(
        256,
        ge=1,
        description="record uploads handled at once per process; more are 503",
    )
    busy_retry_after_s: int = Field(
        1, ge=1, le=300, description="Retry-After of a 503 busy answer"
    )
    max_photo_bytes: int = Field(8 * MIB, ge=1024)
    live_page_size: int = Field(50, ge=1, le=500)
    poll_interval_ms: int = Field(2000, ge=200)
    default_lang: Literal["zh", "en"] = "zh"
    require_enrolment: bool = Field(
        False, description="refuse records of lanes with no enrolled key"
    )
    heartbeat_offline_s: int = Field(
        90, ge=1, description="a station silent this long is shown offline"
    )
    heartbeat_history: int = Field(
        2880, ge=1, description="heartbeats kept per station (oldest pruned)"
    )
    alarm_page_size: int = Field(100, ge=1, le=1000)

    # people: how long a web session lasts, and when sign-in is refused for a while
    session_hours: int = Field(12, ge=1, le=720, description="web session lifetime")
    login_throttle_minutes: int = Field(
        15, ge=1, le=1440, description="window over which failed sign-ins count"
    )
    login_failures_per_account: int = Field(5, ge=1, le=1000)
    login_failures_per_address: int = Field(20, ge=1, le=100000)

    # the evidence store: files under evidence_dir, or an S3-compatible bucket
    evidence_backend: Literal["file", "s3"] = Field(
        "file", description="where photos are kept"
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 API address; none means AWS by s3_region"
    )
    s3_bucket: str | None = Field(
        None, validate_default=True, description="bucket; required for s3"
    )
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = Field(None, validate_default=True)
    s3_prefix: str = Field("", description="key prefix inside the bucket")
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"

    @field_validator(*S3_OPTIONAL_KEYS, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # an empty environment variable (EnvironmentFile=) means "not set"
        return None if value == "" else value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @field_validator("s3_bucket")
    @classmethod
    def _check_bucket(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("evidence_backend") == "s3":
                raise ValueError("required when evidence_backend is s3")
            return None
        if not S3_BUCKET_PATTERN.match(value) or ".." in value:
            raise ValueError(
                "not an S3 bucket name (3-63 lower-case letters, digits, dots,"
                " hyphens; starting and ending with a letter or digit)"
            )
        return value

    @field_validator("s3_secret_access_key")
    @classmethod
    def _check_key_pair(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if (value is None) != (info.data.get("s3_access_key_id") is None):
            raise ValueError(
                "s3_access_key_id and s3_secret_access_key go together: set both,"
                " or neither to use the AWS credential chain"
            )
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must not start with / or contain ..")
        if not S3_PREFIX_PATTERN.match(value):
            raise ValueError(
                "may hold only letters, digits, / and the characters ! _ . * ' ( ) -"
            )
        if value and not value.endswith("/"):
            value += "/"
        return value


def load_settings(
    config_file: Path | str | None = None, **overrides: Any
) -> PlatformSettings:
    """Build settings from the file, the environment and ``overrides``.

    Overrides whose value is None are ignored, so click options can be passed
    straight through. Raises ConfigError naming the key and the reason.
    """
    file_values = _read_toml(Path(config_file)) if config_file else {}
    env_keys = {
        name.lower() for name in os.environ if name.upper().startswith(ENV_PREFIX)
    }
    values = {
        key: value
        for key, value in file_values.items()
        if (ENV_PREFIX + key).lower() not in env_keys
    }
    values.update({key: value for key, value in overrides.items() if value is not None})

    try:
        return PlatformSettings(**values)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from err


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(
            f"config file {path}: cannot be read ({err.strerror})"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path}: not valid TOML ({err})") from err

    table = data.get("platform", data)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [platform] must be a table")
    unknown = sorted(set(table) - set(PlatformSettings.model_fields))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r}")
    return dict(table)


def _describe(err: ValidationError) -> str:
    problems = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "settings"
        env = ENV_PREFIX + key.upper()
        got = "(hidden)" if key in SECRET_KEYS else repr(item.get("input"))
        problems.append(f"{key} (env {env}): {item['msg']}, got {got}")
    return "; ".join(problems)
