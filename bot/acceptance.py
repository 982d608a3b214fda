"""The domain types of accepting a dispute with a second pair of eyes (services/acceptances.py),
beside bot/domain.py's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Asked, Money


class AcceptanceState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DisputeAcceptanceInfo(Asked):
    """Accepting a dispute, asked for by one manager and decided by another (or by an admin),
    when the approval policy says its amount needs a second pair of eyes."""

    id: str
    dispute_id: str
    amount: Money
    state: AcceptanceState
    message_channel: str | None = None
    message_ts: str | None = None
