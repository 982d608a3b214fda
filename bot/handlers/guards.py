"""Middleware that runs before authorization: repeated deliveries and per-user rate limits."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.handlers import replies, routes
from bot.services.container import Services

Middleware = Callable[..., Awaitable[BoltResponse | None]]
Next = Callable[[], Awaitable[None]]


def event_key(body: dict[str, Any]) -> str | None:
    """An Events API delivery's key: its retries carry the same event_id."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    return None


def delivery_key(body: dict[str, Any]) -> str | None:
    event = event_key(body)
    if event is not None:
        return event
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    return None


def once(services: Services) -> Middleware:
    """A Slack retry or a replayed payload gets 200 and does nothing a second time. Commands that
    only read are let through without a key: the key is a committed write, a third of the cost
    of a `/pay lookup` (bench/answers.py), and a repeat of a read changes nothing."""

    async def deduplicate(
        body: dict[str, Any], context: AsyncBoltContext, next: Next
    ) -> BoltResponse | None:
        key = None if routes.only_reads(routes.route_of(body, context)) else delivery_key(body)
        if key is not None and not await services.deliveries.first_time(key):
            return BoltResponse(status=200, body="")
        await next()
        return None

    return deduplicate


class PerMinute:
    """At most ``limit`` hits per key in any 60 seconds (a moving window), in memory: a few
    microseconds a hit, no task or thread behind it."""

    def __init__(self, limit: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._monotonic = monotonic
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> bool:
        """Count a hit; False (and not counted) when ``key`` already had its ``limit``."""
        now = self._monotonic()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= 10_000:
                self._forget_quiet(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self._limit:
            return False
        hits.append(now)
        return True

    def _forget_quiet(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= 60]:
            del self._hits[key]


def rate_limited(services: Services) -> Middleware:
    """At most N `/pay` commands a minute per person (per process), with a clear answer."""
    per_minute = services.settings.paybot_rate_limit_per_minute
    limiter = PerMinute(per_minute)

    async def throttle(body: dict[str, Any], next: Next) -> BoltResponse | None:
        user = body.get("user_id")
        if "command" in body and user and not limiter.hit(str(user)):
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
