"""Stopping asyncio tasks without trusting every library to honour a cancel."""

import asyncio
import contextlib
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

ATTEMPTS = 3


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task | None], timeout_s: float = 6.0, what: str = "task"
) -> None:
    """Cancel ``tasks`` and wait for them to end, at most ``timeout_s``.

    A task whose cancellation was swallowed somewhere inside a library is
    cancelled again; one still running after the time is logged and left, so
    a shutdown never hangs on it.
    """
    pending = {task for task in tasks if task is not None and not task.done()}
    done: set[asyncio.Task] = set()
    for _ in range(ATTEMPTS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        finished, pending = await asyncio.wait(pending, timeout=timeout_s / ATTEMPTS)
        done |= finished
    for task in done:
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()
    for task in pending:
        logger.warning("%s %s did not stop when cancelled", what, task.get_name())
