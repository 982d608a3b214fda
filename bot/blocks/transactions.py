"""The lookup card: one transaction with its refunds and disputes."""

from __future__ import annotations

from datetime import tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.blocks.text import day, field, inline, note, paragraph, when
from bot.domain import Transaction
from bot.ids import ActionId

KIND_LABEL = {"sale": "Sale", "authorization": "Authorization", "refund": "Refund"}


def transaction_facts(txn: Transaction, zone: tzinfo | None = None) -> SectionBlock:
    """``zone``: the firm's, for the dates' fallback text."""
    facts = [
        field("Amount", str(txn.amount)),
        field("Status", txn.status.value.title()),
        field("Type", KIND_LABEL.get(txn.kind.value, txn.kind.value)),
        field("Method", inline(str(txn.method))),
        field("Date", when(txn.created_at, zone)),
        field("Matter", inline(txn.matter_id) or "—"),
        field("Account", txn.account.value.title()),
        field("Customer", inline(txn.customer_name) or "—"),
    ]
    if txn.original_id:
        facts.append(field("Refund of", f"`{inline(txn.original_id)}`"))
    if txn.return_code:
        facts.append(field("Return code", inline(txn.return_code)))
    return SectionBlock(fields=facts[:10])


def transaction_card(
    txn: Transaction, *, can_refund: bool, refusal: str | None, zone: tzinfo | None = None
) -> list[Block]:
    """Show the Refund button only when the rules allow a refund and the viewer may ask for one."""
    blocks: list[Block] = [
        HeaderBlock(text=f"Payment {txn.id}"[:150]),
        transaction_facts(txn, zone),
    ]
    if txn.description:
        blocks.append(note(inline(txn.description)))
    if txn.items:
        lines = "\n".join(f"• {inline(i.description)}: {i.amount}" for i in txn.items[:20])
        blocks.append(paragraph(f"*Payment items*\n{lines}"))
    if txn.refunds:
        lines = "\n".join(
            f"• `{inline(r.id)}` {r.amount}: {r.status.value} (requested {day(r.created_at, zone)})"
            for r in txn.refunds
        )
        blocks.append(paragraph(f"*Refunds*\n{lines}"))
    if txn.disputes:
        lines = "\n".join(
            f"• `{inline(d.id)}` {d.amount}: {d.status.said}, "
            f"{inline(d.reason)} (respond by {day(d.respond_by, zone)})"
            for d in txn.disputes
        )
        blocks.append(paragraph(f"*Disputes*\n{lines}"))
    if can_refund and refusal is None:
        blocks.append(DividerBlock())
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Refund",
                        action_id=ActionId.REFUND_OPEN,
                        value=txn.id,
                        style="danger",
                    )
                ]
            )
        )
    elif refusal and txn.kind.value != "refund":
        blocks.append(note(f"No refund possible: {inline(refusal)}"))
    return blocks
