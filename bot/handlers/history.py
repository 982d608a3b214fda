"""`/pay history`, its Previous / Next and Columns buttons, and View on any listed payment.

Paging and the column choice replace the ephemeral list through the click's response_url; View
adds the lookup card as a message of its own, so the list stays where it was.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.blocks.history import columns_modal, history_blocks
from bot.blocks.transactions import transaction_card
from bot.domain import Source
from bot.errors import InvalidInput
from bot.handlers import forms
from bot.handlers.commands import Command, Router
from bot.ids import ActionId, BlockId, CallbackId, Subcommand
from bot.overview import STALE, HistoryFilter
from bot.roles import Action
from bot.services.container import Services
from bot.services.history import parse_history

TITLE = "Payment history"


def register(app: AsyncApp, services: Services, router: Router) -> None:
    history = services.history

    async def list_history(cmd: Command) -> None:
        view = await history.page(cmd.actor, parse_history(cmd.args))
        await cmd.answer(history_blocks(view), TITLE)

    router.add(Subcommand.HISTORY, list_history)

    async def turn(
        ack: AsyncAck, action: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        view = await history.page(context["actor"], HistoryFilter.decode(action.get("value")))
        await respond(blocks=history_blocks(view), text=TITLE, replace_original=True)

    app.action(ActionId.HISTORY_NEXT)(turn)
    app.action(ActionId.HISTORY_PREVIOUS)(turn)

    @app.action(ActionId.TRANSACTION_VIEW)
    async def view_transaction(
        ack: AsyncAck, action: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        actor = context["actor"]
        found = await services.transactions.lookup(
            actor, str(action.get("value") or ""), Source.BUTTON
        )
        card = transaction_card(
            found.transaction,
            can_refund=services.access.can(actor, Action.REQUEST_REFUND),
            refusal=found.refund_refusal,
        )
        text = f"Payment {found.transaction.id}"
        await respond(blocks=card, text=text, response_type="ephemeral", replace_original=False)

    @app.action(ActionId.HISTORY_COLUMNS)
    async def open_columns(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        shown = HistoryFilter.decode(action.get("value"))
        columns = await history.columns(context["actor"])
        metadata = json.dumps({"filter": shown.encode(), "response_url": body.get("response_url")})
        await client.views_open(
            trigger_id=body["trigger_id"], view=columns_modal(columns, metadata)
        )

    @app.view(CallbackId.HISTORY_COLUMNS)
    async def save_columns(
        ack: AsyncAck, view: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        shown, response_url = _read_metadata(view.get("private_metadata"))
        await history.choose_columns(context["actor"], forms.values(view, BlockId.HISTORY_COLUMNS))
        await ack()
        if response_url:
            page = await history.page(context["actor"], shown)
            webhook = AsyncWebhookClient(response_url, session=client.session)
            await webhook.send(blocks=history_blocks(page), text=TITLE, replace_original=True)


def _read_metadata(text: str | None) -> tuple[HistoryFilter, str | None]:
    """The page the modal was opened from, and where to show it again."""
    try:
        saved = json.loads(text or "")
    except ValueError:
        raise InvalidInput(STALE) from None
    if not isinstance(saved, dict):
        raise InvalidInput(STALE)
    url = saved.get("response_url")
    return HistoryFilter.decode(saved.get("filter")), url if isinstance(url, str) else None
