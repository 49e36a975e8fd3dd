"""People on the platform: accounts, roles and what each may do, jurisdictions,
web sessions, sign-in throttling and API tokens.

- **Roles** and the **permission table** (``PERMISSIONS``: role → actions) and
  the **route table** (``ROUTE_RULES``: method and path → action) are here and
  nowhere else; ``zhichao.platform.api.deps.authorize`` applies them to every
  request, and a route with no rule is refused.
- **Jurisdiction** is a ``Scope``: a prefix of the station code (county: its
  6-digit code, city: 4 digits, province: 2) or, for a source-unit operator, the
  station codes of their unit. ``scope_session`` puts a scope on a database
  session; from then on every ORM ``SELECT`` on a table that belongs to a
  station is filtered to the scope (``with_loader_criteria``), whatever the code
  that issues it; vehicles and tractor-trailer pairs are filtered by their
  ``region_code`` the same way.
- **Passwords** are argon2id hashes; **sessions** and **tokens** are random
  secrets of which only the SHA-256 is stored.
"""

import enum
import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from zhichao.errors import ZhichaoError
from zhichao.platform.models import (
    Alarm,
    ApiToken,
    AuditEntry,
    Lane,
    LaneDevice,
    LaneEvent,
    LaneKey,
    LoginFailure,
    Photo,
    RecordPhoto,
    SourceUnit,
    Station,
    StationHeartbeat,
    StationStatus,
    User,
    Vehicle,
    VehiclePair,
    WebSession,
    WeighingRecord,
)
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)

SESSION_COOKIE = "zhichao_session"
# the defaults of the settings session_hours and login_* (SignInRules)
SESSION_LIFETIME = timedelta(hours=12)
# sign-in throttling: failures counted over THROTTLE_WINDOW
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_PREFIX = "zct_"
MAX_TOKEN_DAYS = 366
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
REGION_RE = re.compile(r"^\d{6}$")
STATION_RE = re.compile(r"^\d{10}$")

_hasher = PasswordHasher()  # argon2id with the library's current parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AuthError(ZhichaoError):
    """A bad account, password, token or request for one."""


class LoginThrottled(AuthError):
    """Too many failed sign-ins for an account or from an address."""


class Role(enum.StrEnum):
    ADMIN = "admin"  # 管理员
    OFFICER = "officer"  # 治超办工作人员
    ENFORCEMENT = "enforcement"  # 执法人员
    SUPERVISOR = "supervisor"  # 交通运输部门远程监督（只读）
    OPERATOR = "operator"  # 源头单位操作员（本单位）


ROLE_NAMES = {
    Role.ADMIN: ("管理员", "administrator"),
    Role.OFFICER: ("治超工作人员", "officer"),
    Role.ENFORCEMENT: ("执法人员", "enforcement officer"),
    Role.SUPERVISOR: ("远程监督（只读）", "read-only supervisor"),
    Role.OPERATOR: ("源头单位操作员", "source-unit operator"),
}


class Action(enum.StrEnum):
    VIEW_RECORDS = "view_records"
    VIEW_PHOTOS = "view_photos"
    VIEW_ALARMS = "view_alarms"
    VIEW_STATIONS = "view_stations"
    ENROL = "enrol"
    VIEW_AUDIT = "view_audit"
    MANAGE_TOKENS = "manage_tokens"
    EXPORT = "export"
    # not actions of a person: the route needs no sign-in at all, or is a
    # station's upload (stations prove themselves by their enrolled keys)
    PUBLIC = "public"
    STATION = "station"
    # any signed-in person (their own session: sign-out)
    SIGNED_IN = "signed_in"
    # a person's own account (/account); no token scope grants it
    OWN_ACCOUNT = "own_account"
    # the accounts of the administrator's jurisdiction (/users)
    MANAGE_USERS = "manage_users"
    # acknowledge and close alarms (/alarms/{id}/acknowledge, …/close)
    HANDLE_ALARMS = "handle_alarms"
    # add and change vehicles of the register (/vehicles/new, …/edit)
    EDIT_VEHICLES = "edit_vehicles"


