"""Page text in Chinese (first) and English, and the choice between them.

The language is ``?lang=zh|en`` when given (remembered in a cookie), else the
cookie, else the ``default_lang`` setting.
"""

from collections.abc import Callable
from typing import Any

from fastapi import Request

LANGS = ("zh", "en")
LANG_COOKIE = "zhichao_lang"

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("县级科技治超监测平台", "County overload monitoring platform"),
    "live_title": ("实时过车", "Live passes"),
    "record_title": ("称重记录", "Weighing record"),
    "today_passes": ("今日过车", "Passes today"),
    "today_overloaded": ("今日超限", "Overloaded today"),
    "live_note": (
        "每 2 秒自动刷新，无需重新加载页面",
        "Updates every 2 s without reload",
    ),
    "no_records": ("暂无过车记录", "No passes yet"),
    "col_time": ("检测时间", "Detected"),
    "col_unit": ("源头单位 / 站点", "Unit / station"),
    "col_lane": ("车道", "Lane"),
    "col_plates": ("车牌", "Plate(s)"),
    "col_axles": ("轴数", "Axles"),
    "col_gross": ("车货总质量", "Gross"),
    "col_limit": ("限值", "Limit"),
    "col_over": ("超限质量 / 超限率", "Over limit / rate"),
    "col_verdict": ("结论", "Verdict"),
    "unregistered": ("未登记", "unregistered"),
    "overloaded": ("超限", "overloaded"),
    "not_overloaded": ("未超限", "not overloaded"),
    "verdict_released": ("放行", "released"),
    "verdict_held": ("劝返卸载", "held to unload"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    "unknown": ("未知", "unknown"),
    "kg": ("千克", "kg"),
    "section_verdict": ("结论与依据", "Verdict and basis"),
    "section_vehicle": ("车辆", "Vehicle"),
    "section_weighing": ("称重", "Weighing"),
    "section_photos": ("照片", "Photos"),
    "section_record": ("记录信息", "Record"),
    "section_reweigh": ("复磅", "Re-weighing"),
    "f_record_id": ("记录编号", "Record id"),
    "f_schema_version": ("数据版本", "Schema version"),
    "f_kind": ("记录类型", "Kind"),
    "f_station": ("站点", "Station"),
    "f_unit": ("源头单位", "Source unit"),
    "f_station_code": ("站点编码", "Station code"),
    "f_lane_no": ("车道", "Lane"),
    "f_seq": ("车道序号", "Lane sequence"),
    "f_prev_hash": ("前一记录哈希", "Previous hash"),
    "f_signature": ("签名", "Signature"),
    "f_detected_at": ("检测时间", "Detected at"),
    "f_entered_at": ("入场时间", "Entered at"),
    "f_received_at": ("平台接收时间", "Received at"),
    "f_front_plate": ("车头车牌", "Front plate"),
    "f_rear_plate": ("车尾车牌", "Rear plate"),
    "f_vehicle_kind": ("车辆类型", "Vehicle kind"),
    "f_axles": ("轴数", "Axles"),
    "f_axle_weights": ("轴重", "Axle weights"),
    "f_axle_groups": ("轴组（前至后）", "Axle groups (front to rear)"),
    "f_axle_tyres": ("轮胎（前至后）", "Tyres (front to rear)"),
    "tyre_S": ("单胎", "single"),
    "tyre_D": ("双胎", "twin"),
    "tyre_W": ("加宽单胎", "wide single"),
    "not_reported": ("轮轴识别器未报告", "not reported by the axle identifier"),
    "f_gross": ("车货总质量", "Gross mass"),
    "f_limit": ("限值", "Limit"),
    "f_tolerance": ("允许误差", "Tolerance"),
    "f_over_kg": ("超限质量", "Over-limit mass"),
    "f_over_rate": ("超限率", "Overload rate"),
    "f_overloaded": ("是否超限", "Overloaded"),
    "f_verdict": ("处置结论", "Verdict"),
    "f_basis": ("限值依据", "Basis of the limit"),
    "f_rules_version": ("限值表版本", "Limits table version"),
    "f_flags": ("提示标记", "Flags"),
    "f_left_without_weighing": ("逃检", "Left without weighing"),
    "f_video": ("录像", "Video"),
    "f_reweigh_of": ("复磅的原记录", "Re-weigh of"),
    "f_reweighed_by": ("复磅记录", "Re-weighed by"),
    "photo_pending": ("待上传", "pending upload"),
    "not_received": ("平台尚未收到", "not received yet"),
    "photo_role_plate": ("车牌照片", "plate photo"),
    "photo_role_scene": ("全景照片", "scene photo"),
    "photo_camera": ("相机", "camera"),
    "photo_captured_at": ("抓拍时间", "captured"),
    "no_photos": ("无照片", "no photos"),
    "back_to_live": ("返回实时过车", "Back to live passes"),
    "error_title": ("出错了", "Error"),
    "switch_lang": ("English", "中文"),
    "color_blue": ("蓝", "blue"),
    "color_yellow": ("黄", "yellow"),
    "color_green": ("绿", "green"),
    "color_yellow_green": ("黄绿", "yellow-green"),
    "color_white": ("白", "white"),
    "color_black": ("黑", "black"),
    "color_unknown": ("未知", "unknown"),
    "kind_pass": ("过磅", "weighing pass"),
    "kind_truck": ("货车", "truck"),
    "kind_combination": ("汽车列车", "combination"),
    "kind_low_speed": ("低速货车", "low-speed truck"),
    "flag_no_axle_count": (
        "未识别轴数，按最低限值",
        "no axle count; lowest limit applied",
    ),
    "flag_unknown_configuration": (
        "车型配置未知，按该轴数最低限值",
        "unknown configuration; lowest limit for the axle count",
    ),
    "flag_axle_count_unusable": (
        "轴数无法对应已知车型，按未识别轴数处理",
        "axle count fits no known vehicle; judged as without a count",
    ),
    "flag_no_plate": ("未识别车牌", "no plate read"),
    "flag_registered_mass_missing": (
        "低速货车缺少核定总质量",
        "low-speed vehicle without registered mass",
    ),
    "flag_weight_jump": (
        "车辆未动重量突变（疑似遥控作弊）",
        "weight stepped with no movement (remote control?)",
    ),
    "flag_two_vehicles": ("秤台上疑有两辆车", "two vehicles on the deck"),
    "flag_plate_mismatch": ("前后车牌不一致", "front and rear plates differ"),
    "flag_unknown_pair": ("牵引车与挂车未备案配对", "tractor/trailer pair not known"),
    "flag_quick_reweigh": ("同一车辆短时间内复磅", "same plate re-weighed soon"),
    "flag_scale_not_zeroed": ("上车前秤台未回零", "scale not back to zero before"),
    "flag_axle_mismatch": ("轴数与车辆登记不符", "axle count differs from known"),
    "flag_single_tyre_reduction": (
        "挂车轴为单胎，限值已按轴减低",
        "single-tyred trailer axles lowered the limit",
    ),
    "flag_wide_tyres": ("挂车轴为加宽轮胎，限值不减", "wide tyres: limit not lowered"),
    "flag_single_tyres_not_counted": (
        "有单胎轴但无法判定是否应减限值，未减",
        "single tyres the lane could not place; limit not lowered",
    ),
    "flag_left_without_weighing": (
        "出口发现未称重车辆（逃检）",
        "left without weighing",
    ),
    "flag_overloaded_left": ("超限车辆未复磅驶离", "overloaded truck left"),
    "flag_zero_not_returned": ("车辆离开后秤台未回零", "scale did not return to zero"),
    "section_chain": ("防篡改校验", "Chain verification"),
    "verification_verified": ("校验通过", "verified"),
    "verification_gap": ("记录缺失", "gap: records missing"),
    "verification_fork": ("链分叉", "fork"),
    "verification_bad_signature": ("签名无效", "bad signature"),
    "verification_replay": ("重放记录", "replay"),
    "verification_unsigned": ("未签名", "unsigned"),
    "verification_unenrolled": ("车道未备案", "lane not enrolled"),
    "alarms_title": ("告警", "Alarms"),
    "alarm_kind": ("告警类型", "Kind"),
    "alarm_detail": ("详情", "Detail"),
    "alarm_chain_gap": ("记录缺失", "records missing"),
    "alarm_chain_fork": ("链分叉", "chain fork"),
    "alarm_bad_signature": ("签名无效", "bad signature"),
    "alarm_replay": ("重放记录", "replay"),
    "raised_at": ("告警时间", "Raised"),
    "no_alarms": ("暂无告警", "No alarms"),
    "alarm_status": ("处理状态", "Status"),
    "alarm_status_open": ("未处理", "open"),
    "alarm_status_acknowledged": ("已确认", "acknowledged"),
    "alarm_status_closed": ("已关闭", "closed"),
    "alarm_handle": ("处理", "Handle"),
    "alarm_acknowledge": ("确认", "Acknowledge"),
    "alarm_close": ("关闭", "Close"),
    "alarm_note": ("处理说明", "Note"),
    "alarm_note_placeholder": ("处理说明（关闭时必填）", "note (needed to close)"),
    "alarm_view_unresolved": ("未关闭", "not closed"),
    "alarm_view_closed": ("已关闭", "closed"),
    "alarm_view_all": ("全部", "all"),
    "enrol_title": ("车道备案", "Lane enrolment"),
    "enrol_help": (
        "粘贴磅站执行 zhichao station init 后显示的备案码（ZC1. 开头），"
        "核对站点、车道和密钥指纹后确认。",
        "Paste the enrolment code (starting ZC1.) that zhichao station init "
        "printed, check station, lane and key fingerprint, then confirm.",
    ),
    "enrol_code": ("备案码", "Enrolment code"),
    "enrol_parse": ("解析", "Check code"),
    "enrol_check": ("请核对", "Please check"),
    "enrol_confirm": ("确认备案", "Confirm enrolment"),
    "enrol_replace": (
        "确认更换该车道的密钥（更换磅站电脑时）",
        "Replace this lane's key (a replaced station computer)",
    ),
    "enrol_current": ("当前已备案密钥", "Key enrolled now"),
    "enrol_bad": ("备案码无效", "Bad enrolment code"),
    "enrol_ok": ("已备案", "Enrolled"),
    "enrol_already": ("该密钥已备案，无变化", "Already enrolled with this key"),
    "enrol_keys": ("已备案密钥", "Enrolled keys"),
    "fingerprint": ("密钥指纹", "Key fingerprint"),
    "enrolled_at": ("备案时间", "Enrolled"),
    "replaced_at": ("更换时间", "Replaced"),
    "enrolled": ("已备案", "enrolled"),
    "stations_title": ("磅站状态", "Stations"),
    "units_title": ("源头单位", "Source units"),
    "vehicles_title": ("车辆登记", "Vehicles"),
    "stations_note": ("超过此时长无心跳即显示离线：", "Offline after no heartbeat for"),
    "online_state": ("在线状态", "State"),
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
    "never": ("从未上报", "never reported"),
    "last_heartbeat": ("最近心跳", "Last heartbeat"),
    "devices": ("设备", "Devices"),
    "device_ok": ("正常", "ok"),
    "device_fault": ("故障", "fault"),
    "device_unknown": ("未知", "unknown"),
    "device_register": ("设备台账", "Device register"),
    "queue": ("待上传 记录/照片", "Queue records/photos"),
    "disk_free": ("磁盘剩余", "Disk free"),
    "clock_skew": ("时钟偏差", "Clock skew"),
    "software": ("软件版本", "Software"),
    "no_stations": ("暂无磅站", "No stations"),
    "event_title": ("事件记录", "Event record"),
    "event_type": ("事件类型", "Event type"),
    "event_detail": ("事件详情", "Detail"),
    "kind_event": ("事件", "event"),
    "flag_stability_timeout": ("称重不稳定超时，已劝返", "weight never settled; held"),
    "login_title": ("登录", "Sign in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Sign in"),
    "logout": ("退出", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "audit_title": ("操作日志", "Audit log"),
    "audit_intact": ("日志链完整", "The chain is intact"),
    "audit_broken": ("日志链被破坏", "The chain is broken"),
    "audit_entries": ("条记录", "entries"),
    "audit_at": ("时间", "When"),
    "audit_user": ("用户", "User"),
    "audit_role": ("角色", "Role"),
    "audit_action": ("操作", "Action"),
    "audit_target": ("对象", "Target"),
    "audit_detail": ("详情", "Detail"),
    "audit_address": ("来源地址", "From"),
    "audit_since": ("起始时间", "From (Beijing time)"),
    "audit_until": ("截止时间", "Until (Beijing time)"),
    "search": ("查询", "Search"),
    "tokens_title": ("接口令牌", "API tokens"),
    "tokens_help": (
        "远程监控端口使用的只读令牌：请求头 Authorization: Bearer 令牌",
        "Read-only tokens for the remote monitoring port: Authorization: Bearer TOKEN",
    ),
    "token_name": ("名称", "Name"),
    "token_scopes": ("权限范围", "Scopes"),
    "token_days": ("有效天数", "Days valid"),
    "token_expires": ("到期时间", "Expires"),
    "token_revoked": ("已吊销", "Revoked"),
    "token_new": (
        "新令牌（只显示一次，请妥善保存）",
        "New token (shown once; keep it safe)",
    ),
    "token_create": ("创建令牌", "Create token"),
    "token_revoke": ("吊销", "Revoke"),
    "scope_records:read": ("读取称重记录与照片", "read records and photos"),
    "scope_alarms:read": ("读取告警", "read alarms"),
    "scope_stations:read": ("读取磅站状态", "read station status"),
    "users_title": ("人员账号", "Accounts"),
    "users_help": (
        "本管辖范围内的账号（站点编码前缀）：",
        "The accounts of your jurisdiction (station-code prefix):",
    ),
    "users_everywhere": ("全部地区", "every region"),
    "user_title": ("账号", "Account"),
    "user_you": ("本人", "you"),
    "user_role": ("角色", "Role"),
    "user_region": ("行政区划", "Region"),
    "user_unit": ("所属单位站点", "Unit's station"),
    "user_state": ("状态", "State"),
    "user_active": ("启用", "active"),
    "user_disabled": ("已停用", "disabled"),
    "user_created_at": ("创建时间", "Created"),
    "user_last_sign_in": ("最近登录", "Last sign-in"),
    "user_new": ("新建账号", "New account"),
    "user_create": ("创建账号", "Create account"),
    "user_created": ("已创建账号", "Account created"),
    "user_initial_password": ("初始密码", "Initial password"),
    "username_rule": (
        "2–64 个字母、数字或 _ . -",
        "2–64 letters, digits, _ . -",
    ),
    "region_rule": (
        "6 位行政区划代码，须在本管辖范围内",
        "6-digit region code inside your jurisdiction",
    ),
    "unit_rule": (
        "仅源头单位操作员填写：本单位磅站的 10 位站点编码",
        "operators only: the 10-digit code of their unit's station",
    ),
    "password_rule": ("至少 10 个字符", "at least 10 characters"),
    "password_again": ("再次输入密码", "Password again"),
    "password_current": ("当前密码", "Current password"),
    "password_new": ("新密码", "New password"),
    "user_change": ("修改角色与区划", "Change role and region"),
    "user_save": ("保存", "Save"),
    "user_disable": ("停用账号", "Disable account"),
    "user_enable": ("启用账号", "Enable account"),
    "user_disable_help": (
        "停用后该账号立即退出所有登录，其接口令牌全部吊销，不能再登录。",
        "Disabling signs the account out everywhere at once, revokes its API"
        " tokens and stops it signing in.",
    ),
    "user_enable_help": (
        "启用后可再次登录；已吊销的接口令牌不会恢复。",
        "Enabled, it can sign in again; revoked API tokens stay revoked.",
    ),
    "user_reset": ("重置密码", "Reset password"),
    "user_reset_help": (
        "重置后该账号的所有登录立即退出，请将新密码当面或电话告知本人。",
        "Resetting signs the account out everywhere; give the person the new"
        " password in person or by telephone.",
    ),
    "user_self_note": (
        "这是您本人的账号：角色、区划和状态须由其他管理员修改；密码请在此修改：",
        "This is your own account: another administrator changes its role, region"
        " and state; change your password here:",
    ),
    "user_done_saved": ("已保存", "Saved"),
    "user_done_disabled": (
        "账号已停用，其登录已退出，令牌已吊销",
        "Account disabled; its sessions ended and its tokens revoked",
    ),
    "user_done_enabled": ("账号已启用", "Account enabled"),
    "user_done_password": (
        "密码已重置，其登录已退出",
        "Password reset; its sessions ended",
    ),
    "user_done_created": ("已创建账号", "Account created"),
    "account_title": ("我的账号", "My account"),
    "account_change_password": ("修改密码", "Change password"),
    "account_password_help": (
        "修改后，您在其他浏览器或电脑上的登录将退出，本次登录保留。",
        "Your sign-ins in other browsers end; this one stays.",
    ),
    "account_password_changed": ("密码已修改", "Password changed"),
    "account_sessions_ended": ("退出的其他登录", "other sign-ins ended"),
    "stats_title": ("统计", "Statistics"),
    "stats_from": ("开始日期", "From"),
    "stats_to": ("结束日期", "To"),
    "stats_show": ("统计", "Count"),
    "stats_this_month": ("本月", "This month"),
    "stats_period": (
        "统计区间（北京时间，含首尾两日）",
        "Period (Beijing days, inclusive)",
    ),
    "stats_days": ("天", "days"),
    "stats_station": ("源头单位 / 站点", "Unit / station"),
    "stats_passes": ("过车数", "Passes"),
    "stats_overloaded": ("超限车数", "Overloaded"),
    "stats_overloaded_pct": ("超限车辆占比", "Overloaded share"),
    "stats_bands": ("超限车辆按超限率分档", "Overloaded passes by overload rate"),
    "stats_band_up_to_20": ("≤ 20%", "≤ 20%"),
    "stats_band_20_to_50": ("20%–50%", "20–50%"),
    "stats_band_50_to_100": ("50%–100%", "50–100%"),
    "stats_band_over_100": ("> 100%", "> 100%"),
    "stats_totals": ("合计", "Total"),
    "stats_no_stations": ("管辖范围内暂无磅站", "No stations in your jurisdiction"),
    "stats_note": (
        "按检测时间统计，补传的记录计入其检测当日；超限率 = 超限质量 / 限值。",
        "Counted by detection time: a record uploaded late counts in the day it"
        " was detected. Overload rate = mass over the limit / limit.",
    ),
    "stats_json": ("JSON 数据", "as JSON"),
}


def translator(lang: str) -> Callable[[str], str]:
    index = LANGS.index(lang)

    def t(key: str) -> str:
        pair = TEXT.get(key)
        return pair[index] if pair else key

    return t


def label_or_raw(t: Callable[[str], str], prefix: str, value: str | None) -> str:
    """The label of ``prefix + value``, or the value itself when it has none."""
    if value is None:
        return t("unknown")
    key = prefix + value
    return t(key) if key in TEXT else value


def choose_lang(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if wanted in LANGS:
        return wanted
    settings = getattr(request.app.state, "settings", None)
    return settings.default_lang if settings else LANGS[0]


def page_context(request: Request) -> dict[str, Any]:
    lang = choose_lang(request)
    other = LANGS[1 - LANGS.index(lang)]
    t = translator(lang)
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "t": t,
        "label": lambda prefix, value: label_or_raw(t, prefix, value),
        "switch_url": str(request.url.include_query_params(lang=other)),
        "client_text": {key: t(key) for key in TEXT},
    }
