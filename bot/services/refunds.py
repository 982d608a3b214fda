"""Refund requests: a persisted state machine that moves money exactly once.

    requested -> approved | rejected
    approved  -> submitting -> pending -> succeeded | failed
                 submitting -> failed (the processor refused)

Every transition is a compare-and-set on ``state``, so of twenty concurrent approvals (double
clicks, Slack retries, two processes) exactly one moves the request on. The processor call carries
an idempotency key derived from the request, so a crash between "submitting" and the processor's
answer, followed by a retry, finds the same refund instead of making a second one. The messages
a transition owes Slack are recorded in the outbox in its own transaction (services/owed.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import select, update

from bot import refusals
from bot.clock import UTC_CLOCK, FirmClock, add_business_days, local_day
from bot.db.engine import SessionFactory
from bot.db.models import RefundRequest
from bot.db.records import record
from bot.domain import (
    Account,
    Money,
    PortalAccount,
    RefundRequestInfo,
    RefundState,
    RefundStatus,
    Source,
    Transaction,
)
from bot.errors import NotFound, ProcessorError, RefundRefused
from bot.ids import JobKind, Milestone, NoticeKind
from bot.pan import random_id
from bot.policy import Policy
from bot.processors.gateway import Gateway
from bot.roles import Action
from bot.services.approvals import Approvals, Flow, check_reason
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.owed import RefundsOwed, owe
from bot.services.refund_rules import refund_refusal
from bot.services.transactions import clean_id

LIVE = (
    RefundState.REQUESTED,
    RefundState.AWAITING_SECOND,
    RefundState.APPROVED,
    RefundState.SUBMITTING,
    RefundState.PENDING,
    RefundState.SUCCEEDED,
)


SETTLE_BANK_DAYS = 2  # "1-2 business days": bank days on the Federal Reserve's calendar


def expected_by(requested_at: datetime, zone: tzinfo) -> date:
    """The firm's day a refund requested at ``requested_at`` should have settled by."""
    return local_day(add_business_days(requested_at, SETTLE_BANK_DAYS, zone), zone)


def info(row: RefundRequest) -> RefundRequestInfo:
    return record(
        RefundRequestInfo,
        row,
        amount=Money(row.amount_minor, row.currency),
        account=Account(row.account),
        state=RefundState(row.state),
        expected_by=None,  # not a column: Refunds.get sets it, on the firm's calendar
    )


def _snapshot(state: RefundState | str, **extra: Any) -> dict[str, Any]:
    return {"state": str(state), **{k: v for k, v in extra.items() if v is not None}}


