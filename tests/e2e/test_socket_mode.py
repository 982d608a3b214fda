"""Socket Mode end to end: the bot connects to the fake's WebSocket, takes commands, clicks,
submissions and events as envelopes, and does all its background work, as under HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import create_bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain import RefundState
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.webhooks import encode
from bot.server import connect_socket_mode, start_http
from bot.store import open_store
from bot.workspace.slack_api import FakeSlack
from bot.workspace.socket_mode import SocketSender
from tests.conftest import APPROVALS, BOT_TOKEN, NOTIFY, WEBHOOK_SECRET, Harness, free_port
from tests.e2e.test_refunds import request_refund, state_is
from tests.processes import BotProcess


def socket_settings(fake: FakeSlack, api_url: str, database_url: str) -> Settings:
    """No signing secret: nothing arrives over HTTP that Slack signs."""
    return Settings(
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_app_token=fake.app_token,  # type: ignore[arg-type]
        slack_signing_secret=None,
        slack_api_url=api_url,
        database_url=database_url,
        paybot_approvals_channel=APPROVALS,
        paybot_notify_channel=NOTIFY,
        paybot_worker_interval=0.05,
        paybot_sweep_interval=0.05,
        paybot_notify_pace=0,
        paybot_rate_limit_per_minute=100_000,
        paybot_webhook_secret=WEBHOOK_SECRET,  # type: ignore[arg-type]
    )


@pytest.fixture
async def socket_harness(database_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    """The bot as `paybot socket` runs it, in this process: the worker left to run on its own."""
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    settings = socket_settings(fake, api_url, database_url)
    store = await open_store(settings, clock=clock)
    bot = await create_bot(settings, clock=clock, store=store, socket_mode=True)
    port = free_port()
    runner = await start_http(bot, "127.0.0.1", port, http_events=False)
    connection = await connect_socket_mode(bot, fake.app_token)
    sender = SocketSender(fake)
    harness = Harness(
        bot,
        fake,
        sender,
        store,
        SandboxSimulator(store.sessions, clock),
        clock,
        f"http://127.0.0.1:{port}",
    )
    yield harness
    assert fake.socket_mode.problems == [], fake.socket_mode.problems
    assert all(a.acked for a in fake.socket_mode.acks), "every envelope acked within 3 s"
    await connection.finish()
    await runner.cleanup()
    await fake.stop()


def lookup_answer(harness: Harness, body: object) -> str:
    """The lookup card, whether it came in the ack or through the response_url."""
    shown = json.dumps(body)
    return shown + "".join(json.dumps(b) for _, b in harness.fake.responses)


async def test_pay_lookup_is_answered_over_the_socket(socket_harness: Harness) -> None:
    harness = socket_harness
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("125.50", matter_id="MAT-2040")
    answer = await harness.slack.command(staff, f"lookup {txn.id}")
    assert answer.status == 200
    await harness.fake.wait_for(
        lambda: "125.50 USD" in lookup_answer(harness, answer.json), what="lookup card"
    )
    assert txn.id in lookup_answer(harness, answer.json)
    [ack] = [a for a in harness.fake.socket_mode.acks if a.type == "slash_commands"]
    assert ack.acked


async def test_a_refund_is_requested_approved_and_made_once_by_the_worker(
    socket_harness: Harness,
) -> None:
    """No test drives the worker here: under Socket Mode it must run on its own."""
    harness = socket_harness
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge("99.00")
    parent = await request_refund(harness, staff, txn.id, "Duplicate payment")
    clicks = [
        harness.slack.block_action(manager, "refund_approve", message=parent) for _ in range(5)
    ]
    assert all(r.status == 200 for r in await asyncio.gather(*clicks))
    await harness.fake.wait_for(
        lambda: any("submitted" in m.text.lower() for m in harness.fake.messages(staff)),
        what="the requester told",
    )
    assert await state_is(harness, txn.id, RefundState.PENDING)
    record = await harness.sandbox.show(txn.id)
    assert len(record["refunds"]) == 1
    assert record["refunds"][0]["amount_minor"] == 9900


async def test_a_new_chargeback_is_announced_by_the_poller(socket_harness: Harness) -> None:
    harness = socket_harness
    txn = await harness.charge("410.00")
    dispute = await harness.sandbox.dispute(txn.id)
    message = await harness.fake.wait_for(
        lambda: next((m for m in harness.fake.messages(NOTIFY) if dispute.id in m.text), None),
        what="chargeback announced",
    )
    assert "410.00 USD" in json.dumps(message.blocks)


async def test_an_event_arrives_as_an_envelope_and_healthz_answers(
    socket_harness: Harness,
) -> None:
    harness = socket_harness
    staff = await harness.user("sam", "staff")
    answer = await harness.slack.app_home_opened(staff)
    assert answer.status == 200 and answer.json is None, "an event's ack carries no payload"
    await harness.fake.wait_for(lambda: harness.fake.home_view(staff), what="home published")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{harness.url}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["status"] == "ok"
        async with http.get(f"{harness.url}/metrics") as metrics:
            assert metrics.status == 200
            counted = await metrics.text()
        assert 'route="socket_mode/events_api",status="ack"' in counted, "envelopes counted"
        assert "paybot_slack_ack_seconds_count 1.0" in counted
        async with http.post(f"{harness.url}/slack/events", data="{}") as events:
            assert events.status == 404, "Socket Mode takes no Slack requests over HTTP"


async def test_after_slack_asks_for_a_reconnect_commands_still_arrive(
    socket_harness: Harness,
) -> None:
    """Slack sends `disconnect` (refresh_requested) a few times an hour; slack_sdk opens a new
    connection with a new URL and the old one goes."""
    harness = socket_harness
    hub = harness.fake.socket_mode
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("12.00")
    await hub.disconnect_all()
    await harness.fake.wait_for(
        lambda: hub.connections_opened == 2 and hub.connected == 1, what="reconnected"
    )
    assert len(harness.fake.calls_to("apps.connections.open")) == 2
    answer = await harness.slack.command(staff, f"lookup {txn.id}")
    assert answer.status == 200
    await harness.fake.wait_for(lambda: "12.00 USD" in lookup_answer(harness, answer.json))


async def test_a_processor_webhook_is_taken_on_the_http_port(socket_harness: Harness) -> None:
    harness = socket_harness
    txn = await harness.charge("77.00")
    dispute = await harness.sandbox.dispute(txn.id)
    feed = await harness.store.services.gateway.events(None, 100)
    body, headers = encode(feed.events, WEBHOOK_SECRET, harness.clock())
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{harness.url}/webhooks/sandbox", data=body, headers=headers
        ) as answer:
            assert answer.status == 200
            assert (await answer.json())["received"] == len(feed.events)
    await harness.fake.wait_for(
        lambda: any(dispute.id in m.text for m in harness.fake.messages(NOTIFY)),
        what="chargeback announced",
    )


# -- `paybot socket` as a real process ------------------------------------------------------


async def test_paybot_socket_answers_serves_healthz_and_stops_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    store = await open_store(socket_settings(fake, api_url, database_url))
    process = BotProcess(
        database_url,
        api_url,
        tmp_path,
        {"SLACK_APP_TOKEN": fake.app_token, "SLACK_SIGNING_SECRET": ""},
        command="socket",
    )
    try:
        await process.start()  # returns once /healthz answers 200
        await fake.socket_mode.wait_connected()
        harness = Harness(
            None,  # type: ignore[arg-type]
            fake,
            SocketSender(fake),
            store,
            SandboxSimulator(store.sessions),
            None,  # type: ignore[arg-type]
            process.url,
        )
        staff = await harness.user("sam", "staff")
        txn = await harness.charge("42.00")
        answer = await harness.slack.command(staff, f"lookup {txn.id}")
        assert answer.status == 200
        await fake.wait_for(lambda: "42.00 USD" in lookup_answer(harness, answer.json))

        # In a thread: the fake (on this loop) must answer the WebSocket's closing handshake.
        assert await asyncio.to_thread(process.terminate) == 0
        await fake.wait_for(lambda: fake.socket_mode.connected == 0, what="socket closed")
        logs = process.logs()
        assert "Traceback" not in logs, logs[-3000:]
        assert "stopping" in logs
    finally:
        process.kill()
        await store.close()
        await fake.stop()


async def test_a_refused_app_token_stops_paybot_socket_with_one_line(
    tmp_path: Path, database_url: str
) -> None:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    environment = BotProcess(database_url, api_url, tmp_path).environment() | {
        "SLACK_APP_TOKEN": "xapp-1-A0PAYBOT-1-revoked"
    }
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "socket", "--port", str(free_port())],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        await fake.stop()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "SLACK_APP_TOKEN" in line]
    assert lines == ["paybot: SLACK_APP_TOKEN was refused by Slack (invalid_auth)"], done.stderr
    assert len(fake.calls_to("apps.connections.open")) == 1, "a refused token is not retried"
