"""The daily settlement digest's message: the business day's figures for each account on its own
(operating and trust are never added together), its withdrawals, and what is still open."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock

from bot.blocks.text import business_day, clip, inline, note, paragraph
from bot.digests import AccountDay, DailyDigest, Figure, WithdrawalLine
from bot.domain import Account, Money

ACCOUNT_TITLE = {Account.OPERATING: "Operating account", Account.TRUST: "Trust account (IOLTA)"}
MAX_WITHDRAWALS = 20  # per account; the rest are counted, as a section holds 3,000 characters
MAX_OPEN = 20


def _day(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _figure(label: str, value: Figure, currency: str) -> str:
    if not value.count:
        return f"{label}: none"
    return f"{label}: {value.count} · *{Money(value.minor, currency)}*"


def _listed(lines: tuple[WithdrawalLine, ...]) -> str:
    shown = [f"• `{inline(w.id)}` *{w.amount}* ({inline(w.status)})" for w in lines]
    more = len(shown) - MAX_WITHDRAWALS
    return "\n".join(shown[:MAX_WITHDRAWALS]) + (f"\n…and {more} more" if more > 0 else "")


def _withdrawals(lines: tuple[WithdrawalLine, ...]) -> str:
    return f"Withdrawals ({len(lines)}):\n{_listed(lines)}" if lines else "Withdrawals: none"


def _account(figures: AccountDay, currency: str) -> str:
    refunds = _figure("Refunds", figures.refunds, currency)
    if figures.account is Account.OPERATING and figures.refunds.count:
        refunds += " (trust payments' refunds too: a refund is paid from operating)"
    fees = (
        _figure("Fees", figures.fees, currency)
        if figures.fees is not None
        else "Fees: not reported by the processor"
    )
    lines = [
        f"*{ACCOUNT_TITLE[figures.account]}*",
        _figure("Sales", figures.sales, currency),
        refunds,
        _figure("Disputes", figures.disputes, currency),
        _figure("Returns", figures.returns, currency),
        fees,
        _withdrawals(figures.withdrawals),
    ]
    return "\n".join(lines)


def covered(digest: DailyDigest) -> str:
    if digest.through > digest.day:
        return f"{_day(digest.day)}, with the days to {_day(digest.through)}"
    return _day(digest.day)


def digest_blocks(digest: DailyDigest) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=f"Daily settlement: {business_day(digest.day)}"),
        note(f"{covered(digest)} · days in {inline(digest.zone)}"),
    ]
    for figures in digest.accounts:
        blocks.append(paragraph(clip(_account(figures, digest.currency))))
    if digest.unassigned_withdrawals:
        blocks.append(
            paragraph(
                clip(
                    "*Withdrawals* (the processor does not say which account paid them)\n"
                    + _listed(digest.unassigned_withdrawals)
                )
            )
        )
    if digest.open_items:
        items = [
            f"• <{item.link}|{inline(item.text)}>" if item.link else f"• {inline(item.text)}"
            for item in digest.open_items[:MAX_OPEN]
        ]
        more = len(digest.open_items) - MAX_OPEN
        if more > 0:
            items.append(f"…and {more} more")
        blocks += [DividerBlock(), paragraph(clip("*Still open*\n" + "\n".join(items)))]
    return blocks


def digest_text(digest: DailyDigest) -> str:
    """The notification's text: each account's sales, never a sum of the two."""
    parts = [
        f"{figures.account.value} sales {Money(figures.sales.minor, digest.currency)}"
        for figures in digest.accounts
    ]
    return f"Daily settlement for {digest.day.isoformat()}: " + ", ".join(parts)
