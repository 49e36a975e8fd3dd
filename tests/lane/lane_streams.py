"""Generated indicator sample streams for the lane tests: (t, WeightReading) pairs.

Times are monotonic seconds computed as ``k / fps`` so no error accumulates; no
test reads a wall clock.
"""

import random

from zhichao.protocols.readings import WeightReading, WeightStatus

DIVISION = 20


def reading(weight: float | None, stable: bool | None = None) -> WeightReading:
    if weight is None:
        return WeightReading(None, None, WeightStatus.OVERLOAD, b"")
    return WeightReading(weight, stable, WeightStatus.OK, b"")


def quantise(weight: float) -> int:
    """What an indicator with a 20 kg division shows for a true weight."""
    return DIVISION * round(weight / DIVISION)


def times(fps: int, seconds: float, start: float = 0.0) -> list[float]:
    return [start + k / fps for k in range(round(seconds * fps))]


def noise_stream(fps: int, seed: int, centre: int = 49000, seconds: float = 16.0):
    """Noise of ±2 divisions: every run of five samples holds all five levels.

    Shuffled blocks rather than independent draws, so that every one-second
    window really spans ±2 e: independent draws at 10 frames/s can, by chance,
    stay inside two adjacent divisions for a whole second (see docs/lane.md).
    """
    rng = random.Random(seed)
    levels: list[int] = []
    stamps = times(fps, seconds)
    while len(levels) < len(stamps):
        block = [-2, -1, 0, 1, 2]
        rng.shuffle(block)
        levels.extend(block)
    return [(t, centre + DIVISION * lv) for t, lv in zip(stamps, levels, strict=False)]


def iid_noise_stream(fps: int, seed: int, centre: int = 49000, seconds: float = 16.0):
    rng = random.Random(seed)
    return [(t, centre + DIVISION * rng.randint(-2, 2)) for t in times(fps, seconds)]


def creep_stream(fps: int, rate_kg_s: float, start_kg: float, seconds: float = 16.0):
    """A truck still rolling on: the true weight rises steadily, shown quantised."""
    return [(t, quantise(start_kg + rate_kg_s * t)) for t in times(fps, seconds)]


def arrival_stream(fps: int, seed: int, settled_kg: float, ramp_s: float = 3.0):
    """A truck drives on over ``ramp_s`` seconds, then sits still flickering.

    Returns (samples, settle_time): settle_time is the first sample at rest.
    While settled, each reading is the true weight plus a little noise, so it
    flickers between the two divisions either side of it.
    """
    rng = random.Random(seed)
    samples = []
    for t in times(fps, ramp_s):
        true = settled_kg * t / ramp_s + rng.uniform(-60, 60)
        samples.append((t, quantise(max(true, 0.0))))
    low = DIVISION * (settled_kg // DIVISION)
    for t in times(fps, 5.0, start=ramp_s):
        samples.append((t, low + DIVISION * rng.randint(0, 1)))
    return samples, ramp_s


def three_identical(samples) -> float | None:
    """The naive rule: stable after three equal readings in a row; when, or None."""
    run = 1
    for (_, prev), (t, weight) in zip(samples, samples[1:], strict=False):
        run = run + 1 if weight == prev else 1
        if run >= 3:
            return t
    return None


def flicker_stream(
    fps: int, seed: int, share: float, centre: int = 40000, seconds: float = 16.0
):
    """A weight at rest: ``share`` of the readings one division off, either side."""
    rng = random.Random(seed)
    samples = []
    for t in times(fps, seconds):
        off = rng.choice((-1, 1)) if rng.random() < share else 0
        samples.append((t, centre + DIVISION * off))
    return samples


def two_reading_stream(
    fps: int, seed: int, low: int = 40000, high_share: float = 0.5, seconds=16.0
):
    """A weight at rest on the boundary of two readings: each frame shows either."""
    rng = random.Random(seed)
    return [
        (t, low + DIVISION * (rng.random() < high_share)) for t in times(fps, seconds)
    ]
