"""The whole bot on PAYMENTS_BACKEND=payrix, against the local Payrix stand-in serving the
responses recorded from Payrix: lookups, a refund approved in Slack and made once at Payrix,
a dispute answered with the message its cycle takes, a return with its NACHA code, withdrawals
from disbursements (a returned one announced), and alerts believed only with the secret header
from an allowed address, re-read from the API."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import create_bot
from bot.blocks.text import day
from bot.clock import ManualClock
from bot.db.models import ProcessorEventRow, RefundRequest
from bot.domain import RefundState
from bot.processors.sandbox import SandboxSimulator
from bot.server import start_http
from bot.store import open_store
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack, Message
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    Harness,
    bot_settings,
    eventually,
    free_port,
    opened_modal,
)
from tests.e2e.test_history import click
from tests.payrix_standin import API_KEY, MERCHANT, PayrixStandIn, payrix_now

TRUST_PAYMENT = "t1_txn_68fff2f40c20d4182c620b5"  # 2.59, settled, Actionstep trust payment
OTHER_PAYMENT = "t1_txn_68ffee14c62bdea22c16d11"  # 1.50, approved only


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[PayrixStandIn]:
    server = PayrixStandIn(clock=clock)
    await server.start()
    yield server
    await server.stop()


BotFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_payrix_bot(
    database_url: str, clock: ManualClock, standin: PayrixStandIn
) -> AsyncIterator[BotFactory]:
    """Bots on the stand-in; ``overrides`` are extra settings (alert secret, addresses)."""
    made: list[tuple[Harness, Any]] = []

    async def make(**overrides: Any) -> Harness:
        fake = FakeSlack(bot_token=BOT_TOKEN)
        api_url = await fake.start()
        fake.add_channel(APPROVALS, "payments-approvals")
        fake.add_channel(NOTIFY, "payments")
        settings = bot_settings(
            database_url,
            api_url,
            payments_backend="payrix",
            payrix_api_key=API_KEY,
            payrix_merchant_id=MERCHANT,
            payrix_api_base=standin.url,
            **overrides,
        )
        store = await open_store(settings, clock=clock)
        bot = await create_bot(settings, clock=clock, store=store)
        port = free_port()
        runner = await start_http(bot, "127.0.0.1", port)
        url = f"http://127.0.0.1:{port}"
        sender = SlackSender(url, SIGNING_SECRET, fake)
        harness = Harness(
            bot, fake, sender, store, SandboxSimulator(store.sessions, clock), clock, url
        )
        made.append((harness, runner))
        return harness

    yield make
    for harness, runner in made:
        await harness.slack.close()
        await runner.cleanup()
        await harness.fake.stop()


@pytest.fixture
async def payrix_bot(make_payrix_bot: BotFactory) -> Harness:
    return await make_payrix_bot()


async def test_lookup_shows_a_recorded_payrix_transaction(payrix_bot: Harness) -> None:
    staff = await payrix_bot.user("sam", "staff")
    body = (await payrix_bot.slack.command(staff, f"lookup {TRUST_PAYMENT}")).json
    shown = json.dumps(body["blocks"], ensure_ascii=False)
    for expected in (
        TRUST_PAYMENT,
        "2.59 USD",
        "Succeeded",
        "Sale",
        "Trust",
        "2e597269-b4fb-409f-b0f4-7d3084436cd4",
        "Hasan Davidson",
        "Payment of invoice #01293",
        "refund_open",
    ):
        assert expected in shown, expected
    approved_only = "t1_txn_68ffee14c62bdea22c16d11"
    body = (await payrix_bot.slack.command(staff, f"lookup {approved_only}")).json
    shown = json.dumps(body["blocks"], ensure_ascii=False)
    assert "150 USD" not in shown and "1.50 USD" in shown
    assert "refund_open" not in shown and "never captured" in shown
    body = (await payrix_bot.slack.command(staff, f"lookup {TRUST_PAYMENT[:-2]}")).json
    assert TRUST_PAYMENT not in json.dumps(body)


async def test_a_refund_approved_in_slack_is_made_once_at_payrix(
    payrix_bot: Harness, standin: PayrixStandIn
) -> None:
    staff = await payrix_bot.user("sam", "staff")
    manager = await payrix_bot.user("meg", "manager")
    await payrix_bot.slack.command(staff, f"refund {TRUST_PAYMENT}")
    modal = await opened_modal(payrix_bot.fake, staff, "modal")
    answer = await payrix_bot.slack.submit(staff, modal, reason="Client paid twice")
    assert answer.json["response_action"] == "update", answer.json
    parent = await payrix_bot.fake.wait_for(
        lambda: next(iter(payrix_bot.fake.messages(APPROVALS)), None), what="approval message"
    )
    clicked = payrix_bot.fake.message_json(parent)  # every click carries the message as it was
    for _ in range(3):  # double clicks
        await payrix_bot.slack.block_action(
            manager, "refund_approve", message=clicked, channel_id=APPROVALS
        )

    async def request() -> RefundRequest | None:
        async with payrix_bot.store.sessions() as session:
            return await session.scalar(
                select(RefundRequest).where(RefundRequest.transaction_id == TRUST_PAYMENT)
            )

    async def pending() -> bool:
        row = await request()
        return row is not None and row.state == RefundState.PENDING.value

    await eventually(pending, what="refund pending at Payrix")
    (post,) = standin.calls("POST", "/txns")
    row = await request()
    assert row is not None
    assert post.headers["APIKEY"] == API_KEY
    assert post.headers["request-token"] == row.idempotency_key
    assert (post.body["type"], post.body["fortxn"], post.body["total"]) == (5, TRUST_PAYMENT, 259)
    made = [r for r in standin.store["txns"] if r.get("fortxn") == TRUST_PAYMENT]
    assert [r["id"] for r in made] == [row.processor_refund_id]

    made[0].update(status=4, settled=20261117, modified=payrix_now(payrix_bot.clock()))
    await payrix_bot.store.services.refunds.check_pending()

    async def settled() -> bool:
        row = await request()
        return row is not None and row.state == RefundState.SUCCEEDED.value

    await eventually(settled, what="refund settled")
    assert len(standin.calls("POST", "/txns")) == 1


async def test_a_new_chargeback_is_announced_from_the_polled_feed(
    payrix_bot: Harness, standin: PayrixStandIn
) -> None:
    now = payrix_now(payrix_bot.clock())
    chargeback = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert chargeback is not None
    chargeback.update(
        id="t1_chb_new00000000000000000001",
        txn=TRUST_PAYMENT,
        reply=20261130,
        created=now,
        modified=now,
        reason="Services Not Provided",
        reasonCode="13.1",
    )
    standin.add("chargebacks", chargeback)
    standin.add(
        "chargebackStatuses",
        {
            "id": "t1_chs_new00000000000000000001",
            "created": now,
            "modified": now,
            "chargeback": chargeback["id"],
            "chargebackMessage": None,
            "status": "open",
        },
    )

    async def told() -> bool:
        await payrix_bot.cycle()
        shown = "\n".join(
            m.text + json.dumps(m.blocks or [], ensure_ascii=False)
            for m in payrix_bot.fake.messages(NOTIFY)
        )
        return chargeback["id"] in shown and "200.00 USD" in shown

    await eventually(told, what="chargeback announced")
    async with payrix_bot.store.sessions() as session:
        ids = list(await session.scalars(select(ProcessorEventRow.event_id)))
    assert f"{chargeback['id']}.created" in ids


ALERT_SECRET = "alert-secret-of-the-firm"
OLD = "2026-11-13 09:00:00.0000"  # before the first poll's look-back: only an alert tells it


def quiet_chargeback(standin: PayrixStandIn, chargeback_id: str) -> dict[str, Any]:
    """A new chargeback the poller will not read (modified before its look-back)."""
    record = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert record is not None
    record.update(id=chargeback_id, txn=TRUST_PAYMENT, reply=20261130, created=OLD, modified=OLD)
    return standin.add("chargebacks", record)


def alert(record_id: str, **claimed: Any) -> bytes:
    """An alert as Payrix sends one (resource.payrix.com, "Respond to Chargeback Dispute using
    the API"): ``response.alert`` and the record in ``response.data``."""
    body = {
        "response": {
            "alert": {
                "subject": "You have a new notification on a dispute",
                "disputeId": record_id,
            },
            "data": [{"id": record_id, **claimed}],
        }
    }
    return json.dumps(body).encode()


async def post_alert(
    harness: Harness, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{harness.url}/webhooks/payrix", data=body, headers=headers or {}
        ) as reply:
            return reply.status, await reply.json()


async def stored(harness: Harness) -> list[str]:
    async with harness.store.sessions() as session:
        return list(await session.scalars(select(ProcessorEventRow.event_id)))


async def test_an_alert_with_the_secret_from_an_allowed_address_is_re_read_and_stored_once(
    make_payrix_bot: BotFactory, standin: PayrixStandIn
) -> None:
    bot = await make_payrix_bot(payrix_alert_secret=ALERT_SECRET, payrix_alert_ips="127.0.0.1")
    cb = quiet_chargeback(standin, "t1_chb_alerted000000000000001")
    secret = {"X-Paybot-Alert-Secret": ALERT_SECRET}
    status, answer = await post_alert(bot, alert(cb["id"], status="lost", total=1), secret)
    assert status == 200 and answer["new"] == 2, answer
    assert standin.calls("GET", f"/chargebacks/{cb['id']}"), "re-read from the API"
    async with bot.store.sessions() as session:
        row = await session.scalar(
            select(ProcessorEventRow).where(ProcessorEventRow.event_id == f"{cb['id']}.created")
        )
    assert row is not None and row.source == "webhook"
    assert row.data["status"] == "needs_response" and row.data["amount_minor"] == 20000  # the API's
    again = await post_alert(bot, alert(cb["id"]), secret)
    assert again == (200, {"received": 2, "new": 0})

    async def told() -> bool:
        await bot.cycle()
        return any(cb["id"] in m.text for m in bot.fake.messages(NOTIFY))

    await eventually(told, what="the alerted chargeback announced")
    assert sum(cb["id"] in m.text for m in bot.fake.messages(NOTIFY)) == 1


@pytest.mark.parametrize(
    ("overrides", "headers", "body_id", "reason"),
    [
        ({"payrix_alert_ips": "127.0.0.1"}, {"X-Paybot-Alert-Secret": "wrong"}, None, "secret"),
        ({"payrix_alert_ips": "127.0.0.1"}, {}, None, "secret"),
        ({}, {"X-Paybot-Alert-Secret": ALERT_SECRET}, None, "PAYRIX_ALERT_IPS"),  # Payrix's IPs
        (  # a forwarded address is not believed from a peer that is not a trusted proxy
            {},
            {"X-Paybot-Alert-Secret": ALERT_SECRET, "X-Forwarded-For": "3.219.99.73"},
            None,
            "PAYRIX_ALERT_IPS",
        ),
        (  # forged: names a chargeback Payrix does not have
            {"payrix_alert_ips": "127.0.0.1"},
            {"X-Paybot-Alert-Secret": ALERT_SECRET},
            "t1_chb_forged0000000000000001",
            "no chargebacks record",
        ),
    ],
)
async def test_an_alert_not_believed_is_400_and_nothing_is_stored(
    make_payrix_bot: BotFactory,
    standin: PayrixStandIn,
    overrides: dict[str, str],
    headers: dict[str, str],
    body_id: str | None,
    reason: str,
) -> None:
    bot = await make_payrix_bot(payrix_alert_secret=ALERT_SECRET, **overrides)
    cb = quiet_chargeback(standin, "t1_chb_refused000000000000001")
    status, answer = await post_alert(bot, alert(body_id or cb["id"]), headers)
    assert status == 400 and reason in answer["error"], answer
    assert not [e for e in await stored(bot) if "t1_chb_refused" in e or "forged" in e]


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_sender(
    make_payrix_bot: BotFactory, standin: PayrixStandIn
) -> None:
    bot = await make_payrix_bot(
        payrix_alert_secret=ALERT_SECRET, paybot_trusted_proxies="127.0.0.1"
    )
    cb = quiet_chargeback(standin, "t1_chb_proxied000000000000001")
    headers = {"X-Paybot-Alert-Secret": ALERT_SECRET, "X-Forwarded-For": "6.6.6.6, 3.219.99.73"}
    status, answer = await post_alert(bot, alert(cb["id"]), headers)
    assert status == 200 and answer["new"] == 2  # Payrix's production address, by our proxy
    spoofed = {"X-Paybot-Alert-Secret": ALERT_SECRET, "X-Forwarded-For": "3.219.99.73, 6.6.6.6"}
    status, answer = await post_alert(bot, alert(cb["id"]), spoofed)
    assert status == 400 and "6.6.6.6" in answer["error"]


async def test_without_an_alert_secret_alerts_are_refused_and_polling_runs(
    payrix_bot: Harness,
) -> None:
    status, answer = await post_alert(payrix_bot, b'{"event":"chargeback.created"}')
    assert status == 400 and "PAYRIX_ALERT_SECRET is not set" in answer["error"]


async def test_a_dispute_is_answered_per_cycle_and_a_new_reply_by_is_announced_once(
    payrix_bot: Harness, standin: PayrixStandIn
) -> None:
    staff = await payrix_bot.user("sam", "staff")
    manager = await payrix_bot.user("meg", "manager")
    now = payrix_now(payrix_bot.clock())
    cb = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert cb is not None
    cb.update(
        id="t1_chb_cycles000000000000000001",
        txn=TRUST_PAYMENT,
        reply=20261130,
        created=now,
        modified=now,
    )
    standin.add("chargebacks", cb)
    await announced(payrix_bot, f"New chargeback {cb['id']}")
    [parent] = payrix_bot.fake.messages(NOTIFY)

    async def answer(summary: str, stage: str) -> None:
        await payrix_bot.slack.block_action(staff, "dispute_respond", message=parent)
        modal = await opened_modal(payrix_bot.fake, staff, "response modal")
        assert stage in json.dumps(modal["blocks"], ensure_ascii=False), "the cycle named"
        reply = await payrix_bot.slack.submit(
            staff, modal, summary=summary, product_description="Legal advice, 3 hours"
        )
        assert reply.json["response_action"] == "update", reply.json
        payrix_bot.fake.close_view(staff, modal["id"])

        async def draft() -> Any:
            await payrix_bot.cycle()
            return next(
                (
                    m
                    for m in reversed(payrix_bot.fake.messages(NOTIFY, thread_ts=parent.ts))
                    if "dispute_response_approve" in json.dumps(m.blocks or [])
                    and summary in json.dumps(m.blocks or [])
                ),
                None,
            )

        found = await eventually(draft, what="draft in the thread")
        await payrix_bot.slack.block_action(manager, "dispute_response_approve", message=found)

    async def sent(*types: str) -> bool:
        await payrix_bot.cycle()
        return [c.body["type"] for c in standin.calls("POST", "/chargebackMessages")] == [*types]

    await answer("The first answer", "First chargeback: your answer asks for representment")
    await eventually(lambda: sent("represent"), what="representment sent")
    await announced(payrix_bot, "Under review by the bank · Representment")  # Payrix moved it
    assert "Representment: your answer" not in everything_in(payrix_bot), "nothing to send now"

    payrix_bot.clock.advance(hours=1)
    cb.update(
        cycle="preArbitration",
        actionable=1,
        reply=20261210,
        modified=payrix_now(payrix_bot.clock()),
    )  # a new cycle and reply-by date: Payrix writes no chargebackStatus for it
    due = f"respond by {day(datetime(2026, 12, 10, 23, 59, 59, tzinfo=UTC))}"  # Slack's <!date>
    moved = f"{due} · Pre-arbitration: your answer asks for arbitration"
    await announced(payrix_bot, moved)
    for _ in range(3):
        await payrix_bot.cycle()
    assert everything_in(payrix_bot).count(due) == 1, "announced once"

    # The new reply-by asks for a new answer: its reminders run, though the first was answered.
    thread = await payrix_bot.store.services.disputes.thread(cb["id"])
    assert thread is not None
    payrix_bot.clock.now = thread.respond_by - timedelta(hours=60)
    await announced(payrix_bot, "must be answered within 72 hours")

    # A new stage alone (same status, same reply-by date) is still news, told once.
    cb.update(cycle="issuerDeclinedPreArbitration", modified=payrix_now(payrix_bot.clock()))
    await announced(payrix_bot, "Pre-arbitration declined by the issuer")
    for _ in range(3):
        await payrix_bot.cycle()
    assert everything_in(payrix_bot).count("declined by the issuer: your answer") == 1

    await answer(
        "The pre-arbitration answer",
        "Pre-arbitration declined by the issuer: your answer asks for arbitration",
    )
    await eventually(lambda: sent("represent", "requestArbitration"), what="arbitration asked")


async def test_returns_and_withdrawals_come_from_payrix_with_codes_and_net_amounts(
    payrix_bot: Harness, standin: PayrixStandIn
) -> None:
    staff = await payrix_bot.user("sam", "staff")
    body = (await payrix_bot.slack.command(staff, "withdrawals")).json
    shown = json.dumps(body, ensure_ascii=False)
    assert "9.47 USD" in shown and "11.82 USD" in shown, "net amounts of /disbursements"
    assert "t1_bth_" not in shown
    newest, older = "t1_dbm_6941c29a1d2b6c4f5e7a001", "t1_dbm_68ffcb2e5f4a3b2c1d0e002"
    # payments from /disbursementEntries: the sale and its fee are one payment; a chargeback,
    # a reserve release and a fee naming no txn are none
    lines = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b]
    assert any(line.endswith(f"`{newest}` · 1 payment") for line in lines), lines
    assert any(line.endswith(f"`{older}` · 3 payments") for line in lines), lines
    (entries,) = standin.calls("GET", "/disbursementEntries")  # one search for the page
    assert entries.search is not None and newest in entries.search and older in entries.search
    opened = await click(payrix_bot, staff, "withdrawal_payments", body)
    expanded = json.dumps(opened["blocks"], ensure_ascii=False)
    assert "t1_txn_6941bb1c19a1e4c7989bfc7" in expanded and "10.00 USD" in expanded
    assert "Hide payments" in expanded and TRUST_PAYMENT not in expanded

    now = payrix_now(payrix_bot.clock())
    echeck = standin.find("txns", "t1_txn_68fff7fbd76cc404a416a0c")
    assert echeck is not None
    echeck.update(status=5, returned=20261116, modified=now)
    standin.add("entityReturns", returned(txn=echeck["id"], code="R01", at=now))
    payout = copy.deepcopy(standin.find("disbursements", "t1_dbm_6941c29a1d2b6c4f5e7a001"))
    assert payout is not None
    payout.update(id="t1_dbm_returned000000000000001", status=6, returnedAmount=947, modified=now)
    standin.add("disbursements", payout)
    standin.add("entityReturns", returned(disbursement=payout["id"], code="R02", at=now))

    await announced(payrix_bot, "ACH return R01 (Insufficient funds)")
    await announced(payrix_bot, f"Withdrawal {payout['id']} returned (R02, Account closed)")
    for _ in range(3):
        await payrix_bot.cycle()
    text = everything_in(payrix_bot)
    assert text.count("ACH return R01") == 1 and text.count(f"Withdrawal {payout['id']}") == 1
    body = (await payrix_bot.slack.command(staff, "returns")).json
    shown = json.dumps(body, ensure_ascii=False)
    assert "R01" in shown and "Insufficient funds" in shown
    body = (await payrix_bot.slack.command(staff, "withdrawals")).json
    assert "Returned" in json.dumps(body, ensure_ascii=False)


