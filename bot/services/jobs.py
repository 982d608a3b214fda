"""A persisted job queue: work is recorded in the database before Slack is acknowledged.

Exactly-once effects come from three things together: a unique ``key`` per job (a second enqueue
of the same work is a no-op), a claim that is a compare-and-set with a lease (only one worker runs
a job; a worker that died loses its lease and another takes over), and handlers that are
idempotent in themselves (a refund carries its idempotency key to the processor).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory, wake_after_commit
from bot.db.models import Job
from bot.services import leases

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
TABLE = leases.Leased(Job, QUEUED, RUNNING, DEAD, "run_after", MAX_ATTEMPTS, "finished_at")


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def enqueue(
    session: AsyncSession,
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    now: Any,
    delay: timedelta = timedelta(0),
) -> bool:
    """Add a job in the caller's transaction; the same key twice is one job (False: not new)."""
    values = {
        "kind": kind,
        "key": key,
        "payload": payload,
        "state": QUEUED,
        "attempts": 0,
        "run_after": now + delay,
        "created_at": now,
    }
    wake_after_commit(session)
    return await insert_or_ignore(session, Job, values, ["key"])


class JobQueue:
    def __init__(
        self, sessions: SessionFactory, clock: Clock = utcnow, lease: timedelta = LEASE
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lease = lease

    async def add(
        self, kind: str, key: str, payload: dict[str, Any], delay: timedelta = timedelta(0)
    ) -> None:
        async with self._sessions.begin() as session:
            await enqueue(session, kind, key, payload, now=self._clock(), delay=delay)

    async def claim(self, owner: str) -> ClaimedJob | None:
        """Take the oldest ready job, or a running one whose lease ran out; None when idle."""
        now = self._clock()
        async with self._sessions.begin() as session:
            rows = await TABLE.claim(
                session, owner, now + self._lease, now, [Job.run_after, Job.id], 1
            )
        if not rows:
            return None
        row = rows[0]
        return ClaimedJob(row.id, row.kind, row.key, dict(row.payload), row.attempts)

    async def done(self, job: ClaimedJob, owner: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.lease_owner == owner)
                .values(state=DONE, finished_at=self._clock(), lease_until=None)
            )

    async def retry(
        self, job: ClaimedJob, owner: str, error: str, delay: timedelta | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            await TABLE.retry(session, job.id, job.attempts, owner, error, self._clock(), delay)

    async def pending(self) -> int:
        async with self._sessions() as session:
            return await TABLE.backlog(session)
