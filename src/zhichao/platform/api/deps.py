"""Dependencies shared by the routers: settings, sessions, the photo store."""

import logging
from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from zhichao.platform.api.errors import ApiError
from zhichao.platform.evidence import EvidenceBackend
from zhichao.platform.settings import PlatformSettings

logger = logging.getLogger(__name__)


def get_settings(request: Request) -> PlatformSettings:
    return request.app.state.settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def get_session(request: Request) -> Iterator[Session]:
    """A read session for one request; writers use the factory and commit."""
    with request.app.state.sessions() as session:
        yield session


def get_evidence(request: Request) -> EvidenceBackend:
    return request.app.state.evidence


def declared_length(request: Request, limit: int) -> int | None:
    """The Content-Length, refused with 413 up front when over ``limit``."""
    header = request.headers.get("content-length")
    if header is None:
        return None
    if not header.isdigit():
        raise ApiError(400, "bad_request", "Content-Length is not a number")
    length = int(header)
    if length > limit:
        raise ApiError(
            413, "payload_too_large", f"body is {length} bytes; the limit is {limit}"
        )
    return length


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, read as it streams, refused with 413 past ``limit``."""
    declared_length(request, limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "payload_too_large", f"body is over the limit of {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)
