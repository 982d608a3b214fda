"""Payrix records as the API really sends them, read leniently.

Payrix is loose where its documentation is strict: integers arrive as strings (``"1"``) or floats
(``3524255.258``), dates as ``20251216`` or ``"2025-12-16"`` or ``"2025-12-16 15:35:06.0961"``, and
documented fields as null. Each field type below accepts every form seen and refuses only what
cannot be a value at all, so a surprise becomes a clear error instead of a silent zero. Fields the
bot does not read are kept (``extra="allow"``), so nothing Payrix sent is lost on the way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from bot.errors import ProcessorError

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(?:Z|[+-]00:?00)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # sorts records Payrix sent without a time first
_ZERO_DATES = {"", "0", "00000000", "0000-00-00", "0000-00-00 00:00:00"}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_decimal(value: Any) -> Decimal | None:
    """A number from an int, a float or a numeric string; None for null or ``""``."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a number")
        return number
    raise ValueError(f"{value!r} is not a number")


def to_int(value: Any) -> int | None:
    """An integer; a float or decimal string is rounded half to even (cents with fractions)."""
    number = to_decimal(value)
    if number is None:
        return None
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"{value!r} is not text")


def to_flag(value: Any) -> bool:
    if _blank(value):
        return False
    if isinstance(value, str):
        return value.strip().casefold() in ("1", "true", "yes")
    return bool(value)


def to_datetime(value: Any) -> datetime | None:
    """A UTC instant from ``YYYY-MM-DD HH:MM:SS.ffff``, ISO, ``YYYYMMDD`` or unix seconds.

    Payrix writes its timestamps without a zone; the bot reads them as UTC.
    """
    if _blank(value) or (isinstance(value, str | int) and str(value).strip() in _ZERO_DATES):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    text = str(int(value)) if isinstance(value, int | float) else str(value).strip()
    compact = _COMPACT_DATE.fullmatch(text)
    if compact:
        y, m, d = (int(part) for part in compact.groups())
        return datetime(y, m, d, tzinfo=UTC)
    if text.isdigit() and len(text) >= 9:
        return datetime.fromtimestamp(int(text), UTC)
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"{value!r} is not a date Paybot can read")
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=UTC,
    )


def to_date(value: Any) -> date | None:
    instant = to_datetime(value)
    return None if instant is None else instant.date()


Int = Annotated[int | None, BeforeValidator(to_int)]
Amount = Annotated[Decimal | None, BeforeValidator(to_decimal)]
Text = Annotated[str | None, BeforeValidator(to_text)]
Flag = Annotated[bool, BeforeValidator(to_flag)]
Instant = Annotated[datetime | None, BeforeValidator(to_datetime)]
Day = Annotated[date | None, BeforeValidator(to_date)]


class Record(BaseModel):
    """Any Payrix resource: an id, when it was made and changed, and everything else kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    created: Instant = None
    modified: Instant = None


class Payment(BaseModel):
    """The ``payment`` of a transaction when expanded: the method and the last digits only."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Text = None
    method: Int = None
    number: Text = None
    last4: Text = None
    bin: Text = None


def _payment(value: Any) -> Any:
    """An expanded payment object, or the bare payment id Payrix sends when it is not expanded."""
    if isinstance(value, dict | Payment) or value is None:
        return value
    return to_text(value)


class Txn(Record):
    merchant: Text = None
    type: Int = None
    status: Int = None
    total: Int = None
    approved: Int = None
    originalApproved: Int = None
    settledTotal: Int = None
    refunded: Int = None
    currency: Text = None
    fortxn: Text = None
    fromtxn: Text = None
    batch: Text = None
    captured: Instant = None
    settled: Instant = None
    funded: Day = None
    returned: Text = None
    description: Text = None
    order: Text = None
    first: Text = None
    middle: Text = None
    last: Text = None
    company: Text = None
    payment: Annotated[Payment | str | None, BeforeValidator(_payment)] = None
    inactive: Flag = False


class Chargeback(Record):
    merchant: Text = None
    txn: Text = None
    total: Int = None
    representedTotal: Int = None
    cycle: Text = None
    currency: Text = None
    ref: Text = None
    reason: Text = None
    reasonCode: Text = None
    issued: Day = None
    received: Day = None
    reply: Day = None
    status: Text = None
    actionable: Int = None  # 1 actionable, 0 not; None when Payrix leaves it out
    lastStatusChange: Text = None
    paymentMethod: Int = None
    description: Text = None


class ChargebackMessage(Record):
    chargeback: Text = None
    date: Day = None
    type: Text = None
    status: Text = None
    amount: Int = None
    currency: Text = None
    note: Text = None
    contact: Text = None


class ChargebackDocument(Record):
    chargeback: Text = None
    chargebackMessage: Text = None
    ref: Text = None
    type: Text = None
    name: Text = None
    description: Text = None
    status: Text = None
    documentSource: Text = None


class ChargebackStatus(Record):
    chargeback: Text = None
    chargebackMessage: Text = None
    status: Text = None


class Batch(Record):
    merchant: Text = None
    status: Text = None
    date: Day = None
    closeTime: Instant = None
    processingDate: Day = None
    processingId: Text = None
    clientRef: Text = None


class Disbursement(Record):
    """A payout to the firm's bank account: ``amount`` is net of fees, reserves and chargebacks
    (eventsprout/payrix doc/models/disbursements-response.md)."""

    entity: Text = None
    account: Text = None
    description: Text = None
    amount: Int = None
    returnedAmount: Int = None
    status: Int = None  # 1 requested, 2 processing, 3 processed, 4 failed, 5 denied, 6 returned
    processed: Instant = None
    currency: Text = None


def _record_id(value: Any) -> Any:
    """A related record's id, whether Payrix sent the id or (expanded) the record itself."""
    if isinstance(value, Mapping):
        return to_text(value.get("id"))
    return to_text(value)


class DisbursementEntry(Record):
    """One line of a payout: where part of its amount came from. ``eventId`` names the record
    behind it (a txn for a sale, refund or settlement; a chargeback; none for a fee)
    (eventsprout/payrix doc/models/disbursement-entries-response.md)."""

    disbursement: Annotated[str | None, BeforeValidator(_record_id)] = None
    entry: Text = None
    event: Int = None
    eventId: Annotated[str | None, BeforeValidator(_record_id)] = None
    amount: Amount = None
    description: Text = None


class EntityReturn(Record):
    """An ACH return of a transaction (``txn``) or a payout (``disbursement``), with the NACHA
    code the bank sent (doc/models/entity-returns-response.md)."""

    entity: Text = None
    txn: Text = None
    disbursement: Text = None
    code: Text = None
    actionCode: Text = None
    message: Text = None


class Merchant(Record):
    entity: Text = None
    dba: Text = None
    status: Int = None


class Fund(Record):
    """An entity's balance, in cents with up to three decimals (floats, as Payrix sends them)."""

    entity: Text = None
    currency: Text = None
    available: Amount = None
    pending: Amount = None
    reserved: Amount = None
    total: Amount = None


R = TypeVar("R", bound=Record)


def parse(model: type[R], record: Mapping[str, Any], what: str) -> R:
    """One record, or an error naming the record and the field Paybot could not read."""
    try:
        return model.model_validate(dict(record))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProcessorError(
            f"Payrix sent a {what} Paybot cannot read ({record.get('id')}: {where}: "
            f"{first['msg']})."
        ) from None
