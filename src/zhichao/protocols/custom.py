"""A format described in the lane's configuration, for indicators nobody wrote
a decoder for (自定义格式).

The description is a mapping (a TOML table under the lane's scale settings, or
``--option key=value`` on the command line):

- ``start``, ``end``: the frame's start and end markers as text (TOML escapes
  such as ``"\\u0002"`` give control characters); at least one of ``end`` and
  ``length`` is needed, and ``length`` needs ``start``.
- ``length``: a fixed frame length, counted from the start marker.
- ``max_length``: the longest frame accepted while waiting for ``end`` (128).
- ``regex``: a regular expression the text between the markers must match in
  full, with a group named ``weight`` and optionally ``status``, ``mode``,
  ``sign`` and ``unit``; or ``fields``: fixed ``[offset, length]`` slices of
  the text between the markers under the same names.
- ``reverse_digits``: the weight field is sent lowest digit first.
- ``scale``: a factor applied to the number read (0.01 when the indicator
  sends hundredths with no point).
- ``stable``, ``unstable``, ``overload``, ``underload``: markers compared with
  the ``status`` field (or searched in the frame when there is none);
  ``net``: a marker compared with ``mode`` (or searched in the frame).
  Without ``stable`` or ``unstable``, readings carry no motion flag.

Every problem with a description is a ConfigError naming the option.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zhichao.errors import ConfigError, FrameError
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

UNIT_FACTORS = {"kg": 1, "t": 1000}
FIELD_NAMES = ("weight", "status", "mode", "sign", "unit")
MARKERS = ("stable", "unstable", "overload", "underload", "net")
OPTIONS = (
    "start",
    "end",
    "length",
    "max_length",
    "regex",
    "fields",
    "reverse_digits",
    "scale",
    *MARKERS,
)
MAX_FRAME = 1024

_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class CustomFormat:
    """A validated description; ``new_framer`` and ``decode`` use it."""

    start: bytes
    end: bytes
    length: int | None
    max_length: int
    regex: re.Pattern[str] | None
    fields: dict[str, tuple[int, int]]
    reverse_digits: bool
    scale: float
    markers: dict[str, str]

    def new_framer(self) -> DelimitedFramer:
        return DelimitedFramer(
            start=self.start,
            end=self.end,
            length=self.length,
            max_len=self.max_length,
        )

    def decode(self, frame: bytes, unit: str = "kg") -> WeightReading:
        if unit not in UNIT_FACTORS:
            raise ConfigError(f"unit must be kg or t, got {unit!r}")
        frame = bytes(frame)
        values = self._fields(frame)
        status_text = values.get("status")
        text = frame.decode("latin-1")

        net = self._marked("net", values.get("mode"), text)
        if self._marked("overload", status_text, text):
            return WeightReading(None, None, WeightStatus.OVERLOAD, frame, net)
        if self._marked("underload", status_text, text):
            return WeightReading(None, None, WeightStatus.UNDERLOAD, frame, net)
        weight = self._weight(values, unit)
        return WeightReading(
            weight, self._stable(status_text, text), WeightStatus.OK, frame, net
        )

    def _fields(self, frame: bytes) -> dict[str, str]:
        body = self._body(frame).decode("latin-1")
        if self.regex is not None:
            match = self.regex.fullmatch(body)
            if match is None:
                raise FrameError(f"frame does not match the regex: {body[:80]!r}")
            return {k: v for k, v in match.groupdict().items() if v is not None}
        if len(body) < max(o + n for o, n in self.fields.values()):
            raise FrameError(f"frame too short for the fields: {body[:80]!r}")
        return {name: body[o : o + n] for name, (o, n) in self.fields.items()}

    def _body(self, frame: bytes) -> bytes:
        if not frame.startswith(self.start) or len(frame) > MAX_FRAME:
            raise FrameError(f"frame must start with {self.start!r}")
        body = frame[len(self.start) :]
        if self.end:
            if not body.endswith(self.end):
                raise FrameError(f"frame must end with {self.end!r}")
            body = body[: len(body) - len(self.end)]
        return body

    def _weight(self, values: dict[str, str], unit: str) -> int | float:
        raw = values.get("weight", "")
        shown = raw[::-1] if self.reverse_digits else raw
        shown = shown.replace(" ", "")
        if not _NUMBER.fullmatch(shown):
            raise FrameError(f"weight field is not a number: {raw!r}")
        factor = UNIT_FACTORS.get(values.get("unit", "").strip(), UNIT_FACTORS[unit])
        weight = float(shown) * self.scale * factor
        if values.get("sign", "").strip() == "-":
            weight = -abs(weight)
        return int(weight) if weight == int(weight) else round(weight, 6)

    def _stable(self, status: str | None, text: str) -> bool | None:
        if self._marked("unstable", status, text):
            return False
        if self._marked("stable", status, text):
            return True
        if "stable" in self.markers or "unstable" in self.markers:
            return "stable" not in self.markers  # only "unstable" defined: not it
        return None

    def _marked(self, name: str, field: str | None, text: str) -> bool:
        marker = self.markers.get(name)
        if not marker:
            return False
        if field is not None:
            return field.strip() == marker
        return marker in text


def parse_custom(options: Mapping[str, Any]) -> CustomFormat:
    """Validate a description; ConfigError names the option at fault."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"custom scale format: unknown option {unknown[0]!r}; "
            f"options: {', '.join(OPTIONS)}"
        )
    start = _marker(options, "start")
    end = _marker(options, "end")
    length = _int(options, "length", None)
    max_length = _int(options, "max_length", 128)
    if not end and not length:
        raise ConfigError("custom scale format: option 'end' or 'length' is needed")
    if length and not start:
        raise ConfigError("custom scale format: option 'length' needs 'start'")
    if length and not len(start) + len(end) < length <= MAX_FRAME:
        raise ConfigError(
            f"custom scale format: option 'length' must fit, got {length}"
        )
    regex, fields = _pattern(options)
    return CustomFormat(
        start=start,
        end=end,
        length=length,
        max_length=max_length,
        regex=regex,
        fields=fields,
        reverse_digits=_bool(options, "reverse_digits"),
        scale=_scale(options),
        markers={m: _text(options, m) for m in MARKERS if options.get(m)},
    )


