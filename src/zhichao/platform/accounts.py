"""Managing accounts (人员账号管理): what an administrator may do to the accounts
of their jurisdiction, and what every person may do to their own.

- An administrator sees and manages the accounts whose region lies inside
  their own scope (``Scope.covers_region``; a city's administrator also has the
  city's counties). Any other account answers ``AccountNotFound``, exactly as
  an account that does not exist, so nothing about it leaks.
- A new or changed account's region lies inside the administrator's scope, so
  nobody makes an account wider than themself; an operator's unit is a station
  the platform knows, inside that region.
- An administrator does not disable, demote or move themself here, so a
  jurisdiction never loses its last way in by a slip; their own password is
  changed with ``change_own_password``, which asks for the current one.
- Disabling ends the account's web sessions and revokes its live API tokens;
  a password reset ends its sessions.
- Every change is an entry of the audit log in the same transaction. No
  password, old or new, is ever in an entry.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.platform import audit
from zhichao.platform.auth import (
    DEFAULT_RULES,
    AuthError,
    LoginThrottled,
    Principal,
    Role,
    SignInRules,
    authenticate,
    check_assignment,
    check_password_strength,
    create_user,
    end_sessions,
    hash_password,
)
from zhichao.platform.models import (
    ApiToken,
    AuditEntry,
    LoginFailure,
    SourceUnit,
    Station,
    User,
)
from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)

UNSCOPED = {"zhichao_unscoped": True}


class AccountError(AuthError):
    """A change to an account that cannot be made as asked."""


class AccountNotFound(AccountError):
    """No such account in the caller's jurisdiction (answered as 404)."""


class WrongPassword(AccountError):
    """The current password given was wrong; the failure is counted, so the
    caller commits the session before it answers."""


@dataclass(frozen=True)
class AccountRow:
    """An account as the list shows it."""

    user: User
    last_sign_in: datetime | None
    unit_name: str | None


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where (for the audit entry)."""

    principal: Principal
    address: str


def list_accounts(session: Session, actor: Actor) -> list[AccountRow]:
    """The accounts of the actor's jurisdiction, by region then username."""
    users = list(
        session.scalars(
            sa.select(User)
            .where(actor.principal.scope.clause(User.region_code))
            .order_by(User.region_code, User.username)
        )
    )
    last = last_sign_ins(session, [user.username for user in users])
    units = unit_names(session, [u.unit_station_code for u in users])
    return [
        AccountRow(user, last.get(user.username), units.get(user.unit_station_code))
        for user in users
    ]


def last_sign_ins(session: Session, usernames: list[str]) -> dict[str, datetime]:
    """The newest ``login`` entry of the audit log per username."""
    if not usernames:
        return {}
    rows = session.execute(
        sa.select(AuditEntry.username, sa.func.max(AuditEntry.at))
        .where(AuditEntry.action == "login", AuditEntry.username.in_(usernames))
        .group_by(AuditEntry.username)
        .execution_options(**UNSCOPED)
    )
    return {username: at for username, at in rows}


def unit_names(session: Session, codes: list[str | None]) -> dict[str, str]:
    """The source unit's name (else the station's) per station code."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(Station.station_code, Station.name, SourceUnit.name)
        .outerjoin(SourceUnit, SourceUnit.id == Station.unit_id)
        .where(Station.station_code.in_(wanted))
    )
    return {code: unit or station for code, station, unit in rows}


def get_account(session: Session, actor: Actor, user_id: int) -> User:
    """An account of the actor's jurisdiction; AccountNotFound otherwise."""
    user = session.scalar(
        sa.select(User).where(
            User.id == user_id, actor.principal.scope.clause(User.region_code)
        )
    )
    if user is None or not actor.principal.scope.covers_region(user.region_code):
        raise AccountNotFound(
            f"没有编号为 {user_id} 的账号 (no account {user_id} in your jurisdiction)"
        )
    return user


def _check_fields(
    session: Session, actor: Actor, role: str, region: str, unit: str | None
) -> Role:
    """The role, region and unit of an account the actor may make."""
    checked = check_assignment(role, region, unit)
    scope = actor.principal.scope
    # inside the actor's own scope, so never wider than the actor
    if not scope.covers_region(region):
        raise AccountError(
            f"行政区划 {region} 不在您的管辖范围内"
            f" (region {region} is outside your jurisdiction)"
        )
    if checked == Role.OPERATOR:
        known = session.scalar(
            sa.select(Station.id).where(Station.station_code == unit)
        )
        if known is None:
            raise AccountError(
                f"平台上没有站点 {unit}：请先登记该磅站"
                f" (no station {unit} on this platform: enrol it first)"
            )
    return checked


