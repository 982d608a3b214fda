"""The portal's views without Slack: parsing, daily totals, report figures and CSV, and the blocks
within Slack's limits."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.blocks.history import columns_modal, history_blocks
from bot.blocks.home import home_view, refund_work_blocks
from bot.blocks.listings import disputes_blocks, returns_blocks, withdrawals_blocks
from bot.blocks.reports import report_blocks
from bot.charts import report_chart
from bot.clock import ManualClock, day_start, zone_named
from bot.config import load_settings
from bot.db.engine import SessionFactory
from bot.domain import (
    Account,
    Balance,
    DailyTotals,
    Dispute,
    DisputeStatus,
    HistorySort,
    MethodType,
    Money,
    PaymentKind,
    PaymentMethod,
    PaymentReturn,
    PortalAccount,
    RefundRequestInfo,
    RefundState,
    Transaction,
    TransactionStatus,
    Withdrawal,
    WithdrawalStatus,
)
from bot.errors import InvalidInput
from bot.overview import (
    DEFAULT_COLUMNS,
    Dashboard,
    DisputeLine,
    DisputeList,
    HistoryColumn,
    HistoryFilter,
    HistoryView,
    Listing,
    ListState,
    RefundWork,
    Report,
    ReportPeriod,
    ReturnLine,
    Volume,
    WithdrawalsView,
)
from bot.processors.sandbox import SandboxGateway, SandboxSimulator
from bot.services.history import parse_history
from bot.services.refunds import expected_by
from bot.services.reports import every_day, parse_period, report_csv
from bot.store import open_store
from bot.workspace.slack_api import block_problems, view_problems
from tests.processes import postgres_database

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
LONG = "x" * 100


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", HistoryFilter()),
        ("sales", HistoryFilter(PaymentKind.SALE)),
        ("Refunds sort:amount", HistoryFilter(PaymentKind.REFUND, HistorySort.AMOUNT)),
        (
            "sort:oldest authorizations",
            HistoryFilter(PaymentKind.AUTHORIZATION, HistorySort.OLDEST),
        ),
        ("MAT-1001", HistoryFilter(search="MAT-1001")),
        ("sales Dana Client", HistoryFilter(PaymentKind.SALE, search="Dana Client")),
        ("Bake sales", HistoryFilter(search="Bake sales")),  # a kind only before the search
    ],
)
def test_history_arguments(typed: str, expected: HistoryFilter) -> None:
    assert parse_history(typed) == expected


def test_history_refuses_a_bad_order_and_an_over_long_search() -> None:
    with pytest.raises(InvalidInput, match="sort:newest"):
        parse_history("sort:cheapest")
    with pytest.raises(InvalidInput, match="100 characters"):
        parse_history("y" * 101)
    with pytest.raises(InvalidInput, match="last four") as refused:
        parse_history("sales 4242 4242 4242 4242")
    assert "4242 4242" not in str(refused.value)


def test_button_state_survives_the_round_trip_and_refuses_garbage() -> None:
    wanted = HistoryFilter(PaymentKind.SALE, HistorySort.AMOUNT, "okafor", "cursor-1")
    assert HistoryFilter.decode(wanted.encode()) == wanted
    assert ListState.decode(ListState("c", False, "wd_1").encode()) == ListState("c", False, "wd_1")
    for garbage in ("nothing", "[1]", '{"k": "loan"}'):
        with pytest.raises(InvalidInput, match="older message"):
            HistoryFilter.decode(garbage)


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("", date(2026, 10, 18), date(2026, 11, 17)),
        ("7d", date(2026, 11, 10), date(2026, 11, 17)),
        ("90d", date(2026, 8, 19), date(2026, 11, 17)),
        ("month", date(2026, 11, 1), date(2026, 11, 17)),
        ("2026-10", date(2026, 10, 1), date(2026, 11, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 17)),
    ],
)
def test_report_periods(typed: str, start: date, end: date) -> None:
    period = parse_period(typed, NOW.date())
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("typed", ["yesterday", "14d", "2026-13", "2026-12", "2026/10"])
def test_report_period_refusals(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_period(typed, NOW.date())


def test_report_figures_and_csv_add_up() -> None:
    period = ReportPeriod(date(2026, 11, 1), date(2026, 11, 4), "three days")
    found = [
        DailyTotals(date(2026, 11, 1), payments=4, payments_minor=100_000, refunds=1,
                    refunds_minor=5_000, disputes=1, disputes_minor=20_000,
                    disputes_lost_minor=20_000),
        DailyTotals(date(2026, 11, 3), payments=6, payments_minor=50_025, pending_minor=25,
                    returns=2, returns_minor=3_000),
    ]  # fmt: skip
    report = Report(period, tuple(every_day(period, found, "USD")))
    assert [d.day.day for d in report.days] == [1, 2, 3]
    assert report.volume == Money(150_025) and report.payments == 10
    assert report.net_settled == Money(150_025 - 25 - 5_000 - 3_000 - 20_000)
    assert report.dispute_rate == pytest.approx(0.1) and report.return_rate == pytest.approx(0.2)
    assert report.refund_rate == pytest.approx(5_000 / 150_025)

    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode())))
    assert [row["date"] for row in rows] == ["2026-11-01", "2026-11-02", "2026-11-03", "total"]
    assert rows[-1]["volume"] == "1500.25" and rows[-1]["net_settled"] == "1220.00"
    assert rows[1]["payments"] == "0"
    assert report_chart(report).startswith(b"\x89PNG\r\n\x1a\n")


async def test_sandbox_daily_totals_are_summed_per_day(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    simulator = SandboxSimulator(session_factory, clock)
    gateway = SandboxGateway(session_factory, clock)

    async def charge(amount: str, **options: object) -> Transaction:
        defaults: dict[str, object] = {
            "method": MethodType.CARD, "kind": PaymentKind.SALE, "matter_id": "MAT-1",
            "account": Account.OPERATING, "brand": "visa", "last4": "4242",
            "customer_name": "Dana Client",
        }  # fmt: skip
        return await simulator.charge(Money.parse(amount), **(defaults | options))  # type: ignore[arg-type]

    first = await charge("100.00")
    await charge("5.00", declined=True)
    await charge("7.00", kind=PaymentKind.AUTHORIZATION, captured=False)
    ach = await charge("40.00", method=MethodType.ACH, brand=None, last4="6789")
    clock.advance(days=1)
    await gateway.refund(first.id, idempotency_key="r", metadata={})
    dispute = await simulator.dispute((await charge("60.00")).id)
    await simulator.resolve_dispute(dispute.id, won=False)
    await simulator.return_payment(ach.id, "R01")

    days = await gateway.daily_totals(NOW.date(), NOW.date() + timedelta(days=2), UTC)
    assert days == [
        DailyTotals(NOW.date(), payments=2, payments_minor=14_000),
        DailyTotals(NOW.date() + timedelta(days=1), payments=1, payments_minor=6_000, refunds=1,
                    refunds_minor=10_000, disputes=1, disputes_minor=6_000,
                    disputes_lost_minor=6_000, returns=1, returns_minor=4_000),
    ]  # fmt: skip
    assert await gateway.daily_totals(NOW.date(), NOW.date(), UTC) == []


def _transaction(number: int) -> Transaction:
    return Transaction(
        id=f"txn_{number:020d}",
        kind=PaymentKind.SALE,
        status=TransactionStatus.SUCCEEDED,
        amount=Money(123_456_789),
        method=PaymentMethod(MethodType.CARD, "4242", "visa"),
        created_at=NOW,
        matter_id="M" * 64,
        customer_name="<!channel> " + "C" * 189,
    )


def _dispute(number: int, status: DisputeStatus) -> Dispute:
    return Dispute(
        f"dp_{number:020d}", f"txn_{number:020d}", Money(5_000), status, "R" * 200, "12.6.1",
        NOW + timedelta(days=3), NOW, "M" * 64,
    )  # fmt: skip


def _request(number: int, state: RefundState) -> RefundRequestInfo:
    return RefundRequestInfo(
        f"{number:032d}", f"txn_{number:020d}", Money(4_500), Account.TRUST, "MAT-1", LONG,
        state, requester_username="s" * 32, requester_slack_id="USAM", created_at=NOW,
        approval_channel="C1", approval_ts="1.2",
    )  # fmt: skip


def test_every_view_stays_within_slacks_limits_when_full() -> None:
    """Ten rows of the longest values, the longest search and cursors: what Slack would refuse."""
    cursor = "c" * 200
    wanted = HistoryFilter(PaymentKind.REFUND, HistorySort.AMOUNT, LONG, cursor)
    history = HistoryView(
        wanted, tuple(_transaction(n) for n in range(10)), tuple(HistoryColumn), cursor, cursor
    )
    lines = tuple(DisputeLine(_dispute(n, DisputeStatus.NEEDS_RESPONSE), n - 5) for n in range(10))
    returns = tuple(
        ReturnLine(PaymentReturn(f"rt_{n}", f"txn_{n}", "R10", Money(1), NOW), LONG * 3)
        for n in range(10)
    )
    withdrawals = tuple(
        Withdrawal(f"wd_{n}", Money(9), WithdrawalStatus.PAID, NOW, NOW, ("txn_1",) * 5000)
        for n in range(10)
    )
    balance = Balance(Money(1), Money(-2), NOW)
    messages = [
        history_blocks(history),
        disputes_blocks(DisputeList(True, Listing(lines, cursor, cursor, cursor))),
        returns_blocks(Listing(returns, cursor, cursor, cursor)),
        withdrawals_blocks(
            WithdrawalsView(
                balance,
                Money(0),
                Listing(withdrawals, cursor, cursor, cursor),
                "wd_3",
                tuple(_transaction(n) for n in range(15)),
                4985,
            )
        ),
        refund_work_blocks(
            RefundWork(
                tuple(_request(n, RefundState.REQUESTED) for n in range(20)),
                40,
                tuple(_request(n, RefundState.PENDING) for n in range(20)),
                40,
                True,
            ),
            {f"{n:032d}": "https://x.slack.com/archives/C1/p12" for n in range(20)},
        ),
        report_blocks(Report(ReportPeriod(date(2026, 1, 1), date(2026, 2, 1), "January 2026"), ())),
    ]
    for blocks in messages:
        rendered = [block.to_dict() for block in blocks]
        assert block_problems(rendered, max_blocks=50) == [], rendered
        assert "<!channel>" not in str(rendered)
    actor = PortalAccount("meg", "Meg", "meg@firm.com", "manager", True, "UMEG")
    board = Dashboard(
        actor, NOW, Volume(Money(1), Money(2), Money(3)),
        RefundWork(
            tuple(_request(n, RefundState.REQUESTED) for n in range(5)), 9,
            tuple(_request(n, RefundState.PENDING) for n in range(5)), 9, True,
        ),
        lines[:3], True, returns[:3], balance, withdrawals[0], True,
    )  # fmt: skip
    assert view_problems(home_view(board, {}).to_dict(), home=True) == []
    modal = columns_modal(DEFAULT_COLUMNS, "m" * 3000).to_dict()
    assert view_problems(modal, home=False) == []


async def test_a_week_with_the_autumn_clock_change_counts_its_25_hour_sunday(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    await autumn_week(session_factory, clock)


async def test_postgresql_cuts_the_same_days(clock: ManualClock) -> None:
    """PostgreSQL turns the instants into the firm's days itself (SQLite's are done in Python)."""
    async with postgres_database() as url:
        store = await open_store(load_settings(database_url=url), clock=clock)
        try:
            await autumn_week(store.sessions, clock)
        finally:
            await store.close()


async def autumn_week(session_factory: SessionFactory, clock: ManualClock) -> None:
    """The firm's days in New York: the week of 1 November 2026 has 7 days and 169 hours, and a
    payment at 23:59 on the Sunday (04:59 UTC on Monday) is the Sunday's."""
    zone = zone_named("America/New_York")
    simulator = SandboxSimulator(session_factory, clock)
    gateway = SandboxGateway(session_factory, clock)
    monday, next_monday = date(2026, 10, 26), date(2026, 11, 2)
    assert day_start(next_monday, zone) - day_start(monday, zone) == timedelta(hours=169)
    instants = {
        "1.00": datetime(2026, 10, 26, 3, 59, tzinfo=UTC),  # Sunday 25 Oct, 23:59 EDT: before
        "2.00": datetime(2026, 10, 26, 4, 0, tzinfo=UTC),  # Monday 00:00 EDT: the first minute
        "4.00": datetime(2026, 11, 1, 4, 30, tzinfo=UTC),  # Sunday 1 Nov 00:30 EDT
        "8.00": datetime(2026, 11, 2, 4, 59, tzinfo=UTC),  # Sunday 1 Nov 23:59 EST
        "16.00": datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # Monday 2 Nov 00:00 EST: after
    }
    for amount, at in instants.items():
        clock.now = at
        await simulator.charge(
            Money.parse(amount), method=MethodType.CARD, kind=PaymentKind.SALE, matter_id="M",
            account=Account.OPERATING, brand="visa", last4="4242", customer_name="Dana Client",
        )  # fmt: skip
    days = await gateway.daily_totals(monday, next_monday, zone)
    assert [(d.day, d.payments, d.payments_minor) for d in days] == [
        (monday, 1, 200),
        (date(2026, 11, 1), 2, 1_200),
    ]
    in_utc = await gateway.daily_totals(monday, next_monday, UTC)
    assert sum(d.payments_minor for d in in_utc) == 700  # UTC's week: 25 Oct's night, not 1 Nov's


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (datetime(2027, 1, 15, 20, 0, tzinfo=UTC), date(2027, 1, 20)),  # Fri; MLK day Mon 18
        (datetime(2027, 1, 16, 3, 0, tzinfo=UTC), date(2027, 1, 20)),  # Fri 22:00 in New York
        (datetime(2026, 11, 16, 15, 0, tzinfo=UTC), date(2026, 11, 18)),  # an ordinary Monday
        (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), date(2026, 11, 27)),  # Thanksgiving
        (datetime(2027, 12, 23, 15, 0, tzinfo=UTC), date(2027, 12, 27)),  # 25th a Saturday
    ],
)
def test_a_refund_is_expected_two_bank_days_later_on_the_firms_calendar(
    requested: datetime, expected: date
) -> None:
    assert expected_by(requested, zone_named("America/New_York")) == expected


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a time zone"):
        zone_named("Mars/Olympus")
