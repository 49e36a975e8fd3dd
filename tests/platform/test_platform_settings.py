"""Settings: defaults, TOML file, environment, flags, errors, documentation."""

from pathlib import Path

import pytest

from zhichao.errors import ConfigError
from zhichao.platform.settings import PlatformSettings, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "platform.md"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in PlatformSettings.model_fields:
        monkeypatch.delenv(f"ZHICHAO_PLATFORM_{name.upper()}", raising=False)


def test_defaults():
    settings = load_settings()

    assert settings.max_batch_bytes == 4 * 1024 * 1024
    assert settings.max_batch_records == 500
    assert settings.max_photo_bytes == 8 * 1024 * 1024
    assert settings.database_url.startswith("sqlite:///")


@pytest.mark.parametrize("table", [True, False], ids=["[platform]", "top level"])
def test_precedence_flag_over_env_over_file(tmp_path, monkeypatch, table):
    config = tmp_path / "platform.toml"
    header = "[platform]\n" if table else ""
    config.write_text(header + 'port = 9001\nhost = "0.0.0.0"\ndefault_lang = "en"\n')
    monkeypatch.setenv("ZHICHAO_PLATFORM_PORT", "9002")
    monkeypatch.setenv("ZHICHAO_PLATFORM_HOST", "10.0.0.1")

    settings = load_settings(config, host="127.0.0.2", database_url=None)

    assert settings.host == "127.0.0.2"
    assert settings.port == 9002
    assert settings.default_lang == "en"


@pytest.mark.parametrize(
    ("text", "env", "names"),
    [
        ("port = 70000\n", {}, "port"),
        ('port = "eighty"\n', {}, "port"),
        ("colour = 1\n", {}, "colour"),
        (
            "",
            {"ZHICHAO_PLATFORM_MAX_PHOTO_BYTES": "-1"},
            "ZHICHAO_PLATFORM_MAX_PHOTO_BYTES",
        ),
        ('default_lang = "fr"\n', {}, "default_lang"),
        ("port = \n", {}, "not valid TOML"),
    ],
)
def test_bad_value_names_the_key(tmp_path, monkeypatch, text, env, names):
    config = tmp_path / "platform.toml"
    config.write_text(text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(config)

    assert names in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "absent.toml")


@pytest.mark.parametrize("name", sorted(PlatformSettings.model_fields))
def test_every_setting_is_documented(name):
    text = DOC.read_text(encoding="utf-8")

    assert f"`{name}`" in text
    assert f"ZHICHAO_PLATFORM_{name.upper()}" in text