_READ = {
    Action.VIEW_RECORDS,
    Action.VIEW_PHOTOS,
    Action.VIEW_ALARMS,
    Action.VIEW_STATIONS,
    Action.OWN_ACCOUNT,
}
_OFFICE = {
    Action.ENROL,
    Action.VIEW_AUDIT,
    Action.MANAGE_TOKENS,
    Action.EXPORT,
    Action.EDIT_VEHICLES,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(
        _READ | _OFFICE | {Action.MANAGE_USERS, Action.HANDLE_ALARMS}
    ),
    Role.OFFICER: frozenset(_READ | _OFFICE | {Action.HANDLE_ALARMS}),
    Role.ENFORCEMENT: frozenset(_READ | {Action.EXPORT, Action.HANDLE_ALARMS}),
    Role.SUPERVISOR: frozenset(_READ | {Action.MANAGE_TOKENS}),
    Role.OPERATOR: frozenset(
        {Action.VIEW_RECORDS, Action.VIEW_PHOTOS, Action.OWN_ACCOUNT}
    ),
}

# what an API token may do, by scope; a token never does more than its owner
TOKEN_SCOPES: dict[str, frozenset[Action]] = {
    "records:read": frozenset({Action.VIEW_RECORDS, Action.VIEW_PHOTOS}),
    "alarms:read": frozenset({Action.VIEW_ALARMS}),
    "stations:read": frozenset({Action.VIEW_STATIONS}),
}

# every route of the app: (method, path template) → the action it needs
ROUTE_RULES: dict[tuple[str, str], Action] = {
    ("POST", "/api/v1/records"): Action.STATION,
    ("PUT", "/api/v1/records/{record_id}"): Action.STATION,
    ("PUT", "/api/v1/photos/{sha256}"): Action.STATION,
    ("HEAD", "/api/v1/photos/{sha256}"): Action.STATION,
    ("POST", "/api/v1/heartbeats"): Action.STATION,
    # signed by the lane's key, checked by the route (platform.api.register)
    ("GET", "/api/v1/stations/{station_code}/register"): Action.STATION,
    ("GET", "/api/v1/records"): Action.VIEW_RECORDS,
    ("GET", "/api/v1/photos/{sha256}"): Action.VIEW_PHOTOS,
    ("GET", "/"): Action.VIEW_RECORDS,
    ("GET", "/records/{record_id}"): Action.VIEW_RECORDS,
    # counts of the records one may read (an operator: their own unit's)
    ("GET", "/api/v1/statistics"): Action.VIEW_RECORDS,
    ("GET", "/statistics"): Action.VIEW_RECORDS,
    ("GET", "/alarms"): Action.VIEW_ALARMS,
    ("POST", "/alarms/{alarm_id}/{action}"): Action.HANDLE_ALARMS,
    ("GET", "/stations"): Action.VIEW_STATIONS,
    ("GET", "/stations/{station_code}/devices"): Action.VIEW_STATIONS,
    # a device's register fields are changed by those who enrol lanes
    ("GET", "/stations/{station_code}/devices/{device_id}"): Action.ENROL,
    ("POST", "/stations/{station_code}/devices/{device_id}"): Action.ENROL,
    ("GET", "/enrol"): Action.ENROL,
    ("POST", "/enrol"): Action.ENROL,
    ("GET", "/audit"): Action.VIEW_AUDIT,
    ("GET", "/tokens"): Action.MANAGE_TOKENS,
    ("POST", "/tokens"): Action.MANAGE_TOKENS,
    ("POST", "/tokens/{token_id}/revoke"): Action.MANAGE_TOKENS,
    ("GET", "/login"): Action.PUBLIC,
    ("POST", "/login"): Action.PUBLIC,
    ("POST", "/logout"): Action.SIGNED_IN,
    ("GET", "/docs"): Action.PUBLIC,
    ("GET", "/openapi.json"): Action.PUBLIC,
    ("GET", "/units"): Action.VIEW_STATIONS,
    ("GET", "/public/units"): Action.PUBLIC,
    ("GET", "/vehicles"): Action.VIEW_RECORDS,
    ("GET", "/vehicles/new"): Action.EDIT_VEHICLES,
    ("POST", "/vehicles"): Action.EDIT_VEHICLES,
    ("GET", "/vehicles/{vehicle_id}/edit"): Action.EDIT_VEHICLES,
    ("POST", "/vehicles/{vehicle_id}"): Action.EDIT_VEHICLES,
    ("GET", "/users"): Action.MANAGE_USERS,
    ("POST", "/users"): Action.MANAGE_USERS,
    ("GET", "/users/{user_id}"): Action.MANAGE_USERS,
    ("POST", "/users/{user_id}"): Action.MANAGE_USERS,
    ("POST", "/users/{user_id}/active"): Action.MANAGE_USERS,
    ("POST", "/users/{user_id}/password"): Action.MANAGE_USERS,
    ("GET", "/account"): Action.OWN_ACCOUNT,
    ("POST", "/account/password"): Action.OWN_ACCOUNT,
}


