"""Accepting a dispute with a second pair of eyes: the third use of the approvals machine
(services/approvals.py), for a dispute whose amount the approval policy (bot/policy.py) says
needs it. The manager who clicks Accept asks; another manager (or, under the admin rule, an
admin) approves; the worker then accepts at the processor once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import update

from bot.acceptance import AcceptanceState, DisputeAcceptanceInfo
from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.db.models import DisputeAcceptance
from bot.db.records import record
from bot.domain import Dispute, Money, PortalAccount, Source
from bot.errors import RefundRefused
from bot.ids import JobKind
from bot.pan import random_id
from bot.policy import Policy, Rule
from bot.roles import Action, Role
from bot.services.approvals import Approvals, Flow
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.owed import AcceptancesOwed

Accept = Callable[[str, str], Awaitable[Dispute]]  # (dispute id, by) -> the accepted dispute
Check = Callable[[str], Awaitable[None]]  # raises when a dispute can no longer be accepted


class AcceptanceRefused(RefundRefused):
    """An acceptance request that cannot move now, with the reason."""


def acceptance_info(row: DisputeAcceptance) -> DisputeAcceptanceInfo:
    return record(
        DisputeAcceptanceInfo,
        row,
        amount=Money(row.amount_minor, row.currency),
        state=AcceptanceState(row.state),
    )


class Acceptances:
    def __init__(
        self,
        sessions: SessionFactory,
        audit: AuditLog,
        notify_channel: str | None,
        accept: Accept,
        still_open: Check,
        clock: Clock = utcnow,
        policy: Policy | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._accept = accept
        self._still_open = still_open
        self._approvals = Approvals(
            FLOW, sessions, audit, clock, AcceptancesOwed(notify_channel), policy
        )

    def rule(self, actor: PortalAccount, dispute: Dispute) -> Rule | None:
        """What accepting this dispute needs beyond the click: None when the click is enough
        (under the threshold, or an admin under the admin rule); else the rule of the request
        (``ONE``: one more manager or admin besides the one who clicked, so two in all)."""
        rule = self._approvals.policy.rule(dispute.amount.minor)
        if rule is Rule.ONE or (rule is Rule.ADMIN and actor.role == Role.ADMIN):
            return None
        return Rule.ADMIN if rule is Rule.ADMIN else Rule.ONE

    async def request(
        self, actor: PortalAccount, dispute: Dispute, rule: Rule, source: Source
    ) -> DisputeAcceptanceInfo:
        now, acceptance_id = self._clock(), random_id()
        row = DisputeAcceptance(
            id=acceptance_id,
            dispute_id=dispute.id,
            amount_minor=dispute.amount.minor,
            currency=dispute.amount.currency,
            state=AcceptanceState.REQUESTED.value,
            approval_rule=rule.value,
            requester_username=actor.username,
            requester_slack_id=actor.slack_user_id or "",
            idempotency_key=f"paybot-acceptance-{acceptance_id}",
            created_at=now,
            updated_at=now,
        )
        return await self._approvals.create(
            row,
            AuditRecord(
                Action.ACCEPT_DISPUTE.value,
                Outcome.DONE,
                source,
                actor,
                target_type="dispute",
                target_id=dispute.id,
                after={"state": "requested", "acceptance": acceptance_id, "rule": rule.value},
            ),
            AcceptanceRefused(
                "Accepting this dispute is already waiting for a second approval: approve it "
                "on that request, in the dispute's thread."
            ),
        )

    async def get(self, acceptance_id: str) -> DisputeAcceptanceInfo:
        return await self._approvals.get(acceptance_id)

    async def decidable(
        self, actor: PortalAccount, acceptance_id: str, source: Source
    ) -> DisputeAcceptanceInfo:
        return await self._approvals.decidable(actor, acceptance_id, source)

    async def approve(
        self, actor: PortalAccount, acceptance_id: str, source: Source
    ) -> DisputeAcceptanceInfo:
        return await self._approvals.approve(
            actor, acceptance_id, source, lambda found: self._still_open(found.dispute_id)
        )

    async def reject(
        self, actor: PortalAccount, acceptance_id: str, reason: str, source: Source
    ) -> DisputeAcceptanceInfo:
        return await self._approvals.reject(actor, acceptance_id, reason, source)

    async def withdraw(
        self, actor: PortalAccount, acceptance_id: str, source: Source
    ) -> DisputeAcceptanceInfo:
        return await self._approvals.withdraw(actor, acceptance_id, source)

    async def sweep(self) -> int:
        return await self._approvals.sweep()

    async def set_message(self, acceptance_id: str, channel: str, ts: str) -> None:
        """Where the request was posted (the first post's place is kept)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(DisputeAcceptance)
                .where(
                    DisputeAcceptance.id == acceptance_id, DisputeAcceptance.message_ts.is_(None)
                )
                .values(message_channel=channel, message_ts=ts)
            )

    async def carry_out(self, acceptance_id: str) -> DisputeAcceptanceInfo:
        """Accept an approved request at the processor (idempotent there, so safe again after a
        crash); the dispute's thread is told by ``accept``, the request's message updated."""
        found = await self._approvals.submitting(acceptance_id)
        if found is None:
            return await self.get(acceptance_id)  # done already
        return await self._approvals.carried_out(
            acceptance_id,
            AcceptanceState.ACCEPTED,
            AcceptanceState.FAILED,
            lambda: self._accept(found.dispute_id, found.decided_by_slack_id or ""),
        )


def _action_for(state: str, by_person: bool) -> str:
    if not by_person:
        return f"dispute_acceptance_{state}"
    return {
        AcceptanceState.APPROVED: Action.ACCEPT_DISPUTE.value,
        AcceptanceState.REJECTED: "reject_dispute_acceptance",
        AcceptanceState.WITHDRAWN: "withdraw_dispute_acceptance",
    }.get(AcceptanceState(state), Action.ACCEPT_DISPUTE.value)


def _details(acceptance_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    return {"acceptance": acceptance_id}


FLOW: Flow[DisputeAcceptanceInfo] = Flow(
    model=DisputeAcceptance,
    info=acceptance_info,
    states=AcceptanceState,
    carry_out=JobKind.ACCEPTANCE_CARRY_OUT,
    decide=Action.ACCEPT_DISPUTE,
    noun="This request to accept the dispute",
    asked="asked to accept this dispute",
    refused=AcceptanceRefused,
    job_key="acceptance_id",
    target_type="dispute",
    target_id=lambda row: str(row.dispute_id),
    action=_action_for,
    details=_details,
)
