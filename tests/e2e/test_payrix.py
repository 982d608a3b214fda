"""The whole bot on PAYMENTS_BACKEND=payrix, against the local Payrix stand-in serving the
responses recorded from Payrix: lookups, a refund approved in Slack and made once at Payrix,
a new chargeback announced from the polled feed, and webhooks refused."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import create_bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import ProcessorEventRow, RefundRequest
from bot.domain import RefundState
from bot.processors.sandbox import SandboxSimulator
from bot.server import start_http
from bot.store import open_store
from bot.workspace.signing import SlackSender
from bot.workspace.slack_api import FakeSlack, Message
from tests.conftest import (
    APPROVALS,
    BOT_TOKEN,
    NOTIFY,
    SIGNING_SECRET,
    Harness,
    eventually,
    free_port,
    opened_modal,
)
from tests.payrix_standin import API_KEY, MERCHANT, PayrixStandIn, payrix_now

TRUST_PAYMENT = "t1_txn_68fff2f40c20d4182c620b5"  # 2.59, settled, Actionstep trust payment
OTHER_PAYMENT = "t1_txn_68ffee14c62bdea22c16d11"  # 1.50, approved only


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[PayrixStandIn]:
    server = PayrixStandIn(clock=clock)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def payrix_bot(
    database_url: str, clock: ManualClock, standin: PayrixStandIn
) -> AsyncIterator[Harness]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    api_url = await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    settings = Settings(
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=api_url,
        database_url=database_url,
        paybot_approvals_channel=APPROVALS,
        paybot_notify_channel=NOTIFY,
        paybot_worker_interval=0.05,
        paybot_notify_pace=0,
        payments_backend="payrix",
        payrix_api_key=API_KEY,  # type: ignore[arg-type]
        payrix_merchant_id=MERCHANT,
        payrix_api_base=standin.url,
    )
    store = await open_store(settings, clock=clock)
    bot = await create_bot(settings, clock=clock, store=store)
    port = free_port()
    runner = await start_http(bot, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url, SIGNING_SECRET, fake)
    yield Harness(bot, fake, sender, store, SandboxSimulator(store.sessions, clock), clock, url)
    await sender.close()
    await runner.cleanup()
    await fake.stop()


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


async def test_payrix_webhooks_are_refused_with_the_reason(payrix_bot: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{payrix_bot.url}/webhooks/payrix", data=b'{"event":"chargeback.created"}'
        ) as reply:
            assert reply.status == 400
            assert "documents no signature" in (await reply.json())["error"]


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
