"""`/pay history`, its Previous / Next and Columns buttons, and View on any listed payment.

Paging and the column choice replace the ephemeral list through the click's response_url; View
adds the lookup card as a message of its own, so the list stays where it was.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.blocks.history import columns_modal, history_blocks
from bot.domain import Source
from bot.handlers import forms
from bot.handlers.commands import Answer, Command, Router
from bot.handlers.lookup import card
from bot.ids import ActionId, BlockId, CallbackId, Subcommand
from bot.overview import HistoryFilter
from bot.services.container import Services
from bot.services.history import parse_history

TITLE = "Payment history"


def register(app: AsyncApp, services: Services, router: Router) -> None:
    history = services.history

    async def list_history(cmd: Command) -> None:
        async def page() -> Answer:
            return history_blocks(await history.page(cmd.actor, parse_history(cmd.args))), TITLE

        await cmd.answer_soon(page(), "Looking up the payment history …")

    router.add(Subcommand.HISTORY, list_history)

    async def turn(
        ack: AsyncAck, action: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        view = await history.page(
            context["actor"], HistoryFilter.decode(forms.action_value(action))
        )
        await respond(blocks=history_blocks(view), text=TITLE, replace_original=True)

    app.action(ActionId.HISTORY_NEXT)(turn)
    app.action(ActionId.HISTORY_PREVIOUS)(turn)

    @app.action(ActionId.TRANSACTION_VIEW)
    async def view_transaction(
        ack: AsyncAck, action: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        blocks, text = await card(
            services, context["actor"], forms.action_value(action), Source.BUTTON
        )
        await respond(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)

    @app.action(ActionId.HISTORY_COLUMNS)
    async def open_columns(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        shown = HistoryFilter.decode(forms.action_value(action))
        columns = await history.columns(context["actor"])
        origin = ColumnsOrigin(filter=shown.encode(), response_url=body.get("response_url"))
        metadata = origin.model_dump_json()
        await client.views_open(
            trigger_id=body["trigger_id"], view=columns_modal(columns, metadata)
        )

    @app.view(CallbackId.HISTORY_COLUMNS)
    async def save_columns(
        ack: AsyncAck, view: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        origin = forms.button_value(ColumnsOrigin, view.get("private_metadata"))
        shown, response_url = HistoryFilter.decode(origin.filter), origin.response_url
        await history.choose_columns(context["actor"], forms.values(view, BlockId.HISTORY_COLUMNS))
        await ack()
        if response_url and services.settings.response_url_allowed(response_url):
            page = await history.page(context["actor"], shown)
            webhook = AsyncWebhookClient(response_url, session=client.session)
            await webhook.send(blocks=history_blocks(page), text=TITLE, replace_original=True)


class ColumnsOrigin(BaseModel):
    """The Columns modal's private metadata: the page it was opened from, and where to show it
    again."""

    filter: str | None = None
    response_url: str | None = None