def route_action(method: str, path: str) -> Action | None:
    """The rule for a route; None when it has none (and must be refused)."""
    return ROUTE_RULES.get((method.upper(), path))


# -- jurisdiction ---------------------------------------------------------


def region_prefix(region_code: str) -> str:
    """The station-code prefix of a region: 140525 → 140525, 140500 → 1405,
    140000 → 14; 000000 (the whole country) → ""."""
    if not REGION_RE.match(region_code):
        raise AuthError(f"region {region_code!r}: a region is 6 digits (GB/T 2260)")
    if region_code == "000000":
        return ""
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


@dataclass(frozen=True)
class Scope:
    """What a person may see: station codes starting with ``prefix``, or, when
    ``prefix`` is None, exactly the codes in ``stations``."""

    prefix: str | None
    stations: frozenset[str] = frozenset()

    @property
    def unlimited(self) -> bool:
        return self.prefix == ""

    @property
    def label(self) -> str:
        if self.prefix is not None:
            return self.prefix
        return ",".join(sorted(self.stations))[:10]

    def allows(self, station_code: str) -> bool:
        if self.prefix is not None:
            return station_code.startswith(self.prefix)
        return station_code in self.stations

    def covers_region(self, region_code: str) -> bool:
        """Whether a person of ``region_code`` is inside this scope: the
        region's own prefix starts with this one (a county is inside its
        city, the city is not inside its county). An operator's scope covers
        no region. ``clause(User.region_code)`` selects the same accounts."""
        if self.prefix is None:
            return False
        return region_prefix(region_code).startswith(self.prefix)

    def clause(self, column) -> sa.ColumnElement[bool]:
        if self.prefix is not None:
            return column.startswith(self.prefix)
        return column.in_(sorted(self.stations))


def scope_of(session: Session, user: User) -> Scope:
    """A user's scope; an operator's is the stations of their station's unit."""
    if user.role != Role.OPERATOR:
        return Scope(prefix=region_prefix(user.region_code))
    codes = {user.unit_station_code} if user.unit_station_code else set()
    if user.unit_station_code:
        unit_id = session.scalar(
            sa.select(Station.unit_id)
            .where(Station.station_code == user.unit_station_code)
            .execution_options(zhichao_unscoped=True)
        )
        if unit_id is not None:
            codes |= set(
                session.scalars(
                    sa.select(Station.station_code)
                    .where(Station.unit_id == unit_id)
                    .execution_options(zhichao_unscoped=True)
                )
            )
    return Scope(prefix=None, stations=frozenset(codes))


SCOPE_KEY = "zhichao_scope"


def scope_session(session: Session, scope: Scope) -> Session:
    """Filter every later ORM read of ``session`` to ``scope``."""
    session.info[SCOPE_KEY] = scope
    return session


def _criteria(scope: Scope) -> list:
    def station_ids():
        return sa.select(Station.id).where(scope.clause(Station.station_code))

    def record_ids():
        return sa.select(WeighingRecord.record_id).where(
            scope.clause(WeighingRecord.station_code)
        )

    if scope.prefix is not None:
        unit_clause = SourceUnit.county_code.startswith(scope.prefix)
        audit_clause = AuditEntry.region.startswith(scope.prefix)
        vehicle_clause = Vehicle.region_code.startswith(scope.prefix)
        pair_clause = VehiclePair.region_code.startswith(scope.prefix)
    else:
        unit_ids = sa.select(Station.unit_id).where(scope.clause(Station.station_code))
        unit_clause = SourceUnit.id.in_(unit_ids)
        audit_clause = AuditEntry.region.in_(sorted(scope.stations))
        # an operator sees the register of their own unit's region
        regions = sa.select(SourceUnit.county_code).where(SourceUnit.id.in_(unit_ids))
        vehicle_clause = Vehicle.region_code.in_(regions)
        pair_clause = VehiclePair.region_code.in_(regions)
    return [
        (WeighingRecord, scope.clause(WeighingRecord.station_code)),
        (LaneEvent, scope.clause(LaneEvent.station_code)),
        (Alarm, scope.clause(Alarm.station_code)),
        (LaneKey, scope.clause(LaneKey.station_code)),
        (Station, scope.clause(Station.station_code)),
        (SourceUnit, unit_clause),
        (Lane, Lane.station_id.in_(station_ids())),
        (LaneDevice, LaneDevice.station_id.in_(station_ids())),
        (StationStatus, StationStatus.station_id.in_(station_ids())),
        (StationHeartbeat, StationHeartbeat.station_id.in_(station_ids())),
        (RecordPhoto, RecordPhoto.record_id.in_(record_ids())),
        (
            Photo,
            Photo.sha256.in_(
                sa.select(RecordPhoto.sha256).where(
                    RecordPhoto.record_id.in_(record_ids())
                )
            ),
        ),
        (AuditEntry, audit_clause),
        # a vehicle or pair with no region is in no county's or city's scope
        (Vehicle, vehicle_clause),
        (VehiclePair, pair_clause),
    ]


