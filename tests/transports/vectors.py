"""Load device vectors from tests/vectors/<protocol>/*.yaml."""

from pathlib import Path

import yaml

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load(protocol: str, name: str) -> dict:
    return yaml.safe_load((VECTORS / protocol / name).read_text(encoding="utf-8"))


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))
