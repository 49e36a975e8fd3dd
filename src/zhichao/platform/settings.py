"""Platform settings: defaults, an optional TOML file, environment, flags.

Precedence, highest first: explicit overrides (command-line flags), environment
variables ``ZHICHAO_PLATFORM_<KEY>``, the TOML file, the defaults below. A TOML
file may hold the keys at its top level or under a ``[platform]`` table. Every
setting is documented in ``docs/platform.md``.
"""

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)

ENV_PREFIX = "ZHICHAO_PLATFORM_"
MIB = 1024 * 1024


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
    max_photo_bytes: int = Field(8 * MIB, ge=1024)
    live_page_size: int = Field(50, ge=1, le=500)
    poll_interval_ms: int = Field(2000, ge=200)
    default_lang: Literal["zh", "en"] = "zh"


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
        problems.append(f"{key} (env {env}): {item['msg']}, got {item.get('input')!r}")
    return "; ".join(problems)
