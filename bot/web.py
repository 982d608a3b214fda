"""aiohttp routes: /slack/events (through Bolt), /webhooks/{backend}, /healthz, /metrics."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot.app import Bot
from bot.errors import InvalidInput, PaybotError
from bot.logs import request_id

log = logging.getLogger("paybot.web")
access = logging.getLogger("paybot.access")

MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is refused with 413
# Slack's deepest payloads (a modal's state, rich text) nest about a dozen levels; a parser
# recursing through thousands fails, so the depth is counted before anything parses the body.
MAX_DEPTH = 64
REFUSED: web.RequestKey[str] = web.RequestKey("refused", str)
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request id for every log line of the request, and the request counted and timed."""
    metrics = request.app[BOT_KEY].store.metrics
    given = request.headers.get("X-Request-Id", "")
    rid = given if given.isalnum() and len(given) <= 64 else secrets.token_hex(8)
    token = request_id.set(rid)
    started, status = time.perf_counter(), 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        elapsed = time.perf_counter() - started
        metrics.count_request(route, status)
        if route == "/slack/events":
            metrics.ack_latency.observe(elapsed)
        refused = request.get(REFUSED)
        access.info(
            "%s %s %d %.1fms%s",
            request.method,
            route,
            status,
            elapsed * 1000,
            f" refused: {refused}" if refused else "",
            extra={"route": route, "status": status, "ms": round(elapsed * 1000, 1)},
        )
        request_id.reset(token)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests deeper than ``limit``, counted without parsing it (brackets
    outside strings), so a body of ten thousand `[` costs a scan, not a RecursionError."""
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def unparseable(body: str, content_type: str) -> str | None:
    """Why Bolt must not be given this body (its JSON, or a form's `payload` field, nests too
    deep), or None. Bolt reads JSON when the body starts with `{`, and a form's payload."""
    if content_type == "application/json" or body.startswith("{"):
        text = body
    elif "payload" in body:
        text = "".join(v for k, v in parse_qsl(body, keep_blank_values=True) if k == "payload")
    else:
        return None
    return f"nested deeper than {MAX_DEPTH} levels" if too_deep(text) else None


async def slack_events(request: web.Request) -> web.Response:
    """Slack sends UTF-8 whatever charset a request claims: the body is read as UTF-8 (an
    unknown charset such as `rot13` would make aiohttp's `request.text()` raise)."""
    bot = request.app[BOT_KEY]
    try:
        body = (await request.read()).decode("utf-8", "replace")
        why = unparseable(body, request.content_type)
        if why is not None:
            return await malformed(request, bot, why)
        bolt_request = AsyncBoltRequest(
            body=body,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        # Bolt hands listener errors to the app's error handler; what escapes dispatch is Bolt
        # reading a payload of the wrong shape (`"actions": []` is an IndexError in its kwargs).
        answer = await bot.bolt.async_dispatch(bolt_request)
    except (ValueError, TypeError, AttributeError, LookupError, RecursionError) as exc:
        return await malformed(request, bot, f"not a Slack payload ({type(exc).__name__})")
    return await to_aiohttp_response(answer)


async def malformed(request: web.Request, bot: Bot, why: str) -> web.Response:
    """A body Bolt cannot parse: 401 unless Slack really signed it, then 400 (never a 500).
    The access line says why; nothing else is logged."""
    body = await request.read()
    verifier = SignatureVerifier(bot.settings.secret("slack_signing_secret"))
    if not verifier.is_valid_request(body, dict(request.headers)):
        request[REFUSED] = f"unsigned, {why}"
        return web.json_response({"error": "invalid request"}, status=401)
    request[REFUSED] = why
    return web.json_response({"error": f"malformed Slack payload: {why}"}, status=400)


async def webhook(request: web.Request) -> web.Response:
    """Store first, answer 2xx fast; the notifications go out from the outbox afterwards."""
    bot = request.app[BOT_KEY]
    if request.match_info["backend"] != bot.settings.payments_backend:
        raise web.HTTPNotFound(text="no such webhook")
    body = await request.read()
    sender = sender_address(request, bot.settings.paybot_trusted_proxies)
    try:
        if too_deep(body.decode("utf-8", "replace")):
            raise InvalidInput(f"malformed webhook body: nested deeper than {MAX_DEPTH} levels")
        events = await bot.services.gateway.receive_webhook(body, request.headers, sender)
    except PaybotError as refusal:
        request[REFUSED] = refusal.message
        return web.json_response({"error": refusal.message}, status=400)
    new = await bot.services.events.ingest(events, "webhook")  # wakes the worker if new
    return web.json_response({"received": len(events), "new": new})


def sender_address(request: web.Request, trusted_proxies: str) -> str | None:
    """Who sent the request: the peer, or, when the peer is a trusted proxy, the last address in
    ``X-Forwarded-For`` that is not one (each proxy appends the address it received from; only
    the part our own proxies wrote is believed)."""
    peer = request.remote
    trusted = [
        ipaddress.ip_network(p.strip(), strict=False)
        for p in trusted_proxies.split(",")
        if p.strip()
    ]

    def is_proxy(address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not is_proxy(peer):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not is_proxy(hop):
            return hop
    return peer


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    try:
        async with asyncio.timeout(3):
            async with bot.store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unhealthy"
        return web.json_response(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    return web.json_response(
        {"status": "ok", "database": "ok", "backend": bot.settings.payments_backend}
    )


async def metrics(request: web.Request) -> web.Response:
    """The backlogs are counted here, when someone scrapes, not on every worker round."""
    bot = request.app[BOT_KEY]
    bot.store.metrics.outbox_backlog.set(await bot.services.outbox.backlog())
    bot.store.metrics.jobs_backlog.set(await bot.services.jobs.pending())
    body = bot.store.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_web_app(
    bot: Bot, *, close_bot: bool = True, http_events: bool = True
) -> web.Application:
    """The bot's HTTP side; its start-up starts the worker. Under Socket Mode (`http_events`
    False) Slack's requests come over the WebSocket instead, and /slack/events is not served."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[observe])
    app[BOT_KEY] = bot
    if http_events:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/webhooks/{backend}", webhook)
    app.router.add_get("/metrics", metrics)

    async def _start(_app: web.Application) -> None:
        bot.worker.start()

    app.on_startup.append(_start)
    if close_bot:

        async def _close(_app: web.Application) -> None:
            await bot.close()

        app.on_cleanup.append(_close)
    return app
