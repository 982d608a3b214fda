"""`/pay history`: ten payments a page in the columns the person chose, each with View, and the
modal where the columns are chosen."""

from __future__ import annotations

from datetime import UTC, tzinfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.text import clip, inline, note, paragraph, when
from bot.blocks.transactions import KIND_LABEL
from bot.domain import HistorySort, PaymentKind, Transaction
from bot.ids import ActionId, BlockId, CallbackId
from bot.overview import HistoryColumn, HistoryFilter, HistoryView


def label(column: HistoryColumn) -> str:
    """A column's heading: its name, as the portal writes it."""
    return column.value.capitalize()


KIND_TITLE = {
    None: "All payments",
    PaymentKind.SALE: "Sales",
    PaymentKind.AUTHORIZATION: "Authorizations",
    PaymentKind.REFUND: "Refunds",
}
SORT_LABEL = {
    HistorySort.NEWEST: "newest first",
    HistorySort.OLDEST: "oldest first",
    HistorySort.AMOUNT: "largest amount first",
}
COLUMN_OPTIONS = [Option(value=column.value, label=label(column)) for column in HistoryColumn]


def cell(txn: Transaction, column: HistoryColumn, zone: tzinfo = UTC) -> str:
    """One column of one row; the card number is never more than brand and last four."""
    match column:
        case HistoryColumn.DATE:
            return when(txn.created_at, zone)
        case HistoryColumn.AMOUNT:
            return f"*{txn.amount}*"
        case HistoryColumn.STATUS:
            return txn.status.value.title()
        case HistoryColumn.TYPE:
            return KIND_LABEL.get(txn.kind.value, txn.kind.value)
        case HistoryColumn.METHOD:
            return inline(str(txn.method))
        case HistoryColumn.MATTER:
            return inline(txn.matter_id) or "—"
        case HistoryColumn.CUSTOMER:
            return inline(txn.customer_name) or "—"
        case HistoryColumn.ACCOUNT:
            return txn.account.value.title()


def row(txn: Transaction, columns: tuple[HistoryColumn, ...], zone: tzinfo = UTC) -> SectionBlock:
    """A refund's row names the payment it refunds: its own ``re_…`` id alone says nothing."""
    cells = " · ".join(cell(txn, column, zone) for column in columns)
    title = f"`{inline(txn.id)}`"
    if txn.original_id:
        title += f" · refund of `{inline(txn.original_id)}`"
    return SectionBlock(
        text=MarkdownTextObject(text=clip(f"{title}\n{cells}")),
        accessory=ButtonElement(text="View", action_id=ActionId.TRANSACTION_VIEW, value=txn.id),
    )


def describe(wanted: HistoryFilter) -> str:
    words = f"{KIND_TITLE[wanted.kind]}, {SORT_LABEL[wanted.sort]}"
    if wanted.search:
        words += f", matching “{inline(wanted.search)}”"
    return words


def history_blocks(view: HistoryView) -> list[Block]:
    wanted = view.filter
    blocks: list[Block] = [
        HeaderBlock(text=f"Payment history: {KIND_TITLE[wanted.kind]}"[:150]),
        note(describe(wanted)),
    ]
    if not view.page:
        blocks.append(paragraph("No payments match." if wanted.search else "No payments yet."))
    blocks.extend(row(txn, view.columns, view.zone) for txn in view.page)
    buttons = []
    if view.prev_cursor:
        buttons.append(
            ButtonElement(
                text="Previous",
                action_id=ActionId.HISTORY_PREVIOUS,
                value=wanted.at(view.prev_cursor).encode(),
            )
        )
    if view.next_cursor:
        buttons.append(
            ButtonElement(
                text="Next",
                action_id=ActionId.HISTORY_NEXT,
                value=wanted.at(view.next_cursor).encode(),
            )
        )
    buttons.append(
        ButtonElement(text="Columns", action_id=ActionId.HISTORY_COLUMNS, value=wanted.encode())
    )
    blocks.append(ActionsBlock(elements=buttons))
    shown = ", ".join(label(column) for column in view.columns)
    blocks.append(
        note(f"Columns: {shown}. Search by matter, customer, last four, amount or id start.")
    )
    return blocks


def columns_modal(columns: tuple[HistoryColumn, ...], metadata: str) -> View:
    """``metadata`` says which page to show again once the choice is saved."""
    chosen = [option for option in COLUMN_OPTIONS if option.value in set(columns)]
    return View(
        type="modal",
        callback_id=CallbackId.HISTORY_COLUMNS,
        private_metadata=metadata,
        title="History columns",
        submit="Save",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=BlockId.HISTORY_COLUMNS,
                label="Show these columns",
                hint="The id and the View button are always shown. Remembered for you.",
                element=CheckboxesElement(
                    action_id="value", options=COLUMN_OPTIONS, initial_options=chosen or None
                ),
            )
        ],
    )
