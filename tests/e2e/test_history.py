"""`/pay history` end to end: filters, search, keyset paging while payments arrive, columns, View."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.db.models import AuditEntry, HistoryColumns
from bot.domain import MethodType, PaymentKind, Transaction
from tests.conftest import Harness, opened_modal

JSON = dict[str, Any]


def row_ids(blocks: list[JSON]) -> list[str]:
    """The transaction ids of a list's rows, in order: each row's View button carries one."""
    return [
        block["accessory"]["value"]
        for block in blocks
        if block.get("accessory", {}).get("action_id") == "transaction_view"
    ]


def buttons(blocks: list[JSON]) -> set[str]:
    return {
        element["action_id"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def click(harness: Harness, user: str, action_id: str, message: JSON) -> JSON:
    """Click a button on a message and return what the bot posted to the click's response_url."""
    before = len(harness.fake.responses)
    reply = await harness.slack.block_action(user, action_id, message=message)
    assert reply.status == 200
    await harness.fake.wait_for(lambda: len(harness.fake.responses) > before, what=action_id)
    return harness.fake.responses[before][1]


async def payments(harness: Harness, count: int, **options: object) -> list[Transaction]:
    """``count`` payments a minute apart, as they would arrive."""
    made = []
    for number in range(count):
        harness.clock.advance(minutes=1)
        made.append(await harness.charge(f"{100 + number}.00", **options))
    return made


