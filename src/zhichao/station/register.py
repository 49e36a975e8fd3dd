"""The vehicle register on the station (车辆登记): downloaded, kept, looked up.

The platform holds the register: vehicles with their axle counts, and the
tractor and trailer pairs known to run together (docs/protocol.md, "The
vehicle register"). The station downloads it every ``register_refresh_s``
seconds, signed with its first lane's key, keeps it in its SQLite store with
the answer's ETag (so a restart, or a week without the platform, still has the
last register), and builds an index in memory that answers the lanes'
``known_axles`` and ``known_pairs`` lookups at once, without I/O.

A download that fails is logged once, retried with back-off, and changes
nothing: the lanes keep the register they had (or none).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
from tenacity import wait_random_exponential

from zhichao.chain import StationKey
from zhichao.errors import StoreError, ZhichaoError
from zhichao.protocols.plates import normalize_plate
from zhichao.protocols.readings import PlateColor
from zhichao.request_signing import sign_headers
from zhichao.station.store import StationStore
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

REGISTER_PATH = "/api/v1/stations/{station_code}/register"
MAX_AXLES = 20  # more than any road vehicle; a larger count is a bad entry
COLOURS_KEPT = 64  # plates whose camera colour a lane remembers
ETAG_KEY = "register_etag"
GENERATED_KEY = "register_generated_at"
REGION_KEY = "register_region_code"
STORED_KEY = "register_stored_at"


class RegisterError(ZhichaoError):
    """The platform's register could not be fetched or read."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def request_headers(
    key: StationKey, station_code: str, lane_no: str, now: datetime | None = None
) -> dict[str, str]:
    """The headers that sign a register request with a lane's key."""
    path = REGISTER_PATH.format(station_code=station_code)
    return sign_headers(key, lane_no, "GET", path, now=now)


# -- the register as downloaded -------------------------------------------------


@dataclass(frozen=True)
class RegisterData:
    """One register: (plate, colour, axles) and (tractor, trailer) rows."""

    vehicles: tuple[tuple[str, str, int], ...]
    pairs: tuple[tuple[str, str], ...]
    etag: str | None = None
    generated_at: str | None = None
    region_code: str | None = None