def _assignment(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "region": user.region_code,
        "unit": user.unit_station_code,
    }


def _record(
    session: Session,
    actor: Actor,
    action: str,
    target: User,
    detail: dict[str, Any],
) -> None:
    audit.append(
        session,
        username=actor.principal.username,
        role=actor.principal.role.value,
        region=actor.principal.scope.label,
        action=action,
        target=target.username,
        detail=detail,
        address=actor.address,
    )


def create_account(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    region: str,
    unit: str | None,
) -> User:
    """Add an account inside the actor's jurisdiction."""
    _check_fields(session, actor, role, region, unit)
    user = create_user(session, username, password, role, region, unit)
    _record(session, actor, "user_create", user, _assignment(user))
    return user


def _refuse_self(actor: Actor, user: User, what: str) -> None:
    if user.id == actor.principal.user_id:
        raise AccountError(what)


def change_account(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    role: str,
    region: str,
    unit: str | None,
) -> User:
    """Change an account's role, region and unit (an operator's only)."""
    user = get_account(session, actor, user_id)
    _refuse_self(
        actor,
        user,
        "不能修改自己的角色、行政区划或单位，请由其他管理员修改"
        " (you cannot change your own role, region or unit; another"
        " administrator can)",
    )
    checked = _check_fields(session, actor, role, region, unit)

    before = _assignment(user)
    user.role = checked.value
    user.region_code = region
    user.unit_station_code = unit if checked == Role.OPERATOR else None
    after = _assignment(user)
    if after != before:
        _record(session, actor, "user_change", user, {"before": before, "after": after})
        logger.info("user %s changed by %s", user.username, actor.principal.username)
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions and revokes
    its API tokens (a token stays revoked when the account is enabled again)."""
    user = get_account(session, actor, user_id)
    if not active:
        _refuse_self(
            actor,
            user,
            "不能停用自己的账号 (you cannot disable your own account)",
        )
    if user.active == active:
        return user

    user.active = active
    detail: dict[str, Any] = {}
    if not active:
        detail["sessions_ended"] = end_sessions(session, user.id)
        detail["tokens_revoked"] = _revoke_tokens(session, user.id)
    _record(session, actor, "user_enable" if active else "user_disable", user, detail)
    logger.info(
        "user %s %s by %s",
        user.username,
        "enabled" if active else "disabled",
        actor.principal.username,
    )
    return user


def _revoke_tokens(session: Session, user_id: int) -> int:
    result = session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    """Give an account a new password and end its sessions. Its failed
    sign-ins are forgotten too, so the person can sign in at once."""
    user = get_account(session, actor, user_id)
    _refuse_self(
        actor,
        user,
        "请在“我的账号”中修改自己的密码 (change your own password under My account)",
    )
    check_password_strength(password)

    user.password_hash = hash_password(password)
    ended = end_sessions(session, user.id)
    session.execute(
        sa.delete(LoginFailure).where(LoginFailure.username == user.username)
    )
    _record(session, actor, "user_password_reset", user, {"sessions_ended": ended})
    return user


def change_own_password(
    session: Session,
    actor: Actor,
    *,
    current: str,
    new: str,
    again: str,
    keep_cookie: str | None,
    rules: SignInRules = DEFAULT_RULES,
) -> int:
    """Change the actor's own password; the answer is how many of their other
    sessions were ended (the one of ``keep_cookie`` stays open).

    A wrong current password counts as a failed sign-in (and is throttled
    like one): on WrongPassword the caller commits, to keep the count.
    """
    if new != again:
        raise AccountError("两次输入的新密码不一致 (the two new passwords differ)")
    if new == current:
        raise AccountError(
            "新密码不能与当前密码相同 (the new password is the current one)"
        )
    check_password_strength(new)
    username = actor.principal.username
    try:
        user = authenticate(session, username, current, actor.address, rules=rules)
    except LoginThrottled:
        raise
    except AuthError as err:
        raise WrongPassword("当前密码不正确 (the current password is wrong)") from err

    user.password_hash = hash_password(new)
    ended = end_sessions(session, user.id, keep_cookie=keep_cookie)
    _record(session, actor, "password_change", user, {"other_sessions_ended": ended})
    return ended
