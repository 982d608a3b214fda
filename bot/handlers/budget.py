"""Work that may be answered in the ack: Slack waits 3 s for an ack, the answer budget
(PAYBOT_ANSWER_BUDGET) much less, so work that reads a remote processor is started, given the
budget, and otherwise answered after the ack (a command through its response_url, a modal by
views.update)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def within(work: Awaitable[T], budget: float) -> tuple[asyncio.Future[T], bool]:
    """``work`` started, and whether it was done within ``budget`` seconds (its result, or its
    error, is then ready for the ack). A timer and a callback, not ``asyncio.wait``: its sets,
    callbacks and waiter cost a twentieth of a lookup's CPU (bench/answers.py)."""
    task = asyncio.ensure_future(work)
    await first_of(task, budget)
    return task, task.done()


async def first_of(work: asyncio.Future[Any], seconds: float) -> None:
    """Wait until ``work`` is done or ``seconds`` have passed, whichever comes first."""
    if work.done():
        return
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(seconds, wake)
    work.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        work.remove_done_callback(wake)
