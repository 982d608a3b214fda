"""Runs queued jobs and periodic checks in the bot process, until stopped.

Woken at once when a handler records work (``kick``), and otherwise every ``interval`` seconds, so
a job left by a crashed process, or one whose retry time came, is picked up without a wake-up.

Sweeps (what time alone makes due: reminders, expiries, a digest's hour, refunds settling) run
every ``sweep_interval`` seconds instead: each is a query or a processor call that nearly always
finds nothing, and run every second they were half of an idle bot's CPU (11 ms a second) and a
hundredth of each answer's under load (bench/answers.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from bot.services.jobs import JobQueue, worker_name

log = logging.getLogger("paybot.worker")

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
Periodic = Callable[[], Awaitable[Any]]


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[str, JobHandler],
        *,
        periodic: list[Periodic] | None = None,
        sweeps: Collection[Periodic] = (),
        sweep_interval: float = 15.0,
        on_stop: list[Periodic] | None = None,
        on_failure: Callable[[str], None] | None = None,
        interval: float = 1.0,
        settle: float = 0.05,
    ) -> None:
        self._queue = queue
        self._handlers = handlers
        self._periodic = periodic or []
        self._sweeps = sweeps  # those of ``periodic`` that run every ``sweep_interval`` only
        self._sweep_interval = sweep_interval
        self._next_sweep = 0.0  # the event loop's time of the next sweep (the first: at once)
        self._on_stop = on_stop or []
        self._on_failure = on_failure or (lambda _kind: None)
        self._interval = interval
        # Woken, wait until the wakes have stopped for this long (see ``_quiet``).
        self._settle = min(settle, interval)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.name = worker_name()
        self.failures = 0

    def kick(self) -> None:
        self._wake.set()

    async def run_ready(self) -> int:
        """Run every job that is ready now; the count run. Tests call this to drain the queue."""
        count = 0
        while not self._stopping:
            job = await self._queue.claim(self.name)
            if job is None:
                return count
            handler = self._handlers.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind}")
                await handler(job.payload)
            except Exception as exc:  # a job's failure must not stop the worker
                self.failures += 1
                log.warning(
                    "job %s (%s) failed on attempt %d: %r", job.key, job.kind, job.attempts, exc
                )
                await self._queue.retry(job, self.name, repr(exc))
            else:
                await self._queue.done(job, self.name)
            count += 1
        return count

    async def run_periodic(self, *, sweeps: bool = True) -> None:
        """The periodic checks, and the sweeps (all of them unless told otherwise: tests call
        this to make the worker's round now)."""
        for check in self._periodic:
            if not sweeps and check in self._sweeps:
                continue
            try:
                await check()
            except Exception as exc:
                self.failures += 1
                self._on_failure(getattr(check, "__name__", "periodic"))
                log.warning("periodic check %s failed: %r", getattr(check, "__name__", check), exc)

    async def _loop(self) -> None:
        while not self._stopping:
            await self.run_ready()
            now = asyncio.get_running_loop().time()
            sweep = now >= self._next_sweep
            if sweep:
                self._next_sweep = now + self._sweep_interval
            await self.run_periodic(sweeps=sweep)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            except TimeoutError:
                pass
            else:
                await self._quiet()
            self._wake.clear()

    async def _quiet(self) -> None:
        """Woken by new work: start once the wakes have stopped for ``settle`` seconds (at most
        ``interval`` after the first). A burst of a thousand webhooks is then taken in (each
        answered 2xx once stored) before the worker announces it, instead of the two competing
        for the processor while the burst arrives; and it wakes the worker once, not a thousand
        times (each round is a dozen queries)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._interval
        while not self._stopping:
            self._wake.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(self._settle, remaining))
            except TimeoutError:
                return

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="paybot-worker")

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Finish the job in hand, take no more; a job cut short is taken over after its lease."""
        self._stopping = True
        self._wake.set()
        for hand_back in self._on_stop:
            await hand_back()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=timeout)
            except TimeoutError:
                log.warning("worker did not finish in %.0fs; its job will be taken over", timeout)
            self._task = None
