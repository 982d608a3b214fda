"""Stripe for the tests: localstripe in a subprocess, objects made through the stripe SDK, and a
whole bot with PAYMENTS_BACKEND=stripe behind the fake Slack (as tests/conftest.py builds one)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import stripe
from aiohttp import web

from bot.app import create_bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.processors.sandbox import SandboxSimulator
from bot.server import start_http
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    Harness,
    bot_settings,
    free_port,
)

API_KEY = "sk_test_paybot_0123456789"
WEBHOOK_SECRET = "whsec_paybot_test_0123456789abcdef"
SHIM = Path(__file__).with_name("localstripe_shim.py")


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen[bytes]

    def flush(self) -> None:
        """Forget every object: each test starts from an empty account."""
        self._send("DELETE", "/_config/data")

    def register_webhook(self, url: str, secret: str, events: list[str]) -> None:
        """localstripe's own delivery: it signs with Stripe's scheme (t=…,v1=HMAC)."""
        self._send(
            "POST", "/_config/webhooks/paybot", {"url": url, "secret": secret, "events": events}
        )

    def _send(self, method: str, path: str, payload: dict[str, Any] | None = None) -> None:
        connection = http.client.HTTPConnection(self.url.removeprefix("http://"), timeout=5)
        try:
            body = json.dumps(payload) if payload is not None else None
            connection.request(method, path, body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            if answer.status >= 300:
                raise RuntimeError(f"localstripe answered {answer.status} to {method} {path}")
        finally:
            connection.close()


@contextmanager
def run_localstripe() -> Iterator[LocalStripe]:
    """localstripe (through the shim) on a free loopback port, stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SHIM), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"localstripe did not start:\n{error}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start within 20 s") from None
                time.sleep(0.05)
        yield LocalStripe(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def stripe_client(url: str) -> AsyncIterator[stripe.StripeClient]:
    """The tests' own client, to make and inspect objects the way an integration would."""
    http = stripe.AIOHTTPClient()
    client = stripe.StripeClient(API_KEY, base_addresses={"api": url}, http_client=http)
    try:
        yield client
    finally:
        await http.close_async()


async def charge(
    client: stripe.StripeClient,
    amount: int = 12550,
    *,
    matter: str | None = "MAT-1001",
    account: str | None = "operating",
    capture: bool = True,
    card: str = "pm_card_visa",
) -> stripe.Charge:
    """A card charge (``ch_``) as an older integration makes one, with the firm's metadata."""
    metadata = {k: v for k, v in (("matter_id", matter), ("account", account)) if v}
    return await client.v1.charges.create_async(
        {
            "amount": amount,
            "currency": "usd",
            "source": card,
            "capture": capture,
            "metadata": metadata,
            "description": "Invoice 1001",
        }
    )


async def payment_intent(
    client: stripe.StripeClient,
    amount: int = 30000,
    *,
    matter: str = "MAT-2040",
    account: str = "trust",
) -> stripe.PaymentIntent:
    """A confirmed PaymentIntent (``pi_``): the matter is on the intent, not on its charge."""
    return await client.v1.payment_intents.create_async(
        {
            "amount": amount,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"matter_id": matter, "account": account},
        }
    )


async def refunds_of(client: stripe.StripeClient, charge_id: str) -> list[dict[str, Any]]:
    listed = await client.v1.refunds.list_async({"charge": charge_id, "limit": 100})
    return [item.to_dict() for item in listed.data]


def stripe_settings(database_url: str, slack_url: str, stripe_url: str, **extra: Any) -> Settings:
    return bot_settings(
        database_url,
        slack_url,
        payments_backend="stripe",
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_url,
        **extra,
    )


@dataclass
class StripeHarness(Harness):
    """The conftest harness with Stripe (localstripe) as the processor; ``sandbox`` is unused."""

    stripe: stripe.StripeClient
    localstripe: LocalStripe


@asynccontextmanager
async def open_stripe_harness(
    database_url: str, clock: ManualClock, server: LocalStripe, api_base: str | None = None
) -> AsyncIterator[StripeHarness]:
    """``api_base``: where the bot reaches Stripe (a proxy); the tests' own client goes direct."""
    from bot.store import open_store

    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    settings = stripe_settings(database_url, api_url, api_base or server.url)
    store = await open_store(settings, clock=clock)
    bot = await create_bot(settings, clock=clock, store=store)
    port = free_port()
    runner = await start_http(bot, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url, SIGNING_SECRET, fake)
    async with stripe_client(server.url) as client:
        yield StripeHarness(
            bot,
            fake,
            sender,
            store,
            SandboxSimulator(store.sessions, clock),
            clock,
            url,
            client,
            server,
        )
    await sender.close()
    await runner.cleanup()
    await fake.stop()


@dataclass
class StripeProxy:
    """Between the adapter and localstripe: records refund creations, and answers some too late,
    never, or with an error of Stripe's."""

    target: str
    delay_refunds: int = 0  # made at Stripe, answered after two seconds
    drop_refunds: int = 0  # made at Stripe, the connection closed without an answer
    fail_with: tuple[int, dict[str, object]] | None = None  # every request answered so
    refund_keys: list[str | None] = field(default_factory=list)
    # Events localstripe does not make (charge.refunded), listed before its own, newest first.
    events: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.fail_with is not None:
            status, error = self.fail_with
            return web.json_response({"error": error}, status=status)
        creating_refund = request.method == "POST" and request.path == "/v1/refunds"
        if creating_refund:
            self.refund_keys.append(request.headers.get("Idempotency-Key"))
        forwarded = ("Authorization", "Content-Type", "Idempotency-Key")
        headers = {k: v for k, v in request.headers.items() if k in forwarded}
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method,
                self.target + request.path_qs,
                data=await request.read(),
                headers=headers,
            ) as answer:
                body, status = await answer.read(), answer.status
        if creating_refund and self.drop_refunds > 0:
            self.drop_refunds -= 1
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("the answer is lost on the way back")
        if creating_refund and self.delay_refunds > 0:
            self.delay_refunds -= 1
            await asyncio.sleep(2)
        if request.method == "GET" and request.path == "/v1/events" and self.events:
            listed = json.loads(body)
            listed["data"] = [*reversed(self.events), *listed.get("data", [])]
            body = json.dumps(listed).encode()
        return web.Response(body=body, status=status, content_type="application/json")


@asynccontextmanager
async def stripe_proxy(target: str) -> AsyncIterator[StripeProxy]:
    proxy = StripeProxy(target)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        await runner.cleanup()


def signed(
    payload: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its ``Stripe-Signature``, by the stripe SDK's own signing scheme."""
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, at)
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


async def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/webhooks/stripe", data=body, headers=headers) as answer:
            return answer.status, await answer.json()
