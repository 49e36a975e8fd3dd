"""The one error envelope of the HTTP API and the one handler that writes it.

Every error answer is ``{"error": {"code": ..., "message": ...}}``: the code is a
stable word a program can test, the message is for a person. A page request
(not under ``/api/``, from a browser) gets the same code and message as HTML.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhichao.errors import ZhichaoError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(ZhichaoError):
    """An error answer: HTTP status, stable code, message for a person."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def envelope(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def install_error_handler(app: FastAPI) -> None:
    for kind in (ApiError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, handle_error)


async def handle_error(request: Request, exc: Exception) -> Response:
    """The one handler: turn any exception into the envelope, never a traceback."""
    status, code, message, headers = _classify(exc)
    if status >= 500:
        logger.error(
            "internal error on %s %s", request.method, request.url.path, exc_info=exc
        )
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    if _wants_html(request):
        return _html_error(request, status, code, message)
    return JSONResponse(envelope(code, message), status_code=status, headers=headers)


def _classify(exc: Exception) -> tuple[int, str, str, dict[str, str] | None]:
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.headers
    if isinstance(exc, StarletteHTTPException):
        code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return exc.status_code, code, str(exc.detail), exc.headers
    if isinstance(exc, RequestValidationError):
        return 422, "invalid_request", _validation_message(exc), None
    return 500, "internal_error", "internal error; the operator has been told", None


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors():
        where = ".".join(
            str(p) for p in item.get("loc", ()) if p not in ("query", "path")
        )
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIX):
        return False
    return "text/html" in request.headers.get("accept", "")


def _html_error(request: Request, status: int, code: str, message: str) -> Response:
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
    from zhichao.platform.web.i18n import page_context

    context = page_context(request) | {
        "status": status,
        "code": code,
        "message": message,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status
    )
