"""`/pay report` end to end: acknowledged at once, then a summary, a PNG chart and a CSV whose
totals are the database's."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.clock import day_start, local_day
from bot.processors.sandbox.models import SandboxDispute, SandboxReturn, SandboxTransaction
from tests.conftest import Harness

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T = SandboxTransaction


async def uploaded(harness: Harness, suffix: str) -> bytes:
    file = await harness.fake.wait_for(
        lambda: next(
            (f for f in harness.fake.files.values() if f.completed and f.filename.endswith(suffix)),
            None,
        ),
        timeout=30,
        what=f"{suffix} upload",
    )
    assert file.content is not None
    return file.content


async def database_totals(harness: Harness, start: datetime, end: datetime) -> dict[str, Decimal]:
    """The same figures straight from the sandbox tables, to check the report against."""

    def within(column: object) -> object:
        return (column >= start) & (column < end)  # type: ignore[operator]

    async with harness.store.sessions() as session:
        payments = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(T.amount_minor), 0)).where(
                    within(T.created_at),
                    T.kind.in_(["sale", "authorization"]),
                    T.status.in_(["succeeded", "pending", "returned"]),
                )
            )
        ).one()
        refunds = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(T.amount_minor), 0)).where(
                    within(T.created_at), T.kind == "refund", T.status != "failed"
                )
            )
        ).one()
        disputes = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(SandboxDispute.amount_minor), 0)).where(
                    within(SandboxDispute.created_at)
                )
            )
        ).one()
        returns = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(SandboxReturn.amount_minor), 0)).where(
                    within(SandboxReturn.created_at)
                )
            )
        ).one()
    cents = Decimal("0.01")
    return {
        "payments": Decimal(payments[0]),
        "volume": Decimal(payments[1]) * cents,
        "refunds": Decimal(refunds[0]),
        "refunded": Decimal(refunds[1]) * cents,
        "disputes": Decimal(disputes[0]),
        "disputed": Decimal(disputes[1]) * cents,
        "returns": Decimal(returns[0]),
        "returned": Decimal(returns[1]) * cents,
    }


async def test_report_posts_summary_png_chart_and_csv_matching_the_database(
    harness: Harness,
) -> None:
    manager = await harness.user("meg", "manager")
    await harness.sandbox.seed(3000)
    answer = await harness.slack.command(manager, "report 30d")
    assert answer.status == 200
    assert "Preparing the report" in answer.json["text"]
    assert answer.json["response_type"] == "ephemeral"

    chart = await uploaded(harness, ".png")
    assert chart.startswith(PNG_SIGNATURE) and len(chart) > 5_000
    rows = list(csv.DictReader(io.StringIO((await uploaded(harness, ".csv")).decode())))
    *days, total = rows
    assert total["date"] == "total" and len(days) == 30
    zone = harness.store.services.settings.zone  # the firm's days: 1 November (DST) among them
    today = local_day(harness.clock(), zone)
    assert days[0]["date"] == str(today - timedelta(days=29)) and days[-1]["date"] == str(today)

    start, end = (
        day_start(today - timedelta(days=29), zone),
        day_start(today + timedelta(days=1), zone),
    )
    assert end - start == timedelta(days=30, hours=1)
    expected = await database_totals(harness, start, end)
    assert expected["payments"] > 100 and expected["disputes"] > 0 and expected["returns"] > 0
    for name, value in expected.items():
        assert Decimal(total[name]) == value, name
        assert sum(Decimal(day[name]) for day in days) == value, name

    summary = await harness.fake.wait_for(
        lambda: [m for m in harness.fake.messages("C0GENERAL") if m.blocks], what="summary"
    )
    shown = json.dumps(summary[0].blocks, ensure_ascii=False)
    volume = f"{expected['volume']:,.2f} USD ({expected['payments']} payments)"
    assert "Payments report: last 30 days" in shown and volume in shown
    assert "Net settled" in shown and "of payments" in shown
    files_message = harness.fake.messages("C0GENERAL")[-1]
    assert len(files_message.files) == 2


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("", "last 30 days"),
        ("7d", "last 7 days"),
        ("month", "November 2026"),
        ("2026-10", "October 2026"),
    ],
)
async def test_report_periods(harness: Harness, typed: str, label: str) -> None:
    admin = await harness.user("ada", "admin")
    await harness.charge()
    answer = await harness.slack.command(admin, f"report {typed}")
    assert label in answer.json["text"]
    await uploaded(harness, ".csv")


async def test_bad_period_is_answered_at_once(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    for typed in ("yesterday", "2026-13", "2027-01"):
        answer = await harness.slack.command(manager, f"report {typed}")
        assert "7d" in answer.json["text"] or "not started" in answer.json["text"], typed
    assert harness.fake.calls_to("files.completeUploadExternal") == []


async def test_report_in_a_channel_without_the_bot_says_how_to_fix_it(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    harness.fake.add_channel("C0SECRET", "partners", is_private=True, is_member=False)
    await harness.slack.command(manager, "report 7d", channel_id="C0SECRET")
    await harness.fake.wait_for(
        lambda: any("/invite @paybot" in json.dumps(b) for _, b in harness.fake.responses),
        what="not-in-channel answer",
    )
    assert harness.fake.calls_to("files.completeUploadExternal") == []


async def test_staff_cannot_run_reports(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    answer = await harness.slack.command(staff, "report")
    assert "needs the manager role" in answer.json["text"]
