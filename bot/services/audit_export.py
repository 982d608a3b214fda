"""The audit log of a period, for the firm's bar auditor: as CSV (every cell neutralised, see
bot/csvcells.py) or JSON lines (the values as stored). Read with a server-side cursor a page at
a time and written as it is read, so five years of rows take the memory of one page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, select

from bot.clock import UTC_CLOCK, FirmClock, day_start, local_day
from bot.csvcells import SafeWriter, Writable
from bot.db.engine import SessionFactory
from bot.db.models import AuditEntry
from bot.domain import PortalAccount, Source
from bot.errors import InvalidInput
from bot.roles import Action
from bot.services.audit import AuditLog, AuditRecord, Outcome

PAGE = 1000  # rows fetched from the cursor at a time
DEFAULT_DAYS = 30
TABLE = cast(Table, AuditEntry.__table__)
COLUMNS = (
    "id",
    "at",
    "actor_username",
    "actor_slack_id",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "reason",
    "source",
    "before",
    "after",
)
DATES_HELP = "Give days as YYYY-MM-DD, the first before the last, e.g. `2026-11-01 to 2026-11-30`."
# Two dates side by side are 16 digits apart from their dashes: the card-number guard masks the
# one pair in ten that passes the Luhn check before any feature sees it. `to` between them keeps
# them two numbers.
MASKED = "[card "


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class ExportPeriod:
    """Days of the firm's calendar, ``first`` to ``last`` inclusive."""

    first: date
    last: date
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return day_start(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.zone)

    @property
    def label(self) -> str:
        return f"{self.first} to {self.last}"


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} `{text.strip()[:40]}` is not a date. {DATES_HELP}") from None


def export_period(first: str | None, last: str | None, today: date, zone: tzinfo) -> ExportPeriod:
    """``last`` defaults to today, ``first`` to 30 days before ``last``."""
    last_day = parse_day(last, "The last day") if last else today
    first_day = (
        parse_day(first, "The first day") if first else last_day - timedelta(DEFAULT_DAYS - 1)
    )
    if first_day > last_day:
        raise InvalidInput(f"{first_day} is after {last_day}. {DATES_HELP}")
    return ExportPeriod(first_day, last_day, zone)


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _at(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class AuditExport:
    def __init__(
        self, sessions: SessionFactory, audit: AuditLog, firm: FirmClock = UTC_CLOCK
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._firm = firm

    def period(self, first: str | None, last: str | None) -> ExportPeriod:
        return export_period(
            first, last, local_day(self._firm.now(), self._firm.zone), self._firm.zone
        )

    def period_of(self, args: str) -> ExportPeriod:
        """``[first] [[to] last]``, as typed after `/pay audit export`."""
        if MASKED in args:
            raise InvalidInput(
                "Slack text with two dates side by side can read as a card number, so it was "
                f"hidden: put `to` between them. {DATES_HELP}"
            )
        words = [w for w in args.split() if w.casefold() != "to"]
        if len(words) > 2:
            raise InvalidInput(f"Give at most two days. {DATES_HELP}")
        first = words[0] if words else None
        return self.period(first, words[1] if len(words) > 1 else None)

    async def rows(self, period: ExportPeriod) -> AsyncIterator[Mapping[Any, Any]]:
        """The period's rows, oldest first, streamed from a server-side cursor."""
        query = (
            select(TABLE)
            .where(TABLE.c.at >= period.start, TABLE.c.at < period.end)
            .order_by(TABLE.c.id)
            .execution_options(yield_per=PAGE)
        )
        async with self._sessions() as session:
            result = await session.stream(query)
            async for page in result.partitions(PAGE):
                for row in page:
                    yield row._mapping

    async def write(
        self,
        actor: PortalAccount | None,
        period: ExportPeriod,
        form: ExportFormat,
        out: Writable,
        source: Source,
    ) -> int:
        """Write the period to ``out``; the count of rows. The export is itself audited (it
        hands the log over), before it is written."""
        await self._audit.record(
            AuditRecord(
                action=Action.AUDIT.value,
                outcome=Outcome.DONE,
                source=source,
                actor=actor,
                target_type="audit_export",
                target_id=f"{period.first}..{period.last}",
                after={"format": form.value},
            )
        )
        count = 0
        if form is ExportFormat.CSV:
            writer = SafeWriter(out)
            writer.writerow(COLUMNS)
            async for row in self.rows(period):
                writer.writerow(
                    _at(row["at"])
                    if name == "at"
                    else _json(row[name])
                    if name in ("before", "after")
                    else row[name]
                    for name in COLUMNS
                )
                count += 1
            return count
        async for row in self.rows(period):
            line = {name: row[name] for name in COLUMNS} | {"at": _at(row["at"])}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
        return count
