"""Uplink: sends stored records and photos to the platform until acknowledged.

Records go first (they are the evidence and are small), oldest first, in
batches; photos follow, oldest first, one request each. Nothing is removed from
the store: a record is marked uploaded only when the platform answers
``stored`` or ``duplicate`` for it, so a lost answer just means the same batch
is sent again, which the platform treats idempotently (docs/protocol.md). There
is no retry limit: after any failure the uploader waits (exponential back-off
with jitter) and tries again, for as long as it takes.

- A record answered ``refused`` (its lane is not enrolled yet) stays pending;
  the lane's records are held back for ``refused_retry_s`` and then sent again
  in order.
- A batch answered 413 is split in two and each half sent; a single record
  answered 413 is marked rejected.
- A batch answered 503 with ``Retry-After`` (the platform is busy) is sent
  again after that many seconds (times 1 to 1.5, so stations spread out),
  without growing the back-off.
- A photo is done when the platform answers 200 or 201 for it; any other answer
  but a permanent refusal (400, 413, 415) leaves it pending.
"""

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime

import httpx
from tenacity import wait_random_exponential

from zhichao.errors import UploadError
from zhichao.station.store import REJECTED, UPLOADED, StationStore
from zhichao.timeutil import parse_instant, utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
PHOTOS_PER_ROUND = 20
CLOCK_SKEW_WARN_S = 60.0
MAX_RETRY_AFTER_S = 600.0

# on_clock_skew(skew_s, skewed): called when the station clock goes off the
# platform's by more than the limit (skewed=True) and when it is back.
ClockSkewHook = Callable[[float, bool], object]


