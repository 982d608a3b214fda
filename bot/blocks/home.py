"""App Home as the dashboard: one panel per part of the portal, each with a button to its list.

A panel's button posts the full list to the person's DM with Paybot (an ephemeral message cannot
be shown from App Home, and the DM keeps the list's own Next / View buttons working).
"""

from __future__ import annotations

from collections.abc import Mapping

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

from bot.blocks.listings import deadline
from bot.blocks.text import clip, day, field, inline, note, paragraph, when
from bot.domain import RefundRequestInfo, RefundState
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


def refund_line(request: RefundRequestInfo, links: Mapping[str, str]) -> str:
    """A request, with its approval link when ``links`` has one (only those who may decide get
    links, see bot/slack/home.approval_links)."""
    line = (
        f"• *{request.amount}* on `{inline(request.transaction_id)}` · "
        f"{STATE_WORDS.get(request.state, request.state.value)} · "
        f"asked by {inline(request.requester_username)} {day(request.created_at)}"
    )
    link = links.get(request.id)
    if link:
        line += f" · <{link}|Approve or reject>"
    return line


def _refunds_text(work: RefundWork, links: Mapping[str, str]) -> str:
    text = (
        f"*Refunds*\n{work.awaiting_count} waiting for approval · "
        f"{work.at_processor_count} at the processor"
    )
    lines = [refund_line(r, links) for r in work.awaiting_approval]
    lines += [refund_line(r, links) for r in work.at_processor]
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
                _refunds_text(board.refunds, links),
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
    latest = board.latest_withdrawal
    withdrawal = (
        f"Latest: *{latest.amount}* on {day(latest.created_at, zone)} ({latest.status.value}), "
        f"{len(latest.transaction_ids)} payments"
        if latest
        else "No withdrawals yet."
    )
    balance = board.balance
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
            f"*Withdrawals*\nAvailable *{balance.available}*, pending {balance.pending}; "
            f"next withdrawal {day(balance.next_withdrawal_at, zone)}\n{withdrawal}",
            "Withdrawals",
            ActionId.HOME_WITHDRAWALS,
        ),
    ]
    if board.can_report:
        blocks.append(note("Reports: `/pay report 30d` (or 7d, 90d, month, YYYY-MM)."))
    blocks.append(note("A button posts the full list to your DM with Paybot."))
    return View(type="home", blocks=blocks)


def refund_work_blocks(work: RefundWork, links: Mapping[str, str]) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Refunds in progress")]
    lines = [refund_line(r, links) for r in work.awaiting_approval]
    awaiting = "\n".join(lines) or "None."
    blocks.append(paragraph(f"*Waiting for approval* ({work.awaiting_count})\n{awaiting}"))
    lines = [refund_line(r, links) for r in work.at_processor]
    at_processor = "\n".join(lines) or "None."
    blocks.append(paragraph(f"*At the processor* ({work.at_processor_count})\n{at_processor}"))
    shown = len(work.awaiting_approval) + len(work.at_processor)
    if shown < work.awaiting_count + work.at_processor_count:
        blocks.append(note("The oldest are listed first; newer ones are left out."))
    return blocks
