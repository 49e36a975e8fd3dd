"""Device health: each lane device's state, changed once per fault and recovery.

A device that goes silent or is lost is one ``device_fault`` event and, when it
comes back, one ``device_recovered`` event, however many reconnects and retries
happen in between (the transports log those). Heartbeats report the states.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from zhichao.timeutil import iso_utc

logger = logging.getLogger(__name__)


class DeviceState(StrEnum):
    OK = "ok"
    FAULT = "fault"
    UNKNOWN = "unknown"  # not heard from yet (a camera before its first read)


@dataclass(frozen=True)
class Transition:
    """A device changed state in a way the chain must record."""

    event_type: str  # device_fault | device_recovered
    detail: dict


class DeviceHealth:
    """The state of one device of one lane."""

    def __init__(self, name: str, kind: str, since: datetime) -> None:
        self.name = name
        self.kind = kind
        self.state = DeviceState.UNKNOWN
        self.since = since
        self.detail = ""

    def report(self, ok: bool, at: datetime, detail: str = "") -> Transition | None:
        """Note what was just seen; a Transition when it starts or ends a fault."""
        new = DeviceState.OK if ok else DeviceState.FAULT
        if new is self.state:
            if not ok:
                self.detail = detail or self.detail
            return None
        previous, self.state, self.since = self.state, new, at
        self.detail = detail
        if new is DeviceState.FAULT:
            logger.warning("%s %s fault: %s", self.kind, self.name, detail)
            return Transition("device_fault", self._event_detail(detail))
        if previous is DeviceState.FAULT:
            logger.info("%s %s recovered", self.kind, self.name)
            return Transition("device_recovered", self._event_detail(detail))
        return None

    def _event_detail(self, detail: str) -> dict:
        return {"device": self.name, "kind": self.kind, "detail": detail}

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state.value,
            "since": iso_utc(self.since),
            "detail": self.detail,
        }