def _tables_of(from_clause) -> Iterator[sa.Table]:
    if isinstance(from_clause, sa.Table):
        yield from_clause
    elif isinstance(from_clause, sa.Join):
        yield from _tables_of(from_clause.left)
        yield from _tables_of(from_clause.right)


@sa.event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    scope: Scope | None = state.session.info.get(SCOPE_KEY)
    if scope is None or scope.unlimited or not state.is_select:
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria travel with the loaded objects already
    if state.execution_options.get("zhichao_unscoped"):
        return
    pairs = _criteria(scope)
    statement = state.statement
    if state.is_orm_statement:
        state.statement = statement.options(
            *(
                with_loader_criteria(model, clause, include_aliases=True)
                for model, clause in pairs
            )
        )
        return
    # a Core statement (``select(func.count()).where(...)``): the ORM does not
    # see its entities, so the criteria are added for each scoped table it reads
    if not isinstance(statement, sa.Select):
        return
    tables = {t for f in statement.get_final_froms() for t in _tables_of(f)}
    for model, clause in pairs:
        if model.__table__ in tables:
            statement = statement.where(clause)
    state.statement = statement


# -- people ---------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is asking, as the request sees them."""

    user_id: int
    username: str
    role: Role
    region_code: str
    scope: Scope
    via: str  # "session" or "token"
    csrf_token: str | None = None
    token_scopes: frozenset[str] = field(default_factory=frozenset)

    def can(self, action: Action) -> bool:
        if action == Action.PUBLIC or action == Action.SIGNED_IN:
            return True
        if action not in PERMISSIONS[self.role]:
            return False
        if self.via == "token":
            return any(action in TOKEN_SCOPES[s] for s in self.token_scopes)
        return True


@dataclass(frozen=True)
class SignInRules:
    """How long a web session lasts and when sign-in is refused for a while;
    from the settings ``session_hours`` and ``login_*`` (``sign_in_rules``)."""

    session_lifetime: timedelta = SESSION_LIFETIME
    throttle_window: timedelta = THROTTLE_WINDOW
    max_failures_per_account: int = MAX_FAILURES_PER_ACCOUNT
    max_failures_per_address: int = MAX_FAILURES_PER_ADDRESS


DEFAULT_RULES = SignInRules()


def sign_in_rules(settings: PlatformSettings) -> SignInRules:
    return SignInRules(
        session_lifetime=timedelta(hours=settings.session_hours),
        throttle_window=timedelta(minutes=settings.login_throttle_minutes),
        max_failures_per_account=settings.login_failures_per_account,
        max_failures_per_address=settings.login_failures_per_address,
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符"
            f" (a password has at least {MIN_PASSWORD_LENGTH} characters)"
        )


def check_username(username: str) -> None:
    if not USERNAME_RE.match(username):
        raise AuthError(
            f"用户名 {username!r} 须为 2 至 64 个字母、数字或 _ . -"
            f" (username {username!r}: 2 to 64 letters, digits, '_', '.' or '-')"
        )


def check_assignment(
    role: str, region_code: str, unit_station_code: str | None
) -> Role:
    """The role of a valid role, region and unit together; AuthError names
    what is wrong. Whether the station exists is the caller's to check."""
    try:
        checked = Role(role)
    except ValueError as err:
        known = ", ".join(r.value for r in Role)
        raise AuthError(f"角色无效 (role {role!r}: one of {known})") from err
    region_prefix(region_code)
    if checked == Role.OPERATOR:
        if not unit_station_code or not STATION_RE.match(unit_station_code):
            raise AuthError(
                "源头单位操作员须填写本单位的 10 位站点编码"
                " (a source-unit operator needs the unit's station code, --unit)"
            )
        if not unit_station_code.startswith(region_prefix(region_code)):
            raise AuthError(
                f"站点 {unit_station_code} 不在行政区划 {region_code} 内"
                f" (station {unit_station_code} is outside region {region_code})"
            )
    elif unit_station_code:
        raise AuthError(
            "只有源头单位操作员填写站点编码 (--unit is for the operator role only)"
        )
    return checked


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    region_code: str,
    unit_station_code: str | None = None,
) -> User:
    """Add an account; AuthError names what is wrong with the request."""
    check_username(username)
    role = check_assignment(role, region_code, unit_station_code)
    check_password_strength(password)
    exists = session.scalar(
        sa.select(User.id)
        .where(User.username == username)
        .execution_options(zhichao_unscoped=True)
    )
    if exists is not None:
        raise AuthError(f"用户名 {username} 已被使用 (user {username} exists already)")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        region_code=region_code,
        unit_station_code=unit_station_code,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    logger.info("user %s created (%s, region %s)", username, role, region_code)
    return user


