"""App Home as the dashboard: one panel per part of the portal, each with a button to its list.

A panel's button posts the full list to the person's DM with Paybot (an ephemeral message cannot
be shown from App Home, and the DM keeps the list's own Next / View buttons working).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.checklists import open_lines
from bot.blocks.listings import deadline
from bot.blocks.text import business_day, clip, day, field, inline, note, paragraph, when
from bot.domain import Account, Balance, RefundRequestInfo, RefundState, Withdrawal
from bot.ids import ActionId, BlockId
from bot.overview import Dashboard, RefundWork

STATE_WORDS = {
    RefundState.REQUESTED: "waiting for approval",
    RefundState.AWAITING_SECOND: "waiting for a second approval",
    RefundState.APPROVED: "approved",
    RefundState.SUBMITTING: "being sent to the processor",
    RefundState.PENDING: "pending at the processor",
}


def _panel(block_id: str, text: str, label: str, action_id: ActionId) -> SectionBlock:
    return SectionBlock(
        block_id=block_id,
        text=MarkdownTextObject(text=clip(text)),
        accessory=ButtonElement(text=label, action_id=action_id),
    )


def refund_line(
    request: RefundRequestInfo, links: Mapping[str, str], zone: tzinfo | None = None
) -> str:
    """A request, with its approval link when ``links`` has one (only those who may decide get
    links, see bot/slack/home.approval_links); its day in ``zone``, the firm's, as a fallback."""
    line = (
        f"• *{request.amount}* on `{inline(request.transaction_id)}` · "
        f"{STATE_WORDS.get(request.state, request.state.value)} · "
        f"asked by {inline(request.requester_username)} {day(request.created_at, zone)}"
    )
    link = links.get(request.id)
    if link:
        line += f" · <{link}|Approve or reject>"
    return line


def _refunds_text(work: RefundWork, links: Mapping[str, str], zone: tzinfo | None) -> str:
    text = (
        f"*Refunds*\n{work.awaiting_count} waiting for approval · "
        f"{work.at_processor_count} at the processor"
    )
    lines = [refund_line(r, links, zone) for r in work.awaiting_approval]
    lines += [refund_line(r, links, zone) for r in work.at_processor]
    return text + ("\n" + "\n".join(lines) if lines else "")


def home_view(board: Dashboard, links: Mapping[str, str]) -> View:
    """``links``: refund request id -> link to its approval message (for those who decide)."""
    volume, zone = board.volume, board.as_of.tzinfo  # as_of is on the firm's clock
    blocks: list[Block] = [
        HeaderBlock(text="Payments dashboard"),
        ActionsBlock(
            elements=[ButtonElement(text="Refresh", action_id=ActionId.HOME_REFRESH)],
        ),
        note(f"As of {when(board.as_of)} · your role: *{inline(board.actor.role)}*"),
        SectionBlock(
            block_id=BlockId.HOME_VOLUME,
            fields=[
                field("Today", f"{volume.today} ({volume.today_count})"),
                field("This week", f"{volume.week} ({volume.week_count})"),
                field("This month", f"{volume.month} ({volume.month_count})"),
            ],
            text=MarkdownTextObject(text=f"*Volume* (payments, days in {zone})"),
            accessory=ButtonElement(text="History", action_id=ActionId.HOME_HISTORY),
        ),
    ]
    if board.refunds is not None:
        blocks.append(DividerBlock())
        blocks.append(
            _panel(
                BlockId.HOME_REFUNDS,
                _refunds_text(board.refunds, links, zone),
                "Refunds",
                ActionId.HOME_REFUNDS,
            )
        )
    disputes = "\n".join(
        f"• *{line.dispute.amount}* `{inline(line.dispute.transaction_id)}` · "
        f"{deadline(line, zone)}"
        for line in board.disputes
    )
    if board.more_disputes:
        disputes += "\n• …"
    returns = "\n".join(
        f"• *{line.payment_return.amount}* `{inline(line.payment_return.code)}` "
        f"{inline(line.meaning)} · {day(line.payment_return.created_at, zone)}"
        for line in board.returns
    )
    if board.overdue_refunds:
        late = "\n".join(
            f"• *{r.amount}* on `{inline(r.transaction_id)}` · expected by "
            f"{business_day(r.expected_by)}"
            for r in board.overdue_refunds
            if r.expected_by
        )
        blocks.append(paragraph(f"⚠️ *Refunds past their expected day*\n{late}"))
    if board.checklists is not None:
        lines = open_lines(board.checklists, links, zone) or "None open."
        if board.more_checklists:
            lines += f"\n• … and {board.more_checklists} more"
        blocks += [
            DividerBlock(),
            SectionBlock(
                block_id=BlockId.HOME_CHECKLISTS,
                text=MarkdownTextObject(
                    text=clip(f"*Bookkeeping checklists and trust debits to cover*\n{lines}")
                ),
            ),
        ]
    blocks += [
        DividerBlock(),
        _panel(
            BlockId.HOME_DISPUTES,
            f"*Open disputes*, nearest deadline first\n{disputes or 'None open.'}",
            "Disputes",
            ActionId.HOME_DISPUTES,
        ),
        DividerBlock(),
        _panel(
            BlockId.HOME_RETURNS,
            f"*Recent returns*\n{returns or 'None.'}",
            "Returns",
            ActionId.HOME_RETURNS,
        ),
        DividerBlock(),
        _panel(
            BlockId.HOME_WITHDRAWALS,
            withdrawals_text(board, zone),
            "Withdrawals",
            ActionId.HOME_WITHDRAWALS,
        ),
    ]
    if board.can_report:
        blocks.append(note("Reports: `/pay report 30d` (or 7d, 90d, month, YYYY-MM)."))
    blocks.append(note("A button posts the full list to your DM with Paybot."))
    return View(type="home", blocks=blocks)


