"""The four-eyes machine: a request one person makes and another decides.

A request is a row with ``id``, ``state``, ``requester_username`` and the decision columns
(``decided_by_username``, ``decided_by_slack_id``, ``decided_at``). It is created in its open
state with its audit row and the messages it owes Slack (``Tell``, into the outbox) in one
transaction; it is decided once, by someone whose role may decide it and who is not the
requester; every later move is a compare-and-set on ``state`` with its audit row, its jobs (the
domain actions that carry a decision out) and the messages its milestone owes, in the same
transaction. Whoever loses a race is told
what happened instead, and a person's late decision is audited as refused (``access.too_late``).

Refund requests and dispute responses are two :class:`Flow` s of it: a ``Flow`` names the rows,
the words, the deciding action and what is audited; ``decide`` takes what else must still hold
(``check``), the jobs that carry the decision out and the milestone people are told of. Accepting a dispute with a second pair of
eyes is one more ``Flow`` and its row. A refund needing two approvers is a further state
between the open one and "approved": ``decide`` and ``decidable`` would then take the state they
start from, and four eyes would refuse the first approver too (the ``decided_by`` columns).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NoReturn, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.domain import REASON_MAX, PortalAccount, Source
from bot.errors import FormErrors, NotFound, PaybotError
from bot.ids import BlockId, JobKind, Milestone
from bot.roles import Action, Role, allowed
from bot.services.access import RoleDenied, four_eyes, too_late
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.jobs import enqueue
from bot.services.state import compare_and_set
from bot.usertext import visible

FAILED = "failed"

Info = TypeVar("Info")
# Records the messages a request owes Slack, in the transaction of its move: at its opening
# (milestone None) and at each milestone.
Tell = Callable[[AsyncSession, Info, Milestone | None, datetime], Awaitable[None]]


async def _tell_nothing(session: AsyncSession, info: Any, milestone: Any, now: datetime) -> None:
    return None


def check_reason(text: str, block_id: str = BlockId.REASON) -> str:
    """The reason as it will be stored and shown: card numbers masked, controls removed,
    trimmed; a reason of nothing visible (zero-width or blank characters) is no reason."""
    reason = visible(text)
    if not reason:
        raise FormErrors({block_id: "Give a reason: it is sent to everyone on the matter."})
    if len(reason) > REASON_MAX:
        raise FormErrors(
            {block_id: f"Keep the reason to {REASON_MAX} characters (it has {len(reason)})."}
        )
    return reason


@dataclass(frozen=True)
class Flow(Generic[Info]):
    """One use of the machine: which rows, what they are called, who decides, what is audited."""

    model: type[Any]
    info: Callable[[Any], Info]
    open_state: str
    approved_state: str
    rejected_state: str
    submitting_state: str  # approved and being carried out
    carry_out: JobKind  # the job that carries an approval out
    decide: Action
    noun: str  # "This refund request": what a refusal calls it
    asked: str  # "asked for this refund": what four eyes tells the requester
    refused: type[PaybotError]
    job_key: str  # the payload key naming the row in this flow's jobs
    target_type: str
    target_id: Callable[[Any], str]  # the audited target of a row
    action: Callable[[str, bool], str]  # (state moved to, by a person) -> audit action
    details: Callable[[str, Mapping[str, Any]], dict[str, Any]]  # (id, changes) -> audit "after"


class Approvals(Generic[Info]):
    def __init__(
        self,
        flow: Flow[Info],
        sessions: SessionFactory,
        audit: AuditLog,
        clock: Clock = utcnow,
        tell: Tell[Info] = _tell_nothing,
    ) -> None:
        self.flow = flow
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._tell = tell

    async def create(
        self,
        row: Any,
        record: AuditRecord,
        duplicate: PaybotError,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> Info:
        """Store a new request with its audit row and the messages it owes (and what ``also``
        writes, in the same transaction); ``duplicate`` is raised when the database already
        holds a live one (a unique index says which)."""
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                self._audit.add(session, record)
                await self._tell(session, self.flow.info(row), None, self._clock())
                if also is not None:
                    await also(session)
        except IntegrityError:
            raise duplicate from None
        return self.flow.info(row)

    async def _row(self, request_id: str) -> Any:
        async with self._sessions() as session:
            row = await session.get(self.flow.model, request_id)
        if row is None:
            raise NotFound(f"{self.flow.noun} does not exist.".replace("This ", "That ", 1))
        return row

    async def get(self, request_id: str) -> Info:
        return self.flow.info(await self._row(request_id))

    async def decidable(self, actor: PortalAccount, request_id: str, source: Source) -> Info:
        """The request if this actor may decide it now (checked again when the decision comes):
        a role that decides, not the requester (four eyes), and still open."""
        flow = self.flow
        row = await self._row(request_id)
        target = flow.target_id(row)
        if not actor.active or not allowed(Role(actor.role), flow.decide):
            denied = RoleDenied(flow.decide, Role(actor.role))
            await self._audit.record(
                AuditRecord(
                    flow.decide.value,
                    Outcome.DENIED,
                    source,
                    actor,
                    target_type=flow.target_type,
                    target_id=target,
                    reason=denied.message,
                )
            )
            raise denied
        await four_eyes(
            self._audit,
            actor,
            row.requester_username,
            flow.decide,
            source,
            target_type=flow.target_type,
            target_id=target,
            what=flow.asked,
        )
        if row.state != flow.open_state:
            await self._late(actor, flow.decide.value, source, row, target)
        return flow.info(row)

    async def decide(
        self,
        actor: PortalAccount,
        request_id: str,
        source: Source,
        to_state: str,
        jobs: Sequence[JobKind],
        milestone: Milestone,
        *,
        reason: str | None = None,
        check: Callable[[Info], Awaitable[None]] | None = None,
    ) -> Info:
        """The decision itself, by someone who may make it (``decidable``), from the open state,
        once. ``check`` is what else must still hold (raising if not); a rejection carries its
        reason."""
        request = await self.decidable(actor, request_id, source)
        if check is not None:
            await check(request)
        changes: dict[str, Any] = {
            "decided_by_username": actor.username,
            "decided_by_slack_id": actor.slack_user_id,
            "decided_at": self._clock(),
        }
        if reason is not None:
            changes["rejection_reason"] = reason
        return await self.move(
            actor,
            request_id,
            source,
            self.flow.open_state,
            to_state,
            changes=changes,
            jobs=jobs,
            milestone=milestone,
            reason=reason,
        )

    async def approve(
        self,
        actor: PortalAccount,
        request_id: str,
        source: Source,
        check: Callable[[Info], Awaitable[None]] | None = None,
    ) -> Info:
        """Approve, carried out by the flow's job, announced as "approved"."""
        flow = self.flow
        return await self.decide(
            actor,
            request_id,
            source,
            flow.approved_state,
            [flow.carry_out],
            Milestone.APPROVED,
            check=check,
        )

    async def reject(
        self, actor: PortalAccount, request_id: str, reason_text: str, source: Source
    ) -> Info:
        """Reject with a reason (the one reason rule), announced as "rejected"."""
        reason = check_reason(reason_text)
        return await self.decide(
            actor,
            request_id,
            source,
            self.flow.rejected_state,
            [],
            Milestone.REJECTED,
            reason=reason,
        )

    async def advance(
        self,
        request_id: str,
        from_state: str,
        to_state: str,
        *,
        changes: Mapping[str, Any] | None = None,
        milestone: Milestone | None = None,
        reason: str | None = None,
    ) -> Info:
        """A move the worker makes (no person): announced at ``milestone`` if one is given."""
        return await self.move(
            None,
            request_id,
            Source.SYSTEM,
            from_state,
            to_state,
            changes=changes,
            milestone=milestone,
            reason=reason,
        )

    async def retell(self, request_id: str, milestone: Milestone | None) -> None:
        """Owe again what a step owes (the same keys: nothing is owed twice)."""
        async with self._sessions.begin() as session:
            info = self.flow.info(await self._row(request_id))
            await self._tell(session, info, milestone, self._clock())

    async def submitting(self, request_id: str) -> Info | None:
        """Move an approved request on to ``submitting``, or find it there (a retry after a
        crash): the request to submit now with its idempotency key's row, or None when it is
        past that (submitted already, by this worker before a crash or by another)."""
        approved, submitting = self.flow.approved_state, self.flow.submitting_state
        row = await self._row(request_id)
        if row.state == approved:
            try:
                return await self.advance(request_id, approved, submitting)
            except self.flow.refused:
                row = await self._row(request_id)
        return self.flow.info(row) if row.state == submitting else None

    async def idempotency_key(self, request_id: str) -> str:
        """The key the processor knows this request's one submission by."""
        return str((await self._row(request_id)).idempotency_key)

    async def move(
        self,
        actor: PortalAccount | None,
        request_id: str,
        source: Source,
        from_state: str,
        to_state: str,
        *,
        changes: Mapping[str, Any] | None = None,
        jobs: Sequence[JobKind] = (),
        milestone: Milestone | None = None,
        reason: str | None = None,
    ) -> Info:
        """Compare-and-set one transition, with its audit row, its jobs and the messages its
        milestone owes in one transaction. A loser is refused with what happened instead."""
        flow, now = self.flow, self._clock()
        changes = dict(changes or {})
        action = flow.action(to_state, actor is not None)
        async with self._sessions.begin() as session:
            moved = await compare_and_set(
                session,
                flow.model,
                request_id,
                from_state,
                to_state,
                {"updated_at": now, **changes},
            )
            row = await session.get(flow.model, request_id, populate_existing=True)
            if moved:
                assert row is not None
                self._audit.add(
                    session,
                    AuditRecord(
                        action,
                        Outcome.FAILED if to_state == FAILED else Outcome.DONE,
                        source,
                        actor,
                        target_type=flow.target_type,
                        target_id=flow.target_id(row),
                        reason=reason,
                        before={"state": str(from_state)},
                        after={"state": str(to_state), **flow.details(request_id, changes)},
                    ),
                )
                for kind in jobs:
                    await enqueue(
                        session, kind, f"{kind}:{request_id}", {flow.job_key: request_id}, now=now
                    )
                info = flow.info(row)
                if milestone is not None:
                    await self._tell(session, info, milestone, now)
                return info
        # Out of the transaction that lost, so the refusal's audit row is not rolled back with it.
        await self._late(actor, action, source, row, flow.target_id(row) if row else request_id)

    async def _late(
        self, actor: PortalAccount | None, action: str, source: Source, row: Any, target: str
    ) -> NoReturn:
        state = row.state if row is not None else "gone"
        who = (
            f" by {row.decided_by_username}" if row is not None and row.decided_by_username else ""
        )
        await too_late(
            self._audit,
            actor,
            action,
            source,
            self.flow.refused(f"{self.flow.noun} was already {state}{who}."),
            target_type=self.flow.target_type,
            target_id=target,
        )
