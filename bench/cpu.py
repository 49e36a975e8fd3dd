"""CPU time and memory of processes, read from /proc (Linux).

Two cores are shared by the load generator, the platform and PostgreSQL, so a
figure means little without knowing who used them: the server's, the client's
and the database's CPU seconds are read separately.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; fields after it are plain
    return text[text.rindex(")") + 2 :].split()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def children(pid: int) -> list[int]:
    """Every living descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def tree_cpu_s(pid: int) -> float:
    return sum(cpu_s(p) for p in [pid, *children(pid)])


def pids_cpu_s(pids: list[int]) -> dict[int, float]:
    """CPU seconds per living process of ``pids``."""
    return {p: cpu_s(p) for p in pids if _stat(p) is not None}


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat)."""
    with open("/proc/stat", encoding="utf-8") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICKS


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def memory_kib(pid: int, field: str = "VmRSS") -> int | None:
    """A memory figure of ``/proc/<pid>/status`` (VmRSS, VmHWM) in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class CpuWindow:
    """Wall time and CPU seconds of the server, the client and the database."""

    server_pid: int
    db_pids: list[int]
    wall_s: float = 0.0
    server_s: float = 0.0
    client_s: float = 0.0
    db_s: float = 0.0
    machine_s: float = 0.0

    def __enter__(self) -> "CpuWindow":
        self._t = time.perf_counter()
        self._server = tree_cpu_s(self.server_pid)
        self._client = own_cpu_s()
        self._db = pids_cpu_s(self.db_pids)
        self._busy = machine_busy_s()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._t
        self.server_s = tree_cpu_s(self.server_pid) - self._server
        self.client_s = own_cpu_s() - self._client
        # only the database processes that lived through the whole window
        end = pids_cpu_s(self.db_pids)
        self.db_s = sum(end[p] - self._db[p] for p in end if p in self._db)
        self.machine_s = machine_busy_s() - self._busy

    def as_json(self) -> dict:
        used = self.server_s + self.client_s + self.db_s
        return {
            "wall_s": round(self.wall_s, 3),
            "server_cpu_s": round(self.server_s, 3),
            "client_cpu_s": round(self.client_s, 3),
            "db_cpu_s": round(self.db_s, 3),
            "client_cpu_share": round(self.client_s / used, 3) if used else None,
            "cores_busy": round(used / self.wall_s, 2) if self.wall_s else None,
            # CPU the rest of the machine used meanwhile (other work, PostgreSQL's
            # background processes): a run on a busy machine shows it here
            "other_cpu_s": round(max(0.0, self.machine_s - used), 3),
        }
