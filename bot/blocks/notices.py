"""Every message the outbox delivers, rendered by its kind: the blocks (none for a plain reply)
and the text (the notification's, and a reply's whole message)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks import acceptances, checklists, disputes, refunds
from bot.blocks.digest import digest_blocks, digest_text
from bot.bookkeeping import ChecklistKind
from bot.digests import DailyDigest
from bot.domain import Account, Money, Notice
from bot.ids import NoticeKind
from bot.nacha import describe_return

RESPONSE_MILESTONE = {
    "approved": "✅ Response approved by <@{decider}>: submitting the evidence to the processor.",
    "rejected": "❌ Response rejected by <@{decider}>.",
    "submitted": "📨 Evidence submitted to the processor. The bank will review it.",
    "failed": "⚠️ Submitting the evidence failed.",
    "reminded": "⏰ This response drafted by <@{drafter}> is still waiting for a decision.",
    "withdrawn": "↩️ Response withdrawn by <@{drafter}>.",
    "expired": "⌛ The response drafted by <@{drafter}> expired undecided: draft it again if "
    "it is still to be sent.",
}
RESPONSE_DM = {
    "reminded": "⏰ A dispute response drafted by <@{drafter}> is waiting for your decision in "
    "the dispute's thread.",
    "expired": "⌛ Your dispute response expired undecided: draft it again if it is still to be "
    "sent.",
}


def render(notice: Notice) -> tuple[list[Block], str]:
    kind, payload = notice.kind, notice.payload
    if kind == NoticeKind.REPLY:  # rendered when the person asked, by the blocks that answer it
        return Block.parse_all(payload.get("blocks") or []), str(payload.get("text") or "")
    if kind == NoticeKind.DAILY_DIGEST:  # counted when it was claimed, stored with it
        digest = DailyDigest.from_payload(dict(payload))
        return digest_blocks(digest), digest_text(digest)
    if kind == NoticeKind.WITHDRAWAL_RETURNED:
        return _withdrawal_return(notice)
    zone = notice.now.tzinfo
    if notice.checklist is not None and kind != NoticeKind.REFUND_CHECKLIST:
        if kind == NoticeKind.CHECKLIST_REMINDER:
            return [], checklists.reminder_text(notice.checklist, zone)
        return (  # TRUST_DEBIT_CHECKLIST, CHECKLIST_UPDATE
            checklists.checklist_message(notice.checklist, zone),
            checklists.checklist_text(notice.checklist),
        )
    if notice.payment_return is not None:  # NoticeKind.RETURN_CREATED
        told = notice.payment_return
        meaning = describe_return(told.code)
        blocks, text = disputes.return_message(told, meaning), disputes.return_text(told, meaning)
        if notice.account is Account.TRUST:
            return _trust_debit(
                blocks, text, ChecklistKind.ACH_RETURN, told.amount, told.transaction_id
            )
        return blocks, text
    if notice.refund is not None:
        request, milestone = notice.refund, str(payload.get("milestone") or "")
        if kind == NoticeKind.REFUND_REQUEST:
            message = refunds.refund_request_message(request, notice.now.tzinfo)
            return message, refunds.request_text(request)
        if kind == NoticeKind.REFUND_UPDATE:
            return (
                refunds.refund_request_message(request, notice.now.tzinfo),
                f"{refunds.request_text(request)} ({request.state.value})",
            )
        if kind == NoticeKind.REFUND_CHECKLIST:
            if notice.checklist is not None:
                return (
                    checklists.checklist_message(notice.checklist, zone),
                    checklists.checklist_text(notice.checklist),
                )
            return [], refunds.bookkeeping_checklist(request)
        if kind == NoticeKind.REFUND_OVERDUE:
            return [], refunds.overdue_text(request)
        if kind == NoticeKind.MATTER_MISSING:
            return [], refunds.matter_members_missing([str(e) for e in payload["emails"]])
        return [], refunds.milestone_text(request, milestone)  # REFUND_MILESTONE, REFUND_DM
    if notice.acceptance is not None:
        acceptance = notice.acceptance
        if kind in (NoticeKind.ACCEPTANCE_REQUEST, NoticeKind.ACCEPTANCE_UPDATE):
            return (
                acceptances.acceptance_message(acceptance),
                acceptances.acceptance_text(acceptance),
            )
        return [], acceptances.milestone_text(acceptance, str(payload["milestone"]))
    if notice.response is not None:
        response = notice.response
        if kind == NoticeKind.RESPONSE_DRAFT:
            return disputes.response_draft(response), "Dispute response drafted"
        if kind == NoticeKind.RESPONSE_UPDATE:
            return disputes.response_draft(response), "Dispute response"
        if kind == NoticeKind.RESPONSE_DOCUMENTS:
            return [], disputes.documents_comment(response)
        said = RESPONSE_DM if kind == NoticeKind.RESPONSE_DM else RESPONSE_MILESTONE
        text = said[str(payload["milestone"])]
        return [], text.format(
            decider=response.decided_by_slack_id or "", drafter=response.requester_slack_id
        )
    dispute, now = notice.dispute, notice.now
    if dispute is None:
        raise LookupError(f"nothing to render a {kind} notice from")
    if kind == NoticeKind.DISPUTE_CREATED:
        blocks, text = (
            disputes.dispute_message(dispute, notice.matter_id, now, notice.ask_by),
            disputes.dispute_text(dispute),
        )
        if notice.account is Account.TRUST:
            return _trust_debit(
                blocks, text, ChecklistKind.CHARGEBACK, dispute.amount, dispute.transaction_id
            )
        return blocks, text
    if kind == NoticeKind.DISPUTE_UPDATED:
        return [], disputes.status_reply(dispute, now.tzinfo)
    if kind == NoticeKind.DISPUTE_ACCEPTED:
        return [], f"{disputes.status_reply(dispute, now.tzinfo)} (accepted by <@{payload['by']}>)"
    if kind == NoticeKind.DISPUTE_REMINDER:
        managers = [str(user) for user in payload.get("managers") or []]
        return [], disputes.reminder_text(
            dispute, str(payload.get("stage")), now, notice.ask_by, managers
        )
    if kind == NoticeKind.DISPUTE_DEADLINE_DM:
        return [], disputes.deadline_dm(dispute, now, bool(payload.get("drafter")))
    if kind == NoticeKind.DISPUTE_DM:
        return [], disputes.matter_dispute_dm(dispute, notice.matter_id, now)
    raise LookupError(f"unknown notification kind {kind}")


def _trust_debit(
    blocks: list[Block], text: str, kind: ChecklistKind, amount: Money, transaction_id: str
) -> tuple[list[Block], str]:
    """A chargeback or return of a trust payment, told as what it is for the firm: a debit on
    trust to cover. The banner comes after the header (a digest drops headers, keeps it)."""
    banner = checklists.trust_debit_banner(kind, amount, transaction_id)
    at = 1 if blocks and blocks[0].type == "header" else 0
    return (
        [*blocks[:at], banner, *blocks[at:]],
        checklists.trust_debit_text(kind, amount) + text,
    )


def _withdrawal_return(notice: Notice) -> tuple[list[Block], str]:
    """A returned payout, told from the event itself (no processor has a withdrawal lookup)."""
    data = dict(notice.payload.get("data") or {})
    minor = data.get("returned_minor", data.get("amount_minor"))
    amount = str(Money(int(minor or 0), str(data.get("currency") or "USD")))
    code = str(data.get("code") or "unknown")
    meaning = describe_return(code)
    return (
        disputes.withdrawal_return_message(notice.object_id, amount, code, meaning),
        disputes.withdrawal_return_text(notice.object_id, amount, code, meaning),
    )
