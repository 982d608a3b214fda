"""What delivering a notice means for the domain, so the worker only paces, posts and recovers:
the objects a notice tells of (for blocks/notices.py to render), the thread a reply goes in, the
message an update renders again, what a post changes (where a request's message or a dispute's
thread is) and whom a matter's people are (their DMs are owed then, in the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.bookkeeping import ChecklistKind
from bot.clock import UTC_CLOCK, FirmClock
from bot.db.engine import SessionFactory
from bot.domain import Account, Dispute, DisputeThreadInfo, Notice, PaymentReturn
from bot.ids import Milestone, NoticeKind
from bot.processors.gateway import Gateway
from bot.services.checklists import Checklists
from bot.services.disputes import Disputes, stage_of
from bot.services.matters import Matters
from bot.services.outbox import OutboxItem
from bot.services.owed import owe
from bot.services.refunds import Refunds

Resolve = Callable[[str], Awaitable[str | None]]  # an e-mail address to its Slack user, if any

REFUND_KINDS = {
    NoticeKind.REFUND_REQUEST,
    NoticeKind.REFUND_UPDATE,
    NoticeKind.REFUND_MILESTONE,
    NoticeKind.REFUND_CHECKLIST,
    NoticeKind.REFUND_OVERDUE,
    NoticeKind.REFUND_DM,
    NoticeKind.REFUND_MATTER,
    NoticeKind.MATTER_MISSING,
}
RESPONSE_KINDS = {
    NoticeKind.RESPONSE_DRAFT,
    NoticeKind.RESPONSE_DOCUMENTS,
    NoticeKind.RESPONSE_UPDATE,
    NoticeKind.RESPONSE_MILESTONE,
    NoticeKind.RESPONSE_DM,
}
IN_APPROVAL_THREAD = {
    NoticeKind.REFUND_MILESTONE,
    NoticeKind.REFUND_CHECKLIST,
    NoticeKind.REFUND_OVERDUE,
    NoticeKind.MATTER_MISSING,
}
# A checklist's own notices (object: the checklist), in the thread it was opened in.
CHECKLIST_KINDS = {
    NoticeKind.TRUST_DEBIT_CHECKLIST,
    NoticeKind.CHECKLIST_UPDATE,
    NoticeKind.CHECKLIST_REMINDER,
}
IN_CHECKLIST_THREAD = {NoticeKind.TRUST_DEBIT_CHECKLIST, NoticeKind.CHECKLIST_REMINDER}
ACCEPTANCE_KINDS = {
    NoticeKind.ACCEPTANCE_REQUEST,
    NoticeKind.ACCEPTANCE_UPDATE,
    NoticeKind.ACCEPTANCE_MILESTONE,
    NoticeKind.ACCEPTANCE_DM,
}
IN_DISPUTE_THREAD = {
    NoticeKind.RESPONSE_DRAFT,
    NoticeKind.RESPONSE_DOCUMENTS,
    NoticeKind.RESPONSE_MILESTONE,
    NoticeKind.DISPUTE_ACCEPTED,
    NoticeKind.ACCEPTANCE_REQUEST,
    NoticeKind.ACCEPTANCE_MILESTONE,
}


class NotReady(Exception):
    """The message this notice belongs under is not posted yet; try again shortly."""


@dataclass(frozen=True)
class Thread:
    """Where a reply goes: ``parent_ts`` is a dispute's message, rendered again before the
    reply; ``told`` says the thread already shows this, so nothing is posted."""

    channel: str | None
    ts: str
    parent_ts: str | None = None
    told: bool = False


class Notices:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        refunds: Refunds,
        disputes: Disputes,
        matters: Matters,
        checklists: Checklists,
        firm: FirmClock = UTC_CLOCK,
    ) -> None:
        self._checklists = checklists
        self._sessions = sessions
        self._gateway = gateway
        self._refunds = refunds
        self._disputes = disputes
        self._matters = matters
        self._firm = firm  # a notice's, a deadline's, a report's days are the firm's

    async def load(self, item: OutboxItem) -> Notice:
        now, kind = self._firm.now().astimezone(self._firm.zone), item.kind
        notice = Notice(kind, item.object_id, item.payload, now)
        if kind in (NoticeKind.WITHDRAWAL_RETURNED, NoticeKind.REPLY, NoticeKind.DAILY_DIGEST):
            return notice
        if kind == NoticeKind.RETURN_CREATED:
            payment_return, account = await self._return(item)
            return Notice(
                kind,
                item.object_id,
                item.payload,
                now,
                payment_return=payment_return,
                account=account,
            )
        if kind in CHECKLIST_KINDS:
            checklist = await self._checklists.get(item.object_id)
            if checklist is None:
                raise LookupError(f"checklist {item.object_id} not found")
            return Notice(kind, item.object_id, item.payload, now, checklist=checklist)
        if kind in REFUND_KINDS:
            request = await self._refunds.get(item.object_id)
            checklist = None
            if kind == NoticeKind.REFUND_CHECKLIST and request is not None:
                checklist = await self._checklists.for_refund(request)
            return Notice(
                kind, item.object_id, item.payload, now, refund=request, checklist=checklist
            )
        if kind in RESPONSE_KINDS:
            response = await self._disputes.response(item.object_id)
            return Notice(kind, item.object_id, item.payload, now, response=response)
        if kind in ACCEPTANCE_KINDS:
            acceptance = await self._disputes.acceptances.get(item.object_id)
            return Notice(kind, item.object_id, item.payload, now, acceptance=acceptance)
        dispute = await self._gateway.get_dispute(item.object_id)
        if dispute is None:
            raise LookupError(f"dispute {item.object_id} not found at the processor")
        txn = await self._gateway.get_transaction(dispute.transaction_id)
        matter_id = dispute.matter_id or (txn.matter_id if txn else None)
        return Notice(
            kind,
            item.object_id,
            item.payload,
            now,
            dispute=dispute,
            matter_id=matter_id,
            account=txn.account if txn else None,
            ask_by=self._disputes.ask_by(dispute.respond_by),
        )

    async def _return(self, item: OutboxItem) -> tuple[PaymentReturn, Account]:
        """The return as the event told it, completed from the payment it returned."""
        data = dict(item.payload.get("data") or {})
        transaction_id = str(data.get("transaction_id") or "")
        txn = await self._gateway.get_transaction(transaction_id) if transaction_id else None
        if txn is None:
            raise LookupError(
                f"the payment of return {item.object_id} was not found at the processor"
            )
        told = PaymentReturn(
            id=item.object_id,
            transaction_id=txn.id,
            code=str(data.get("code") or txn.return_code or ""),
            amount=txn.amount,
            created_at=self._firm.now(),
            matter_id=txn.matter_id,
        )
        return told, txn.account

    async def thread(self, notice: Notice) -> Thread | None:
        """The thread a reply goes in (None: a DM); NotReady while its parent is not posted. A
        dispute's news is recorded as its thread's status, unless the thread says it already."""
        kind = notice.kind
        if kind in IN_CHECKLIST_THREAD:
            checklist = notice.checklist
            if checklist is None or not (checklist.channel and checklist.thread_ts):
                raise NotReady(notice.object_id)
            return Thread(checklist.channel, checklist.thread_ts)
        if kind in IN_APPROVAL_THREAD:
            request = notice.refund
            if request is None or not (request.approval_ts and request.approval_channel):
                raise NotReady(notice.object_id)
            return Thread(request.approval_channel, request.approval_ts)
        if kind in IN_DISPUTE_THREAD:
            dispute_id = (
                notice.response.dispute_id
                if notice.response
                else notice.acceptance.dispute_id
                if notice.acceptance
                else notice.object_id
            )
            where = await self._disputes.thread(dispute_id)
            if where is None or not (where.channel and where.thread_ts):
                raise NotReady(dispute_id)
            return Thread(where.channel, where.thread_ts)
        if notice.dispute is None or kind in (
            NoticeKind.DISPUTE_DM,
            NoticeKind.DISPUTE_DEADLINE_DM,
        ):
            return None
        where = await self._disputes.thread(notice.dispute.id)
        if where is None or where.thread_ts is None:
            raise NotReady(notice.dispute.id)
        if kind == NoticeKind.DISPUTE_UPDATED and unchanged(where, notice.dispute):
            return Thread(where.channel, where.thread_ts, told=True)  # another feed told it
        await self._disputes.record_status(notice.dispute)
        return Thread(where.channel, where.thread_ts, where.message_ts)

    @staticmethod
    def message(notice: Notice) -> tuple[str, str] | None:
        """The message an update renders again (None: not posted yet, so it shows the news)."""
        if notice.kind == NoticeKind.CHECKLIST_UPDATE:
            checklist = notice.checklist
            if checklist and checklist.channel and checklist.message_ts:
                return checklist.channel, checklist.message_ts
            return None
        if notice.refund and notice.refund.approval_channel and notice.refund.approval_ts:
            return notice.refund.approval_channel, notice.refund.approval_ts
        if notice.response and notice.response.draft_channel and notice.response.draft_ts:
            return notice.response.draft_channel, notice.response.draft_ts
        accepting = notice.acceptance
        if accepting and accepting.message_channel and accepting.message_ts:
            return accepting.message_channel, accepting.message_ts
        return None

    async def posted(
        self, notice: Notice, channel: str, ts: str, thread_ts: str, resolve: Resolve
    ) -> None:
        """What a post changes: where a request's message is, or a dispute's thread (whose
        matter's people are then told by DM)."""
        if notice.kind in (NoticeKind.REFUND_CHECKLIST, NoticeKind.TRUST_DEBIT_CHECKLIST):
            if notice.checklist is not None:
                await self._checklists.set_message(notice.checklist.id, channel, ts, thread_ts)
        elif notice.kind == NoticeKind.RETURN_CREATED and notice.account is Account.TRUST:
            told = notice.payment_return
            assert told is not None
            await self._checklists.open_trust_debit(
                ChecklistKind.ACH_RETURN,
                told.id,
                told.transaction_id,
                told.amount,
                told.matter_id,
                channel,
                thread_ts,
            )
        elif notice.kind == NoticeKind.REFUND_REQUEST:
            await self._refunds.set_approval_message(notice.object_id, channel, ts)
        elif notice.kind == NoticeKind.RESPONSE_DRAFT:
            await self._disputes.set_draft_message(notice.object_id, channel, ts)
        elif notice.kind == NoticeKind.ACCEPTANCE_REQUEST:
            await self._disputes.acceptances.set_message(notice.object_id, channel, ts)
        elif notice.kind == NoticeKind.DISPUTE_CREATED and notice.dispute is not None:
            dispute = notice.dispute
            await self._disputes.track(dispute, notice.matter_id, channel, ts, thread_ts)
            if notice.account is Account.TRUST:
                await self._checklists.open_trust_debit(
                    ChecklistKind.CHARGEBACK,
                    dispute.id,
                    dispute.transaction_id,
                    dispute.amount,
                    notice.matter_id,
                    channel,
                    thread_ts,
                )
            users, _ = await self._people(notice.matter_id, resolve)
            await self._owe_dms(NoticeKind.DISPUTE_DM, dispute.id, users, "", notice.matter_id)

    async def tell_matter(self, notice: Notice, channel: str, resolve: Resolve) -> None:
        """A refund's milestone, owed to the matter's people by DM (the requester is told
        already); those Slack does not know are named in the thread (in ``channel``) once,
        when submitted."""
        request, milestone = notice.refund, str(notice.payload["milestone"])
        if request is None:
            return
        users, missing = await self._people(request.matter_id, resolve)
        users = [u for u in users if u != request.requester_slack_id]
        await self._owe_dms(NoticeKind.REFUND_DM, request.id, users, milestone, None)
        if missing and milestone == Milestone.SUBMITTED:
            async with self._sessions.begin() as session:
                await owe(
                    session,
                    NoticeKind.MATTER_MISSING,
                    channel,
                    request.id,
                    self._firm.now(),
                    emails=missing,
                )

    async def _people(self, matter_id: str | None, resolve: Resolve) -> tuple[list[str], list[str]]:
        """A matter's people: the Slack users found, and the addresses Slack does not know."""
        matter = await self._matters.get(matter_id) if matter_id else None
        users: list[str] = []
        missing: list[str] = []
        for email in matter.members if matter else ():
            user = await resolve(email)
            if user is None:
                missing.append(email)
            else:
                users.append(user)
        return users, missing

    async def _owe_dms(
        self,
        kind: NoticeKind,
        object_id: str,
        users: list[str],
        milestone: str,
        matter_id: str | None,
    ) -> None:
        if not users:
            return
        async with self._sessions.begin() as session:
            for user in users:
                if kind == NoticeKind.DISPUTE_DM:
                    await owe(
                        session, kind, user, object_id, self._firm.now(), user, matter_id=matter_id
                    )
                else:
                    await owe(
                        session, kind, user, object_id, self._firm.now(), milestone, user,
                        milestone=milestone,
                    )  # fmt: skip


def unchanged(thread: DisputeThreadInfo, dispute: Dispute) -> bool:
    """The thread already shows this status, deadline and stage (a stage not recorded, as on
    threads from before stages were kept, is not a change). Both times are aware UTC: the
    column type (db/base.UTCDateTime) and every adapter give them so."""
    return (
        thread.status is dispute.status
        and thread.respond_by == dispute.respond_by
        and (thread.stage is None or thread.stage == stage_of(dispute))
    )
