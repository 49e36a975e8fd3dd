"""Weight stability detection (称重稳定判定) for one weighbridge indicator stream.

A weight is declared stable when, over the last ``window_s`` seconds of samples:

- no sample was over or under range, and none carried the indicator's motion flag;
- the samples stay inside a band of ``band_divisions`` divisions peak to peak;
- when they use the whole band (three adjacent readings with the default band
  of 2 e), the outer readings are rare enough to be flickers (the evidence
  rule below); readings spanning at most ``band_divisions - 1`` divisions (two
  adjacent readings by default) need no evidence;
- the least-squares slope does not exceed ``slope_divisions_per_s`` divisions per
  second by more than ``SLOPE_CONFIDENCE`` standard errors of that slope.

Readings are quantised to the division, so a settled weight shows as one
reading, or as two adjacent ones when the true weight lies near the boundary
between them (in any proportion, up to 50/50), or as one reading with rare
flickers to the readings either side, or as two adjacent ones with a rare
flicker one further out. Noise of ±2 e can also stay on three adjacent
readings for a second, but it spreads over them about evenly.

The evidence rule scores each sample and takes the larger of two totals:

- *around the middle*: ``INNER_SCORE`` (2) for a reading between the window's
  lowest and highest readings (the middle one with the default band), and
  minus one for each inner reading the band has (−1 with the default band)
  for a reading on the lowest or highest one;
- *one rare outer reading*, for each side: ``CORE_SCORE`` (1) for a reading
  off that side, and minus one more than the band has inner readings (−2 by
  default) for a reading on it.

The samples just before the window that stay on the same readings (up to
``EARLIER_WINDOWS`` windows back) add their score when it is positive. The
weight is stable when the total reaches ``EVIDENCE_NEEDED`` (16). A window
with no reading between its lowest and highest has no evidence.

With the default band the first scores are log-likelihood ratios in units of
ln 2: a settled weight that flickers to each side a tenth of the time shows
its middle reading 4 times as often as noise spread evenly over five readings
(ln 4 = 2 ln 2) and an outer one half as often (−ln 2). The threshold is a
ratio of 2^16: under such noise the ratio is a martingale, so a stretch that
starts at a given sample reaches it, around a given middle reading, with a
chance below 2^-16. The second scores are each below the log-likelihood
ratio of a weight on the boundary of two readings that flickers one further
out a tenth of the time (log2 2.25 and −1), so the same bound holds. Both are
set so that readings spread evenly over the band's readings score nothing on
average, with any band: they never pass. A full window of 11 samples (10
frames/s) passes with one flicker to each side of the middle; one of 21 (20
frames/s) with up to eight, or with one rare reading on one side; a longer
stretch on the same readings lets a window with more flickers pass a little
later.

The standard-error allowance exists because readings are quantised to one
division: a settled truck flickering by one division can show an apparent slope
of more than one division per second across a one-second window, while a truck
still creeping on shows a clean ramp with a small standard error and is refused.

The reported weight is the median of the window, rounded to the division, with
a median exactly between two divisions going to the lower one: the reading the
weight stays on (the middle one of a flicker to both sides; the more frequent
of two adjacent ones).
"""

import logging
import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

# How many standard errors of the fitted slope are allowed above the bound.
SLOPE_CONFIDENCE = 2.0
# The evidence rule for a window on the whole band (see the module docstring).
INNER_SCORE = 2
CORE_SCORE = 1
EVIDENCE_NEEDED = 16
# How far before the window, in windows, samples on the same readings count.
EARLIER_WINDOWS = 3
# Slack for comparing readings with the band and the division (a fraction of e).
LEVEL_EPS = 1e-6
# Slack for floating-point sums of sample times (seconds).
TIME_EPS = 1e-6


@dataclass(frozen=True)
class StabilityConfig:
    """Per-lane stability settings; defaults follow the design brief."""

    division_kg: int = 20
    window_s: float = 1.0
    band_divisions: float = 2
    slope_divisions_per_s: float = 1.0
    timeout_s: float = 15.0

    @property
    def band_kg(self) -> float:
        return self.band_divisions * self.division_kg

    @property
    def slope_kg_per_s(self) -> float:
        return self.slope_divisions_per_s * self.division_kg


class StabilityKind(StrEnum):
    STABLE = "stable"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class StabilityResult:
    """The end of one wait: a stable weight, or a timeout as unstable."""

    kind: StabilityKind
    weight_kg: int | None
    at: float


