"""A request to accept a dispute (services/acceptances.py) in the dispute's thread, in every
state (first post and every update), its replies and DMs, and the modal asking why it is
rejected."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ConfirmObject
from slack_sdk.models.views import View

from bot.acceptance import AcceptanceState, DisputeAcceptanceInfo
from bot.blocks.approvals import decision_buttons, rejection_modal, status_line
from bot.blocks.text import inline, note, paragraph
from bot.ids import ActionId, CallbackId
from bot.policy import Rule

STATE_LINE = {
    AcceptanceState.REQUESTED: "⏳ Waiting for a second approval",
    AcceptanceState.APPROVED: "✅ Approved: accepting at the processor",
    AcceptanceState.REJECTED: "❌ Rejected: the dispute is not accepted",
    AcceptanceState.SUBMITTING: "📤 Accepting at the processor",
    AcceptanceState.ACCEPTED: "⚫ Accepted",
    AcceptanceState.FAILED: "⚠️ Failed",
    AcceptanceState.WITHDRAWN: "↩️ Withdrawn by the requester",
    AcceptanceState.EXPIRED: "⌛ Expired: not decided in time",
}
RULE_NOTE = {
    Rule.ONE: "Accepting a dispute of this size takes two managers or admins (the firm's "
    "policy): the one who asked and another.",
    Rule.ADMIN: "Accepting a dispute of this size takes an admin's approval (the firm's policy).",
}


def acceptance_message(acceptance: DisputeAcceptanceInfo) -> list[Block]:
    blocks: list[Block] = [
        paragraph(
            f"*<@{acceptance.requester_slack_id}> asks to accept chargeback "
            f"{inline(acceptance.dispute_id)}* ({acceptance.amount}): the amount stays with the "
            "cardholder, and accepting cannot be undone."
        ),
        status_line(
            STATE_LINE[acceptance.state], acceptance.rejection_reason, acceptance.failure_reason
        ),
    ]
    if acceptance.decided_by_slack_id:
        blocks.append(paragraph(f"*Decided by:* <@{acceptance.decided_by_slack_id}>"))
    if acceptance.state is AcceptanceState.REQUESTED:
        blocks.append(
            decision_buttons(
                acceptance.id,
                ActionId.ACCEPTANCE_APPROVE,
                ActionId.ACCEPTANCE_REJECT,
                approve_text="Approve and accept",
                confirm=ConfirmObject(
                    title="Accept this chargeback?",
                    text=f"The {acceptance.amount} stays with the cardholder. Accepting cannot "
                    "be undone.",
                    confirm="Accept",
                    deny="Cancel",
                ),
                withdraw=ActionId.ACCEPTANCE_WITHDRAW,
            )
        )
    blocks.append(note(RULE_NOTE[Rule(acceptance.approval_rule or Rule.ONE)]))
    return blocks


def acceptance_text(acceptance: DisputeAcceptanceInfo) -> str:
    return f"Accepting chargeback {inline(acceptance.dispute_id)}: {acceptance.amount}"


def milestone_text(acceptance: DisputeAcceptanceInfo, milestone: str) -> str:
    """The reply in the dispute's thread and the DMs alike."""
    what = f"accepting chargeback {inline(acceptance.dispute_id)} ({acceptance.amount})"
    decider = f"<@{acceptance.decided_by_slack_id}>" if acceptance.decided_by_slack_id else ""
    return {
        "approved": f"✅ {decider} approved {what}: accepting it at the processor.",
        "rejected": f"❌ {decider} rejected {what}: {inline(acceptance.rejection_reason)}",
        "failed": f"⚠️ {what.capitalize()} failed: {inline(acceptance.failure_reason)}",
        "reminded": f"⏰ The request by <@{acceptance.requester_slack_id}> for {what} is still "
        "waiting for a decision, in the dispute's thread.",
        "withdrawn": f"↩️ <@{acceptance.requester_slack_id}> withdrew the request for {what}.",
        "expired": f"⌛ The request for {what} expired undecided: ask again if it is still meant.",
    }[milestone]


def reject_acceptance_modal(acceptance: DisputeAcceptanceInfo) -> View:
    return rejection_modal(
        CallbackId.ACCEPTANCE_REJECT,
        acceptance.id,
        "Reject acceptance",
        paragraph(f"Keep contesting chargeback {inline(acceptance.dispute_id)}?"),
    )
