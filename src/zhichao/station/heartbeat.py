"""Heartbeats: the station's telemetry to the platform every ``heartbeat_s``.

``POST /api/v1/heartbeats`` (docs/protocol.md, "Heartbeats"): device states per
lane, queue depth, free disk, the station's clock and software version. They
are not signed, not chained and not queued: a heartbeat that cannot be sent is
simply replaced by the next one.
"""

import asyncio
import logging
from collections.abc import Callable

import httpx

from zhichao import __version__
from zhichao.timeutil import iso_utc, utcnow

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
    ) -> None:
        self.url = platform_url.rstrip("/") + "/api/v1/heartbeats"
        self._build = build
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
            reply = await client.post(self.url, json=self._build())
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
