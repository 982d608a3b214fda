"""Time as a dependency, so deadlines, reminders and settlement can be tested with a clock that
moves; and the firm's clock: the days the bot counts are days in the firm's zone, and a business
day is a day the Federal Reserve's banks are open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

Clock = Callable[[], datetime]

DEFAULT_ZONE = "America/New_York"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock for tests and the demo: starts at a given instant and moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class FirmClock:
    """The firm's clock, as every service that counts days takes it: what time it is (a clock
    tests move) and the zone whose days the bot counts (PAYBOT_TIMEZONE)."""

    now: Clock = utcnow
    zone: tzinfo = UTC


UTC_CLOCK = FirmClock()  # a service's default: real time, days in UTC (tests of other things)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"{name!r} is not a time zone; give an IANA name such as {DEFAULT_ZONE}"
        ) from error


def local_day(instant: datetime, zone: tzinfo) -> date:
    """The firm's calendar day an instant falls on."""
    return instant.astimezone(zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The instant (UTC) a day of the firm's calendar begins: not always 24 hours after the day
    before, since a day of a daylight-saving change has 23 or 25."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@cache
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.financial_holidays("XFED", years=year)


def is_business_day(day: date) -> bool:
    """A day the Federal Reserve's banks settle: not a weekend, not one of its holidays (a
    holiday on a Sunday moves to the Monday; one on a Saturday is not moved)."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_business_days(start: datetime, days: int, zone: tzinfo = UTC) -> datetime:
    """``start`` moved ``days`` bank days on (back, when negative), counted on the firm's
    calendar, at the same local time of day."""
    local = start.astimezone(zone)
    current = local.date()
    step = timedelta(days=1 if days >= 0 else -1)
    left = abs(days)
    while left > 0:
        current += step
        if is_business_day(current):
            left -= 1
    moved = datetime.combine(current, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return moved.astimezone(start.tzinfo or UTC)


def subtract_business_days(start: datetime, days: int, zone: tzinfo = UTC) -> datetime:
    """``start`` moved ``days`` bank days back, counted on the firm's calendar, at the same local
    time of day."""
    return add_business_days(start, -days, zone)


def margin_start(due: datetime, days: int, zone: tzinfo = UTC) -> datetime:
    """When the firm's own date (``days`` business days before ``due``) begins: the start of
    that day on the firm's calendar, so its reminder comes as the day begins, not at the hour the
    processor's deadline happens to fall."""
    return day_start(local_day(subtract_business_days(due, days, zone), zone), zone)
