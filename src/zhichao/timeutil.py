"""Time rules: store instants in UTC, show them in Asia/Shanghai, keep offsets."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that must carry an offset (or ``Z``)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry its offset")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a ``Z`` suffix."""
    return to_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def show_local(value: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Format an instant for display in Beijing time."""
    return to_utc(value).astimezone(SHANGHAI).strftime(fmt)
