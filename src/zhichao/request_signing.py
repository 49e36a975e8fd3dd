"""Requests a station signs with a lane's key (docs/protocol.md, "Signed requests").

Records carry their own signatures. Some requests carry none of their own —
the station asking for its vehicle register, the station's heartbeats — so the
request itself is signed: three headers name the lane, the time, and give the
Ed25519 signature, by that lane's enrolled key, of

    METHOD "\\n" PATH "\\n" TIME                      (no body: GET)
    METHOD "\\n" PATH "\\n" TIME "\\n" SHA256(BODY)    (with a body: POST)

in UTF-8, where PATH is the API path without host or any proxy prefix, TIME
the ``X-Zhichao-Time`` value exactly as sent, and SHA256(BODY) the lowercase
hex digest of the body's bytes. The signature is standard base64, padded.
"""

import base64
import hashlib
from datetime import datetime

from zhichao.chain import StationKey
from zhichao.timeutil import iso_utc, utcnow

LANE_HEADER = "X-Zhichao-Lane"
TIME_HEADER = "X-Zhichao-Time"
SIGNATURE_HEADER = "X-Zhichao-Signature"
HEADERS = (LANE_HEADER, TIME_HEADER, SIGNATURE_HEADER)
MAX_CLOCK_OFF_S = 300  # a signed request this far from the platform's clock is refused


def signed_message(
    method: str, path: str, sent_at: str, body: bytes | None = None
) -> bytes:
    """The bytes a lane signs for a request."""
    text = f"{method.upper()}\n{path}\n{sent_at}"
    if body is not None:
        text += "\n" + hashlib.sha256(body).hexdigest()
    return text.encode()


def sign_headers(
    key: StationKey,
    lane_no: str,
    method: str,
    path: str,
    body: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The three headers that sign one request with ``key``."""
    sent_at = iso_utc(now or utcnow())
    message = signed_message(method, path, sent_at, body)
    signature = key.signing_key.sign(message).signature
    return {
        LANE_HEADER: lane_no,
        TIME_HEADER: sent_at,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }
