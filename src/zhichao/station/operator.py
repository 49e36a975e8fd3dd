"""The operator page (操作员页面): a local web page on the weighbridge office's screen.

It shows each lane's state and screen text, its devices, its recent records,
the upload queue and the station clock against the platform's, and it lets a
signed-in operator act on the truck on the deck: re-weigh, type in a plate or
an axle count, release a held truck. Every action asks for a reason and is an
event record in the lane's chain before it is done (docs/station.md,
"Operator page").

Sign-in is one operator password (its argon2id hash in the station
configuration) with the operator's name; forms carry a CSRF token bound to
the session. The page binds to 127.0.0.1 unless configured otherwise.
"""

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from yarl import URL

from zhichao.errors import PlateError
from zhichao.lane.events import (
    MANUAL_AXLES,
    MANUAL_PLATE,
    OPERATOR_ACTIONS,
    OperatorEvent,
)
from zhichao.protocols.plates import validate_plate
from zhichao.protocols.readings import PlateColor
from zhichao.timeutil import parse_instant, show_local, utcnow

logger = logging.getLogger(__name__)

WEB = Path(__file__).parent / "web"
SESSION_COOKIE = "zhichao_operator"
LANG_COOKIE = "zhichao_lang"
LANGS = ("zh", "en")
RECENT = 20
MAX_REASON = 500
MAX_NAME = 40
MAX_LOGIN_TOKENS = 256
AXLE_RANGE = range(2, 9)  # 2 to 8 axles: what the limits table knows

TEXT = {
    "title": ("称重站操作员页面", "Station operator page"),
    "login": ("登录", "Sign in"),
    "logout": ("退出", "Sign out"),
    "operator": ("操作员", "Operator"),
    "password": ("密码", "Password"),
    "bad_login": ("姓名或密码错误", "Wrong name or password"),
    "station": ("磅站", "Station"),
    "lane": ("车道", "Lane"),
    "lane_state": ("车道状态", "Lane state"),
    "state_idle": ("空闲", "idle"),
    "state_weighing": ("称重中", "weighing"),
    "state_released": ("已放行", "released"),
    "state_held": ("超限待卸", "held (overloaded)"),
    "screen": ("显示屏内容", "Lane screen"),
    "decided": ("当前判定记录", "Current decision"),
    "devices": ("设备状态", "Devices"),
    "device": ("设备", "Device"),
    "state": ("状态", "State"),
    "since": ("起始时间", "Since"),
    "detail": ("详情", "Detail"),
    "device_ok": ("正常", "ok"),
    "device_fault": ("故障", "fault"),
    "device_unknown": ("未知", "unknown"),
    "queue": ("待上传", "Upload queue"),
    "records": ("记录", "records"),
    "photos": ("照片", "photos"),
    "clock_skew": ("与平台时钟偏差", "Clock vs platform"),
    "seconds": ("秒", "s"),
    "skew_unknown": ("尚未与平台通信", "no answer from the platform yet"),
    "skew_off": ("偏差过大", "too far off"),
    "recent": ("最近记录", "Recent records"),
    "seq": ("序号", "Seq"),
    "time": ("时间（北京时间）", "Time (Beijing)"),
    "kind": ("类型", "Kind"),
    "kind_pass": ("称重", "pass"),
    "plate": ("车牌", "Plate"),
    "plate_color": ("车牌颜色", "Plate colour"),
    "gross": ("总重（吨）", "Gross (t)"),
    "verdict": ("结论", "Verdict"),
    "flags": ("标记", "Flags"),
    "upload": ("上传", "Upload"),
    "verdict_held": ("超限", "held"),
    "verdict_released": ("放行", "released"),
    "no_records": ("暂无记录", "No records"),
    "actions": ("操作", "Actions"),
    "reason": ("原因（必填）", "Reason (required)"),
    "axles": ("轴数", "Axles"),
    "do_release": ("人工放行超限车辆", "Release the held truck by hand"),
    "do_reweigh": ("重新称重", "Re-weigh"),
    "do_manual_plate": ("人工录入车牌", "Enter the plate by hand"),
    "do_manual_axles": ("人工录入轴数", "Enter the axle count by hand"),
    "release_note": (
        "放行将记录为「超限车辆人工放行」，并上传平台。",
        "The release is recorded as an overloaded truck released by hand, "
        "and sent to the platform.",
    ),
    "done_release": ("已人工放行，记录", "Released by hand, record"),
    "done_reweigh": ("已重新称重，记录", "Weighing again, record"),
    "done_manual_plate": ("车牌已录入，记录", "Plate entered, record"),
    "done_manual_axles": ("轴数已录入，记录", "Axle count entered, record"),
    "err_reason": ("请填写原因", "A reason is required"),
    "err_plate": ("车牌无效", "Not a valid plate"),
    "err_axles": ("轴数应为 2 至 8", "The axle count must be 2 to 8"),
    "err_not_held": ("当前没有超限待卸的车辆", "No held truck on this lane"),
    "err_no_truck": ("磅上没有车辆", "No truck on the deck"),
    "err_no_value": ("请填写录入值", "Enter a value"),
    "err_not_stored": (
        "记录未能保存，操作未执行",
        "The record could not be stored; nothing was done",
    ),
    "err_csrf": ("页面已过期，请重试", "The page expired; try again"),
    "err_lane": ("没有该车道", "No such lane"),
    "err_action": ("未知操作", "Unknown action"),
    "ev_operator_release": ("人工放行超限车辆", "held truck released by hand"),
    "ev_operator_reweigh": ("人工重新称重", "re-weighed by the operator"),
    "ev_operator_manual_plate": ("人工录入车牌", "plate entered by hand"),
    "ev_operator_manual_axles": ("人工录入轴数", "axle count entered by hand"),
    "ev_station_started": ("系统启动", "station started"),
    "ev_device_fault": ("设备故障", "device fault"),
    "ev_device_recovered": ("设备恢复", "device recovered"),
    "refresh": ("刷新", "Refresh"),
    "other_lang": ("English", "中文"),
    "none": ("无", "none"),
}

