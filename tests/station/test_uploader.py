"""The uploader against a scripted HTTP platform: refused lanes wait and come
back in order, a 413 batch is split, photos are done only when confirmed."""

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from aiohttp import web

from zhichao.chain import StationKey
from zhichao.station.store import StationStore
from zhichao.station.uploader import Uploader
from zhichao.timeutil import iso_utc, utcnow


def _record(seq: int, lane: str = "01") -> dict:
    return {
        "schema_version": 1,
        "record_id": f"1405250001-{lane}-20260617T220630Z-{seq:06d}",
        "kind": "pass",
        "station_code": "1405250001",
        "lane_no": lane,
        "seq": seq,
        "prev_hash": None,
        "signature": None,
        "gross_kg": 30000 + seq,
    }


class ScriptedPlatform:
    """A real HTTP server whose answers the test decides."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.photo_puts: list[str] = []
        self.heartbeats: list[dict] = []
        self.refuse_lanes: set[str] = set()
        self.max_records = 500
        self.photo_status = 201
        self.server_time_offset_s = 0.0
        self.busy_answers = 0  # this many batches answered 503 busy first
        self.retry_after = "0.1"
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/v1/records", self._records)
        app.router.add_put("/api/v1/photos/{sha}", self._photo)
        app.router.add_post("/api/v1/heartbeats", self._heartbeat)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _records(self, request):
        records = (await request.json())["records"]
        if self.busy_answers:
            self.busy_answers -= 1
            return web.json_response(
                {"error": {"code": "busy", "message": "busy"}},
                status=503,
                headers={"Retry-After": self.retry_after},
            )
        if len(records) > self.max_records:
            return web.json_response(
                {"error": {"code": "too_many_records", "message": "too many"}},
                status=413,
            )
        self.batches.append([r["record_id"] for r in records])
        results = []
        for r in records:
            if r["lane_no"] in self.refuse_lanes:
                results.append(
                    {
                        "record_id": r["record_id"],
                        "status": "refused",
                        "error": f"lane 1405250001-{r['lane_no']} is not enrolled",
                    }
                )
            else:
                results.append({"record_id": r["record_id"], "status": "stored"})
        now = utcnow() + timedelta(seconds=self.server_time_offset_s)
        return web.json_response({"server_time": iso_utc(now), "results": results})

    async def _photo(self, request):
        await request.read()
        self.photo_puts.append(request.match_info["sha"])
        return web.Response(status=self.photo_status)

    async def _heartbeat(self, request):
        self.heartbeats.append(await request.json())
        return web.json_response({"server_time": iso_utc(utcnow())})


@pytest.fixture
async def platform():
    scripted = ScriptedPlatform()
    url = await scripted.start()
    yield scripted, url
    await scripted.stop()


@pytest.fixture
def store(tmp_path):
    s = StationStore(tmp_path / "s.db")
    yield s
    s.close()


async def test_a_refused_lane_waits_and_is_sent_again_in_order(platform, store):
    scripted, url = platform
    key = StationKey.generate()
    for seq in (1, 2, 3):
        store.add_record(_record(seq, "01"), key)
        store.add_record(_record(seq, "02"), key)
    scripted.refuse_lanes = {"01"}
    up = Uploader(store, url, refused_retry_s=0.5)

    async with httpx.AsyncClient() as client:
        assert await up.upload_once(client)
        assert store.queue_depth()["records"] == 3  # lane 01 kept
        assert await up.upload_once(client) is False  # lane 01 waits
        scripted.refuse_lanes = set()
        await asyncio.sleep(0.6)
        assert await up.upload_once(client)

    assert store.queue_depth()["records"] == 0
    last = scripted.batches[-1]
    assert last == [_record(s, "01")["record_id"] for s in (1, 2, 3)]
    assert up.stats["refused"] == 1


async def test_a_batch_answered_413_is_split_until_it_fits(platform, store):
    scripted, url = platform
    for seq in range(1, 8):
        store.add_record(_record(seq))
    scripted.max_records = 2
    up = Uploader(store, url, batch_size=7)

    async with httpx.AsyncClient() as client:
        await up.upload_once(client)

    sent = [rid for batch in scripted.batches for rid in batch]
    assert sent == [_record(s)["record_id"] for s in range(1, 8)]
    assert all(len(batch) <= 2 for batch in scripted.batches)
    assert store.queue_depth()["records"] == 0
    assert up.stats["split_batches"] >= 2


async def test_a_photo_is_done_only_when_the_platform_confirms(platform, store):
    scripted, url = platform
    sha = store.add_photo(b"\xff\xd8photo\xff\xd9", "01")
    up = Uploader(store, url)
    scripted.photo_status = 503

    async with httpx.AsyncClient() as client:
        with pytest.raises(Exception, match="503"):
            await up.upload_once(client)
        assert store.photo_status(sha) == "pending"
        scripted.photo_status = 200
        await up.upload_once(client)

    assert store.photo_status(sha) == "uploaded"
    assert scripted.photo_puts == [sha, sha]


async def test_clock_skew_is_reported_once_when_it_starts_and_ends(platform, store):
    scripted, url = platform
    seen = []
    up = Uploader(store, url, on_clock_skew=lambda s, off: seen.append((s, off)))
    async with httpx.AsyncClient() as client:
        for seq, offset in enumerate((0, -300, -300, 0), start=1):
            scripted.server_time_offset_s = offset
            store.add_record(_record(seq))
            await up.upload_once(client)

    assert [off for _, off in seen] == [True, False]
    assert seen[0][0] == pytest.approx(300, abs=5)


async def test_a_busy_platform_is_retried_when_it_says_without_back_off(
    platform, store
):
    scripted, url = platform
    scripted.busy_answers = 3
    key = StationKey.generate()
    for seq in (1, 2, 3):
        store.add_record(_record(seq), key)
    uploader = Uploader(
        store, url, batch_size=2, backoff_initial_s=30.0, idle_poll_s=0.05
    )

    task = asyncio.create_task(uploader.run())
    try:
        async with asyncio.timeout(20):
            while store.queue_depth()["records"] > 0:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()

    # a 30 s exponential back-off would not have finished within the timeout
    assert uploader.stats["busy"] == 3
    assert uploader.stats["failures"] == 0
    assert scripted.batches == [
        [_record(1)["record_id"], _record(2)["record_id"]],
        [_record(3)["record_id"]],
    ]


async def test_a_503_without_retry_after_is_an_ordinary_failure(platform, store):
    scripted, url = platform
    scripted.busy_answers = 1
    scripted.retry_after = "soon"
    store.add_record(_record(1), StationKey.generate())
    uploader = Uploader(store, url, backoff_initial_s=0.01, idle_poll_s=0.05)

    task = asyncio.create_task(uploader.run())
    try:
        async with asyncio.timeout(20):
            while store.queue_depth()["records"] > 0:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()

    assert uploader.stats["failures"] == 1
    assert uploader.stats["busy"] == 0


def test_pending_records_survive_as_json(store):
    store.add_record(_record(1))
    assert json.loads(json.dumps(store.pending_records()))[0]["seq"] == 1
