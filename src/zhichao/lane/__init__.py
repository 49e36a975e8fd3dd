"""The pass state machine of one weighbridge lane, driven by events and a clock."""

from zhichao.lane.clock import Clock, ManualClock, SystemClock
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
from zhichao.lane.machine import Lane, LaneConfig, LaneState
from zhichao.lane.stability import (
    StabilityConfig,
    StabilityDetector,
    StabilityKind,
    StabilityResult,
)

__all__ = [
    "AxleEvent",
    "Clock",
    "Lane",
    "LaneConfig",
    "LaneState",
    "ManualClock",
    "OpenBarrier",
    "PlateEvent",
    "ShowText",
    "StabilityConfig",
    "StabilityDetector",
    "StabilityKind",
    "StabilityResult",
    "StoreFailed",
    "StoreRecord",
    "SystemClock",
    "Tick",
    "WeightEvent",
]
