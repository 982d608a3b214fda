"""Reports for managers: a period's volume, refunds, disputes and returns with their rates, and the
net settled, from the processor's own daily totals; the days as CSV."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

from bot.clock import UTC_CLOCK, FirmClock, local_day
from bot.csvcells import SafeWriter
from bot.domain import CURRENCY_EXPONENT, DailyTotals, PortalAccount, Source
from bot.errors import InvalidInput
from bot.overview import Report, ReportPeriod, net_settled_minor
from bot.processors.gateway import Gateway
from bot.roles import Action
from bot.services.audit import AuditLog, AuditRecord, Outcome

DEFAULT_PERIOD = "30d"
_DAYS = re.compile(r"(7|30|90)d")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
PERIODS_HELP = "Use `7d`, `30d`, `90d`, `month` (this month so far) or a month such as `2026-10`."
CSV_COLUMNS = (
    "date",
    "currency",
    "payments",
    "volume",
    "pending",
    "refunds",
    "refunded",
    "disputes",
    "disputed",
    "disputes_lost",
    "returns",
    "returned",
    "net_settled",
)


def parse_period(text: str, today: date) -> ReportPeriod:
    """``7d|30d|90d`` end today (today included); ``month`` is this month so far; ``YYYY-MM``."""
    word = text.strip().casefold() or DEFAULT_PERIOD
    tomorrow = today + timedelta(days=1)
    if days := _DAYS.fullmatch(word):
        count = int(days.group(1))
        start = tomorrow - timedelta(days=count)
        return ReportPeriod(start, tomorrow, f"last {count} days ({start} to {today})")
    if word == "month":
        start = today.replace(day=1)
        return ReportPeriod(start, tomorrow, f"{start:%B %Y} to {today}")
    if month := _MONTH.fullmatch(word):
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise InvalidInput(f"`{text.strip()}` is not a month. {PERIODS_HELP}")
        start = date(year, number, 1)
        if start > today:
            raise InvalidInput(f"{start:%B %Y} has not started yet. {PERIODS_HELP}")
        end = date(year + number // 12, number % 12 + 1, 1)
        return ReportPeriod(start, min(end, tomorrow), f"{start:%B %Y}")
    raise InvalidInput(f"`{text.strip()[:40]}` is not a report period. {PERIODS_HELP}")


def every_day(period: ReportPeriod, found: list[DailyTotals], currency: str) -> list[DailyTotals]:
    by_day = {totals.day: totals for totals in found}
    days = []
    current = period.start
    while current < period.end:
        days.append(by_day.get(current) or DailyTotals(day=current, currency=currency))
        current += timedelta(days=1)
    return days


class Reports:
    def __init__(self, gateway: Gateway, audit: AuditLog, firm: FirmClock = UTC_CLOCK) -> None:
        self._gateway = gateway
        self._audit = audit
        self._firm = firm

    def period(self, text: str) -> ReportPeriod:
        """A period of the firm's calendar: ``today`` is the firm's today."""
        return parse_period(text, local_day(self._firm.now(), self._firm.zone))

    async def build(self, actor: PortalAccount, period: ReportPeriod, source: Source) -> Report:
        """The report, with its run in the audit log (it exports the firm's figures)."""
        found = await self._gateway.daily_totals(period.start, period.end, self._firm.zone)
        currency = found[0].currency if found else "USD"
        report = Report(
            period, tuple(every_day(period, found, currency)), currency, self._firm.zone
        )
        await self._audit.record(
            AuditRecord(
                action=Action.REPORT.value,
                outcome=Outcome.DONE,
                source=source,
                actor=actor,
                target_type="report",
                target_id=f"{period.start}..{period.end - timedelta(days=1)}",
            )
        )
        return report


def _amount(minor: int, currency: str) -> str:
    exponent = CURRENCY_EXPONENT.get(currency.upper(), 2)
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def report_csv(report: Report) -> bytes:
    """One row per day and a ``total`` row; amounts in major units, as a spreadsheet wants them
    (the currency is the processor's text: written as every CSV cell is, never as a formula)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_COLUMNS)

    def row(label: str, days: tuple[DailyTotals, ...]) -> list[str]:
        def total(name: str) -> int:
            return sum(int(getattr(d, name)) for d in days)

        money = report.currency
        return [
            label,
            money,
            str(total("payments")),
            _amount(total("payments_minor"), money),
            _amount(total("pending_minor"), money),
            str(total("refunds")),
            _amount(total("refunds_minor"), money),
            str(total("disputes")),
            _amount(total("disputes_minor"), money),
            _amount(total("disputes_lost_minor"), money),
            str(total("returns")),
            _amount(total("returns_minor"), money),
            _amount(sum(net_settled_minor(d) for d in days), money),
        ]

    for day in report.days:
        writer.writerow(row(day.day.isoformat(), (day,)))
    writer.writerow(row("total", report.days))
    return out.getvalue().encode()
