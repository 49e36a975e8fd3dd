"""How much each benchmark does: tiny (smoke test), default (make bench), large."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Size:
    name: str
    ingest_lanes: int = 20
    ingest_records: int = 40_000
    single_lanes: int = 50
    single_requests: int = 4_000
    concurrency: int = 4
    single_concurrency: int = 16
    photo_records: int = 150
    photo_bytes: int = 200_000
    backlog_lanes: int = 200
    backlog_per_lane: int = 500
    lane_decisions: int = 200
    settle_passes: int = 12
    station_lanes: int = 4
    station_seconds: float = 60.0
    query_rows: tuple[int, ...] = (1_000_000,)
    query_repeats: int = 20


DEFAULT = Size("default")
LARGE = replace(DEFAULT, name="large", query_rows=(1_000_000, 10_000_000))
TINY = Size(
    "tiny",
    ingest_lanes=2,
    ingest_records=200,
    single_lanes=2,
    single_requests=20,
    concurrency=2,
    single_concurrency=2,
    photo_records=3,
    photo_bytes=20_000,
    backlog_lanes=3,
    backlog_per_lane=10,
    lane_decisions=5,
    settle_passes=1,
    station_lanes=1,
    station_seconds=4.0,
    query_rows=(2_000,),
    query_repeats=2,
)
SIZES = {s.name: s for s in (TINY, DEFAULT, LARGE)}
