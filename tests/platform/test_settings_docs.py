"""Every platform setting is documented in docs/platform.md, and nothing else.

The Settings section holds one table row per key:
``| `key` | `ZHICHAO_PLATFORM_KEY` | default | meaning |``.
"""

import re
from pathlib import Path

import pytest

from zhichao.platform.settings import ENV_PREFIX, PlatformSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "platform.md"
ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|")


def documented() -> dict[str, tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            key, env, default, meaning = match.groups()
            assert key not in rows, f"{key} is documented twice"
            rows[key] = (env, default.strip(), meaning.strip())
    return rows


def test_the_table_is_found():
    assert len(documented()) >= 10


@pytest.mark.parametrize("key", sorted(PlatformSettings.model_fields))
def test_setting_is_documented(key):
    rows = documented()

    assert key in rows, f"setting {key} is not in the Settings table of {DOC.name}"
    env, default, meaning = rows[key]
    assert env == ENV_PREFIX + key.upper()
    assert default, f"{key}: the default column is empty"
    assert meaning, f"{key}: the meaning column is empty"


def test_no_documented_setting_is_missing_from_the_code():
    extra = set(documented()) - set(PlatformSettings.model_fields)

    assert extra == set(), f"documented but not settings: {sorted(extra)}"
