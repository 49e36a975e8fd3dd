"""``zhichao rules check`` run as a real process, as a pipe filter would be."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OUTPUT_KEYS = ["limit_kg", "over_kg", "over_rate_pct", "overloaded", "basis", "flags"]


@pytest.fixture(scope="module")
def zhichao() -> str:
    beside = Path(sys.executable).with_name("zhichao")
    path = str(beside) if beside.exists() else shutil.which("zhichao")
    if path is None:
        pytest.fail("the zhichao command is not installed")
    return path


def run(zhichao: str, data: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [zhichao, "rules", "check", *args],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )


# (input line, expected output: a verdict's fields or a fragment of the error)
LINES = [
    (
        '{"axles": 3, "kind": "truck", "gross_kg": 25000}',
        {"limit_kg": 25000, "over_kg": 0, "overloaded": False, "flags": []},
    ),
    (
        '{"axles": 6, "kind": "combination", "gross_kg": 58800, "tolerance_kg": 0}',
        {"limit_kg": 49000, "over_kg": 9800, "over_rate_pct": 20.0, "overloaded": True},
    ),
    ("not json", "not JSON"),
    (
        '{"axles": 4, "kind": "truck", "air_suspension": true, "gross_kg": 32008}',
        {"limit_kg": 32000, "over_kg": 8, "over_rate_pct": 0.03},
    ),
    ("[1, 2]", "expected a JSON object, got array"),
    ('{"axles": 3, "gross_kg": 1, "colour": "red"}', 'unknown key "colour"'),
    (
        '{"axles": true, "gross_kg": 1}',
        "axles: expected an integer or null, got boolean",
    ),
    (
        '{"axles": 3, "gross_kg": "25000"}',
        "gross_kg: expected an integer (kg), got string",
    ),
    (
        '{"axles": 3, "gross_kg": 25000.5}',
        "gross_kg: expected an integer (kg), got number",
    ),
    ('{"axles": 3}', "gross_kg: required"),
    ('{"axles": 5, "kind": "truck", "gross_kg": 1}', "no 5-axle truck"),
    (
        '{"axles": 3, "wide_tyres": null, "gross_kg": 1}',
        "wide_tyres: expected a boolean",
    ),
    (
        '{"gross_kg": 20000, "kind": null, "axles": null, "registered_gross_kg": null}',
        {"limit_kg": 18000, "flags": ["no_axle_count"]},
    ),
    (
        '{"axles": 2, "kind": "low_speed", "registered_gross_kg": 4495, '
        '"gross_kg": 4500}',
        {"limit_kg": 4495, "over_kg": 5, "over_rate_pct": 0.11, "overloaded": True},
    ),
    ('{"gross_kg": 1, "gross_kg": 2}', 'key "gross_kg" given twice'),
    (
        '{"axles": 3, "kind": "truck", "gross_kg": 25050, "tolerance_kg": 60}',
        {"over_kg": 50, "overloaded": False, "flags": ["within_tolerance"]},
    ),
]


def test_mixed_good_and_bad_lines_give_one_output_line_each(zhichao):
    data = "\n\n".join(line for line, _ in LINES) + "\n   \n"

    result = run(zhichao, data.encode("utf-8"))

    assert result.returncode == 0, result.stderr
    outputs = result.stdout.decode("utf-8").splitlines()
    assert len(outputs) == len(LINES)  # blank lines were skipped, not answered
    for (line, expected), output in zip(LINES, outputs, strict=True):
        answer = json.loads(output)
        if isinstance(expected, str):
            assert list(answer) == ["error"], line
            assert expected in answer["error"], (line, answer)
        else:
            assert list(answer) == OUTPUT_KEYS, line
            assert answer.items() >= expected.items(), (line, answer)


def test_error_names_the_input_line(zhichao):
    result = run(zhichao, b'{"axles": 3, "gross_kg": 1}\n\nnope\n')

    outputs = result.stdout.decode("utf-8").splitlines()
    assert json.loads(outputs[1])["error"].startswith("line 3: ")


def test_output_is_utf8_text_and_the_rate_has_at_most_two_decimals(zhichao):
    result = run(zhichao, b'{"axles": 6, "kind": "combination", "gross_kg": 50000}\n')

    line = result.stdout.decode("utf-8").strip()
    assert "\\u" not in line and "六轴及以上汽车列车" in line  # not escaped
    rate = re.search(r'"over_rate_pct": ([^,]+),', line).group(1)
    assert rate == "2.04"
    assert json.loads(line)["basis"].startswith("《超限运输车辆行驶公路管理规定》")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"axles": 3, "gross_kg": "\xff\xfe"}\n', "not UTF-8"),
        (b"[" * 100000 + b"\n", "not JSON"),
        (b'"just a string"\n', "got string"),
        (b"null\n", "got null"),
    ],
)
def test_unusable_lines_are_answered_and_processing_continues(zhichao, data, fragment):
    result = run(zhichao, data + b'{"axles": 2, "kind": "truck", "gross_kg": 1}\n')

    assert result.returncode == 0
    first, second = result.stdout.decode("utf-8").splitlines()
    assert fragment in json.loads(first)["error"]
    assert json.loads(second)["limit_kg"] == 18000


def test_each_verdict_is_flushed_before_the_next_line_arrives(zhichao):
    with subprocess.Popen(
        [zhichao, "rules", "check"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        for gross in (10000, 30000):
            line = json.dumps({"axles": 2, "kind": "truck", "gross_kg": gross})
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            assert answer["overloaded"] is (gross > 18000)
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_unusable_arguments_exit_non_zero(zhichao):
    result = run(zhichao, b"", "--no-such-option")

    assert result.returncode == 2
    assert result.stdout == b""
