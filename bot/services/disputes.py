"""Disputes (chargebacks): where each was announced, the response a staff member drafts and a
manager approves (four eyes, submitted exactly once), accepting liability, and deadline reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import NoReturn

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import UTC_CLOCK, FirmClock
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.db.models import DisputeResponse, DisputeThread
from bot.db.records import record
from bot.documents import (
    DocumentFile,
    DocumentLimits,
    OfferedFile,
)
from bot.domain import (
    Dispute,
    DisputeResponseInfo,
    DisputeStatus,
    DisputeThreadInfo,
    PortalAccount,
    ResponseState,
    Source,
)
from bot.errors import FormErrors, NotFound, RefundRefused
from bot.evidence import DisputeEvidence, EvidenceField, evidence_fields
from bot.ids import JobKind, Milestone, NoticeKind
from bot.pan import random_id
from bot.policy import Policy
from bot.processors.gateway import Gateway
from bot.roles import Action
from bot.services.acceptances import Acceptances
from bot.services.access import too_late
from bot.services.approvals import Approvals, Flow
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.deadlines import Deadlines
from bot.services.evidence import EvidenceDocuments, check_files
from bot.services.jobs import enqueue
from bot.services.owed import ResponsesOwed, owe
from bot.usertext import visible


class DisputeRefused(RefundRefused):
    """A dispute action that cannot happen now, with the reason."""


def check_evidence(
    fields: dict[str, str], taken: Sequence[EvidenceField] = evidence_fields("")
) -> DisputeEvidence:
    """The typed fields, those the processor takes (``taken``); others are left empty."""
    errors: dict[str, str] = {}
    cleaned = {field.name: visible(fields.get(field.name) or "") for field in taken}
    for field in taken:
        text = cleaned[field.name]
        if field.required and not text:
            errors[field.name] = f"Describe {field.required}: the bank decides on it."
        elif len(text) > field.limit:
            errors[field.name] = f"Keep this to {field.limit} characters (it has {len(text)})."
    if errors:
        raise FormErrors(errors)
    return DisputeEvidence(**cleaned)


def stage_of(dispute: Dispute) -> str | None:
    return dispute.stage.name if dispute.stage is not None else None


def thread_info(row: DisputeThread) -> DisputeThreadInfo:
    return DisputeThreadInfo(
        row.dispute_id,
        row.transaction_id,
        row.matter_id,
        DisputeStatus(row.status),
        row.respond_by,
        row.channel,
        row.message_ts,
        row.thread_ts,
        row.stage,
    )


def response_info(row: DisputeResponse) -> DisputeResponseInfo:
    """The stored evidence holds the typed fields and, under ``documents``, the names of the
    documents kept with the response (their bytes are in dispute_documents)."""
    evidence = dict(row.evidence)
    documents = tuple(str(name) for name in evidence.pop("documents", None) or ())
    return record(
        DisputeResponseInfo,
        row,
        evidence=DisputeEvidence(**evidence),
        state=ResponseState(row.state),
        documents=documents,
        approval_rule=None,  # a response takes one approval: the policy's rules are for amounts
    )


class Disputes:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        audit: AuditLog,
        notify_channel: str | None,
        firm: FirmClock = UTC_CLOCK,
        policy: Policy | None = None,
        margin_days: int = 5,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._audit = audit
        self._channel = notify_channel
        self._firm = firm
        self.deadlines = Deadlines(sessions, notify_channel, firm, margin_days)
        self._approvals = Approvals(
            FLOW, sessions, audit, firm.now, ResponsesOwed(notify_channel), policy
        )
        self.acceptances = Acceptances(
            sessions, audit, notify_channel, self.accept, self._still_open, firm.now, policy
        )
        self.documents = EvidenceDocuments(sessions, firm.now)

    @property
    def document_limits(self) -> DocumentLimits:
        return self._gateway.document_limits

    @property
    def fields(self) -> tuple[EvidenceField, ...]:
        """The evidence fields the processor takes (Stripe's own text fields only on Stripe)."""
        return evidence_fields(self._gateway.name)

    def check_draft(self, fields: dict[str, str], files: Sequence[OfferedFile]) -> None:
        """Field errors for the text and for files over the processor's limits, before any
        file is downloaded."""
        check_evidence(fields, self.fields)
        check_files(files, self.document_limits)

    # -- where each dispute lives in Slack ------------------------------------------------
    async def track(
        self, dispute: Dispute, matter_id: str | None, channel: str, message_ts: str, thread_ts: str
    ) -> None:
        now = self._firm.now()
        async with self._sessions.begin() as session:
            fresh = await insert_or_ignore(
                session,
                DisputeThread,
                {
                    "dispute_id": dispute.id,
                    "transaction_id": dispute.transaction_id,
                    "matter_id": matter_id,
                    "status": dispute.status.value,
                    "respond_by": dispute.respond_by,
                    "stage": stage_of(dispute),
                    "deadline_set_at": now,
                    "channel": channel,
                    "message_ts": message_ts,
                    "thread_ts": thread_ts,
                    "created_at": now,
                    "updated_at": now,
                },
                ["dispute_id"],
            )
            if not fresh:
                await session.execute(
                    update(DisputeThread)
                    .where(DisputeThread.dispute_id == dispute.id)
                    .values(
                        channel=channel, message_ts=message_ts, thread_ts=thread_ts, updated_at=now
                    )
                )

    async def thread(self, dispute_id: str) -> DisputeThreadInfo | None:
        async with self._sessions() as session:
            row = await session.get(DisputeThread, dispute_id)
        return thread_info(row) if row else None

    async def record_status(self, dispute: Dispute) -> None:
        async with self._sessions.begin() as session:
            await self._record_status(session, dispute)

    async def _record_status(self, session: AsyncSession, dispute: Dispute) -> None:
        row = await session.get(DisputeThread, dispute.id, with_for_update=True)
        if row is None:
            return
        now, stage = self._firm.now(), stage_of(dispute)
        moved = row.respond_by != dispute.respond_by or (
            row.stage is not None and row.stage != stage
        )
        row.status, row.respond_by, row.stage, row.updated_at = (
            dispute.status.value,
            dispute.respond_by,
            stage,
            now,
        )
        if moved:
            # A new reply-by date or stage asks for a new answer: its reminders start again,
            # and only a response made from now on answers it (see `remind`).
            row.reminded_72h_at = row.reminded_24h_at = row.overdue_at = None
            row.margin_reminded_at = None
            row.deadline_set_at = now

    async def open_dispute(self, dispute_id: str) -> Dispute:
        dispute = await self._gateway.get_dispute(dispute_id)
        if dispute is None:
            raise NotFound("That dispute no longer exists at the processor.")
        if dispute.status is not DisputeStatus.NEEDS_RESPONSE:
            raise DisputeRefused(
                f"This dispute is {dispute.status.said}: it takes no response now."
            )
        return dispute

    # -- responses: drafted by staff, decided by a manager, submitted once -------------------
    async def draft(
        self,
        actor: PortalAccount,
        dispute_id: str,
        fields: dict[str, str],
        source: Source,
        documents: Sequence[tuple[OfferedFile, DocumentFile]] = (),
    ) -> DisputeResponseInfo:
        """The draft, its documents and the message showing them in the dispute's thread (for
        the approving manager to open) in one transaction."""
        evidence = check_evidence(fields, self.fields)
        check_files([offered for offered, _ in documents], self.document_limits)
        await self.open_dispute(dispute_id)
        now, response_id = self._firm.now(), random_id()
        row = DisputeResponse(
            id=response_id,
            dispute_id=dispute_id,
            evidence=asdict(evidence) | {"documents": [d.name for _, d in documents]},
            state=ResponseState.DRAFTED.value,
            requester_username=actor.username,
            requester_slack_id=actor.slack_user_id or "",
            idempotency_key=f"paybot-dispute-{response_id}",
            created_at=now,
            updated_at=now,
        )
        return await self._approvals.create(
            row,
            AuditRecord(
                Action.DRAFT_DISPUTE_RESPONSE.value,
                Outcome.DONE,
                source,
                actor,
                target_type="dispute",
                target_id=dispute_id,
                after={"state": "drafted", "response": response_id},
            ),
            FormErrors(
                {"summary": "A response to this dispute is already waiting for a decision."}
            ),
            lambda session: self._keep(session, response_id, documents),
        )

    async def _keep(
        self,
        session: AsyncSession,
        response_id: str,
        documents: Sequence[tuple[OfferedFile, DocumentFile]],
    ) -> None:
        if not documents:
            return
        session.add_all(self.documents.rows(response_id, documents))
        if self._channel:
            await owe(
                session, NoticeKind.RESPONSE_DOCUMENTS, self._channel, response_id, self._firm.now()
            )

    async def response(self, response_id: str) -> DisputeResponseInfo:
        return await self._approvals.get(response_id)

    async def retell(self, response_id: str, milestone: Milestone | None) -> None:
        await self._approvals.retell(response_id, milestone)

    async def set_draft_message(self, response_id: str, channel: str, ts: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(DisputeResponse)
                .where(DisputeResponse.id == response_id, DisputeResponse.draft_ts.is_(None))
                .values(draft_channel=channel, draft_ts=ts)
            )

    async def withdraw(
        self, actor: PortalAccount, response_id: str, source: Source
    ) -> DisputeResponseInfo:
        """The drafter takes their waiting response back (nobody else may)."""
        return await self._approvals.withdraw(actor, response_id, source)

    async def sweep(self) -> int:
        """Remind of and expire undecided responses (the worker's, every round)."""
        return await self._approvals.sweep()

    async def decidable(
        self, actor: PortalAccount, response_id: str, source: Source
    ) -> DisputeResponseInfo:
        return await self._approvals.decidable(actor, response_id, source)

    async def _already(
        self, actor: PortalAccount | None, action: str, dispute_id: str, source: Source, why: str
    ) -> NoReturn:
        refusal = DisputeRefused(why)
        await too_late(
            self._audit, actor, action, source, refusal, target_type="dispute", target_id=dispute_id
        )

    async def approve(
        self, actor: PortalAccount, response_id: str, source: Source
    ) -> DisputeResponseInfo:
        return await self._approvals.approve(
            actor, response_id, source, lambda response: self._still_open(response.dispute_id)
        )

    async def _still_open(self, dispute_id: str) -> None:
        await self.open_dispute(dispute_id)

    async def reject(
        self, actor: PortalAccount, response_id: str, reason: str, source: Source
    ) -> DisputeResponseInfo:
        return await self._approvals.reject(actor, response_id, reason, source)

    async def submit(self, response_id: str) -> DisputeResponseInfo:
        """Send approved evidence to the processor; safe to run again after a crash."""
        response = await self._approvals.submitting(response_id)
        if response is None:
            return await self.response(response_id)  # submitted already
        key = await self._approvals.idempotency_key(response_id)

        async def send() -> None:
            sent = await self.documents.upload(self._gateway, response.dispute_id, response_id, key)
            await self._gateway.submit_dispute_evidence(
                response.dispute_id, response.evidence, idempotency_key=str(key), documents=sent
            )

        return await self._approvals.carried_out(
            response_id, ResponseState.SUBMITTED, ResponseState.FAILED, send
        )

    # -- accepting liability --------------------------------------------------------------
    async def request_accept(
        self, actor: PortalAccount, dispute_id: str, source: Source
    ) -> Dispute:
        """Record the decision (audited) and the job that tells the processor, before Slack is
        answered. Only the first of many clicks is the accept; the others are audited refusals.
        A dispute the approval policy says needs a second pair of eyes becomes a request to
        accept it instead (services/acceptances.py)."""
        dispute = await self._gateway.get_dispute(dispute_id)
        if dispute is None:
            raise NotFound("That dispute no longer exists at the processor.")
        if dispute.status is not DisputeStatus.NEEDS_RESPONSE:
            why = (
                "This dispute was already accepted."
                if dispute.status is DisputeStatus.ACCEPTED
                else f"This dispute is {dispute.status.said}: it cannot be accepted now."
            )
            await self._already(actor, Action.ACCEPT_DISPUTE.value, dispute_id, source, why)
        rule = self.acceptances.rule(actor, dispute)
        if rule is not None:  # the approval policy asks for a second pair of eyes
            await self.acceptances.request(actor, dispute, rule, source)
            return dispute
        now = self._firm.now()
        try:
            async with self._sessions.begin() as session:
                if not await enqueue(
                    session,
                    JobKind.DISPUTE_ACCEPT,
                    f"{JobKind.DISPUTE_ACCEPT}:{dispute_id}",
                    {"dispute_id": dispute_id, "by": actor.slack_user_id or actor.username},
                    now=now,
                ):
                    raise _Late(dispute_id, "This dispute was already accepted.")
                self._audit.add(
                    session,
                    AuditRecord(
                        Action.ACCEPT_DISPUTE.value,
                        Outcome.DONE,
                        source,
                        actor,
                        target_type="dispute",
                        target_id=dispute_id,
                        before={"status": dispute.status.value},
                        after={"status": "accepting"},
                    ),
                )
        except _Late as late:
            await self._already(
                actor, Action.ACCEPT_DISPUTE.value, dispute_id, source, late.args[1]
            )
        return dispute

    async def accept(self, dispute_id: str, by: str) -> Dispute:
        """Tell the processor (idempotent, so safe again after a crash); record the new status
        and owe the dispute's thread the news, in one transaction."""
        dispute = await self._gateway.accept_dispute(
            dispute_id, idempotency_key=f"paybot-accept-{dispute_id}"
        )
        now = self._firm.now()
        async with self._sessions.begin() as session:
            await self._record_status(session, dispute)
            if self._channel:
                await owe(
                    session, NoticeKind.DISPUTE_ACCEPTED, self._channel, dispute_id, now, by=by
                )
        return dispute

    # -- deadlines ----------------------------------------------------------------------
    async def remind(self) -> int:
        return await self.deadlines.remind()

    def ask_by(self, respond_by: datetime) -> date:
        return self.deadlines.ask_by(respond_by)


class _Late(Exception):
    """Raised inside a transaction that lost the race, to leave it before auditing the refusal."""


def _action_for(state: str, by_person: bool) -> str:
    if state == ResponseState.WITHDRAWN:
        return "withdraw_dispute_response"
    return Action.DECIDE_DISPUTE_RESPONSE.value if by_person else f"dispute_response_{state}"


FLOW: Flow[DisputeResponseInfo] = Flow(
    model=DisputeResponse,
    info=response_info,
    states=ResponseState,
    carry_out=JobKind.DISPUTE_SUBMIT,
    decide=Action.DECIDE_DISPUTE_RESPONSE,
    noun="This dispute response",
    asked="drafted this response",
    refused=DisputeRefused,
    job_key="response_id",
    target_type="dispute",
    target_id=lambda row: str(row.dispute_id),
    action=_action_for,
    details=lambda response_id, changes: {"response": response_id},
)
