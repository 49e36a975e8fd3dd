"""A simulated ANPR camera that pushes Hikvision-style plate events over HTTP.

Each event is the multipart POST a Hikvision camera sends (built with
``hikvision_anpr.build_anpr_post``): the EventNotificationAlert XML and two
JPEGs, the plate close-up and the scene.
"""

import logging
from datetime import datetime

import httpx

from zhichao.protocols.hikvision_anpr import (
    PLATE_PICTURE,
    SCENE_PICTURE,
    build_anpr_post,
)
from zhichao.protocols.readings import Picture, PlateColor
from zhichao.sim.devices.pictures import plate_jpeg, scene_jpeg
from zhichao.timeutil import SHANGHAI, utcnow

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0


class SimulatedCamera:
    """Posts plate events to ``url`` (the station's camera listener)."""

    def __init__(self, url: str, *, name: str = "", timeout_s: float = TIMEOUT_S):
        self.url = url
        self.name = name
        self._timeout_s = timeout_s
        self.posted = 0

    def event(
        self,
        plate: str | None,
        color: PlateColor = PlateColor.YELLOW,
        when: datetime | None = None,
        confidence: int | None = 95,
        direction: str | None = "forward",
    ) -> tuple[bytes, str]:
        """(body, content type) of one event, pictures included."""
        when = when or utcnow().astimezone(SHANGHAI)  # cameras send local time
        shown = plate or "无车牌"
        pictures = (
            Picture(PLATE_PICTURE, plate_jpeg(shown, when, color), role="plate"),
            Picture(SCENE_PICTURE, scene_jpeg(shown, when, self.name, color), "scene"),
        )
        return build_anpr_post(
            plate,
            color,
            when,
            pictures,
            confidence=confidence,
            direction=direction,
        )

    async def post(self, plate: str | None, **event) -> httpx.Response:
        """Send one plate event; return the listener's answer."""
        body, content_type = self.event(plate, **event)
        return await self.post_raw(body, content_type)

    async def post_raw(self, body: bytes, content_type: str) -> httpx.Response:
        """Send any body, e.g. a broken one, as the camera would."""
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            response = await client.post(
                self.url, content=body, headers={"Content-Type": content_type}
            )
        self.posted += 1
        logger.debug(
            "camera %s posted %d bytes -> %s",
            self.name,
            len(body),
            response.status_code,
        )
        return response
