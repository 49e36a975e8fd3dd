"""Evidence photos: upload by content hash, existence check, download."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.platform.api.deps import (
    declared_length,
    get_evidence,
    get_session,
    get_session_factory,
    get_settings,
    get_station_session,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.evidence import (
    JPEG_TYPE,
    EvidenceBackend,
    EvidenceUnavailableError,
    NotJpegError,
    PhotoHashError,
    PhotoMissingError,
    PhotoTooLargeError,
    PhotoUpload,
    is_sha256,
)
from zhichao.platform.models import Photo
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/photos", tags=["photos"])

JPEG = JPEG_TYPE
UNAVAILABLE = (503, "evidence_store_unavailable")
UPLOAD_ERRORS = {
    PhotoTooLargeError: (413, "payload_too_large"),
    PhotoHashError: (400, "hash_mismatch"),
    NotJpegError: (415, "unsupported_media_type"),
    EvidenceUnavailableError: UNAVAILABLE,
}
IMMUTABLE = {"cache-control": "public, max-age=31536000, immutable"}


def checked_sha256(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ApiError(
            400,
            "invalid_sha256",
            "the path must end in 64 lowercase hex digits (SHA-256)",
        )
    return sha256


@router.put(
    "/{sha256}",
    status_code=201,
    summary="Upload one photo",
    responses={200: {"description": "already stored"}, 201: {"description": "stored"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JPEG: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_photo(
    sha256: str,
    request: Request,
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    store: Annotated[EvidenceBackend, Depends(get_evidence)],
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Response:
    """Stream the body to the store, check its hash and that it is a JPEG."""
    checked_sha256(sha256)
    declared_length(request, settings.max_photo_bytes)

    writer = store.writer(sha256, settings.max_photo_bytes)
    try:
        await _receive(request, writer)
        await run_in_threadpool(writer.commit)
    except tuple(UPLOAD_ERRORS) as err:
        status, code = UPLOAD_ERRORS[type(err)]
        raise ApiError(status, code, str(err)) from err
    finally:
        writer.discard()

    created = await run_in_threadpool(_record_photo, factory, sha256, writer.size)
    return Response(status_code=201 if created else 200)


async def _receive(request: Request, writer: PhotoUpload) -> None:
    async for chunk in request.stream():
        writer.write(chunk)


def _record_photo(factory: sessionmaker[Session], sha256: str, size: int) -> bool:
    """Add the photo's row; False when it was there already."""
    try:
        with factory() as session, session.begin():
            if session.get(Photo, sha256) is not None:
                return False
            session.add(
                Photo(sha256=sha256, size=size, content_type=JPEG, stored_at=utcnow())
            )
    except IntegrityError:
        return False
    logger.debug("photo %s stored (%s bytes)", sha256, size)
    return True


def _photo_row(session: Session, sha256: str) -> Photo:
    photo = session.get(Photo, sha256)
    if photo is None:
        raise _not_found(sha256)
    return photo


def _not_found(sha256: str) -> ApiError:
    return ApiError(404, "not_found", f"no photo {sha256} on this platform")


def _unavailable(err: EvidenceUnavailableError) -> ApiError:
    return ApiError(*UNAVAILABLE, str(err))


def _stored(session: Session, store: EvidenceBackend, sha256: str) -> Photo:
    photo = _photo_row(session, sha256)
    try:
        present = store.has(sha256)
    except EvidenceUnavailableError as err:
        raise _unavailable(err) from err
    if not present:
        raise _not_found(sha256)
    return photo


@router.head("/{sha256}", summary="Whether the platform has a photo")
def head_photo(
    sha256: str,
    session: Annotated[Session, Depends(get_station_session)],
    store: Annotated[EvidenceBackend, Depends(get_evidence)],
) -> Response:
    photo = _stored(session, store, checked_sha256(sha256))
    return Response(
        status_code=200,
        headers={"content-length": str(photo.size), "content-type": photo.content_type},
    )


@router.get("/{sha256}", summary="Download a photo", response_class=FileResponse)
def get_photo(
    sha256: str,
    session: Annotated[Session, Depends(get_session)],
    store: Annotated[EvidenceBackend, Depends(get_evidence)],
) -> Response:
    """A file is sent as it is; an object is streamed from the store in chunks."""
    checked_sha256(sha256)
    path = store.local_path(sha256)
    if path is not None:
        photo = _stored(session, store, sha256)
        return FileResponse(path, media_type=photo.content_type, headers=IMMUTABLE)

    photo = _photo_row(session, sha256)
    try:
        chunks = store.open_chunks(sha256)
    except PhotoMissingError as err:
        raise _not_found(sha256) from err
    except EvidenceUnavailableError as err:
        raise _unavailable(err) from err
    return StreamingResponse(
        chunks,
        media_type=photo.content_type,
        headers=IMMUTABLE | {"content-length": str(photo.size)},
    )
