"""The quick checks of a record decide and word as the plain ones they replace."""

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from platform_factories import make_record

from zhichao.platform import schemas
from zhichao.platform.schemas import (
    INSTANT_PATTERN,
    MAX_MASS_KG,
    expected_rate_pct,
    validate_record,
)

# -- the over rate (超限率) compared in integers -----------------------------


def rate_matches_by_decimal(sent, over_kg: int, limit_kg: int) -> bool:
    return Decimal(repr(float(sent))) == expected_rate_pct(over_kg, limit_kg)


def near(rate: Decimal):
    """Floats at and around ``rate``: the nearest, its neighbours, a rounding."""
    exact = float(rate)
    return st.sampled_from(
        [
            exact,
            math.nextafter(exact, math.inf),
            math.nextafter(exact, -math.inf),
            round(exact + 0.01, 2),
            round(exact - 0.005, 3),
            -0.0,
            math.inf,
            math.nan,
        ]
    )


@given(st.integers(0, MAX_MASS_KG), st.integers(1, MAX_MASS_KG), st.data())
def test_fuzz_rate_check_equals_the_decimal_rule(over_kg, limit_kg, data):
    sent = data.draw(near(expected_rate_pct(over_kg, limit_kg)) | st.floats())
    assert schemas._rate_matches(sent, over_kg, limit_kg) == rate_matches_by_decimal(
        sent, over_kg, limit_kg
    )


@given(st.integers(0, 2000), st.integers(1, 2000), st.data())
def test_fuzz_rate_check_on_small_masses_where_halves_are_common(over, limit, data):
    sent = data.draw(near(expected_rate_pct(over, limit)))
    assert schemas._rate_matches(sent, over, limit) == rate_matches_by_decimal(
        sent, over, limit
    )


@pytest.mark.parametrize(
    ("over_kg", "limit_kg", "sent"),
    [
        (1, 8, 12.5),  # an exact half: 12.5 %
        (1, 80_000, 0.0),  # 0.00125 % rounds down
        (1, 40_000, 0.0),  # 0.0025 %
        (1, 40_000, 0.01),  # half of a hundredth rounds up
        (3000, 49000, 6.12),
        (3000, 49000, 6.1200000000000001),  # the same float
        (3000, 49000, 6.13),
        (10**13, 1, 1e15),  # beyond the integer rule: Decimal decides
        (10**13, 1, 1e15 + 0.125),
        (5, 1, 500),  # an int rate, as StrictFloat may pass it on
        (5, 1, 501),
    ],
)
def test_rate_edges_equal_the_decimal_rule(over_kg, limit_kg, sent):
    assert schemas._rate_matches(sent, over_kg, limit_kg) == rate_matches_by_decimal(
        sent, over_kg, limit_kg
    )


# -- the record id's time stamp --------------------------------------------


@given(st.datetimes(timezones=st.just(UTC)))
def test_fuzz_stamp_equals_strftime(at):
    assert schemas._stamp(at) == at.strftime("%Y%m%dT%H%M%SZ")


# -- times and hashes ------------------------------------------------------


