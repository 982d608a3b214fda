"""The one gate every Slack request passes before any listener runs: its steps, in order.

1. a request for another installation is refused and audited, before anything reads it;
2. what a person typed or could forge is cleaned;
3. a response_url off Slack's hosts is refused;
4. a repeated delivery is answered 200 and does nothing again;
5. a person past the `/pay` rate limit is told so;
6. the entry point is authorized against the roles table (routes.py), and the actor kept.

Each step is a plain function that returns the answer ending the request, or None to go on. The
gate is one Bolt middleware object: Bolt builds a function middleware's keyword arguments on
every request (a payload parse and a dict of some thirty entries each time), an object's
``async_process`` it calls as it is.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.domain import Source
from bot.errors import Denied
from bot.handlers import replies, routes
from bot.handlers.installation import Installation
from bot.services.audit import AuditRecord, Outcome
from bot.services.container import Services
from bot.usertext import clean

log = logging.getLogger("paybot.gate")

OTHER_INSTALLATION = (
    "This Paybot is installed for another Slack workspace; it cannot answer this request."
)


class Gate(AsyncMiddleware):
    """``ours`` is the installation auth.test named at start (None: no installation check)."""

    def __init__(self, services: Services, ours: Installation | None) -> None:
        self.services = services
        self.ours = ours
        self.limiter = PerMinute(services.settings.paybot_rate_limit_per_minute)

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body, context, services = req.body, req.context, self.services
        if self.ours is not None:
            answer = await refuse_other_installation(services, self.ours, body)
            if answer is not None:
                return answer
        clean_typed(body)
        answer = refuse_foreign_response_url(services.settings, body)
        if answer is not None:
            return answer
        route = routes.resolve(body)
        answer = await answer_repeat(services, route, body)
        if answer is not None:
            return answer
        answer = throttle(self.limiter, body)
        if answer is not None:
            return answer
        answer = await authorize(services, route, body, context)
        if answer is not None:
            return answer
        await next()
        return None


async def refuse_other_installation(
    services: Services, ours: Installation, body: dict[str, Any]
) -> BoltResponse | None:
    """A valid signature only says the request came through an app that knows our signing
    secret; the ids inside say for whom. A payload naming another team, organization or app is
    refused and audited before anything reads it, and its response_url is never called."""
    reason = ours.mismatch(body)
    if reason is None:
        return None
    route = routes.resolve(body)
    user = body.get("user")
    await services.audit.record(
        AuditRecord(
            action="slack_request",
            outcome=Outcome.DENIED,
            source=route.source if route else Source.EVENT,
            slack_user_id=(user.get("id") if isinstance(user, dict) else None)
            or body.get("user_id"),
            target_type="installation",
            target_id=reason,
            reason="request for another installation",
        )
    )
    return replies.immediate(body, OTHER_INSTALLATION) or BoltResponse(status=200, body="")


def clean_typed(body: dict[str, Any]) -> None:
    """What a person typed or could forge (a command's text, the inputs of a modal or a message,
    a button's value, a chosen option, a modal's private metadata) cleaned before any listener,
    audit row or log line sees it: card numbers masked, control and bidirectional characters
    removed (bot/usertext.py)."""
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


def refuse_foreign_response_url(settings: Settings, body: dict[str, Any]) -> BoltResponse | None:
    """A request whose response_url points anywhere but Slack is refused (400): Bolt's respond
    and our own answers post there, so a forged payload could send a history page elsewhere."""
    urls = [body.get("response_url")] + [
        u.get("response_url") for u in body.get("response_urls") or () if isinstance(u, dict)
    ]
    for url in urls:
        if url is not None and not (isinstance(url, str) and settings.response_url_allowed(url)):
            log.warning("request refused: its response_url is not on Slack's hosts")
            return BoltResponse(status=400, body="response_url is not Slack's")
    return None


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


async def answer_repeat(
    services: Services, route: routes.Route | None, body: dict[str, Any]
) -> BoltResponse | None:
    """A Slack retry or a replayed payload gets 200 and does nothing a second time. Commands that
    only read are let through without a key: the key is a committed write, a third of the cost
    of a `/pay lookup` (bench/answers.py), and a repeat of a read changes nothing."""
    key = None if routes.only_reads(route) else delivery_key(body)
    if key is not None and not await services.deliveries.first_time(key):
        return BoltResponse(status=200, body="")
    return None


class PerMinute:
    """At most ``limit`` hits per key in any 60 seconds (a moving window), in memory: a few
    microseconds a hit, no task or thread behind it."""

    def __init__(self, limit: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
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
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _forget_quiet(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= 60]:
            del self._hits[key]


def throttle(limiter: PerMinute, body: dict[str, Any]) -> BoltResponse | None:
    """At most N `/pay` commands a minute per person (per process), with a clear answer."""
    user = body.get("user_id")
    if "command" in body and user and not limiter.hit(str(user)):
        return replies.json_response(
            {
                "response_type": "ephemeral",
                "text": f"You are sending `/pay` commands faster than {limiter.limit} a minute: "
                "wait a few seconds and try again.",
            }
        )
    return None


async def authorize(
    services: Services, route: routes.Route | None, body: dict[str, Any], context: AsyncBoltContext
) -> BoltResponse | None:
    """The one authorization point: the entry point's roles-table action (routes.py) checked for
    the person, every refusal audited by the access service, and the actor kept in the context
    for the listener. A body no person sent (``route`` None) has nothing to authorize."""
    if route is None:
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
            replies.after_answer(body, refusal.message, context.client)
            answer = BoltResponse(status=200, body="")
        return answer
    context["actor"] = actor
    return None
