"""Pages of accounts: an administrator's list of the jurisdiction's people
(/users, one account at /users/{id}) and everyone's own account (/account).

The rules are in ``zhichao.platform.accounts``; these routes read the forms,
run the change off the event loop and show what came of it.
"""

import logging
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhichao.platform import accounts, auth, regions
from zhichao.platform.accounts import AccountError, AccountNotFound, Actor
from zhichao.platform.api.deps import (
    client_address,
    current_principal,
    get_scoped_factory,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.auth import AuthError
from zhichao.platform.db import session_scope
from zhichao.platform.models import Station, User
from zhichao.platform.web.i18n import choose_lang
from zhichao.platform.web.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
MAX_FIELD = 200
NOTICES = ("created", "saved", "disabled", "enabled", "password")

Factory = Annotated[Callable[[], Session], Depends(get_scoped_factory)]
Caller = Annotated[auth.Principal, Depends(current_principal)]


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: str(value)[:MAX_FIELD] for key, value in form.items()}


def _actor(request: Request, principal: auth.Principal) -> Actor:
    return Actor(principal, client_address(request))


def _not_found(err: AccountNotFound) -> ApiError:
    return ApiError(404, "not_found", str(err))


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in NOTICES else None


def _choices(request: Request, session: Session, actor: Actor) -> dict[str, Any]:
    """Roles, the regions and stations an administrator may pick from."""
    lang = choose_lang(request)
    index = 0 if lang == "zh" else 1
    scope = actor.principal.scope
    known = [
        region
        for region in regions.list_regions(session, scope.prefix)
        if regions.is_gb_code(region.code) and scope.covers_region(region.code)
    ]
    stations = session.execute(
        sa.select(Station.station_code, Station.name).order_by(Station.station_code)
    ).all()
    return {
        "roles": [(role.value, auth.ROLE_NAMES[role][index]) for role in auth.Role],
        "role_name": lambda value: _role_name(value, index),
        "region_options": [(region.code, region.name) for region in known],
        "region_name": {region.code: region.name for region in known}.get,
        "station_options": stations,
    }


def _role_name(value: str, index: int) -> str:
    try:
        return auth.ROLE_NAMES[auth.Role(value)][index]
    except ValueError:
        return value


# -- the list and a new account --------------------------------------------


def _list_context(request: Request, session: Session, actor: Actor) -> dict:
    return _choices(request, session, actor) | {
        "rows": accounts.list_accounts(session, actor),
        "form": {"region": actor.principal.region_code, "role": "officer"},
        "error": None,
        "notice": _notice(request),
        "created": request.query_params.get("user", "")[:64],
    }


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, factory: Factory, principal: Caller) -> Response:
    actor = _actor(request, principal)
    with session_scope(factory) as session:
        context = _list_context(request, session, actor)
        return render(request, "users.html", context)


@router.post("/users", response_class=HTMLResponse)
async def users_create(
    request: Request, factory: Factory, principal: Caller
) -> Response:
    form = await _form(request)
    actor = _actor(request, principal)
    fields = {
        "username": form.get("username", "").strip(),
        "role": form.get("role", ""),
        "region": form.get("region", "").strip(),
        "unit": form.get("unit", "").strip() or None,
    }

    def create() -> tuple[dict | None, str]:
        with session_scope(factory) as session:
            try:
                if form.get("password", "") != form.get("password_again", ""):
                    raise AccountError(
                        "两次输入的密码不一致 (the two passwords differ)"
                    )
                user = accounts.create_account(
                    session, actor, password=form.get("password", ""), **fields
                )
            except AuthError as err:
                session.rollback()
                context = _list_context(request, session, actor)
                return context | {"form": fields, "error": str(err)}, ""
            return None, user.username

    context, created = await run_in_threadpool(create)
    if context is not None:
        return render(request, "users.html", context, 400)
    return RedirectResponse(f"/users?done=created&user={created}", status_code=303)


# -- one account ------------------------------------------------------------


def _user_context(
    request: Request, session: Session, actor: Actor, user_id: int
) -> dict:
    try:
        user = accounts.get_account(session, actor, user_id)
    except AccountNotFound as err:
        raise _not_found(err) from err
    units = accounts.unit_names(session, [user.unit_station_code])
    return _choices(request, session, actor) | {
        "account": user,
        "is_self": user.id == actor.principal.user_id,
        "unit_name": units.get(user.unit_station_code),
        "last_sign_in": accounts.last_sign_ins(session, [user.username]).get(
            user.username
        ),
        "form": {
            "role": user.role,
            "region": user.region_code,
            "unit": user.unit_station_code or "",
        },
        "error": None,
        "notice": _notice(request),
    }


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    user_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    actor = _actor(request, principal)
    with session_scope(factory) as session:
        return render(
            request, "user.html", _user_context(request, session, actor, user_id)
        )


