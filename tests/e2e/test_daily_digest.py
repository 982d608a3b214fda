"""The daily settlement digest through the running bot: at PAYBOT_DAILY_DIGEST_AT on a business
day, the previous business day's figures per account go to the notify channel, once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import DailyDigestRow, OutboxMessage
from bot.digests import DailyDigest
from bot.domain import Account, MethodType
from bot.errors import ConfigError
from bot.ids import NoticeKind
from bot.store import open_store
from tests.conftest import (
    NOTIFY,
    Harness,
    start_harness,
)

# Friday 4 December 2026 in New York (EST, UTC-5); the digest of Monday 7 December reports it.
FRIDAY = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York
MONDAY_BEFORE = datetime(2026, 12, 7, 13, 59, tzinfo=UTC)  # 08:59 in New York
MONDAY_AT = datetime(2026, 12, 7, 14, 0, 1, tzinfo=UTC)  # 09:00:01


@pytest.fixture
async def digest_harness(database_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    """The shared harness's bot, with the digest set for 09:00 in New York."""
    clock.now = FRIDAY
    async with AsyncExitStack() as stack:
        yield await start_harness(stack, database_url, clock, paybot_daily_digest_at="09:00")


def digests(harness: Harness, day: str = "2026-12-04") -> list[Any]:
    """The digests reporting ``day`` (the seeding's clock passes 09:00 on other days too)."""
    return [m for m in harness.fake.messages(NOTIFY) if f"Daily settlement for {day}" in m.text]


async def seed_friday(harness: Harness) -> dict[str, str]:
    """Friday's business in both accounts, with a payment either side of what Monday reports."""
    clock, gateway = harness.clock, harness.store.services.gateway
    clock.now = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # Thursday: not reported
    await harness.charge("999.00")
    clock.now = FRIDAY
    await harness.charge("100.00")
    trust = await harness.charge("250.00", account=Account.TRUST, matter_id="MAT-7")
    clock.advance(hours=1)
    ach = await harness.charge(
        "80.00", account=Account.TRUST, method=MethodType.ACH, brand=None, last4="6789"
    )
    disputed = await harness.charge("60.00")
    clock.advance(hours=1)
    await harness.sandbox.return_payment(ach.id, code="R01")
    await harness.sandbox.dispute(disputed.id)
    refund = await gateway.refund(trust.id, idempotency_key="digest-test-1", metadata={})
    clock.advance(hours=1)
    settled = await harness.sandbox.settle()
    paid = {w.account: w.id for w in settled.withdrawals}
    assert set(paid) == {Account.OPERATING, Account.TRUST}  # one withdrawal per account
    clock.now = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # Saturday: with Friday's
    await harness.charge("40.00", account=Account.TRUST, matter_id="MAT-7")
    clock.now = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # Monday 08:30: the day reported next
    await harness.charge("7.00")
    return {
        "refund": refund.id,
        "ach": ach.id,
        "operating": paid[Account.OPERATING],
        "trust": paid[Account.TRUST],
    }


