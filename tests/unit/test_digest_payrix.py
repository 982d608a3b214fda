"""The daily digest's figures from the Payrix adapter (against the Payrix stand-in and its
recorded answers), checked against Payrix's own sums for the same days (the daily totals the
reports use: another path through the adapter, the `totals` header)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import FirmClock, is_business_day
from bot.db.engine import SessionFactory
from bot.processors.payrix import PayrixGateway
from bot.services.digest import Digests, business_day_before
from tests.unit.test_payrix_gateway import gateway, standin, waits  # noqa: F401  (fixtures)

ZONE = ZoneInfo("America/New_York")


async def test_the_digest_adds_up_to_payrixs_own_sums_for_its_days(
    gateway: PayrixGateway,  # noqa: F811
    session_factory: SessionFactory,
) -> None:
    """Every day the recorded answers have business on (payments one day, disputes another)."""
    active = await gateway.daily_totals(date(2023, 1, 1), date(2026, 11, 1), ZONE)
    assert any(d.payments for d in active) and any(d.disputes for d in active)
    digests = Digests(session_factory, gateway, FirmClock(zone=ZONE))
    for busy in active:
        posted_on = busy.day + timedelta(days=1)
        while not is_business_day(posted_on):
            posted_on += timedelta(days=1)
        first = business_day_before(posted_on)
        digest = await digests.build(posted_on)
        days = await gateway.daily_totals(first, posted_on, ZONE)
        assert first <= busy.day and digest.day == first

        def counted(name: str) -> tuple[int, int]:
            figures = [getattr(account, name) for account in digest.accounts]  # noqa: B023
            return sum(f.count for f in figures), sum(f.minor for f in figures)

        def summed(count: str, minor: str) -> tuple[int, int]:
            return sum(getattr(d, count) for d in days), sum(getattr(d, minor) for d in days)  # noqa: B023

        assert counted("sales") == summed("payments", "payments_minor"), busy
        assert counted("refunds") == summed("refunds", "refunds_minor"), busy
        assert counted("disputes") == summed("disputes", "disputes_minor"), busy
        assert counted("returns") == summed("returns", "returns_minor"), busy