class StabilityDetector:
    """Decide, sample by sample, when a weight has settled.

    ``reset(t)`` starts a wait whose timeout counts from ``t``. ``add`` returns a
    result once per wait: the first stable weight, or the timeout. After that it
    returns None until the next ``reset``. A detector that was never reset starts
    its first wait at the time of its first sample.
    """

    def __init__(self, config: StabilityConfig) -> None:
        self.config = config
        self._window: deque[tuple[float, float]] = deque()
        # Samples that left the window, newest last, for the evidence rule.
        self._earlier: deque[tuple[float, float]] = deque()
        self._started: float | None = None
        self._done = False
        self._last_t: float | None = None

    @property
    def waiting(self) -> bool:
        return self._started is not None and not self._done

    def reset(self, t: float) -> None:
        self._clear()
        self._started = t
        self._done = False
        self._last_t = None

    def add(self, t: float, reading: WeightReading) -> StabilityResult | None:
        if self._started is None:
            self.reset(t)
        if self._done:
            return None

        self._accept(t, reading)
        weight = self._stable_weight(t)
        if weight is not None:
            return self._finish(StabilityKind.STABLE, weight, t)
        return self.expire(t)

    def expire(self, t: float) -> StabilityResult | None:
        """Report the timeout if it has passed; for clock ticks between samples."""
        if not self.waiting:
            return None
        if t - self._started < self.config.timeout_s - TIME_EPS:
            return None
        logger.debug("weight did not settle within %s s", self.config.timeout_s)
        return self._finish(StabilityKind.TIMEOUT, None, t)

    def _finish(
        self, kind: StabilityKind, weight: int | None, t: float
    ) -> StabilityResult:
        self._done = True
        self._clear()
        return StabilityResult(kind, weight, t)

    def _clear(self) -> None:
        self._window.clear()
        self._earlier.clear()

    def _accept(self, t: float, reading: WeightReading) -> None:
        """Put one sample into the window, or empty the window when it must."""
        if self._last_t is not None and t < self._last_t:
            logger.warning("sample time went back from %s to %s", self._last_t, t)
            self._clear()
        self._last_t = t
        if reading.weight_kg is None or reading.status is not WeightStatus.OK:
            self._clear()
            return
        if reading.stable is False:
            self._clear()
            return

        self._window.append((t, float(reading.weight_kg)))
        # Keep the newest samples that still span the window, no older ones.
        while len(self._window) > 1 and t - self._window[1][0] >= (
            self.config.window_s - TIME_EPS
        ):
            self._earlier.append(self._window.popleft())
        kept = EARLIER_WINDOWS * self.config.window_s + TIME_EPS
        while self._earlier and self._window[0][0] - self._earlier[0][0] > kept:
            self._earlier.popleft()

    def _stable_weight(self, t: float) -> int | None:
        if len(self._window) < 3:
            return None
        if t - self._window[0][0] < self.config.window_s - TIME_EPS:
            return None

        values = [w for _, w in self._window]
        low, high = min(values), max(values)
        division = self.config.division_kg
        eps = LEVEL_EPS * division
        if high - low > self.config.band_kg + eps:
            return None
        free = max(self.config.band_kg - division, 0.0)  # needs no evidence
        whole_band = high - low > free + eps
        if whole_band and self._evidence(low, high) < EVIDENCE_NEEDED:
            return None
        if not self._slope_ok():
            return None
        return round_to_division(_median(values), division)

    def _evidence(self, low: float, high: float) -> int:
        """The evidence rule's score for readings between ``low`` and ``high``.

        The larger of two scores: a flicker to both sides of the inner readings,
        or all readings but one outer one, which is rare (a weight near the
        boundary of two readings that now and then flickers one further out).
        """
        division = self.config.division_kg
        inner_readings = round((high - low) / division) - 1
        if inner_readings < 1:
            return 0  # under two divisions apart: no reading between them
        half = division / 2

        def side(w: float) -> int:
            """-1 on the lowest reading, 1 on the highest, 0 between them."""
            return -1 if w < low + half else 1 if w > high - half else 0

        if all(side(w) for _, w in self._window):
            return 0  # no reading between the outer ones: a jump, not a flicker
        # Scores such that readings spread evenly over the band add nothing on
        # average: around the inner readings, and with one rare outer reading.
        outer = -inner_readings * INNER_SCORE // 2
        rare = -(inner_readings + 1) * CORE_SCORE

        def around(w: float) -> int:
            return outer if side(w) else INNER_SCORE

        def rare_low(w: float) -> int:
            return rare if side(w) < 0 else CORE_SCORE

        def rare_high(w: float) -> int:
            return rare if side(w) > 0 else CORE_SCORE

        return max(
            self._stretch(score, low, high) for score in (around, rare_low, rare_high)
        )

    def _stretch(self, score, low: float, high: float) -> int:
        """The window's score, plus that of the samples before it if it adds.

        The samples before the window count back to the first one off the
        readings between ``low`` and ``high``.
        """
        total = sum(score(w) for _, w in self._window)
        eps = LEVEL_EPS * self.config.division_kg
        earlier = best = 0
        for _, w in reversed(self._earlier):
            if w < low - eps or w > high + eps:
                break
            earlier += score(w)
            best = max(best, earlier)
        return total + best

    def _slope_ok(self) -> bool:
        slope, stderr = fit_slope(list(self._window))
        allowed = self.config.slope_kg_per_s + SLOPE_CONFIDENCE * stderr
        return abs(slope) <= allowed


