"""Uplink: sends stored records and photos to the platform until acknowledged.

Records go first (they are the evidence and are small), oldest first, in
batches; photos follow. Nothing is removed from the store: a record is marked
uploaded only when the platform answers ``stored`` or ``duplicate`` for it, so
a lost answer just means the same batch is sent again, which the platform
treats idempotently (docs/protocol.md).
"""

import asyncio
import contextlib
import logging
from datetime import datetime

import httpx
from tenacity import wait_random_exponential

from zhichao.errors import UploadError
from zhichao.station.store import REJECTED, UPLOADED, StationStore
from zhichao.timeutil import parse_instant, utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
CLOCK_SKEW_WARN_S = 60.0


class Uploader:
    """Drains a StationStore into the platform's ingest API."""

    def __init__(
        self,
        store: StationStore,
        platform_url: str,
        *,
        timeout_s: float = 10.0,
        max_backoff_s: float = 60.0,
        idle_poll_s: float = 2.0,
    ) -> None:
        self.store = store
        self.base = platform_url.rstrip("/")
        self._timeout = timeout_s
        self._idle_poll_s = idle_poll_s
        self._wait = wait_random_exponential(multiplier=0.5, max=max_backoff_s)
        self._wake = asyncio.Event()
        self._failures = 0
        self.clock_skew_s: float | None = None
        self.stats = {"records_sent": 0, "photos_sent": 0, "failures": 0}

    def wake(self) -> None:
        """Tell the uploader there is something new to send."""
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            while True:
                # Cleared before looking, so a record stored during the upload
                # wakes the next round at once.
                self._wake.clear()
                try:
                    busy = await self.upload_once(client)
                except UploadError as err:
                    await self._back_off(err)
                    continue
                if self._failures:
                    logger.info("platform reachable again at %s", self.base)
                    self._failures = 0
                if not busy:
                    await self._idle()

    async def upload_once(self, client: httpx.AsyncClient) -> bool:
        """Send one batch of records and photos; True if anything was sent."""
        sent = await self._send_records(client)
        sent |= await self._send_photos(client)
        return sent

    async def _send_records(self, client: httpx.AsyncClient) -> bool:
        batch = self.store.pending_records(BATCH_SIZE)
        if not batch:
            return False
        ids = [r["record_id"] for r in batch]
        try:
            reply = await client.post(
                f"{self.base}/api/v1/records", json={"records": batch}
            )
        except httpx.HTTPError as err:
            self.store.note_attempt(ids, str(err))
            raise UploadError(f"record upload failed: {err!r}") from err
        if reply.status_code != 200:
            self.store.note_attempt(ids, f"HTTP {reply.status_code}")
            raise UploadError(
                f"platform answered {reply.status_code} to a record batch: "
                f"{reply.text[:300]}"
            )
        body = reply.json()
        self.store.apply_acknowledgement(body.get("results", []))
        self._check_clock(body.get("server_time"))
        self.stats["records_sent"] += len(batch)
        logger.info("uploaded %d records", len(batch))
        return True

    async def _send_photos(self, client: httpx.AsyncClient) -> bool:
        photos = self.store.pending_photos()
        for photo in photos:
            data = photo.path.read_bytes()
            try:
                reply = await client.put(
                    f"{self.base}/api/v1/photos/{photo.sha256}",
                    content=data,
                    headers={"Content-Type": "image/jpeg"},
                )
            except httpx.HTTPError as err:
                raise UploadError(f"photo upload failed: {err!r}") from err
            if reply.status_code in (200, 201):
                self.store.mark_photo(photo.sha256, UPLOADED)
                self.stats["photos_sent"] += 1
            elif reply.status_code in (400, 413, 415):
                logger.error(
                    "platform refused photo %s: %s", photo.sha256, reply.text[:300]
                )
                self.store.mark_photo(photo.sha256, REJECTED, reply.text[:300])
            else:
                raise UploadError(f"platform answered {reply.status_code} to a photo")
        return bool(photos)

    def _check_clock(self, server_time: str | None) -> None:
        if not server_time:
            return
        try:
            theirs: datetime = parse_instant(server_time)
        except ValueError:
            return
        skew = (utcnow() - theirs).total_seconds()
        previous, self.clock_skew_s = self.clock_skew_s, skew
        if abs(skew) > CLOCK_SKEW_WARN_S and (
            previous is None or abs(previous) <= CLOCK_SKEW_WARN_S
        ):
            logger.warning("station clock is %.1f s off the platform's", skew)

    async def _back_off(self, err: UploadError) -> None:
        self._failures += 1
        self.stats["failures"] += 1
        if self._failures == 1:
            logger.warning("platform unreachable, keeping records queued: %s", err)
        else:
            logger.debug("upload retry %d failed: %s", self._failures, err)
        # New records do not cut a back-off short: they are queued either way.
        await asyncio.sleep(self._wait(_Attempt(self._failures)))

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll_s)


class _Attempt:
    """The minimal retry state tenacity's wait strategies read."""

    def __init__(self, number: int) -> None:
        self.attempt_number = number
