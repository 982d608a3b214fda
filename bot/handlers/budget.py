"""Work that may be answered in the ack: Slack waits 3 s for an ack, the answer budget
(PAYBOT_ANSWER_BUDGET) much less, so work that reads a remote processor is started, given the
budget, and otherwise answered after the ack (a command through its response_url, a modal by
views.update)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(work: Awaitable[T], budget: float) -> tuple[asyncio.Future[T], bool]:
    """``work`` started, and whether it was done within ``budget`` seconds (its result, or its
    error, is then ready for the ack)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=budget)
    return task, task in done