def _failures(session: Session, column, value: str, since: datetime) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(column == value, LoginFailure.at >= since)
        )
        or 0
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
    rules: SignInRules = DEFAULT_RULES,
) -> User:
    """The user for a good password; LoginThrottled or AuthError otherwise.

    A failure is recorded in ``login_failures``: the caller commits either way.
    """
    now = now or utcnow()
    since = now - rules.throttle_window
    minutes = int(rules.throttle_window.total_seconds() // 60)
    if _failures(session, LoginFailure.username, username, since) >= (
        rules.max_failures_per_account
    ):
        raise LoginThrottled(
            f"账号 {username} 登录失败次数过多，请 {minutes} 分钟后再试 "
            f"(too many failed sign-ins for this account; wait {minutes} minutes)"
        )
    if _failures(session, LoginFailure.address, address, since) >= (
        rules.max_failures_per_address
    ):
        raise LoginThrottled(
            f"此地址登录失败次数过多，请 {minutes} 分钟后再试 "
            f"(too many failed sign-ins from this address; wait {minutes} minutes)"
        )
    user = session.scalar(sa.select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        good = user is not None and user.active
    except (VerificationError, InvalidHashError):
        good = False
    if not good:
        session.add(LoginFailure(username=username[:64], address=address[:64], at=now))
        logger.info("failed sign-in for %s from %s", username, address)
        raise AuthError("用户名或密码错误 (wrong username or password)")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(
    session: Session,
    user: User,
    address: str,
    now: datetime | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
) -> str:
    """A new web session for ``user``; the answer is the cookie value."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_digest(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
            address=address[:64],
        )
    )
    return secret


def close_session(session: Session, cookie: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.id == _digest(cookie)))


def end_sessions(session: Session, user_id: int, keep_cookie: str | None = None) -> int:
    """End every web session of a user (but the one of ``keep_cookie``);
    the answer is how many were ended."""
    query = sa.delete(WebSession).where(WebSession.user_id == user_id)
    if keep_cookie:
        query = query.where(WebSession.id != _digest(keep_cookie))
    return session.execute(query).rowcount or 0


def principal_of_session(
    session: Session, cookie: str, now: datetime | None = None
) -> Principal | None:
    now = now or utcnow()
    row = session.execute(
        sa.select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == _digest(cookie))
    ).first()
    if row is None:
        return None
    web, user = row
    if web.expires_at <= now or not user.active:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        region_code=user.region_code,
        scope=scope_of(session, user),
        via="session",
        csrf_token=web.csrf_token,
    )


def issue_token(
    session: Session,
    user_id: int,
    name: str,
    scopes: list[str],
    days: int,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new API token: the secret (shown once) and its row."""
    now = now or utcnow()
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown or not scopes:
        raise AuthError(
            f"token scopes: one or more of {', '.join(TOKEN_SCOPES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AuthError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    name = name.strip()[:100] or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=now + timedelta(days=days),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(token)
    session.flush()
    return secret, token


def revoke_token(
    session: Session, token_id: int, user_id: int, now: datetime | None = None
) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise AuthError(f"no token {token_id} of yours")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
    return token


def user_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.id.desc())
        )
    )


def principal_of_token(
    session: Session, secret: str, now: datetime | None = None
) -> Principal:
    """The principal of a bearer token; AuthError when unknown, expired, revoked."""
    now = now or utcnow()
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(secret))
    ).first()
    if row is None:
        raise AuthError("unknown token")
    token, user = row
    if token.revoked_at is not None:
        raise AuthError("the token was revoked")
    if token.expires_at <= now:
        raise AuthError("the token has expired")
    if not user.active:
        raise AuthError("the token's account is disabled")
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        region_code=user.region_code,
        scope=scope_of(session, user),
        via="token",
        token_scopes=frozenset(token.scopes),
    )
