"""The evidence chain: canonical encoding, record hashes, Ed25519 signatures.

Shared by the station (which signs) and the platform (which verifies), and by
any other vendor's station: ``docs/protocol.md`` ("Signing and the chain")
specifies the same rules in prose. Pure: no I/O except reading and writing a
key file.

Canonical encoding: the record as JSON with the ``signature`` member left out,
object members sorted by key, no insignificant whitespace, strings in UTF-8
with only the escapes JSON requires, integers in plain decimal, and the few
non-integer numbers (``over_rate_pct``) in their shortest decimal form with no
exponent and no trailing zeros. This is the subset of RFC 8785 (JCS) that
records use.
"""

import base64
import hashlib
import json
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import orjson
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

from zhichao.errors import ConfigError, ZhichaoError

GENESIS_HASH = "0" * 64  # prev_hash of a lane's first record
SIGNATURE_FIELD = "signature"
ENROLMENT_PREFIX = "ZC1"


class ChainError(ZhichaoError):
    """A record that cannot be encoded, or a key or code that cannot be read."""


def canonical_bytes(record: dict) -> bytes:
    """The bytes that are hashed and signed: the record without its signature."""
    body = {k: v for k, v in record.items() if k != SIGNATURE_FIELD}
    fast = encode_plain(plain_json(body))
    return _encode(body).encode("utf-8") if fast is None else fast


def canonical_text(value) -> str:
    """The canonical encoding of any value as text (fast when it can be)."""
    fast = encode_plain(plain_json(value))
    return _encode(value) if fast is None else fast.decode("utf-8")


# The fast path: JSON-native values (what json.loads gives) are written by
# orjson, which escapes strings as the reference does (only '"', '\\' and
# control characters, the short forms where JSON has them, else \u00xx) and
# writes a float that is neither integral nor in exponent form as its shortest
# repr. ``plain_json`` turns integral floats into ints and refuses anything the
# reference would write differently or refuse (a float in exponent form, NaN,
# a non-ASCII or non-string key, a type that is not plain JSON); the reference
# ``_encode`` writes those. tests/test_chain_fast.py holds the two together.

NOT_PLAIN = object()
_EXACT_UP_TO = 1e16  # below this an integral float is an exact int, repr "N.0"


def encode_plain(value) -> bytes | None:
    """Canonical UTF-8 of a ``plain_json`` result; None when only the reference can."""
    if value is NOT_PLAIN:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an int beyond 64 bits, a lone surrogate
        return None


def plain_json(value):
    """``value`` with integral floats as ints, or ``NOT_PLAIN``."""
    kind = type(value)
    if kind is dict:
        out = None
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return NOT_PLAIN
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            fixed = plain_json(item)
            if fixed is not item:
                if fixed is NOT_PLAIN:
                    return NOT_PLAIN
                if out is None:
                    out = dict(value)
                out[key] = fixed
        return value if out is None else out
    if kind is list:
        out = None
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            fixed = plain_json(item)
            if fixed is not item:
                if fixed is NOT_PLAIN:
                    return NOT_PLAIN
                if out is None:
                    out = list(value)
                out[index] = fixed
        return value if out is None else out
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            return NOT_PLAIN
        if value.is_integer() and abs(value) < _EXACT_UP_TO:
            return int(value)
        text = repr(value)
        return NOT_PLAIN if "e" in text or "E" in text else value
    return NOT_PLAIN


def record_hash(record: dict) -> str:
    """Lowercase hex SHA-256 of the canonical encoding."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def _encode(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        return _object(value)
    raise ChainError(f"cannot encode {type(value).__name__} in a record")


def _object(value: dict) -> str:
    for key in value:
        if not isinstance(key, str):
            raise ChainError(f"record keys must be strings, not {key!r}")
    # RFC 8785 orders by UTF-16 code units; for the keys records use (ASCII)
    # this is the same as ordering by code point.
    items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
    return "{" + ",".join(f"{_encode(k)}:{_encode(v)}" for k, v in items) + "}"


def _number(value: float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ChainError("a record number must be finite")
    text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- keys and signatures --------------------------------------------------


@dataclass(frozen=True)
class StationKey:
    """A lane's signing key (Ed25519). The private half never leaves the station."""

    signing_key: SigningKey

    @classmethod
    def generate(cls) -> "StationKey":
        return cls(SigningKey.generate())

    @property
    def public_key(self) -> str:
        """The public key, base64 (standard alphabet, padded)."""
        return base64.b64encode(bytes(self.signing_key.verify_key)).decode()

    def sign(self, record: dict) -> str:
        signed = self.signing_key.sign(canonical_bytes(record))
        return base64.b64encode(signed.signature).decode()

    def save(self, path: Path | str) -> None:
        """Write the 32-byte seed, base64, readable by the owner only."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(bytes(self.signing_key)).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def load(cls, path: Path | str) -> "StationKey":
        path = Path(path)
        try:
            seed = base64.b64decode(path.read_text().strip(), validate=True)
            return cls(SigningKey(seed))
        except FileNotFoundError as err:
            raise ConfigError(
                f"{path}: no signing key; run `zhichao station init` first"
            ) from err
        except (ValueError, CryptoError) as err:
            raise ConfigError(f"{path}: not a zhichao signing key: {err}") from err


def verify_signature(record: dict, public_key: str) -> bool:
    """True when ``record['signature']`` is the key's signature of the record."""
    signature = record.get(SIGNATURE_FIELD)
    if not isinstance(signature, str):
        return False
    try:
        key = VerifyKey(base64.b64decode(public_key, validate=True))
        key.verify(canonical_bytes(record), base64.b64decode(signature, validate=True))
    except (BadSignatureError, CryptoError, ValueError):
        return False
    return True


def key_fingerprint(public_key: str) -> str:
    """A short, readable fingerprint of a public key (for a phone call)."""
    digest = hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


# -- enrolment codes ------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    station_code: str
    lane_no: str
    public_key: str

    @property
    def code(self) -> str:
        """``ZC1.<station>.<lane>.<public key, base64url>.<check>``."""
        key = base64.urlsafe_b64encode(base64.b64decode(self.public_key)).decode()
        body = (
            f"{ENROLMENT_PREFIX}.{self.station_code}.{self.lane_no}.{key.rstrip('=')}"
        )
        return f"{body}.{_check(body)}"

    @classmethod
    def parse(cls, code: str) -> "Enrolment":
        parts = code.strip().split(".")
        if len(parts) != 5 or parts[0] != ENROLMENT_PREFIX:
            raise ChainError(
                "an enrolment code has five parts: ZC1.<station>.<lane>.<key>.<check>"
            )
        prefix, station, lane, key, check = parts
        if _check(".".join(parts[:4])) != check:
            raise ChainError("enrolment code check digits do not match: mistyped?")
        if not (station.isdigit() and len(station) == 10):
            raise ChainError(f"station code {station!r} is not 10 digits")
        if not (lane.isdigit() and len(lane) == 2):
            raise ChainError(f"lane number {lane!r} is not 2 digits")
        try:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
            VerifyKey(raw)
        except (ValueError, CryptoError) as err:
            raise ChainError(f"enrolment code carries no valid key: {err}") from err
        return cls(station, lane, base64.b64encode(raw).decode())


def _check(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]
