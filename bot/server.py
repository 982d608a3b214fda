"""Running the bot: HTTP (`paybot serve`) or Socket Mode (`paybot socket`), until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from bot.app import Bot, create_bot
from bot.config import Settings
from bot.web import create_web_app

log = logging.getLogger("paybot.server")
T = TypeVar("T")


def event_loop_runner() -> Callable[[Coroutine[Any, Any, T]], T]:
    """uvloop's event loop when it is installed (`pip install 'paybot[fast]'`), asyncio's
    otherwise: the servers' sockets and the database threads' wake-ups cost less on it."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return asyncio.run
    return uvloop.run


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def start_http(bot: Bot, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(create_web_app(bot), access_log=None, shutdown_timeout=10)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def settle_garbage_collector() -> None:
    """Once started: what start-up built lives as long as the process (modules, the app, the
    mappers), so it is frozen out of the collector's walks; and the youngest generation is
    collected every 50,000 allocations rather than 700, so the objects of requests in flight
    (alive across awaits) are not promoted to the oldest generation, whose full collections
    then ran several times a second under load and took 40-60 ms each."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


async def serve(settings: Settings, *, host: str, port: int) -> None:
    bot = await create_bot(settings)
    runner = await start_http(bot, host, port)
    settle_garbage_collector()
    log.info("paybot listening on http://%s:%d (POST /slack/events, GET /healthz)", host, port)
    try:
        await _until_stopped()
    finally:
        log.info("stopping: no new requests, finishing in-flight work")
        await runner.cleanup()


async def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    settings.require("slack_app_token")
    bot = await create_bot(settings)
    handler = AsyncSocketModeHandler(bot.bolt, settings.secret("slack_app_token"))
    await handler.connect_async()  # type: ignore[no-untyped-call]
    settle_garbage_collector()
    log.info("paybot connected over Socket Mode")
    try:
        await _until_stopped()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await bot.close()
