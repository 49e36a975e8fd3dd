"""Settings of the evidence store: defaults, file, environment, errors by key."""

import pytest

from zhichao.errors import ConfigError
from zhichao.platform.settings import PlatformSettings, load_settings

S3 = {"evidence_backend": "s3", "s3_bucket": "zhichao-evidence"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in PlatformSettings.model_fields:
        monkeypatch.delenv(f"ZHICHAO_PLATFORM_{name.upper()}", raising=False)


def test_file_store_is_the_default():
    settings = load_settings()

    assert settings.evidence_backend == "file"
    assert settings.s3_bucket is None
    assert settings.s3_prefix == ""
    assert settings.s3_addressing_style == "path"


def test_from_toml_file(tmp_path):
    config = tmp_path / "platform.toml"
    config.write_text(
        "[platform]\n"
        'evidence_backend = "s3"\n'
        's3_endpoint_url = "http://10.0.0.5:9000/"\n'
        's3_bucket = "zhichao-evidence"\n'
        's3_region = "us-east-1"\n'
        's3_prefix = "140525"\n'
    )

    settings = load_settings(config)

    assert settings.evidence_backend == "s3"
    assert settings.s3_endpoint_url == "http://10.0.0.5:9000"
    assert settings.s3_prefix == "140525/"
    assert settings.s3_access_key_id is None


def test_from_environment(monkeypatch):
    monkeypatch.setenv("ZHICHAO_PLATFORM_EVIDENCE_BACKEND", "s3")
    monkeypatch.setenv("ZHICHAO_PLATFORM_S3_BUCKET", "zhichao-evidence")
    monkeypatch.setenv("ZHICHAO_PLATFORM_S3_ACCESS_KEY_ID", "AKEXAMPLE")
    monkeypatch.setenv("ZHICHAO_PLATFORM_S3_SECRET_ACCESS_KEY", "very-secret")
    monkeypatch.setenv("ZHICHAO_PLATFORM_S3_ENDPOINT_URL", "")

    settings = load_settings()

    assert settings.s3_endpoint_url is None
    assert settings.s3_secret_access_key.get_secret_value() == "very-secret"
    assert "very-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("values", "key", "reason"),
    [
        ({"evidence_backend": "s3"}, "s3_bucket", "required when evidence_backend"),
        ({"evidence_backend": "minio"}, "evidence_backend", "'file' or 's3'"),
        (S3 | {"s3_bucket": "Evidence_Photos"}, "s3_bucket", "not an S3 bucket name"),
        (S3 | {"s3_bucket": "ab"}, "s3_bucket", "not an S3 bucket name"),
        (S3 | {"s3_endpoint_url": "10.0.0.5:9000"}, "s3_endpoint_url", "http://"),
        (S3 | {"s3_endpoint_url": "ftp://store"}, "s3_endpoint_url", "http://"),
        (S3 | {"s3_access_key_id": "AK"}, "s3_secret_access_key", "go together"),
        (S3 | {"s3_prefix": "/evidence"}, "s3_prefix", "must not start with /"),
        (S3 | {"s3_prefix": "a/../b"}, "s3_prefix", "must not start with /"),
        (S3 | {"s3_prefix": "证据/"}, "s3_prefix", "may hold only"),
        (S3 | {"s3_addressing_style": "dns"}, "s3_addressing_style", "'path'"),
    ],
)
def test_bad_value_names_the_key(values, key, reason):
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)

    message = str(caught.value)
    assert message.startswith(f"{key} (env ZHICHAO_PLATFORM_{key.upper()})")
    assert reason in message


def test_secret_is_never_in_the_message():
    with pytest.raises(ConfigError) as caught:
        load_settings(**S3, s3_secret_access_key="very-secret")

    assert "s3_secret_access_key" in str(caught.value)
    assert "very-secret" not in str(caught.value)


def test_bucket_not_needed_for_the_file_store():
    assert load_settings(evidence_backend="file").s3_bucket is None


def test_unknown_s3_key_in_file(tmp_path):
    config = tmp_path / "platform.toml"
    config.write_text('s3_bucket_name = "x"\n')

    with pytest.raises(ConfigError, match="unknown setting 's3_bucket_name'"):
        load_settings(config)