async def _change(
    request: Request,
    factory: Callable[[], Session],
    principal: auth.Principal,
    user_id: int,
    change: Callable[[Session, Actor, dict[str, str]], Any],
    done: str,
) -> Response:
    """Run one change of an account; its page again with the error, or back
    to it with a notice."""
    form = await _form(request)
    actor = _actor(request, principal)

    def work() -> dict | None:
        with session_scope(factory) as session:
            try:
                change(session, actor, form)
            except AccountNotFound as err:
                raise _not_found(err) from err
            except AuthError as err:
                session.rollback()
                context = _user_context(request, session, actor, user_id)
                if "role" in form:
                    context["form"] = {
                        key: form.get(key, "") for key in ("role", "region", "unit")
                    }
                return context | {"error": str(err)}
            return None

    context = await run_in_threadpool(work)
    if context is not None:
        return render(request, "user.html", context, 400)
    return RedirectResponse(f"/users/{user_id}?done={done}", status_code=303)


@router.post("/users/{user_id}", response_class=HTMLResponse)
async def user_change(
    user_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    def change(session: Session, actor: Actor, form: dict[str, str]) -> None:
        accounts.change_account(
            session,
            actor,
            user_id,
            role=form.get("role", ""),
            region=form.get("region", "").strip(),
            unit=form.get("unit", "").strip() or None,
        )

    return await _change(request, factory, principal, user_id, change, "saved")


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
async def user_active(
    user_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    form = await _form(request)
    active = form.get("active") == "1"

    def change(session: Session, actor: Actor, _form: dict[str, str]) -> None:
        accounts.set_active(session, actor, user_id, active)

    done = "enabled" if active else "disabled"
    return await _change(request, factory, principal, user_id, change, done)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
async def user_password(
    user_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    def change(session: Session, actor: Actor, form: dict[str, str]) -> None:
        if form.get("password", "") != form.get("password_again", ""):
            accounts.get_account(session, actor, user_id)  # 404 comes first
            raise AccountError("两次输入的密码不一致 (the two passwords differ)")
        accounts.reset_password(session, actor, user_id, form.get("password", ""))

    return await _change(request, factory, principal, user_id, change, "password")


# -- one's own account ------------------------------------------------------


def _account_context(request: Request, session: Session, actor: Actor) -> dict:
    principal = actor.principal
    user = session.get(User, principal.user_id)
    lang = choose_lang(request)
    region = regions.get_region(session, user.region_code)
    return {
        "account": user,
        "region_name": region.name if region else "",
        "role_name": _role_name(principal.role.value, 0 if lang == "zh" else 1),
        "unit_name": accounts.unit_names(session, [user.unit_station_code]).get(
            user.unit_station_code
        ),
        "error": None,
        "notice": _notice(request),
        "ended": request.query_params.get("ended", ""),
    }


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, factory: Factory, principal: Caller) -> Response:
    with session_scope(factory) as session:
        context = _account_context(request, session, _actor(request, principal))
        return render(request, "account.html", context)


@router.post("/account/password", response_class=HTMLResponse)
async def account_password(
    request: Request, factory: Factory, principal: Caller
) -> Response:
    form = await _form(request)
    actor = _actor(request, principal)
    rules = auth.sign_in_rules(request.app.state.settings)
    cookie = request.cookies.get(auth.SESSION_COOKIE)

    def work() -> tuple[dict | None, int, int]:
        session = factory()
        try:
            ended = accounts.change_own_password(
                session,
                actor,
                current=form.get("current", ""),
                new=form.get("new", ""),
                again=form.get("new_again", ""),
                keep_cookie=cookie,
                rules=rules,
            )
            session.commit()
            return None, ended, 200
        except AuthError as err:
            if isinstance(err, accounts.WrongPassword):
                session.commit()  # the failure is counted, as at sign-in
            else:
                session.rollback()
            status = 429 if isinstance(err, auth.LoginThrottled) else 400
            context = _account_context(request, session, actor)
            return context | {"error": str(err)}, 0, status
        finally:
            session.close()

    context, ended, status = await run_in_threadpool(work)
    if context is not None:
        return render(request, "account.html", context, status)
    return RedirectResponse(f"/account?done=password&ended={ended}", status_code=303)