async def test_each_filter_returns_only_its_kind(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    sales = await payments(harness, 3)
    auths = await payments(harness, 2, kind=PaymentKind.AUTHORIZATION)
    harness.clock.advance(minutes=1)
    refund = await harness.store.services.gateway.refund(
        sales[0].id, idempotency_key="k", metadata={}
    )

    expected = {
        "sales": {t.id for t in sales},
        "authorizations": {t.id for t in auths},
        "refunds": {refund.id},
        "": {t.id for t in sales + auths} | {refund.id},
    }
    for word, ids in expected.items():
        answer = await harness.slack.command(viewer, f"history {word}")
        assert answer.json["response_type"] == "ephemeral"
        assert set(row_ids(answer.json["blocks"])) == ids, word


async def test_newest_oldest_and_amount_orders(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    made = await payments(harness, 3)
    harness.clock.advance(minutes=1)
    big = await harness.charge("9999.00")

    newest = row_ids((await harness.slack.command(viewer, "history")).json["blocks"])
    oldest = row_ids((await harness.slack.command(viewer, "history sort:oldest")).json["blocks"])
    largest = row_ids((await harness.slack.command(viewer, "history sort:amount")).json["blocks"])
    assert newest == [big.id, *[t.id for t in reversed(made)]]
    assert oldest == list(reversed(newest))
    assert largest[0] == big.id
    wrong = await harness.slack.command(viewer, "history sort:cheapest")
    assert "sort:amount" in wrong.json["text"]


async def test_search_by_matter_customer_last_four_amount_and_id_start(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    ours = await harness.charge("250.00", matter_id="MAT-2040", customer_name="Priya Okafor")
    ach = await harness.charge(
        "75.25", method=MethodType.ACH, brand=None, last4="6789", matter_id="MAT-2040"
    )
    other = await harness.charge("125.50", matter_id="MAT-1001", customer_name="Dana Client")

    async def found(text: str) -> set[str]:
        answer = await harness.slack.command(staff, f"history {text}")
        return set(row_ids(answer.json["blocks"]))

    assert await found("MAT-2040") == {ours.id, ach.id}
    assert await found("mat-2040") == {ours.id, ach.id}
    assert await found("okafor") == {ours.id}
    assert await found("6789") == {ach.id}
    assert await found("125.50") == {other.id}
    assert await found(other.id[:8]) >= {other.id}
    assert await found("sales MAT-1001") == {other.id}
    empty = await harness.slack.command(staff, "history nobody-by-this-name")
    assert "No payments match" in json.dumps(empty.json["blocks"])


async def test_paging_is_stable_while_new_payments_arrive(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    original = await payments(harness, 25)

    first = (await harness.slack.command(viewer, "history")).json
    seen = [row_ids(first["blocks"])]
    assert "history_previous" not in buttons(first["blocks"])
    await payments(harness, 3)  # newer than everything listed: they must not push rows along
    second = await click(harness, viewer, "history_next", first)
    assert second["replace_original"] is True
    seen.append(row_ids(second["blocks"]))
    await payments(harness, 4)
    third = await click(harness, viewer, "history_next", second)
    seen.append(row_ids(third["blocks"]))
    assert "history_next" not in buttons(third["blocks"])

    listed = [txn_id for page in seen for txn_id in page]
    assert [len(page) for page in seen] == [10, 10, 5]
    assert len(listed) == len(set(listed)), "a row repeated"
    assert listed == [t.id for t in reversed(original)], "a row was skipped or out of order"

    back = await click(harness, viewer, "history_previous", third)
    assert row_ids(back["blocks"]) == seen[1]


async def test_column_choice_is_remembered(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    txn = await harness.charge("42.00", customer_name="Grace Alvarez")
    listing = (await harness.slack.command(viewer, "history")).json
    shown = json.dumps(listing["blocks"], ensure_ascii=False)
    assert "Visa •••• 4242" in shown and "Grace Alvarez" not in shown  # the default columns

    await harness.slack.block_action(viewer, "history_columns", message=listing)
    modal = await opened_modal(harness.fake, viewer, "modal")
    before = len(harness.fake.responses)
    answer = await harness.slack.submit(
        viewer, modal, history_columns=["date", "amount", "customer"]
    )
    assert answer.status == 200 and not answer.text
    await harness.fake.wait_for(lambda: len(harness.fake.responses) > before, what="redrawn")
    redrawn = json.dumps(harness.fake.responses[before][1]["blocks"], ensure_ascii=False)
    assert "Grace Alvarez" in redrawn and "Visa •••• 4242" not in redrawn and "42.00 USD" in redrawn

    again = json.dumps((await harness.slack.command(viewer, "history")).json, ensure_ascii=False)
    assert "Grace Alvarez" in again and "Visa •••• 4242" not in again and txn.id in again
    async with harness.store.sessions() as session:
        saved = await session.get(HistoryColumns, "vic")
    assert saved is not None and saved.columns == ["date", "amount", "customer"]

    await harness.slack.block_action(viewer, "history_columns", message=listing)
    modal = await harness.fake.wait_for(
        lambda: (m := harness.fake.top_modal(viewer)) and m["id"] != modal["id"] and m,
        what="second modal",
    )
    chosen = modal["blocks"][0]["element"]["initial_options"]
    assert [option["value"] for option in chosen] == ["date", "amount", "customer"]
    refused = await harness.slack.view_submission(viewer, modal, {})
    assert refused.json["response_action"] == "errors"
    assert "at least one column" in refused.json["errors"]["history_columns"]


async def test_view_button_shows_the_lookup_card_through_authorization(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("310.00", matter_id="MAT-3003")
    listing = (await harness.slack.command(staff, "history")).json

    card = await click(harness, staff, "transaction_view", listing)
    assert card["replace_original"] is False and card["response_type"] == "ephemeral"
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    for expected in (f"Payment {txn.id}", "310.00 USD", "MAT-3003", "Visa •••• 4242"):
        assert expected in shown, expected
    assert "refund_open" in shown
    async with harness.store.sessions() as session:
        lookup = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "lookup").order_by(AuditEntry.id.desc())
        )
    assert lookup is not None
    assert (lookup.actor_username, lookup.target_id, lookup.source) == (
        "sam",
        txn.id,
        "slack_button",
    )


async def test_user_text_in_a_search_is_escaped(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    answer = await harness.slack.command(viewer, "history <!channel>")
    shown = [
        text["text"]
        for block in answer.json["blocks"]
        for text in [block.get("text") or {}, *block.get("elements", [])]
        if "text" in text and isinstance(text["text"], str)
    ]
    assert any("&lt;!channel&gt;" in text for text in shown)
    assert not any("<!channel>" in text for text in shown)


async def test_a_refunds_row_names_the_payment_it_refunds(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    (sale, other) = await payments(harness, 2)
    harness.clock.advance(minutes=1)
    refund = await harness.store.services.gateway.refund(
        sale.id, idempotency_key="named", metadata={}
    )
    blocks = (await harness.slack.command(viewer, "history refunds")).json["blocks"]
    (row,) = [b for b in blocks if b.get("accessory", {}).get("value") == refund.id]
    first_line = row["text"]["text"].split("\n")[0]
    assert first_line == f"`{refund.id}` · refund of `{sale.id}`"
    everything = (await harness.slack.command(viewer, "history")).json["blocks"]
    (sale_row,) = [b for b in everything if b.get("accessory", {}).get("value") == other.id]
    assert "refund of" not in sale_row["text"]["text"]  # a payment's row names no other