def returned(*, code: str, at: str, **target: str) -> dict[str, Any]:
    """An /entityReturns record (eventsprout/payrix doc/models/entity-returns-response.md)."""
    record_id = f"t1_ert_{code.lower()}{len(target)}".ljust(30, "0")
    return {
        "id": record_id,
        "created": at,
        "modified": at,
        "entity": "t1_ent_65f097a1c57793ba6dad9bf",
        "txn": None,
        "disbursement": None,
        "code": code,
        "actionCode": "nsf" if code == "R01" else "badAccount",
        "message": "Returned by the receiving bank",
        **target,
    }


def everything_in(harness: Harness) -> str:
    parts = []
    for message in harness.fake.messages(NOTIFY):
        parts.append(message.text + json.dumps(message.blocks or [], ensure_ascii=False))
        for reply in harness.fake.messages(NOTIFY, thread_ts=message.ts):
            parts.append(reply.text + json.dumps(reply.blocks or [], ensure_ascii=False))
    return "\n".join(parts)


async def announced(harness: Harness, text: str) -> None:
    async def check() -> bool:
        await harness.cycle()
        return text in everything_in(harness)

    await eventually(check, what=f"{text!r} announced")


async def paybot_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The `paybot` command in its own process, while the stand-in answers in this loop."""
    ours = ("SLACK_", "PAYBOT_", "PAYMENTS_", "DATABASE_", "STRIPE_", "PAYRIX_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)} | env
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=clean, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), out.decode(), err.decode()


def cli_settings(standin: PayrixStandIn, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "PAYMENTS_BACKEND": "payrix",
        "PAYRIX_API_KEY": API_KEY,
        "PAYRIX_MERCHANT_ID": MERCHANT,
        "PAYRIX_API_BASE": standin.url,
    }


async def test_paybot_payrix_alerts_prints_then_creates_the_alert_once(
    standin: PayrixStandIn, tmp_path: Path
) -> None:
    env = cli_settings(standin, tmp_path) | {"PAYRIX_ALERT_SECRET": ALERT_SECRET}
    url = ("--url", "https://paybot.firm.example")
    code, out, err = await paybot_cli("payrix", "alerts", *url, env=env)
    assert code == 0, err
    printed = json.loads(out)
    assert printed["alertAction"]["value"] == "https://paybot.firm.example/webhooks/payrix"
    assert printed["alertAction"]["headerValue"] == "<PAYRIX_ALERT_SECRET>"  # never printed
    assert ALERT_SECRET not in out and standin.calls("POST") == []
    events = {t["event"] for t in printed["alertTriggers"]}
    assert {"chargeback.created", "txn.returned", "disbursement.returned"} <= events

    login = ("--login", "t1_log_64ee6855b97877780a5bfef")
    code, out, err = await paybot_cli("payrix", "alerts", *url, *login, "--apply", env=env)
    assert code == 0, err
    assert ALERT_SECRET not in out
    (action,) = [c.body for c in standin.calls("POST", "/alertActions")]
    assert (action["type"], action["headerName"], action["headerValue"]) == (
        "web",
        "X-Paybot-Alert-Secret",
        ALERT_SECRET,
    )
    triggers = standin.calls("POST", "/alertTriggers")
    assert len(triggers) == len(printed["alertTriggers"])
    assert {t.body["alert"] for t in triggers} == {action["alert"]}
    code, out, err = await paybot_cli("payrix", "alerts", *url, *login, "--apply", env=env)
    assert code == 0 and json.loads(out)["created"] is False
    assert len(standin.calls("POST", "/alerts")) == 1, "made once"


async def test_paybot_payrix_batches_prints_each_batch_with_its_transactions(
    standin: PayrixStandIn, tmp_path: Path
) -> None:
    env = cli_settings(standin, tmp_path)
    code, out, err = await paybot_cli("payrix", "batches", "--limit", "3", env=env)
    assert code == 0, err
    assert out.splitlines() == [  # newest first; an open batch has settled nothing yet
        "t1_bth_6941bb1c3dac669bd7c1424  paid     10.00 USD  2025-12-16",
        "    t1_txn_6941bb1c19a1e4c7989bfc7",
        "t1_bth_6940745c6d1611b36ac502c  pending  0.00 USD  2025-12-15",
        "t1_bth_68ffc17a71c5a0fbaf3947d  paid     2.50 USD  2025-10-27",
        "    t1_txn_68ffc76ae978599475a92a2",
    ]
    (listed,) = standin.calls("GET", "/batches")
    assert listed.param("page[limit]") == "3" and listed.search is not None
    assert f"merchant[equals]={MERCHANT}" in listed.search
    (txns,) = standin.calls("GET", "/txns")  # one search for the page's transactions
    assert txns.search is not None and "batch[in]=t1_bth_68ffc17a71c5a0fbaf3947d," in txns.search
    assert standin.calls("POST") == []


# ---------------------------------------------------------------------------------------------
# A processor slower than Slack waits: nobody sees an error


def open_chargeback(standin: PayrixStandIn, now: int, chargeback_id: str) -> None:
    chargeback = copy.deepcopy(standin.find("chargebacks", "t1_chb_6616a9de06fd751e5ae91e5"))
    assert chargeback is not None
    chargeback.update(id=chargeback_id, txn=OTHER_PAYMENT, reply=20261130, created=now)
    standin.add("chargebacks", chargeback)
    standin.add(
        "chargebackStatuses",
        {
            "id": chargeback_id.replace("chb", "chs"),
            "created": now,
            "modified": now,
            "chargeback": chargeback_id,
            "chargebackMessage": None,
            "status": "open",
        },
    )


async def test_a_processor_answering_after_four_seconds_costs_nobody_an_error(
    payrix_bot: Harness, standin: PayrixStandIn
) -> None:
    staff = await payrix_bot.user("sam", "staff")
    fake, slack = payrix_bot.fake, payrix_bot.slack
    open_chargeback(standin, payrix_now(payrix_bot.clock()), "t1_chb_slow0000000000000000001")
    standin.delay = 4.0

    lookup = await slack.command(staff, f"lookup {TRUST_PAYMENT}")
    history = await slack.command(staff, "history")
    refund = await slack.command(staff, f"refund {TRUST_PAYMENT}")
    refund_modal = fake.top_modal(staff)
    respond = await slack.block_action(
        staff, "dispute_respond", "t1_chb_slow0000000000000000001", channel_id=NOTIFY
    )
    respond_modal = fake.top_modal(staff)
    for answered in slack.answers[-4:]:
        assert answered.status == 200 and answered.seconds < 1.0, answered
    assert "Looking up" in lookup.json["text"] and "Looking up" in history.json["text"]
    assert refund.text == "" and respond.text == ""
    # Both modals were opened within the trigger's life, each with its loading state.
    assert refund_modal is not None and respond_modal is not None
    assert "Looking it up" in json.dumps(refund_modal) and "Looking it up" in json.dumps(
        respond_modal
    )

    def filled(view_id: str, callback_id: str) -> bool:
        return fake.views[view_id].get("callback_id") == callback_id

    await fake.wait_for(
        lambda: (
            filled(refund_modal["id"], "refund_request")
            and filled(respond_modal["id"], "dispute_response")
        ),
        timeout=40,
        what="both modals filled",
    )
    assert TRUST_PAYMENT in fake.views[refund_modal["id"]]["private_metadata"]

    def shown(what: str) -> Message | None:
        return next((m for m in fake.ephemerals(staff) if m.text == what), None)

    card = await fake.wait_for(lambda: shown(f"Payment {TRUST_PAYMENT}"), timeout=40, what="card")
    assert card is not None and TRUST_PAYMENT in json.dumps(card.blocks)
    listed = await fake.wait_for(lambda: shown("Payment history"), timeout=40, what="history")
    assert listed is not None

    # A history page: acked at once, the next page through the response_url.
    before = len(fake.ephemerals(staff))
    turned = await slack.block_action(staff, "history_next", message=listed)
    assert turned.status == 200 and slack.answers[-1].seconds < 1.0
    await fake.wait_for(
        lambda: listed.edited or len(fake.ephemerals(staff)) > before,
        timeout=40,
        what="the next page",
    )

    # The lists read the processor too: each acked at once, answered through the response_url.
    for name, title in (
        ("disputes", "Disputes"),
        ("returns", "Returned payments"),
        ("withdrawals", "Withdrawals"),
    ):
        listed_now = await slack.command(staff, name)
        assert slack.answers[-1].seconds < 1.0 and "Looking up" in listed_now.json["text"]
        await fake.wait_for(lambda t=title: shown(t), timeout=40, what=title)

    # Submitting either modal reads the processor: "Submitting …" at once, the result after.
    submitted = await slack.submit(staff, refund_modal["id"], reason="Client paid twice")
    drafted = await slack.submit(
        staff, respond_modal["id"], summary="Work was done", product_description="Advice"
    )
    assert all(answered.seconds < 1.0 for answered in slack.answers[-2:])
    for reply in (submitted, drafted):
        assert reply.json["response_action"] == "update", reply.json
        assert "Submitting" in json.dumps(reply.json["view"])
    await fake.wait_for(
        lambda: (
            "Refund requested" in json.dumps(fake.views[refund_modal["id"]])
            and "Response drafted" in json.dumps(fake.views[respond_modal["id"]])
        ),
        timeout=40,
        what="both submissions answered in their modals",
    )
