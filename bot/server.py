"""Running the bot: HTTP (`paybot serve`) or Socket Mode (`paybot socket`), until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from bot.app import BOT_SETTINGS, Bot, create_bot
from bot.config import Settings
from bot.errors import StartError
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


def check_port(port: int) -> int:
    """A port the operating system could give, so 99999 is refused rather than wrapped."""
    if not 0 <= port <= 65535:
        raise StartError(f"--port {port} is not a port: use 1 to 65535 (0 takes any free one)")
    return port


def cannot_listen(host: str, port: int, exc: OSError) -> StartError:
    # asyncio words a bind error at length; the errno says it shortly (a lookup's is negative).
    reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return StartError(f"port {port} is not free ({reason}); try --port {port + 1}")
    return StartError(f"cannot listen on {host}:{port} ({reason}); check --host and --port")


async def start_http(bot: Bot, host: str, port: int) -> web.AppRunner:
    check_port(port)
    runner = web.AppRunner(create_web_app(bot), access_log=None, shutdown_timeout=10)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise cannot_listen(host, port, exc) from exc
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
    check_port(port)
    bot = await create_bot(settings)
    runner = await start_http(bot, host, port)  # closes the bot when it cannot listen
    settle_garbage_collector()
    bound_host, bound_port = runner.addresses[0][:2]
    log.info(
        "paybot listening on http://%s:%d (POST /slack/events, GET /healthz)",
        bound_host,
        bound_port,
    )
    try:
        await _until_stopped()
    finally:
        log.info("stopping: no new requests, finishing in-flight work")
        await runner.cleanup()


async def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    settings.require("slack_app_token", *BOT_SETTINGS)
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