def parse_instant_before(value):
    """The parsing this module did before (OverflowError aside)."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string")
    if not INSTANT_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not an ISO 8601 time with an offset "
            "(e.g. 2026-06-18T06:06:30.499+08:00)"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"{value!r} is not a valid time") from err
    return parsed.astimezone(UTC)


def outcome(parse, value):
    try:
        parsed = parse(value)
    except ValueError as err:
        return "error", str(err)
    except OverflowError:
        return "overflow", None
    return "value", (parsed, parsed.tzinfo, parsed.utcoffset())


def instant_texts():
    offsets = st.sampled_from(["Z", "+00:00", "-00:00", "+08:00", "-12:30", "+24:00"])
    times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    written = st.builds(
        lambda at, spec, zone: at.isoformat(timespec=spec) + zone,
        times,
        st.sampled_from(["seconds", "milliseconds", "microseconds"]),
        offsets,
    )
    return (
        written
        | written.map(lambda text: text + "\n")
        | written.map(lambda text: text.replace("T", " "))
        | st.from_regex(INSTANT_PATTERN)
        | st.text(max_size=30)
    )


@given(instant_texts())
def test_fuzz_instant_parsing_equals_what_it_was(text):
    mine = outcome(schemas._parse_instant, text)
    before = outcome(parse_instant_before, text)
    if before[0] == "overflow":  # was a crash of the whole batch; now a reason
        assert mine[0] == "error"
        assert "outside the years 1 to 9999" in mine[1]
    else:
        assert mine == before


@given(
    st.text(alphabet="0123456789abcdefABCDEF\n xg", min_size=60, max_size=66)
    | st.text(max_size=70)
)
def test_fuzz_sha256_check_equals_the_pattern(text):
    try:
        schemas._check_sha256(text)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == bool(re.fullmatch(r"[0-9a-f]{64}", text))


# -- what a person reads ---------------------------------------------------

RECORD_ID = "1405250001-01-20260617T220631Z-000001"
PHOTO = {
    "sha256": "a" * 64,
    "role": "plate",
    "camera": "front",
    "captured_at": "2026-06-18T06:06:31+08:00",
}
MESSAGES = [
    (
        {"over_rate_pct": 6.13},
        "over_rate_pct: is 6.13, but over_kg / limit_kg gives 6.12",
    ),
    (
        {"over_rate_pct": 6.1200001},
        "over_rate_pct: is 6.1200001, but over_kg / limit_kg gives 6.12",
    ),
    (
        {"gross_kg": 49_000, "over_kg": 0, "over_rate_pct": math.inf},
        "over_rate_pct: is inf, but over_kg / limit_kg gives 0.00",
    ),
    (
        {"over_kg": 2999},
        "over_kg: is 2999, but gross_kg - limit_kg gives 3000",
    ),
    (
        {"overloaded": False},
        "overloaded: is false, but gross_kg > limit_kg + tolerance_kg is true",
    ),
    (
        {"record_id": "1405250001-01-20260617T220630Z-000001"},
        "record_id: does not match station_code, lane_no, detected_at and seq "
        f"(expected {RECORD_ID})",
    ),
    (
        {"detected_at": "2026-06-18T06:06:32.499+08:00"},
        "record_id: does not match station_code, lane_no, detected_at and seq "
        "(expected 1405250001-01-20260617T220632Z-000001)",
    ),
    (
        {"reweigh_of": RECORD_ID},
        "reweigh_of: a record cannot re-weigh itself",
    ),
    (
        {"detected_at": "2026-06-17T22:06:31.499"},
        "detected_at: '2026-06-17T22:06:31.499' is not an ISO 8601 time with an "
        "offset (e.g. 2026-06-18T06:06:30.499+08:00)",
    ),
    (
        {"entered_at": "2026-02-30T22:06:31Z"},
        "entered_at: '2026-02-30T22:06:31Z' is not a valid time",
    ),
    (
        {"entered_at": "2026-06-17T22:06:31Z\n"},
        "entered_at: '2026-06-17T22:06:31Z\\n' is not a valid time",
    ),
    (
        {"entered_at": "0001-01-01T00:00:00+08:00"},
        "entered_at: '0001-01-01T00:00:00+08:00' is outside the years 1 to 9999 in UTC",
    ),
    (
        {"entered_at": 1750000000},
        "entered_at: must be an ISO 8601 time string",
    ),
    (
        {"photos": [{**PHOTO, "sha256": "A" * 64}]},
        "photos[0].sha256: must be 64 lowercase hex digits (SHA-256)",
    ),
    (
        {"photos": [{**PHOTO, "sha256": "a" * 64 + "\n"}]},
        "photos[0].sha256: must be 64 lowercase hex digits (SHA-256)",
    ),
    (
        {"photos": [{**PHOTO, "captured_at": "9999-12-31T23:00:00-01:00"}]},
        "photos[0].captured_at: '9999-12-31T23:00:00-01:00' is outside the years "
        "1 to 9999 in UTC",
    ),
    (
        {"basis": "第三条\x00"},
        "basis: must not contain the NUL character (\\u0000)",
    ),
    (
        {"signature": "\x00"},
        "signature: must not contain the NUL character (\\u0000)",
    ),
    (
        {"photos": [PHOTO, {**PHOTO, "camera": "rear\x00"}]},
        "photos[1].camera: must not contain the NUL character (\\u0000)",
    ),
    (
        {"axle_groups": [1, 2, 2]},
        "axle_groups: add up to 5, but axles is 6",
    ),
    (
        {"axle_groups": [1, 2, True, 2]},
        "axle_groups: expected a list of axle counts (1 to 30) or null",
    ),
    (
        {"axle_groups": [1, 2, 3], "axle_tyres": "SDDDD"},
        "axle_tyres: 5 letters, but axles is 6",
    ),
    (
        {"axle_groups": [1, 2, 3], "axle_tyres": "sdddddd"},
        "axle_tyres: expected one letter per axle, S, D or W, or null",
    ),
    (
        {"axle_tyres": "SDDDDD"},
        "axle_tyres: given without axle_groups",
    ),
]


@pytest.mark.parametrize(("fields", "message"), MESSAGES)
def test_bad_records_are_told_exactly_why(fields, message):
    record = make_record(seq=1)
    record.update(fields)

    assert validate_record(record) == (None, message)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"gross_kg": 49_000, "over_kg": 0, "over_rate_pct": 0.0, "overloaded": False},
        {"gross_kg": 49_000, "over_kg": 0, "over_rate_pct": -0.0, "overloaded": False},
        {"gross_kg": 49_001, "over_kg": 1, "over_rate_pct": 0.0},
        {"gross_kg": 49_003, "over_kg": 3, "over_rate_pct": 0.01},
        {"photos": [PHOTO, {**PHOTO, "role": "scene", "sha256": "0f" * 32}]},
        {"axle_groups": [1, 2, 3]},
        {"axle_groups": [1, 2, 3], "axle_tyres": "SDDDSS"},
    ],
)
def test_good_records_pass_with_their_times_in_utc(fields):
    record = make_record(seq=1)
    record.update(fields)

    valid, problem = validate_record(record)

    assert problem is None
    assert valid.detected_at == datetime(2026, 6, 17, 22, 6, 31, 499000, tzinfo=UTC)
    assert valid.detected_at.tzinfo is UTC
    assert valid.entered_at == valid.detected_at - timedelta(seconds=20)
    for photo in valid.photos:
        assert photo.captured_at.tzinfo is UTC
