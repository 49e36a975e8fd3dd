"""cancel_and_wait: a shutdown never hangs on a task that swallows its cancel."""

import asyncio
import logging
import signal
import subprocess
import sys

import pytest

from zhichao.tasks import cancel_and_wait


async def _stubborn(swallow: int, release: asyncio.Event) -> None:
    """Swallows the first ``swallow`` cancellations (until ``release``)."""
    while not release.is_set():
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if swallow <= 0:
                raise
            swallow -= 1


@pytest.mark.timeout(30)
async def test_a_swallowed_cancellation_is_asked_again():
    task = asyncio.create_task(_stubborn(1, asyncio.Event()))
    await asyncio.sleep(0.05)

    await cancel_and_wait([task], timeout_s=3.0)

    assert task.cancelled()


@pytest.mark.timeout(30)
async def test_a_task_that_never_stops_is_logged_and_left(caplog):
    release = asyncio.Event()
    task = asyncio.create_task(_stubborn(10**9, release), name="stubborn")
    await asyncio.sleep(0.05)
    caplog.set_level(logging.WARNING)

    await cancel_and_wait([task, None], timeout_s=0.3, what="test")

    assert not task.done()
    assert "test stubborn did not stop when cancelled" in caplog.text
    release.set()
    await asyncio.wait_for(task, 5)


_PROGRAM = """
import asyncio, sys
from zhichao.tasks import run_until_stopped

async def main():
    try:
        print("running", flush=True)
        await asyncio.Event().wait()
    finally:
        await asyncio.sleep(0.05)  # a stop that takes a moment
        print("cleaned up", flush=True)

run_until_stopped(main())
print("exited", flush=True)
"""


def _default_sigint() -> None:
    # A runner started in the background of a non-interactive shell ignores
    # SIGINT, and children inherit that; a terminal's Ctrl-C reaches them.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_a_program_stops_cleanly_on_sigterm_and_ctrl_c(sig):
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROGRAM],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert out.split() == ["cleaned", "up", "exited"]
    assert proc.returncode == 0
