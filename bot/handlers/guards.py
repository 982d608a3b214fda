"""Middleware that runs before authorization: repeated deliveries and per-user rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.handlers import replies
from bot.services.container import Services

Middleware = Callable[..., Awaitable[BoltResponse | None]]
Next = Callable[[], Awaitable[None]]


def delivery_key(body: dict[str, Any]) -> str | None:
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    return None


def once(services: Services) -> Middleware:
    """A Slack retry or a replayed payload gets 200 and does nothing a second time."""

    async def deduplicate(body: dict[str, Any], next: Next) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None and not await services.deliveries.first_time(key):
            return BoltResponse(status=200, body="")
        await next()
        return None

    return deduplicate


def rate_limited(services: Services) -> Middleware:
    """At most N `/pay` commands a minute per person (per process), with a clear answer."""
    per_minute = services.settings.paybot_rate_limit_per_minute
    limit = RateLimitItemPerMinute(per_minute)
    limiter = MovingWindowRateLimiter(MemoryStorage())

    async def throttle(
        body: dict[str, Any],
        request: AsyncBoltRequest,
        next: Next,
    ) -> BoltResponse | None:
        user = body.get("user_id")
        if "command" in body and user and not await limiter.hit(limit, str(user)):
            return replies.json_response(
                {
                    "response_type": "ephemeral",
                    "text": f"You are sending `/pay` commands faster than {per_minute} a minute: "
                    "wait a few seconds and try again.",
                }
            )
        await next()
        return None

    return throttle
