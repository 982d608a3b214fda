"""App Home as the dashboard: published when the Home tab opens and on Refresh; a panel's button
posts that panel's full list to the person's DM with Paybot.

Why a DM: App Home cannot show an ephemeral message, and drawing the list into App Home would
replace the dashboard; in the DM the list keeps working (Next, View, Payments) like anywhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.history import history_blocks
from bot.blocks.home import refund_work_blocks
from bot.blocks.listings import disputes_blocks, returns_blocks, withdrawals_blocks
from bot.domain import PortalAccount
from bot.handlers.commands import Router
from bot.ids import ActionId, EventName
from bot.overview import HistoryFilter
from bot.services.container import Services
from bot.slack.home import approval_links, publish_home

Panel = Callable[[PortalAccount, AsyncWebClient], Awaitable[tuple[Sequence[Block], str]]]
REFUND_ROWS = 20


def register(app: AsyncApp, services: Services, router: Router) -> None:
    @app.event(EventName.APP_HOME_OPENED)
    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":  # the Messages tab opening needs nothing
            await publish_home(client, services, str(event["user"]))

    @app.action(ActionId.HOME_REFRESH)
    async def refresh(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await publish_home(client, services, str(body["user"]["id"]))

    async def history(actor: PortalAccount, client: AsyncWebClient) -> tuple[Sequence[Block], str]:
        return history_blocks(await services.history.page(actor, HistoryFilter())), "History"

    async def refunds(actor: PortalAccount, client: AsyncWebClient) -> tuple[Sequence[Block], str]:
        work = await services.home.refund_work(actor, rows=REFUND_ROWS)
        links = await approval_links(client, work)
        return refund_work_blocks(work, links, services.settings.zone), "Refunds in progress"

    async def disputes(actor: PortalAccount, client: AsyncWebClient) -> tuple[Sequence[Block], str]:
        return disputes_blocks(await services.listings.disputes(open_only=True)), "Disputes"

    async def returns(actor: PortalAccount, client: AsyncWebClient) -> tuple[Sequence[Block], str]:
        return returns_blocks(await services.listings.returns()), "Returned payments"

    async def withdrawals(
        actor: PortalAccount, client: AsyncWebClient
    ) -> tuple[Sequence[Block], str]:
        return withdrawals_blocks(await services.listings.withdrawals()), "Withdrawals"

    panels: dict[ActionId, Panel] = {
        ActionId.HOME_HISTORY: history,
        ActionId.HOME_REFUNDS: refunds,
        ActionId.HOME_DISPUTES: disputes,
        ActionId.HOME_RETURNS: returns,
        ActionId.HOME_WITHDRAWALS: withdrawals,
    }

    async def show_panel(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        blocks, text = await panels[ActionId(action["action_id"])](context["actor"], client)
        # Through the outbox, as every message after an ack: paced per channel, so a person
        # clicking fast is not refused by Slack's one post a second.
        await services.outbox.reply(str(body["user"]["id"]), [b.to_dict() for b in blocks], text)

    for action_id in panels:
        app.action(action_id)(show_panel)
