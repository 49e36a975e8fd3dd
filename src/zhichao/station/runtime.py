"""A running station: devices feed lanes, lanes' actions reach store, screen, barrier.

The order of a decision is the lane's: the record is stored durably first; only
then do the screen and the barrier act. If the store refuses the record, the
screen says so and the barrier stays shut.

Besides passes, each lane records events in its chain (docs/protocol.md,
"Events"): station started, configuration changed, a device lost and
recovered, a photo pruned before the platform had it, the station clock off
the platform's, the store full. Every event goes through the lane
(``RecordEvent``), so the lane stays the only allocator of its seq numbers.
"""

import asyncio
import contextlib
import functools
import hashlib
import logging
import time

from zhichao import __version__
from zhichao.chain import StationKey
from zhichao.errors import DeviceError, StoreError, StoreFullError
from zhichao.lane.clock import SystemClock
from zhichao.lane.events import (
    AxleEvent,
    DeckEvent,
    OpenBarrier,
    OperatorEvent,
    PlateEvent,
    RecordEvent,
    ShowText,
    StoreFailed,
    StoreRecord,
    Tick,
    WeightEvent,
)
from zhichao.lane.machine import Lane, LaneConfig
from zhichao.lane.stability import StabilityConfig
from zhichao.protocols.readings import (
    AxleReading,
    DeckReading,
    PlateRead,
    WeightReading,
)
from zhichao.protocols.registry import build_scale_protocol
from zhichao.station.config import LaneSettings, StationSettings, device_options
from zhichao.station.health import DeviceHealth
from zhichao.station.heartbeat import HeartbeatSender, build_heartbeat
from zhichao.station.keys import load_lane_keys
from zhichao.station.register import LaneLookups, RegisterSync, VehicleRegister
from zhichao.station.store import UPLOADED, StationStore
from zhichao.station.uploader import Uploader
from zhichao.tasks import cancel_and_wait
from zhichao.transports.axle_pulses import open_axle_counter
from zhichao.transports.barriers import open_barrier
from zhichao.transports.camera_listener import CameraListener
from zhichao.transports.cameras import open_camera
from zhichao.transports.displays import open_display
from zhichao.transports.position import open_position_sensor
from zhichao.transports.stream_reader import FrameReader

logger = logging.getLogger(__name__)

TICK_S = 0.2
HEALTH_EVERY_S = 1.0
HOUSEKEEPING_S = 5.0
STORE_FAULT_TEXT = ("系统故障", "请稍候", "", "")
STORE_FULL_TEXT = ("存储空间不足", "暂停称重", "请联系管理员", "")
CONFIG_HASH_KEY = "config_sha256"
RECALL_RECORDS = 500  # newest records the lane remembers at start


