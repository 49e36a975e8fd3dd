"""A running station: devices feed lanes, lanes' actions reach store, screen, barrier.

The order of a decision is the lane's: the record is stored durably first; only
then do the screen and the barrier act. If the store refuses the record, the
screen says so and the barrier stays shut.
"""

import asyncio
import contextlib
import functools
import logging

from zhichao.errors import DeviceError, StoreError
from zhichao.lane.clock import SystemClock
from zhichao.lane.events import (
    AxleEvent,
    OpenBarrier,
    PlateEvent,
    ShowText,
    StoreFailed,
    StoreRecord,
    Tick,
    WeightEvent,
)
from zhichao.lane.machine import Lane, LaneConfig
from zhichao.lane.stability import StabilityConfig
from zhichao.protocols.axle_line import AxleLineFramer, decode_axle_line
from zhichao.protocols.hikvision_anpr import parse_anpr_post
from zhichao.protocols.readings import AxleReading, PlateRead, WeightReading
from zhichao.protocols.registry import get_scale_protocol
from zhichao.station.config import LaneSettings, StationSettings
from zhichao.station.store import StationStore
from zhichao.station.uploader import Uploader
from zhichao.transports.camera_listener import CameraListener
from zhichao.transports.display import TcpDisplay
from zhichao.transports.relay import ModbusRelay
from zhichao.transports.stream_reader import FrameReader

logger = logging.getLogger(__name__)

TICK_S = 0.2
STORE_FAULT_TEXT = ("系统故障", "请稍候", "", "")


class LaneRuntime:
    """One lane: its devices, its state machine, and the order of its actions."""

    def __init__(
        self,
        station: StationSettings,
        settings: LaneSettings,
        store: StationStore,
        uploader: Uploader,
        clock=None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.uploader = uploader
        self.lane = Lane(
            _lane_config(station, settings),
            clock or SystemClock(),
            next_seq=store.last_seq(settings.lane_no) + 1,
        )
        self.display = _make_display(settings)
        self.barrier = _make_barrier(settings)
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.readers: list[FrameReader] = []
        self.stats = {"records": 0, "store_failures": 0}
        self.last_record: dict | None = None

    @property
    def name(self) -> str:
        return f"lane {self.settings.lane_no}"

    async def start(self) -> None:
        scale = get_scale_protocol(self.settings.scale.protocol)
        unit = self.settings.scale.unit
        self.readers.append(
            FrameReader(
                self.settings.scale.port,
                scale.new_framer,
                functools.partial(scale.decode, unit=unit),
                self.on_weight,
                baudrate=self.settings.scale.baudrate,
                lane=self.settings.lane_no,
                device="scale",
            )
        )
        if self.settings.axle:
            self.readers.append(
                FrameReader(
                    f"socket://{self.settings.axle.host}:{self.settings.axle.port}",
                    AxleLineFramer,
                    decode_axle_line,
                    self.on_axles,
                    lane=self.settings.lane_no,
                    device="axle identifier",
                )
            )
        for reader in self.readers:
            self._tasks.append(asyncio.create_task(reader.run()))
        self._tasks.append(asyncio.create_task(self._tick()))
        await self.dispatch_idle_screen()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.display:
            await self.display.close()
        if self.barrier:
            await self.barrier.close()

    # -- inputs -----------------------------------------------------------

    async def on_weight(self, reading: WeightReading) -> None:
        await self.dispatch(WeightEvent(reading))

    async def on_axles(self, reading: AxleReading) -> None:
        await self.dispatch(AxleEvent(reading))

    async def on_plate(self, read: PlateRead, position: str) -> None:
        await self.dispatch(PlateEvent(read, position))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self.dispatch(Tick())

    async def dispatch_idle_screen(self) -> None:
        await self._show(self.lane.idle_text())

    async def dispatch(self, event) -> None:
        async with self._lock:
            await self._execute(self.lane.handle(event))

    # -- actions ----------------------------------------------------------

    async def _execute(self, actions: list) -> None:
        pictures = ()
        for action in actions:
            if isinstance(action, StoreRecord):
                if not self._store(action):
                    await self._show(STORE_FAULT_TEXT)
                    record_id = action.record["record_id"]
                    await self._execute(self.lane.handle(StoreFailed(record_id)))
                    return
                pictures = action.pictures
            elif isinstance(action, ShowText):
                await self._show(action.lines)
            elif isinstance(action, OpenBarrier):
                self._open_barrier()
        for picture in pictures:
            try:
                self.store.add_photo(picture.data)
            except StoreError as err:
                logger.error("%s: photo not kept: %s", self.name, err)
        if pictures:
            self.uploader.wake()

    def _store(self, action: StoreRecord) -> bool:
        try:
            self.store.add_record(action.record)
        except StoreError as err:
            self.stats["store_failures"] += 1
            logger.error(
                "%s: record not stored, barrier stays shut: %s", self.name, err
            )
            return False
        self.stats["records"] += 1
        self.last_record = action.record
        logger.info(
            "%s: stored %s (%s, %s kg, %s)",
            self.name,
            action.record["record_id"],
            action.record.get("front_plate"),
            action.record.get("gross_kg"),
            action.record.get("verdict"),
        )
        self.uploader.wake()
        return True

    async def _show(self, lines) -> None:
        if not self.display:
            return
        try:
            await asyncio.wait_for(self.display.show(tuple(lines)), timeout=1.0)
        except (DeviceError, TimeoutError) as err:
            logger.warning("%s: screen not updated: %s", self.name, err)

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
            await self.barrier.pulse()
        except DeviceError as err:
            logger.error("%s: barrier did not open: %s", self.name, err)


class Station:
    """All lanes of one station, their camera listener, store and uplink."""

    def __init__(self, settings: StationSettings, clock=None) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        self.store = StationStore(data_dir / f"station-{settings.station_code}.db")
        self.uploader = Uploader(self.store, settings.platform_url)
        self.lanes = [
            LaneRuntime(settings, lane, self.store, self.uploader, clock)
            for lane in settings.lanes
        ]
        self._routes = {}
        for runtime in self.lanes:
            for position in ("front", "rear"):
                camera_id = getattr(runtime.settings.cameras, position)
                if camera_id:
                    self._routes[camera_id] = (runtime, position)
        self.cameras = CameraListener(
            parse_anpr_post,
            self._on_plate,
            host=settings.camera_listen.host,
            port=settings.camera_listen.port,
        )
        self._uploader_task: asyncio.Task | None = None

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
        for runtime in self.lanes:
            await runtime.start()
        self._uploader_task = asyncio.create_task(self.uploader.run())
        logger.info(
            "station %s running %d lane(s); cameras post to port %s",
            self.settings.station_code,
            len(self.lanes),
            self.cameras.port,
        )

    async def stop(self) -> None:
        if self._uploader_task:
            self._uploader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._uploader_task
        for runtime in self.lanes:
            await runtime.stop()
        await self.cameras.stop()
        self.store.close()


def _lane_config(station: StationSettings, lane: LaneSettings) -> LaneConfig:
    s = lane.stability
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
    )


def _make_display(lane: LaneSettings) -> TcpDisplay | None:
    if lane.display is None:
        return None
    return TcpDisplay(lane.display.host, lane.display.port)


def _make_barrier(lane: LaneSettings) -> ModbusRelay | None:
    b = lane.barrier
    if b is None:
        return None
    return ModbusRelay(
        b.host, b.port, unit_id=b.unit_id, coil=b.coil, pulse_s=b.pulse_s
    )
