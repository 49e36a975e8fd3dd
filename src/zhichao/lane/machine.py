"""The pass state machine of one weighbridge lane (称重车道).

One pass: plate read → truck on the deck → weight stable → verdict → record
stored → screen and barrier. Without position sensors, "on the deck" is the
weight rising above ``occupied_kg`` and "left" is the weight falling to
``empty_kg`` or below. The lane never touches a device or a clock of its own: it
is driven by events and reads the injected clock.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum

from zhichao.errors import RulesInputError
from zhichao.lane import checks, screen
from zhichao.lane.clock import Clock, ManualClock, SystemClock
from zhichao.lane.events import (
    ENTRY,
    EXIT,
    FRONT,
    MANUAL_AXLES,
    MANUAL_PLATE,
    REAR,
    RELEASE,
    REWEIGH,
    Action,
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
from zhichao.lane.plates import MergedRead, PlateMerger
from zhichao.lane.record import (
    CAMERA_CLOCK_SKEW,
    PassFacts,
    build_event_record,
    build_record,
    camera_clock_skewed,
    collect_photos,
    merge_flags,
    vehicle_kind,
)
from zhichao.lane.stability import (
    StabilityConfig,
    StabilityDetector,
    StabilityKind,
    StabilityResult,
    ZeroConfig,
    ZeroKind,
    ZeroTracker,
)
from zhichao.lane.tyres import TyreInputs, tyre_inputs
from zhichao.protocols.readings import (
    AxleReading,
    DeckReading,
    DeckState,
    PlateColor,
    PlateRead,
    WeightReading,
)
from zhichao.rules import VehicleInput, Verdict, check
from zhichao.timeutil import iso_utc, parse_instant, to_utc

logger = logging.getLogger(__name__)

__all__ = [
    "Clock",
    "Lane",
    "LaneConfig",
    "LaneState",
    "ManualClock",
    "SystemClock",
]

PLATE_POSITIONS = (FRONT, REAR, ENTRY)
EVENT_RETRY_S = 5.0  # a check event the store refused is tried again after this


class LaneState(StrEnum):
    IDLE = "idle"  # 空闲: the deck is empty
    WEIGHING = "weighing"  # 称重中: a truck is on the deck, weight not yet stable
    RELEASED = "released"  # 放行: record stored, barrier opened, truck leaving
    HELD = "held"  # 超限待卸: overloaded, told to unload, barrier shut


@dataclass(frozen=True)
class LaneConfig:
    station_code: str
    lane_no: str
    stability: StabilityConfig = StabilityConfig()
    occupied_kg: int = 1000
    empty_kg: int = 200
    tolerance_kg: int = 0
    plate_window_s: float = 120.0  # how old a plate read may be at decision time
    reweigh_window_s: float = 7200.0  # how long a held pass waits for its re-weighing
    camera_skew_s: float = 10.0  # camera clock this far off the lane's: flagged
    position_sensors: bool = False  # decide only while wholly on the deck
    # cheating and fault checks (docs/lane.md, "Cheating and fault checks")
    merge_window_s: float = 3.0  # one camera's events this close are one read
    weight_jump_kg: int | None = 500  # settled weight step, no movement; None: off
    quick_reweigh_s: float | None = 600.0  # same plate after a release; None: off
    exit_window_s: float | None = 1800.0  # exit read needs a pass this recent
    zero_band_divisions: float | None = 1.0  # empty deck within ± this; None: off
    zero_timeout_s: float = 15.0  # how long the empty deck may take to settle


@dataclass(frozen=True)
class _Seen:
    read: PlateRead
    at: float  # lane monotonic time the read arrived


@dataclass(frozen=True)
class _Decision:
    record_id: str
    seq: int
    plates: frozenset[str]
    overloaded: bool
    at: float


@dataclass
class _Pass:
    """What the lane has gathered for the truck now on (or coming onto) the deck."""

    plates: dict[str, _Seen] = field(default_factory=dict)
    axles: AxleReading | None = None
    wheels_off_deck: bool = False  # the weight settled while partly on the deck
    asked_full: bool = False  # 请完全上磅 shown for this pass
    # set by operator actions (docs/station.md, "Operator page")
    reweigh_of: str | None = None  # the decision an operator cancelled
    pinned: bool = False  # re-weighed by hand: its reads stay, however old
    manual_plate: tuple[str, str] | None = None  # (plate, colour) typed in
    manual_axles: int | None = None  # axle count typed in
    entries: tuple[str, ...] = ()  # record ids of the operator's entries
    # cheating and fault checks
    merged: dict[str, MergedRead] = field(default_factory=dict)
    fronts: dict[float, str] = field(default_factory=dict)  # front reads on deck
    two_vehicles: bool = False
    weight_jump: bool = False
    zero_offset_kg: int | None = None  # the deck did not return to zero before


class Lane:
    """One lane's pass logic; ``handle`` turns each event into ordered actions."""

    def __init__(
        self,
        config: LaneConfig,
        clock: Clock,
        *,
        next_seq: int = 1,
        judge: Callable[[VehicleInput], Verdict] = check,
        known_pairs: checks.KnownPairs | None = None,
        known_axles: checks.KnownAxles | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.judge = judge
        self.state = LaneState.IDLE
        self.next_seq = next_seq
        self._detector = StabilityDetector(config.stability)
        self._pass = _Pass()
        self._decision: _Decision | None = None
        self._held: dict[str, tuple[str, float]] = {}  # plate -> (record_id, at)
        self._last_event: tuple[str, int] | None = None  # (record_id, seq)
        self._deck: DeckState | None = None  # None: no sensor reading yet
        self._undo: tuple | None = None  # (record_id, state) of an operator event
        self.known_pairs = known_pairs
        self.known_axles = known_axles
        self._merger = PlateMerger(config.merge_window_s)
        self._jumps = checks.JumpWatch(config.stability, config.weight_jump_kg)
        self._zero = ZeroTracker(
            config.stability,
            ZeroConfig(
                1.0
                if config.zero_band_divisions is None
                else config.zero_band_divisions,
                config.zero_timeout_s,
            ),
        )
        keep = max(config.quick_reweigh_s or 0, config.exit_window_s or 0, 1.0)
        self._memory = checks.PassMemory(max(keep, config.reweigh_window_s))
        self._not_zeroed: int | None = None  # offset the empty deck settled at
        self._exit_judged: float | None = None  # first_at of the judged exit read
        self._deck_left = False  # RELEASED: the sensors saw the truck going off
        self._queue: list[tuple[str, dict, tuple, tuple]] = []  # events to record
        self._queued: tuple[str, tuple] | None = None  # (record_id, item) in flight
        self._retry_at = 0.0  # a check event not stored is tried again from then
        self._last_left: str | None = None  # record id of the truck that left last

    def recall(self, records) -> None:
        """Remember stored records, oldest first (after a restart), so that the
        exit camera and the quick re-weighing check know the recent passes."""
        now, now_mono = to_utc(self.clock.now()), self.clock.monotonic()
        released_by_hand = set()
        for record in records:
            if record.get("event_type") == "operator_release":
                released_by_hand.add(record.get("detail", {}).get("record_id"))
        for record in records:
            if record.get("kind", "pass") != "pass":
                continue
            age = (now - parse_instant(record["detected_at"])).total_seconds()
            held = record["verdict"] == "held"
            held = held and record["record_id"] not in released_by_hand
            self._memory.remember(
                (record.get("front_plate"), record.get("rear_plate")),
                checks.Weighed(record["record_id"], now_mono - age, held),
            )

    def idle_text(self) -> tuple[str, ...]:
        return screen.idle()

    def handle(self, event) -> list[Action]:
        if isinstance(event, StoreFailed):
            self._requeue(event.record_id)
        actions = self._handle(event)
        if isinstance(event, StoreFailed | RecordEvent) or not self._queue:
            return actions
        if any(isinstance(action, StoreRecord) for action in actions):
            return actions  # one record per list: the rest on a later event
        if self.clock.monotonic() < self._retry_at:
            return actions
        return [*actions, self._record_queued()]

    def _handle(self, event) -> list[Action]:
        if isinstance(event, WeightEvent):
            return self._on_weight(event.reading)
        if isinstance(event, PlateEvent):
            return self._on_plate(event.read, event.position)
        if isinstance(event, AxleEvent):
            return self._on_axles(event.reading)
        if isinstance(event, DeckEvent):
            return self._on_deck(event.reading)
        if isinstance(event, Tick):
            return self._on_tick()
        if isinstance(event, OperatorEvent):
            return self._on_operator(event)
        if isinstance(event, StoreFailed):
            self._undo_operator(event.record_id)
            if self._event_store_failed(event.record_id):
                return []
            return self._on_store_failed(event.record_id)
        if isinstance(event, RecordEvent):
            return self._on_record_event(event)
        raise TypeError(f"a lane cannot handle {type(event).__name__}")

    # -- events -----------------------------------------------------------

    def _on_weight(self, reading: WeightReading) -> list[Action]:
        weight = reading.weight_kg
        now = self.clock.monotonic()
        if self.state is LaneState.IDLE:
            self._check_zero(self._zero.add(now, reading))
            if weight is None or weight <= self.config.occupied_kg:
                return []
            return self._arrive(now, reading)

        if weight is not None and weight <= self.config.empty_kg:
            return self._leave()
        if self.state is LaneState.WEIGHING or self.config.position_sensors:
            self._check_jump(self._jumps.add(now, reading))
        if self.state is LaneState.WEIGHING:
            return self._on_result(self._detector.add(now, reading))
        return []

    def _on_plate(self, read: PlateRead, position: str) -> list[Action]:
        if position == EXIT:
            return self._on_exit(read)
        if position not in PLATE_POSITIONS:
            logger.debug("plate %s at %s not used by the pass", read.plate, position)
            return []
        if self._decision and read.plate in self._decision.plates:
            return []  # the decided truck read again as it sits or leaves

        known = self._pass.plates.get(position)
        if read.plate is None and known and known.read.plate is not None:
            return []
        now = self.clock.monotonic()
        self._jumps.moved()
        merged = self._merger.add(position, read, now)
        self._pass.merged[position] = merged
        at = now if merged.best is read or known is None else known.at
        self._pass.plates[position] = _Seen(merged.read, at)
        if position == FRONT and self.state is LaneState.WEIGHING and merged.plate:
            self._pass.fronts[merged.first_at] = merged.plate
        if self.state is LaneState.WEIGHING and read.plate and position == FRONT:
            return [ShowText(screen.weighing(self._shown_plate()))]
        return []

    def _on_axles(self, reading: AxleReading) -> list[Action]:
        self._jumps.moved()
        if self.state in (LaneState.IDLE, LaneState.WEIGHING):
            self._pass.axles = reading
        else:
            logger.debug("axle count %s after the decision ignored", reading.axles)
        return []

    def _on_deck(self, reading: DeckReading) -> list[Action]:
        previous, self._deck = self._deck, reading.state
        if previous is not reading.state:
            self._jumps.moved()
        if self.config.position_sensors and self.state is LaneState.RELEASED:
            return self._released_deck(previous, reading.state)
        if not self.config.position_sensors or self.state is not LaneState.WEIGHING:
            return []
        if reading.state is DeckState.WHOLLY and previous is not DeckState.WHOLLY:
            # only weights from now on count: the wheels just came onto the deck
            self._detector.reset(self.clock.monotonic())
            if self._pass.asked_full:
                return [ShowText(screen.weighing(self._shown_plate()))]
        return []

    def _on_tick(self) -> list[Action]:
        now = self.clock.monotonic()
        self._check_exit(now)
        if self.state is LaneState.IDLE:
            self._check_zero(self._zero.expire(now))
        if self.state is not LaneState.WEIGHING:
            return []
        return self._on_result(self._detector.expire(self.clock.monotonic()))

    def _on_store_failed(self, record_id: str) -> list[Action]:
        decision = self._decision
        if (
            decision is None
            or decision.record_id != record_id
            or self.state
            not in (
                LaneState.RELEASED,
                LaneState.HELD,
            )
        ):
            logger.warning("store failure of %s does not match the pass", record_id)
            return []

        logger.error("record %s not stored; the truck is held", record_id)
        self.next_seq = decision.seq
        self._decision = None
        self.state = LaneState.WEIGHING
        self._detector.reset(self.clock.monotonic())
        return [ShowText(screen.store_failed(self._shown_plate()))]

    # -- transitions ------------------------------------------------------

    def _arrive(self, now: float, reading: WeightReading) -> list[Action]:
        self.state = LaneState.WEIGHING
        self._detector.reset(now)
        self._detector.add(now, reading)
        self._start_checks(now)
        self._jumps.add(now, reading)
        return [ShowText(screen.weighing(self._shown_plate()))]

    def _leave(self) -> list[Action]:
        decision = self._decision
        now = self.clock.monotonic()
        if decision is not None:
            self._remember_held(decision)
            self._memory.remember(
                decision.plates,
                checks.Weighed(
                    decision.record_id, decision.at, self.state is LaneState.HELD
                ),
            )
            # reads that came after the decision belong to the next truck
            self._pass = _Pass(
                plates={
                    pos: seen
                    for pos, seen in self._pass.plates.items()
                    if seen.at > decision.at
                }
            )
        else:
            self._pass = _Pass()
        for position in PLATE_POSITIONS:
            if position not in self._pass.plates:
                self._merger.reset(position)
            elif merged := self._merger.latest(position):
                self._pass.merged[position] = merged
        self._last_left = decision.record_id if decision else None
        self._jumps.stop()
        if self.config.zero_band_divisions is not None:
            self._zero.truck_left(now)
        self._decision = None
        self.state = LaneState.IDLE
        return [ShowText(screen.idle())]

    # -- cheating and fault checks (docs/lane.md) ---------------------------

    def _start_checks(self, now: float) -> None:
        """A truck came onto the deck: what the checks know of it so far."""
        self._zero.cancel()
        self._pass.zero_offset_kg, self._not_zeroed = self._not_zeroed, None
        self._jumps.start(now)
        self._deck_left = False
        front = self._pass.merged.get(FRONT)
        fresh = front and now - front.last_at <= self.config.plate_window_s
        if fresh and front.plate:
            self._pass.fronts = {front.first_at: front.plate}

    def _released_deck(self, previous, state: DeckState) -> list[Action]:
        """Released, the truck leaving: the sensors show a truck wholly on again
        before the scale showed an empty deck — another vehicle came on."""
        if state is not DeckState.WHOLLY:
            self._deck_left = True
            return []
        if previous is DeckState.WHOLLY or not self._deck_left:
            return []
        logger.warning(
            "lane %s: a vehicle came on before the last one left the deck",
            self.config.lane_no,
        )
        now = self.clock.monotonic()
        actions = self._leave()
        self.state = LaneState.WEIGHING
        self._detector.reset(now)
        self._start_checks(now)
        self._pass.two_vehicles = True
        return [*actions, ShowText(screen.weighing(self._shown_plate()))]

    def _check_jump(self, jump: checks.Jump | None) -> None:
        if jump is None:
            return
        self._pass.weight_jump = True
        detail = {
            "from_kg": jump.from_kg,
            "to_kg": jump.to_kg,
            "lane_state": self.state.value,
            "record_id": self._decision.record_id if self._decision else None,
            "plate": self._shown_plate(),
        }
        self._enqueue(checks.EVENT_WEIGHT_JUMP, detail)

    def _check_zero(self, result) -> None:
        if result is None:
            return
        if result.kind is ZeroKind.NOT_ZERO:
            self._not_zeroed = result.offset_kg
            detail = {
                "offset_kg": result.offset_kg,
                "zero_band_kg": int(
                    self._zero.config.zero_band_divisions
                    * self.config.stability.division_kg
                ),
                "after_record_id": self._last_left,
            }
            self._enqueue(checks.ZERO_NOT_RETURNED, detail)
        elif result.kind is ZeroKind.ZERO:
            self._not_zeroed = None

    def _on_exit(self, read: PlateRead) -> list[Action]:
        """Exit camera reads are merged, then judged once their window closes."""
        if self.config.exit_window_s is None or read.plate is None:
            return []
        now = self.clock.monotonic()
        self._check_exit(now)
        self._merger.add(EXIT, read, now)
        return []

    def _check_exit(self, now: float) -> None:
        merged = self._merger.latest(EXIT)
        if merged is None or merged.first_at == self._exit_judged:
            return
        if self._merger.current(EXIT, now) is not None:
            return  # more events of this read may come
        self._exit_judged = merged.first_at
        plate = merged.plate
        decision = self._decision
        if decision is not None and plate in decision.plates:
            last = checks.Weighed(
                decision.record_id, decision.at, self.state is LaneState.HELD
            )
        else:
            last = self._memory.last(plate, now)
        finding = checks.exit_finding(
            last, now, self.config.exit_window_s, self.config.reweigh_window_s
        )
        if finding is None:
            return
        logger.warning(
            "lane %s: %s at the exit: %s", self.config.lane_no, plate, finding
        )
        photos, pictures = collect_photos({EXIT: merged.read})
        detail = {
            "plate": plate,
            "plate_color": PlateColor(merged.best.color).value,
            "camera": merged.best.camera,
            "camera_time": iso_utc(merged.best.camera_time),
            "record_id": last.record_id if last else None,
            "alternatives": [alt.plate for alt in merged.alternatives],
            "photos": photos,
        }
        extra = {"left_without_weighing": finding == checks.LEFT_WITHOUT_WEIGHING}
        self._enqueue(finding, detail, pictures, extra)

    def _enqueue(self, event_type: str, detail: dict, pictures=(), extra=None) -> None:
        item = (event_type, detail, (event_type,), tuple(pictures), extra or {})
        self._queue.append(item)

    def _record_queued(self) -> StoreRecord:
        """The first queued check event as a record with the next seq."""
        item = self._queue.pop(0)
        event_type, detail, flags, pictures, extra = item
        [store] = self._on_record_event(RecordEvent(event_type, detail, flags))
        record = {**store.record, **extra}
        self._queued = (record["record_id"], item)
        return StoreRecord(record, pictures)

    def _requeue(self, record_id: str) -> None:
        """A check event not stored goes back to the front of the queue."""
        if self._queued is not None and self._queued[0] == record_id:
            self._queue.insert(0, self._queued[1])
            self._retry_at = self.clock.monotonic() + EVENT_RETRY_S
        self._queued = None

    def _two_vehicles(self) -> bool:
        return self._pass.two_vehicles or len(set(self._pass.fronts.values())) > 1

    def _quick_reweigh(self, plates, now: float) -> bool:
        window = self.config.quick_reweigh_s
        if window is None:
            return False
        for plate in plates:
            last = self._memory.last(plate, now)
            if last and not last.overloaded and now - last.at <= window:
                return True
        return False

    def _on_result(self, result: StabilityResult | None) -> list[Action]:
        if result is None:
            return []
        if result.kind is StabilityKind.TIMEOUT:
            logger.info("lane %s: weight did not settle", self.config.lane_no)
            self._detector.reset(result.at)
            return [ShowText(screen.unstable(self._shown_plate()))]
        if result.weight_kg <= self.config.occupied_kg:
            self._detector.reset(result.at)
            return []
        if self.config.position_sensors and self._deck is not DeckState.WHOLLY:
            return self._not_wholly_on(result.at)
        return self._decide(result.weight_kg, result.at)

    def _not_wholly_on(self, at: float) -> list[Action]:
        """Stable, but the sensors do not say wholly on: no decision yet."""
        if self._deck is DeckState.PARTLY:
            self._pass.wheels_off_deck = True
        logger.info(
            "lane %s: weight settled with the deck %s; waiting",
            self.config.lane_no,
            self._deck.value if self._deck else "unknown",
        )
        self._detector.reset(at)
        if self._pass.asked_full:
            return []
        self._pass.asked_full = True
        return [ShowText(screen.partly_on(self._shown_plate()))]

    def _decide(self, gross_kg: int, at: float) -> list[Action]:
        reads = self._fresh_reads(at)
        front, rear = _plate_of(reads, FRONT), _plate_of(reads, REAR)
        manual = self._pass.manual_plate
        if manual is not None:
            front = manual[0]
        if self._pass.manual_axles is not None:
            self._pass.axles = AxleReading(self._pass.manual_axles)
        axles = self._pass.axles.axles if self._pass.axles else None
        kind = vehicle_kind(front, rear)
        tyres = tyre_inputs(self._pass.axles, kind)
        verdict, judge_flags = self._judge(axles, gross_kg, kind, tyres)

        facts = PassFacts(
            station_code=self.config.station_code,
            lane_no=self.config.lane_no,
            seq=self.next_seq,
            detected_at=self.clock.now(),
            reads=reads,
            axles=self._pass.axles,
            gross_kg=gross_kg,
            tolerance_kg=self.config.tolerance_kg,
            reweigh_of=self._reweigh_of((front, rear), at),
        )
        flags = merge_flags(
            self._lane_flags(front, rear, axles),
            tyres.flags,
            judge_flags,
            self._skew_flags(at),
        )
        record = build_record(facts, verdict, flags)
        alternatives = checks.plate_alternatives(
            {p: m for p, m in self._pass.merged.items() if p in reads}
        )
        if alternatives:
            record["plate_alternatives"] = alternatives
        if self._pass.entries:
            record = self._with_manual(record, front, rear)
        self._commit(facts, record["record_id"], (front, rear), verdict, at)
        return self._decision_actions(record, reads, verdict, front or rear)

    def _commit(self, facts, record_id, plates, verdict: Verdict, at: float) -> None:
        self._decision = _Decision(
            record_id=record_id,
            seq=facts.seq,
            plates=frozenset(p for p in plates if p),
            overloaded=verdict.overloaded,
            at=at,
        )
        self.next_seq = facts.seq + 1
        self.state = LaneState.HELD if verdict.overloaded else LaneState.RELEASED
        for position in PLATE_POSITIONS:
            self._merger.reset(position)  # later reads start the next truck's
        logger.info(
            "lane %s: %s %s kg, limit %s kg, %s",
            self.config.lane_no,
            record_id,
            facts.gross_kg,
            verdict.limit_kg,
            self.state.value,
        )

    def _decision_actions(self, record: dict, reads, verdict: Verdict, plate):
        _, pictures = collect_photos(reads)
        if verdict.overloaded:
            text = screen.held(plate, record["gross_kg"], verdict.over_kg)
            return [StoreRecord(record, pictures), ShowText(text)]
        text = screen.released(plate, record["gross_kg"], verdict.limit_kg)
        return [StoreRecord(record, pictures), ShowText(text), OpenBarrier()]

    # -- events as records -------------------------------------------------

    def _on_record_event(self, event: RecordEvent) -> list[Action]:
        """Give the event the next seq; the lane stays the only seq allocator."""
        seq = self.next_seq
        record = build_event_record(
            self.config.station_code,
            self.config.lane_no,
            seq,
            self.clock.now(),
            event.event_type,
            event.detail,
            event.flags,
        )
        self.next_seq = seq + 1
        self._last_event = (record["record_id"], seq)
        return [StoreRecord(record)]

    def _event_store_failed(self, record_id: str) -> bool:
        """An event that was not stored gives its seq back; True if it was one."""
        last = self._last_event
        if last is None or last[0] != record_id:
            return False
        self._last_event = None
        if self.next_seq == last[1] + 1:
            self.next_seq = last[1]
        logger.error("event record %s not stored", record_id)
        return True

    def _skew_flags(self, at: float) -> list[str]:
        """``camera_clock_skew`` when a used read's camera time is off the lane's."""
        now_mono, now = self.clock.monotonic(), self.clock.now()
        for seen in self._pass.plates.values():
            arrived = now - timedelta(seconds=now_mono - seen.at)
            if at - seen.at <= self.config.plate_window_s and camera_clock_skewed(
                seen.read, arrived, self.config.camera_skew_s
            ):
                return [CAMERA_CLOCK_SKEW]
        return []

    # -- operator actions ---------------------------------------------------

    def operator_refusal(self, event: OperatorEvent) -> str | None:
        """Why the lane cannot take ``event`` now (a word), or None if it can."""
        if event.action == RELEASE:
            return None if self.state is LaneState.HELD else "not_held"
        if event.action == MANUAL_PLATE and not event.plate:
            return "no_value"
        if event.action == MANUAL_AXLES and not event.axles:
            return "no_value"
        if event.action not in (REWEIGH, MANUAL_PLATE, MANUAL_AXLES):
            return "unknown_action"
        return "no_truck" if self.state is LaneState.IDLE else None

    @property
    def decided_record_id(self) -> str | None:
        """The record id of the decision for the truck on the deck, if any."""
        return self._decision.record_id if self._decision else None

    def _on_operator(self, event: OperatorEvent) -> list[Action]:
        """Record the operator's action first, then do it (undone if not stored)."""
        refusal = self.operator_refusal(event)
        if refusal is not None:
            logger.warning(
                "lane %s: operator %s refused: %s",
                self.config.lane_no,
                event.action,
                refusal,
            )
            return []
        decision = self._decision
        detail = {
            "operator": event.operator,
            "reason": event.reason,
            "lane_state": self.state.value,
            "record_id": decision.record_id if decision else None,
        }
        if event.action == MANUAL_PLATE:
            detail |= {"plate": event.plate, "plate_color": event.plate_color}
            detail["camera_plate"] = self._shown_plate()
        elif event.action == MANUAL_AXLES:
            detail["axles"] = event.axles
            counted = self._pass.axles
            detail["identifier_axles"] = counted.axles if counted else None
        if event.action == RELEASE:
            detail["overloaded"] = decision.overloaded
        elif decision is not None:
            detail["cancels"] = decision.record_id
        undo = (
            self.state,
            decision,
            replace(self._pass, plates=dict(self._pass.plates)),
        )
        [store] = self._on_record_event(RecordEvent(f"operator_{event.action}", detail))
        record_id = store.record["record_id"]
        self._undo = (record_id, undo)
        if event.action == RELEASE:
            return [store, *self._operator_release()]
        if decision is not None:
            self._weigh_again(decision)
        if event.action == MANUAL_PLATE:
            self._pass.manual_plate = (event.plate, event.plate_color)
        elif event.action == MANUAL_AXLES:
            self._pass.manual_axles = event.axles
        if event.action != REWEIGH:
            self._pass.entries = (*self._pass.entries, record_id)
        self._detector.reset(self.clock.monotonic())
        return [store, ShowText(screen.weighing(self._shown_plate()))]

    def _operator_release(self) -> list[Action]:
        """A held truck let through by hand: the barrier opens, the record says so."""
        self.state = LaneState.RELEASED
        plate = self._shown_plate() or screen.NO_PLATE
        logger.warning(
            "lane %s: held pass %s released by the operator",
            self.config.lane_no,
            self._decision.record_id,
        )
        return [ShowText((plate, "人工放行", "请通行", "")), OpenBarrier()]

    def _weigh_again(self, decision: _Decision) -> None:
        """Cancel ``decision``: the next decision is a new pass linked to it."""
        self._decision = None
        self.state = LaneState.WEIGHING
        self._pass.reweigh_of = decision.record_id
        self._pass.pinned = True

    def _undo_operator(self, record_id: str) -> None:
        if self._undo is None or self._undo[0] != record_id:
            return
        self.state, self._decision, self._pass = self._undo[1]
        self._undo = None
        logger.error("lane %s: operator action not stored; undone", self.config.lane_no)

    def _with_manual(self, record: dict, front, rear) -> dict:
        """The pass with the operator's entered values and their flags."""
        entered = {}
        flags = list(record["flags"])
        if self._pass.manual_plate is not None:
            plate, color = self._pass.manual_plate
            record["front_plate"], record["front_plate_color"] = plate, color
            record["vehicle_kind"] = vehicle_kind(front, rear)
            entered |= {"plate": plate, "plate_color": color}
            flags = [f for f in flags if f != "no_plate"] + ["manual_plate"]
        if self._pass.manual_axles is not None:
            entered["axles"] = self._pass.manual_axles
            flags = [f for f in flags if f != "no_axle_count"] + ["manual_axles"]
        entered["entries"] = list(self._pass.entries)
        record["flags"] = merge_flags(flags)
        record["manual"] = entered
        return record

    # -- helpers ----------------------------------------------------------

    def _judge(
        self, axles: int | None, gross_kg: int, kind: str | None, tyres: TyreInputs
    ) -> tuple[Verdict, list[str]]:
        """Judge the pass; a description the rules refuse falls back to less."""
        attempts = [(axles, kind, tyres, [])]
        if kind is not None:
            attempts.append((axles, None, tyres, []))
        if axles is not None:
            attempts.append((None, None, TyreInputs(), ["axle_count_unusable"]))
        for count, configuration, given, extra in attempts:
            vehicle = VehicleInput(
                axles=count,
                gross_kg=gross_kg,
                kind=configuration,
                single_tyre_axles=given.single_tyre_axles,
                wide_tyres=given.wide_tyres,
                tolerance_kg=self.config.tolerance_kg,
            )
            try:
                verdict = self.judge(vehicle)
            except RulesInputError as err:
                last = err
                logger.warning("rules refused %s: %s", vehicle, err)
                continue
            return verdict, [*extra, *verdict.flags]
        raise last

    def _lane_flags(self, front, rear, axles) -> list[str]:
        flags = []
        if front is None and rear is None:
            flags.append("no_plate")
        if axles is None:
            flags.append("no_axle_count")
        if self._pass.wheels_off_deck:
            flags.append("wheels_off_deck")
        return [*flags, *self._check_flags(front, rear, axles)]

    def _check_flags(self, front, rear, axles) -> list[str]:
        """The cheating and fault checks' flags for the pass being decided."""
        flags = []
        if self._pass.weight_jump:
            flags.append(checks.WEIGHT_JUMP)
        if self._two_vehicles():
            flags.append(checks.TWO_VEHICLES)
        flags += checks.plate_flags(front, rear, self.known_pairs)
        if self._quick_reweigh((front, rear), self.clock.monotonic()):
            flags.append(checks.QUICK_REWEIGH)
        if self._pass.zero_offset_kg is not None:
            flags.append(checks.SCALE_NOT_ZEROED)
        flags += checks.axle_flags(front or rear, axles, self.known_axles)
        return flags

    def _fresh_reads(self, at: float) -> dict[str, PlateRead]:
        window = self.config.plate_window_s
        fresh = {}
        for position, seen in self._pass.plates.items():
            if at - seen.at <= window or self._pass.pinned:
                fresh[position] = seen.read
            else:
                logger.info(
                    "plate %s read %.0f s ago ignored", seen.read.plate, at - seen.at
                )
        return fresh

    def _reweigh_of(self, plates, at: float) -> str | None:
        if self._pass.reweigh_of is not None:
            return self._pass.reweigh_of
        window = self.config.reweigh_window_s
        self._held = {p: v for p, v in self._held.items() if at - v[1] <= window}
        for plate in plates:
            if plate and plate in self._held:
                return self._held[plate][0]
        return None

    def _remember_held(self, decision: _Decision) -> None:
        for plate in decision.plates:
            if decision.overloaded:
                self._held[plate] = (decision.record_id, decision.at)
            else:
                self._held.pop(plate, None)

    def _shown_plate(self) -> str | None:
        if self._pass.manual_plate is not None:
            return self._pass.manual_plate[0]
        plates = self._pass.plates
        for position in (FRONT, REAR):
            seen = plates.get(position)
            if seen and seen.read.plate:
                return seen.read.plate
        return None


def _plate_of(reads: dict[str, PlateRead], position: str) -> str | None:
    read = reads.get(position)
    return read.plate if read else None
