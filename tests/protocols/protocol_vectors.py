"""Loading device vectors (tests/vectors/<protocol>/*.yaml) for the tests."""

from pathlib import Path

import yaml

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load_vectors(protocol: str) -> list[dict]:
    """Every vector of a protocol, with ``name`` (the file stem) and ``raw`` bytes."""
    vectors = []
    for path in sorted((VECTORS / protocol).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["name"] = path.stem
        if "hex" in data:
            data["raw"] = bytes.fromhex(data["hex"])
        vectors.append(data)
    return vectors


def vector_file(protocol: str, name: str) -> Path:
    return VECTORS / protocol / name
