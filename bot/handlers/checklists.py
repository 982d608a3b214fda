"""The checkboxes of a bookkeeping checklist: a click is acked first (every role within the
budget), then recorded by the service; a refusal or a stale copy is told by the error handler."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.domain import Source
from bot.ids import ActionId, BlockId
from bot.services.checklists import Tick
from bot.services.container import Services


def _values(options: object) -> frozenset[str]:
    if not isinstance(options, list):
        return frozenset()
    return frozenset(
        str(o["value"]) for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)
    )


def _shown(body: dict[str, Any], block_id: str) -> frozenset[str] | None:
    """The steps ticked in the clicker's copy of the message (None: no copy came with it)."""
    message = body.get("message")
    if not isinstance(message, dict):
        return None
    for block in message.get("blocks") or ():
        if isinstance(block, dict) and block.get("block_id") == block_id:
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                return _values(accessory.get("initial_options"))
    return None


def change_of(body: dict[str, Any], action: dict[str, Any]) -> Tick:
    """What this click changed: Slack sends the whole selection, so the step ticked or
    unticked is the difference from what the person's copy showed. Another person's tick that
    their copy did not show yet is then left alone, not unticked."""
    block_id = str(action.get("block_id") or "")
    checklist_id = block_id.removeprefix(f"{BlockId.CHECKLIST}:")
    selected = _values(action.get("selected_options"))
    shown = _shown(body, block_id)
    if shown is None:
        return Tick(checklist_id, selected, frozenset())
    container = body.get("container") or {}
    message_ts = container.get("message_ts") if isinstance(container, dict) else None
    return Tick(
        checklist_id, selected - shown, shown - selected, str(message_ts) if message_ts else None
    )


def register(app: AsyncApp, services: Services) -> None:
    @app.action(ActionId.CHECKLIST_TICK)
    async def ticked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any]
    ) -> None:
        await ack()  # the click carries no answer: the message is rendered again by the outbox
        await services.checklists.tick(context["actor"], change_of(body, action), Source.BUTTON)
