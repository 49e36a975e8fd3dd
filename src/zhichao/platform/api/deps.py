"""Dependencies shared by the routers: who is asking and what they may do,
sessions limited to their jurisdiction, settings, the photo store.

``authorize`` runs before every route (the app lists it once): it finds the
route's rule in ``zhichao.platform.auth.ROUTE_RULES`` (no rule: refused),
identifies the caller by bearer token or session cookie, checks the role's
permission and, for a form sent with a session, its CSRF token. ``get_session``
then gives the route a database session scoped to the caller's jurisdiction.
"""

import logging
from collections.abc import Callable, Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.platform import auth
from zhichao.platform.api.errors import ApiError
from zhichao.platform.evidence import EvidenceBackend
from zhichao.platform.settings import PlatformSettings

logger = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(ApiError):
    """A page asked for without a session: the browser is sent to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(401, "unauthorized", "sign in first (请先登录)")
        self.next_url = next_url


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _route_path(request: Request) -> str | None:
    route = request.scope.get("route")
    return getattr(route, "path", None)


def _principal(request: Request) -> auth.Principal | None:
    """The caller by ``Authorization: Bearer`` or the session cookie."""
    header = request.headers.get("authorization", "")
    with request.app.state.sessions() as session:
        if header:
            kind, _, secret = header.partition(" ")
            if kind.lower() != "bearer" or not secret.strip():
                raise ApiError(401, "unauthorized", "use Authorization: Bearer TOKEN")
            try:
                return auth.principal_of_token(session, secret.strip())
            except auth.AuthError as err:
                raise ApiError(401, "invalid_token", str(err)) from err
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if cookie:
            return auth.principal_of_session(session, cookie)
    return None


async def authorize(request: Request) -> auth.Principal | None:
    """Apply the route table, the permission table and the CSRF check."""
    path = _route_path(request)
    action = auth.route_action(request.method, path or "")
    if action is None:
        logger.error("no permission rule for %s %s", request.method, path)
        raise ApiError(403, "forbidden", "this route has no permission rule")
    request.state.principal = None
    if action in (auth.Action.PUBLIC, auth.Action.STATION):
        return None
    # the lookup runs off the event loop: a blocked loop could not finish the
    # answers of other requests that hold the SQLite write lock
    principal = await run_in_threadpool(_principal, request)
    if principal is None:
        if request.url.path.startswith("/api/"):
            raise ApiError(401, "unauthorized", "sign in or send a bearer token")
        raise LoginRequired(str(request.url.path))
    if not principal.can(action):
        raise ApiError(
            403, "forbidden", f"{principal.role.value} may not {action.value} (无权限)"
        )
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, principal)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, principal: auth.Principal) -> None:
    if principal.via != "session":
        raise ApiError(403, "forbidden", "a token may only read")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        sent = str(form.get(CSRF_FIELD, ""))
    if not sent or sent != principal.csrf_token:
        raise ApiError(
            403, "csrf_failed", "the form is stale or forged (请刷新页面重试)"
        )


def current_principal(request: Request) -> auth.Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise ApiError(401, "unauthorized", "sign in first (请先登录)")
    return principal


async def get_settings(request: Request) -> PlatformSettings:
    return request.app.state.settings


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def get_session(request: Request) -> Iterator[Session]:
    """A read session for one request, limited to the caller's jurisdiction."""
    scope = current_principal(request).scope
    with request.app.state.sessions() as session:
        yield auth.scope_session(session, scope)


def get_scoped_factory(request: Request) -> Callable[[], Session]:
    """Makes sessions limited to the caller's jurisdiction (for writing pages)."""
    scope = current_principal(request).scope
    factory = request.app.state.sessions

    def make() -> Session:
        return auth.scope_session(factory(), scope)

    return make


def get_station_session(request: Request) -> Iterator[Session]:
    """A session for a station's own requests (they carry no person)."""
    with request.app.state.sessions() as session:
        yield session


async def get_evidence(request: Request) -> EvidenceBackend:
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
