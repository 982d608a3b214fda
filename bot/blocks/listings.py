"""`/pay disputes`, `/pay returns` and `/pay withdrawals`: pages with Previous / Next, a View
button per payment, and withdrawals that open to show the payments they paid out."""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo
from typing import TypeVar

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.disputes import STATUS_LABEL
from bot.blocks.text import clip, day, field, inline, note, paragraph
from bot.domain import Transaction, Withdrawal
from bot.ids import ActionId
from bot.overview import DisputeLine, DisputeList, Listing, ListState, ReturnLine, WithdrawalsView

T = TypeVar("T")


def view_button(transaction_id: str, label: str = "View payment") -> ButtonElement:
    return ButtonElement(text=label, action_id=ActionId.TRANSACTION_VIEW, value=transaction_id)


def pager(
    listing: Listing[T], state: ListState, previous: ActionId, following: ActionId
) -> list[Block]:
    """Previous / Next, each carrying the cursor of the page it leads to (nothing is open there)."""
    buttons = []
    if listing.prev_cursor:
        value = replace(state, cursor=listing.prev_cursor, expanded=None).encode()
        buttons.append(ButtonElement(text="Previous", action_id=previous, value=value))
    if listing.next_cursor:
        value = replace(state, cursor=listing.next_cursor, expanded=None).encode()
        buttons.append(ButtonElement(text="Next", action_id=following, value=value))
    return [ActionsBlock(elements=buttons)] if buttons else []


def deadline(line: DisputeLine, zone: tzinfo | None = None) -> str:
    respond_by = day(line.dispute.respond_by, zone)
    left = line.days_left
    if left is None:
        return f"was due {respond_by}"
    if left < 0:
        return f"was due {respond_by}: *{-left} day{'s' if left != -1 else ''} overdue*"
    if left == 0:
        return f"respond by {respond_by}: *due today*"
    return f"respond by {respond_by}: *{left} day{'s' if left != 1 else ''} left*"


def dispute_line(line: DisputeLine, zone: tzinfo | None = None) -> SectionBlock:
    dispute = line.dispute
    text = (
        f"*{dispute.amount}* · {STATUS_LABEL[dispute.status]} · {deadline(line, zone)}\n"
        f"`{inline(dispute.id)}` on `{inline(dispute.transaction_id)}` · "
        f"{inline(dispute.reason)} ({inline(dispute.network_reason_code)}) · "
        f"matter {inline(dispute.matter_id) or '—'}"
    )
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text)), accessory=view_button(dispute.transaction_id)
    )


def disputes_blocks(disputes: DisputeList) -> list[Block]:
    which = "open" if disputes.open_only else "all"
    blocks: list[Block] = [
        HeaderBlock(text=f"Disputes ({which})"),
        note("Soonest deadline first. A missed deadline loses the dispute."),
    ]
    lines = disputes.lines
    if not lines.items:
        blocks.append(paragraph("No open disputes." if disputes.open_only else "No disputes."))
    blocks.extend(dispute_line(line, lines.zone) for line in lines.items)
    state = ListState(cursor=lines.cursor, open_only=disputes.open_only)
    blocks += pager(lines, state, ActionId.DISPUTE_LIST_PREVIOUS, ActionId.DISPUTE_LIST_NEXT)
    if disputes.open_only:
        blocks.append(note("`/pay disputes all` includes closed disputes."))
    return blocks


def return_line(line: ReturnLine, zone: tzinfo | None = None) -> SectionBlock:
    item = line.payment_return
    text = (
        f"*{item.amount}* · `{inline(item.code)}` {inline(line.meaning)} · "
        f"returned {day(item.created_at, zone)}\n"
        f"`{inline(item.transaction_id)}` · matter {inline(item.matter_id) or '—'}"
    )
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text)), accessory=view_button(item.transaction_id)
    )


def returns_blocks(returns: Listing[ReturnLine]) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="Returned payments"),
        note("ACH payments the customer's bank sent back, newest first, with the NACHA code."),
    ]
    if not returns.items:
        blocks.append(paragraph("No returned payments."))
    blocks.extend(return_line(line, returns.zone) for line in returns.items)
    state = ListState(cursor=returns.cursor)
    blocks += pager(returns, state, ActionId.RETURNS_PREVIOUS, ActionId.RETURNS_NEXT)
    return blocks


def payment_line(txn: Transaction, zone: tzinfo | None = None) -> str:
    return (
        f"• `{inline(txn.id)}` {txn.amount} · {inline(str(txn.method))} · "
        f"matter {inline(txn.matter_id) or '—'} · {day(txn.created_at, zone)}"
    )


def withdrawal_line(
    withdrawal: Withdrawal, state: ListState, is_open: bool, zone: tzinfo | None = None
) -> SectionBlock:
    count = len(withdrawal.transaction_ids)
    account = f"{withdrawal.account.value.title()} · " if withdrawal.account else ""
    fees = f" · fees {withdrawal.fees} (operating's)" if withdrawal.fees else ""
    text = (
        f"{account}*{withdrawal.amount}* · {withdrawal.status.value.title()} · "
        f"{day(withdrawal.created_at, zone)}, arrives {day(withdrawal.arrives_at, zone)}\n"
        f"`{inline(withdrawal.id)}` · {count} payment{'s' if count != 1 else ''}{fees}"
    )
    toggle = ButtonElement(
        text="Hide payments" if is_open else "Payments",
        action_id=ActionId.WITHDRAWAL_PAYMENTS,
        value=replace(state, expanded=None if is_open else withdrawal.id).encode(),
    )
    return SectionBlock(text=MarkdownTextObject(text=clip(text)), accessory=toggle)


def withdrawals_blocks(view: WithdrawalsView) -> list[Block]:
    balance, zone = view.balance, view.withdrawals.zone
    blocks: list[Block] = [
        HeaderBlock(text="Withdrawals"),
        SectionBlock(
            fields=[
                field("Available", str(balance.available)),
                field("Pending", str(balance.pending)),
                field(
                    "Next withdrawal",
                    f"{day(balance.next_withdrawal_at, zone)}, {view.next_amount}",
                ),
            ]
        ),
    ]
    if balance.accounts:
        blocks.append(
            SectionBlock(
                fields=[
                    field(
                        f"{part.account.value.title()} available",
                        f"{part.available}"
                        + (f"\nafter fees of {part.fees}" if part.fees else "")
                        + f"\npending {part.pending}",
                    )
                    for part in balance.accounts
                ]
            )
        )
        blocks.append(
            note(
                "Trust and operating are paid out apart; fees (per payment and per dispute) "
                "are taken from operating, never from trust."
            )
        )
    listing = view.withdrawals
    if not listing.items:
        blocks.append(paragraph("No withdrawals yet."))
    state = ListState(cursor=listing.cursor, expanded=view.expanded)
    for withdrawal in listing.items:
        is_open = withdrawal.id == view.expanded
        blocks.append(withdrawal_line(withdrawal, state, is_open, zone))
        if is_open:
            lines = "\n".join(payment_line(txn, zone) for txn in view.payments) or "No payments."
            if view.more_payments:
                lines += f"\n… and {view.more_payments} more"
            blocks.append(paragraph(f"*Paid out in {inline(withdrawal.id)}*\n{lines}"))
    blocks += pager(listing, state, ActionId.WITHDRAWALS_PREVIOUS, ActionId.WITHDRAWALS_NEXT)
    return blocks
