"""Work that may be answered in the ack: Slack waits 3 s for an ack, the answer budget
(PAYBOT_ANSWER_BUDGET) much less, so work that reads a remote processor is started, given the
budget, and otherwise answered after the ack (a command through its response_url, a modal by
views.update)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_time(
    work: Awaitable[T], budget: float, late: Callable[[], Awaitable[object]]
) -> tuple[T, bool]:
    """``work``'s result, and whether it came within ``budget`` seconds. When the budget is
    spent first, ``late()`` (the placeholder answer) is started then, while the work goes on,
    and is done before this returns or raises: an error of the work then comes after the ack,
    one within the budget before it (the ack's answer). The work is awaited here, with a timer
    beside it, not run as a task of its own: the task, its waiter and their callbacks cost ten
    microseconds an answer, an eightieth of a `/pay lookup` (bench/answers.py)."""
    started: list[asyncio.Future[object]] = []

    def spent() -> None:
        started.append(asyncio.ensure_future(late()))

    timer = asyncio.get_running_loop().call_later(budget, spent)
    try:
        result = await work
    finally:
        timer.cancel()
        if started:
            await started[0]
    return result, not started


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
