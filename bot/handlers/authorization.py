"""The authorization middleware: every request passes here before any listener runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import Denied
from bot.handlers import replies, routes
from bot.services.container import Services

Middleware = Callable[..., Awaitable[BoltResponse | None]]


def middleware(services: Services) -> Middleware:
    async def authorize(
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        route = routes.route_of(body, context)
        if route is None:
            await next()
            return None
        if route.action is None and body.get("type") == "event_callback":
            # An event the bot does not act on (a message, a reaction, tokens_revoked): nobody
            # asked for anything, so nothing is refused or said; Slack gets its 200.
            return BoltResponse(status=200, body="")
        try:
            actor = await services.access.authorize(
                route.user_id, route.action, route.source, target_type=None, target_id=route.target
            )
        except Denied as refusal:
            answer = replies.immediate(body, refusal.message)
            if answer is None:
                replies.after_answer(body, refusal.message, client)
                answer = BoltResponse(status=200, body="")
            return answer
        context["actor"] = actor
        await next()
        return None

    return authorize
