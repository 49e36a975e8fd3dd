"""The platform under a real uvicorn server, in a process of its own.

The app is ``zhichao.platform.create_app`` built from ``ZHICHAO_PLATFORM_*``
environment settings, served by uvicorn with its defaults (uvloop and httptools
where installed) but without the per-request access log. A separate process
lets the benchmark read the server's CPU time apart from the load generator's.
"""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from zhichao.sim.demo import free_port

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0


class PlatformServer:
    """``with PlatformServer(url, evidence_dir) as server: server.url``."""

    def __init__(
        self,
        database_url: str,
        evidence_dir: Path,
        *,
        workers: int = 1,
        log_path: Path | None = None,
    ) -> None:
        self.database_url = database_url
        self.evidence_dir = Path(evidence_dir)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self) -> "PlatformServer":
        env = dict(os.environ)
        env["ZHICHAO_PLATFORM_DATABASE_URL"] = self.database_url
        env["ZHICHAO_PLATFORM_EVIDENCE_DIR"] = str(self.evidence_dir)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "zhichao.platform.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        out = subprocess.DEVNULL
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"platform server exited ({self.proc.returncode}): "
                    f"{self._log_tail()}"
                )
            try:
                # a page that needs no database: a big one can be slow to answer
                if httpx.get(f"{self.url}/openapi.json", timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"platform server did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-1500:]

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
