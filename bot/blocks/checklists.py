"""Checklists people tick in a thread (services/checklists.py), one renderer for every state:
open with its checkboxes, or completed with who did each step; the trust-debit banner on a
chargeback or return of a trust payment, the reminder, and the dashboard's lines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, tzinfo

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.blocks.text import business_day, day, inline, note, paragraph, when
from bot.bookkeeping import ChecklistInfo, ChecklistKind, ChecklistStepInfo
from bot.domain import Account, Money
from bot.ids import ActionId, BlockId

# What each step's checkbox says (Slack allows 75 characters); the full wording is STEPS'.
LABELS = {
    "reverse_invoice": "Invoice payment reversed",
    "trust_payment": "Actionstep: Trust → Make Payment (Online Refund)",
    "firm_deposit": "Actionstep: firm deposit into operating",
    "bank_transfer": "Bank: transferred trust → operating",
    "cover_transfer": "Bank: transferred operating → trust",
    "cover_deposit": "Actionstep: cover recorded on the trust ledger",
    "reconcile": "Noted for the trust reconciliation",
}


def _due(due: date | None) -> str:
    return business_day(due) if due else "today"


def step_text(checklist: ChecklistInfo, key: str) -> str:
    """What a step asks, in the portal's words (Actionstep's menus for a trust refund)."""
    amount, txn = checklist.amount, f"`{inline(checklist.transaction_id)}`"
    matter = inline(checklist.matter_id) or "—"
    debit = checklist.kind.noun
    return {
        "reverse_invoice": f"Reverse the invoice payment of {amount} on matter {matter} in the "
        "practice-management system.",
        "trust_payment": f"Actionstep: *Trust → Make Payment* from the client's trust ledger for "
        f'{amount}, reason "Online Refund", paid to the firm\'s business record; attach the '
        "refund confirmation.",
        "firm_deposit": f"Actionstep: a firm deposit of {amount} into the operating account, "
        "received from the client's trust, noting it covers the online refund; attach the "
        "confirmation.",
        "bank_transfer": f"The bank transfer of {amount} from trust to operating.",
        "cover_transfer": f"Transfer {amount} from *operating* to trust by "
        f"{_due(checklist.due)} (the same business day): other clients' money must not carry "
        "it.",
        "cover_deposit": f"Actionstep: record a firm deposit of {amount} into the client's trust "
        f"ledger from operating, noting it covers the {debit} on {txn}; attach the bank "
        "confirmation.",
        "reconcile": "Note the debit and its cover for the trust account's three-way "
        "reconciliation.",
    }.get(key, inline(key))


def title(checklist: ChecklistInfo) -> str:
    txn = f"`{inline(checklist.transaction_id)}`"
    if checklist.kind.trust_debit:
        return (
            f"*Cover the trust debit*: {checklist.kind.noun} of {checklist.amount} on "
            f"{txn} (matter {inline(checklist.matter_id) or '—'})"
        )
    account = "trust payment" if checklist.account is Account.TRUST else "payment"
    return f"*Bookkeeping checklist*: refund of {checklist.amount} on {txn} ({account})"


def progress(checklist: ChecklistInfo) -> str:
    done = sum(1 for step in checklist.steps if step.done)
    return f"{done} of {len(checklist.steps)} done"


def _option(position: int, step: ChecklistStepInfo) -> Option:
    return Option(value=step.key, text=f"{position}. {LABELS.get(step.key, step.key)}"[:75])


def _who(step: ChecklistStepInfo, zone: tzinfo | None) -> str:
    person = (
        f"<@{step.done_by_slack_id}>" if step.done_by_slack_id else inline(step.done_by_username)
    )
    return f"{person} {when(step.done_at, zone)}"


def checklist_message(checklist: ChecklistInfo, zone: tzinfo | None = None) -> list[Block]:
    """The checklist as it stands: its steps in full, the checkboxes while it is open, and who
    ticked each step and when."""
    numbered = "\n".join(
        f"{position}. {step_text(checklist, step.key)}"
        for position, step in enumerate(checklist.steps, start=1)
    )
    blocks: list[Block] = [paragraph(f"{title(checklist)}\n{numbered}")]
    if checklist.is_open:
        options = [
            _option(position, step) for position, step in enumerate(checklist.steps, start=1)
        ]
        chosen = [
            option for option, step in zip(options, checklist.steps, strict=True) if step.done
        ]
        blocks.append(
            SectionBlock(
                block_id=f"{BlockId.CHECKLIST}:{checklist.id}",
                text=MarkdownTextObject(
                    text=f"Tick each step when it is done ({progress(checklist)}):"
                ),
                accessory=CheckboxesElement(
                    action_id=ActionId.CHECKLIST_TICK,
                    options=options,
                    initial_options=chosen or None,
                ),
            )
        )
    done = [
        f"✓ {position}. {LABELS.get(step.key, step.key)}: {_who(step, zone)}"
        for position, step in enumerate(checklist.steps, start=1)
        if step.done
    ]
    if checklist.closed_at is not None:
        done.append(f"✅ Completed {when(checklist.closed_at, zone)}.")
    if done:
        blocks.append(note("\n".join(done)))
    return blocks


def checklist_text(checklist: ChecklistInfo) -> str:
    state = "completed" if checklist.closed_at else progress(checklist)
    kind = "Trust debit cover" if checklist.kind.trust_debit else "Bookkeeping checklist"
    return f"{kind}: {checklist.amount} on {inline(checklist.transaction_id)} ({state})"


def reminder_text(checklist: ChecklistInfo, zone: tzinfo | None = None) -> str:
    return (
        f"⏰ This checklist is still open ({progress(checklist)}), opened "
        f"{day(checklist.opened_at, zone)}. {title(checklist)}: tick each step above once it is "
        "done."
    )


def trust_debit_banner(kind: ChecklistKind, amount: Money, transaction_id: str) -> SectionBlock:
    """On a chargeback or return of a trust payment: the trust account was debited for one
    client's payment, so the firm covers it from operating (the checklist is in the thread)."""
    return paragraph(
        f"⚠️ *Trust debit.* The trust account was debited {amount} for one client's payment "
        f"(`{inline(transaction_id)}`, a {kind.noun}). Other clients' money must not "
        "carry it: cover it from *operating* the same business day. The cover checklist is in "
        "this thread."
    )


def trust_debit_text(kind: ChecklistKind, amount: Money) -> str:
    return f"Trust debit ({kind.noun}) of {amount}: cover it from operating today. "


def open_lines(
    checklists: tuple[ChecklistInfo, ...], links: Mapping[str, str], zone: tzinfo | None
) -> str:
    """The dashboard's open checklists, a line each, linked to their thread where known."""
    lines = []
    for checklist in checklists:
        if checklist.kind.trust_debit:
            what = (
                f"*Trust debit* ({checklist.kind.noun}) {checklist.amount} on "
                f"`{inline(checklist.transaction_id)}` · cover by {_due(checklist.due)}"
            )
        else:
            what = (
                f"Refund {checklist.amount} on `{inline(checklist.transaction_id)}` · "
                f"opened {day(checklist.opened_at, zone)}"
            )
        line = f"• {what} · {progress(checklist)}"
        link = links.get(checklist.id)
        if link:
            line += f" · <{link}|Open>"
        lines.append(line)
    return "\n".join(lines)