ACCOUNT_NAMES = {Account.OPERATING: "Operating", Account.TRUST: "Trust"}


def _latest(withdrawal: Withdrawal, zone: tzinfo | None) -> str:
    fees = f", fees {withdrawal.fees} (operating's)" if withdrawal.fees else ""
    return (
        f"*{withdrawal.amount}* on {day(withdrawal.created_at, zone)} "
        f"({withdrawal.status.value}), {len(withdrawal.transaction_ids)} payments{fees}"
    )


def balance_lines(balance: Balance) -> list[str]:
    """Each account's balance on its own line (trust never shows a fee); one line when the
    processor does not tell the accounts apart."""
    if not balance.accounts:
        return [f"Available *{balance.available}*, pending {balance.pending}"]
    lines = []
    for part in balance.accounts:
        fees = f" (after fees of {part.fees})" if part.fees else ""
        lines.append(
            f"{ACCOUNT_NAMES[part.account]}: available *{part.available}*{fees}, "
            f"pending {part.pending}"
        )
    return lines


def withdrawals_text(board: Dashboard, zone: tzinfo | None) -> str:
    balance = board.balance
    lines = ["*Withdrawals*", *balance_lines(balance)]
    lines.append(f"Next withdrawal {day(balance.next_withdrawal_at, zone)}")
    if board.latest_withdrawals:
        for withdrawal in board.latest_withdrawals:
            name = ACCOUNT_NAMES[withdrawal.account] if withdrawal.account else "Latest"
            lines.append(f"{name}, latest: {_latest(withdrawal, zone)}")
    elif board.latest_withdrawal:
        lines.append(f"Latest: {_latest(board.latest_withdrawal, zone)}")
    else:
        lines.append("No withdrawals yet.")
    return "\n".join(lines)


def refund_work_blocks(
    work: RefundWork, links: Mapping[str, str], zone: tzinfo | None = None
) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Refunds in progress")]
    lines = [refund_line(r, links, zone) for r in work.awaiting_approval]
    awaiting = "\n".join(lines) or "None."
    blocks.append(paragraph(f"*Waiting for approval* ({work.awaiting_count})\n{awaiting}"))
    lines = [refund_line(r, links, zone) for r in work.at_processor]
    at_processor = "\n".join(lines) or "None."
    blocks.append(paragraph(f"*At the processor* ({work.at_processor_count})\n{at_processor}"))
    shown = len(work.awaiting_approval) + len(work.at_processor)
    if shown < work.awaiting_count + work.at_processor_count:
        blocks.append(note("The oldest are listed first; newer ones are left out."))
    return blocks
