"""Chargebacks and returns in the notify channel, the response modal and the draft for approval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.blocks.approvals import decision_buttons, rejection_modal, status_line
from bot.blocks.text import business_day, day, field, inline, note, paragraph, quote
from bot.documents import (
    THREAD_BLOCK,
    UPLOADED_BLOCK,
    DocumentLimits,
    OfferedFile,
)
from bot.domain import Dispute, DisputeResponseInfo, DisputeStatus, PaymentReturn, ResponseState
from bot.evidence import EVIDENCE_FIELDS, EvidenceField, evidence_fields
from bot.ids import ActionId, CallbackId

STATUS_LABEL = {
    DisputeStatus.NEEDS_RESPONSE: "🔴 Needs a response",
    DisputeStatus.UNDER_REVIEW: "🟡 Under review by the bank",
    DisputeStatus.WON: "🟢 Won",
    DisputeStatus.LOST: "⚫ Lost",
    DisputeStatus.ACCEPTED: "⚫ Accepted (liability accepted)",
    DisputeStatus.CLOSED: "⚪ Closed (no more responses; outcome not given)",
}


def days_left(respond_by: datetime, now: datetime) -> int:
    """Days of the firm's calendar: ``now`` is given in the firm's zone."""
    return (respond_by.astimezone(now.tzinfo).date() - now.date()).days


def deadline_text(dispute: Dispute, now: datetime) -> str:
    left, due = days_left(dispute.respond_by, now), day(dispute.respond_by, now.tzinfo)
    if left < 0:
        return f"{due} (*{-left} days overdue*)"
    if left == 0:
        return f"{due} (*today*)"
    return f"{due} ({left} day{'s' if left != 1 else ''} left)"


def dispute_blocks(
    dispute: Dispute, matter_id: str | None, now: datetime, ask_by: date | None = None
) -> list[Block]:
    """One dispute: the facts (with the firm's own date for a response, when given) and, while
    it needs a response, Respond and Accept."""
    facts = [
        field("Amount", str(dispute.amount)),
        field("Transaction", f"`{inline(dispute.transaction_id)}`"),
        field("Matter", inline(matter_id) or "—"),
        field("Reason", inline(dispute.reason)),
        field("Network reason code", inline(dispute.network_reason_code)),
        field("Respond by", deadline_text(dispute, now)),
    ]
    if ask_by is not None and dispute.status is DisputeStatus.NEEDS_RESPONSE:
        facts.append(field("Firm's date for the response", business_day(ask_by)))
    blocks: list[Block] = [
        SectionBlock(
            text=f"*Chargeback {inline(dispute.id)}*: {STATUS_LABEL[dispute.status]}",
            fields=facts,
        )
    ]
    if dispute.status is DisputeStatus.NEEDS_RESPONSE:
        blocks.append(
            ActionsBlock(
                block_id=f"dispute:{dispute.id}"[:255],
                elements=[
                    ButtonElement(
                        text="Respond",
                        action_id=ActionId.DISPUTE_RESPOND,
                        value=dispute.id,
                        style="primary",
                    ),
                    ButtonElement(
                        text="Accept",
                        action_id=ActionId.DISPUTE_ACCEPT,
                        value=dispute.id,
                        style="danger",
                        confirm=ConfirmObject(
                            title="Accept this chargeback?",
                            text=f"The {dispute.amount} stays with the cardholder. Accepting cannot be undone.",
                            confirm="Accept",
                            deny="Cancel",
                        ),
                    ),
                ],
            )
        )
    return blocks


def dispute_message(
    dispute: Dispute, matter_id: str | None, now: datetime, ask_by: date | None = None
) -> list[Block]:
    return [
        HeaderBlock(text=f"New chargeback: {dispute.amount}"),
        *dispute_blocks(dispute, matter_id, now, ask_by),
    ]


def return_blocks(payment_return: PaymentReturn, meaning: str) -> list[Block]:
    return [
        SectionBlock(
            text=f"*Payment returned: {inline(payment_return.code)}*, {inline(meaning)}",
            fields=[
                field("Amount", str(payment_return.amount)),
                field("Transaction", f"`{inline(payment_return.transaction_id)}`"),
                field("Matter", inline(payment_return.matter_id) or "—"),
                field("Return code", f"{inline(payment_return.code)}: {inline(meaning)}"),
            ],
        )
    ]


def return_message(payment_return: PaymentReturn, meaning: str) -> list[Block]:
    return [
        HeaderBlock(text=f"ACH return: {payment_return.amount}"),
        *return_blocks(payment_return, meaning),
    ]


def digest_parent(disputes: int, returns: int, updates: int) -> str:
    parts = []
    if disputes:
        parts.append(f"{disputes} new chargeback{'s' if disputes != 1 else ''}")
    if returns:
        parts.append(f"{returns} returned payment{'s' if returns != 1 else ''}")
    if updates:
        parts.append(f"{updates} dispute update{'s' if updates != 1 else ''}")
    return "📥 " + ", ".join(parts) + ": the items are in this thread."


def stage_text(dispute: Dispute) -> str | None:
    """The stage the processor names (Payrix's cycle) and what an answer now asks for:
    "Pre-arbitration: your answer asks for arbitration"."""
    stage = dispute.stage
    if stage is None:
        return None
    if stage.answer is None:
        return inline(stage.name)
    return f"{inline(stage.name)}: your answer asks for {inline(stage.answer)}"


def status_reply(dispute: Dispute, zone: tzinfo | None = None) -> str:
    """The news in the dispute's thread; the deadline's day in ``zone`` (the firm's) as the
    fallback of Slack's date formatting."""
    text = f"Chargeback {inline(dispute.id)} on `{inline(dispute.transaction_id)}` is now: {STATUS_LABEL[dispute.status]}"
    if dispute.status is DisputeStatus.NEEDS_RESPONSE:
        text += f", respond by {day(dispute.respond_by, zone)}"
    stage = stage_text(dispute)
    if stage:
        text += f" · {stage}"
    return text


def withdrawal_return_message(
    withdrawal_id: str, amount: str, code: str, meaning: str
) -> list[Block]:
    """A payout the firm's bank sent back: told like an ACH return, with its code's meaning."""
    return [
        HeaderBlock(text=f"Withdrawal returned: {amount}"),
        paragraph(
            f"The bank sent back withdrawal `{inline(withdrawal_id)}` ({inline(amount)}): "
            f"*{inline(code)}* {inline(meaning)}. The money is back in the processor "
            "balance; check the firm's bank details at the processor."
        ),
    ]


def withdrawal_return_text(withdrawal_id: str, amount: str, code: str, meaning: str) -> str:
    """The notification text of a returned payout: every part of it is the processor's."""
    return (
        f"Withdrawal {inline(withdrawal_id)} returned ({inline(code)}, {inline(meaning)}): "
        f"{inline(amount)}"
    )


def reminder_text(
    dispute: Dispute,
    stage: str,
    now: datetime,
    ask_by: date | None = None,
    managers: Sequence[str] = (),
) -> str:
    """A reminder in the dispute's thread: the firm's own date (no mention), 72 and 24 hours
    before the processor's date (the channel), and once it is missed (the managers, or the
    channel when the portal has none in Slack)."""
    if stage == "margin":
        asked = business_day(ask_by) if ask_by else "today"
        late = ask_by is not None and ask_by < now.date()
        return (
            f"📅 Chargeback {inline(dispute.id)} ({dispute.amount}): the firm's date for its "
            f"response {'was' if late else 'is'} {asked}, ahead of the processor's respond-by "
            f"date {deadline_text(dispute, now)}. Draft the response now."
        )
    if stage == "overdue":
        who = " ".join(f"<@{user}>" for user in managers) or "<!channel>"
        return (
            f"{who} ⛔ Chargeback {inline(dispute.id)} ({dispute.amount}) is past its respond-by date "
            f"{day(dispute.respond_by, now.tzinfo)} with no response submitted."
        )
    hours = "72 hours" if stage == "72h" else "24 hours"
    return (
        f"<!channel> ⏰ Chargeback {inline(dispute.id)} ({dispute.amount}) must be answered within {hours}: "
        f"respond by {deadline_text(dispute, now)}."
    )


def deadline_dm(dispute: Dispute, now: datetime, drafter: bool) -> str:
    """A day before the processor's date, to the drafter of the waiting response and to the
    managers who may approve it."""
    ask = (
        "Your response is still waiting for a manager's approval"
        if drafter
        else "No response has been submitted yet"
    )
    return (
        f"⏰ Chargeback {inline(dispute.id)} ({dispute.amount}) on "
        f"`{inline(dispute.transaction_id)}` must be answered by {deadline_text(dispute, now)}. "
        f"{ask}: see the dispute's thread."
    )


def matter_dispute_dm(dispute: Dispute, matter_id: str | None, now: datetime) -> str:
    return (
        f"A chargeback was opened on a payment of matter {inline(matter_id) or '—'}: {dispute.amount} on "
        f"`{inline(dispute.transaction_id)}`, reason: {inline(dispute.reason)} "
        f"({inline(dispute.network_reason_code)}). Respond by {deadline_text(dispute, now)}."
    )


SLACK_MAX_FILES = 10  # file_input's max_files: 1 to 10
SLACK_MAX_CHECKBOXES = 10
STRIPE_ORDER = (
    "Stripe files them in this order: the engagement letter or service record, the signed "
    "authorization, the invoice, the client's e-mails, the refund policy, anything else."
)


def limits_hint(limits: DocumentLimits) -> str:
    kinds = ", ".join(t.upper() for t in limits.types if t != "jpeg")
    return (
        f"{kinds}: up to {limits.count} documents, {limits.said(limits.each)} each, "
        f"{limits.said(limits.total)} in all."
    )


def response_modal(
    dispute: Dispute,
    zone: tzinfo | None = None,
    *,
    ask_by: date | None = None,
    fields: Sequence[EvidenceField] = evidence_fields(""),
    limits: DocumentLimits | None = None,
    thread_files: Sequence[OfferedFile] = (),
    stripe_order: bool = False,
) -> View:
    """The Respond modal: the fields the processor takes (``fields``), documents uploaded here
    (Slack's file_input; needs files:read) and, offered to attach, the files already shared in
    the dispute's thread; ``ask_by`` is the firm's own date for the response."""
    asked = f" The firm asks for it by *{business_day(ask_by)}*." if ask_by else ""
    blocks: list[Block] = [
        paragraph(
            f"*Chargeback {inline(dispute.id)}*: {dispute.amount}, {inline(dispute.reason)} "
            f"({inline(dispute.network_reason_code)}), respond by {day(dispute.respond_by, zone)}."
            f"{asked}"
        ),
    ]
    stage = stage_text(dispute)
    if stage:
        blocks.append(paragraph(f"*Stage:* {stage}."))
    typed = [item for item in fields if not item.date]
    picked = [item for item in fields if item.date]
    for item in typed + picked:  # the calendar after the text, where the eye ends
        blocks.append(
            InputBlock(
                block_id=item.name,
                label=item.label,
                optional=item.required is None,
                element=DatePickerElement(action_id="value")
                if item.date
                else PlainTextInputElement(
                    action_id="value", multiline=item.limit > 200, max_length=item.limit
                ),
            )
        )
    if limits is not None:
        hint = limits_hint(limits) + (f" {STRIPE_ORDER}" if stripe_order else "")
        blocks.append(
            InputBlock(
                block_id=UPLOADED_BLOCK,
                label="Documents",
                optional=True,
                hint=hint[:2000],
                element=FileInputElement(
                    action_id="value",
                    filetypes=list(limits.types),
                    max_files=max(1, min(SLACK_MAX_FILES, limits.count)),
                ),
            )
        )
        if thread_files:
            blocks.append(
                InputBlock(
                    block_id=THREAD_BLOCK,
                    label="Files shared in the dispute's thread",
                    optional=True,
                    element=CheckboxesElement(
                        action_id="value",
                        options=[
                            Option(
                                value=f.slack_id,
                                text=f"{inline(f.name)[:60]} ({limits.said(f.size)})",
                            )
                            for f in thread_files[:SLACK_MAX_CHECKBOXES]
                        ],
                    ),
                )
            )
    blocks.append(note("A manager approves the response before it is sent to the processor."))
    return View(
        type="modal",
        callback_id=CallbackId.DISPUTE_RESPONSE,
        private_metadata=dispute.id,
        title="Respond to dispute",
        submit="Send for approval",
        close="Cancel",
        blocks=blocks,
    )


RESPONSE_STATE = {
    ResponseState.DRAFTED: "⏳ Waiting for a manager's approval",
    ResponseState.APPROVED: "✅ Approved: sending to the processor",
    ResponseState.REJECTED: "❌ Rejected",
    ResponseState.SUBMITTING: "📤 Sending to the processor",
    ResponseState.SUBMITTED: "📨 Submitted to the processor",
    ResponseState.FAILED: "⚠️ Failed",
    ResponseState.WITHDRAWN: "↩️ Withdrawn by the drafter",
    ResponseState.EXPIRED: "⌛ Expired: not decided in time",
}


def response_draft(response: DisputeResponseInfo) -> list[Block]:
    """The draft in the dispute's thread, in whatever state it is (first post and every update)."""
    evidence = response.evidence
    lines = [
        f"*{item.label}*\n{quote(value)}"
        for item in EVIDENCE_FIELDS
        if (value := getattr(evidence, item.name)) or item.required
    ]
    if response.documents:
        names = ", ".join(inline(name) for name in response.documents)
        lines.append(f"*Documents* (in this thread, as they will be sent)\n📎 {names}")
    blocks: list[Block] = [
        paragraph(f"*Dispute response drafted by <@{response.requester_slack_id}>*"),
        *[paragraph(text[:2900]) for text in lines],
        status_line(
            RESPONSE_STATE[response.state], response.rejection_reason, response.failure_reason
        ),
    ]
    if response.state is ResponseState.DRAFTED:
        blocks.append(
            decision_buttons(
                response.id,
                ActionId.DISPUTE_RESPONSE_APPROVE,
                ActionId.DISPUTE_RESPONSE_REJECT,
                approve_text="Approve and submit",
                withdraw=ActionId.DISPUTE_RESPONSE_WITHDRAW,
            )
        )
    return blocks


def documents_comment(response: DisputeResponseInfo) -> str:
    """Said with the response's documents, uploaded by the bot into the dispute's thread from
    its own stored copies: what the manager approves is what the processor will be sent."""
    return (
        f"📎 The documents of the response drafted by <@{response.requester_slack_id}>, "
        "as Paybot keeps them and will send them to the processor with the response."
    )


def reject_response_modal(response: DisputeResponseInfo) -> View:
    return rejection_modal(CallbackId.DISPUTE_RESPONSE_REJECT, response.id, "Reject response")


def return_text(payment_return: PaymentReturn, meaning: str) -> str:
    """The notification text (push, preview) of a return: the processor's code is its text too."""
    return f"ACH return {inline(payment_return.code)} ({inline(meaning)}): {payment_return.amount}"


def dispute_text(dispute: Dispute) -> str:
    return f"New chargeback {inline(dispute.id)}: {dispute.amount}"
