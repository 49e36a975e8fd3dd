"""Sample a running server with py-spy and summarise where its time goes."""

import logging
import shutil
import subprocess
from collections import Counter
from pathlib import Path

logger = logging.getLogger(__name__)


def available() -> bool:
    return shutil.which("py-spy") is not None or _venv_py_spy().exists()


def _venv_py_spy() -> Path:
    import sys

    return Path(sys.executable).with_name("py-spy")


class Sampler:
    """``with Sampler(pid, out): ...`` records raw stacks while the block runs."""

    def __init__(self, pid: int, out: Path, rate: int = 97) -> None:
        self.pid, self.out, self.rate = pid, Path(out), rate
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Sampler":
        exe = shutil.which("py-spy") or str(_venv_py_spy())
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(self.pid),
                "--subprocesses",
                "--nonblocking",
                "--format",
                "raw",
                "--rate",
                str(self.rate),
                "--output",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc) -> None:
        # py-spy writes its file when interrupted
        self.proc.send_signal(2)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def summarise(path: Path, top: int = 15) -> dict:
    """Inclusive and self shares of the sampled functions, largest first."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {"samples": 0}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if "(" in f and ".py" in f]
        if not frames:
            continue
        total += n
        # inclusive shares only for the product's own functions
        for name in {_short(f) for f in frames if "zhichao/" in f}:
            inclusive[name] += n
        own[_short(frames[-1])] += n
    share = (lambda c: round(c / total, 3)) if total else (lambda c: 0)
    return {
        "samples": total,
        "inclusive": [[n, share(c)] for n, c in inclusive.most_common(top)],
        "self": [[n, share(c)] for n, c in own.most_common(top)],
    }


def _short(frame: str) -> str:
    """``func (path/to/mod.py:12)`` -> ``func (mod.py)``."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = file.split("/")
    tail = "/".join(parts[-2:]) if parts else file
    return f"{name} ({tail})"
