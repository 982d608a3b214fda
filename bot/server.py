"""Running the bot: HTTP (`paybot serve`) or Socket Mode (`paybot socket`), until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.app import Bot, create_bot
from bot.config import Settings
from bot.errors import ConfigError, StartError
from bot.logs import request_id
from bot.metrics import Metrics
from bot.web import create_web_app

log = logging.getLogger("paybot.server")
access = logging.getLogger("paybot.access")
T = TypeVar("T")
SOCKET_TRIES = 3  # asking Slack for a Socket Mode URL, before start-up gives up
SOCKET_CONNECT_SECONDS = 30
SHUTDOWN_SECONDS = 10  # for what is in flight when SIGTERM comes, under HTTP or Socket Mode


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


async def start_http(bot: Bot, host: str, port: int, *, http_events: bool = True) -> web.AppRunner:
    """The aiohttp server (and, through its start-up, the worker); cleaning it up stops both
    (and closes the bot, so a port that cannot be listened on leaves nothing open)."""
    check_port(port)
    runner = web.AppRunner(
        create_web_app(bot, http_events=http_events),
        access_log=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
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
    """HTTP: Slack posts to /slack/events; webhooks, /healthz and /metrics on the same port."""
    await _run(settings, host, port, socket_mode=False)


async def serve_socket_mode(settings: Settings, *, host: str, port: int) -> None:
    """Socket Mode: Slack's requests come over a WebSocket the bot opens; the same worker, and
    the same HTTP listener for webhooks, /healthz and /metrics, but no /slack/events."""
    await _run(settings, host, port, socket_mode=True)


async def _run(settings: Settings, host: str, port: int, *, socket_mode: bool) -> None:
    """Start, serve until SIGTERM/SIGINT, stop: one path for both ways of running."""
    check_port(port)
    bot = await create_bot(settings, socket_mode=socket_mode)
    runner = await start_http(bot, host, port, http_events=not socket_mode)
    connection = None
    try:
        if socket_mode:
            connection = await connect_socket_mode(bot, settings.secret("slack_app_token"))
    except BaseException:
        await runner.cleanup()
        raise
    settle_garbage_collector()
    bound_host, bound_port = runner.addresses[0][:2]
    routes = "GET /healthz, GET /metrics" if socket_mode else "POST /slack/events, GET /healthz"
    log.info(
        "paybot %s, listening on http://%s:%d (%s)",
        "connected over Socket Mode" if socket_mode else "serving over HTTP",
        bound_host,
        bound_port,
        routes,
    )
    try:
        await _until_stopped()
    finally:
        log.info("stopping: no new requests, finishing in-flight work")
        if connection is not None:
            await connection.finish()
        await runner.cleanup()


class ObservedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, each envelope given a request id and counted and timed up to
    its ack, as the HTTP side does for /slack/events (bot.web.observe)."""

    def __init__(self, bot: Bot, app_token: str) -> None:
        super().__init__(bot.bolt, app_token, web_client=bot.client)
        self._metrics: Metrics = bot.store.metrics
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]  # as Bolt
        token = request_id.set(secrets.token_hex(8))
        started = time.perf_counter()
        route = f"socket_mode/{req.type}"
        self._in_flight += 1
        self._idle.clear()
        try:
            await super().handle(client, req)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
            elapsed = time.perf_counter() - started
            self._metrics.requests.labels(route, "ack").inc()
            self._metrics.ack_latency.observe(elapsed)
            access.info(
                "SOCKET %s %.1fms",
                req.type,
                elapsed * 1000,
                extra={"route": route, "ms": round(elapsed * 1000, 1)},
            )
            request_id.reset(token)

    async def finish(self, timeout: float = SHUTDOWN_SECONDS) -> None:  # noqa: ASYNC109
        """Close once the envelopes in hand are acked (waiting `timeout` at most), as aiohttp's
        shutdown lets the requests in flight finish."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%d Socket Mode envelope(s) not acked in %ss", self._in_flight, timeout)
        await self.close_async()  # type: ignore[no-untyped-call]


async def connect_socket_mode(
    bot: Bot, app_token: str, *, tries: int = SOCKET_TRIES, pause: float = 2.0
) -> ObservedSocketModeHandler:
    """Bolt's Socket Mode handler, connected. The WebSocket URL is asked for here, a bounded
    number of times: slack_sdk's own connect retries a refused token every ten seconds forever,
    and a token Slack refuses (invalid_auth, not_allowed_token_type, ...) will not come right by
    waiting, so that stops start-up at once with one line."""
    for attempt in range(1, tries + 1):
        try:
            opened = await bot.client.apps_connections_open(app_token=app_token)
            break
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error != "ratelimited" or attempt == tries:
                raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({error})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            if attempt == tries:
                raise ConfigError(
                    f"Slack's Socket Mode could not be reached after {tries} tries ({exc})"
                ) from None
        await asyncio.sleep(pause)
    handler = ObservedSocketModeHandler(bot, app_token)
    handler.client.wss_uri = str(opened["url"])
    try:
        async with asyncio.timeout(SOCKET_CONNECT_SECONDS):
            await handler.connect_async()  # type: ignore[no-untyped-call]
    except TimeoutError:
        await handler.close_async()  # type: ignore[no-untyped-call]
        raise ConfigError(
            f"Slack's Socket Mode WebSocket did not answer within {SOCKET_CONNECT_SECONDS}s"
        ) from None
    return handler
