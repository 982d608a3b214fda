"""Middleware that runs before authorization: what people typed cleaned, response_urls held to
Slack's hosts, repeated deliveries and per-user rate limits."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.handlers import replies, routes
from bot.services.container import Services
from bot.usertext import clean

log = logging.getLogger("paybot.guards")

Middleware = Callable[..., Awaitable[BoltResponse | None]]
Next = Callable[[], Awaitable[None]]


def cleaned() -> Middleware:
    """What a person typed or could forge (a command's text, the inputs of a modal or a message,
    a button's value, a chosen option, a modal's private metadata) cleaned before any listener,
    audit row or log line sees it: card numbers masked, control and bidirectional characters
    removed (bot/usertext.py)."""

    async def clean_body(body: dict[str, Any], next: Next) -> BoltResponse | None:
        clean_typed(body)
        await next()
        return None

    return clean_body


def clean_typed(body: dict[str, Any]) -> None:
    if "command" in body and isinstance(body.get("text"), str):
        body["text"] = clean(body["text"])
    view = body.get("view")
    if isinstance(view, dict) and isinstance(view.get("private_metadata"), str):
        view["private_metadata"] = clean(view["private_metadata"])
    for state in (view.get("state") if isinstance(view, dict) else None, body.get("state")):
        blocks = state.get("values") if isinstance(state, dict) else None
        for inputs in (blocks or {}).values() if isinstance(blocks, dict) else ():
            for element in inputs.values() if isinstance(inputs, dict) else ():
                _clean_element(element)
    for action in body.get("actions") or () if isinstance(body.get("actions"), list) else ():
        _clean_element(action)


def _clean_element(element: Any) -> None:
    """An input's or action's typed value and its chosen options (value and shown text)."""
    if not isinstance(element, dict):
        return
    if isinstance(element.get("value"), str):
        element["value"] = clean(element["value"])
    chosen = element.get("selected_options")
    options = [element.get("selected_option")] + (chosen if isinstance(chosen, list) else [])
    for option in options:
        if not isinstance(option, dict):
            continue
        if isinstance(option.get("value"), str):
            option["value"] = clean(option["value"])
        shown = option.get("text")
        if isinstance(shown, dict) and isinstance(shown.get("text"), str):
            shown["text"] = clean(shown["text"])


def slack_hosts(services: Services) -> Middleware:
    """A request whose response_url points anywhere but Slack is refused (400): Bolt's respond
    and our own answers post there, so a forged payload could send a history page elsewhere."""
    settings = services.settings

    async def check(body: dict[str, Any], next: Next) -> BoltResponse | None:
        urls = [body.get("response_url")] + [
            u.get("response_url") for u in body.get("response_urls") or () if isinstance(u, dict)
        ]
        for url in urls:
            if url is not None and not (
                isinstance(url, str) and settings.response_url_allowed(url)
            ):
                log.warning("request refused: its response_url is not on Slack's hosts")
                return BoltResponse(status=400, body="response_url is not Slack's")
        await next()
        return None

    return check


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
