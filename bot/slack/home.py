"""Publishing App Home: what the `app_home_opened` event, the Refresh button, and any other code
that changes what the dashboard shows (a refund approved, a dispute closed) call."""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_home
from bot.blocks.home import home_view
from bot.bookkeeping import ChecklistInfo
from bot.overview import RefundWork
from bot.roles import Action
from bot.services.access import NO_ACCESS
from bot.services.container import Services
from bot.services.home import AWAITING


async def publish_home(client: AsyncWebClient, services: Services, slack_user_id: str) -> None:
    """Draw this person's dashboard again, for their role now; a person without portal access
    sees only that."""
    actor = await services.access.actor(slack_user_id)
    if actor is None or not services.access.can(actor, Action.DASHBOARD):
        await client.views_publish(user_id=slack_user_id, view=message_home(NO_ACCESS))
        return
    board = await services.home.dashboard(actor)
    links = await approval_links(client, board.refunds)
    links |= await checklist_links(client, board.checklists or ())
    await client.views_publish(user_id=slack_user_id, view=home_view(board, links))


async def checklist_links(
    client: AsyncWebClient, checklists: tuple[ChecklistInfo, ...]
) -> dict[str, str]:
    """Links to the open checklists' messages in their threads, asked of Slack all at once."""
    posted = [
        (c.id, c.channel, ts)
        for c in checklists
        if c.channel and (ts := c.message_ts or c.thread_ts)
    ]
    return await permalinks(client, posted)


async def permalinks(
    client: AsyncWebClient, messages: list[tuple[str, str, str]]
) -> dict[str, str]:
    """Each message's permalink by its key; a deleted message is skipped."""
    answers = await asyncio.gather(
        *(client.chat_getPermalink(channel=c, message_ts=ts) for _, c, ts in messages),
        return_exceptions=True,
    )
    links: dict[str, str] = {}
    for (key, _, _), answer in zip(messages, answers, strict=True):
        if isinstance(answer, SlackApiError):
            continue
        if isinstance(answer, BaseException):
            raise answer
        links[key] = str(answer["permalink"])
    return links


async def approval_links(client: AsyncWebClient, work: RefundWork | None) -> dict[str, str]:
    """Links to the approval messages (where Approve and Reject are), for someone who may
    decide: asked of Slack all at once, as every dashboard opening waits for them. A deleted
    message is skipped; the request is still listed, without the link."""
    if work is None or not work.can_decide:
        return {}
    waiting = [
        (r.id, r.approval_channel, r.approval_ts)
        for r in work.awaiting_approval
        if r.state in AWAITING and r.approval_channel and r.approval_ts
    ]
    return await permalinks(client, waiting)
