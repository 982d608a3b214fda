"""The four-eyes machine: a request one person makes and another decides.

A request is a row with ``id``, ``state``, ``requester_username`` and the decision columns
(``decided_by_username``, ``decided_by_slack_id``, ``decided_at``). It is created in its open
state with its audit row and the messages it owes Slack (``Tell``, into the outbox) in one
transaction; it is decided once, by someone whose role may decide it and who is not the
requester; every later move is a compare-and-set on ``state`` with its audit row, its jobs (the
domain actions that carry a decision out) and the messages its milestone owes, in the same
transaction. Whoever loses a race is told
what happened instead, and a person's late decision is audited as refused (``access.too_late``).

Refund requests, dispute responses and requests to accept a dispute (services/acceptances.py)
are three :class:`Flow` s of it (services/flow.py): a ``Flow`` names the rows,
the words, the deciding action and what is audited; ``decide`` takes what else must still hold
(``check``), the jobs that carry the decision out and the milestone people are told of.

The approval policy (bot/policy.py) adds to it: a request opened under the two-approvers rule
moves from its open state to the flow's ``second_state`` at its first approval (recording the
first approver, whom four eyes then refuses too) and on to "approved" at the second, each a
compare-and-set; under the admin rule only an admin approves. Any waiting request may be
withdrawn by its requester alone; the worker's ``sweep`` raises an undecided one again once
(``reminded_at`` claimed by compare-and-set) and expires it when it has waited too long.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, NoReturn, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.domain import REASON_MAX, Asked, PortalAccount, Source
from bot.errors import Denied, NotFound, PaybotError, ProcessorError
from bot.ids import JobKind, Milestone
from bot.policy import Policy, Rule
from bot.roles import Role, allowed
from bot.services.access import RoleDenied, four_eyes, too_late
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.flow import (
    EXPIRED,
    FAILED,
    WITHDRAWN,
    Flow,
    Tell,
    check_reason,
    deciders,
    rule_of,
    tell_nothing,
)
from bot.services.jobs import enqueue
from bot.services.state import compare_and_set

__all__ = ["EXPIRED", "FAILED", "REASON_MAX", "WITHDRAWN", "Approvals", "Flow", "check_reason"]

Info = TypeVar("Info", bound=Asked)  # what a request carries, whatever it asks for


class Approvals(Generic[Info]):
    def __init__(
        self,
        flow: Flow[Info],
        sessions: SessionFactory,
        audit: AuditLog,
        clock: Clock = utcnow,
        tell: Tell[Info] = tell_nothing,
        policy: Policy | None = None,
    ) -> None:
        self.flow = flow
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._tell = tell
        self.policy = policy or Policy()

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
        a role that decides, not the requester (four eyes), and still waiting."""
        return self.flow.info(await self._decidable(actor, request_id, source))

    async def _decidable(
        self, actor: PortalAccount, request_id: str, source: Source, *, approving: bool = False
    ) -> Any:
        flow = self.flow
        row = await self._row(request_id)
        target = flow.target_id(row)
        if not actor.active or not allowed(Role(actor.role), flow.decide):
            await self._deny(actor, source, target, RoleDenied(flow.decide, Role(actor.role)))
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
        if row.state in flow.waiting and self._expired(row):
            await self._expire(row)
            row = await self._row(request_id)
        if row.state not in flow.waiting:
            await self._late(actor, flow.decide.value, source, row, target)
        if approving and rule_of(row) is Rule.ADMIN and actor.role != Role.ADMIN:
            await self._deny(
                actor,
                source,
                target,
                Denied(f"{flow.noun} needs an admin's approval (the firm's approval policy)."),
            )
        if approving and getattr(row, "first_approver_username", None) == actor.username:
            await self._deny(
                actor,
                source,
                target,
                Denied(
                    "You gave the first approval: a second manager or admin must give the other "
                    "(the firm's approval policy)."
                ),
            )
        return row

    async def _deny(
        self, actor: PortalAccount, source: Source, target: str, denied: PaybotError
    ) -> NoReturn:
        await self._audit.record(
            AuditRecord(
                self.flow.decide.value,
                Outcome.DENIED,
                source,
                actor,
                target_type=self.flow.target_type,
                target_id=target,
                reason=denied.message,
            )
        )
        raise denied

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
        """The decision itself, by someone who may make it (``decidable``), from the state the
        request waits in, once. ``check`` is what else must still hold (raising if not); a
        rejection carries its reason. An approval under the two-approvers rule that is the
        first moves the request to ``second_state`` only."""
        flow = self.flow
        approving = to_state == flow.approved_state
        row = await self._decidable(actor, request_id, source, approving=approving)
        if check is not None:
            await check(flow.info(row))
        if (
            approving
            and flow.second_state
            and rule_of(row) is Rule.TWO_APPROVERS
            and row.state == flow.open_state
        ):
            first = {
                "first_approver_username": actor.username,
                "first_approver_slack_id": actor.slack_user_id,
            }
            return await self.move(
                actor,
                request_id,
                source,
                flow.open_state,
                flow.second_state,
                changes=first,
                milestone=Milestone.FIRST_APPROVAL,
            )
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
            row.state,
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

    async def carried_out(
        self, request_id: str, done: str, failed: str, work: Callable[[], Awaitable[object]]
    ) -> Info:
        """Carry an approved request out at the processor and record how it ended: a refusal
        from the processor ends it ``failed``; a retryable failure is raised for the job to try
        again later, with the same idempotency key."""
        try:
            await work()
        except ProcessorError as exc:
            if exc.retryable:
                raise
            return await self.advance(
                request_id,
                self.flow.submitting_state,
                failed,
                changes={"failure_reason": exc.message},
                milestone=Milestone.FAILED,
                reason=exc.message,
            )
        return await self.advance(
            request_id, self.flow.submitting_state, done, milestone=Milestone.SUBMITTED
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

    async def withdraw(self, actor: PortalAccount, request_id: str, source: Source) -> Info:
        """Take a waiting request back: its requester alone may, and only before a decision."""
        flow = self.flow
        row = await self._row(request_id)
        target, action = flow.target_id(row), flow.action(WITHDRAWN, True)
        if actor.username != row.requester_username:
            denied = Denied(
                f"Only {row.requester_username}, who {flow.asked}, can withdraw it: the Withdraw "
                "button is theirs alone."
            )
            await self._audit.record(
                AuditRecord(
                    action,
                    Outcome.DENIED,
                    source,
                    actor,
                    target_type=flow.target_type,
                    target_id=target,
                    reason=denied.message,
                )
            )
            raise denied
        if row.state not in flow.waiting:
            await self._late(actor, action, source, row, target)
        return await self.move(
            actor, request_id, source, row.state, WITHDRAWN, milestone=Milestone.WITHDRAWN
        )

    def _expired(self, row: Any) -> bool:
        after = self.policy.expire_after
        return after is not None and row.created_at + after <= self._clock()

    async def _expire(self, row: Any) -> int:
        """Expire a request that waited too long (once: a compare-and-set from where it waits)."""
        after = self.policy.expire_after
        assert after is not None
        hours = f"{after.total_seconds() / 3600:g}"
        try:
            await self.advance(
                row.id,
                row.state,
                EXPIRED,
                milestone=Milestone.EXPIRED,
                reason=f"Not decided within {hours} hours (PAYBOT_APPROVAL_EXPIRE_HOURS).",
            )
        except self.flow.refused:
            return 0  # decided, withdrawn or expired by another a moment ago
        return 1

    async def sweep(self) -> int:
        """The worker's round: expire what waited too long, and raise again (once, across
        restarts: ``reminded_at`` is claimed) what waited long enough to be reminded of."""
        flow, policy, now, done = self.flow, self.policy, self._clock(), 0
        model = flow.model
        waiting = model.state.in_([str(s) for s in flow.waiting])
        if policy.expire_after is not None:
            for row in await self._rows(waiting, model.created_at <= now - policy.expire_after):
                done += await self._expire(row)
        if policy.remind_after is None:
            return done
        due = model.created_at <= now - policy.remind_after
        for row in await self._rows(waiting, due, model.reminded_at.is_(None)):
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(model)
                    .where(model.id == row.id, model.reminded_at.is_(None), waiting)
                    .values(reminded_at=now)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                # As it stands now (a first approval may have come since it was read).
                row = await session.get(model, row.id, populate_existing=True)
                users = await deciders(session, self.flow, row)
                await self._tell(session, flow.info(row), Milestone.REMINDED, now, to=users)
            done += 1
        return done

    async def _rows(self, *where: Any) -> Sequence[Any]:
        async with self._sessions() as session:
            return (await session.scalars(select(self.flow.model).where(*where))).all()

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
        said = f"{self.flow.noun} was already {state}{who}."
        if row is not None and state == self.flow.second_state:
            said = (
                f"{self.flow.noun} got its first approval from {row.first_approver_username} a "
                "moment ago: it needs a second, from someone else."
            )
        await too_late(
            self._audit,
            actor,
            action,
            source,
            self.flow.refused(said),
            target_type=self.flow.target_type,
            target_id=target,
        )
