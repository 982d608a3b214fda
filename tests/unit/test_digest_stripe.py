"""The daily digest's figures from the Stripe adapter (against localstripe): payments per account
from the metadata, a trust payment's refund under operating."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import stripe

from bot.clock import FirmClock, is_business_day, local_day, utcnow
from bot.db.engine import SessionFactory
from bot.digests import Figure
from bot.domain import Account
from bot.processors.stripe import StripeGateway
from bot.services.digest import Digests
from tests.stripe_support import charge, payment_intent
from tests.unit.test_stripe_gateway import (  # noqa: F401  (fixtures)
    REFUND_METADATA,
    client,
    gateway,
    localstripe,
    server,
)


async def test_the_digest_counts_stripe_payments_per_account(
    gateway: StripeGateway,  # noqa: F811
    client: stripe.StripeClient,  # noqa: F811
    session_factory: SessionFactory,
) -> None:
    await charge(client, 10_000, account="operating")
    await payment_intent(client, 30_000, account="trust")
    refunded = await charge(client, 5_000, account="trust")
    await gateway.refund(refunded.id, idempotency_key="k-digest", metadata=REFUND_METADATA)
    zone = ZoneInfo("America/New_York")
    posted_on = local_day(utcnow(), zone) + timedelta(days=1)
    while not is_business_day(posted_on):
        posted_on += timedelta(days=1)  # its digest reports a period that holds today

    digest = await Digests(session_factory, gateway, FirmClock(zone=zone)).build(posted_on)

    by_account = {figures.account: figures for figures in digest.accounts}
    assert by_account[Account.OPERATING].sales == Figure(1, 10_000)
    assert by_account[Account.TRUST].sales == Figure(2, 35_000)
    assert by_account[Account.OPERATING].refunds == Figure(1, 5_000)
    assert by_account[Account.TRUST].refunds == Figure()
    assert digest.currency == "USD"