def fit_slope(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope (kg/s) of ``(t, kg)`` samples and its standard error."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_w = sum(w for _, w in samples) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in samples)
    if sxx <= 0:
        return 0.0, 0.0
    sxy = sum((t - mean_t) * (w - mean_w) for t, w in samples)
    slope = sxy / sxx

    residual = sum((w - mean_w - slope * (t - mean_t)) ** 2 for t, w in samples)
    stderr = math.sqrt(residual / (n - 2) / sxx) if n > 2 else 0.0
    return slope, stderr


def round_to_division(weight_kg: float, division_kg: int) -> int:
    """Round to the nearest division; exactly half-way goes to the lower one."""
    steps = math.ceil(weight_kg / division_kg - 0.5)
    return int(steps * division_kg)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


class ZeroKind(StrEnum):
    """How the empty deck read after a truck left (回零检查)."""

    ZERO = "zero"  # settled within the zero band
    NOT_ZERO = "not_zero"  # settled elsewhere: did not return to zero
    UNSETTLED = "unsettled"  # never settled within the timeout


@dataclass(frozen=True)
class ZeroConfig:
    """Zero tracking between trucks; the band is in divisions either side of 0."""

    zero_band_divisions: float = 1.0
    timeout_s: float = 15.0


@dataclass(frozen=True)
class ZeroResult:
    """The empty-deck check after one truck: ``offset_kg`` is where it settled."""

    kind: ZeroKind
    offset_kg: int | None
    at: float

    @property
    def returned_to_zero(self) -> bool:
        return self.kind is ZeroKind.ZERO


class ZeroTracker:
    """Check that the scale returns to zero between trucks.

    Call ``truck_left(t)`` when the deck is empty again; then ``add`` each
    reading. Once the empty deck is stable (by the same rules as a loaded
    one), ``add`` returns a ZeroResult once: ``NOT_ZERO`` when the settled
    weight is outside the zero band — the "did not return to zero" finding —
    or ``UNSETTLED`` at the timeout. ``last`` keeps the latest result;
    ``cancel()`` drops a check (a truck drove on before it ended).
    """

    def __init__(
        self,
        stability: StabilityConfig = StabilityConfig(),
        config: ZeroConfig = ZeroConfig(),
    ) -> None:
        self.config = config
        self._division_kg = stability.division_kg
        self._detector = StabilityDetector(
            StabilityConfig(
                division_kg=stability.division_kg,
                window_s=stability.window_s,
                band_divisions=stability.band_divisions,
                slope_divisions_per_s=stability.slope_divisions_per_s,
                timeout_s=config.timeout_s,
            )
        )
        self._checking = False
        self.last: ZeroResult | None = None

    @property
    def checking(self) -> bool:
        return self._checking

    def truck_left(self, t: float) -> None:
        self._detector.reset(t)
        self._checking = True

    def cancel(self) -> None:
        self._checking = False

    def add(self, t: float, reading: WeightReading) -> ZeroResult | None:
        if not self._checking:
            return None
        return self._judge(self._detector.add(t, reading))

    def expire(self, t: float) -> ZeroResult | None:
        if not self._checking:
            return None
        return self._judge(self._detector.expire(t))

    def _judge(self, result: StabilityResult | None) -> ZeroResult | None:
        if result is None:
            return None
        self._checking = False
        if result.kind is StabilityKind.TIMEOUT:
            zero = ZeroResult(ZeroKind.UNSETTLED, None, result.at)
        else:
            band = self.config.zero_band_divisions * self._division_kg
            kind = ZeroKind.ZERO if abs(result.weight_kg) <= band else ZeroKind.NOT_ZERO
            zero = ZeroResult(kind, result.weight_kg, result.at)
        if zero.kind is not ZeroKind.ZERO:
            logger.info(
                "empty deck after the truck: %s (%s kg)", zero.kind, zero.offset_kg
            )
        self.last = zero
        return zero