def _pattern(options: Mapping[str, Any]):
    has_regex, has_fields = "regex" in options, "fields" in options
    if has_regex == has_fields:
        raise ConfigError(
            "custom scale format: give exactly one of 'regex' and 'fields'"
        )
    if has_regex:
        try:
            regex = re.compile(_text(options, "regex"))
        except re.error as err:
            raise ConfigError(
                f"custom scale format: option 'regex' is not a valid regular "
                f"expression: {err}"
            ) from err
        if "weight" not in regex.groupindex:
            raise ConfigError(
                "custom scale format: option 'regex' needs a group named 'weight'"
            )
        return regex, {}
    return None, _fields(options["fields"])


def _fields(value: Any) -> dict[str, tuple[int, int]]:
    if not isinstance(value, Mapping) or "weight" not in value:
        raise ConfigError("custom scale format: option 'fields' needs a 'weight' entry")
    fields = {}
    for name, spec in value.items():
        ok = (
            name in FIELD_NAMES
            and isinstance(spec, list | tuple)
            and len(spec) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in spec)
            and spec[0] >= 0
            and 0 < spec[1] <= MAX_FRAME
        )
        if not ok:
            raise ConfigError(
                f"custom scale format: option 'fields.{name}' must be one of "
                f"{', '.join(FIELD_NAMES)} given as [offset, length]"
            )
        fields[name] = (spec[0], spec[1])
    return fields


def _marker(options: Mapping[str, Any], key: str) -> bytes:
    text = _text(options, key) if key in options else ""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as err:
        raise ConfigError(
            f"custom scale format: option {key!r} must be single-byte characters"
        ) from err


def _text(options: Mapping[str, Any], key: str) -> str:
    value = options[key]
    if not isinstance(value, str):
        raise ConfigError(f"custom scale format: option {key!r} must be text")
    return value


def _int(options: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = options.get(key, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number <= 0 or number > MAX_FRAME:
        raise ConfigError(
            f"custom scale format: option {key!r} must be 1-{MAX_FRAME}, got {value!r}"
        )
    return number


def _bool(options: Mapping[str, Any], key: str) -> bool:
    value = options.get(key, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(f"custom scale format: option {key!r} must be true or false")
    return value


def _scale(options: Mapping[str, Any]) -> float:
    value = options.get("scale", 1)
    try:
        scale = float(value)
    except (TypeError, ValueError):
        scale = 0.0
    if isinstance(value, bool) or not scale > 0 or scale == float("inf"):
        raise ConfigError(
            "custom scale format: option 'scale' must be a positive number, "
            f"got {value!r}"
        )
    return scale