class Uploader:
    """Drains a StationStore into the platform's ingest API."""

    def __init__(
        self,
        store: StationStore,
        platform_url: str,
        *,
        batch_size: int = BATCH_SIZE,
        timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        max_backoff_s: float = 60.0,
        refused_retry_s: float = 60.0,
        idle_poll_s: float = 2.0,
        clock_skew_limit_s: float = CLOCK_SKEW_WARN_S,
        on_clock_skew: ClockSkewHook | None = None,
    ) -> None:
        self.store = store
        self.base = platform_url.rstrip("/")
        self.batch_size = batch_size
        self._timeout = timeout_s
        self._idle_poll_s = idle_poll_s
        self._refused_retry_s = refused_retry_s
        self._skew_limit_s = clock_skew_limit_s
        self._on_clock_skew = on_clock_skew
        self._wait = wait_random_exponential(
            multiplier=backoff_initial_s, max=max_backoff_s
        )
        self._wake = asyncio.Event()
        self._failures = 0
        self._parked: dict[str, float] = {}  # lane_no -> monotonic time to retry
        self._hook_tasks: set[asyncio.Task] = set()
        self.clock_skew_s: float | None = None
        self.stats = {
            "records_sent": 0,
            "photos_sent": 0,
            "failures": 0,
            "refused": 0,
            "split_batches": 0,
            "busy": 0,
        }

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
                except Exception as err:  # a bug must not stop the uplink
                    logger.exception("uploader round failed")
                    await self._back_off(UploadError(repr(err)))
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

    # -- records ----------------------------------------------------------

    def _parked_lanes(self) -> frozenset[str]:
        now = time.monotonic()
        self._parked = {lane: t for lane, t in self._parked.items() if t > now}
        return frozenset(self._parked)

    async def _send_records(self, client: httpx.AsyncClient) -> bool:
        batch = self.store.pending_records(self.batch_size, self._parked_lanes())
        if not batch:
            return False
        await self._post_batch(client, batch)
        return True

    async def _post_batch(self, client: httpx.AsyncClient, batch: list[dict]) -> None:
        ids = [r["record_id"] for r in batch]
        try:
            reply = await client.post(
                f"{self.base}/api/v1/records", json={"records": batch}
            )
        except httpx.HTTPError as err:
            self.store.note_attempt(ids, str(err) or type(err).__name__)
            raise UploadError(f"record upload failed: {err!r}") from err

        if reply.status_code == 413:
            await self._split(client, batch, reply)
            return
        if reply.status_code == 503 and (wait := _retry_after(reply)) is not None:
            self.store.note_attempt(ids, f"platform busy; retry in {wait:g} s")
            raise UploadError("platform busy", retry_after_s=wait)
        if reply.status_code != 200:
            self.store.note_attempt(ids, f"HTTP {reply.status_code}")
            raise UploadError(
                f"platform answered {reply.status_code} to a record batch: "
                f"{reply.text[:300]}"
            )
        try:
            body = reply.json()
            results = list(body.get("results", []))
        except (ValueError, AttributeError, TypeError) as err:
            self.store.note_attempt(ids, "unreadable acknowledgement")
            raise UploadError(f"unreadable acknowledgement: {err}") from err

        counts = self.store.apply_acknowledgement(results)
        self._park_refused(batch, results)
        self._check_clock(body.get("server_time"))
        self.stats["records_sent"] += len(batch)
        logger.info("uploaded %d records: %s", len(batch), counts)

    async def _split(self, client, batch: list[dict], reply: httpx.Response) -> None:
        if len(batch) == 1:
            error = f"HTTP 413: {reply.text[:200]}"
            logger.error("record %s too large to upload", batch[0]["record_id"])
            self.store.apply_acknowledgement(
                [
                    {
                        "record_id": batch[0]["record_id"],
                        "status": "rejected",
                        "error": error,
                    }
                ]
            )
            return
        self.stats["split_batches"] += 1
        half = len(batch) // 2
        logger.warning("batch of %d records too large; sending halves", len(batch))
        await self._post_batch(client, batch[:half])
        await self._post_batch(client, batch[half:])

    def _park_refused(self, batch: list[dict], results: list[dict]) -> None:
        lanes = {r["record_id"]: r["lane_no"] for r in batch}
        refused = {
            lanes[r.get("record_id")]
            for r in results
            if r.get("status") == "refused" and r.get("record_id") in lanes
        }
        for lane in refused:
            if lane not in self._parked:
                logger.error(
                    "platform refused lane %s (not enrolled?); retrying in %.0f s",
                    lane,
                    self._refused_retry_s,
                )
            self.stats["refused"] += 1
            self._parked[lane] = time.monotonic() + self._refused_retry_s

    # -- photos -----------------------------------------------------------

    async def _send_photos(self, client: httpx.AsyncClient) -> bool:
        photos = self.store.pending_photos(PHOTOS_PER_ROUND)
        for photo in photos:
            try:
                data = photo.path.read_bytes()
            except FileNotFoundError:
                logger.error("photo %s is missing from the store", photo.sha256)
                self.store.mark_photo(photo.sha256, REJECTED, "file missing")
                continue
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

    # -- clock ------------------------------------------------------------

    def _check_clock(self, server_time: str | None) -> None:
        if not server_time:
            return
        try:
            theirs: datetime = parse_instant(server_time)
        except ValueError:
            return
        skew = (utcnow() - theirs).total_seconds()
        previous, self.clock_skew_s = self.clock_skew_s, skew
        was_off = previous is not None and abs(previous) > self._skew_limit_s
        is_off = abs(skew) > self._skew_limit_s
        if is_off and not was_off:
            logger.warning("station clock is %.1f s off the platform's", skew)
            self._call_hook(skew, True)
        elif was_off and not is_off:
            logger.info("station clock agrees with the platform's again")
            self._call_hook(skew, False)

    def _call_hook(self, skew: float, skewed: bool) -> None:
        if self._on_clock_skew is None:
            return
        result = self._on_clock_skew(skew, skewed)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)

    # -- waiting ----------------------------------------------------------

    async def _back_off(self, err: UploadError) -> None:
        if err.retry_after_s is not None:
            # the platform is up and said when to come back: no growing back-off
            self.stats["busy"] += 1
            logger.info("platform busy; next upload in %.1f s", err.retry_after_s)
            await asyncio.sleep(err.retry_after_s * random.uniform(1.0, 1.5))
            return
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


def _retry_after(reply: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After: <seconds>`` header, capped at ten minutes."""
    try:
        seconds = float(reply.headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class _Attempt:
    """The minimal retry state tenacity's wait strategies read."""

    def __init__(self, number: int) -> None:
        self.attempt_number = number
