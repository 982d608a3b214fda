"""aiohttp routes: /slack/events (through Bolt), /healthz."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from sqlalchemy import text

from bot.app import Bot
from bot.errors import PaybotError

log = logging.getLogger("paybot.web")

MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is refused with 413
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)


async def slack_events(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    bolt_request = await to_bolt_request(request)
    return await to_aiohttp_response(await bot.bolt.async_dispatch(bolt_request))


async def webhook(request: web.Request) -> web.Response:
    """Store first, answer 2xx fast; the notifications go out from the outbox afterwards."""
    bot = request.app[BOT_KEY]
    if request.match_info["backend"] != bot.settings.payments_backend:
        raise web.HTTPNotFound(text="no such webhook")
    body = await request.read()
    try:
        events = bot.services.gateway.parse_webhook(body, request.headers)
    except PaybotError as refusal:
        log.warning("webhook refused: %s", refusal.message)
        return web.json_response({"error": refusal.message}, status=400)
    new = await bot.services.events.ingest(events, "webhook")
    if new:
        bot.services.wake()
    return web.json_response({"received": len(events), "new": new})


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


def create_web_app(bot: Bot, *, close_bot: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[BOT_KEY] = bot
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/webhooks/{backend}", webhook)

    async def _start(_app: web.Application) -> None:
        bot.worker.start()

    app.on_startup.append(_start)
    if close_bot:

        async def _close(_app: web.Application) -> None:
            await bot.close()

        app.on_cleanup.append(_close)
    return app
