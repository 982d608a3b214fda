"""Refund modal, approval message (one renderer for every state), thread replies and DMs."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import (
    Block,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.approvals import decision_buttons, reason_input, rejection_modal, status_line
from bot.blocks.text import business_day, clip, field, inline, note, paragraph, quote, when
from bot.blocks.transactions import transaction_facts
from bot.domain import Account, RefundRequestInfo, RefundState, Transaction
from bot.ids import ActionId, BlockId, CallbackId
from bot.policy import Rule

RULES = (
    "• Full refunds only: the whole amount goes back; partial refunds are not possible.\n"
    "• Refunds always come out of the *operating* account.\n"
    "• Refunds take 1-2 business days to reach the payer.\n"
    "• Afterwards, reverse the matching invoice payment in the practice-management system."
)

TRUST_STEPS = (
    "• The payment went to the *trust* account, but the refund comes out of operating: "
    "transfer the amount from trust to operating first, with the client's authority.\n"
    "• Record the trust disbursement against the matter's trust ledger.\n"
    "• Keep the client's written instruction on the matter file."
)

# States in which a refund will not settle: no date it is expected by is shown.
UNSETTLED = (RefundState.REJECTED, RefundState.FAILED, RefundState.WITHDRAWN, RefundState.EXPIRED)
WAITING = (RefundState.REQUESTED, RefundState.AWAITING_SECOND)
STATE_LINE = {
    RefundState.REQUESTED: "⏳ Waiting for a manager's approval",
    RefundState.AWAITING_SECOND: "⏳ Waiting for a second approval",
    RefundState.WITHDRAWN: "↩️ Withdrawn by the requester",
    RefundState.EXPIRED: "⌛ Expired: not decided in time",
    RefundState.APPROVED: "✅ Approved: sending to the processor",
    RefundState.REJECTED: "❌ Rejected",
    RefundState.SUBMITTING: "📤 Sending to the processor",
    RefundState.PENDING: "🕒 Pending at the processor (1-2 business days)",
    RefundState.SUCCEEDED: "💸 Refunded",
    RefundState.FAILED: "⚠️ Failed",
}


RULE_NOTE = {
    Rule.ONE: "Managers and admins decide; nobody decides their own request.",
    Rule.TWO_APPROVERS: "A refund of this size needs two different managers' or admins' "
    "approvals (the firm's policy); nobody decides their own request.",
    Rule.ADMIN: "A refund of this size needs an admin's approval (the firm's policy); nobody "
    "decides their own request.",
}


def refund_modal(txn: Transaction, zone: tzinfo | None = None) -> View:
    blocks: list[Block] = [transaction_facts(txn, zone)]
    if txn.items:
        lines = "\n".join(f"• {inline(i.description)}: {i.amount}" for i in txn.items[:20])
        blocks.append(paragraph(f"*Payment items*\n{lines}"))
    blocks.append(DividerBlock())
    blocks.append(paragraph(f"*Rules*\n{RULES}"))
    if txn.account is Account.TRUST:
        blocks.append(paragraph(f"*Trust payment: extra steps*\n{TRUST_STEPS}"))
    blocks.append(
        InputBlock(
            block_id=BlockId.REASON,
            label="Reason for the refund",
            hint="Sent to the approving manager and everyone on the matter.",
            element=reason_input(),
        )
    )
    return View(
        type="modal",
        callback_id=CallbackId.REFUND_REQUEST,
        private_metadata=txn.id,
        title="Refund payment",
        submit="Ask for approval",
        close="Cancel",
        blocks=blocks,
    )


def reject_modal(request: RefundRequestInfo) -> View:
    return rejection_modal(
        CallbackId.REFUND_REJECT,
        request.id,
        "Reject refund",
        paragraph(
            f"Reject the refund of *{request.amount}* on `{inline(request.transaction_id)}`?"
        ),
    )


def refund_request_message(request: RefundRequestInfo, zone: tzinfo | None = None) -> list[Block]:
    """The approval message in whatever state the request is: first post and every update.
    ``zone``: the firm's, for the dates' text."""
    facts = [
        field("Transaction", f"`{inline(request.transaction_id)}`"),
        field("Amount", f"{request.amount} (full refund)"),
        field("Matter", inline(request.matter_id) or "—"),
        field("Paid into", request.account.value.title()),
        field(
            "Requested by",
            f"<@{request.requester_slack_id}> ({inline(request.requester_username)})",
        ),
        field("Requested", when(request.created_at, zone)),
    ]
    if request.expected_by and request.state not in UNSETTLED:
        facts.append(field("Expected to settle by", business_day(request.expected_by)))
    if request.decided_by_username:
        facts.append(
            field(
                "Decided by",
                f"<@{request.decided_by_slack_id}> ({inline(request.decided_by_username)})",
            )
        )
    if request.processor_refund_id:
        facts.append(field("Processor refund", f"`{inline(request.processor_refund_id)}`"))
    blocks: list[Block] = [
        HeaderBlock(text=f"Refund request: {request.amount}"),
        SectionBlock(fields=facts[:10]),
        paragraph(clip(f"*Reason*\n{quote(request.reason)}")),
    ]
    if request.account is Account.TRUST:
        blocks.append(paragraph(f"*Trust payment: extra steps*\n{TRUST_STEPS}"))
    blocks.append(
        status_line(STATE_LINE[request.state], request.rejection_reason, request.failure_reason)
    )
    if request.first_approver_username:
        blocks.append(
            paragraph(
                f"*{'1 of 2 approvals' if request.state in WAITING else 'First approval'}:* "
                f"<@{request.first_approver_slack_id}> "
                f"({inline(request.first_approver_username)})"
            )
        )
    if request.state in WAITING:
        last = request.state is RefundState.AWAITING_SECOND
        blocks.append(
            decision_buttons(
                request.id,
                ActionId.REFUND_APPROVE,
                ActionId.REFUND_REJECT,
                approve_text="Give the second approval" if last else "Approve",
                confirm=ConfirmObject(
                    title="Approve refund?",
                    text=f"Refund {request.amount} to the payer. This cannot be undone."
                    if last or request.approval_rule != Rule.TWO_APPROVERS
                    else f"The first of two approvals of a refund of {request.amount}.",
                    confirm="Approve",
                    deny="Cancel",
                ),
                withdraw=ActionId.REFUND_WITHDRAW,
            )
        )
    blocks.append(note(RULE_NOTE[Rule(request.approval_rule or Rule.ONE)]))
    return blocks


def milestone_text(request: RefundRequestInfo, milestone: str) -> str:
    """One sentence per milestone, used for the thread reply and the DMs alike."""
    amount, txn = request.amount, f"`{inline(request.transaction_id)}`"
    decider = f"<@{request.decided_by_slack_id}>" if request.decided_by_slack_id else "a manager"
    reason = f"\n{quote(request.reason)}"
    first = (
        f"<@{request.first_approver_slack_id}>" if request.first_approver_slack_id else "a manager"
    )
    where = f": <#{request.approval_channel}>" if request.approval_channel else ""
    return {
        "approved": f"✅ Approved by {decider}. Sending the refund of {amount} to the processor.",
        "rejected": f"❌ Rejected by {decider}: {inline(request.rejection_reason)}\nRefund of {amount} on {txn} will not be made.",
        "submitted": f"🕒 Refund of {amount} on {txn} (matter {inline(request.matter_id) or '—'}) was submitted to the processor; it takes 1-2 business days.\nReason:{reason}",
        "succeeded": f"💸 Refund of {amount} on {txn} (matter {inline(request.matter_id) or '—'}) has settled.\nReason:{reason}",
        "failed": f"⚠️ Refund of {amount} on {txn} failed: {inline(request.failure_reason)}\nReason:{reason}",
        "first_approval": f"☑️ First approval by {first}: the refund of {amount} needs one more, from another manager or admin.",
        "reminded": f"⏰ The refund of {amount} on {txn} asked for by {inline(request.requester_username)} is still waiting for a decision{where}.",
        "withdrawn": f"↩️ Withdrawn by {inline(request.requester_username)}: the refund of {amount} on {txn} will not be made.",
        "expired": f"⌛ The refund request of {amount} on {txn} expired undecided: it will not be made. Ask again if it is still needed.",
    }[milestone]


def bookkeeping_checklist(request: RefundRequestInfo) -> str:
    steps = [
        f"☐ Reverse the invoice payment of {request.amount} on matter {inline(request.matter_id) or '—'} "
        "in the practice-management system.",
    ]
    if request.account is Account.TRUST:
        steps += [
            "☐ Transfer the amount from trust to operating (the refund came out of operating).",
            "☐ Record the trust disbursement on the matter's trust ledger.",
            "☐ File the client's written instruction on the matter.",
        ]
    return "*Bookkeeping checklist*\n" + "\n".join(steps)


def matter_members_missing(emails: list[str]) -> str:
    listed = ", ".join(inline(e) for e in emails)
    return f"⚠️ Not found in Slack, so not told by DM: {listed}. Tell them another way."


def overdue_text(request: RefundRequestInfo) -> str:
    """The refund's thread, once: it has not settled by the bank day it was expected by."""
    expected = business_day(request.expected_by) if request.expected_by else "its expected day"
    return (
        f"⚠️ The refund of {request.amount} on `{inline(request.transaction_id)}` is still pending "
        f"at the processor: it was expected to settle by {expected}. Check it with the processor."
    )


def request_text(request: RefundRequestInfo) -> str:
    return f"Refund request: {request.amount} on {inline(request.transaction_id)}"
