"""`/pay lookup` end to end: signed requests to /slack/events, answers as Slack would show them."""

from __future__ import annotations

import json
import time

import aiohttp

from bot.domain import Account, MethodType, PaymentKind
from bot.workspace.signing import sign
from tests.conftest import SIGNING_SECRET, Harness


def block_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def test_staff_looks_up_a_transaction_by_exact_id(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("125.50", matter_id="MAT-2040", account=Account.TRUST)

    started = time.perf_counter()
    answer = await harness.slack.command(staff, f"lookup {txn.id}")
    elapsed = time.perf_counter() - started

    assert answer.status == 200
    body = answer.json
    assert body["response_type"] == "ephemeral"
    shown = block_text(body["blocks"])
    for expected in (
        txn.id,
        "125.50 USD",
        "Visa •••• 4242",
        "MAT-2040",
        "Trust",
        "Succeeded",
        "Sale",
    ):
        assert expected in shown, expected
    refund_buttons = [
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "refund_open"
    ]
    assert [b["value"] for b in refund_buttons] == [txn.id]
    assert elapsed < 3, f"answered in {elapsed:.2f}s"


async def test_ach_payment_shows_ach_and_last_four(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("80.00", method=MethodType.ACH, brand=None, last4="6789")
    body = (await harness.slack.command(staff, f"lookup {txn.id}")).json
    assert "ACH •••• 6789" in block_text(body["blocks"])


async def test_viewer_sees_no_refund_button(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    txn = await harness.charge()
    body = (await harness.slack.command(viewer, f"lookup {txn.id}")).json
    assert txn.id in block_text(body["blocks"])
    assert "refund_open" not in block_text(body["blocks"])


async def test_uncaptured_authorization_offers_no_refund_and_says_why(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("40.00", kind=PaymentKind.AUTHORIZATION, captured=False)
    shown = block_text((await harness.slack.command(staff, f"lookup {txn.id}")).json["blocks"])
    assert "refund_open" not in shown
    assert "never captured" in shown


async def test_partial_and_unknown_ids_get_a_clear_message_and_no_near_match(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    for typed in (txn.id[:-3], txn.id[4:], "txn_doesnotexist0000", txn.id.upper() + "X"):
        body = (await harness.slack.command(staff, f"lookup {typed}")).json
        assert "No transaction has exactly the id" in body["text"], typed
        assert txn.id not in json.dumps(body), "a near match must never be shown"


async def test_lookup_without_an_id_explains_what_to_type(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    body = (await harness.slack.command(staff, "lookup")).json
    assert "exact transaction id" in body["text"]


async def test_user_text_in_an_id_is_escaped(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    body = (await harness.slack.command(staff, "lookup <!channel>")).json
    assert "<!channel>" not in json.dumps(body)


async def test_help_and_unknown_subcommand(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    help_text = block_text((await harness.slack.command(staff, "help")).json["blocks"])
    assert "/pay lookup" in help_text
    unknown = block_text((await harness.slack.command(staff, "frobnicate")).json["blocks"])
    assert "is not a `/pay` command" in unknown and "/pay lookup" in unknown
    empty = block_text((await harness.slack.command(staff, "")).json["blocks"])
    assert "/pay lookup" in empty


async def test_unsigned_forged_and_stale_requests_get_401(harness: Harness) -> None:
    await harness.user("sam", "staff")
    body = "command=%2Fpay&text=help&user_id=USAM&team_id=T0PAYBOT"
    url = f"{harness.url}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=form) as unsigned:
            assert unsigned.status == 401
        forged = sign(body, "not-the-secret")
        async with http.post(url, data=body, headers={**form, **forged}) as response:
            assert response.status == 401
        stale = sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
        async with http.post(url, data=body, headers={**form, **stale}) as response:
            assert response.status == 401
        fresh = sign(body, SIGNING_SECRET)
        async with http.post(url, data=body, headers={**form, **fresh}) as response:
            assert response.status == 200


async def test_healthz_answers_when_the_database_does(harness: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{harness.url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["database"] == "ok"


async def test_metrics_count_the_backlog_when_scraped(harness: Harness) -> None:
    """Counted at the scrape: with the worker stopped, nothing else would have counted it."""
    await harness.bot.worker.stop()
    txn = await harness.charge()
    await harness.sandbox.dispute(txn.id)
    await harness.store.services.events.poll()  # stored and owed to the channel, not posted
    await harness.sandbox.dispute((await harness.charge()).id)
    await harness.store.services.events.poll()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{harness.url}/metrics") as response:
            assert response.status == 200
            scraped = await response.text()
    assert await harness.store.services.outbox.backlog() == 2
    assert "paybot_outbox_backlog 2.0" in scraped
