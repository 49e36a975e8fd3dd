"""CPU time of processes, read separately for the server, the client and the database.

Two cores are shared by the load generator, the platform and PostgreSQL, so a
figure means little without knowing who used them.
"""

import os
import time
from dataclasses import dataclass

import psutil


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its living children."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def pids_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class CpuWindow:
    """Wall time and CPU seconds of the server, the client and the database."""

    server_pid: int
    db_pids: list[int]
    wall_s: float = 0.0
    server_s: float = 0.0
    client_s: float = 0.0
    db_s: float = 0.0

    def __enter__(self) -> "CpuWindow":
        self._t = time.perf_counter()
        self._server = tree_cpu_s(self.server_pid)
        self._client = own_cpu_s()
        self._db = pids_cpu_s(self.db_pids)
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._t
        self.server_s = tree_cpu_s(self.server_pid) - self._server
        self.client_s = own_cpu_s() - self._client
        self.db_s = pids_cpu_s(self.db_pids) - self._db

    def as_json(self) -> dict:
        used = self.server_s + self.client_s + self.db_s
        return {
            "wall_s": round(self.wall_s, 3),
            "server_cpu_s": round(self.server_s, 3),
            "client_cpu_s": round(self.client_s, 3),
            "db_cpu_s": round(self.db_s, 3),
            "client_cpu_share": round(self.client_s / used, 3) if used else None,
            "cores_busy": round(used / self.wall_s, 2) if self.wall_s else None,
        }