class LaneRuntime:
    """One lane: its devices, its state machine, and the order of its actions."""

    def __init__(
        self,
        station: StationSettings,
        settings: LaneSettings,
        store: StationStore,
        uploader: Uploader,
        clock=None,
        key: StationKey | None = None,
        lookups: LaneLookups | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.uploader = uploader
        self.key = key
        self.clock = clock or SystemClock()
        # the vehicle register's lookups; without them the lane's
        # axle_mismatch and unknown_pair checks are off
        self.lookups = lookups
        self.lane = Lane(
            _lane_config(station, settings),
            self.clock,
            next_seq=store.last_seq(settings.lane_no) + 1,
            known_pairs=lookups.known_pairs if lookups else None,
            known_axles=lookups.known_axles if lookups else None,
        )
        recent = store.recent_records(settings.lane_no, RECALL_RECORDS)
        self.lane.recall([r.record for r in reversed(recent)])  # exit checks
        self.display = _open(settings, "display", open_display)
        self.barrier = _open(settings, "barrier", open_barrier)
        # inputs other than the scale: started and stopped with the lane
        self._inputs = {}
        axles = _open(settings, "axle", open_axle_counter, self.on_axles)
        if axles is not None:
            self._inputs["axle identifier"] = axles
        deck = _open(settings, "position", open_position_sensor, self.on_deck)
        if deck is not None:
            self._inputs["position sensors"] = deck
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.scale_reader: FrameReader | None = None
        self.stats = {"records": 0, "store_failures": 0, "events": 0}
        self.last_record: dict | None = None
        self.last_event: dict | None = None
        self.store_full = False
        self.screen_lines: tuple[str, ...] = ()  # what the lane last showed
        self.photos_added = asyncio.Event()
        self.devices = _devices(settings, self.clock.now())
        self._started_at = time.monotonic()
        self._last_weight_at: float | None = None

    @property
    def lane_no(self) -> str:
        return self.settings.lane_no

    @property
    def name(self) -> str:
        return f"lane {self.settings.lane_no}"

    async def start(self) -> None:
        scale = build_scale_protocol(
            self.settings.scale.protocol, self.settings.scale.options
        )
        self.scale_reader = FrameReader(
            self.settings.scale.port,
            scale.new_framer,
            functools.partial(scale.decode, unit=self.settings.scale.unit),
            self.on_weight,
            baudrate=self.settings.scale.baudrate,
            lane=self.settings.lane_no,
            device="scale",
            poll_request=scale.poll_request,
            poll_interval_s=scale.poll_interval_s,
        )
        self._tasks.append(asyncio.create_task(self.scale_reader.run()))
        for device in self._inputs.values():
            device.start()
        self._started_at = time.monotonic()
        self._tasks.append(asyncio.create_task(self._tick()))
        self._tasks.append(asyncio.create_task(self._watch_devices()))
        await self.dispatch_idle_screen()

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks, what=f"lane {self.settings.lane_no}")
        self._tasks.clear()
        for device in self._inputs.values():
            with contextlib.suppress(Exception):
                await device.stop()
        if self.display:
            await self.display.close()
        if self.barrier:
            await self.barrier.aclose()

    # -- inputs -----------------------------------------------------------

    async def on_weight(self, reading: WeightReading) -> None:
        self._last_weight_at = time.monotonic()
        await self.dispatch(WeightEvent(reading))

    async def on_axles(self, reading: AxleReading) -> None:
        await self.dispatch(AxleEvent(reading))

    async def on_deck(self, reading: DeckReading) -> None:
        await self.dispatch(DeckEvent(reading))

    async def on_plate(self, read: PlateRead, position: str) -> None:
        await self._device_seen(f"{position} camera", True)
        if self.lookups is not None:
            self.lookups.note_read(read.plate, read.color)
        await self.dispatch(PlateEvent(read, position))

    async def record_event(
        self, event_type: str, detail: dict | None = None
    ) -> dict | None:
        """Record an event in the lane's chain; the stored record, or None."""
        async with self._lock:
            before = self.last_event
            await self._execute(self.lane.handle(RecordEvent(event_type, detail or {})))
            return self.last_event if self.last_event is not before else None

    async def operator_action(self, event: OperatorEvent) -> tuple[dict | None, str]:
        """Do an operator's action: (its stored event record, "") or (None, why)."""
        async with self._lock:
            refusal = self.lane.operator_refusal(event)
            if refusal is not None:
                return None, refusal
            if self.lookups is not None:
                self.lookups.note_read(event.plate, event.plate_color)
            before = self.last_event
            await self._execute(self.lane.handle(event))
            if self.last_event is before:
                return None, "not_stored"
            return self.last_event, ""

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self.dispatch(Tick())

    async def dispatch_idle_screen(self) -> None:
        await self._show(STORE_FULL_TEXT if self.store_full else self.lane.idle_text())

    # -- device health ----------------------------------------------------

    async def _watch_devices(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            await self.check_devices()

    async def check_devices(self) -> None:
        """The scale lost or silent too long; other inputs lost."""
        now = time.monotonic()
        silence = self.settings.scale_silence_s
        scale, heard = self.scale_reader, self._last_weight_at
        if heard is not None and now - heard <= silence and scale.connected:
            await self._device_seen("scale", True)
        elif now - self._started_at > silence:
            detail = (
                "not connected"
                if not scale.connected
                else f"no frame for {silence:g} s"
            )
            await self._device_seen("scale", False, detail)
        for name, device in self._inputs.items():
            connected = getattr(device, "connected", None)
            if connected:
                await self._device_seen(name, True)
            elif connected is False and now - self._started_at > silence:
                await self._device_seen(name, False, "not connected")

    async def _device_seen(self, name: str, ok: bool, detail: str = "") -> None:
        health = self.devices.get(name)
        if health is None:
            return
        change = health.report(ok, self.clock.now(), detail)
        if change is not None:
            await self.record_event(change.event_type, change.detail)

    async def dispatch(self, event) -> None:
        async with self._lock:
            await self._execute(self.lane.handle(event))

    # -- actions ----------------------------------------------------------

    async def _execute(self, actions: list) -> None:
        pictures = ()
        for action in actions:
            if isinstance(action, StoreRecord):
                stored = self._store(action)
                if stored is not True:
                    await self._store_failed(action, full=stored == "full")
                    return
                pictures = action.pictures
            elif isinstance(action, ShowText):
                await self._show(action.lines)
            elif isinstance(action, OpenBarrier):
                self._open_barrier()
        for picture in pictures:
            try:
                self.store.add_photo(picture.data, self.lane_no)
            except StoreError as err:
                logger.error("%s: photo not kept: %s", self.name, err)
        if pictures:
            self.photos_added.set()
            self.uploader.wake()

    async def _store_failed(self, action: StoreRecord, full: bool) -> None:
        """The barrier stays shut; the lane gets its seq back and decides again."""
        is_pass = action.record.get("kind", "pass") == "pass"
        if is_pass:
            await self._show(STORE_FULL_TEXT if full else STORE_FAULT_TEXT)
        for follow in self.lane.handle(StoreFailed(action.record["record_id"])):
            if isinstance(follow, ShowText) and not full:
                await self._show(follow.lines)
        if full and is_pass and not self.store_full:
            self.store_full = True
            await self._show(STORE_FULL_TEXT)
            free = self._free_bytes()
            await self._execute(
                self.lane.handle(
                    RecordEvent(
                        "store_full",
                        {
                            "disk_free_bytes": free,
                            "min_free_bytes": self.store.min_free_bytes,
                            "refused_record_id": action.record["record_id"],
                        },
                    )
                )
            )

    def _free_bytes(self) -> int | None:
        try:
            return self.store.disk_free_bytes()
        except OSError:
            return None

    def _store(self, action: StoreRecord) -> bool | str:
        try:
            record = self.store.add_record(action.record, self.key)
        except StoreFullError as err:
            self.stats["store_failures"] += 1
            logger.error("%s: store full, no new passes: %s", self.name, err)
            return "full"
        except StoreError as err:
            self.stats["store_failures"] += 1
            logger.error(
                "%s: record not stored, barrier stays shut: %s", self.name, err
            )
            return False
        if record.get("kind") == "event":
            self.stats["events"] += 1
            self.last_event = record
            logger.info(
                "%s: event %s %s", self.name, record["record_id"], record["event_type"]
            )
            self.uploader.wake()
            return True
        if self.store_full:
            logger.info("%s: store has room again", self.name)
            self.store_full = False
        self.stats["records"] += 1
        self.last_record = record
        logger.info(
            "%s: stored %s (%s, %s kg, %s)",
            self.name,
            record["record_id"],
            record.get("front_plate"),
            record.get("gross_kg"),
            record.get("verdict"),
        )
        self.uploader.wake()
        return True

    async def _show(self, lines) -> None:
        self.screen_lines = tuple(lines)
        if not self.display:
            return
        try:
            await asyncio.wait_for(self.display.show(tuple(lines)), timeout=1.0)
        except (DeviceError, TimeoutError) as err:
            logger.warning("%s: screen not updated: %s", self.name, err)
            self._note_device("display", False, str(err) or type(err).__name__)
        else:
            self._note_device("display", True)

    def _note_device(self, name: str, ok: bool, detail: str = "") -> None:
        """A device state seen while the lane's lock is held: record it later."""
        health = self.devices.get(name)
        if health is None:
            return
        change = health.report(ok, self.clock.now(), detail)
        if change is not None:
            task = asyncio.create_task(
                self.record_event(change.event_type, change.detail)
            )
            self._tasks.append(task)
            task.add_done_callback(
                lambda t: self._tasks.remove(t) if t in self._tasks else None
            )

    def _open_barrier(self) -> None:
        if not self.barrier:
            logger.warning("%s: no barrier configured; nothing to open", self.name)
            return
        task = asyncio.create_task(self._pulse())
        self._tasks.append(task)
        task.add_done_callback(
            lambda t: self._tasks.remove(t) if t in self._tasks else None
        )

    async def _pulse(self) -> None:
        try:
            await self.barrier.open()
        except DeviceError as err:
            logger.error("%s: barrier did not open: %s", self.name, err)
            self._note_device("barrier", False, str(err))
        else:
            self._note_device("barrier", True)


class Station:
    """All lanes of one station, their camera listener, store and uplink.

    Every lane must have its signing key (``zhichao station init``); a lane
    without one is a ConfigError here, before anything starts.
    """

    def __init__(
        self,
        settings: StationSettings,
        clock=None,
        *,
        config_bytes: bytes | None = None,
    ) -> None:
        self.settings = settings
        self.keys = load_lane_keys(settings)
        self.config_sha256 = hashlib.sha256(
            config_bytes
            if config_bytes is not None
            else settings.model_dump_json().encode()
        ).hexdigest()
        data_dir = settings.data_dir
        self.store = StationStore(
            data_dir / f"station-{settings.station_code}.db",
            min_free_bytes=settings.min_free_bytes,
        )
        up = settings.upload
        self.uploader = Uploader(
            self.store,
            settings.platform_url,
            batch_size=up.batch_size,
            timeout_s=up.timeout_s,
            backoff_initial_s=up.backoff_initial_s,
            max_backoff_s=up.backoff_max_s,
            refused_retry_s=up.refused_retry_s,
            idle_poll_s=up.idle_poll_s,
            clock_skew_limit_s=settings.clock_skew_limit_s,
            on_clock_skew=self._on_clock_skew,
        )
        # the last register kept, before any lane decides; refreshed by the sync
        self.register = VehicleRegister(self.store)
        first = settings.lanes[0].lane_no
        self.register_sync = RegisterSync(
            self.register,
            settings.platform_url,
            settings.station_code,
            first,
            self.keys[first],
            refresh_s=settings.register_refresh_s,
            timeout_s=up.timeout_s,
            backoff_initial_s=up.backoff_initial_s,
            backoff_max_s=up.backoff_max_s,
        )
        self.lanes = [
            LaneRuntime(
                settings,
                lane,
                self.store,
                self.uploader,
                clock,
                self.keys[lane.lane_no],
                self.register.for_lane(),
            )
            for lane in settings.lanes
        ]
        self.cameras = CameraListener(
            host=settings.camera_listen.host, port=settings.camera_listen.port
        )
        self._routes = {}
        self.camera_sources = []
        for runtime in self.lanes:
            for position, camera_id, options in runtime.settings.cameras.positions():
                self._routes[camera_id] = (runtime, position)
                self.camera_sources.append(
                    open_camera(
                        camera_id, options, self._on_plate, listener=self.cameras
                    )
                )
        self.heartbeats = HeartbeatSender(
            settings.platform_url,
            self.heartbeat,
            interval_s=settings.heartbeat_s,
            timeout_s=up.timeout_s,
            key=self.keys[first],
            lane_no=first,
        )
        self._tasks: list[asyncio.Task] = []
        self.operator_page = None  # zhichao.station.operator, when configured

    async def _on_plate(self, camera_id: str, read: PlateRead) -> None:
        route = self._routes.get(camera_id)
        if route is None:
            logger.warning(
                "plate %s from unknown camera %r ignored", read.plate, camera_id
            )
            return
        runtime, position = route
        await runtime.on_plate(read, position)

    async def start(self) -> None:
        await self.cameras.start()
        for source in self.camera_sources:
            await source.start()
        for runtime in self.lanes:
            await runtime.start()
        await self._record_start()
        if self.settings.operator is not None:
            from zhichao.station.operator import OperatorPage

            self.operator_page = OperatorPage(self, self.settings.operator)
            await self.operator_page.start()
        self._tasks = [
            asyncio.create_task(self.uploader.run()),
            asyncio.create_task(self.heartbeats.run()),
            asyncio.create_task(self.register_sync.run()),
            asyncio.create_task(self._housekeeping()),
        ]
        logger.info(
            "station %s running %d lane(s); cameras post to port %s",
            self.settings.station_code,
            len(self.lanes),
            self.cameras.port,
        )

    async def stop(self) -> None:
        if self.operator_page is not None:
            await self.operator_page.stop()
        await cancel_and_wait(self._tasks, what="station")
        self._tasks.clear()
        for runtime in self.lanes:
            await runtime.stop()
        for source in self.camera_sources:
            await source.stop()
        await self.cameras.stop()
        self.store.close()

    # -- events -----------------------------------------------------------

    async def _record_start(self) -> None:
        """``station_started`` on every lane; ``config_changed`` when it did."""
        previous = self.store.get_meta(CONFIG_HASH_KEY)
        for runtime in self.lanes:
            await runtime.record_event(
                "station_started",
                {
                    "software_version": __version__,
                    "config_sha256": self.config_sha256,
                },
            )
            if previous is not None and previous != self.config_sha256:
                await runtime.record_event(
                    "config_changed",
                    {"previous_sha256": previous, "config_sha256": self.config_sha256},
                )
        self.store.set_meta(CONFIG_HASH_KEY, self.config_sha256)

    async def _on_clock_skew(self, skew_s: float, skewed: bool) -> None:
        detail = {
            "skew_s": round(skew_s, 3),
            "limit_s": self.settings.clock_skew_limit_s,
            "state": "off" if skewed else "ok",
        }
        for runtime in self.lanes:
            await runtime.record_event("clock_skew", detail)

    async def _housekeeping(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._photos_added(), HOUSEKEEPING_S)
            try:
                await self.prune_photos()
                await self._check_room()
            except StoreError as err:
                logger.error("housekeeping failed: %s", err)

    async def _photos_added(self) -> None:
        waits = [asyncio.create_task(r.photos_added.wait()) for r in self.lanes]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        for runtime in self.lanes:
            runtime.photos_added.clear()

    async def prune_photos(self) -> list:
        """Keep photos within the quota; record any the platform did not have."""
        pruned = self.store.prune_photos(self.settings.photo_quota_bytes)
        uploaded = [p for p in pruned if p.status == UPLOADED]
        if uploaded:
            logger.info("pruned %d uploaded photos for the quota", len(uploaded))
        lost: dict[str, list] = {}
        for photo in pruned:
            if photo.status != UPLOADED:
                lost.setdefault(photo.lane_no or self.lanes[0].lane_no, []).append(
                    photo
                )
        by_lane = {runtime.lane_no: runtime for runtime in self.lanes}
        for lane_no, photos in lost.items():
            runtime = by_lane.get(lane_no, self.lanes[0])
            logger.error(
                "%s: quota forced pruning of %d photos the platform has not got",
                runtime.name,
                len(photos),
            )
            await runtime.record_event(
                "photo_pruned",
                {
                    "photos": [
                        {"sha256": p.sha256, "size": p.size, "status": p.status}
                        for p in photos
                    ],
                    "quota_bytes": self.settings.photo_quota_bytes,
                },
            )
        return pruned

    async def _check_room(self) -> None:
        """Clear the full-store state once the disk has room again."""
        if not any(r.store_full for r in self.lanes):
            return
        if self.store.disk_free_bytes() < self.settings.min_free_bytes:
            return
        for runtime in self.lanes:
            if runtime.store_full and runtime.lane.state.value == "idle":
                runtime.store_full = False
                logger.info("%s: store has room again", runtime.name)
                await runtime.dispatch_idle_screen()

    def heartbeat(self) -> dict:
        return build_heartbeat(self.settings.station_code, self.store, self.lanes)


def _devices(lane: LaneSettings, now) -> dict[str, DeviceHealth]:
    devices = [DeviceHealth("scale", "scale", now)]
    if lane.axle:
        devices.append(DeviceHealth("axle identifier", "axle_identifier", now))
    if lane.position:
        devices.append(DeviceHealth("position sensors", "position_sensors", now))
    for position, _, _ in lane.cameras.positions():
        devices.append(DeviceHealth(f"{position} camera", "camera", now))
    if lane.display:
        devices.append(DeviceHealth("display", "display", now))
    if lane.barrier:
        devices.append(DeviceHealth("barrier", "barrier", now))
    return {d.name: d for d in devices}


def _lane_config(station: StationSettings, lane: LaneSettings) -> LaneConfig:
    s, c = lane.stability, lane.checks
    return LaneConfig(
        station_code=station.station_code,
        lane_no=lane.lane_no,
        stability=StabilityConfig(
            division_kg=s.division_kg,
            window_s=s.window_s,
            band_divisions=s.band_divisions,
            slope_divisions_per_s=s.slope_divisions_per_s,
            timeout_s=s.timeout_s,
        ),
        occupied_kg=lane.occupied_kg,
        empty_kg=lane.empty_kg,
        tolerance_kg=lane.tolerance_kg,
        camera_skew_s=lane.camera_skew_s,
        position_sensors=lane.position is not None,
        merge_window_s=c.merge_window_s,
        weight_jump_kg=c.weight_jump_kg or None,
        quick_reweigh_s=c.quick_reweigh_s or None,
        exit_window_s=c.exit_window_s or None,
        zero_band_divisions=c.zero_band_divisions if c.zero_check else None,
        zero_timeout_s=c.zero_timeout_s,
    )


def _open(lane: LaneSettings, device: str, factory, *callback):
    """The lane's ``device`` built by its factory, or None if not configured."""
    options = device_options(lane, device)
    if options is None:
        return None
    return factory(options, *callback)
