"""cancel_and_wait: a shutdown never hangs on a task that swallows its cancel."""

import asyncio
import logging

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
