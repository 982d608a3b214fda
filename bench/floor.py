"""The framework's floor: a bare Bolt AsyncApp on the same aiohttp stack as `paybot serve`
(the same adapter, signing secret, authorize-once and event loop), answering `/pay` with static
text. What `paybot serve` adds above this is the bot's own cost.

    SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=… SLACK_API_URL=… python bench/floor.py --port 3100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


async def create_floor() -> web.Application:
    token = os.environ["SLACK_BOT_TOKEN"]
    client = AsyncWebClient(token=token, base_url=os.environ["SLACK_API_URL"])
    identity = await client.auth_test()
    authorized = AuthorizeResult.from_auth_test_response(
        auth_test_response=identity, bot_token=token, user_token=None
    )

    async def authorize() -> AuthorizeResult:
        return authorized

    bolt = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        authorize=authorize,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @bolt.command("/pay")
    async def pay(ack):  # type: ignore[no-untyped-def]
        await ack("Paybot: a static answer from the floor.")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(await create_floor(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3100)
    arguments = parser.parse_args()
    try:  # the loop `paybot serve` runs on (bot.server.event_loop_runner), without importing it
        import uvloop
    except ImportError:
        asyncio.run(serve(arguments.host, arguments.port))
    else:
        uvloop.run(serve(arguments.host, arguments.port))
