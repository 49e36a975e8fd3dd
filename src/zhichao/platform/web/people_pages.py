"""Pages about people: sign-in and sign-out, API tokens, the audit log."""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.platform import audit, auth
from zhichao.platform.api.deps import (
    LoginRequired,
    client_address,
    current_principal,
    get_scoped_factory,
    get_session,
    get_session_factory,
)
from zhichao.platform.db import session_scope
from zhichao.platform.web.pages import render
from zhichao.timeutil import SHANGHAI

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
MAX_FIELD = 200


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never another host."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value[:MAX_FIELD]


async def login_redirect(request: Request, exc: LoginRequired) -> Response:
    """Send a browser without a session to the sign-in page."""
    return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:MAX_FIELD]
    next_url = _safe_next(str(form.get("next", "/")))
    address = client_address(request)
    rules = auth.sign_in_rules(request.app.state.settings)
    context = {"next": next_url, "username": username}
    try:
        cookie = await run_in_threadpool(
            _sign_in, factory, username, password, address, rules
        )
    except auth.LoginThrottled as err:
        return render(request, "login.html", context | {"error": str(err)}, 429)
    except auth.AuthError as err:
        return render(request, "login.html", context | {"error": str(err)}, 401)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        cookie,
        max_age=int(rules.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _sign_in(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    address: str,
    rules: auth.SignInRules,
) -> str:
    """Check the password and open a session; a failure is counted, then raised."""
    session = factory()
    try:
        user = auth.authenticate(session, username, password, address, rules=rules)
        cookie = auth.open_session(
            session, user, address, lifetime=rules.session_lifetime
        )
        scope = auth.scope_of(session, user)
        audit.append(
            session,
            username=user.username,
            role=user.role,
            region=scope.label,
            action="login",
            target=user.username,
            address=address,
        )
        session.commit()
        return cookie
    except auth.LoginThrottled:
        session.rollback()
        raise
    except auth.AuthError:
        session.commit()  # the failure is counted
        raise
    finally:
        session.close()


@router.post("/logout")
def logout(
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    principal: Annotated[auth.Principal, Depends(current_principal)],
) -> Response:
    cookie = request.cookies.get(auth.SESSION_COOKIE, "")
    with session_scope(factory) as session:
        auth.close_session(session, cookie)
        audit.append(
            session,
            username=principal.username,
            role=principal.role.value,
            region=principal.scope.label,
            action="logout",
            target=principal.username,
            address=client_address(request),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


# -- API tokens -----------------------------------------------------------


def _tokens_context(session: Session, principal: auth.Principal) -> dict:
    return {
        "tokens": auth.user_tokens(session, principal.user_id),
        "scopes": list(auth.TOKEN_SCOPES),
        "new_token": None,
        "error": None,
    }


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[auth.Principal, Depends(current_principal)],
) -> Response:
    return render(request, "tokens.html", _tokens_context(session, principal))


@router.post("/tokens", response_class=HTMLResponse)
async def tokens_create(
    request: Request,
    factory: Annotated[Callable[[], Session], Depends(get_scoped_factory)],
    principal: Annotated[auth.Principal, Depends(current_principal)],
) -> Response:
    form = await request.form()
    name = str(form.get("name", ""))[:100]
    scopes = [str(value) for value in form.getlist("scopes")]
    try:
        days = int(str(form.get("days", "30")))
    except ValueError:
        days = 0
    address = client_address(request)

    def create() -> dict:
        with session_scope(factory) as session:
            try:
                secret, token = auth.issue_token(
                    session, principal.user_id, name, scopes, days
                )
            except auth.AuthError as err:
                return _tokens_context(session, principal) | {"error": str(err)}
            audit.append(
                session,
                username=principal.username,
                role=principal.role.value,
                region=principal.scope.label,
                action="token_create",
                target=f"token {token.id}",
                detail={"name": token.name, "scopes": token.scopes, "days": days},
                address=address,
            )
            return _tokens_context(session, principal) | {"new_token": secret}

    context = await run_in_threadpool(create)
    return render(request, "tokens.html", context, 400 if context["error"] else 200)


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(
    token_id: int,
    request: Request,
    factory: Annotated[Callable[[], Session], Depends(get_scoped_factory)],
    principal: Annotated[auth.Principal, Depends(current_principal)],
) -> Response:
    with session_scope(factory) as session:
        try:
            auth.revoke_token(session, token_id, principal.user_id)
        except auth.AuthError as err:
            context = _tokens_context(session, principal) | {"error": str(err)}
            return render(request, "tokens.html", context, 404)
        audit.append(
            session,
            username=principal.username,
            role=principal.role.value,
            region=principal.scope.label,
            action="token_revoke",
            target=f"token {token_id}",
            address=client_address(request),
        )
    return RedirectResponse("/tokens", status_code=303)


# -- the audit log ----------------------------------------------------------


def _local_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    user: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Search the log (by user, action, time) and show whether the chain holds."""
    entries = audit.search(
        session,
        username=(user or "").strip() or None,
        action=(action or "").strip() or None,
        since=_local_time(since),
        until=_local_time(until),
    )
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "report": audit.verify_chain(session),
            "query": {
                "user": user or "",
                "action": action or "",
                "since": since or "",
                "until": until or "",
            },
        },
    )