def _asked(
    outcome: Outcome,
    source: Source,
    actor: PortalAccount,
    transaction_id: str,
    reason: str,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """The audit row of asking for a refund of a payment: done, or refused with why."""
    return AuditRecord(
        Action.REQUEST_REFUND.value,
        outcome,
        source,
        actor,
        target_type="transaction",
        target_id=transaction_id,
        reason=reason,
        after=after,
    )


class Refunds:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        audit: AuditLog,
        firm: FirmClock = UTC_CLOCK,
        approvals_channel: str | None = None,
        policy: Policy | None = None,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._audit = audit
        self._firm = firm
        self._channel = approvals_channel
        self._flagged: set[str] = set()  # overdue requests this process has owed a flag for
        self._approvals = Approvals(
            FLOW, sessions, audit, firm.now, RefundsOwed(approvals_channel), policy
        )

    async def refundable(self, actor: PortalAccount, text: str, source: Source) -> Transaction:
        """The transaction to show in the refund modal, or the reason it cannot be refunded."""
        transaction_id = clean_id(text)
        txn = await self._gateway.get_transaction(transaction_id)
        if txn is None:
            raise NotFound(
                f"No transaction has exactly the id `{transaction_id}`: refunds need the full id."
            )
        refusal = refund_refusal(txn)
        if refusal is None:
            refusal = await self._live_request_refusal(txn.id)
        if refusal:
            await self._audit.record(_asked(Outcome.FAILED, source, actor, txn.id, refusal))
            raise RefundRefused(refusal)
        return txn

    async def _live_request_refusal(self, transaction_id: str) -> str | None:
        async with self._sessions() as session:
            live = await session.scalar(
                select(RefundRequest).where(
                    RefundRequest.transaction_id == transaction_id,
                    RefundRequest.state.in_([s.value for s in LIVE]),
                )
            )
        if live is None:
            return None
        return f"A refund of this payment was already requested by {live.requester_username} ({live.state})."

    async def request(
        self, actor: PortalAccount, transaction_id: str, reason_text: str, source: Source
    ) -> RefundRequestInfo:
        reason = check_reason(reason_text)
        txn = await self.refundable(actor, transaction_id, source)
        now = self._firm.now()
        request_id = random_id()
        row = RefundRequest(
            id=request_id,
            transaction_id=txn.id,
            amount_minor=txn.amount.minor,
            currency=txn.amount.currency,
            account=txn.account.value,
            matter_id=txn.matter_id,
            reason=reason,
            state=RefundState.REQUESTED.value,
            requester_username=actor.username,
            requester_slack_id=actor.slack_user_id or "",
            idempotency_key=f"paybot-refund-{request_id}",
            approval_rule=self._approvals.policy.rule(txn.amount.minor).value,
            created_at=now,
            updated_at=now,
        )
        return await self._approvals.create(
            row,
            _asked(
                Outcome.DONE,
                source,
                actor,
                txn.id,
                reason,
                after=_snapshot(RefundState.REQUESTED, request=request_id, amount=txn.amount.minor),
            ),
            RefundRefused("A refund of this payment was requested a moment ago."),
        )

    async def get(self, request_id: str) -> RefundRequestInfo:
        """The request, with the day it is expected to have settled by."""
        found = await self._approvals.get(request_id)
        return replace(found, expected_by=expected_by(found.created_at, self._firm.zone))

    async def retell(self, request_id: str, milestone: Milestone | None) -> None:
        await self._approvals.retell(request_id, milestone)

    async def approve(
        self, actor: PortalAccount, request_id: str, source: Source
    ) -> RefundRequestInfo:
        return await self._approvals.approve(
            actor,
            request_id,
            source,
            lambda request: self._still_refundable(actor, request, source),
        )

    async def _still_refundable(
        self, actor: PortalAccount, request: RefundRequestInfo, source: Source
    ) -> None:
        txn = await self._gateway.get_transaction(request.transaction_id)
        refusal = refusals.GONE if txn is None else refund_refusal(txn)
        if refusal:
            await self._audit.record(
                AuditRecord(
                    Action.DECIDE_REFUND.value,
                    Outcome.FAILED,
                    source,
                    actor,
                    target_type="refund",
                    target_id=request.id,
                    reason=refusal,
                )
            )
            raise RefundRefused(f"Cannot approve: {refusal}")

    async def reject(
        self, actor: PortalAccount, request_id: str, reason_text: str, source: Source
    ) -> RefundRequestInfo:
        return await self._approvals.reject(actor, request_id, reason_text, source)

    async def withdraw(
        self, actor: PortalAccount, request_id: str, source: Source
    ) -> RefundRequestInfo:
        """The requester takes their waiting request back (nobody else may)."""
        return await self._approvals.withdraw(actor, request_id, source)

    async def sweep(self) -> int:
        """Remind of and expire undecided requests (the worker's, every round)."""
        return await self._approvals.sweep()

    async def decidable(
        self, actor: PortalAccount, request_id: str, source: Source
    ) -> RefundRequestInfo:
        """The request if this actor may decide it now (checked again when the decision comes)."""
        return await self._approvals.decidable(actor, request_id, source)

    async def execute(self, request_id: str) -> RefundRequestInfo:
        """Send an approved refund to the processor; safe to run again after a crash at any point."""
        request = await self._approvals.submitting(request_id)
        if request is None:
            return await self.get(request_id)  # done already
        txn = await self._gateway.get_transaction(request.transaction_id)
        refusal = refusals.GONE if txn is None else refund_refusal(txn)
        if refusal and not (txn and _our_refund_exists(txn, request)):
            return await self._fail(request_id, f"Refused at the processor check: {refusal}")
        key = await self._approvals.idempotency_key(request_id)
        try:
            refund = await self._gateway.refund(
                request.transaction_id,
                idempotency_key=key,
                metadata={
                    "paybot_request": request_id,
                    "reason": request.reason[:450],
                    "approver": request.decided_by_username or "",
                },
            )
        except ProcessorError as exc:
            if exc.retryable:
                raise  # the job is retried later with the same idempotency key
            return await self._fail(request_id, exc.message)
        target = (
            RefundState.SUCCEEDED
            if refund.status is RefundStatus.SUCCEEDED
            else RefundState.PENDING
        )
        milestone = Milestone.SUCCEEDED if target is RefundState.SUCCEEDED else Milestone.SUBMITTED
        if refund.status is RefundStatus.FAILED:
            return await self._fail(
                request_id, refund.failure_reason or "The processor failed the refund.", refund.id
            )
        return await self._approvals.advance(
            request_id,
            RefundState.SUBMITTING,
            target,
            changes={"processor_refund_id": refund.id},
            milestone=milestone,
        )

    async def _fail(
        self, request_id: str, reason: str, refund_id: str | None = None
    ) -> RefundRequestInfo:
        request = await self.get(request_id)
        return await self._approvals.advance(
            request_id,
            request.state,
            RefundState.FAILED,
            changes={"failure_reason": reason, "processor_refund_id": refund_id},
            milestone=Milestone.FAILED,
            reason=reason,
        )

    async def check_pending(self) -> int:
        """Ask the processor about refunds still settling; announce those that settled or failed,
        and flag (once) those still pending after the bank day they were expected by."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(RefundRequest).where(RefundRequest.state == RefundState.PENDING.value)
                )
            ).all()
        changed = 0
        for row in rows:
            if not row.processor_refund_id:
                continue
            refund = await self._gateway.get_refund(row.processor_refund_id)
            if refund is None or refund.status is RefundStatus.PENDING:
                await self._flag_if_overdue(row)
                continue
            try:
                if refund.status is RefundStatus.SUCCEEDED:
                    await self._approvals.advance(
                        row.id,
                        RefundState.PENDING,
                        RefundState.SUCCEEDED,
                        milestone=Milestone.SUCCEEDED,
                    )
                else:
                    await self._approvals.advance(
                        row.id,
                        RefundState.PENDING,
                        RefundState.FAILED,
                        changes={
                            "failure_reason": refund.failure_reason or "failed at the processor"
                        },
                        milestone=Milestone.FAILED,
                    )
                changed += 1
            except RefundRefused:
                continue  # another process got there first
        return changed

    async def _flag_if_overdue(self, row: RefundRequest) -> None:
        now = self._firm.now()
        if not self._channel or row.id in self._flagged:
            return
        if local_day(now, self._firm.zone) <= expected_by(row.created_at, self._firm.zone):
            return
        async with self._sessions.begin() as session:  # its key is the request's: owed once
            await owe(session, NoticeKind.REFUND_OVERDUE, self._channel, row.id, now)
        self._flagged.add(row.id)

    async def set_approval_message(self, request_id: str, channel: str, ts: str) -> bool:
        """Record where the approval message is; False if it was recorded already (a repeat post)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(RefundRequest)
                .where(RefundRequest.id == request_id, RefundRequest.approval_ts.is_(None))
                .values(approval_channel=channel, approval_ts=ts)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _our_refund_exists(txn: Transaction, request: RefundRequestInfo) -> bool:
    """After a crash the processor may already hold our refund: then go on and fetch it by key."""
    return any(r.status is not RefundStatus.FAILED for r in txn.refunds)


def _action_for(state: str, by_person: bool) -> str:
    return {
        RefundState.AWAITING_SECOND: "approve_refund",  # the first of two
        RefundState.APPROVED: "approve_refund",
        RefundState.WITHDRAWN: "withdraw_refund",
        RefundState.EXPIRED: "refund_expired",
        RefundState.REJECTED: "reject_refund",
        RefundState.SUBMITTING: "submit_refund",
        RefundState.PENDING: "refund_pending",
        RefundState.SUCCEEDED: "refund_succeeded",
        RefundState.FAILED: "refund_failed",
    }.get(RefundState(state), state)


def _details(request_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """What a move changed that the audit shows: ids and reasons."""
    return {
        k: str(v)
        for k, v in changes.items()
        if v is not None and (k.endswith("_id") or k.endswith("reason"))
    }


FLOW: Flow[RefundRequestInfo] = Flow(
    model=RefundRequest,
    info=info,
    states=RefundState,
    carry_out=JobKind.REFUND_EXECUTE,
    decide=Action.DECIDE_REFUND,
    noun="This refund request",
    asked="asked for this refund",
    refused=RefundRefused,
    job_key="request_id",
    target_type="refund",
    target_id=lambda row: str(row.id),
    action=_action_for,
    details=_details,
)
