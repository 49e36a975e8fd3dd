"""Stopping asyncio tasks without trusting every library to honour a cancel,
and running a long-lived program until Ctrl-C or SIGTERM asks it to stop."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterable
from typing import Any

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


def run_until_stopped(main: Coroutine[Any, Any, Any]) -> None:
    """Run ``main`` until it returns or Ctrl-C (SIGINT) or SIGTERM stops it.

    Either signal cancels ``main``, so its ``finally`` blocks stop the devices
    and close the stores before the process exits; systemd and container
    runtimes stop a service with SIGTERM. A second Ctrl-C while stopping
    interrupts the stop. A process started with SIGINT ignored (a background
    job of a non-interactive shell) still stops on SIGTERM.
    """

    async def until_signalled() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        asked = False

        def stop() -> None:
            nonlocal asked
            asked = True
            task.cancel()

        # not on every platform (Windows), nor outside the main thread
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, stop)
        try:
            await main
        except asyncio.CancelledError:
            if not asked:
                raise
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(until_signalled())