async def test_the_digest_reports_fridays_figures_per_account_on_monday_once(
    digest_harness: Harness,
) -> None:
    harness = digest_harness
    made = await seed_friday(harness)
    harness.clock.now = MONDAY_BEFORE
    await harness.cycle()
    assert digests(harness) == []  # not before the time

    harness.clock.now = MONDAY_AT
    await harness.fake.wait_for(lambda: digests(harness), timeout=10, what="the digest")
    for _ in range(3):
        await harness.cycle()
    (message,) = digests(harness)
    shown = json.dumps(message.blocks, ensure_ascii=False)
    operating, trust = [b["text"]["text"] for b in message.blocks if b["type"] == "section"][:2]
    assert operating.startswith("*Operating account*")
    # 100.00 and the disputed 60.00 on Friday; Thursday's 999.00 and Monday's 7.00 are not hers.
    assert "Sales: 2 · *160.00 USD*" in operating
    assert "Refunds: 1 · *250.00 USD*" in operating  # the trust payment's refund: from operating
    assert "Disputes: 1 · *60.00 USD*" in operating
    assert "Returns: none" in operating
    assert "Fees: not reported by the processor" in operating  # this harness charges none
    assert trust.startswith("*Trust account (IOLTA)*")
    assert "Sales: 3 · *370.00 USD*" in trust  # 250 and 80 on Friday, 40 on Saturday
    assert "Refunds: none" in trust
    assert "Returns: 1 · *80.00 USD*" in trust  # the ACH return debits trust
    assert "Disputes: none" in trust
    # Each withdrawal under its own account: the sandbox never mixes the two.
    assert made["operating"] in operating and made["operating"] not in trust
    assert made["trust"] in trust and made["trust"] not in operating
    assert "does not say which account" not in shown
    # The ACH return on trust is a debit still to cover, linked to its thread.
    still_open = [b["text"]["text"] for b in message.blocks if b["type"] == "section"][-1]
    assert still_open.startswith("*Still open*")
    assert f"Trust debit to cover: ACH return of 80.00 USD on {made['ach']}" in still_open
    assert "(0 of 3 done)" in still_open and "|" in still_open  # <permalink|text>
    assert "Fri 2026-12-04" in shown and "Sunday 6 December 2026" in shown
    assert message.text.startswith("Daily settlement for 2026-12-04")

    async with harness.store.sessions() as session:
        rows = (await session.scalars(select(DailyDigestRow))).all()
        owed = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == NoticeKind.DAILY_DIGEST.value)
        )
    days = {r.day.isoformat(): r.reports.isoformat() for r in rows}
    assert days["2026-12-07"] == "2026-12-04"
    assert owed == len(rows)  # one message per day claimed (seeding passed 09:00 on others)


async def test_a_digest_from_a_second_bot_on_the_same_database_is_not_owed_twice(
    digest_harness: Harness,
) -> None:
    """Two services on one database, both past the time: one claim, one outbox row."""
    harness = digest_harness
    await seed_friday(harness)
    harness.clock.now = MONDAY_AT
    settings = harness.bot.settings
    other = await open_store(settings, clock=harness.clock)
    try:
        claimed = [
            await other.services.digests.post_due(),
            await harness.store.services.digests.post_due(),
        ]
    finally:
        await other.close()
    assert sorted(claimed) in ([False, True], [False, False])  # the worker may have been first
    await harness.fake.wait_for(lambda: digests(harness), timeout=10, what="the digest")
    await harness.cycle()
    assert len(digests(harness)) == 1


async def test_no_digest_on_a_weekend_or_when_unset(digest_harness: Harness) -> None:
    harness = digest_harness
    harness.clock.now = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # Saturday 10:00
    assert await harness.store.services.digests.post_due() is False
    unset = Settings(database_url=harness.bot.settings.database_url, paybot_notify_channel=NOTIFY)
    store = await open_store(unset, clock=harness.clock)
    try:
        harness.clock.now = MONDAY_AT
        assert await store.services.digests.post_due() is False
    finally:
        await store.close()


def test_the_digest_survives_its_stored_form() -> None:
    payload: dict[str, Any] = {
        "day": "2026-12-04",
        "through": "2026-12-06",
        "zone": "America/New_York",
        "currency": "USD",
        "accounts": [
            {
                "account": "trust",
                "sales": [2, 500],
                "refunds": None,
                "disputes": [0, 0],
                "returns": [0, 0],
                "fees": None,
                "withdrawals": [["wd_1", 500, "USD", "paid"]],
            }
        ],
        "unassigned_withdrawals": [],
        "open_items": [
            ["Trust debit on pay_1", "https://example.slack.com/archives/C1/p1", "C1", "1.000"]
        ],
    }
    digest = DailyDigest.from_payload(payload)
    assert digest.to_payload() | {"accounts": None} == payload | {"accounts": None}
    assert digest.accounts[0].withdrawals[0].amount.minor == 500


@pytest.mark.parametrize("value", ["9am", "25:00", "09:60", "9:00"])
def test_a_malformed_digest_time_stops_start_up_in_one_line(value: str) -> None:
    from bot.config import load_settings

    with pytest.raises(ConfigError) as raised:
        load_settings(paybot_daily_digest_at=value)
    message = str(raised.value)
    assert message.startswith("PAYBOT_DAILY_DIGEST_AT is malformed:") and "\n" not in message
    assert "HH:MM" in message