COLORS = {
    PlateColor.YELLOW.value: ("黄", "yellow"),
    PlateColor.BLUE.value: ("蓝", "blue"),
    PlateColor.YELLOW_GREEN.value: ("黄绿", "yellow-green"),
    PlateColor.GREEN.value: ("绿", "green"),
    PlateColor.WHITE.value: ("白", "white"),
    PlateColor.BLACK.value: ("黑", "black"),
    PlateColor.UNKNOWN.value: ("未知", "unknown"),
}


def hash_password(password: str) -> str:
    """The argon2id hash to put in ``[operator] password_hash``."""
    return PasswordHasher().hash(password)


@dataclass
class Session:
    operator: str
    csrf: str
    expires: float  # time.monotonic()


class OperatorPage:
    """The aiohttp app of the operator page, for one running Station."""

    def __init__(self, station, settings) -> None:
        self.station = station
        self.settings = settings
        self._hasher = PasswordHasher()
        self._sessions: dict[str, Session] = {}
        self._login_tokens: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._env = Environment(
            loader=FileSystemLoader(WEB / "templates"),
            autoescape=select_autoescape(["html"]),
        )
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/", self.status_page),
                web.get("/login", self.login_page),
                web.post("/login", self.login),
                web.post("/logout", self.logout),
                web.post("/lanes/{lane_no}/actions", self.action),
                web.static("/static", WEB / "static"),
            ]
        )

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        logger.info("operator page on http://%s:%s/", self.settings.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- sign-in ----------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        return self._render(request, "login.html", error=None)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("csrf", ""))
        if self._login_tokens.pop(token, None) is None:
            return self._render(request, "login.html", error="err_csrf", status=400)
        name = str(form.get("operator", "")).strip()[:MAX_NAME]
        password = str(form.get("password", ""))
        if not name or not self._password_ok(password):
            logger.warning("operator sign-in refused for %r", name)
            return self._render(request, "login.html", error="bad_login", status=403)
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = Session(
            name, secrets.token_urlsafe(32), time.monotonic() + self.settings.session_s
        )
        logger.info("operator %s signed in", name)
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            SESSION_COOKIE, session_id, httponly=True, samesite="Strict", path="/"
        )
        raise response

    def _password_ok(self, password: str) -> bool:
        try:
            return self._hasher.verify(self.settings.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        form = await request.post()
        if session is not None and _same(form.get("csrf"), session.csrf):
            self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    def _session(self, request: web.Request) -> Session | None:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires < time.monotonic():
            del self._sessions[session_id]
            return None
        return session

    def _new_login_token(self) -> str:
        now = time.monotonic()
        self._login_tokens = {
            t: at for t, at in self._login_tokens.items() if now - at < 3600
        }
        while len(self._login_tokens) >= MAX_LOGIN_TOKENS:
            self._login_tokens.pop(next(iter(self._login_tokens)))
        token = secrets.token_urlsafe(32)
        self._login_tokens[token] = now
        return token

    # -- pages ------------------------------------------------------------

    async def status_page(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            raise web.HTTPSeeOther("/login")
        message = None
        if "done" in request.query:
            message = ("ok", request.query["done"], request.query.get("record", ""))
        elif "error" in request.query:
            message = ("error", request.query["error"], "")
        return self._render(
            request,
            "operator.html",
            session=session,
            message=message,
            lanes=[self._lane_view(r) for r in self.station.lanes],
            queue=self.station.store.queue_depth(),
            skew=self._skew(),
        )

    def _lane_view(self, runtime) -> dict:
        recent = []
        for stored in self.station.store.recent_records(runtime.lane_no, RECENT):
            record = stored.record
            recent.append(
                {
                    "seq": stored.seq,
                    "record_id": record["record_id"],
                    "time": show_local(parse_instant(record["detected_at"])),
                    "kind": record["kind"],
                    "event_type": record.get("event_type"),
                    "plate": record.get("front_plate") or record.get("rear_plate"),
                    "gross_kg": record.get("gross_kg"),
                    "verdict": record.get("verdict"),
                    "flags": record.get("flags", []),
                    "detail": record.get("detail"),
                    "status": stored.status,
                }
            )
        return {
            "lane_no": runtime.lane_no,
            "state": runtime.lane.state.value,
            "screen": runtime.screen_lines,
            "decided": runtime.lane.decided_record_id,
            "devices": [
                d.as_json() | {"since_local": show_local(d.since)}
                for d in runtime.devices.values()
            ],
            "recent": recent,
        }

    def _skew(self) -> dict:
        skew = self.station.uploader.clock_skew_s
        limit = self.station.settings.clock_skew_limit_s
        if skew is None:
            return {"known": False}
        return {"known": True, "s": round(skew, 1), "off": abs(skew) > limit}

    # -- actions ----------------------------------------------------------

    async def action(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            raise web.HTTPSeeOther("/login")
        form = await request.post()
        if not _same(form.get("csrf"), session.csrf):
            logger.warning("operator action without a valid CSRF token refused")
            raise web.HTTPForbidden(text=self._t(request)("err_csrf"))
        runtime = {r.lane_no: r for r in self.station.lanes}.get(
            request.match_info["lane_no"]
        )
        if runtime is None:
            raise _back(error="err_lane")
        event = _event_from_form(form, session.operator)
        if isinstance(event, str):
            raise _back(error=event)
        record, refusal = await runtime.operator_action(event)
        if record is None:
            raise _back(error=f"err_{refusal}")
        logger.info(
            "operator %s: %s on lane %s (%s)",
            session.operator,
            event.action,
            runtime.lane_no,
            record["record_id"],
        )
        raise _back(done=event.action, record=record["record_id"])

    # -- rendering --------------------------------------------------------

    def _lang(self, request: web.Request) -> str:
        wanted = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
        return wanted if wanted in LANGS else self.settings.default_lang

    def _t(self, request: web.Request):
        index = LANGS.index(self._lang(request))

        def t(key: str) -> str:
            pair = TEXT.get(key)
            return pair[index] if pair else key

        return t

    def _render(self, request, template: str, status: int = 200, **context):
        lang = self._lang(request)
        index = LANGS.index(lang)
        session = context.get("session")
        t = self._t(request)
        html = self._env.get_template(template).render(
            t=t,
            lang=lang,
            other_lang=LANGS[1 - index],
            colors=[(value, names[index]) for value, names in COLORS.items()],
            color_name=lambda value: COLORS.get(value, (value, value))[index],
            event_label=lambda kind: t(f"ev_{kind}") if f"ev_{kind}" in TEXT else kind,
            tonnes=lambda kg: "" if kg is None else f"{kg / 1000:.2f}",
            actions=OPERATOR_ACTIONS,
            axle_range=AXLE_RANGE,
            station=self.station.settings,
            now=show_local(utcnow()),
            csrf=session.csrf if session else self._new_login_token(),
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        if request.query.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang, samesite="Strict", path="/")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'"
        )
        return response


def _event_from_form(form, operator: str) -> OperatorEvent | str:
    """The OperatorEvent a form asks for, or the key of what is wrong with it."""
    action = str(form.get("action", ""))
    if action not in OPERATOR_ACTIONS:
        return "err_action"
    reason = " ".join(str(form.get("reason", "")).split())[:MAX_REASON]
    if not reason:
        return "err_reason"
    if action == MANUAL_PLATE:
        try:
            plate = validate_plate(str(form.get("plate", "")))
        except PlateError:
            return "err_plate"
        color = str(form.get("plate_color", PlateColor.UNKNOWN.value))
        if color not in COLORS:
            color = PlateColor.UNKNOWN.value
        return OperatorEvent(action, operator, reason, plate=plate, plate_color=color)
    if action == MANUAL_AXLES:
        try:
            axles = int(str(form.get("axles", "")))
        except ValueError:
            return "err_axles"
        if axles not in AXLE_RANGE:
            return "err_axles"
        return OperatorEvent(action, operator, reason, axles=axles)
    return OperatorEvent(action, operator, reason)


def _back(**query) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(str(URL("/").with_query(query)))


def _same(given, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given, expected)
