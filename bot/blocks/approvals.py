"""What every four-eyes request shows (services/approvals.py), whatever it asks for: its status
line, its Approve and Reject buttons, and the modal that asks why it is rejected."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.blocks.text import inline, paragraph
from bot.domain import REASON_MAX
from bot.ids import ActionId, BlockId, CallbackId


def reason_input() -> PlainTextInputElement:
    return PlainTextInputElement(action_id="value", multiline=True, max_length=REASON_MAX)


def status_line(state: str, rejection_reason: str | None, failure_reason: str | None) -> Block:
    """The state as people read it, then why it was rejected or failed, if it was."""
    reasons = "".join(
        f": {inline(reason)}" for reason in (rejection_reason, failure_reason) if reason
    )
    return paragraph(f"*Status:* {state}{reasons}")


def decision_buttons(
    request_id: str,
    approve: ActionId,
    reject: ActionId,
    *,
    approve_text: str = "Approve",
    confirm: ConfirmObject | None = None,
    withdraw: ActionId | None = None,
) -> ActionsBlock:
    """Approve (asking ``confirm`` first, if given) and Reject, each carrying the request's id,
    and Withdraw (the requester's alone: the service refuses anyone else's click)."""
    withdrawing = (
        [
            ButtonElement(
                text="Withdraw",
                action_id=withdraw,
                value=request_id,
                confirm=ConfirmObject(
                    title="Withdraw this request?",
                    text="Only the person who asked may withdraw it. It cannot be approved after.",
                    confirm="Withdraw",
                    deny="Cancel",
                ),
            )
        ]
        if withdraw
        else []
    )
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=approve_text,
                action_id=approve,
                value=request_id,
                style="primary",
                confirm=confirm,
            ),
            ButtonElement(text="Reject", action_id=reject, value=request_id, style="danger"),
            *withdrawing,
        ]
    )


def rejection_modal(callback_id: CallbackId, request_id: str, title: str, *lead: Block) -> View:
    """Why it is rejected, under ``lead``: the reason's block is the one the decision listener
    reads (handlers/decisions.py)."""
    return View(
        type="modal",
        callback_id=callback_id,
        private_metadata=request_id,
        title=title,
        submit="Reject",
        close="Cancel",
        blocks=[
            *lead,
            InputBlock(block_id=BlockId.REASON, label="Why?", element=reason_input()),
        ],
    )
