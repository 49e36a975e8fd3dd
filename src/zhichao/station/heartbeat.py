"""Heartbeats: the station's telemetry to the platform every ``heartbeat_s``.

``POST /api/v1/heartbeats`` (docs/protocol.md, "Heartbeats"): device states per
lane, queue depth, free disk, the station's clock and software version. They
are not chained and not queued: a heartbeat that cannot be sent is simply
replaced by the next one. The request is signed with a lane's key
(zhichao.request_signing) when the sender is given one.
"""

import asyncio
import logging
from collections.abc import Callable

import httpx
import orjson

from zhichao import __version__
from zhichao.chain import StationKey
from zhichao.request_signing import sign_headers
from zhichao.timeutil import iso_utc, utcnow

PATH = "/api/v1/heartbeats"

logger = logging.getLogger(__name__)


def build_heartbeat(station_code: str, store, lanes, clock_now=utcnow) -> dict:
    """One heartbeat; ``lanes`` are objects with ``lane_no`` and ``devices``."""
    now = iso_utc(clock_now())
    return {
        "station_code": station_code,
        "sent_at": now,
        "software_version": __version__,
        "clock": now,
        "queue": store.queue_depth(),
        "disk_free_bytes": store.disk_free_bytes(),
        "lanes": [
            {
                "lane_no": lane.lane_no,
                "devices": [d.as_json() for d in lane.devices.values()],
            }
            for lane in lanes
        ],
    }


class HeartbeatSender:
    """Posts ``build()`` to the platform every ``interval_s`` seconds."""

    def __init__(
        self,
        platform_url: str,
        build: Callable[[], dict],
        *,
        interval_s: float = 30.0,
        timeout_s: float = 5.0,
        key: StationKey | None = None,
        lane_no: str | None = None,
    ) -> None:
        self.url = platform_url.rstrip("/") + PATH
        self._build = build
        self._key = key
        self._lane_no = lane_no
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._failing = False
        self.stats = {"sent": 0, "failed": 0}
        self.last_server_time: str | None = None

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            while True:
                await self.send_once(client)
                await asyncio.sleep(self._interval_s)

    async def send_once(self, client: httpx.AsyncClient) -> bool:
        try:
            body = orjson.dumps(self._build())
            headers = {"Content-Type": "application/json"}
            if self._key is not None and self._lane_no is not None:
                headers |= sign_headers(self._key, self._lane_no, "POST", PATH, body)
            reply = await client.post(self.url, content=body, headers=headers)
            ok = reply.status_code == 200
            problem = f"HTTP {reply.status_code}"
            if ok:
                self.last_server_time = reply.json().get("server_time")
        except (httpx.HTTPError, ValueError) as err:
            ok, problem = False, repr(err)
        if ok:
            self.stats["sent"] += 1
            if self._failing:
                logger.info("heartbeats reach the platform again")
            self._failing = False
            return True
        self.stats["failed"] += 1
        if not self._failing:
            logger.warning("heartbeat not delivered: %s", problem)
        self._failing = True
        return False
