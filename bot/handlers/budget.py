"""Work that may be answered in the ack: Slack waits 3 s for an ack, the answer budget
(PAYBOT_ANSWER_BUDGET) much less, so work that reads a remote processor is started, given the
budget, and otherwise answered after the ack (a command through its response_url, a modal by
views.update).

Every request has two such deadlines (its answer's budget, and the 3 s its ack is waited for),
and nearly every one is met. They are kept by ``Alarms``, one timer of the event loop's for all
of them, rather than a timer each: under uvloop a timer is a libuv handle made, started, stopped
and closed, and the two cost one request a sixtieth of a `/pay lookup`'s CPU
(bench/answers.py); a deadline here costs a dict entry, and rings at most ``TICK`` late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

T = TypeVar("T")
TICK = 0.05  # seconds: how late a deadline may ring (0.7 s is then at most 0.75, within 1 s)


class Alarms:
    """Callbacks due after so many seconds, on the running event loop (``of``)."""

    _loops: WeakKeyDictionary[asyncio.AbstractEventLoop, Alarms] = WeakKeyDictionary()
    _last: Alarms | None = None  # the last loop's: a weak dictionary's look-up makes a weakref

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[object, tuple[float, Callable[[], None]]] = {}
        self._ticking = False

    @classmethod
    def of(cls) -> Alarms:
        loop = asyncio.get_running_loop()
        last = cls._last
        if last is not None and last._loop is loop:
            return last
        found = cls._loops.get(loop)
        if found is None:
            found = cls._loops[loop] = cls(loop)
        cls._last = found
        return found

    def set(self, seconds: float, ring: Callable[[], None]) -> object:
        """``ring()`` once ``seconds`` have passed (up to TICK later), unless cleared first."""
        key = object()
        self._due[key] = (self._loop.time() + seconds, ring)
        if not self._ticking:
            self._ticking = True
            self._loop.call_later(TICK, self._tick)
        return key

    def clear(self, key: object) -> None:
        self._due.pop(key, None)

    def _tick(self) -> None:
        now = self._loop.time()
        for key in [key for key, (when, _) in self._due.items() if when <= now]:
            _, ring = self._due.pop(key)
            ring()
        if self._due:
            self._loop.call_later(TICK, self._tick)
        else:
            self._ticking = False


async def in_time(
    work: Awaitable[T], budget: float, late: Callable[[], Awaitable[object]]
) -> tuple[T, bool]:
    """``work``'s result, and whether it came within ``budget`` seconds. When the budget is
    spent first, ``late()`` (the placeholder answer) is started then, while the work goes on,
    and is done before this returns or raises: an error of the work then comes after the ack,
    one within the budget before it (the ack's answer). The work is awaited here, with a
    deadline beside it, not run as a task of its own: the task, its waiter and their callbacks
    cost ten microseconds an answer, an eightieth of a `/pay lookup` (bench/answers.py)."""
    started: list[asyncio.Future[object]] = []

    def spent() -> None:
        started.append(asyncio.ensure_future(late()))

    alarms = Alarms.of()
    deadline = alarms.set(budget, spent)
    try:
        result = await work
    finally:
        alarms.clear(deadline)
        if started:
            await started[0]
    return result, not started


async def first_of(work: asyncio.Future[Any], seconds: float) -> None:
    """Wait until ``work`` is done or ``seconds`` have passed (up to TICK more), whichever
    comes first."""
    if work.done():
        return
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    alarms = Alarms.of()
    deadline = alarms.set(seconds, wake)
    work.add_done_callback(wake)
    try:
        await waiter
    finally:
        alarms.clear(deadline)
        work.remove_done_callback(wake)
