"""Publishing App Home: what the `app_home_opened` event, the Refresh button, and any other code
that changes what the dashboard shows (a refund approved, a dispute closed) call."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_home
from bot.blocks.home import home_view
from bot.domain import RefundRequestInfo, RefundState
from bot.roles import Action
from bot.services.access import NO_ACCESS
from bot.services.container import Services


async def publish_home(client: AsyncWebClient, services: Services, slack_user_id: str) -> None:
    """Draw this person's dashboard again, for their role now; a person without portal access
    sees only that."""
    actor = await services.access.actor(slack_user_id)
    if actor is None or not services.access.can(actor, Action.DASHBOARD):
        await client.views_publish(user_id=slack_user_id, view=message_home(NO_ACCESS))
        return
    board = await services.home.dashboard(actor)
    links: dict[str, str] = {}
    if board.refunds is not None and board.refunds.can_decide:
        links = await approval_links(client, board.refunds.awaiting_approval)
    await client.views_publish(user_id=slack_user_id, view=home_view(board, links))


async def approval_links(
    client: AsyncWebClient, requests: Iterable[RefundRequestInfo]
) -> dict[str, str]:
    """Links to the approval messages (where Approve and Reject are); a deleted one is skipped."""
    links: dict[str, str] = {}
    for request in requests:
        if request.state is not RefundState.REQUESTED:
            continue
        if not (request.approval_channel and request.approval_ts):
            continue
        try:
            answer = await client.chat_getPermalink(
                channel=request.approval_channel, message_ts=request.approval_ts
            )
        except SlackApiError:
            continue  # the panel still lists the request, without the link
        links[request.id] = str(answer["permalink"])
    return links
