"""Whatever the devices say, the checks keep the chain whole: at most one record
per action list, and the stored records' seqs run 1, 2, 3 … with no gap."""

from hypothesis import given
from hypothesis import strategies as st
from lane_streams import reading
from test_cheating import read
from test_machine import Bench

from zhichao.lane.events import (
    AxleEvent,
    DeckEvent,
    PlateEvent,
    StoreFailed,
    StoreRecord,
    Tick,
    WeightEvent,
)
from zhichao.protocols.readings import AxleReading, DeckReading, DeckState

PLATES = ["晋E12345", "冀B22222", "晋E5432挂", None]
STEPS = st.one_of(
    st.tuples(
        st.just("weight"),
        st.tuples(
            st.sampled_from([0, 120, 5000, 15000, 17000, 30000]), st.integers(1, 25)
        ),
    ),
    st.tuples(
        st.just("plate"),
        st.tuples(st.sampled_from(["front", "rear", "exit"]), st.sampled_from(PLATES)),
    ),
    st.tuples(st.just("deck"), st.sampled_from(list(DeckState))),
    st.tuples(st.just("axles"), st.integers(2, 6)),
    st.tuples(st.just("tick"), st.sampled_from([0.1, 1.0, 4.0, 700.0])),
    st.tuples(st.just("fail"), st.just(None)),
)


@given(
    steps=st.lists(STEPS, max_size=120),
    sensors=st.booleans(),
)
def test_fuzz_check_events_never_break_the_seq_chain(steps, sensors):
    bench = Bench(position_sensors=sensors)
    stored: list[dict] = []
    refuse_next = False
    for kind, value in steps:
        if kind == "weight":  # one weight held for some frames at 10 frames/s
            events = [WeightEvent(reading(value[0]))] * value[1]
        elif kind == "plate":
            events = [PlateEvent(read(bench, value[1]), value[0])]
        elif kind == "deck":
            events = [DeckEvent(DeckReading(value, ()))]
        elif kind == "axles":
            events = [AxleEvent(AxleReading(value))]
        elif kind == "tick":
            bench.clock.advance(value)
            events = [Tick()]
        else:
            refuse_next = True  # the store will refuse the next record
            continue
        for event in events:
            actions = bench.send(event)
            kept = [a.record for a in actions if isinstance(a, StoreRecord)]
            assert len(kept) <= 1
            if kept and refuse_next:
                # as the station does: nothing more runs, the lane is told at once
                refuse_next = False
                bench.send(StoreFailed(kept[0]["record_id"]))
                assert bench.lane.next_seq == kept[0]["seq"]
            else:
                stored += kept
            bench.clock.advance(0.1)
    assert [r["seq"] for r in stored] == list(range(1, len(stored) + 1))
