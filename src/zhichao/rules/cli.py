"""``zhichao rules``: apply the limits table from the command line.

``zhichao rules check`` reads one JSON vehicle per line on stdin and writes one
JSON verdict per line on stdout, flushing each line so that it works in a pipe.
A line it cannot use becomes ``{"error": "..."}`` and the next line is read.
"""

import json
import logging
import os
import sys
from typing import BinaryIO

import click

from zhichao.errors import RulesInputError
from zhichao.rules.verdict import VehicleInput, Verdict, check, json_type_name

logger = logging.getLogger(__name__)

INPUT_KEYS = (
    "axles",
    "kind",
    "single_drive_axle",
    "single_tyre_axles",
    "wide_tyres",
    "air_suspension",
    "registered_gross_kg",
    "gross_kg",
    "tolerance_kg",
)
REQUIRED_KEYS = ("gross_kg",)


class _LineError(Exception):
    """One input line that cannot be checked; the message goes to stdout."""


@click.group()
def rules() -> None:
    """Gross-mass limits and verdicts (超限判定)."""


@rules.command("check")
def check_command() -> None:
    """Check vehicles: one JSON object per line on stdin, one verdict per line out.

    \b
    Input keys: axles, kind (truck | combination | low_speed | null),
    single_drive_axle, single_tyre_axles, wide_tyres, air_suspension,
    registered_gross_kg, gross_kg (required), tolerance_kg.
    Output keys: limit_kg, over_kg, over_rate_pct, overloaded, basis, flags;
    or {"error": "..."} for a line that cannot be checked.
    """
    stdin = click.get_binary_stream("stdin")
    stdout = click.get_binary_stream("stdout")
    try:
        _run(stdin, stdout)
    except BrokenPipeError:
        # the reader went away: stop quietly, as a filter in a pipe should
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _run(stdin: BinaryIO, stdout: BinaryIO) -> None:
    for number, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        try:
            out = encode_verdict(check(parse_line(raw)))
        except (_LineError, RulesInputError) as err:
            logger.info("line %s not checked: %s", number, err)
            out = json.dumps({"error": f"line {number}: {err}"}, ensure_ascii=False)
        stdout.write(out.encode("utf-8") + b"\n")
        stdout.flush()


def parse_line(raw: bytes) -> VehicleInput:
    """One input line to a VehicleInput; types are checked by ``check`` itself."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _LineError(f"not UTF-8 text (byte {err.start})") from err
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except RecursionError as err:
        raise _LineError("not JSON: nested too deeply") from err
    except ValueError as err:
        raise _LineError(f"not JSON: {err}") from err

    if not isinstance(data, dict):
        raise _LineError(f"expected a JSON object, got {json_type_name(data)}")
    unknown = [key for key in data if key not in INPUT_KEYS]
    if unknown:
        raise _LineError(
            f"unknown key {json.dumps(unknown[0], ensure_ascii=False)}; "
            f"known keys: {', '.join(INPUT_KEYS)}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise _LineError(f"{missing[0]}: required, an integer (kg)")
    return VehicleInput(**{"axles": None, **data})


def encode_verdict(verdict: Verdict) -> str:
    """The output line for a verdict; the rate is written as an exact decimal."""
    plain = {
        "limit_kg": verdict.limit_kg,
        "over_kg": verdict.over_kg,
        "over_rate_pct": None,
        "overloaded": verdict.overloaded,
        "basis": verdict.basis,
        "flags": list(verdict.flags),
    }
    # json has no exact decimal type; the rate is placed as its own digits so a
    # reader gets e.g. 12.35, never a binary float's approximation of it
    parts = [
        f"{json.dumps(key)}: "
        + (str(verdict.over_rate_pct) if key == "over_rate_pct" else _dump(value))
        for key, value in plain.items()
    ]
    return "{" + ", ".join(parts) + "}"


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise _LineError(f"key {json.dumps(key, ensure_ascii=False)} given twice")
        data[key] = value
    return data