def parse_register(
    body: bytes, station_code: str, etag: str | None = None
) -> RegisterData:
    """The platform's answer, checked; RegisterError when it is not a register.

    A single entry that is not usable (no plate, no axle count) is left out
    and counted in a warning; the rest of the register is kept.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise RegisterError(f"the register is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise RegisterError("the register is not a JSON object")
    if data.get("station_code") != station_code:
        raise RegisterError(
            f"the register is for station {data.get('station_code')!r}, "
            f"not {station_code}"
        )
    vehicles_in, pairs_in = data.get("vehicles"), data.get("pairs")
    if not isinstance(vehicles_in, list) or not isinstance(pairs_in, list):
        raise RegisterError("the register has no 'vehicles' and 'pairs' lists")

    vehicles = [v for v in map(_vehicle, vehicles_in) if v is not None]
    pairs = [p for p in map(_pair, pairs_in) if p is not None]
    skipped = len(vehicles_in) - len(vehicles) + len(pairs_in) - len(pairs)
    if skipped:
        logger.warning("register: %d unusable entries left out", skipped)
    return RegisterData(
        tuple(vehicles),
        tuple(pairs),
        etag,
        _text(data.get("generated_at")),
        _text(data.get("region_code")),
    )


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _plate(value) -> str | None:
    plate = normalize_plate(value) if isinstance(value, str) else ""
    return plate or None


def _vehicle(item) -> tuple[str, str, int] | None:
    if not isinstance(item, dict):
        return None
    plate, axles = _plate(item.get("plate")), item.get("axles")
    color = item.get("plate_color")
    if plate is None or type(axles) is not int or not 1 <= axles <= MAX_AXLES:
        return None
    color = color.strip().lower() if isinstance(color, str) else ""
    return plate, color or PlateColor.UNKNOWN.value, axles


def _pair(item) -> tuple[str, str] | None:
    if not isinstance(item, dict):
        return None
    tractor, trailer = (
        _plate(item.get("tractor_plate")),
        _plate(item.get("trailer_plate")),
    )
    if tractor is None or trailer is None:
        return None
    return tractor, trailer


# -- the index the lanes ask ------------------------------------------------------


class RegisterIndex:
    """The register in memory, for the lanes' synchronous lookups."""

    def __init__(
        self,
        vehicles: Iterable[tuple[str, str, int]] = (),
        pairs: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._axles: dict[str, dict[str, int]] = {}
        for plate, color, axles in vehicles:
            self._axles.setdefault(plate, {})[color] = axles
        self._pairs = set(pairs)
        self._tractors = {tractor for tractor, _ in self._pairs}
        self._trailers = {trailer for _, trailer in self._pairs}

    @property
    def vehicle_count(self) -> int:
        return sum(len(colours) for colours in self._axles.values())

    @property
    def pair_count(self) -> int:
        return len(self._pairs)

    def known_axles(self, plate: str, color: str | None = None) -> int | None:
        """The plate's axle count, None when the register cannot say.

        A plate registered in several colours (a yellow and a blue 晋E12345
        are two vehicles) takes the count of ``color``, the colour the camera
        read; without a match, their counts must agree.
        """
        colours = self._axles.get(plate)
        if not colours:
            return None
        if color and color in colours:
            return colours[color]
        counts = set(colours.values())
        return counts.pop() if len(counts) == 1 else None

    def known_pairs(self, tractor: str, trailer: str) -> bool | None:
        """True for a listed pair; False when either plate is listed with
        another; None when neither plate is in any pair (no evidence)."""
        if (tractor, trailer) in self._pairs:
            return True
        if tractor in self._tractors or trailer in self._trailers:
            return False
        return None


class VehicleRegister:
    """The station's register: kept in its store, indexed in memory.

    ``replace`` stores a new download first and only then swaps the index, so
    what the lanes ask is always what a restart would load.
    """

    def __init__(self, store: StationStore) -> None:
        self.store = store
        vehicles, pairs = store.register_rows()
        self.index = RegisterIndex(vehicles, pairs)
        if vehicles or pairs:
            logger.info(
                "vehicle register of %s loaded: %d vehicles, %d pairs",
                store.get_meta(GENERATED_KEY) or "unknown time",
                self.index.vehicle_count,
                self.index.pair_count,
            )

    @property
    def etag(self) -> str | None:
        return self.store.get_meta(ETAG_KEY)

    def replace(self, data: RegisterData) -> None:
        """Keep ``data`` durably, then answer the lanes from it. Blocking."""
        self.store.replace_register(
            data.vehicles,
            data.pairs,
            {
                ETAG_KEY: data.etag,
                GENERATED_KEY: data.generated_at,
                REGION_KEY: data.region_code,
                STORED_KEY: iso_utc(utcnow()),
            },
        )
        self.index = RegisterIndex(data.vehicles, data.pairs)

    def for_lane(self) -> "LaneLookups":
        return LaneLookups(self)


class LaneLookups:
    """One lane's ``known_axles`` and ``known_pairs`` (``zhichao.lane.checks``).

    The lane asks by plate alone; the colour comes from what this lane's
    cameras (or its operator) last read for that plate.
    """

    def __init__(self, register: VehicleRegister) -> None:
        self._register = register
        self._colours: OrderedDict[str, str] = OrderedDict()

    def note_read(self, plate: str | None, color: str | None) -> None:
        """A plate the lane read, with the colour it was read in."""
        if not plate or not color or color == PlateColor.UNKNOWN:
            return
        self._colours[plate] = str(color)
        self._colours.move_to_end(plate)
        while len(self._colours) > COLOURS_KEPT:
            self._colours.popitem(last=False)

    def known_axles(self, plate: str) -> int | None:
        return self._register.index.known_axles(plate, self._colours.get(plate))

    def known_pairs(self, tractor: str, trailer: str) -> bool | None:
        return self._register.index.known_pairs(tractor, trailer)


# -- the download -----------------------------------------------------------------


class RegisterSync:
    """Downloads the register every ``refresh_s`` seconds, with back-off."""

    def __init__(
        self,
        register: VehicleRegister,
        platform_url: str,
        station_code: str,
        lane_no: str,
        key: StationKey,
        *,
        refresh_s: float = 600.0,
        timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.register = register
        self.url = platform_url.rstrip("/") + REGISTER_PATH.format(
            station_code=station_code
        )
        self.station_code = station_code
        self.lane_no = lane_no
        self.key = key
        self.refresh_s = refresh_s
        self._timeout_s = timeout_s
        self._wait = wait_random_exponential(
            multiplier=backoff_initial_s, max=min(backoff_max_s, refresh_s)
        )
        self._failures = 0
        self.stats = {"updated": 0, "not_modified": 0, "failures": 0}

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            while True:
                try:
                    await self.fetch_once(client)
                except RegisterError as err:
                    await self._back_off(err)
                    continue
                except Exception as err:  # a bug must not stop the refreshes
                    logger.exception("register refresh failed")
                    await self._back_off(RegisterError(repr(err)))
                    continue
                if self._failures:
                    logger.info("vehicle register refreshed again")
                    self._failures = 0
                await asyncio.sleep(self.refresh_s)

    async def fetch_once(self, client: httpx.AsyncClient) -> bool:
        """Ask the platform once; True when a new register was kept."""
        headers = request_headers(self.key, self.station_code, self.lane_no)
        etag = self.register.etag
        if etag:
            headers["If-None-Match"] = etag
        try:
            reply = await client.get(self.url, headers=headers)
        except httpx.HTTPError as err:
            raise RegisterError(f"register download failed: {err!r}") from err

        if reply.status_code == 304:
            self.stats["not_modified"] += 1
            logger.debug("vehicle register unchanged (%s)", etag)
            return False
        if reply.status_code != 200:
            raise RegisterError(
                f"platform answered {reply.status_code} to the register request: "
                f"{_error_message(reply)}",
                reply.status_code,
            )
        # reading, storing and indexing a large register must not hold up
        # the lanes, which share this event loop
        data = await asyncio.to_thread(
            parse_register, reply.content, self.station_code, reply.headers.get("etag")
        )
        try:
            await asyncio.to_thread(self.register.replace, data)
        except StoreError as err:
            raise RegisterError(f"the new register was not kept: {err}") from err
        self.stats["updated"] += 1
        logger.info(
            "vehicle register of %s kept: %d vehicles, %d pairs",
            data.generated_at,
            self.register.index.vehicle_count,
            self.register.index.pair_count,
        )
        return True

    async def _back_off(self, err: RegisterError) -> None:
        self._failures += 1
        self.stats["failures"] += 1
        if self._failures == 1:
            # refused (not enrolled, clock off): a person must act
            log = logger.error if err.status in (401, 403) else logger.warning
            log("vehicle register not refreshed, lanes keep the last one: %s", err)
        else:
            logger.debug("register retry %d failed: %s", self._failures, err)
        await asyncio.sleep(self._wait(_Attempt(self._failures)))


def _error_message(reply: httpx.Response) -> str:
    """The message of the platform's error envelope, or the start of the body."""
    try:
        return str(reply.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return reply.text[:300]


class _Attempt:
    """The minimal retry state tenacity's wait strategies read."""

    def __init__(self, number: int) -> None:
        self.attempt_number = number
